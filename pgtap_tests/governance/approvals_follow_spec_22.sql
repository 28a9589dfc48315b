-- Approvals (spec 22, 81.2, 86, 107.3): register_approval_type, approving,
-- rejecting, requesting changes and expiring; who may decide (never the
-- requester, only eligible principals or team members); the guards that hold
-- for direct writes; input requests (provide_input with JSON merge patch);
-- several approvals for one command; pending_approvals and decision_history.
BEGIN;
SELECT plan(102);

-- ===========================================================================
-- register_approval_type
-- ===========================================================================
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

DO $$ BEGIN
    PERFORM concord.register_approval_type('{"name": "at_team", "approver": {"team": "team:travel"}}');
    PERFORM concord.register_approval_type(
        '{"name": "at_cancel", "approver": {"principals": ["ann"]}, "resume": {"on_rejected": "cancel"}}');
    PERFORM concord.register_approval_type(
        '{"name": "at_two", "approver": {"principals": ["ann"]}, "decision_values": ["approved", "rejected"]}');
    PERFORM concord.register_approval_type(
        '{"name": "at_fields", "approver": {"principals": ["ann"]}, "required_fields": ["hotel_name", "total_price"]}');
    PERFORM concord.register_approval_type('{"name": "at_path", "approver": {"path": "$.context.manager"}}');
    PERFORM concord.register_approval_type(
        '{"name": "at_short", "approver": {"principals": ["ann"]}, "expiration": {"default_minutes": 30}}');

    PERFORM concord.register_policy(
        '{"name": "pa_people", "predicate": "$.payload.amount > 100", "decision": "require_approval",
          "approval_type": "at_people", "reasons": ["amount above 100"]}');
    PERFORM concord.register_policy(
        '{"name": "pa_team", "predicate": "true", "decision": "require_approval", "approval_type": "at_team"}');
    PERFORM concord.register_policy(
        '{"name": "pa_cancel", "predicate": "true", "decision": "require_approval", "approval_type": "at_cancel"}');
    PERFORM concord.register_policy(
        '{"name": "pa_two", "predicate": "true", "decision": "require_approval", "approval_type": "at_two"}');
    PERFORM concord.register_policy(
        '{"name": "pa_fields", "predicate": "true", "decision": "require_approval", "approval_type": "at_fields"}');
    PERFORM concord.register_policy(
        '{"name": "pa_path", "predicate": "true", "decision": "require_approval", "approval_type": "at_path"}');
    PERFORM concord.register_policy(
        '{"name": "pa_short", "predicate": "true", "decision": "require_approval", "approval_type": "at_short"}');

    PERFORM concord.register_command_type('{"command_type": "t_people", "policy_checks": ["pa_people"]}');
    PERFORM concord.register_command_type('{"command_type": "t_team", "policy_checks": ["pa_team"]}');
    PERFORM concord.register_command_type('{"command_type": "t_cancel", "policy_checks": ["pa_cancel"]}');
    PERFORM concord.register_command_type('{"command_type": "t_two", "policy_checks": ["pa_two"]}');
    PERFORM concord.register_command_type('{"command_type": "t_fields", "policy_checks": ["pa_fields"]}');
    PERFORM concord.register_command_type('{"command_type": "t_path", "policy_checks": ["pa_path"]}');
    PERFORM concord.register_command_type('{"command_type": "t_short", "policy_checks": ["pa_short"]}');
    PERFORM concord.register_command_type('{"command_type": "t_multi", "policy_checks": ["pa_people", "pa_team"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_schema", "required_inputs": ["name"], "policy_checks": ["required_inputs"],
          "payload_schema": {"type": "object", "properties": {"count": {"type": "integer"}}}}');
    PERFORM concord.add_team_member('team:travel', 'tom');
    PERFORM concord.add_team_member('team:travel', 'req');
END $$;

