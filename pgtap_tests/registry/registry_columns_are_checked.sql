-- The registry's tables check their own columns (migration 0008): every
-- CHECK constraint refuses a bad value written straight into the table by
-- its owner, and the values the guard triggers compute (checksums,
-- lifecycle times) cannot be written otherwise.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(45);

SELECT concord.create_registry_entity('tool', 'chk_tool', 'Checked tool', 'platform') AS e \gset
SELECT concord.create_registry_version('tool', 'chk_tool', '1.0.0', '{"mode": "sync"}') AS v \gset
SELECT concord.create_registry_version('tool', 'chk_tool', '1.1.0', '{"mode": "sync", "description": "draft"}') AS d \gset
SELECT concord._registry_publish(:'v') ->> 'status' AS published \gset
SELECT concord._registry_bind(:'v', 'global', '*', NULL, 'pinned', '{}', 'operator') ->> 'binding_id' AS b \gset
SELECT registry_lifecycle_event_id AS ev FROM concord.registry_lifecycle_events WHERE entity_id = :'e' LIMIT 1 \gset

CREATE FUNCTION pg_temp.checked(statement text, rule text)
RETURNS text
LANGUAGE sql
AS $$ SELECT concord_test.throws_rule('SET LOCAL ROLE concord_owner; ' || statement, '23514', rule,
                                      format('CHECK %s refuses: %s', rule, regexp_replace(left(statement, 70), '\s+', ' ', 'g'))) $$;

-- entities
SELECT pg_temp.checked($$INSERT INTO concord.registry_entities (entity_type, name, display_name, owner, created_by)
                         VALUES ('tool', '9lives', 'x', 'x', 'x')$$, 'registry_entity_name_is_an_identifier');
SELECT pg_temp.checked($$INSERT INTO concord.registry_entities (entity_type, name, display_name, owner, created_by)
                         VALUES ('tool', 'chk_blank', ' ', 'x', 'x')$$, 'registry_entity_display_name_is_not_blank');
SELECT pg_temp.checked($$INSERT INTO concord.registry_entities (entity_type, name, display_name, owner, created_by)
                         VALUES ('tool', 'chk_owner', 'x', '', 'x')$$, 'registry_entity_owner_is_not_blank');
SELECT pg_temp.checked(format($$UPDATE concord.registry_entities SET status = 'gone' WHERE entity_id = %L$$, :'e'),
                       'registry_entity_status_is_known');
