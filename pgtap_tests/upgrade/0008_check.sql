-- After `concord migrate` (0008 and the sql/ files) on the 0007-era data of
-- 0008_fixture.sql. Each part of 0008 adds its checks (no_plan: parts append).
BEGIN;
SELECT * FROM no_plan();

SELECT ok(EXISTS (SELECT FROM concord.schema_migrations WHERE version = 8),
          'concord.schema_migrations lists version 8');
SELECT results_eq(
    $$SELECT command_id::text, status, command_type FROM concord.commands
      WHERE command_id = '00000000-0000-0000-0000-000000000081'$$,
    $$VALUES ('00000000-0000-0000-0000-000000000081', 'succeeded', 'registry_probe')$$,
    'the command from before 0008 survived as it was'
);
SELECT results_eq(
    $$SELECT policy_checks FROM concord.command_types WHERE command_type = 'registry_probe'$$,
    $$VALUES ('{registry_probe_gate}'::text[])$$,
    'its command type and the policy it checks survived'
);

-- == semantic_versions ==
SELECT ok('1.10.0'::semver.semver OPERATOR(semver.>) '1.9.0'::semver.semver, 'the semver type orders 1.10.0 above 1.9.0');

-- == kernel ==
SELECT is((SELECT count(*)::int FROM concord.registry_entity_types), 12, 'the twelve registry types are installed');
SELECT is((SELECT count(*)::int FROM concord.registry_environment), 1, 'the environment row is there');

-- == registry_commands ==
SELECT is((SELECT count(*)::int FROM concord.command_types WHERE command_type LIKE 'concord.registry.%'), 9,
          'the registry''s nine command types came with the upgrade, past the catalog guards');
SELECT ok(EXISTS (SELECT FROM concord.policies WHERE name = 'registry_high_risk' AND kind = 'builtin'),
          'the built-in policy registry_high_risk came with the upgrade');
SELECT ok(EXISTS (SELECT FROM concord.approval_types WHERE name = 'concord.registry_high_risk_change'),
          'and its approval type');
SELECT ok(EXISTS (SELECT FROM concord.error_classes WHERE error_class = 'contract_unavailable'),
          'the error class contract_unavailable exists');

-- == adoption (sql/registry/adoption.sql) ==
SELECT results_eq(
    $$SELECT v.version::text, v.status, b.binding_scope, b.status
      FROM concord.registry_entities AS e
      INNER JOIN concord.registry_versions AS v ON e.entity_id = v.entity_id
      INNER JOIN concord.registry_bindings AS b ON v.version_id = b.version_id
      WHERE e.entity_type = 'command_type' AND e.name = 'registry_probe' AND e.org_id IS NULL$$,
    $$VALUES ('1.0.0', 'published', 'global', 'active')$$,
    'the command type from before 0008 is adopted: a platform entity, 1.0.0 published and bound globally'
);
SELECT results_eq(
    $$SELECT v.version::text, v.manifest -> 'policy_checks'
      FROM concord.commands AS c INNER JOIN concord.registry_versions AS v ON c.contract_version_id = v.version_id
      WHERE c.command_id = '00000000-0000-0000-0000-000000000081'$$,
    $$VALUES ('1.0.0', '["registry_probe_gate"]'::jsonb)$$,
    'the command from before 0008 records the version 1.0.0 it was judged under'
);
SELECT ok(EXISTS (SELECT FROM concord.registry_entities AS e
                  WHERE e.entity_type = 'policy' AND e.name = 'registry_probe_gate'),
          'the policy it checks is adopted too');
SELECT is((SELECT count(*)::int FROM concord.registry_entities AS e
           WHERE e.entity_type = 'command_type' AND e.name LIKE 'concord.registry.%'), 9,
          'the built-in command types are adopted');
SELECT is(concord._registry_adopt_catalogs() -> 'adopted', '0'::jsonb, 'adopting again changes nothing');

SELECT * FROM finish();
ROLLBACK;