-- ===========================================================================
-- Approve
-- ===========================================================================
SELECT is(concord_test.submit('approve', 't_people', '{"amount": 500}'), 'waiting_for_approval',
          'a require_approval policy sends the command to waiting_for_approval');

SELECT row_eq(
    $$SELECT status, approval_type, requested_by, eligible_approvers, approver, decision,
             expires_at = created_at + interval '120 minutes',
             evaluation_id = ((concord_test.command('approve')).policy_evaluation ->> 'evaluation_id')::uuid
      FROM concord_test.approval('approve')$$,
    ROW('pending'::text, 'at_people'::text, 'req'::text, '{ann,ben,req}'::text[], 'ann, ben, req'::text, NULL::text,
        true, true),
    'one pending approval is opened for the evaluation, with its approvers and expiry'
);

SELECT is(
    (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys((concord_test.approval('approve')).review_packet) AS k
     WHERE k IN ('action', 'command_type', 'requested_by', 'why', 'data_affected', 'fields', 'triggered_by',
                 'after_approval', 'risk_level', 'expires_at')),
    ARRAY['action', 'after_approval', 'command_type', 'data_affected', 'expires_at', 'fields', 'requested_by',
          'risk_level', 'triggered_by', 'why'],
    'the review packet has action, command_type, requested_by, why, data_affected, fields, triggered_by, '
    'after_approval, risk_level and expires_at'
);

SELECT row_eq(
    $$SELECT review_packet -> 'why', review_packet -> 'triggered_by', review_packet -> 'data_affected'
      FROM concord_test.approval('approve')$$,
    ROW('["amount above 100"]'::jsonb, '["pa_people"]'::jsonb, '{"amount": 500}'::jsonb),
    'the review packet says why, which policy asked, and the data affected'
);

SELECT is(
    (SELECT count(*) FROM concord.domain_events
     WHERE event_type = 'approval_requested' AND target_type = 'approval'
       AND target_id = concord_test.approval_id('approve')::text),
    1::bigint,
    'opening the approval is audited (approval_requested)'
);

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
    format($$SELECT concord.resolve_approval(%L, 'approved', 'mallory')$$, concord_test.approval_id('approve')),
    'CN012', 'the_approver_is_eligible',
    'CN012: someone who is not an eligible approver may not decide'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_approval(%L, 'maybe', 'ann')$$, concord_test.approval_id('approve')),
    'CN008', 'a_decision_is_approved_rejected_or_request_changes',
    'CN008: an unknown decision'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.approvals SET status = 'approved', decision = 'approved', decided_by = 'req'
             WHERE approval_id = %L$$, concord_test.approval_id('approve')),
    'CN012', 'approver_is_not_the_requester',
    'CN012: a direct UPDATE cannot approve for the requester either'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.approvals SET status = 'approved', decision = 'approved', decided_by = 'mallory'
             WHERE approval_id = %L$$, concord_test.approval_id('approve')),
    'CN012', 'the_approver_is_eligible',
    'CN012: nor for an ineligible approver'
);

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

SELECT is(
    concord.resolve_approval(concord_test.approval_id('approve'), 'approved', 'ann', 'looks fine'),
    jsonb_build_object('approval_id', concord_test.approval_id('approve'), 'command_id', concord_test.id('approve'),
                       'status', 'approved', 'command_status', 'queued'),
    'resolve_approval approved returns the approval and the command, now queued'
);

SELECT row_eq(
    $$SELECT status, decision, decided_by, reason, decided_at IS NOT NULL FROM concord_test.approval('approve')$$,
    ROW('approved'::text, 'approved'::text, 'ann'::text, 'looks fine'::text, true),
    'the approval records the decision, who decided, why and when'
);

