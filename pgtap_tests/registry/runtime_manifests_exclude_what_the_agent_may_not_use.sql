-- Runtime manifests are minimized (spec 106.5, 112.4): an agent run's
-- manifest holds its role's skills that resolve for the run's subject within
-- their constraints, each skill's tools that resolve, and the memory and
-- artifact scopes the skill declares and the role allows. Draft, retired and
-- unbound capabilities, other tenants' entities, admin metadata and secrets
-- never appear. The run itself, its project's members, the worker and
-- operators read it; another run's agent may not, another organisation does
-- not even find the run.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(29);

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

CREATE FUNCTION pg_temp.bound(entity_type text, name text, version text, manifest jsonb)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    v uuid := pg_temp.published(entity_type, name, version, manifest);
BEGIN
    PERFORM concord._registry_bind(v, 'global', '*', NULL, 'pinned', '{}', 'tester');
    RETURN v;
END
$$;

DO $$
BEGIN
    PERFORM pg_temp.make_login('a_app', ARRAY['concord_app'], 'iso-a-app');
    PERFORM pg_temp.make_login('b_app', ARRAY['concord_app'], 'iso-b-app');
    PERFORM pg_temp.make_login('a_agent', ARRAY['concord_agent']);
    PERFORM concord.register_command_type('{"command_type": "rm_t", "sync_allowed": true}');
    -- platform capabilities (this superuser session is an operator)
    PERFORM concord.create_registry_entity(t.entity_type, t.name, t.name, 'platform-team')
    FROM (VALUES ('command_type', 'rm_book'), ('memory_schema', 'user.prefs'), ('memory_schema', 'user.diary'),
                 ('artifact_schema', 'booking_draft'), ('artifact_schema', 'invoice'), ('tool', 'rm_draft_tool'), ('tool', 'rm_tool'), ('tool', 'rm_retired_tool'),
                 ('tool', 'rm_unbound_tool'), ('tool', 'rm_role_tool'), ('connector', 'rm_crm'),
                 ('skill', 'rm_booking'), ('skill', 'rm_unbound_skill'), ('skill', 'rm_draft_skill'),
                 ('skill', 'rm_next_skill'), ('agent_role', 'rm_planner')) AS t (entity_type, name);
    PERFORM pg_temp.bound('command_type', 'rm_book', '1.0.0', '{}');
    PERFORM pg_temp.published(t.entity_type, t.name, '1.0.0', '{}')
    FROM (VALUES ('memory_schema', 'user.prefs'), ('memory_schema', 'user.diary'),
                 ('artifact_schema', 'booking_draft'), ('artifact_schema', 'invoice')) AS t (entity_type, name);
    PERFORM concord.create_registry_version('tool', 'rm_draft_tool', '1.0.0', '{"mode": "sync"}');
    PERFORM pg_temp.bound('tool', 'rm_tool', '1.0.0', '{"mode": "async", "command_type": "rm_book"}');
    PERFORM pg_temp.bound('tool', 'rm_retired_tool', '1.0.0', '{"mode": "sync"}');
    PERFORM pg_temp.published('tool', 'rm_unbound_tool', '1.0.0', '{"mode": "sync"}');
    PERFORM pg_temp.bound('tool', 'rm_role_tool', '1.0.0', '{"mode": "sync", "command_type": "rm_book"}');
    PERFORM pg_temp.bound('connector', 'rm_crm', '1.0.0',
                          '{"operations": [{"name": "read", "side_effect": "read"}], "credential_scopes": ["crm.all"]}');
    PERFORM pg_temp.bound('skill', 'rm_booking', '1.0.0', $j${
        "instructions_ref": "artifact://skills/rm_booking/SKILL.md",
        "metadata": {"api_key": "sk-LEAKED", "nested": [{"password": "hunter2", "kept": 1}]},
        "tools": [{"name": "rm_tool", "command_type": "rm_book", "mode": "approval_gated_async"},
                  {"name": "rm_retired_tool", "command_type": "rm_book", "mode": "sync"},
                  {"name": "rm_unbound_tool", "command_type": "rm_book", "mode": "sync"}],
        "relationships": [{"type": "uses_tool", "target_type": "tool", "target_name": "rm_draft_tool",
                           "required": false}],
        "capabilities": [{"type": "memory_read", "memory_type": "user.prefs"},
                         {"type": "memory_write", "memory_type": "user.prefs"},
                         {"type": "memory_write", "memory_type": "user.diary"},
                         {"type": "artifact_write", "artifact_type": "booking_draft"},
                         {"type": "artifact_write", "artifact_type": "invoice"}]}$j$);
    PERFORM pg_temp.published('skill', 'rm_unbound_skill', '1.0.0', '{}');
    PERFORM concord.create_registry_version('skill', 'rm_draft_skill', '1.0.0', '{}');
    PERFORM pg_temp.published('skill', 'rm_next_skill', '1.0.0', '{}');
    PERFORM pg_temp.bound('skill', 'rm_next_skill', '2.0.0', '{"description": "breaking"}');
    PERFORM pg_temp.bound('agent_role', 'rm_planner', '1.0.0', $j${
        "skills": ["rm_booking", {"name": "rm_unbound_skill", "required": false},
                   {"name": "rm_draft_skill", "required": false},
                   {"name": "rm_foreign_skill", "required": false},
                   {"name": "rm_next_skill", "version": "^1"}],
        "tools": ["rm_role_tool"],
        "connectors": ["rm_crm"],
        "memory_scope": {"read": ["user.prefs"], "write": ["user.prefs"]},
        "artifact_scope": {"write": ["booking_draft"]}}$j$);
    -- another tenant's skill of the same name the role asks for
    PERFORM concord.create_registry_entity('skill', 'rm_foreign_skill', 'foreign', 'b-team',
                                           organisation => 'iso-b');
    PERFORM pg_temp.bound('skill', 'rm_foreign_skill', '1.0.0', '{}');
    -- retired after the skill was published: its binding is disabled
    PERFORM concord._registry_retire(v.version_id, 'unsafe')
    FROM concord.registry_versions AS v INNER JOIN concord.registry_entities AS e ON v.entity_id = e.entity_id
    WHERE e.name = 'rm_retired_tool';
