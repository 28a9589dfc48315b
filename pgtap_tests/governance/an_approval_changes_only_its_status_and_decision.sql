-- An approval changes only its status and decision
-- (an_approval_changes_only_its_status_and_decision) and is never deleted
-- (approvals_are_not_deleted).
BEGIN;
SELECT plan(4);

DO $$ BEGIN
    PERFORM concord_test.approval_fixtures();
END $$;

SELECT is(concord_test.submit('approve', 't_people', '{"amount": 500}'), 'waiting_for_approval',
          'a require_approval policy sends the command to waiting_for_approval');

SELECT concord_test.throws_rule(
    format($$UPDATE concord.approvals SET expires_at = expires_at + interval '1 day' WHERE approval_id = %L$$,
           concord_test.approval_id('approve')),
    'CN007', 'an_approval_changes_only_its_status_and_decision',
    'CN007: an approval''s expires_at is immutable'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.approvals SET eligible_approvers = '{mallory}' WHERE approval_id = %L$$,
           concord_test.approval_id('approve')),
    'CN007', 'an_approval_changes_only_its_status_and_decision',
    'CN007: an approval''s eligible approvers are immutable'
);

SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.approvals WHERE approval_id = %L$$, concord_test.approval_id('approve')),
    'CN007', 'approvals_are_not_deleted',
    'CN007: an approval cannot be deleted'
);

SELECT * FROM finish();
ROLLBACK;
