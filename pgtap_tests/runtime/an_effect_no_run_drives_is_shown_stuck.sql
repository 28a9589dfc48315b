-- Stuck effects are shown (issue 13 §5): an effect executing for over a
-- minute under a command that no run drives any more (DBOS gave up on its
-- run and the reconciler failed it) is listed by concord.stuck_effects, even
-- while the worker that claimed the run is live (a worker restarted after
-- each crash on it). One whose command still runs on a live worker is not.
BEGIN;
SELECT plan(5);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

-- The worker ex-live is up: this session holds its lock and records its row.
SELECT pg_advisory_lock(concord._executor_lock_key('ex-live')) IS NOT null AS fixture \gset
SELECT concord.runtime_heartbeat('ex-live', 'v1', 'h', 1, '{concord_default}', '{rt_async}') IS NOT null
    AS fixture \gset

SELECT is(concord_test.submit('gone', 'rt_async'), 'queued', 'fixture: gone is queued');
SELECT is(concord_test.submit('going', 'rt_async'), 'queued', 'fixture: going is queued');

CREATE FUNCTION pg_temp.executing(label text)
RETURNS uuid
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM concord_test.claim(label, 1, 'ex-live');
    RETURN concord_test.remember(label || '-effect', (concord.runtime_begin_effect(
        concord_test.id(label), concord_test.workflow_of(label), 'connector.x', '{}', label || ':1', null)
        ->> 'effect_id')::uuid);
END
$$;

SELECT pg_temp.executing('gone') IS NOT null AS fixture \gset
SELECT pg_temp.executing('going') IS NOT null AS fixture \gset

-- DBOS dead-letters gone's run; the reconciler fails the command.
UPDATE dbos.workflow_status SET status = 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'
WHERE workflow_uuid = concord_test.workflow_of('gone');
SELECT is(concord.runtime_reconcile('ex-live') >= 1, true, 'fixture: the reconciler fails gone');

-- Both effects began two minutes ago (past the guard: only a superuser can).
SET LOCAL session_replication_role = replica;
UPDATE concord.domain_effects SET started_at = now() - interval '2 minutes'
WHERE domain_effect_id IN (concord_test.id('gone-effect'), concord_test.id('going-effect'));
SET LOCAL session_replication_role = origin;

SELECT results_eq(
    $$SELECT executor_id, why FROM concord.stuck_effects WHERE domain_effect_id = concord_test.id('gone-effect')$$,
    $$VALUES ('ex-live', 'executing under a command no run drives (failed)')$$,
    'an effect of a command no run drives is stuck, though the worker that claimed it is live');

SELECT is_empty(
    $$SELECT 1 FROM concord.stuck_effects WHERE domain_effect_id = concord_test.id('going-effect')$$,
    'an effect whose command runs on a live worker is not');

SELECT * FROM finish();
ROLLBACK;
