-- Cancelling a command cancels its pending approvals, each audited.
BEGIN;
SELECT plan(4);

DO $$ BEGIN
    PERFORM concord_test.approval_fixtures();
END $$;

-- ===========================================================================
-- Cancelling a command cancels its pending approvals
-- ===========================================================================
SELECT is(concord_test.submit('cancel', 't_multi', '{"amount": 500}'), 'waiting_for_approval', 'fixture: to cancel');

SELECT is(concord.cancel_command(concord_test.id('cancel'), 'req', 'changed my mind'), 'cancelled',
          'a command waiting for approval is cancelled at once');

SELECT is(
    (SELECT array_agg(DISTINCT status) FROM concord.approvals WHERE command_id = concord_test.id('cancel')),
    ARRAY['cancelled'],
    'its pending approvals are cancelled'
);

SELECT is(
    (SELECT count(*) FROM concord.domain_events
     WHERE command_id = concord_test.id('cancel') AND event_type = 'approval_cancelled'),
    2::bigint,
    'each cancelled approval is audited (approval_cancelled)'
);

SELECT * FROM finish();
ROLLBACK;
