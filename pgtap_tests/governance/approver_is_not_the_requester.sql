-- The requester never decides their own command's approval
-- (approver_is_not_the_requester): not when listed, not through a team, not
-- by a direct UPDATE; pending_approvals never lists them; an approval only the
-- requester could decide is denied at once.
BEGIN;
SELECT plan(10);

DO $$ BEGIN
    PERFORM concord_test.approval_fixtures();
END $$;

SELECT is(concord_test.submit('approve', 't_people', '{"amount": 500}'), 'waiting_for_approval',
          'a require_approval policy sends the command to waiting_for_approval');

SELECT set_eq(
    format($$SELECT approver FROM concord.pending_approvals WHERE approval_id = %L$$, concord_test.approval_id('approve')),
    ARRAY['ann', 'ben'],
    'pending_approvals lists each eligible approver but never the requester'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_approval(%L, 'approved', 'req')$$, concord_test.approval_id('approve')),
    'CN012', 'approver_is_not_the_requester',
    'CN012: the requester may not approve, even when listed as an approver'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.approvals SET status = 'approved', decision = 'approved', decided_by = 'req'
             WHERE approval_id = %L$$, concord_test.approval_id('approve')),
    'CN012', 'approver_is_not_the_requester',
    'CN012: a direct UPDATE cannot approve for the requester either'
);

SELECT is(concord_test.submit('team', 't_team', '{}'), 'waiting_for_approval', 'fixture: team approval');

SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_approval(%L, 'approved', 'req')$$, concord_test.approval_id('team')),
    'CN012', 'approver_is_not_the_requester',
    'CN012: the requester may not approve through team membership'
);

-- an approval only the requester could decide can never be approved: deny
DO $$ BEGIN
    PERFORM concord.register_approval_type('{"name": "at_self", "approver": {"principals": ["req"]}}');
    PERFORM concord.register_policy(
        '{"name": "pa_self", "predicate": "true", "decision": "require_approval", "approval_type": "at_self"}');
    PERFORM concord.register_command_type('{"command_type": "t_self", "policy_checks": ["pa_self"]}');
END $$;

SELECT is(concord_test.submit('self_only', 't_self', '{}'), 'failed',
          'an approval whose only approver is the requester is denied, not left waiting');
SELECT row_eq(
    $$SELECT error_class, error LIKE '%nobody but the requester req%',
             (SELECT count(*) FROM concord.approvals WHERE command_id = concord_test.id('self_only'))
      FROM concord_test.command('self_only')$$,
    ROW('policy_denied'::text, true, 0::bigint),
    'the denial is policy_denied, says why, and opens no approval'
);
SELECT is(concord_test.submit('self_path', 't_path', '{}', 'req', '{"manager": "req"}'), 'failed',
          'a path approver that resolves to the requester alone is denied too');
SELECT is(concord_test.submit('other_path', 't_path', '{}', 'req', '{"manager": ["req", "mia"]}'), 'waiting_for_approval',
          'a path approver listing the requester and someone else opens the approval');

SELECT * FROM finish();
ROLLBACK;
