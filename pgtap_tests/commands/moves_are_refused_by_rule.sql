-- Refusals of the command API and of the commands guard, each by its rule:
-- a move is repeated only by its actor and with the same outcome (spec 11
-- replays); a logical failure is not retried (spec 32); compensate_then_stop
-- never skips compensation (spec 30); an outcome changes only with a status;
-- a submission's path is the state machine's; an idempotency key is short; a
-- command type's policy_checks name registered policies; an error class is
-- known.
BEGIN;
SELECT plan(10);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_moves", "sync_allowed": true}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_moves_typed", "sync_allowed": true,
          "payload_schema": {"type": "object", "properties": {"n": {"type": "integer"}}}}');
END $$;

SELECT concord_test.command_at('t_moves', 'running', 'done') IS NOT NULL AS fixture \gset
SELECT concord_test.move_as_run(concord_test.id('done'), 'succeeded', 'worker', result => '{"n": 1}') AS fixture \gset

SELECT concord_test.throws_rule(
    format($$SELECT concord_test.move_as_run(%L, 'succeeded', 'somebody_else')$$, concord_test.id('done')),
    'CN001', 'a_move_is_repeated_only_by_its_actor');

SELECT concord_test.throws_rule(
    format($$SELECT concord_test.move_as_run(%L, 'succeeded', 'worker', result => '{"n": 2}')$$,
           concord_test.id('done')),
    'CN002', 'a_reached_status_keeps_its_outcome');

SELECT is(concord_test.submit('invalid', 't_moves_typed', '{"n": "one"}'), 'failed',
          'fixture: a command with an invalid payload failed with validation_error');
SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'queued', 'operator')$$, concord_test.id('invalid')),
    'CN001', 'a_logical_failure_is_not_retried');

SELECT concord_test.command_at('t_moves', 'running', 'stopping', 'compensate_then_stop') IS NOT NULL AS fixture \gset
SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET status = 'cancelled' WHERE command_id = %L$$, concord_test.id('stopping')),
    'CN001', 'compensate_then_stop_goes_through_cancelling');

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET result = '{"forged": true}' WHERE command_id = %L$$,
           concord_test.id('stopping')),
    'CN007', 'outcome_changes_only_with_status');

SELECT concord_test.throws_rule(
    $$SELECT concord.submit_command('t_moves', '{}', 'alice', idempotency_key => repeat('k', 1001))$$,
    'CN008', 'idempotency_key_has_at_most_1000_characters');

SELECT concord_test.throws_rule(
    $$INSERT INTO concord.command_types (command_type, name, policy_checks)
      VALUES ('t_moves_policed', 'policed', '{no_such_policy}')$$,
    'CN005', 'policy_checks_name_registered_policies');

SELECT concord_test.throws_rule(
    format($$SELECT concord_test.move_as_run(%L, 'failed', 'worker', error => 'boom', error_class => 'no_such_class')$$,
           concord_test.id('stopping')),
    'CN008', 'error_class_is_known');

-- Without the edge created -> validated, no submission can be born validated.
SET LOCAL session_replication_role = replica;
DELETE FROM concord.command_transitions WHERE from_status = 'created' AND to_status = 'validated';
SET LOCAL session_replication_role = origin;
SELECT concord_test.throws_rule(
    $$SELECT concord.submit_command('t_moves', '{}', 'alice')$$,
    'CN001', 'a_submission_follows_the_state_machine');

SELECT * FROM finish();
ROLLBACK;
