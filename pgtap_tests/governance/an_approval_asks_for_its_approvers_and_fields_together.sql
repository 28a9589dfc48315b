-- An approval asks for what it needs up front (spec 22, 81.2): a [*] path
-- finds every approver, an empty one asks for input; one input request names
-- the fields and the approver the coming approval needs; each review packet
-- gives the reasons of the policies that asked for it.
BEGIN;
SELECT plan(11);

DO $$ BEGIN
    PERFORM concord.register_approval_type('{"name": "h_many", "approver": {"path": "$.payload.approvers[*]"}}');
    PERFORM concord.register_policy(
        '{"name": "h_many", "predicate": "true", "decision": "require_approval", "approval_type": "h_many"}');
    PERFORM concord.register_command_type('{"command_type": "h_many_t", "policy_checks": ["h_many"]}');
END $$;
SELECT is(concord_test.submit('m1', 'h_many_t', '{"approvers": ["req", "bob", "cy"]}'), 'waiting_for_approval',
          'a path with [*] finds every approver, the requester among them');
SELECT is(
    (SELECT a.eligible_approvers FROM concord.approvals AS a WHERE a.command_id = concord_test.id('m1')),
    '{bob,cy,req}'::text[], 'all of them are eligible (the requester still may not decide)'
);
SELECT is(concord_test.submit('m2', 'h_many_t', '{}'), 'waiting_for_input', 'an empty path asks for input');
SELECT is((SELECT c.policy_evaluation -> 'missing_fields' FROM concord.commands AS c
           WHERE c.command_id = concord_test.id('m2')), '["approvers"]'::jsonb,
          'the missing field is the payload field, without the array step');

DO $$ BEGIN
    PERFORM concord.register_approval_type('{"name": "h_pa", "approvers": ["ann"]}');
    PERFORM concord.register_approval_type('{"name": "h_pb", "approvers": ["bob"]}');
    PERFORM concord.register_policy('{"name": "h_pa", "predicate": "true", "decision": "require_approval",
                                      "approval_type": "h_pa", "reasons": ["reason A"]}');
    PERFORM concord.register_policy('{"name": "h_pb", "predicate": "true", "decision": "require_approval",
                                      "approval_type": "h_pb", "reasons": ["reason B"]}');
    PERFORM concord.register_command_type('{"command_type": "h_two", "policy_checks": ["h_pa", "h_pb"]}');
END $$;
SELECT is(concord_test.submit('two', 'h_two', '{}'), 'waiting_for_approval', 'fixture: two approvals');
SELECT is(
    (SELECT jsonb_object_agg(a.approval_type, a.review_packet -> 'why') FROM concord.approvals AS a
     WHERE a.command_id = concord_test.id('two')),
    '{"h_pa": ["reason A"], "h_pb": ["reason B"]}'::jsonb,
    'each review packet gives the reasons of the policies that asked for its approval'
);

DO $$ BEGIN
    PERFORM concord.register_approval_type('{"name": "h_fields", "approvers": ["ann"], "required_fields": ["b"]}');
    PERFORM concord.register_policy('{"name": "h_fields", "predicate": "true", "decision": "require_approval",
                                      "approval_type": "h_fields"}');
    PERFORM concord.register_command_type('{"command_type": "h_once", "required_inputs": ["a"],
                                            "policy_checks": ["required_inputs", "h_fields"]}');
END $$;
SELECT is(concord_test.submit('once', 'h_once', '{}'), 'waiting_for_input', 'fixture: input missing');
SELECT is(
    (SELECT c.policy_evaluation -> 'missing_fields' FROM concord.commands AS c
     WHERE c.command_id = concord_test.id('once')),
    '["a", "b"]'::jsonb,
    'the input request names the fields the coming approval needs as well: one round, not two'
);

SELECT is(
    concord.plan_command(concord_test.id('once')) ->> 'execution_mode', 'approval_gated_async',
    'the plan of a command waiting for input already shows the approval gate to come'
);

DO $$ BEGIN
    PERFORM concord.register_approval_type('{"name": "h_named_by", "approver": {"path": "$.payload.approver"}}');
    PERFORM concord.register_policy('{"name": "h_named_by", "predicate": "true", "decision": "require_approval",
                                      "approval_type": "h_named_by"}');
    PERFORM concord.register_command_type('{"command_type": "h_once2", "required_inputs": ["a"],
                                            "policy_checks": ["required_inputs", "h_named_by"]}');
END $$;
SELECT is(concord_test.submit('once2', 'h_once2', '{}'), 'waiting_for_input', 'fixture');
SELECT is(
    (SELECT c.policy_evaluation -> 'missing_fields' FROM concord.commands AS c
     WHERE c.command_id = concord_test.id('once2')),
    '["a", "approver"]'::jsonb, 'the approver a payload path will need is asked for in the same round'
);

SELECT * FROM finish();
ROLLBACK;
