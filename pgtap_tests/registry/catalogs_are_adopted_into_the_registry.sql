-- The catalogs are adopted into the registry (issue 14 section 3): every
-- catalog row without an entity (a database upgraded to 0008, or a row
-- written behind the registry's back) becomes a platform entity with version
-- 1.0.0 published and bound globally, what it names adopted before it;
-- commands recorded before are given that version, once
-- (a_command_keeps_the_contract_it_was_judged_under admits exactly that
-- change); adopting again changes nothing. Concord's own command types and
-- gateway tools are adopted too.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(12);

-- Rows as an old install wrote them: past the projection's guard, and a
-- finished command with no contract, written with the triggers off.
-- past the projection's guard, as a migration would be
ALTER TABLE concord.approval_types DISABLE TRIGGER approval_types_written_only_by_projection;
ALTER TABLE concord.policies DISABLE TRIGGER policies_written_only_by_projection;
ALTER TABLE concord.command_types DISABLE TRIGGER command_types_written_only_by_projection;
INSERT INTO concord.approval_types (name, approver_team) VALUES ('ad_people', 'team:ad');
INSERT INTO concord.policies (name, kind, predicate, decision, approval_type)
VALUES ('ad_gate', 'declarative', '$.payload.n > 9', 'require_approval', 'ad_people');
INSERT INTO concord.command_types (command_type, name, sync_allowed, policy_checks, connector_requirements)
VALUES ('ad_legacy', 'A legacy type', true, '{ad_gate}', '{ad_nowhere}');
ALTER TABLE concord.approval_types ENABLE TRIGGER approval_types_written_only_by_projection;
ALTER TABLE concord.policies ENABLE TRIGGER policies_written_only_by_projection;
ALTER TABLE concord.command_types ENABLE TRIGGER command_types_written_only_by_projection;
SET LOCAL session_replication_role = replica;
INSERT INTO concord.commands (command_id, command_type, requested_by, ingress, status, trace_id, project_id)
VALUES ('00000000-0000-0000-0000-0000000000ad', 'ad_legacy', 'alice', 'api', 'succeeded', 'trace_ad',
        '00000000-0000-4000-8000-00000000000b');
SET LOCAL session_replication_role = origin;

SELECT is(concord._registry_adopt_catalogs() -> 'adopted', '3'::jsonb, 'the three rows are adopted');
SELECT results_eq(
    $$SELECT e.entity_type, e.org_id IS NULL, v.version::text, v.status, b.binding_scope, b.status
      FROM concord.registry_entities AS e
      INNER JOIN concord.registry_versions AS v ON e.entity_id = v.entity_id
      INNER JOIN concord.registry_bindings AS b ON v.version_id = b.version_id
      WHERE e.name IN ('ad_people', 'ad_gate', 'ad_legacy') ORDER BY e.entity_type$$,
    $$VALUES ('approval_type', true, '1.0.0', 'published', 'global', 'active'),
             ('command_type', true, '1.0.0', 'published', 'global', 'active'),
             ('policy', true, '1.0.0', 'published', 'global', 'active')$$,
    'each as a platform entity, 1.0.0 published and bound globally');
SELECT results_eq(
    $$SELECT r.relationship_type, r.target_entity_name, r.required FROM concord.registry_relationships AS r
      INNER JOIN concord.registry_versions AS v ON r.source_version_id = v.version_id
      INNER JOIN concord.registry_entities AS e ON v.entity_id = e.entity_id
      WHERE e.name = 'ad_legacy' ORDER BY 1$$,
    $$VALUES ('requires_policy', 'ad_gate', true), ('uses_connector', 'ad_nowhere', false)$$,
    'its edges: to the adopted policy, required; to a connector the catalog never held, optional');
SELECT results_eq(
    $$SELECT v.version::text FROM concord.commands AS c
      INNER JOIN concord.registry_versions AS v ON c.contract_version_id = v.version_id
      WHERE c.command_id = '00000000-0000-0000-0000-0000000000ad'$$,
    $$VALUES ('1.0.0')$$,
    'the finished command from before records the version its type was adopted as');
SELECT is(concord._registry_adopt_catalogs(), '{"adopted": 0, "skipped": [], "commands": 0}'::jsonb,
          'adopting again changes nothing');
SELECT is((SELECT count(*)::int FROM concord.registry_versions AS v
           INNER JOIN concord.registry_entities AS e ON v.entity_id = e.entity_id WHERE e.name = 'ad_legacy'), 1,
          '... and makes no second version');
SELECT concord_test.throws_rule(
    $$UPDATE concord.commands SET contract_version_id = NULL WHERE command_id = '00000000-0000-0000-0000-0000000000ad'$$,
    'CN007', 'a_command_keeps_the_contract_it_was_judged_under', 'CN007: the adopted contract is kept for good');
SELECT is(concord_test.submit('new', 'ad_legacy', '{"n": 1}'), 'validated',
          'a new command of the adopted type is judged under its 1.0.0');
SELECT is(concord.register_command_type(
              '{"command_type": "ad_legacy", "name": "A legacy type", "sync_allowed": true,
                "policy_checks": ["ad_gate"], "connector_requirements": ["ad_nowhere"]}'), 'ad_legacy',
          'registering the adopted type as it stands');
SELECT is((SELECT count(*)::int FROM concord.registry_versions AS v
           INNER JOIN concord.registry_entities AS e ON v.entity_id = e.entity_id WHERE e.name = 'ad_legacy'), 1,
          '... is the same version: the shorthand and the adoption write the same manifest');

-- Concord's own
SELECT is((SELECT count(*)::int FROM concord.registry_entities AS e
           WHERE e.entity_type = 'command_type'
             AND e.name IN ('concord.registry.publish_version', 'concord.write_memory', 'concord.swarm_review')), 3,
          'Concord''s own command types are registry entities');
SELECT is((SELECT count(*)::int FROM concord.registry_entities AS e
           INNER JOIN concord.tools AS t ON e.name = t.tool_name
           WHERE e.entity_type = 'tool' AND t.execution_mode = 'gateway'),
          (SELECT count(*)::int FROM concord.tools WHERE execution_mode = 'gateway'),
          'and so are its gateway tools');

SELECT * FROM finish();
ROLLBACK;