SELECT is(
    (SELECT array_agg(coalesce(from_status, '-') || '>' || coalesce(to_status, '-') || ':' || event_type
                      ORDER BY event_seq)
     FROM concord.domain_events
     WHERE command_id = concord_test.id('approve')
       AND event_type IN ('approval_resolved', 'command_status_changed')
       AND event_seq > (SELECT max(event_seq) FROM concord.domain_events
                        WHERE command_id = concord_test.id('approve') AND event_type = 'approval_requested')),
    ARRAY['pending>approved:approval_resolved', 'waiting_for_approval>approved:command_status_changed',
          'approved>queued:command_status_changed'],
    'the approval is audited, then the command goes waiting_for_approval -> approved -> queued'
);

SELECT is(
    (SELECT actor FROM concord.domain_events
     WHERE command_id = concord_test.id('approve') AND event_type = 'approval_resolved'),
    'ann',
    'the approval_resolved event names the approver'
);

SELECT is_empty(
    format($$SELECT 1 FROM concord.pending_approvals WHERE approval_id = %L$$, concord_test.approval_id('approve')),
    'pending_approvals no longer lists a decided approval'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_approval(%L, 'rejected', 'ben')$$, concord_test.approval_id('approve')),
    'CN013', 'an_approval_is_decided_once',
    'CN013: an approval already decided cannot be decided again'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.resolve_approval('00000000-0000-0000-0000-000000000000', 'approved', 'ann')$$,
    'CN006', 'the_approval_exists',
    'CN006: an unknown approval'
);

SELECT set_eq(
    format($$SELECT kind || ':' || name || ':' || decision || ':' || actor FROM concord.decision_history
             WHERE command_id = %L$$, concord_test.id('approve')),
    ARRAY['policy:pa_people:require_approval:req', 'approval:at_people:approved:ann'],
    'decision_history holds the policy decision and the approval decision'
);

SELECT is(
    (SELECT reasons FROM concord.decision_history WHERE command_id = concord_test.id('approve') AND kind = 'approval'),
    '["looks fine"]'::jsonb,
    'decision_history keeps the approver''s reason'
);

-- ===========================================================================
-- Reject
-- ===========================================================================
SELECT is(concord_test.submit('reject', 't_people', '{"amount": 500}'), 'waiting_for_approval', 'fixture: to reject');

SELECT is(
    concord.resolve_approval(concord_test.approval_id('reject'), 'rejected', 'ben', 'too expensive') ->> 'command_status',
    'failed',
    'a rejection fails the command'
);

SELECT row_eq(
    $$SELECT status, error_class, error LIKE '%rejected by ben%', completed_at IS NOT NULL FROM concord_test.command('reject')$$,
    ROW('failed'::text, 'approval_rejected'::text, true, true),
    'the rejected command failed with error_class approval_rejected'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'queued', 'operator')$$, concord_test.id('reject')),
    'CN001', 'a_logical_failure_is_not_retried',
    'CN001: a rejected command cannot be retried'
);

SELECT is(concord_test.submit('reject_cancel', 't_cancel', '{}'), 'waiting_for_approval', 'fixture: on_rejected cancel');

SELECT is(
    concord.resolve_approval(concord_test.approval_id('reject_cancel'), 'rejected', 'ann') ->> 'command_status',
    'cancelled',
    'a rejection with resume.on_rejected = cancel cancels the command'
);

SELECT is((concord_test.command('reject_cancel')).error_class, 'approval_rejected',
          'the cancelled command keeps error_class approval_rejected');

-- ===========================================================================
-- Request changes, then input
-- ===========================================================================
SELECT is(concord_test.submit('changes', 't_people', '{"amount": 500}'), 'waiting_for_approval', 'fixture: to change');

CREATE TEMP TABLE first_changes AS SELECT approval_id, evaluation_id FROM concord_test.approval('changes');

SELECT is(
    concord.resolve_approval(concord_test.approval_id('changes'), 'request_changes', 'ann', 'add a note')
        ->> 'command_status',
    'waiting_for_input',
    'request_changes sends the command back to waiting_for_input'
);

SELECT is((SELECT status FROM concord.approvals WHERE approval_id = (SELECT approval_id FROM first_changes)),
          'changes_requested', 'the approval is changes_requested');

