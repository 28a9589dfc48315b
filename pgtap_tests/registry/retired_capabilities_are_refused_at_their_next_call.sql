-- An agent of a registry agent role starts with its runtime manifest (spec
-- 112.4): its tools are cut down to the manifest's, never widened. What it
-- uses is asked again at every call, so an emergency retirement (spec 111.4)
-- is refused at the agent's next call with CN016, recorded as a denied step;
-- a role that resolves to nothing starts no agent.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(10);

\ir ../lib/agent_fixtures.sql

-- the registry side: sql.read and a role that uses it (this superuser
-- session is an operator: platform entities)
CREATE FUNCTION pg_temp.published(entity_type text, name text, manifest jsonb)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    v uuid;
BEGIN
    -- the catalog shorthands may have published it already
    SELECT b.version_id INTO v FROM concord.registry_bindings AS b
    INNER JOIN concord.registry_entities AS e ON b.entity_id = e.entity_id
    WHERE e.entity_type = published.entity_type AND e.name = published.name AND b.status = 'active'
      AND b.binding_scope = 'global';
    IF FOUND THEN
        RETURN v;
    END IF;
    PERFORM concord.create_registry_entity(entity_type, name, name, 'platform');
    v := concord.create_registry_version(entity_type, name, '1.0.0', manifest);
    PERFORM concord._registry_publish(v);
    PERFORM concord._registry_bind(v, 'global', '*', NULL, 'pinned', '{}', 'operator');
    RETURN v;
END
$$;
SELECT pg_temp.published('command_type', 't.read', '{}') IS NOT NULL AS fixture \gset
SELECT pg_temp.published('tool', 'sql.read', '{"command_type": "t.read", "mode": "sync"}') AS tool_v \gset
SELECT pg_temp.published('agent_role', 'rt_reader', '{"tools": ["sql.read"]}') AS role_v \gset

INSERT INTO concord_test.fixture (label, id) VALUES ('S', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "registry", "objective": "read",
      "coordinator": {"agent_name": "reader", "agent_role": "rt_reader", "max_steps": 10,
                      "allowed_tools": ["sql.read", "publish"]}}'));
INSERT INTO concord_test.fixture (label, id) VALUES ('reader', (pg_temp.swarm('S')).coordinator_agent_run_id);
SELECT concord.begin_agent_run(pg_temp.id('reader')) IS NOT NULL AS fixture \gset

SELECT is((pg_temp.run('reader')).allowed_tools, ARRAY['sql.read'],
          'the role''s manifest cuts the tools down to what it allows (publish is not in it)');
SELECT results_eq(
    format($$SELECT runtime_manifest ->> 'agent_role', runtime_manifest -> 'tools'
             FROM concord.agent_runs WHERE agent_run_id = %L$$, pg_temp.id('reader')),
    $$VALUES ('rt_reader', '["sql.read"]'::jsonb)$$,
    'the run keeps the manifest it started with');
SELECT is(pg_temp.act('reader', '{"tool_name": "sql.read", "payload": {"q": "1"}}') ->> 'decision', 'allowed',
          'while the tool is in force, the agent uses it');

-- an emergency retirement of the tool
SELECT concord.retire_registry_version(:'tool_v', 'prompt injection through sql.read', true) IS NOT NULL AS fixture \gset
SELECT results_eq(
    $$SELECT a ->> 'decision', a ->> 'code' FROM pg_temp.act('reader', '{"tool_name": "sql.read", "payload": {"q": "2"}}') AS a$$,
    $$VALUES ('denied', 'CN016')$$,
    'the next call is refused with CN016');
SELECT ok((SELECT s.decision = 'denied' AND s.output::text ~ 'retired'
           FROM concord.agent_steps AS s WHERE s.agent_run_id = pg_temp.id('reader')
           ORDER BY s.step_index DESC LIMIT 1),
          'the refusal is a recorded step that says the capability was retired');
SELECT is((SELECT count(*)::int FROM concord.registry_usage
           WHERE usage_type = 'retired_version_refused' AND agent_run_id = pg_temp.id('reader') AND version_id = :'tool_v'),
          1, 'and the attempt on the retired version is kept as usage (registry_retired_resolution_attempts)');

-- a role that resolves to nothing starts no agent
SELECT concord.retire_registry_version(:'role_v', 'role withdrawn', true) IS NOT NULL AS fixture \gset
SELECT concord_test.throws_rule(
    format($$SELECT concord.start_swarm(%L, '{"name": "late", "objective": "x",
               "coordinator": {"agent_name": "late", "agent_role": "rt_reader", "allowed_tools": ["sql.read"]}}')$$,
           pg_temp.id('pc2')),
    'CN016', 'an_agent_role_resolves_to_a_usable_version', 'a retired role starts no agent');
-- a role the registry does not know keeps its given scopes
INSERT INTO concord_test.fixture (label, id) VALUES ('L', concord.start_swarm(pg_temp.id('pc2'),
    '{"name": "legacy", "objective": "x",
      "coordinator": {"agent_name": "legacy", "agent_role": "not_in_registry", "allowed_tools": ["sql.read", "publish"]}}'));
SELECT is((SELECT a.allowed_tools FROM concord.agent_runs AS a
           WHERE a.agent_run_id = (pg_temp.swarm('L')).coordinator_agent_run_id),
          ARRAY['sql.read', 'publish'], 'a role the registry does not know keeps the scopes it was given');
SELECT is((SELECT a.runtime_manifest FROM concord.agent_runs AS a
           WHERE a.agent_run_id = (pg_temp.swarm('L')).coordinator_agent_run_id),
          '{}'::jsonb, 'and has no runtime manifest');
SELECT is((SELECT count(*)::int FROM concord.registry_usage
           WHERE usage_type = 'resolved_for_agent_run' AND agent_run_id = pg_temp.id('reader')) >= 1, true,
          'resolving the manifest for the run was recorded as usage');

SELECT * FROM finish();
ROLLBACK;
