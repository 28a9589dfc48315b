-- Workers and what they serve (issue 13: no command is stranded). A worker is
-- live while a session holds the advisory lock on concord.executor:<executor
-- id> (worker.py takes it at start and keeps it for its life): the server
-- frees it the moment the worker's session ends, whatever killed it. The
-- heartbeat in concord.workers says what a worker serves and when it was
-- last heard from.

-- The advisory lock key of an executor id (worker.py takes the same).
CREATE OR REPLACE FUNCTION concord._executor_lock_key(executor_id text)
RETURNS bigint
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN hashtextextended('concord.executor:' || executor_id, 0);
END
$$;

-- Whether a session (any, or only backend pid) holds the executor's lock. A
-- bigint advisory key shows in pg_locks as classid (high half), objid (low
-- half) and objsubid 1.
CREATE OR REPLACE FUNCTION concord._executor_locked(executor_id text, pid integer DEFAULT null)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    k bigint := concord._executor_lock_key(executor_id);
BEGIN
    RETURN EXISTS (
        SELECT 1 FROM pg_catalog.pg_locks AS l
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
          AND l.database = (SELECT d.oid FROM pg_catalog.pg_database AS d WHERE d.datname = current_database())
          AND l.classid = ((k >> 32) & 4294967295)::oid
          AND l.objid = (k & 4294967295)::oid
          AND (_executor_locked.pid IS null OR l.pid = _executor_locked.pid));
END
$$;

-- The executor ids whose workers are live (one read of pg_locks for all).
CREATE OR REPLACE FUNCTION concord._live_executors()
RETURNS text[]
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN ARRAY(
        SELECT w.executor_id FROM concord.workers AS w
        INNER JOIN pg_catalog.pg_locks AS l
            ON l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
           AND l.classid = ((concord._executor_lock_key(w.executor_id) >> 32) & 4294967295)::oid
           AND l.objid = (concord._executor_lock_key(w.executor_id) & 4294967295)::oid
        WHERE l.database = (SELECT d.oid FROM pg_catalog.pg_database AS d WHERE d.datname = current_database()));
END
$$;

CREATE OR REPLACE FUNCTION concord.runtime_heartbeat(
    executor_id text,
    application_version text,
    host text,
    pid integer,
    queues text[],
    operations text[]
)
RETURNS timestamptz
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
BEGIN
    PERFORM concord._require('executor_id', executor_id);
    PERFORM concord._require('application_version', application_version);
    IF NOT concord._executor_locked(executor_id, pg_backend_pid()) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'a_worker_heartbeats_only_for_its_own_executor_id',
            TABLE = 'workers',
            MESSAGE = format('this session does not hold the lock of executor %s: only the worker running '
                             'as that executor id records its heartbeat', executor_id),
            HINT = 'Call it on the connection that took pg_advisory_lock(concord._executor_lock_key(id)).';
    END IF;
    INSERT INTO concord.workers AS w (
        executor_id, application_version, host, pid, queues, operations, started_at, last_seen_at)
    VALUES (executor_id, application_version, coalesce(host, ''), pid, coalesce(queues, '{}'),
            coalesce(operations, '{}'), now(), now())
    ON CONFLICT ON CONSTRAINT workers_pkey DO UPDATE
    SET application_version = excluded.application_version, host = excluded.host, pid = excluded.pid,
        queues = excluded.queues, operations = excluded.operations, last_seen_at = excluded.last_seen_at,
        -- a new process under the same executor id starts anew
        started_at = CASE WHEN (w.host, w.pid) IS DISTINCT FROM (excluded.host, excluded.pid)
                          THEN excluded.started_at ELSE w.started_at END;
    RETURN now();
END
$$;

COMMENT ON FUNCTION concord.runtime_heartbeat(text, text, text, integer, text[], text[]) IS
'(concord_worker) A worker records that it is up and what it serves (its row of concord.workers: '
'version, host, pid, queues, operations). Only the session holding the executor id''s advisory '
'lock may (CN012 a_worker_heartbeats_only_for_its_own_executor_id). Returns the time recorded.';

