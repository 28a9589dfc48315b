-- Other tenants' bindings stay hidden (spec 106.5, 116): a platform entity
-- may be bound to one organisation's tenant, team, project or member; those
-- names are that organisation's business. The registry views and impact
-- analysis show a caller the bindings that name no one (global, environment,
-- workflow_type, command_type, agent_role, agent_name) and those naming its
-- own organisations and their members; an operator sees every binding.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(8);

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

DO $$
BEGIN
    PERFORM pg_temp.make_login('alice', ARRAY['concord_app'], 'iso-a-alice');
    PERFORM pg_temp.make_login('bob', ARRAY['concord_app'], 'iso-b-bob');
    PERFORM pg_temp.make_login('a_reader', ARRAY['concord_reader'], 'iso-a-reader');
    INSERT INTO concord.team_members (org_id, team, principal, added_by)
    SELECT o.org_id, 'merger', 'iso-b-bob', 'tester' FROM concord.organisations AS o WHERE o.name = 'iso-b';
END $$;

SELECT concord.create_registry_entity('command_type', 'th_cmd', 'T', 'platform-team') IS NOT NULL AS e \gset
SELECT pg_temp.published('command_type', 'th_cmd', '1.0.0', '{}') AS v1 \gset
SELECT pg_temp.published('command_type', 'th_cmd', '2.0.0', '{"description": "b only"}') AS v2 \gset
SELECT concord.create_registry_entity('tool', 'th_tool', 'T', 'platform-team') IS NOT NULL AS e \gset
SELECT pg_temp.published('tool', 'th_tool', '1.0.0', '{"command_type": "th_cmd"}') AS t1 \gset
SELECT concord._registry_bind(:'t1', 'tenant', 'iso-b', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS b \gset
SELECT concord._registry_bind(:'v1', 'global', '*', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS b \gset
SELECT concord._registry_bind(:'v1', 'agent_role', 'th_agent', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS b \gset
SELECT concord._registry_bind(:'v2', 'tenant', 'iso-b', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS b \gset
SELECT concord._registry_bind(:'v2', 'team', 'iso-b/merger', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS b \gset
SELECT concord._registry_bind(:'v2', 'app', 'iso-b/main', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS b \gset
SELECT concord._registry_bind(:'v2', 'user', 'iso-b-bob', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS b \gset
SELECT concord._registry_bind(:'v2', 'app', 'iso-a/main', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS b \gset

SELECT is(pg_temp.value_as_login('alice', $$SELECT string_agg(binding_scope || ' ' || binding_target, ', '
                                                ORDER BY binding_scope, binding_target)
                                              FROM concord.registry_active_bindings WHERE entity = 'th_cmd'$$),
          'agent_role th_agent, app iso-a/main, global *',
          'registry_active_bindings: alice sees the bindings naming no one and her own organisation''s, '
          'not iso-b''s tenant, team, project or member');
SELECT is(pg_temp.value_as_login('bob', $$SELECT string_agg(binding_scope || ' ' || binding_target, ', '
                                              ORDER BY binding_scope, binding_target)
                                            FROM concord.registry_active_bindings WHERE entity = 'th_cmd'$$),
          'agent_role th_agent, app iso-b/main, global *, team iso-b/merger, tenant iso-b, user iso-b-bob',
          'bob sees his organisation''s');
SELECT is(pg_temp.value_as_login('a_reader', $$SELECT count(*)::text FROM concord.registry_active_bindings
                                                 WHERE binding_target LIKE 'iso-b%'$$),
          '0', 'a reader neither');
SELECT is((SELECT count(*)::int FROM concord.registry_active_bindings WHERE entity = 'th_cmd'), 7,
          'the owner''s session (the kernel, operators) sees every binding');
SELECT is(pg_temp.value_as_login('alice', $$SELECT count(*)::text FROM concord.registry_lifecycle_timeline
                                              WHERE entity = 'th_cmd' AND (payload::text LIKE '%iso-b%')$$),
          '0', 'registry_lifecycle_timeline: no event of a binding naming iso-b for alice');
SELECT is(pg_temp.value_as_login('bob', $$SELECT count(*)::text FROM concord.registry_lifecycle_timeline
                                            WHERE entity = 'th_cmd' AND event_type = 'binding_created'$$),
          '6', 'bob sees the creation of every binding but iso-a''s');
SELECT is(pg_temp.value_as_login('alice', $$SELECT active_bindings::text FROM concord.registry_impact('command_type', 'th_cmd')
                                              WHERE name = 'th_tool'$$),
          '0', 'registry_impact: alice''s count of active bindings leaves out iso-b''s');
SELECT is(pg_temp.value_as_login('bob', $$SELECT active_bindings::text FROM concord.registry_impact('command_type', 'th_cmd')
                                            WHERE name = 'th_tool'$$),
          '1', 'bob''s counts his own');

SELECT * FROM finish();
ROLLBACK;
