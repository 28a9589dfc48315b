-- Cascades (spec 64): a cancelled swarm or agent takes its live children and
-- the unfinished commands they asked for along; a finished swarm closes its
-- agents.

-- Cancel the live agent runs among ids (each cascades to its own children).
CREATE OR REPLACE FUNCTION concord._cancel_agent_runs(ids uuid[], reason text)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    n integer := 0;
    id uuid;
BEGIN
    -- one row at a time, parents first: each cancellation cascades to its
    -- own children before the next is looked at
    FOREACH id IN ARRAY ids LOOP
        UPDATE concord.agent_runs AS a SET status = 'cancelled', error = coalesce(a.error, reason)
        FROM concord.agent_statuses AS s
        WHERE a.agent_run_id = id AND s.status = a.status AND NOT s.terminal;
        IF FOUND THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END
$$;

-- Fail a live agent run for a reason of the kernel's (its workflow will never
-- run again): its live children are cancelled and a coordinator's failure
-- settles its swarm, as finish_agent_run(failed) does for the agent itself.
-- Returns the run's status.
CREATE OR REPLACE FUNCTION concord._fail_agent_run(agent_run_id uuid, reason text)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
BEGIN
    SELECT * INTO run FROM concord.agent_runs AS a WHERE a.agent_run_id = _fail_agent_run.agent_run_id
    FOR NO KEY UPDATE;
    IF NOT FOUND OR concord._agentic_terminal('agent', run.status) THEN
        RETURN run.status;
    END IF;
    PERFORM concord._cancel_agent_runs(
        ARRAY(SELECT k.agent_run_id FROM concord.agent_runs AS k WHERE k.parent_agent_run_id = run.agent_run_id),
        format('parent agent run %s failed', run.agent_run_id));
    UPDATE concord.agent_runs AS a SET status = 'failed', error = reason
    WHERE a.agent_run_id = run.agent_run_id
    RETURNING * INTO run;
    IF run.parent_agent_run_id IS null THEN
        PERFORM concord._settle_swarm_after_coordinator(run);
    END IF;
    RETURN run.status;
END
$$;

