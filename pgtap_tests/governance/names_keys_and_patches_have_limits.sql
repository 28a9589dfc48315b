-- Names, idempotency keys and input patches have limits
-- (a_name_has_at_most_256_characters, idempotency_key_has_at_most_1000_characters,
-- payload_patch_is_not_nested_too_deeply).
BEGIN;
SELECT plan(4);

DO $$ BEGIN
    PERFORM concord.add_team_member('team:fin', 'ann');
    PERFORM concord.add_team_member('team:fin', 'req');
    PERFORM concord.register_approval_type('{"name": "h_team", "approver": {"team": "team:fin"}}');
    PERFORM concord.register_policy(
        '{"name": "h_big", "predicate": "$.payload.price > $limit", "vars": {"limit": 500},
          "decision": "require_approval", "approval_type": "h_team"}');
    PERFORM concord.register_command_type(
        '{"command_type": "h_book", "async_required": true, "policy_checks": ["h_big"],
          "required_inputs": ["price"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "h_input", "async_required": true, "policy_checks": ["required_inputs"],
          "required_inputs": ["price"]}');
END $$;

SELECT concord_test.throws_rule(
    format($$SELECT concord.add_team_member(%L, 'ann')$$, repeat('x', 300)),
    'CN008', 'a_name_has_at_most_256_characters', 'a team name longer than 256 characters is refused'
);
SELECT concord_test.throws_rule(
    format($$SELECT concord.submit_command('h_input', '{"price": 1}', 'req', idempotency_key => %L)$$,
           repeat('k', 6000)),
    'CN008', 'idempotency_key_has_at_most_1000_characters', 'an idempotency key longer than 1000 characters is refused'
);
SELECT is(concord_test.submit('deep', 'h_input', '{}'), 'waiting_for_input', 'fixture: waiting for input');
SELECT concord_test.throws_rule(
    format($$SELECT concord.provide_input(%L, %L::jsonb, 'req')$$, concord_test.id('deep'),
           repeat('{"a": ', 1000) || '1' || repeat('}', 1000)),
    'CN008', 'payload_patch_is_not_nested_too_deeply', 'a patch nested too deeply to merge is refused with CN008, nothing changed'
);

SELECT * FROM finish();
ROLLBACK;
