-- Approvals and plans follow the latest evaluation
-- (an_approval_answers_the_latest_evaluation,
-- a_command_waits_for_approval_only_while_one_is_pending): no approval no
-- evaluation asked for, no wait on closed approvals, no gate once the latest
-- evaluation needs none; a type's policies taken away let its new commands go
-- on, while one already recorded is judged again under the contract it was
-- judged under (a_command_keeps_the_contract_it_was_judged_under).
BEGIN;
SELECT plan(10);

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

SELECT is(concord_test.submit('team', 'h_book', '{"price": 900}', 'req'), 'waiting_for_approval', 'fixture');

-- ===========================================================================
-- Approvals answer the latest evaluation
-- ===========================================================================
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.approvals (command_id, evaluation_id, approval_type, requested_by, approver,
                                            eligible_approvers, expires_at)
             VALUES (%L, gen_random_uuid(), 'h_team', 'req', 'ann', '{ann}', now() + interval '1 day')$$,
           concord_test.id('team')),
    'CN011', 'an_approval_answers_the_latest_evaluation',
    'an approval no evaluation asked for cannot be inserted, even by the owner'
);

-- ===========================================================================
-- Plans follow the latest evaluation; pending_approvals hides expired ones
-- ===========================================================================
SELECT is(concord_test.submit('replan', 'h_book', '{"price": 900}'), 'waiting_for_approval', 'fixture');
SELECT lives_ok(
    format($$SELECT concord.resolve_approval(%L, 'request_changes', 'ann');
             SELECT concord.provide_input(%L, '{"price": 100}', 'req')$$,
           concord_test.approval_id('replan'), concord_test.id('replan')),
    'changes requested, a cheaper price provided'
);
SELECT is(
    concord.plan_command(concord_test.id('replan')) ->> 'execution_mode', 'async',
    'the plan has no approval gate once the latest evaluation needs none'
);

SELECT is(concord_test.submit('stale', 'h_book', '{"price": 900}'), 'waiting_for_approval', 'fixture');
SELECT lives_ok(
    format($$SELECT concord.resolve_approval(%L, 'request_changes', 'ann');
             SELECT concord.transition_command(%L, 'validated', 'mallory')$$,
           concord_test.approval_id('stale'), concord_test.id('stale')),
    'changes requested; moved back to validated by hand'
);
SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'waiting_for_approval', 'mallory')$$, concord_test.id('stale')),
    'CN001', 'a_command_waits_for_approval_only_while_one_is_pending',
    'a command cannot wait again on an evaluation whose approvals are all closed'
);
DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "h_book", "async_required": true,
                                            "required_inputs": ["price"]}');
END $$;
SELECT is(
    concord.evaluate_policies(concord_test.id('stale')) ->> 'status', 'waiting_for_approval',
    'once an administrator takes the type''s policies away, a validated command keeps those of its contract'
);
SELECT is(concord_test.submit('fresh', 'h_book', '{"price": 900}'), 'queued',
          'and a new command, judged under the new version, goes on');

SELECT * FROM finish();
ROLLBACK;
