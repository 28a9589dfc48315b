-- Published versions are immutable (spec 106.3, 119.2): past draft, a
-- version's manifest, checksum, classification and identity never change,
-- its relationships and artifacts are frozen with it, and nothing of the
-- registry's history is deleted — by any path: the table owner's bare
-- UPDATE, DELETE and TRUNCATE included. A draft may still be replaced, and
-- its checksum follows its manifest (computed in SQL, never taken from the
-- writer).
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(26);

-- Before anything is written: a pending deferred hand-off would make
-- PostgreSQL refuse the TRUNCATE (55006) before the guard could speak.
SET LOCAL ROLE concord_owner;
SELECT concord_test.throws_rule(
    'TRUNCATE concord.registry_versions CASCADE',
    'CN007', 'registry_versions_are_never_truncated', 'versions are never truncated');
SELECT concord_test.throws_rule(
    'TRUNCATE concord.registry_entities CASCADE',
    'CN007', 'registry_entities_are_never_truncated', 'entities are never truncated');
SELECT concord_test.throws_rule(
    'TRUNCATE concord.registry_bindings CASCADE',
    'CN007', 'registry_bindings_are_never_truncated', 'bindings are never truncated');
RESET ROLE;

-- a platform tool (this superuser session is an operator), v1 published with
-- an artifact, v2 a draft
SELECT concord.create_registry_entity('tool', 'imm_tool', 'Immutable tool', 'platform-team') AS e \gset
SELECT concord.create_registry_version(
    'tool', 'imm_tool', '1.0.0', '{"description": "first", "mode": "sync"}',
    '[{"artifact_type": "tool_schema", "artifact_uri": "git://tools/imm_tool.json",
       "checksum": "sha256:0000000000000000000000000000000000000000000000000000000000000000"}]') AS v1 \gset
SELECT concord._registry_publish(:'v1') ->> 'status' AS v1_status \gset
SELECT concord.create_registry_version('tool', 'imm_tool', '1.0.1', '{"description": "second", "mode": "sync"}')
    AS v2 \gset

SELECT is(:'v1_status'::text, 'published', 'fixture: version 1.0.0 is published');
SELECT is((SELECT checksum FROM concord.registry_versions WHERE version_id = :'v1'),
          concord.registry_checksum((SELECT manifest FROM concord.registry_versions WHERE version_id = :'v1')),
          'the checksum is the manifest''s, computed in SQL');

SET LOCAL ROLE concord_owner;

SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET manifest = manifest || '{"mode": "async"}' WHERE version_id = %L$$,
           :'v1'),
    'CN007', 'a_frozen_registry_version_never_changes', 'the owner cannot rewrite a published manifest');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET checksum = 'sha256:' || repeat('1', 64) WHERE version_id = %L$$,
           :'v1'),
    'CN007', 'a_frozen_registry_version_never_changes', 'nor its checksum');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET change_class = 'doc', high_risk_changes = '[]' WHERE version_id = %L$$,
           :'v1'),
    'CN007', 'a_frozen_registry_version_never_changes', 'nor its classification');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET risk_level = 'critical', approval_required = true WHERE version_id = %L$$,
           :'v1'),
    'CN007', 'a_frozen_registry_version_never_changes', 'nor its risk or approval requirement');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET version = '9.9.9' WHERE version_id = %L$$, :'v1'),
    'CN007', 'a_registry_version_keeps_its_identity', 'nor its version number');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET created_by = 'mallory' WHERE version_id = %L$$, :'v2'),
    'CN007', 'a_registry_version_keeps_its_identity', 'nor a draft''s creator');
SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.registry_versions WHERE version_id = %L$$, :'v2'),
    'CN007', 'registry_versions_are_never_deleted', 'a version is never deleted, not even a draft');

-- relationships and artifacts: frozen with their version
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.registry_relationships
             (source_version_id, relationship_type, target_entity_type, target_entity_name, target_versions)
             VALUES (%L, 'uses_connector', 'connector', 'crm', '(,)')$$, :'v1'),
    'CN007', 'a_version_keeps_its_relationships_and_artifacts', 'a published version gains no relationship');
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.registry_artifacts (version_id, artifact_type, artifact_uri, checksum)
             VALUES (%L, 'skill_md', 'git://x', 'sha256:' || repeat('2', 64))$$, :'v1'),
    'CN007', 'a_version_keeps_its_relationships_and_artifacts', 'nor an artifact');
SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.registry_artifacts WHERE version_id = %L$$, :'v1'),
    'CN007', 'a_version_keeps_its_relationships_and_artifacts', 'its artifacts are not deleted');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_artifacts SET artifact_uri = 'git://elsewhere' WHERE version_id = %L$$, :'v1'),
    'CN007', 'a_version_keeps_its_relationships_and_artifacts', 'nor repointed');
SELECT concord_test.throws_rule(
    'TRUNCATE concord.registry_artifacts',
    'CN007', 'registry_artifacts_are_not_truncated', 'artifacts are never truncated');
SELECT concord_test.throws_rule(
    'TRUNCATE concord.registry_relationships',
    'CN007', 'registry_relationships_are_not_truncated', 'relationships are never truncated');

-- entities
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_entities SET name = 'renamed' WHERE entity_id = %L$$, :'e'),
    'CN007', 'a_registry_entity_keeps_its_identity', 'an entity keeps its name');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_entities SET org_id = (SELECT org_id FROM concord.organisations LIMIT 1)
             WHERE entity_id = %L$$, :'e'),
    'CN007', 'a_registry_entity_keeps_its_identity', 'and its organisation');
SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.registry_entities WHERE entity_id = %L$$, :'e'),
    'CN007', 'registry_entities_are_never_deleted', 'an entity is never deleted');
SELECT concord_test.throws_rule(
    $$DELETE FROM concord.registry_entity_types WHERE entity_type = 'tool'$$,
    'CN007', 'registry_entity_types_are_kept', 'the twelve types are kept');

-- a draft is still a draft: replaced, its checksum follows (whatever the writer says)
UPDATE concord.registry_versions
SET manifest = manifest || '{"description": "second, reworded"}', checksum = 'sha256:' || repeat('3', 64)
WHERE version_id = :'v2';
RESET ROLE;
SELECT is((SELECT checksum FROM concord.registry_versions WHERE version_id = :'v2'),
          concord.registry_checksum((SELECT manifest FROM concord.registry_versions WHERE version_id = :'v2')),
          'a draft''s checksum is recomputed from its manifest, whatever the writer sets');
SELECT is((SELECT manifest ->> 'description' FROM concord.registry_versions WHERE version_id = :'v1'), 'first',
          'the published manifest is as it was');
SELECT is(concord.registry_checksum('{"b": 1.0, "a": [1e2, "x"]}'), concord.registry_checksum('{"a": [100, "x"], "b": 1}'),
          'two spellings of one contract have one checksum (canonical JSON)');
SELECT isnt(concord.registry_checksum('{"a": [100, "x"], "b": 2}'), concord.registry_checksum('{"a": [100, "x"], "b": 1}'),
            'a changed value changes the checksum');

SELECT * FROM finish();
ROLLBACK;
