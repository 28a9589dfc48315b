-- The support rules every domain leans on, each attacked by name: an audit
-- row names its actor, its event type and a known purpose; an error class has
-- a name; a catalog row keeps its key; a name given to the API is at most 256
-- characters; a runtime spec is a JSON object.
BEGIN;
SELECT plan(7);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_support_rules", "sync_allowed": true}');
END $$;

SELECT concord_test.throws_rule(
    $$INSERT INTO concord.domain_events (purpose, event_type, actor, trace_id) VALUES ('gossip', 'x', 'a', 't')$$,
    '23514', 'purpose_is_known');
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.domain_events (purpose, event_type, actor, trace_id) VALUES ('audit', ' ', 'a', 't')$$,
    '23514', 'event_type_is_not_blank');
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.domain_events (purpose, event_type, actor, trace_id) VALUES ('audit', 'x', ' ', 't')$$,
    '23514', 'actor_is_not_blank');
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.error_classes (error_class, retryable, description) VALUES (' ', false, 'blank')$$,
    '23514', 'error_class_is_not_blank');

SELECT concord_test.throws_rule(
    $$UPDATE concord.command_types SET command_type = 't_support_renamed' WHERE command_type = 't_support_rules'$$,
    'CN007', 'a_catalog_key_is_immutable');
SELECT concord_test.throws_rule(
    $$SELECT concord._require_name('team', repeat('x', 257))$$,
    'CN008', 'a_name_has_at_most_256_characters');
SELECT concord_test.throws_rule(
    $$SELECT concord._require_spec('connector', '[]', '{name}')$$,
    'CN005', 'a_spec_is_a_json_object');

SELECT * FROM finish();
ROLLBACK;
