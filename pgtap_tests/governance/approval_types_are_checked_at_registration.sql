-- Approval types are checked at registration (spec 22;
-- approval_type_spec_is_valid): one way to name approvers, known fields,
-- decision values that include rejected, a known resume, a positive expiry;
-- every problem is listed.
BEGIN;
SELECT plan(7);

SELECT is(
    concord.register_approval_type(
        '{"name": "at_people", "version": "1.0.0", "description": "named approvers",
          "approver": {"principals": ["ann", "ben", "req"]}, "expiration": {"default_minutes": 120},
          "decision_values": ["approved", "rejected", "request_changes"],
          "resume": {"on_approved": "continue_workflow", "on_rejected": "fail", "on_request_changes": "request_input"}}'),
    'at_people',
    'register_approval_type registers a valid spec and returns its name'
);

SELECT row_eq(
    $$SELECT approver_principals, approver_team, default_expiry_minutes, decision_values, on_rejected
      FROM concord.approval_types WHERE name = 'at_people'$$,
    ROW('{ann,ben,req}'::text[], NULL::text, 120, '{approved,rejected,request_changes}'::text[], 'fail'::text),
    'the approval type is stored with its approvers, expiry, decision values and resume'
);

SELECT throws_ok(
    $$SELECT concord.register_approval_type(
        '{"name": "at_bad", "decision_values": ["approved", "maybe"], "approver": {"principals": ["ann"], "team": "t"},
          "expiration": {"default_minutes": 0}, "colour": "red"}')$$,
    'CN005', 'invalid approval type spec: 4 problem(s)',
    'CN005: a bad approval type spec is refused with the count of its problems'
);

SELECT matches(
    concord_test.error_detail(
        $$SELECT concord.register_approval_type(
            '{"name": "at_bad", "decision_values": ["approved", "maybe"], "approver": {"principals": ["ann"], "team": "t"},
              "expiration": {"default_minutes": 0}, "colour": "red"}')$$),
    '(?s)^- .*approver must have exactly one.*\n- .*unknown field colour.*\n- .*decision_values.*\n- .*expiration.default_minutes',
    'the DETAIL lists every problem: two approver ways, unknown field, bad decision_values, bad expiration'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_approval_type('{"name": "at_noapprover"}')$$,
    'CN005', 'approval_type_spec_is_valid',
    'CN005: an approval type needs an approver'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_approval_type('{"name": "at_nrej", "approver": {"team": "t"}, "decision_values": ["approved"]}')$$,
    'CN005', 'approval_type_spec_is_valid',
    'CN005: decision_values must include rejected'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_approval_type('{"name": "at_resume", "approver": {"team": "t"}, "resume": {"on_rejected": "retry"}}')$$,
    'CN005', 'approval_type_spec_is_valid',
    'CN005: resume.on_rejected must be fail, fail_or_replan or cancel'
);

SELECT * FROM finish();
ROLLBACK;