SELECT concord_test.throws_rule(
    format($$SELECT concord.provide_input(%L, '{"note": "x"}', 'ann')$$, concord_test.id('changes')),
    'CN012', 'only_the_requester_provides_input',
    'CN012: only the requester may provide input'
);

SELECT row_eq(
    $$SELECT r ->> 'status', r ->> 'decision', jsonb_array_length(r -> 'approval_ids')
      FROM concord.provide_input(concord_test.id('changes'), '{"note": "for the board"}', 'req') AS r$$,
    ROW('waiting_for_approval'::text, 'require_approval'::text, 1),
    'provide_input by the requester merges the input, re-evaluates and opens a new approval'
);

SELECT row_eq(
    $$SELECT a.status, a.approval_id <> f.approval_id, a.evaluation_id <> f.evaluation_id, a.request_payload
      FROM concord_test.approval('changes') AS a, first_changes AS f$$,
    ROW('pending'::text, true, true, '{"note": "for the board", "amount": 500}'::jsonb),
    'the new approval belongs to the new evaluation and carries the new payload'
);

SELECT is(
    (SELECT count(*) FROM concord.domain_events
     WHERE command_id = concord_test.id('changes') AND event_type = 'input_provided' AND actor = 'req'),
    1::bigint,
    'the input is audited (input_provided)'
);

-- ===========================================================================
-- Spec 81.2: an approval needs its required fields; else input first
-- ===========================================================================
SELECT is(concord_test.submit('fields', 't_fields', '{"hotel_name": "Ritz"}'), 'waiting_for_input',
          'an approval whose required fields are missing turns into waiting_for_input');

SELECT row_eq(
    $$SELECT policy_evaluation ->> 'decision', policy_evaluation -> 'missing_fields',
             (SELECT count(*) FROM concord.approvals WHERE command_id = concord_test.id('fields'))
      FROM concord_test.command('fields')$$,
    ROW('require_input'::text, '["total_price"]'::jsonb, 0::bigint),
    'the evaluation is require_input with the approval type''s missing field, and no approval is opened'
);

SELECT is(
    concord.provide_input(concord_test.id('fields'), '{"total_price": 900}', 'req') ->> 'status',
    'waiting_for_approval',
    'once the fields are provided the approval is opened'
);

SELECT is((concord_test.approval('fields')).review_packet -> 'fields', '{"hotel_name": "Ritz", "total_price": 900}'::jsonb,
          'the review packet shows the approval type''s required fields and their values');

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

-- ===========================================================================
-- provide_input: errors and merge patch semantics
-- ===========================================================================
SELECT is(concord_test.submit('input', 't_schema', '{"count": 1, "drop": "x", "meta": {"a": 1, "b": 2}}'),
          'waiting_for_input', 'fixture: a required input is missing');

SELECT concord_test.throws_rule(
    format($$SELECT concord.provide_input(%L, '[1, 2]', 'req')$$, concord_test.id('input')),
    'CN008', 'payload_patch_is_a_json_object',
    'CN008: a patch that is not an object'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.provide_input(%L, '{"name": "n", "count": "many"}', 'req')$$, concord_test.id('input')),
    'CN005', 'provided_input_leaves_a_valid_payload',
    'CN005: a patch that makes the payload invalid against the schema'
);

SELECT row_eq(
    $$SELECT status, payload FROM concord_test.command('input')$$,
    ROW('waiting_for_input'::text, '{"count": 1, "drop": "x", "meta": {"a": 1, "b": 2}}'::jsonb),
    'a refused patch changes nothing'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.provide_input(%L, '{"name": "n"}', 'req')$$, concord_test.id('approve')),
    'CN011', 'input_is_provided_only_while_waiting_for_input',
    'CN011: provide_input for a command that is not waiting_for_input'
);

SELECT is(
    concord.provide_input(concord_test.id('input'), '{"name": "n", "drop": null, "meta": {"a": null, "c": {"d": 4}}}',
                          'req') ->> 'status',
    'queued',
    'provide_input completes the input and the command is re-evaluated and queued'
);

