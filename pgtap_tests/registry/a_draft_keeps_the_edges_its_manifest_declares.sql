-- A draft's relationships are its manifest's: one removed or added by a bare
-- write (the owner's included) keeps it from being validated, so no version
-- reaches publication relying on something the check never saw.
BEGIN;
SELECT plan(3);

SELECT concord._registry_create_entity('tool', 'ed_tool', 'Edges tool', 'platform', NULL, NULL, NULL,
                                       'operator') AS e \gset
SELECT concord._registry_create_version(concord._registry_entity('tool', 'ed_tool', true), '1.0.0',
    '{"name": "ed_tool", "version": "1.0.0", "mode": "sync", "command_type": {"name": "ed.nowhere", "version": "^1"}}',
    '[]', 'operator') AS v \gset
SET LOCAL ROLE concord_owner;
DELETE FROM concord.registry_relationships WHERE source_version_id = :'v';
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET status = 'validated' WHERE version_id = %L$$, :'v'),
    'CN011', 'a_draft_is_validated_only_when_valid',
    'a draft whose edge was deleted is not validated');
RESET ROLE;
SELECT concord_test.throws_rule(
    format($$SELECT concord._registry_validate(%L)$$, :'v'),
    'CN011', 'a_draft_is_validated_only_when_valid', 'nor through the lifecycle functions');
SET LOCAL ROLE concord_owner;
INSERT INTO concord.registry_relationships (source_version_id, relationship_type, target_entity_type,
                                            target_entity_name, required, metadata)
SELECT :'v', 'uses_connector', 'connector', 'ed_extra', false, '{}';
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET status = 'validated' WHERE version_id = %L$$, :'v'),
    'CN011', 'a_draft_is_validated_only_when_valid',
    'nor is one with an edge its manifest does not declare');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
