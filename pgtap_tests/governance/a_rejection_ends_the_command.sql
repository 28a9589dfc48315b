-- A rejection ends the command (spec 22): failed with approval_rejected and
-- never retried, or cancelled when the type's resume.on_rejected says cancel.
BEGIN;
SELECT plan(7);

DO $$ BEGIN
    PERFORM concord_test.approval_fixtures();
END $$;

-- ===========================================================================
-- Reject
-- ===========================================================================
SELECT is(concord_test.submit('reject', 't_people', '{"amount": 500}'), 'waiting_for_approval', 'fixture: to reject');

SELECT is(
    concord.resolve_approval(concord_test.approval_id('reject'), 'rejected', 'ben', 'too expensive') ->> 'command_status',
    'failed',
    'a rejection fails the command'
);

SELECT row_eq(
    $$SELECT status, error_class, error LIKE '%rejected by ben%', completed_at IS NOT NULL FROM concord_test.command('reject')$$,
    ROW('failed'::text, 'approval_rejected'::text, true, true),
    'the rejected command failed with error_class approval_rejected'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'queued', 'operator')$$, concord_test.id('reject')),
    'CN001', 'a_logical_failure_is_not_retried',
    'CN001: a rejected command cannot be retried'
);

SELECT is(concord_test.submit('reject_cancel', 't_cancel', '{}'), 'waiting_for_approval', 'fixture: on_rejected cancel');

SELECT is(
    concord.resolve_approval(concord_test.approval_id('reject_cancel'), 'rejected', 'ann') ->> 'command_status',
    'cancelled',
    'a rejection with resume.on_rejected = cancel cancels the command'
);

SELECT is((concord_test.command('reject_cancel')).error_class, 'approval_rejected',
          'the cancelled command keeps error_class approval_rejected');

SELECT * FROM finish();
ROLLBACK;