END $$;

SELECT concord.use_project('iso-a/main') AS fixture \gset
SELECT command_id AS cmd FROM concord.submit_command('rm_t', '{}', 'iso-a-alice') \gset
SELECT concord.start_swarm(:'cmd', '{"name": "rm", "objective": "o",
    "coordinator": {"agent_name": "planner-1", "agent_role": "rm_planner"}}') AS swarm \gset
SELECT coordinator_agent_run_id AS run FROM concord.swarm_runs WHERE swarm_run_id = :'swarm' \gset
SELECT concord.begin_agent_run(:'run') ->> 'secret' AS secret \gset
-- beginning the run may resolve its manifest already: count what this call adds
SELECT count(*) FILTER (WHERE usage_type = 'resolved_for_agent_run') AS resolved_before,
       count(*) FILTER (WHERE usage_type = 'tool_enabled') AS enabled_before
FROM concord.registry_usage WHERE agent_run_id = :'run' \gset
SELECT concord.resolve_agent_runtime_manifest(:'run') AS m \gset

SELECT is(:'m'::jsonb ->> 'agent_role_version', '1.0.0', 'the run''s role resolves');
SELECT is(:'m'::jsonb ->> 'agent_run_id', :'run', 'the manifest names its run');
SELECT is(jsonb_path_query_array(:'m'::jsonb, '$.skills[*].name'), '["rm_booking"]',
          'only the bound skill within its constraint: no unbound, draft, other tenant''s or out-of-range skill');
SELECT is(:'m'::jsonb #> '{skills,0,tools}',
          jsonb_build_array(jsonb_build_object(
              'name', 'rm_tool', 'version', '1.0.0', 'command_type', 'rm_book', 'mode', 'approval_gated_async',
              'tool_version_id', (SELECT v.version_id FROM concord.registry_versions AS v
                                  INNER JOIN concord.registry_entities AS e ON v.entity_id = e.entity_id
                                  WHERE e.name = 'rm_tool'))),
          'the skill''s tools: only the bound one, with its command type and the skill''s mode '
          '(no retired, unbound or draft tool)');
