-- Resolution is deterministic and explains itself (spec 112.3): the same
-- inputs give the same answer, whatever order bindings were made in; the
-- explanation lists every candidate binding in the order it was tried and
-- why it matched or not; a version that is not published or deprecated is
-- skipped, not served; an unknown entity, another tenant's entity and an
-- unbound one answer resolved = false with their reason, never an error.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(12);

\ir ../lib/identity_fixtures.sql

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

SELECT concord.create_registry_entity('skill', 'dt_skill', 'Deterministic skill', 'platform-team') IS NOT NULL AS e \gset
SELECT pg_temp.published('skill', 'dt_skill', '1.0.0', '{}') AS v1 \gset
SELECT pg_temp.published('skill', 'dt_skill', '1.1.0', '{"description": "b"}') AS v2 \gset
SELECT pg_temp.published('skill', 'dt_skill', '1.2.0', '{"description": "c"}') AS v3 \gset
-- bound in an order unlike the precedence
SELECT concord._registry_bind(:'v1', 'global', '*', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS b1 \gset
SELECT concord._registry_bind(:'v3', 'team', 'zeta', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS b2 \gset
SELECT concord._registry_bind(:'v2', 'team', 'alpha', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS b3 \gset
SELECT concord._registry_bind(:'v3', 'agent_role', 'planner', NULL, 'canary', '{"percent": 0}', 'tester')
    IS NOT NULL AS b4 \gset

SELECT concord._registry_resolve('skill', 'dt_skill', '{"teams": ["zeta", "alpha"], "agent_role": "planner"}',
                                 NULL, false) AS answer \gset
SELECT is(:'answer'::jsonb ->> 'version', '1.1.0',
          'of two matching teams, the binding of the first team by name (alpha) wins');
SELECT is_empty(
    $$SELECT 1 FROM generate_series(1, 20)
      WHERE concord._registry_resolve('skill', 'dt_skill', '{"teams": ["alpha", "zeta"], "agent_role": "planner"}',
                                      NULL, false) - 'explanation'
            IS DISTINCT FROM concord._registry_resolve('skill', 'dt_skill',
                                 '{"agent_role": "planner", "teams": ["zeta", "alpha"]}', NULL, false) - 'explanation'$$,
    'the same inputs give the same answer every time, in any order of keys or teams');
SELECT is(jsonb_array_length(:'answer'::jsonb -> 'explanation'), 1, 'resolution stops at the first match');
SELECT is(:'answer'::jsonb #>> '{explanation,0,why}', 'pinned at team alpha', 'and says why it matched');
SELECT is(:'answer'::jsonb #>> '{binding,binding_scope}', 'team', 'the binding that won');
SELECT is(:'answer'::jsonb ->> 'checksum',
          (SELECT checksum FROM concord.registry_versions WHERE version_id = :'v2'), 'with the version''s checksum');

SELECT concord._registry_resolve('skill', 'dt_skill', '{"agent_role": "planner", "user": "ann"}', NULL, false)
    AS fallthrough \gset
SELECT results_eq(
    format($$SELECT e ->> 'scope', e ->> 'strategy', (e ->> 'matched')::boolean
             FROM jsonb_array_elements(%L::jsonb -> 'explanation') AS e$$, :'fallthrough'),
    $$VALUES ('agent_role', 'canary', false), ('global', 'pinned', true)$$,
    'every candidate in the order tried: the agent role''s canary (0%) did not match, the global binding did');
SELECT matches(:'fallthrough'::jsonb #>> '{explanation,0,why}', '^canary: user ann is in bucket [0-9]+, outside 0%',
               'the canary explains the subject''s bucket');

SELECT is(concord._registry_resolve('skill', 'dt_nothing', '{}', NULL, false) ->> 'reason', 'unknown_entity',
          'an unknown entity answers unknown_entity');
SELECT concord.create_registry_entity('skill', 'dt_unbound', 'Unbound', 'platform-team') IS NOT NULL AS e2 \gset
SELECT pg_temp.published('skill', 'dt_unbound', '1.0.0', '{}') IS NOT NULL AS p2 \gset
SELECT is(concord._registry_resolve('skill', 'dt_unbound', '{}', NULL, false) ->> 'reason', 'no_binding',
          'an unbound entity answers no_binding');
SELECT concord.create_registry_entity('skill', 'dt_foreign', 'Foreign', 'b-team', organisation => 'iso-b')
    IS NOT NULL AS e3 \gset
SELECT pg_temp.published('skill', 'dt_foreign', '1.0.0', '{}') AS fv \gset
SELECT concord._registry_bind(:'fv', 'global', '*', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS b5 \gset
SELECT is(concord._registry_resolve('skill', 'dt_foreign', '{"tenant": "iso-a"}', NULL, false)
              - 'environment' - 'entity_type' - 'name',
          '{"resolved": false, "reason": "unknown_entity", "explanation": []}',
          'another tenant''s entity is unknown to this tenant''s subject, and nothing of it is told');
SELECT is(concord._registry_resolve('skill', 'dt_foreign', '{"tenant": "iso-b"}', NULL, false) ->> 'version',
          '1.0.0', 'its own tenant resolves it');

SELECT * FROM finish();
ROLLBACK;