-- A worker dequeued the workflow of a command whose type it has no operation
-- for (runtime_claim asks this when the worker's row lacks the type): the run
-- lets its workflow go without claiming it, and the command
-- stays queued until a worker that has the operation hands it off again
-- (register_operations at its start, runtime_reconcile every 10 s), or at
-- once when a live worker has it.
CREATE OR REPLACE FUNCTION concord.runtime_unserved(
    command_id uuid, workflow_id text, executor_id text
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
DECLARE
    c concord.commands%ROWTYPE;
    saved text[];
    run text;
    handed boolean := false;
BEGIN
    PERFORM concord._require('workflow_id', workflow_id);
    PERFORM concord._require('executor_id', executor_id);
    c := concord._lock_command(command_id);
    IF c.dbos_workflow_id IS DISTINCT FROM workflow_id THEN
        RETURN jsonb_build_object('action', 'stale', 'status', c.status, 'command_type', c.command_type);
    END IF;
    IF c.status <> 'queued' THEN
        -- past the claim (a cancellation to walk, a run begun elsewhere): the
        -- claim decides
        RETURN jsonb_build_object('action', 'claim', 'status', c.status, 'command_type', c.command_type);
    END IF;
    saved := concord._push_actor('worker:' || executor_id,
                                 format('no operation for %s on worker %s', c.command_type, executor_id));
    run := concord._push_run(workflow_id);
    UPDATE concord.commands AS x SET dbos_workflow_id = null WHERE x.command_id = c.command_id;
    PERFORM concord._pop_run(run);
    -- a live worker has the operation: hand the command off again at once
    -- (its queue may be shared with workers without it; each bounce is one poll)
    IF EXISTS (SELECT 1 FROM concord.workers AS w
               WHERE c.command_type = ANY (w.operations) AND w.executor_id = ANY (concord._live_executors())) THEN
        handed := concord._hand_off(ARRAY[c.command_id]) > 0;
    END IF;
    PERFORM concord._pop_actor(saved);
    RETURN jsonb_build_object('action', 'released', 'status', c.status, 'command_type', c.command_type,
                              'handed_off', handed);
END
$$;

COMMENT ON FUNCTION concord.runtime_unserved(uuid, text, text) IS
'(concord_worker) Worker step, before the claim, of a run whose worker has no operation for the '
'command''s type: the run lets its workflow go and the command stays queued (released) until a '
'worker with the operation hands it off again (at once when a live worker has it: handed_off). '
'Answers {action: released | stale | claim, status, command_type, handed_off} (claim: the '
'command is past queued, let the claim decide). Idempotent.';

-- Queued commands without a workflow whose type one of operations serves and
-- whose dependencies are met are handed off again (to their type's queue).
CREATE OR REPLACE FUNCTION concord._hand_off_served(operations text[])
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF cardinality(operations) = 0 THEN
        RETURN 0;
    END IF;
    RETURN concord._hand_off(ARRAY(
        SELECT c.command_id FROM concord.commands AS c
        WHERE c.status = 'queued' AND c.dbos_workflow_id IS null AND c.command_type = ANY (operations)
        ORDER BY c.created_at, c.command_id
        FOR NO KEY UPDATE OF c SKIP LOCKED));
END
$$;

-- Workers that are gone (no session holds their lock) and have been silent
-- for silent_for, while the server itself has been up that long (a restart
-- of the server drops every lock, and live workers need a moment to take
-- theirs again), with workflows DBOS still has PENDING under their executor
-- id: another worker may adopt those.
CREATE OR REPLACE FUNCTION concord.runtime_orphaned_executors(executor_id text, silent_for interval)
RETURNS TABLE (orphan text, application_version text, pending integer)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
DECLARE
    me text := executor_id;
BEGIN
    PERFORM concord._require('executor_id', executor_id);
    IF silent_for IS null OR silent_for < interval '1 second' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', CONSTRAINT = 'silent_for_is_at_least_a_second',
            MESSAGE = 'silent_for must be at least one second';
    END IF;
    IF to_regclass('dbos.workflow_status') IS null OR pg_postmaster_start_time() > now() - silent_for THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE
        'SELECT w.executor_id, s.application_version, count(*)::integer '
        'FROM concord.workers AS w '
        'INNER JOIN dbos.workflow_status AS s ON s.executor_id = w.executor_id AND s.status = ''PENDING'' '
        'WHERE w.executor_id <> $1 AND w.last_seen_at < now() - $2 '
        '  AND NOT concord._executor_locked(w.executor_id) '
        'GROUP BY w.executor_id, s.application_version ORDER BY w.executor_id'
    USING me, silent_for;
END
$$;

COMMENT ON FUNCTION concord.runtime_orphaned_executors(text, interval) IS
'(concord_worker) Executors other than executor_id that are gone (no session holds their '
'advisory lock), silent for silent_for (while the server has been up at least that long), and '
'still own PENDING DBOS workflows: (orphan, application_version, pending). A worker adopts them '
'after taking the orphan''s lock itself.';