-- The commands the agents among ids asked for that have not finished are
-- cancelled in mode (spec 64: graceful stays graceful, compensate_then_stop
-- compensates). A failed command counts only if it could still be retried
-- (a denial stays what it was). Each is locked and read again first: one
-- cancelled meanwhile (by a dependency cascade of an earlier one, or a
-- concurrent cancel in another mode) keeps its own cancellation rather than
-- failing the whole cascade (a_cancellation_keeps_its_mode). Returns
-- [{command_id, status}] of those it cancelled.
CREATE OR REPLACE FUNCTION concord._cancel_agent_commands(ids uuid[], mode text, why text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    cmd uuid;
    cur concord.commands%ROWTYPE;
    done jsonb := '[]'::jsonb;
BEGIN
    FOR cmd IN
        SELECT DISTINCT st.created_command_id
        FROM concord.agent_steps AS st
        INNER JOIN concord.commands AS c ON c.command_id = st.created_command_id
        INNER JOIN concord.command_statuses AS cs ON cs.status = c.status
        WHERE st.agent_run_id = ANY (ids) AND NOT cs.terminal
        -- one order for every cascade: two of them lock the same commands alike
        ORDER BY st.created_command_id
    LOOP
        cur := concord._lock_command(cmd);
        CONTINUE WHEN concord._is_terminal(cur.status) OR cur.status IN ('cancelling', 'compensated')
            OR cur.cancellation_requested_at IS NOT NULL
            OR (cur.status = 'failed' AND NOT coalesce((SELECT ec.retryable FROM concord.error_classes AS ec
                                                       WHERE ec.error_class = cur.error_class), false));
        done := done || jsonb_build_object('command_id', cmd, 'status', concord._cancel(cmd, concord._actor(), why, mode));
    END LOOP;
    RETURN done;
END
$$;

-- The cancellation mode a swarm's cascade uses: the swarm's, else its
-- command's.
CREATE OR REPLACE FUNCTION concord._swarm_cancellation_mode(swarm_run_id uuid)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = concord, pg_temp
AS $$
    SELECT coalesce(s.cancellation_mode, c.cancellation_mode)
    FROM concord.swarm_runs AS s
    INNER JOIN concord.commands AS c ON c.command_id = s.command_id
    WHERE s.swarm_run_id = _swarm_cancellation_mode.swarm_run_id
$$;

-- A cancelled agent: its live children are cancelled, and the commands it
-- asked for that have not finished are cancelled in the swarm's cancellation
-- mode, else the parent command's.
CREATE OR REPLACE FUNCTION concord._cancel_agent_descendants(run concord.agent_runs)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    why text := coalesce(run.error, format('agent run %s was cancelled', run.agent_run_id));
BEGIN
    PERFORM concord._cancel_agent_runs(
        ARRAY(SELECT a.agent_run_id FROM concord.agent_runs AS a WHERE a.parent_agent_run_id = run.agent_run_id),
        why);
    IF run.status = 'succeeded' THEN
        RETURN;
    END IF;
    PERFORM concord._cancel_agent_commands(ARRAY[run.agent_run_id], concord._swarm_cancellation_mode(run.swarm_run_id),
                                           why);
END
$$;

-- A cancelled swarm (or a swarm whose command is being cancelled) leaves no
-- pending work behind (spec 64): every unfinished command any of its agents
-- asked for, finished agents' included, is cancelled in mode (NULL: the
-- swarm's), so a queued tool command never runs, an approval still pending
-- is closed (a later approve is refused) and a memory candidate waiting for
-- it is deleted. One swarm_work_cancelled event names what it cancelled.
-- The work of a swarm that works for one of those commands is the swarm's
-- too: a nested swarm still live goes with its command's cancellation; one
-- that had already ended (under a command that finished) has its pending
-- work cancelled here, in the same mode, however deep.
DROP FUNCTION IF EXISTS concord._cancel_swarm_work(uuid, text);
CREATE OR REPLACE FUNCTION concord._cancel_swarm_work(swarm_run_id uuid, why text, mode text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    s concord.swarm_runs%ROWTYPE;
    done jsonb;
    nested uuid;
BEGIN
    mode := coalesce(mode, concord._swarm_cancellation_mode(swarm_run_id));
    SELECT * INTO s FROM concord.swarm_runs AS x WHERE x.swarm_run_id = _cancel_swarm_work.swarm_run_id;
    done := concord._cancel_agent_commands(
        ARRAY(SELECT a.agent_run_id FROM concord.agent_runs AS a WHERE a.swarm_run_id = s.swarm_run_id), mode, why);
    IF jsonb_array_length(done) > 0 THEN
        PERFORM concord._agent_audit(
            'swarm_work_cancelled', 'audit', s.command_id, s.swarm_run_id, null, 'swarm_run', s.swarm_run_id::text,
            null, null, jsonb_build_object('commands', done, 'cancellation_mode', mode, 'cancel_reason', why),
            s.trace_id);
    END IF;
    -- a cancelled nested swarm already cancelled its work
    FOR nested IN
        SELECT DISTINCT n.swarm_run_id
        FROM concord.agent_runs AS a
        INNER JOIN concord.agent_steps AS st ON st.agent_run_id = a.agent_run_id
        INNER JOIN concord.swarm_runs AS n ON n.command_id = st.created_command_id
        WHERE a.swarm_run_id = s.swarm_run_id AND n.status <> 'cancelled' AND n.swarm_run_id <> s.swarm_run_id
        ORDER BY n.swarm_run_id
    LOOP
        IF concord._agentic_terminal('swarm', (SELECT n.status FROM concord.swarm_runs AS n
                                               WHERE n.swarm_run_id = nested)) THEN
            PERFORM concord._cancel_swarm_work(nested, why, mode);
        ELSE
            -- live under a command its cancellation has not reached (one
            -- already cancelling in its own mode): it goes now
            PERFORM concord._cancel_swarm(nested, concord._actor(), why, mode);
        END IF;
    END LOOP;
    RETURN done;
END
$$;

-- A swarm that ended (other than cancelled) leaves no agent running: when it
-- expired its agents expire; when it succeeded its coordinator succeeds with
-- the join's decision; every other live agent is cancelled, deepest first.
CREATE OR REPLACE FUNCTION concord._close_swarm_agents(swarm concord.swarm_runs)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
    why text := format('swarm run %s ended %s', swarm.swarm_run_id, swarm.status);
BEGIN
    FOR run IN
        SELECT a.* FROM concord.agent_runs AS a
        INNER JOIN concord.agent_statuses AS s ON s.status = a.status
        WHERE a.swarm_run_id = swarm.swarm_run_id AND NOT s.terminal
        ORDER BY a.spawn_depth DESC, a.created_at
    LOOP
        -- a cascade may have closed it meanwhile
        CONTINUE WHEN (SELECT s.terminal FROM concord.agent_runs AS a
                       INNER JOIN concord.agent_statuses AS s ON s.status = a.status
                       WHERE a.agent_run_id = run.agent_run_id);
        IF swarm.status = 'expired' THEN
            UPDATE concord.agent_runs AS a SET status = 'expired', error = coalesce(a.error, why)
            WHERE a.agent_run_id = run.agent_run_id;
        ELSIF run.parent_agent_run_id IS NULL AND swarm.status IN ('succeeded', 'partially_succeeded') THEN
            IF run.status <> 'running' THEN
                UPDATE concord.agent_runs AS a SET status = 'running' WHERE a.agent_run_id = run.agent_run_id;
            END IF;
            UPDATE concord.agent_runs AS a SET status = 'succeeded',
                result = coalesce(a.result, swarm.result, swarm.join_decision)
            WHERE a.agent_run_id = run.agent_run_id;
        ELSE
            PERFORM concord._cancel_agent_runs(ARRAY[run.agent_run_id], why);
        END IF;
    END LOOP;
END
$$;

-- A swarm whose join has begun spawns no more children
-- (a_joining_swarm_spawns_no_child): a spawn its agents asked for that still
-- waits (for approval, input or a worker) is cancelled, rather than left to
-- be approved and refused.
CREATE OR REPLACE FUNCTION concord._cancel_pending_spawns(swarm concord.swarm_runs)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._cancel(c.command_id, concord._actor(),
                            format('swarm run %s is %s: it spawns no more children', swarm.swarm_run_id,
                                   swarm.status), null)
    FROM concord.agent_runs AS a
    INNER JOIN concord.agent_steps AS st ON st.agent_run_id = a.agent_run_id
    INNER JOIN concord.commands AS c ON c.command_id = st.created_command_id
    WHERE a.swarm_run_id = swarm.swarm_run_id AND c.command_type = 'spawn_subagent'
      AND c.status IN ('validated', 'waiting_for_approval', 'waiting_for_input', 'approved', 'queued')
      AND c.cancellation_requested_at IS NULL;
END
$$;
