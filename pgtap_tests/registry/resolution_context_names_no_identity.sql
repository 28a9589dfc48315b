-- Resolution context names no identity (spec 112.2, DESIGN "Who is
-- speaking"): who resolves is who is authenticated. The subject's user,
-- teams, tenant and app come from the authenticated principal and the chosen
-- project; a context naming any of them is refused (CN008
-- resolution_context_names_no_identity); an agent's role and name come from
-- its run, so a context naming agent_role or agent_name is refused too (else
-- a person would take a binding meant for agents of that role); a context
-- adds only workflow_type and command_type, as names.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(16);

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
    PERFORM pg_temp.make_login('reader', ARRAY['concord_reader'], 'iso-a-reader');
    INSERT INTO concord.team_members (org_id, team, principal, added_by)
    SELECT o.org_id, 'travel', 'iso-a-alice', 'tester' FROM concord.organisations AS o WHERE o.name = 'iso-a';
END $$;

SELECT concord.create_registry_entity('command_type', 'cx_book', 'Book', 'platform-team') IS NOT NULL AS e \gset
SELECT pg_temp.published('command_type', 'cx_book', '1.0.0', '{}') AS v1 \gset
SELECT pg_temp.published('command_type', 'cx_book', '1.1.0', '{"description": "team"}') AS v2 \gset
SELECT pg_temp.published('command_type', 'cx_book', '1.2.0', '{"description": "tenant b"}') AS v3 \gset
SELECT pg_temp.published('command_type', 'cx_book', '1.3.0', '{"description": "trip"}') AS v4 \gset
SELECT concord._registry_bind(:'v1', 'global', '*', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS b1 \gset
SELECT concord._registry_bind(:'v2', 'team', 'iso-a/travel', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS b2 \gset
SELECT concord._registry_bind(:'v3', 'tenant', 'iso-b', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS b3 \gset
SELECT concord._registry_bind(:'v4', 'workflow_type', 'trip', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS b4 \gset

SELECT is(pg_temp.value_as_login('alice', $$SELECT concord.resolve_command_type_contract('cx_book') ->> 'version'$$),
          '1.1.0', 'alice resolves through her team in her organisation');
SELECT is(pg_temp.value_as_login('bob', $$SELECT concord.resolve_command_type_contract('cx_book') ->> 'version'$$),
          '1.2.0', 'bob resolves through his tenant');
SELECT is(pg_temp.value_as_login('bob', $$SELECT concord.resolve_command_type_contract('cx_book',
                                             '{"workflow_type": "trip"}') ->> 'version'$$),
          '1.2.0', 'a workflow_type context adds a scope, less specific than the tenant');
SELECT is(pg_temp.value_as_login('alice', $$SELECT concord.resolve_registry_entity('command_type', 'cx_book')
                                              #>> '{binding,binding_target}'$$),
          'iso-a/travel', 'resolve_registry_entity gives the same for any type');
SELECT is(pg_temp.as_login('bob', $$SELECT concord.resolve_command_type_contract('cx_book', '{"tenant": "iso-a"}')$$),
          pg_temp.refused('CN008', 'resolution_context_names_no_identity'), 'bob may not claim another tenant');
SELECT is(pg_temp.as_login('bob', $$SELECT concord.resolve_command_type_contract('cx_book', '{"teams": ["travel"]}')$$),
          pg_temp.refused('CN008', 'resolution_context_names_no_identity'), 'nor a team');
SELECT is(pg_temp.as_login('bob', $$SELECT concord.resolve_command_type_contract('cx_book', '{"user": "iso-a-alice"}')$$),
          pg_temp.refused('CN008', 'resolution_context_names_no_identity'), 'nor a user');
SELECT is(pg_temp.as_login('bob', $$SELECT concord.resolve_registry_entity('command_type', 'cx_book', '{"app": "iso-a/main"}')$$),
          pg_temp.refused('CN008', 'resolution_context_names_no_identity'), 'nor an app');
SELECT is(pg_temp.as_login('bob', $$SELECT concord.resolve_command_type_contract('cx_book', '[1]')$$),
          pg_temp.refused('CN008', 'a_resolution_context_is_an_object_of_names'), 'a context is an object');
SELECT is(pg_temp.as_login('reader', $$SELECT concord.resolve_command_type_contract('cx_book')$$),
          '42501', 'concord_reader may not resolve (it reads views only)');
SELECT is(concord._registry_subject('iso-a-alice', (SELECT project_id FROM concord.projects AS p
                                                    INNER JOIN concord.organisations AS o ON p.org_id = o.org_id
                                                    WHERE o.name = 'iso-a' AND p.name = 'main'),
                                    '{"workflow_type": "trip", "ignored": 1}'),
          '{"user": "iso-a-alice", "teams": ["iso-a/travel"], "tenant": "iso-a", "app": "iso-a/main", "workflow_type": "trip"}',
          '_registry_subject: the principal, its teams in the project''s organisation, tenant, app and the context''s names');
SELECT is(pg_temp.value_as_login('alice', $$SELECT concord.can_use_capability(
              (SELECT version_id FROM concord.registry_entity_versions WHERE entity = 'cx_book' AND version = '1.0.0'),
              'uses_tool', 'tool', 'nothing')::text$$),
          'false', 'can_use_capability: a version declaring no such relationship may not use it');


-- a binding meant for agents of a role is not a person's to claim
SELECT pg_temp.published('command_type', 'cx_book', '2.0.0', '{"description": "agents"}') AS v5 \gset
SELECT concord._registry_bind(:'v5', 'agent_role', 'payments_agent', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS b5 \gset
SELECT is(pg_temp.as_login('alice', $$SELECT concord.resolve_command_type_contract('cx_book', '{"agent_role": "payments_agent"}')$$),
          pg_temp.refused('CN008', 'resolution_context_names_no_identity'), 'nor an agent role');
SELECT is(pg_temp.as_login('alice', $$SELECT concord.resolve_registry_entity('command_type', 'cx_book', '{"agent_name": "payer-1"}')$$),
          pg_temp.refused('CN008', 'resolution_context_names_no_identity'), 'nor an agent name');

-- can_use_capability is true when the target resolves within the constraint
SELECT concord.create_registry_entity('tool', 'cx_tool', 'Tool', 'platform-team') IS NOT NULL AS t \gset
SELECT pg_temp.published('tool', 'cx_tool', '1.0.0', '{"command_type": "cx_book"}') AS t1 \gset
SELECT pg_temp.published('tool', 'cx_tool', '2.0.0', '{"command_type": "cx_book"}') AS t2 \gset
SELECT concord.create_registry_entity('skill', 'cx_skill', 'Skill', 'platform-team') IS NOT NULL AS s \gset
SELECT pg_temp.published('skill', 'cx_skill', '1.0.0', '{"tools": [{"name": "cx_tool", "version": "^1.0.0"}]}') AS s1 \gset
SELECT concord._registry_bind(:'t1', 'global', '*', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS bt1 \gset
SELECT concord._registry_bind(:'t2', 'tenant', 'iso-b', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS bt2 \gset
SELECT is(pg_temp.value_as_login('alice', format($$SELECT concord.can_use_capability(%L, 'uses_tool', 'tool', 'cx_tool')::text$$,
                                                 :'s1')),
          'true', 'can_use_capability: the skill may use a tool it declares that resolves within its constraint');
SELECT is(pg_temp.value_as_login('bob', format($$SELECT concord.can_use_capability(%L, 'uses_tool', 'tool', 'cx_tool')::text$$,
                                               :'s1')),
          'false', 'but not where the tool resolves outside the constraint (2.0.0 for iso-b)');

SELECT * FROM finish();
ROLLBACK;
