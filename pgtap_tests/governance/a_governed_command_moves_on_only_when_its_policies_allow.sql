-- A governed command moves on only when its latest evaluation allowed
-- (a_governed_command_moves_on_only_when_its_policies_allow), whoever writes;
-- a policy denial is never retried (a_logical_failure_is_not_retried), a
-- retryable failure is.
BEGIN;
SELECT plan(10);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_plain", "sync_allowed": true}');
END $$;

DO $$ BEGIN
    PERFORM concord.register_command_type(
        '{"command_type": "t_ri", "required_inputs": ["a", "b"], "policy_checks": ["required_inputs"]}');
END $$;

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_perm", "policy_checks": ["permission"]}');
END $$;

SELECT is(concord_test.submit('perm_none', 't_perm', '{}', 'bob'), 'failed',
          'permission: no grant -> failed');

DO $$ BEGIN
    PERFORM concord.register_command_type(
        '{"command_type": "t_perm_sync", "sync_allowed": true, "policy_checks": ["permission"]}');
END $$;

-- ===========================================================================
-- Database guards
-- ===========================================================================
SELECT concord_test.command_at('t_perm', 'validated', 'never_evaluated') IS NOT NULL AS fixture \gset

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET status = 'queued' WHERE command_id = %L$$, concord_test.id('never_evaluated')),
    'CN001', 'a_governed_command_moves_on_only_when_its_policies_allow',
    'CN001: a direct UPDATE validated -> queued of a governed command never evaluated'
);

SELECT is(concord_test.submit('guard_input', 't_ri', '{"a": 1}'), 'waiting_for_input', 'fixture: waiting for input');
SELECT concord.transition_command(concord_test.id('guard_input'), 'validated', 'fixture') AS fixture \gset

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET status = 'queued' WHERE command_id = %L$$, concord_test.id('guard_input')),
    'CN001', 'a_governed_command_moves_on_only_when_its_policies_allow',
    'CN001: a direct UPDATE validated -> queued when the latest evaluation was require_input'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord_test.move_as_run(%L, 'running', 'worker')$$, concord_test.id('guard_input')),
    'CN001', 'a_governed_command_moves_on_only_when_its_policies_allow',
    'CN001: transition_command validated -> running when the latest evaluation did not allow'
);

DO $$ BEGIN
    PERFORM concord.grant_command_type('t_perm_sync', 'erin');
END $$;
SELECT is(concord_test.submit('guard_allowed', 't_perm_sync', '{}', 'erin'), 'validated', 'fixture: allowed and validated');

SELECT lives_ok(
    format($$UPDATE concord.commands SET status = 'queued' WHERE command_id = %L$$, concord_test.id('guard_allowed')),
    'a direct UPDATE validated -> queued is allowed when the latest evaluation allowed'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'queued', 'operator')$$, concord_test.id('perm_none')),
    'CN001', 'a_logical_failure_is_not_retried',
    'CN001: a policy_denied failure cannot be retried (failed -> queued)'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET status = 'queued' WHERE command_id = %L$$, concord_test.id('perm_none')),
    'CN001', 'a_logical_failure_is_not_retried',
    'CN001: nor by a direct UPDATE'
);

SELECT concord_test.command_at('t_plain', 'running', 'retryable') IS NOT NULL AS fixture \gset
SELECT concord_test.move_as_run(concord_test.id('retryable'), 'failed', 'worker', 'slow', NULL, 'slow', 'timeout')
    AS fixture \gset

SELECT is(concord.transition_command(concord_test.id('retryable'), 'queued', 'operator'), 'queued',
          'a failure with a retryable error_class (timeout) can be retried');

SELECT * FROM finish();
ROLLBACK;
