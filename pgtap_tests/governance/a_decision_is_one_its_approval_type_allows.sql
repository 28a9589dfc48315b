-- A decision is approved, rejected or request_changes, and one its approval
-- type allows (a_decision_is_approved_rejected_or_request_changes,
-- the_decision_is_one_its_approval_type_allows); a refused decision leaves the
-- approval pending.
BEGIN;
SELECT plan(5);

DO $$ BEGIN
    PERFORM concord_test.approval_fixtures();
END $$;

SELECT is(concord_test.submit('approve', 't_people', '{"amount": 500}'), 'waiting_for_approval',
          'a require_approval policy sends the command to waiting_for_approval');

SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_approval(%L, 'maybe', 'ann')$$, concord_test.approval_id('approve')),
    'CN008', 'a_decision_is_approved_rejected_or_request_changes',
    'CN008: an unknown decision'
);

-- ===========================================================================
-- Decision values of the type
-- ===========================================================================
SELECT is(concord_test.submit('two', 't_two', '{}'), 'waiting_for_approval', 'fixture: approved/rejected only');

SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_approval(%L, 'request_changes', 'ann')$$, concord_test.approval_id('two')),
    'CN008', 'the_decision_is_one_its_approval_type_allows',
    'CN008: request_changes is refused by a type whose decision_values are approved and rejected'
);

SELECT is((concord_test.approval('two')).status, 'pending', 'the refused decision leaves the approval pending');

SELECT * FROM finish();
ROLLBACK;
