-- A team is not a person (the_approver_is_eligible): a team's own name, or a
-- team nested in it, never decides; a member who requested the command may
-- not decide either (approver_is_not_the_requester).
BEGIN;
SELECT plan(7);

DO $$ BEGIN
    PERFORM concord.add_team_member('team:fin', 'ann');
    PERFORM concord.add_team_member('team:fin', 'req');
    PERFORM concord.register_approval_type('{"name": "h_team", "approver": {"team": "team:fin"}}');
    PERFORM concord.register_policy(
        '{"name": "h_big", "predicate": "$.payload.price > $limit", "vars": {"limit": 500},
          "decision": "require_approval", "approval_type": "h_team"}');
    PERFORM concord.register_command_type(
        '{"command_type": "h_book", "async_required": true, "policy_checks": ["h_big"],
          "required_inputs": ["price"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "h_input", "async_required": true, "policy_checks": ["required_inputs"],
          "required_inputs": ["price"]}');
END $$;

-- ===========================================================================
-- A team is not a person
-- ===========================================================================
SELECT is(concord_test.submit('team', 'h_book', '{"price": 900}', 'req'), 'waiting_for_approval', 'fixture');
SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_approval(%L, 'approved', 'team:fin')$$, concord_test.approval_id('team')),
    'CN012', 'the_approver_is_eligible',
    'the approving team''s own name may not decide: only its members'
);
SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_approval(%L, 'approved', 'req')$$, concord_test.approval_id('team')),
    'CN012', 'approver_is_not_the_requester',
    'a member who requested the command may not decide either'
);

SELECT lives_ok($$SELECT concord.add_team_member('team:fin', 'team:ops');
                  SELECT concord.add_team_member('team:ops', 'olga')$$, 'a team nested in the approving team');
DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "h_book", "async_required": true,
                                            "policy_checks": ["h_big"], "required_inputs": ["price"]}');
END $$;
SELECT is(concord_test.submit('nested', 'h_book', '{"price": 900}'), 'waiting_for_approval', 'fixture');
SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_approval(%L, 'approved', 'team:ops')$$, concord_test.approval_id('nested')),
    'CN012', 'the_approver_is_eligible',
    'a team that is a member is still not a person'
);
SELECT is(
    (SELECT count(*)::integer FROM concord.pending_approvals AS p
     WHERE p.approval_id = concord_test.approval_id('nested') AND p.approver = 'team:ops'),
    0, 'pending_approvals does not list it'
);

SELECT * FROM finish();
ROLLBACK;
