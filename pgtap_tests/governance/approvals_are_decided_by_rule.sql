-- Approvals are decided by rule whoever writes (spec 22, 86): each guard of
-- the approvals table refuses a direct write by its rule name, as do the
-- arguments of resolve_approval and expire_approvals. The API keeps within
-- these rules, so each refusal here is a direct UPDATE or INSERT by the owner.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(18);

DO $$ BEGIN
    PERFORM concord.register_approval_type(
        '{"name": "ga_people", "approver": {"principals": ["ann", "ben", "req"]}, "decision_values": ["approved", "rejected"]}');
    PERFORM concord.register_policy(
        '{"name": "pga", "predicate": "true", "decision": "require_approval", "approval_type": "ga_people"}');
    PERFORM concord.register_command_type('{"command_type": "ga_t", "policy_checks": ["pga"]}');
    PERFORM concord.register_command_type('{"command_type": "ga_free"}');
    PERFORM concord.add_team_member('team:ga', 'tom');
END $$;

SELECT is(concord_test.submit('w', 'ga_t'), 'waiting_for_approval', 'fixture: w waits for its approval');
SELECT is(concord_test.submit('free', 'ga_free'), 'queued', 'fixture: free needs no approval');

-- Opening an approval
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.approvals (command_id, evaluation_id, approval_type, requested_by, approver,
                                            eligible_approvers, expires_at)
             VALUES (%L, gen_random_uuid(), 'ga_people', 'req', 'ann', '{ann}', now() + interval '1 hour')$$,
           concord_test.id('free')),
    'CN011', 'an_approval_opens_only_for_a_command_waiting_for_approval'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.approvals (command_id, evaluation_id, approval_type, requested_by, approver,
                                            eligible_approvers, expires_at, status, decision, decided_by, decided_at)
             VALUES (%L, %L, 'ga_people', 'req', 'ann', '{ann}', now() + interval '1 hour',
                     'approved', 'approved', 'ann', now())$$,
           concord_test.id('w'), (concord_test.approval('w')).evaluation_id),
    'CN011', 'an_approval_starts_pending_and_undecided'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.approvals (command_id, evaluation_id, approval_type, requested_by, approver,
                                            eligible_approvers, expires_at)
             VALUES (%L, %L, 'ga_people', 'req', 'ann', '{ann}', now() - interval '1 minute')$$,
           concord_test.id('w'), (concord_test.approval('w')).evaluation_id),
    'CN011', 'an_approval_is_not_opened_already_expired'
);

-- Deciding it
SELECT concord_test.throws_rule(
    format($$UPDATE concord.approvals SET decision = 'approved', decided_by = 'ann' WHERE approval_id = %L$$,
           concord_test.approval_id('w')),
    'CN011', 'a_decision_changes_the_approval_status'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.approvals SET status = 'expired', decision = 'approved', decided_by = 'ann'
             WHERE approval_id = %L$$, concord_test.approval_id('w')),
    'CN011', 'an_expired_or_cancelled_approval_carries_no_decision'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.approvals SET status = 'cancelled' WHERE approval_id = %L$$, concord_test.approval_id('w')),
    'CN011', 'an_approval_its_command_waits_for_is_not_cancelled'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.approvals SET status = 'rejected', decision = 'approved', decided_by = 'ann'
             WHERE approval_id = %L$$, concord_test.approval_id('w')),
    'CN008', 'the_approval_status_matches_its_decision'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.approvals SET status = 'changes_requested', decision = 'request_changes', decided_by = 'ann'
             WHERE approval_id = %L$$, concord_test.approval_id('w')),
    'CN008', 'the_decision_is_one_its_approval_type_allows'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.approvals SET status = 'approved', decision = 'approved', decided_by = ' '
             WHERE approval_id = %L$$, concord_test.approval_id('w')),
    'CN008', 'a_decision_names_who_decided'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.approvals SET status = 'approved', decision = 'approved', decided_by = 'req'
             WHERE approval_id = %L$$, concord_test.approval_id('w')),
    'CN012', 'approver_is_not_the_requester'
);

-- The table keeps them
SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.approvals WHERE approval_id = %L$$, concord_test.approval_id('w')),
    'CN007', 'approvals_are_not_deleted'
);
SELECT concord_test.throws_rule(
    $$TRUNCATE concord.approvals CASCADE$$,
    'CN007', 'approvals_are_not_truncated'
);

-- The arguments of the API
SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_approval(%L, 'maybe', 'ann')$$, concord_test.approval_id('w')),
    'CN008', 'a_decision_is_approved_rejected_or_request_changes'
);
SELECT concord_test.throws_rule(
    $$SELECT concord.expire_approvals(NULL)$$,
    'CN008', 'the_expiry_time_is_given'
);

-- Only the owner expires ahead of time. The check reads session_user: the
-- application's role must be the session's.
CREATE FUNCTION pg_temp.expire_ahead_as(who text)
RETURNS integer
LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE format('SET SESSION AUTHORIZATION %I', who);
    RETURN concord.expire_approvals(now() + interval '1 day');
END
$$;
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.expire_ahead_as('concord_app')$$,
    'CN012', 'only_the_owner_expires_approvals_ahead_of_time'
);
SELECT is(session_user::text, 'postgres', 'fixture: the refusal left the session as it was');

SELECT * FROM finish();
ROLLBACK;
