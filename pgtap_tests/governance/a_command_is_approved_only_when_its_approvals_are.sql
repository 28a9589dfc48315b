-- A command is approved only when all its approvals are
-- (a_command_is_approved_only_when_its_approvals_are): one approval per
-- approval type asked for; one rejection fails the command and cancels the
-- others.
BEGIN;
SELECT plan(13);

DO $$ BEGIN
    PERFORM concord_test.approval_fixtures();
END $$;

SELECT is(concord_test.submit('approve', 't_people', '{"amount": 500}'), 'waiting_for_approval',
          'a require_approval policy sends the command to waiting_for_approval');

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET status = 'approved' WHERE command_id = %L$$, concord_test.id('approve')),
    'CN001', 'a_command_is_approved_only_when_its_approvals_are',
    'CN001: a direct UPDATE of the command to approved while its approval is pending'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'approved', 'operator')$$, concord_test.id('approve')),
    'CN001', 'a_command_is_approved_only_when_its_approvals_are',
    'CN001: nor through transition_command'
);

-- ===========================================================================
-- Several approval types for one command
-- ===========================================================================
SELECT is(concord_test.submit('multi', 't_multi', '{"amount": 500}'), 'waiting_for_approval', 'fixture: two approvals');

SELECT is(
    (SELECT array_agg(approval_type ORDER BY approval_type) FROM concord.approvals
     WHERE command_id = concord_test.id('multi')),
    ARRAY['at_people', 'at_team'],
    'two require_approval policies of different types open one approval each'
);

SELECT is(
    concord.resolve_approval(concord_test.approval_id('multi', 'at_people'), 'approved', 'ann') ->> 'command_status',
    'waiting_for_approval',
    'one approval of two: the command still waits'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET status = 'approved' WHERE command_id = %L$$, concord_test.id('multi')),
    'CN001', 'a_command_is_approved_only_when_its_approvals_are',
    'CN001: a direct UPDATE to approved while one of two approvals is pending'
);

SELECT is(
    concord.resolve_approval(concord_test.approval_id('multi', 'at_team'), 'approved', 'tom') ->> 'command_status',
    'queued',
    'both approved: the command is approved and queued'
);

SELECT is(concord_test.submit('multi_reject', 't_multi', '{"amount": 500}'), 'waiting_for_approval', 'fixture: two approvals');

SELECT is(
    concord.resolve_approval(concord_test.approval_id('multi_reject', 'at_team'), 'rejected', 'tom') ->> 'command_status',
    'failed',
    'one rejection of two fails the command'
);

SELECT is((concord_test.approval('multi_reject', 'at_people')).status, 'cancelled',
          'the other pending approval is cancelled');

SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_approval(%L, 'approved', 'ann')$$, concord_test.approval_id('multi_reject', 'at_people')),
    'CN013', 'an_approval_is_decided_once',
    'CN013: a cancelled approval cannot be decided'
);

SELECT set_eq(
    format($$SELECT name || ':' || decision FROM concord.decision_history WHERE command_id = %L AND kind = 'approval'$$,
           concord_test.id('multi_reject')),
    ARRAY['at_team:rejected', 'at_people:cancelled'],
    'decision_history shows the rejection and the cancellation'
);

SELECT * FROM finish();
ROLLBACK;
