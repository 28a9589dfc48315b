-- Impact walks the capability graph (spec 106.1, 116): from a connector,
-- registry_impact finds every published or deprecated version that depends
-- on it, transitively (tool, skill, agent role), with the edges' version
-- ranges respected, drafts left out, cycles walked once, and each
-- version's active bindings counted.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(9);

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
    PERFORM concord.create_registry_entity(t.entity_type, t.name, t.name, 'platform-team')
    FROM (VALUES ('connector', 'im_crm'), ('tool', 'im_lookup'), ('tool', 'im_old_lookup'), ('skill', 'im_sales'),
                 ('agent_role', 'im_rep'), ('agent_role', 'im_peer')) AS t (entity_type, name);
    PERFORM pg_temp.published('connector', 'im_crm', '1.0.0', '{"operations": [{"name": "read", "side_effect": "read"}]}');
    PERFORM pg_temp.published('connector', 'im_crm', '2.0.0',
                              '{"operations": [{"name": "read", "side_effect": "read"}, {"name": "list", "side_effect": "read"}], "description": "two"}');
    PERFORM pg_temp.published('tool', 'im_lookup', '1.0.0',
                              '{"mode": "sync", "connector_operations": [{"connector": "im_crm", "operation": "read", "version": "^2"}]}');
    PERFORM pg_temp.published('tool', 'im_old_lookup', '1.0.0',
                              '{"mode": "sync", "connector_operations": [{"connector": "im_crm", "operation": "read", "version": "^1"}]}');
    PERFORM pg_temp.published('skill', 'im_sales', '1.0.0', '{"tools": [{"name": "im_lookup", "mode": "sync"}]}');
    -- two roles that spawn each other: a cycle
    PERFORM pg_temp.published('agent_role', 'im_peer', '1.0.0', '{}');
    PERFORM pg_temp.published('agent_role', 'im_rep', '1.0.0',
                              '{"skills": ["im_sales"], "subagent_roles": ["im_peer"]}');
    PERFORM pg_temp.published('agent_role', 'im_peer', '1.1.0', '{"subagent_roles": ["im_rep"], "description": "x"}');
    -- a draft that uses the tool does not count
    PERFORM concord.create_registry_version('skill', 'im_sales', '2.0.0',
                                            '{"tools": [{"name": "im_lookup", "mode": "async"}], "description": "d"}');
    PERFORM concord._registry_bind(v.version_id, 'global', '*', NULL, 'pinned', '{}', 'tester')
    FROM concord.registry_versions AS v INNER JOIN concord.registry_entities AS e ON v.entity_id = e.entity_id
    WHERE e.name = 'im_sales' AND v.status = 'published';
END $$;

SELECT results_eq(
    $$SELECT depth, entity_type, name, version, relationship_type FROM concord.registry_impact('connector', 'im_crm')$$,
    $$VALUES (1, 'tool', 'im_lookup', '1.0.0', 'invokes_connector_operation'),
             (1, 'tool', 'im_old_lookup', '1.0.0', 'invokes_connector_operation'),
             (2, 'skill', 'im_sales', '1.0.0', 'uses_tool'),
             (3, 'agent_role', 'im_rep', '1.0.0', 'uses_skill'),
             (4, 'agent_role', 'im_peer', '1.1.0', 'spawns_agent_role')$$,
    'the connector''s dependents, transitively, each once at its depth: tools, skill, role, the role''s peer');
SELECT results_eq(
    $$SELECT name FROM concord.registry_impact('connector', 'im_crm', '1.0.0')$$,
    $$VALUES ('im_old_lookup')$$,
    'for version 1.0.0 only the tool whose range holds it');
SELECT results_eq(
    $$SELECT name, version FROM concord.registry_impact('connector', 'im_crm', '2.0.0') ORDER BY depth, name$$,
    $$VALUES ('im_lookup', '1.0.0'), ('im_sales', '1.0.0'), ('im_rep', '1.0.0'), ('im_peer', '1.1.0')$$,
    'for version 2.0.0 the other tool and what depends on it');
SELECT is((SELECT active_bindings FROM concord.registry_impact('connector', 'im_crm') WHERE name = 'im_sales'), 1,
          'the skill''s active binding is counted');
SELECT is((SELECT via FROM concord.registry_impact('connector', 'im_crm') WHERE name = 'im_sales'),
          'tool im_lookup 1.0.0', 'via names the version it depends on');
SELECT is((SELECT count(*)::int FROM concord.registry_impact('connector', 'im_crm') WHERE version = '2.0.0'
             AND name = 'im_sales'), 0, 'a draft depends on nothing');
SELECT results_eq(
    $$SELECT depth, name, version FROM concord.registry_impact('agent_role', 'im_rep')$$,
    $$VALUES (1, 'im_peer', '1.1.0'), (2, 'im_rep', '1.0.0')$$,
    'a cycle is walked once: the role shows up as its own dependent through its peer, and the walk stops');
SELECT is((SELECT count(*)::int FROM concord.registry_impact_edges WHERE target_entity_name = 'im_crm'), 2,
          'registry_impact_edges lists the edges into the connector');
SELECT concord_test.throws_rule(
    $$SELECT * FROM concord.registry_impact('connector', 'im_crm', 'one')$$,
    'CN008', 'a_checked_version_is_a_semantic_version', 'a version to check is a semantic version');

SELECT * FROM finish();
ROLLBACK;
