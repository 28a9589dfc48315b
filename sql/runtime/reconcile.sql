-- Repair paths: hand off what is queued, and reconcile commands with DBOS.

-- Commands queued before the runtime existed (an upgrade from 0002) or left
-- queued without a workflow: hand each one whose dependencies are met to
-- DBOS now. Explicit, because something else may have been running them.
CREATE OR REPLACE FUNCTION concord.hand_off_queued()
RETURNS integer
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
    n integer;
    saved text[] := concord._push_actor(null, 'handed off by hand_off_queued');
BEGIN
    n := concord._hand_off(ARRAY(
        SELECT c.command_id FROM concord.commands AS c WHERE c.status = 'queued' AND c.dbos_workflow_id IS null));
    PERFORM concord._pop_actor(saved);
    RETURN n;
END
$$;

COMMENT ON FUNCTION concord.hand_off_queued() IS
'(concord_admin) Hand every queued command that has no workflow and no unmet dependency to DBOS '
'(e.g. commands queued before an upgrade to 0003). Returns how many.';

-- A row the reconciler could not move: said as a WARNING (in the server log and
-- to the worker), left for the next pass.
CREATE OR REPLACE FUNCTION concord._reconcile_left(kind text, id text, code text, problem text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RAISE WARNING USING MESSAGE = format('runtime_reconcile left %s %s as it is: %s (SQLSTATE %s)',
                                         kind, id, problem, code);
END
$$;

-- Commands whose current DBOS workflow was cancelled from DBOS's side before
-- it could record anything (e.g. while still enqueued), or while no worker
-- executed it (one already being cancelled included: no worker is there to
-- catch the cancellation): their cancellation is requested and finished as
-- runtime_workflow_cancelled does. Workers run this at start and on a DBOS
-- schedule. Returns how many commands it touched.
CREATE OR REPLACE FUNCTION concord.runtime_reconcile(executor_id text)
RETURNS integer
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
    a record;
    why text;
    run text;
    n integer := 0;
    saved text[];
    dead record;
BEGIN
    PERFORM concord._require('executor_id', executor_id);
    IF to_regclass('dbos.workflow_status') IS null THEN
        RETURN 0;
    END IF;
    FOR c IN EXECUTE
        'SELECT x.* FROM concord.commands AS x '
        'INNER JOIN dbos.workflow_status AS w ON w.workflow_uuid = x.dbos_workflow_id '
        'WHERE w.status = ''CANCELLED'' '
        '  AND (x.status IN (''queued'', ''running'', ''blocked'') '
        '       OR (x.status IN (''cancelling'', ''compensating'', ''compensated'') AND concord._cancellation_to_finish(x)) AND NOT EXISTS ('
        '          SELECT 1 FROM dbos.workflow_status AS f WHERE f.workflow_uuid = x.dbos_workflow_id || ''/cancel'')) '
        'ORDER BY x.command_id FOR UPDATE OF x SKIP LOCKED'
    LOOP
        BEGIN
            PERFORM concord._cancel_from_dbos(c, executor_id);
            n := n + 1;
        EXCEPTION WHEN OTHERS THEN
            -- one row that cannot be moved must not stop the others (nor a worker's start)
            PERFORM concord._reconcile_left('command', c.command_id::text, SQLSTATE, SQLERRM);
        END;
    END LOOP;
    -- Queued commands bound to a workflow that ended without claiming them: a
    -- `dbos workflow fork --forked-workflow-id` that took the id of the run
    -- Concord was about to bind (DBOS ignores a second enqueue of an id).
    -- Nothing would run them: the run lets that workflow go and the command
    -- is handed off again under the next run.
    FOR c IN EXECUTE
        'SELECT x.* FROM concord.commands AS x '
        'INNER JOIN dbos.workflow_status AS w ON w.workflow_uuid = x.dbos_workflow_id '
        'WHERE x.status = ''queued'' AND w.status = ''SUCCESS'' '
        'ORDER BY x.command_id FOR UPDATE OF x SKIP LOCKED'
    LOOP
        BEGIN
            saved := concord._push_actor('worker:' || executor_id,
                                         format('workflow %s ended without running the command', c.dbos_workflow_id));
            run := concord._push_run(c.dbos_workflow_id);
            UPDATE concord.commands AS x SET dbos_workflow_id = null WHERE x.command_id = c.command_id;
            PERFORM concord._pop_run(run);
            PERFORM concord._hand_off(ARRAY[c.command_id]);
            PERFORM concord._pop_actor(saved);
            n := n + 1;
        EXCEPTION WHEN OTHERS THEN
            -- one row that cannot be moved must not stop the others (nor a worker's start)
            PERFORM concord._reconcile_left('command', c.command_id::text, SQLSTATE, SQLERRM);
        END;
    END LOOP;
    -- Commands whose run DBOS will never run again: its workflow ended ERROR
    -- (a bookkeeping step refused past every handler) or was dead-lettered
    -- (MAX_RECOVERY_ATTEMPTS_EXCEEDED: dispatched over and over without ending,
    -- a worker crashing on it each time, say). A command still queued, running
    -- or blocked fails (internal_error, saying why: submit it again once the
    -- cause is fixed), and one being cancelled gets the follow-up that
    -- finishes its cancellation, once.
    FOR dead IN EXECUTE
        'SELECT x.command_id, x.status, x.dbos_workflow_id, w.status AS dbos_status, w.recovery_attempts '
        'FROM concord.commands AS x '
        'INNER JOIN dbos.workflow_status AS w ON w.workflow_uuid = x.dbos_workflow_id '
        'WHERE (x.status IN (''queued'', ''running'', ''blocked'') OR (x.status IN (''cancelling'', ''compensating'', ''compensated'') AND concord._cancellation_to_finish(x))) '
        '  AND w.status IN (''ERROR'', ''MAX_RECOVERY_ATTEMPTS_EXCEEDED'') '
        '  AND NOT (x.status IN (''cancelling'', ''compensating'', ''compensated'') AND concord._cancellation_to_finish(x) AND EXISTS ('
        '      SELECT 1 FROM dbos.workflow_status AS f WHERE f.workflow_uuid = x.dbos_workflow_id || ''/cancel'')) '
        'ORDER BY x.command_id FOR UPDATE OF x SKIP LOCKED'
    LOOP
        BEGIN
            why := format('its DBOS workflow %s ended %s%s: nothing would run it again', dead.dbos_workflow_id,
                          dead.dbos_status, CASE WHEN dead.dbos_status = 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'
                                                 THEN format(' after %s dispatches', dead.recovery_attempts) END);
            IF dead.status IN ('cancelling', 'compensating', 'compensated') THEN
                PERFORM concord._enqueue_workflow('concord.finish_cancellation', 'concord_default',
                                                  dead.command_id, dead.dbos_workflow_id || '/cancel');
            ELSE
                run := concord._push_run(dead.dbos_workflow_id);
                PERFORM concord._set_status(dead.command_id, 'failed', 'worker:' || executor_id, why, null,
                                            why || '; submit it again once the cause is fixed', 'internal_error');
                PERFORM concord._pop_run(run);
            END IF;
            n := n + 1;
        EXCEPTION WHEN OTHERS THEN
            -- one row that cannot be moved must not stop the others (nor a worker's start)
            PERFORM concord._reconcile_left('command', dead.command_id::text, SQLSTATE, SQLERRM);
        END;
    END LOOP;
    -- Cancellations whose follow-up (<workflow>/cancel) nothing will run
    -- again: an operator cancelled it in DBOS, it ended ERROR or was
    -- dead-lettered. The run leaves its cancellation to that follow-up, so
    -- nothing else would walk it: a graceful one, or one whose compensations
    -- were all done, ends cancelled; one whose compensations had not all run
    -- fails as compensation_failed, as a halted compensation does (an
    -- operator compensates what is left).
    FOR dead IN EXECUTE
        'SELECT x.command_id, x.status, x.cancellation_mode, f.workflow_uuid AS follow_up, f.status AS dbos_status '
        'FROM concord.commands AS x '
        'INNER JOIN dbos.workflow_status AS f ON f.workflow_uuid = x.dbos_workflow_id || ''/cancel'' '
        'WHERE x.status IN (''cancelling'', ''compensating'', ''compensated'') AND concord._cancellation_to_finish(x) '
        '  AND f.status IN (''CANCELLED'', ''ERROR'', ''MAX_RECOVERY_ATTEMPTS_EXCEEDED'') '
        'ORDER BY x.command_id FOR UPDATE OF x SKIP LOCKED'
    LOOP
        BEGIN
            why := format('its cancellation''s follow-up workflow %s ended %s: nothing would finish it',
                          dead.follow_up, dead.dbos_status);
            run := concord._push_run(dead.follow_up);
            IF dead.status = 'compensated' OR dead.status = 'cancelling' AND dead.cancellation_mode = 'graceful' THEN
                PERFORM concord._set_status(dead.command_id, 'cancelled', 'worker:' || executor_id, why);
            ELSE
                IF dead.status = 'cancelling' THEN
                    PERFORM concord._set_status(dead.command_id, 'compensating', 'worker:' || executor_id, why);
                END IF;
                PERFORM concord._set_status(dead.command_id, 'failed', 'worker:' || executor_id, why, null,
                                            why || '; what it had not compensated is left as it was',
                                            'compensation_failed');
            END IF;
            PERFORM concord._pop_run(run);
            n := n + 1;
        EXCEPTION WHEN OTHERS THEN
            -- one row that cannot be moved must not stop the others (nor a worker's start)
            PERFORM concord._reconcile_left('command', dead.command_id::text, SQLSTATE, SQLERRM);
        END;
    END LOOP;
    -- Live agent runs whose workflow nothing will run again. Cancelled from
    -- DBOS's side (`dbos workflow cancel agent:<id>`): cancelled as an
    -- operator's cancel_agent_run would (a coordinator's is its swarm's, which
    -- reaches all the swarm's pending work). Ended ERROR or dead-lettered: the
    -- run fails, saying why (a coordinator's failure settles its swarm).
    FOR a IN EXECUTE
        'SELECT r.agent_run_id, r.parent_agent_run_id, r.swarm_run_id, r.dbos_workflow_id, w.status AS dbos_status '
        'FROM concord.agent_runs AS r '
        'INNER JOIN concord.agent_statuses AS s ON s.status = r.status '
        'INNER JOIN dbos.workflow_status AS w ON w.workflow_uuid = r.dbos_workflow_id '
        'WHERE NOT s.terminal AND w.status IN (''CANCELLED'', ''ERROR'', ''MAX_RECOVERY_ATTEMPTS_EXCEEDED'') '
        'ORDER BY r.agent_run_id FOR NO KEY UPDATE OF r SKIP LOCKED'
    LOOP
        BEGIN
            why := format('its workflow %s was cancelled in DBOS', a.dbos_workflow_id);
            IF a.dbos_status <> 'CANCELLED' THEN
                why := format('its workflow %s ended %s: nothing would run it again', a.dbos_workflow_id, a.dbos_status);
                saved := concord._push_actor('worker:' || executor_id, why);
                PERFORM concord._fail_agent_run(a.agent_run_id, why);
                PERFORM concord._pop_actor(saved);
            ELSIF a.parent_agent_run_id IS null THEN
                PERFORM concord._cancel_swarm(a.swarm_run_id, 'worker:' || executor_id, why, null);
            ELSE
                saved := concord._push_actor('worker:' || executor_id, why);
                PERFORM concord._cancel_agent_runs(ARRAY[a.agent_run_id], why);
                PERFORM concord._pop_actor(saved);
            END IF;
            n := n + 1;
        EXCEPTION WHEN OTHERS THEN
            -- one row that cannot be moved must not stop the others (nor a worker's start)
            PERFORM concord._reconcile_left('agent run', a.agent_run_id::text, SQLSTATE, SQLERRM);
        END;
    END LOOP;
    -- Commands a worker without their operation let go (runtime_unserved):
    -- handed off again by a worker that has it.
    saved := concord._push_actor('worker:' || executor_id, 'handed off to a worker with the operation');
    n := n + concord._hand_off_served(
        (SELECT w.operations FROM concord.workers AS w WHERE w.executor_id = runtime_reconcile.executor_id));
    PERFORM concord._pop_actor(saved);
    RETURN n;
END
$$;

COMMENT ON FUNCTION concord.runtime_reconcile(text) IS
'(concord_worker) Moves what nothing else would move again. Commands queued, running or '
'blocked whose DBOS workflow was cancelled from DBOS''s side are cancelled (a running one '
'through concord.finish_cancellation), and so are those already being cancelled (cancelling, '
'compensating, compensated with a cancellation requested) that have no follow-up yet. Queued '
'commands bound to a workflow that ended without running them (a DBOS fork that took the id '
'of their next run) are handed off again under a new run. Commands whose workflow ended ERROR'
' or was dead-lettered (MAX_RECOVERY_ATTEMPTS_EXCEEDED) fail as internal_error saying so, or,'
' being cancelled, get the follow-up that finishes the cancellation. A cancellation whose '
'follow-up (<workflow>/cancel) was cancelled in DBOS, ended ERROR or was dead-lettered ends: '
'cancelled when graceful or its compensations were done, else failed as compensation_failed. '
'Live agent runs whose workflow was cancelled in DBOS are cancelled (a coordinator''s '
'cancellation is its swarm''s); those whose workflow ended ERROR or was dead-lettered fail, '
'saying so. Queued commands without a workflow (let go by a worker without their operation) '
'whose type the calling worker serves (its concord.workers row) are handed off again. Workers'
' run it at start and every 10 seconds on a DBOS schedule; returns how many commands and runs'
' it touched.';
