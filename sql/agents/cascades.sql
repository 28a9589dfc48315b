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

-- A cancelled agent: its live children are cancelled, and the commands it
-- asked for that have not finished are cancelled in the swarm's cancellation
-- mode, else the parent command's (spec 64: graceful stays graceful,
-- compensate_then_stop compensates).
CREATE OR REPLACE FUNCTION concord._cancel_agent_descendants(run concord.agent_runs)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    mode text;
    why text := coalesce(run.error, format('agent run %s was cancelled', run.agent_run_id));
    cmd uuid;
BEGIN
    PERFORM concord._cancel_agent_runs(
        ARRAY(SELECT a.agent_run_id FROM concord.agent_runs AS a WHERE a.parent_agent_run_id = run.agent_run_id),
        why);
    SELECT coalesce(s.cancellation_mode, c.cancellation_mode) INTO mode
    FROM concord.swarm_runs AS s
    INNER JOIN concord.commands AS c ON c.command_id = s.command_id
    WHERE s.swarm_run_id = run.swarm_run_id;
    IF run.status = 'succeeded' THEN
        RETURN;
    END IF;
    FOR cmd IN
        SELECT DISTINCT st.created_command_id
        FROM concord.agent_steps AS st
        INNER JOIN concord.commands AS c ON c.command_id = st.created_command_id
        INNER JOIN concord.command_statuses AS cs ON cs.status = c.status
        LEFT JOIN concord.error_classes AS ec ON ec.error_class = c.error_class
        WHERE st.agent_run_id = run.agent_run_id AND NOT cs.terminal
          AND c.status NOT IN ('cancelling', 'compensated') AND c.cancellation_requested_at IS NULL
          -- a failed command is cancelled only if it could still be retried (a
          -- denial stays what it was)
          AND (c.status <> 'failed' OR coalesce(ec.retryable, false))
    LOOP
        PERFORM concord._cancel(cmd, concord._actor(), why, mode);
    END LOOP;
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
