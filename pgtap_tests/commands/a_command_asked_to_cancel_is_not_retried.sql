-- A command someone asked to cancel is never retried
-- (a_command_asked_to_cancel_is_not_retried, spec 30).
BEGIN;
SELECT plan(4);

\ir ../lib/kernel_fixtures.sql

-- ===========================================================================
-- 4. A command someone asked to cancel is never retried
-- ===========================================================================
SELECT concord_test.command_at('t_hard', 'running', 'asked_to_cancel') IS NOT NULL AS fixture \gset

SELECT is(
    concord.cancel_command(concord_test.id('asked_to_cancel'), 'operator', 'undo', 'compensate_then_stop')
    || ' > ' || concord_test.move_as_run(concord_test.id('asked_to_cancel'), 'compensating', 'worker')
    || ' > ' || concord_test.move_as_run(concord_test.id('asked_to_cancel'), 'failed', 'worker', 'undo broke'),
    'cancelling > compensating > failed',
    'fixture: running -> cancel_command(compensate_then_stop) -> cancelling -> compensating -> failed'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'queued', 'worker')$$, concord_test.id('asked_to_cancel')),
    'CN001', 'a_command_asked_to_cancel_is_not_retried',
    'CN001: a failed command whose cancellation was requested cannot be retried (failed -> queued)'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET status = 'queued' WHERE command_id = %L$$,
           concord_test.id('asked_to_cancel')),
    'CN001', 'a_command_asked_to_cancel_is_not_retried',
    'CN001: nor by a direct UPDATE of the owner'
);

SELECT concord_test.command_at('t_hard', 'failed', 'plain_failure') IS NOT NULL AS fixture \gset

SELECT is(
    concord.transition_command(concord_test.id('plain_failure'), 'queued', 'worker'),
    'queued',
    'control: a failed command nobody asked to cancel can still be retried'
);

SELECT * FROM finish();
ROLLBACK;
