-- An expired approval is not decided (an_approval_is_decided_once,
-- an_expired_approval_is_not_decided): expire_approvals expires what is past
-- its expires_at, idempotently, and its command with it; an approval past its
-- expires_at is refused even before expire_approvals ran.
BEGIN;
SELECT plan(13);

DO $$ BEGIN
    PERFORM concord_test.approval_fixtures();
END $$;

SELECT is(concord_test.submit('two', 't_two', '{}'), 'waiting_for_approval', 'fixture: approved/rejected only');

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