SELECT is(
    (concord_test.command('input')).payload,
    '{"count": 1, "name": "n", "meta": {"b": 2, "c": {"d": 4}}}'::jsonb,
    'the patch is a JSON merge patch: null removes a key, nested objects merge'
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

-- ===========================================================================
-- Expiry
-- ===========================================================================
SELECT is(concord_test.submit('short', 't_short', '{}'), 'waiting_for_approval', 'fixture: expires in 30 minutes');

SELECT is(concord.expire_approvals(now() + interval '10 minutes'), 0,
          'expire_approvals expires nothing before expires_at');

SELECT is(concord.expire_approvals(now() + interval '1 hour'), 1,
          'expire_approvals expires the approval pending past expires_at and returns the count');

SELECT row_eq(
    $$SELECT a.status, c.status, c.error_class FROM concord_test.approval('short') AS a, concord_test.command('short') AS c$$,
    ROW('expired'::text, 'expired'::text, 'approval_expired'::text),
    'the approval is expired, and its command expired with error_class approval_expired'
);

SELECT is(concord.expire_approvals(now() + interval '1 hour'), 0, 'a second expire_approvals returns 0 (idempotent)');

SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_approval(%L, 'approved', 'ann')$$, concord_test.approval_id('short')),
    'CN013', 'an_approval_is_decided_once',
    'CN013: an expired approval cannot be decided'
);

SELECT is(
    (SELECT kind || ':' || decision || ':' || actor FROM concord.decision_history
     WHERE command_id = concord_test.id('short') AND kind = 'approval'),
    'approval:expired:concord:expire_approvals',
    'decision_history shows the expiry and who expired it'
);

SELECT is(
    (SELECT count(*) FROM concord.domain_events
     WHERE command_id = concord_test.id('short') AND event_type = 'approval_expired'),
    1::bigint,
    'the expiry is audited once (approval_expired)'
);

-- ===========================================================================
-- Expiry at resolution time (CN014): an approval whose expires_at is now
-- ===========================================================================
-- No approval can be opened already expired (the insert trigger refuses it):
-- forge one with triggers off, as time passing would make it.
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.approvals (command_id, evaluation_id, approval_type, requested_by, approver,
                                            eligible_approvers, expires_at)
             VALUES (%L, gen_random_uuid(), 'at_people', 'req', 'ann', '{ann}', now())$$, concord_test.id('two')),
    'CN011', 'an_approval_answers_the_latest_evaluation',
    'an approval not asked for by the latest evaluation (or already expired) cannot be inserted'
);
SET LOCAL session_replication_role = replica;
WITH a AS (
    INSERT INTO concord.approvals (command_id, evaluation_id, approval_type, requested_by, approver,
                                   eligible_approvers, expires_at)
    VALUES (concord_test.id('two'), gen_random_uuid(), 'at_people', 'req', 'ann', '{ann}', now())
    RETURNING approval_id
)
INSERT INTO concord_test.fixture (label, id) SELECT 'stale', a.approval_id FROM a;
SET LOCAL session_replication_role = origin;

SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_approval(%L, 'approved', 'ann')$$, concord_test.id('stale')),
    'CN014', 'an_expired_approval_is_not_decided',
    'CN014: an approval cannot be decided at or after its expires_at, even before expire_approvals ran'
);

SELECT is(concord.expire_approvals(now() + interval '2 days') >= 1, true,
          'expire_approvals(now() + 2 days) expires the longer-lived approvals too');

SELECT row_eq(
    format($$SELECT a.status, c.status, c.error_class FROM concord.approvals AS a, concord_test.command('two') AS c
             WHERE a.approval_id = %L$$, concord_test.id('stale')),
    ROW('expired'::text, 'expired'::text, 'approval_expired'::text),
    'the waiting command expired with its earliest approval'
);

SELECT * FROM finish();
ROLLBACK;
