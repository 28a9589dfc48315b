-- The registry's version lifecycle (statuses and moves) and its twelve types
-- with their manifest schemas are data that only concord migrate writes:
-- every role's bare write is refused, the table owner's included, so nobody
-- can open a way back from published or loosen what a manifest may say.
BEGIN;
SELECT plan(8);

SET LOCAL ROLE concord_owner;
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.registry_version_transitions VALUES ('published', 'draft')$$,
    'CN007', 'state_machine_is_read_only', 'a move back from published cannot be added');
SELECT concord_test.throws_rule(
    $$DELETE FROM concord.registry_version_transitions WHERE from_status = 'validated'$$,
    'CN007', 'state_machine_is_read_only', 'a move cannot be removed');
SELECT concord_test.throws_rule(
    $$TRUNCATE concord.registry_version_transitions$$,
    'CN007', 'state_machine_is_not_truncated', 'the moves are not truncated');
SELECT concord_test.throws_rule(
    $$UPDATE concord.registry_version_statuses SET status = status$$,
    'CN007', 'state_machine_is_read_only', 'a status cannot be rewritten');
SELECT concord_test.throws_rule(
    $$TRUNCATE concord.registry_version_statuses CASCADE$$,
    'CN007', 'state_machine_is_not_truncated', 'the statuses are not truncated');
SELECT concord_test.throws_rule(
    $$UPDATE concord.registry_entity_types SET manifest_schema = '{}' WHERE entity_type = 'tool'$$,
    'CN007', 'registry_entity_types_change_only_at_migrate', 'a type''s manifest schema cannot be loosened');
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.registry_entity_types (entity_type, display_name, description, manifest_schema)
      VALUES ('gadget', 'Gadget', 'x', '{}')$$,
    'CN007', 'registry_entity_types_change_only_at_migrate', 'no thirteenth type is added');
SELECT concord_test.throws_rule(
    $$TRUNCATE concord.registry_entity_types CASCADE$$,
    'CN007', 'registry_entity_types_are_not_truncated', 'the types are not truncated');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
