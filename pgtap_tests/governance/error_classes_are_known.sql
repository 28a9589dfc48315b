-- Error classes come from the taxonomy (spec 32; error_class_is_known): four
-- retryable classes, the contract's logical ones, and no unknown class on a
-- command or an effect, through the API or written directly.
BEGIN;
SELECT plan(7);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_plain", "sync_allowed": true}');
END $$;

-- ===========================================================================
-- Error taxonomy
-- ===========================================================================
SELECT set_eq(
    $$SELECT error_class FROM concord.error_classes WHERE retryable$$,
    ARRAY['transient_connector_error', 'rate_limited', 'timeout', 'temporary_database_error'],
    'the retryable error classes are the four of the contract'
);

SELECT set_has(
    $$SELECT error_class FROM concord.error_classes WHERE NOT retryable$$,
    $$VALUES ('validation_error'), ('policy_denied'), ('approval_rejected'), ('approval_expired'),
             ('permission_denied'), ('malformed_payload'), ('dependency_failed'), ('cancelled')$$,
    'the non-retryable error classes of the contract are seeded'
);

SELECT concord_test.command_at('t_plain', 'running', 'bad_class') IS NOT NULL AS fixture \gset

SELECT concord_test.throws_rule(
    format($$SELECT concord_test.move_as_run(%L, 'failed', 'worker', 'x', NULL, 'x', 'no_such_class')$$,
           concord_test.id('bad_class')),
    'CN008', 'error_class_is_known',
    'CN008: an unknown error_class via transition_command is refused'
);

-- the owner writes directly, naming the command's run (as only the owner can)
SELECT set_config('concord.worker_run', concord_test.workflow_of('bad_class'), true) IS NOT NULL AS fixture \gset
SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET status = 'failed', error = 'x', error_class = 'no_such_class'
             WHERE command_id = %L$$, concord_test.id('bad_class')),
    '23503', 'commands_error_class_is_known',
    'an unknown error_class written directly on a command is refused (foreign_key_violation)'
);

INSERT INTO concord_test.fixture
SELECT 'effect', concord.plan_effect(concord_test.id('bad_class'), 'email.send', '{}');
SELECT concord.start_effect(concord_test.id('effect'), concord_test.workflow_of('bad_class')) AS fixture \gset

SELECT concord_test.throws_rule(
    format($$SELECT concord.fail_effect(%L, 'x', 'no_such_class')$$, concord_test.id('effect')),
    'CN008', 'error_class_is_known',
    'CN008: an unknown error_class via fail_effect is refused'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.domain_effects SET status = 'failed', error = 'x', error_class = 'no_such_class'
             WHERE domain_effect_id = %L$$, concord_test.id('effect')),
    '23503', 'domain_effects_error_class_is_known',
    'an unknown error_class written directly on an effect is refused (foreign_key_violation)'
);
SELECT set_config('concord.worker_run', '', true) IS NOT NULL AS fixture \gset

SELECT is(concord.fail_effect(concord_test.id('effect'), 'slow', 'timeout'), 'failed',
          'fail_effect with a known error_class works');

SELECT * FROM finish();
ROLLBACK;
