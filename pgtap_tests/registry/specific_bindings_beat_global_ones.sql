-- Specific bindings beat global ones (spec 106.4): a binding matches a
-- subject when its target is the subject's value for its scope, and of the
-- bindings that match, the most specific scope wins, in the order user,
-- team, tenant, workflow_type, command_type, agent_role, agent_name, app,
-- environment, global. Checked for every pair of scopes.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(49);

-- create + publish as one step (no worker here: the kernel's private publish)
CREATE FUNCTION pg_temp.published(entity_type text, name text, version text, manifest jsonb)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    v uuid := concord.create_registry_version(entity_type, name, version, manifest);
BEGIN
    PERFORM concord._registry_publish(v);
    RETURN v;
END
$$;

CREATE TEMP TABLE scopes (n integer PRIMARY KEY, scope text, target text, subject jsonb);
INSERT INTO scopes VALUES
(1, 'user', 'ann', '{"user": "ann"}'),
(2, 'team', 'ops', '{"teams": ["dev", "ops"]}'),
(3, 'tenant', 'acme', '{"tenant": "acme"}'),
(4, 'workflow_type', 'trip', '{"workflow_type": "trip"}'),
(5, 'command_type', 'book_hotel', '{"command_type": "book_hotel"}'),
(6, 'agent_role', 'planner', '{"agent_role": "planner"}'),
(7, 'agent_name', 'planner-1', '{"agent_name": "planner-1"}'),
(8, 'app', 'acme/travel', '{"app": "acme/travel"}'),
(9, 'environment', 'prod', '{}'),
(10, 'global', '*', '{}');

-- a platform tool with ten published versions 1.1.0 .. 1.10.0, version 1.n.0
-- bound at scope n
SELECT concord.create_registry_entity('tool', 'prec_tool', 'Precedence tool', 'platform-team') IS NOT NULL
    AS created \gset
CREATE TEMP TABLE versions AS
SELECT s.n, pg_temp.published('tool', 'prec_tool', format('1.%s.0', s.n),
                              jsonb_build_object('mode', 'sync', 'description', format('bound at %s', s.scope)))
    AS version_id
FROM scopes AS s ORDER BY s.n;
SELECT is((SELECT count(*) FROM (
              SELECT concord._registry_bind(v.version_id, s.scope, s.target, 'prod', 'pinned', '{}', 'tester')
              FROM scopes AS s INNER JOIN versions AS v ON s.n = v.n) AS b),
          10::bigint, 'fixture: one binding per scope');

-- every pair (i more specific than j): a subject matching both gets i's version
SELECT is(
    concord._registry_resolve('tool', 'prec_tool', a.subject || b.subject, 'prod', false) ->> 'version',
    format('1.%s.0', a.n),
    format('%s beats %s', a.scope, b.scope))
FROM scopes AS a INNER JOIN scopes AS b ON a.n < b.n
WHERE NOT (a.n = 9 AND b.n = 10)
ORDER BY a.n, b.n;

SELECT is(concord._registry_resolve('tool', 'prec_tool', '{}', 'prod', false) -> 'binding' ->> 'binding_scope',
          'environment', 'environment beats global: it matches the resolution''s environment');
SELECT is(concord._registry_resolve('tool', 'prec_tool', '{"user": "bob", "teams": ["qa"], "tenant": "other"}',
                                    'prod', false) ->> 'version',
          '1.9.0', 'a subject no specific binding names falls through to the environment''s');
SELECT is(concord._registry_resolve('tool', 'prec_tool', '{"user": "ann"}', 'staging', false) ->> 'reason',
          'no_binding', 'another environment''s resolution finds none of prod''s bindings');
SELECT ok(
    (SELECT bool_and((e ->> 'matched')::boolean IS false)
     FROM jsonb_array_elements(concord._registry_resolve('tool', 'prec_tool', '{"user": "ann"}', 'staging', false)
                               -> 'explanation') AS e),
    'and explains each prod binding as bound in another environment');
SELECT * FROM finish();
ROLLBACK;
