-- Only eligible principals decide an approval (the_approver_is_eligible):
-- named approvers, members of the approving team while they are members, or
-- the principal found at the approver path.
BEGIN;
SELECT plan(15);

DO $$ BEGIN
    PERFORM concord_test.approval_fixtures();
END $$;

SELECT is(concord_test.submit('approve', 't_people', '{"amount": 500}'), 'waiting_for_approval',
          'a require_approval policy sends the command to waiting_for_approval');

SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_approval(%L, 'approved', 'mallory')$$, concord_test.approval_id('approve')),
    'CN012', 'the_approver_is_eligible',
    'CN012: someone who is not an eligible approver may not decide'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.approvals SET status = 'approved', decision = 'approved', decided_by = 'mallory'
             WHERE approval_id = %L$$, concord_test.approval_id('approve')),
    'CN012', 'the_approver_is_eligible',
    'CN012: nor for an ineligible approver'
);

-- ===========================================================================
-- Team approvers
-- ===========================================================================
SELECT is(concord_test.submit('team', 't_team', '{}'), 'waiting_for_approval', 'fixture: team approval');

SELECT set_eq(
    format($$SELECT approver FROM concord.pending_approvals WHERE approval_id = %L$$, concord_test.approval_id('team')),
    ARRAY['tom'],
    'pending_approvals lists the team''s members, not the requester who is a member too'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_approval(%L, 'approved', 'req')$$, concord_test.approval_id('team')),
    'CN012', 'approver_is_not_the_requester',
    'CN012: the requester may not approve through team membership'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_approval(%L, 'approved', 'nina')$$, concord_test.approval_id('team')),
    'CN012', 'the_approver_is_eligible',
    'CN012: a non-member may not decide a team approval'
);

SELECT concord.remove_team_member('team:travel', 'tom') AS fixture \gset

SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_approval(%L, 'approved', 'tom')$$, concord_test.approval_id('team')),
    'CN012', 'the_approver_is_eligible',
    'CN012: removing the member revokes the right to decide'
);

SELECT concord.add_team_member('team:travel', 'tom') AS fixture \gset

SELECT is(
    concord.resolve_approval(concord_test.approval_id('team'), 'approved', 'tom') ->> 'command_status',
    'queued',
    'a team member may decide the team''s approval'
);

-- path approvers
SELECT is(concord_test.submit('path', 't_path', '{}', 'req', '{"manager": "mia"}'), 'waiting_for_approval',
          'a path approver that resolves opens the approval');
SELECT is((concord_test.approval('path')).eligible_approvers, '{mia}'::text[], 'the approver is found at the path');
SELECT is(concord_test.submit('path_empty', 't_path', '{}'), 'failed',
          'a context path approver that finds nobody denies: the context cannot change any more');
DO $$ BEGIN
    PERFORM concord.register_approval_type(
        '{"name": "at_ppath", "approver": {"path": "$.payload.approvers.manager"}}');
    PERFORM concord.register_policy(
        '{"name": "pa_ppath", "predicate": "true", "decision": "require_approval", "approval_type": "at_ppath"}');
    PERFORM concord.register_command_type('{"command_type": "t_ppath", "policy_checks": ["pa_ppath"]}');
END $$;
SELECT is(concord_test.submit('ppath_empty', 't_ppath', '{}'), 'waiting_for_input',
          'a payload path approver that finds nobody asks the requester for it');
SELECT is((concord_test.command('ppath_empty')).policy_evaluation -> 'missing_fields', '["approvers.manager"]'::jsonb,
          'the missing field is the path inside the payload');
SELECT is(concord.provide_input(concord_test.id('ppath_empty'), '{"approvers": {"manager": "mia"}}', 'req') ->> 'status',
          'waiting_for_approval', 'once the requester names the approver, the approval opens');

SELECT * FROM finish();
ROLLBACK;