SELECT is(:'m'::jsonb #> '{skills,0,memory_scope}', '{"read": ["user.prefs"], "write": ["user.prefs"]}',
          'memory scope: what the skill declares and the role allows (user.diary is not allowed)');
SELECT is(:'m'::jsonb #> '{skills,0,artifact_scope}', '{"write": ["booking_draft"]}',
          'artifact scope: what the skill declares and the role allows');
SELECT is(:'m'::jsonb #>> '{skills,0,instructions_ref}', 'artifact://skills/rm_booking/SKILL.md',
          'the skill''s instructions reference');
SELECT is(:'m'::jsonb -> 'tools', '["rm_role_tool", "rm_tool"]', 'tools: the skills'' and the role''s own');
SELECT is(jsonb_path_query_array(:'m'::jsonb, '$.connectors[*].name'), '["rm_crm"]', 'the role''s connector');
SELECT is(:'m'::jsonb ->> 'environment', 'prod', 'the environment');
SELECT ok(:'m'::text !~ '(sk-LEAKED|hunter2|credential|created_by|owner|checksum|approved_by|approval_command|draft_tool|retired_tool)',
          'no secret, credential scope, admin metadata, checksum or excluded tool anywhere in the manifest');
SELECT is(concord._registry_without_secrets(
              '{"a": {"api_key": "x", "Client_Secret": "y", "b": [{"password": "z", "c": 1}]}, "token": "t"}'),
          '{"a": {"b": [{"c": 1}]}}', 'keys named like a secret are dropped at any depth');

-- usage
SELECT is((SELECT count(*)::int FROM concord.registry_usage WHERE agent_run_id = :'run'
             AND usage_type = 'resolved_for_agent_run') - :resolved_before, 3,
          'resolved_for_agent_run recorded for the role, the skill and the connector');
SELECT is((SELECT array_agg(DISTINCT u.payload ->> 'name' ORDER BY u.payload ->> 'name')
           FROM concord.registry_usage AS u WHERE u.agent_run_id = :'run' AND u.usage_type = 'tool_enabled')
          || ARRAY[((SELECT count(*) FROM concord.registry_usage AS u
                     WHERE u.agent_run_id = :'run' AND u.usage_type = 'tool_enabled') - :enabled_before)::text],
          ARRAY['rm_role_tool', 'rm_tool', '2'], 'tool_enabled recorded per tool, once per resolution');

-- a drafted-then-published skill version appears only once bound
SELECT is(jsonb_path_query_array(
              concord.resolve_agent_runtime_manifest(NULL, NULL, 'rm_planner'), '$.skills[*].name'),
          '["rm_booking"]', 'a preview by role alone gives the same skills');
