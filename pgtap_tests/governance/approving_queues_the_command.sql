-- Approving queues the command (spec 22, 86): the approval opened for the
-- evaluation carries its approvers, expiry and review packet; the decision is
-- recorded, audited and shown in decision_history; an approval is decided once
-- (an_approval_is_decided_once) and must exist (the_approval_exists).
BEGIN;
SELECT plan(14);

DO $$ BEGIN
    PERFORM concord_test.approval_fixtures();
END $$;

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

SELECT * FROM finish();
ROLLBACK;