-- (a migration's change: the guard that keeps bare writes out is lifted around it)
ALTER TABLE concord.registry_entity_types DISABLE TRIGGER registry_entity_types_change_only_at_migrate;
SELECT pg_temp.checked($$UPDATE concord.registry_entity_types SET manifest_schema = '[]' WHERE entity_type = 'tool'$$,
                       'manifest_schema_is_an_object');
ALTER TABLE concord.registry_entity_types ENABLE TRIGGER registry_entity_types_change_only_at_migrate;
-- versions: a draft's classification is the guard's to derive from its
-- manifest, whatever a bare UPDATE writes
SET LOCAL ROLE concord_owner;
UPDATE concord.registry_versions SET risk_level = 'critical', change_class = 'breaking', change_reasons = '[]',
    high_risk_changes = '["payment_operation_added"]', approval_required = true
WHERE version_id = :'d';
RESET ROLE;
SELECT results_eq(
    format($$SELECT risk_level, change_class, high_risk_changes, approval_required
             FROM concord.registry_versions WHERE version_id = %L$$, :'d'),
    $$VALUES ('low', 'initial', '[]'::jsonb, false)$$,
    'a bare UPDATE of a draft''s classification changes nothing: the guard derives it from its manifest');
SELECT is((SELECT checksum FROM concord.registry_versions WHERE version_id = :'v'),
          concord.registry_checksum((SELECT manifest FROM concord.registry_versions WHERE version_id = :'v')),
          'the guard writes the checksum: sha256:<hex> of the manifest');
SET LOCAL ROLE concord_owner;
UPDATE concord.registry_versions SET published_at = NULL, approved_by = 'x', approved_at = NULL WHERE version_id = :'v';
RESET ROLE;
SELECT ok((SELECT published_at IS NOT NULL AND approved_by IS NULL FROM concord.registry_versions WHERE version_id = :'v'),
          'a bare UPDATE of the lifecycle times and approver changes nothing: the guard keeps them');
-- Behind the guard, the table's own CHECKs hold too: with the guard trigger
-- off (a superuser's act, rolled back below), each is still refused.
SAVEPOINT behind_the_guard;
ALTER TABLE concord.registry_versions DISABLE TRIGGER registry_versions_before_update;
ALTER TABLE concord.registry_bindings DISABLE TRIGGER registry_bindings_before_write;
SELECT pg_temp.checked(format($$UPDATE concord.registry_versions SET risk_level = 'extreme' WHERE version_id = %L$$, :'d'),
                       'registry_version_risk_level_is_known');
SELECT pg_temp.checked(format($$UPDATE concord.registry_versions SET manifest = '[1]' WHERE version_id = %L$$, :'d'),
                       'registry_manifest_is_an_object');
SELECT pg_temp.checked(format($$UPDATE concord.registry_versions SET change_class = 'cosmetic' WHERE version_id = %L$$, :'d'),
                       'registry_change_class_is_known');
SELECT pg_temp.checked(format($$UPDATE concord.registry_versions SET change_reasons = '{}' WHERE version_id = %L$$, :'d'),
                       'registry_change_reasons_is_an_array');
SELECT pg_temp.checked(format($$UPDATE concord.registry_versions SET high_risk_changes = '"x"' WHERE version_id = %L$$, :'d'),
                       'registry_high_risk_changes_is_an_array');
SELECT throws_ok(format($$UPDATE concord.registry_versions SET checksum = 'md5:x' WHERE version_id = %L$$, :'v'),
                 '23514', NULL, 'CHECK registry_checksum_is_a_sha256 holds behind the guard');
SELECT throws_ok(format($$UPDATE concord.registry_versions SET published_at = NULL WHERE version_id = %L$$, :'v'),
                 '23514', NULL, 'CHECK a_published_version_has_its_publication_time holds behind the guard');
SELECT throws_ok(format($$UPDATE concord.registry_versions SET status = 'retired' WHERE version_id = %L$$, :'v'),
                 '23514', NULL, 'CHECK a_retired_version_has_its_retirement holds behind the guard');
SELECT throws_ok(format($$UPDATE concord.registry_versions SET status = 'approved' WHERE version_id = %L$$, :'d'),
                 '23514', NULL, 'CHECK an_approved_version_names_its_approver holds behind the guard');
SELECT throws_ok(format($$UPDATE concord.registry_bindings SET status = 'disabled' WHERE registry_binding_id = %L$$, :'b'),
                 '23514', NULL, 'CHECK a_disabled_binding_says_why holds behind the guard');
ROLLBACK TO SAVEPOINT behind_the_guard;
SELECT is(array_agg(conname::text ORDER BY conname), ARRAY[
              'a_disabled_binding_says_why', 'a_published_version_has_its_publication_time',
              'a_retired_version_has_its_retirement', 'an_approved_version_names_its_approver',
              'registry_checksum_is_a_sha256'],
          'the five CHECKs exercised behind the guard are the ones named')
FROM pg_catalog.pg_constraint
WHERE conname IN ('a_disabled_binding_says_why', 'a_published_version_has_its_publication_time',
                  'a_retired_version_has_its_retirement', 'an_approved_version_names_its_approver',
                  'registry_checksum_is_a_sha256');
INSERT INTO concord.registry_usage (entity_id, version_id, usage_type) VALUES (:'e', :'v', 'contract_resolved');
SELECT concord_test.throws_rule(
    format($$SET LOCAL ROLE concord_owner; UPDATE concord.registry_usage SET usage_type = 'policy_applied'
             WHERE entity_id = %L$$, :'e'),
    'CN007', 'registry_usage_is_append_only', 'usage rows are never updated');
-- artifacts
SELECT pg_temp.checked(format($$INSERT INTO concord.registry_artifacts (version_id, artifact_type, artifact_uri, checksum)
                                VALUES (%L, 'movie', 'git://x', 'sha256:' || repeat('a', 64))$$, :'d'),
                       'registry_artifact_type_is_known');
SELECT pg_temp.checked(format($$INSERT INTO concord.registry_artifacts (version_id, artifact_type, artifact_uri, checksum)
                                VALUES (%L, 'skill_md', ' ', 'sha256:' || repeat('a', 64))$$, :'d'),
                       'registry_artifact_uri_is_not_blank');
SELECT pg_temp.checked(format($$INSERT INTO concord.registry_artifacts (version_id, artifact_type, artifact_uri, checksum)
                                VALUES (%L, 'skill_md', 'git://x', 'md5:abc')$$, :'d'),
                       'registry_artifact_checksum_is_a_sha256');
SELECT pg_temp.checked(format($$INSERT INTO concord.registry_artifacts
                                (version_id, artifact_type, artifact_uri, checksum, metadata)
                                VALUES (%L, 'skill_md', 'git://x', 'sha256:' || repeat('a', 64), '[]')$$, :'d'),
                       'registry_artifact_metadata_is_an_object');
-- relationships
SELECT pg_temp.checked(format($$INSERT INTO concord.registry_relationships
                                (source_version_id, relationship_type, target_entity_type, target_entity_name,
                                 target_versions, metadata)
                                VALUES (%L, 'uses_tool', 'tool', 'x', '(,)', '[]')$$, :'d'),
                       'registry_relationship_metadata_is_an_object');
-- bindings
SELECT pg_temp.checked(format($$INSERT INTO concord.registry_bindings
                                (entity_id, version_id, binding_scope, binding_target, created_by)
                                VALUES (%L, %L, 'galaxy', 'x', 'x')$$, :'e', :'v'),
                       'registry_binding_scope_is_known');
SELECT pg_temp.checked(format($$INSERT INTO concord.registry_bindings
                                (entity_id, version_id, binding_scope, binding_target, created_by)
                                VALUES (%L, %L, 'user', ' ', 'x')$$, :'e', :'v'),
                       'registry_binding_target_is_not_blank');
SELECT pg_temp.checked(format($$INSERT INTO concord.registry_bindings
                                (entity_id, version_id, binding_scope, binding_target, environment, created_by)
                                VALUES (%L, %L, 'user', 'u', 'Prod Env', 'x')$$, :'e', :'v'),
                       'registry_binding_environment_is_a_name');
SELECT pg_temp.checked(format($$INSERT INTO concord.registry_bindings
                                (entity_id, version_id, binding_scope, binding_target, rollout_strategy, created_by)
                                VALUES (%L, %L, 'user', 'u', 'blue_green', 'x')$$, :'e', :'v'),
                       'registry_rollout_strategy_is_known');
SELECT pg_temp.checked(format($$INSERT INTO concord.registry_bindings
                                (entity_id, version_id, binding_scope, binding_target, rollout_config, created_by)
                                VALUES (%L, %L, 'user', 'u', '[]', 'x')$$, :'e', :'v'),
                       'registry_rollout_config_is_an_object');
SELECT pg_temp.checked(format($$INSERT INTO concord.registry_bindings
                                (entity_id, version_id, binding_scope, binding_target, created_by)
                                VALUES (%L, %L, 'global', 'someone', 'x')$$, :'e', :'v'),
                       'a_global_binding_targets_everyone');
SELECT pg_temp.checked(format($$UPDATE concord.registry_bindings SET status = 'paused' WHERE registry_binding_id = %L$$, :'b'),
                       'registry_binding_status_is_known');
SELECT throws_ok(
    format($$INSERT INTO concord.registry_bindings (entity_id, version_id, binding_scope, binding_target, created_by)
             VALUES (%L, %L, 'global', '*', 'x')$$, :'e', :'v'),
    '23505', NULL, 'one_active_binding_per_scope_target_and_strategy: a second active global pinned binding is refused');
-- history
SELECT pg_temp.checked(format($$INSERT INTO concord.registry_lifecycle_events (entity_id, event_type, actor, trace_id)
                                VALUES (%L, 'Bad Event', 'x', 't')$$, :'e'),
                       'registry_event_type_is_an_identifier');
SELECT pg_temp.checked(format($$INSERT INTO concord.registry_lifecycle_events (entity_id, event_type, actor, payload, trace_id)
                                VALUES (%L, 'ok_event', 'x', '[]', 't')$$, :'e'),
                       'registry_event_payload_is_an_object');
SELECT pg_temp.checked(format($$INSERT INTO concord.registry_evaluations (version_id, evaluation_type, status)
                                VALUES (%L, ' ', 'passed')$$, :'d'),
                       'registry_evaluation_type_is_not_blank');
SELECT pg_temp.checked(format($$INSERT INTO concord.registry_evaluations (version_id, evaluation_type, status)
                                VALUES (%L, 'manifest', 'maybe')$$, :'d'),
                       'registry_evaluation_status_is_known');
SELECT pg_temp.checked(format($$INSERT INTO concord.registry_usage (entity_id, usage_type) VALUES (%L, 'liked')$$, :'e'),
                       'registry_usage_type_is_known');
SELECT pg_temp.checked(format($$INSERT INTO concord.registry_usage (entity_id, usage_type, payload)
                                VALUES (%L, 'contract_resolved', '"x"')$$, :'e'),
                       'registry_usage_payload_is_an_object');
-- the environment
SELECT pg_temp.checked($$UPDATE concord.registry_environment SET singleton = false$$, 'registry_environment_is_one_row');
SELECT pg_temp.checked($$UPDATE concord.registry_environment SET environment = 'Production!'$$,
                       'registry_current_environment_is_a_name');
-- an agent run's runtime manifest (attacked with a real run in pgtap_tests/agents)
SELECT ok(EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conname = 'runtime_manifest_is_an_object'
                  AND conrelid = 'concord.agent_runs'::regclass AND contype = 'c'),
          'runtime_manifest_is_an_object is a CHECK of agent_runs');

-- the history tables refuse changes
SELECT concord_test.throws_rule(
    format($$SET LOCAL ROLE concord_owner; UPDATE concord.registry_lifecycle_events SET actor = 'x'
             WHERE registry_lifecycle_event_id = %L$$, :'ev'),
    'CN007', 'registry_lifecycle_events_are_append_only', 'lifecycle events are append-only');
SELECT concord_test.throws_rule(
    format($$SET LOCAL ROLE concord_owner; DELETE FROM concord.registry_lifecycle_events
             WHERE registry_lifecycle_event_id = %L$$, :'ev'),
    'CN007', 'registry_lifecycle_events_are_append_only', 'lifecycle events are never deleted');
SELECT concord_test.throws_rule(
    format($$SET LOCAL ROLE concord_owner; DELETE FROM concord.registry_evaluations WHERE version_id = %L$$, :'v'),
    'CN007', 'registry_evaluations_are_append_only', 'evaluations are never deleted');

SELECT * FROM finish();
ROLLBACK;