SELECT concord._registry_bind(v.version_id, 'global', '*', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS bound
FROM concord.registry_versions AS v INNER JOIN concord.registry_entities AS e ON v.entity_id = e.entity_id
WHERE e.name = 'rm_unbound_skill' \gset
SELECT is(jsonb_path_query_array(
              concord.resolve_agent_runtime_manifest(NULL, NULL, 'rm_planner'), '$.skills[*].name'),
          '["rm_booking", "rm_unbound_skill"]', 'once bound, the skill appears');
SELECT is((SELECT count(*)::int FROM concord.registry_usage WHERE agent_run_id IS NULL
             AND usage_type IN ('resolved_for_agent_run', 'tool_enabled')), 0, 'a preview records nothing');

-- another organisation's subject does not see iso-b's skill... and iso-b's does
SELECT is(jsonb_path_query_array(
              concord._registry_runtime_manifest(NULL, 'rm_planner', '{"tenant": "iso-b"}', NULL, false),
              '$.skills[*].name'),
          '["rm_booking", "rm_foreign_skill", "rm_unbound_skill"]',
          'the skill of iso-b appears for a subject of iso-b only');

-- who may read it
SELECT is(pg_temp.as_login('a_app', format($$SELECT concord.resolve_agent_runtime_manifest(%L)$$, :'run')), 'ok',
          'a member of the run''s project reads it');
SELECT is(pg_temp.as_login('b_app', format($$SELECT concord.resolve_agent_runtime_manifest(%L)$$, :'run')),
          pg_temp.refused('CN006', 'the_agent_run_exists'),
          'another organisation''s member does not even find the run');
CREATE FUNCTION pg_temp.as_agent(credential text, statement text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    outcome text;
    rule text;
BEGIN
    EXECUTE format('SET SESSION AUTHORIZATION %I', pg_temp.login('a_agent'));
    BEGIN
        PERFORM concord.authenticate(credential);
        EXECUTE statement;
        outcome := 'ok';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS rule = CONSTRAINT_NAME;
        outcome := SQLSTATE || coalesce(' ' || nullif(rule, ''), '');
    END;
    RESET SESSION AUTHORIZATION;
    PERFORM set_config('concord.credential', '', true);
    RETURN outcome;
END
$$;
SELECT is(pg_temp.as_agent(:'secret', format($$SELECT concord.resolve_agent_runtime_manifest(%L)$$, :'run')), 'ok',
          'the run reads its own manifest with its secret');
SELECT concord.start_swarm(:'cmd', '{"name": "rm2", "objective": "o",
    "coordinator": {"agent_name": "planner-2", "agent_role": "rm_planner"}}') AS swarm2 \gset
SELECT coordinator_agent_run_id AS run2 FROM concord.swarm_runs WHERE swarm_run_id = :'swarm2' \gset
SELECT is(pg_temp.as_agent(:'secret', format($$SELECT concord.resolve_agent_runtime_manifest(%L)$$, :'run2')),
          pg_temp.refused('CN012', 'a_runtime_manifest_is_read_by_its_run_or_project'),
          'an agent may not read another run''s manifest');
SELECT is(pg_temp.as_agent(:'secret', format(
              $$SELECT 1 / (concord.resolve_agent_runtime_manifest(NULL, NULL, 'rm_unbound_role') ->> 'agent_run_id'
                            = %L)::int$$, :'run')), 'ok',
          'an agent previews no other role: asked with no run, it gets its own run''s manifest');
SELECT is(concord._registry_subject('agent:' || :'run', NULL, '{}'),
          ('{"user": "agent:' || :'run' || '", "teams": [], "agent_name": "planner-1", "agent_role": "rm_planner"}')::jsonb,
          'an agent resolves as its run''s role and name, never as a context says');
SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_agent_runtime_manifest(%L)$$, gen_random_uuid()),
    'CN006', 'the_agent_run_exists', 'an unknown run is not found');

-- a role that resolves to nothing
SELECT concord.create_registry_entity('agent_role', 'rm_unbound_role', 'x', 'platform-team') IS NOT NULL AS e \gset
SELECT pg_temp.published('agent_role', 'rm_unbound_role', '1.0.0', '{}') IS NOT NULL AS p \gset
SELECT concord_test.throws_rule(
    $$SELECT concord.resolve_agent_runtime_manifest(NULL, NULL, 'rm_unbound_role')$$,
    'CN016', 'a_capability_resolves_to_a_usable_version', 'a role with no binding has no manifest');
SELECT concord_test.throws_rule(
    $$SELECT concord.resolve_agent_runtime_manifest(NULL, NULL, 'rm_planner', '{"tenant": "iso-b"}')$$,
    'CN008', 'resolution_context_names_no_identity', 'the context names no tenant');
SELECT concord_test.throws_rule(
    $$SELECT concord.resolve_agent_runtime_manifest(NULL, NULL, 'rm_planner', '{"workflow_type": 7}')$$,
    'CN008', 'a_resolution_context_is_an_object_of_names', 'a context value is a name');
SELECT concord_test.throws_rule(
    $$SELECT concord.resolve_agent_runtime_manifest(NULL, NULL, NULL)$$,
    'CN008', 'required_argument_is_not_blank', 'a preview names its role');

SELECT * FROM finish();
ROLLBACK;
