-- Cancelling swarms and agent runs (spec 64).

CREATE OR REPLACE FUNCTION concord._cancel_swarm(
    swarm_run_id uuid, actor text, reason text, mode text
)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    swarm concord.swarm_runs%ROWTYPE;
    saved text[];
BEGIN
    IF mode IS NOT NULL AND mode NOT IN ('graceful', 'compensate_then_stop') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'cancellation_mode_is_graceful_or_compensate_then_stop',
            MESSAGE = format('unknown cancellation mode %L: use graceful or compensate_then_stop', mode);
    END IF;
    SELECT * INTO swarm FROM concord.swarm_runs AS s WHERE s.swarm_run_id = _cancel_swarm.swarm_run_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', CONSTRAINT = 'the_swarm_run_exists',
            MESSAGE = format('swarm run %s not found', swarm_run_id);
    END IF;
    IF concord._agentic_terminal('swarm', swarm.status) THEN
        RETURN swarm.status;
    END IF;
    saved := concord._push_actor(actor, coalesce(reason, 'swarm cancelled'));
    UPDATE concord.swarm_runs AS s SET
        status = 'cancelled',
        cancellation_mode = coalesce(mode, (SELECT c.cancellation_mode FROM concord.commands AS c
                                            WHERE c.command_id = s.command_id)),
        cancel_reason = coalesce(reason, 'user_requested'),
        cancelled_by = actor
    WHERE s.swarm_run_id = swarm.swarm_run_id;
    PERFORM concord._pop_actor(saved);
    RETURN 'cancelled';
END
$$;

CREATE OR REPLACE FUNCTION concord.cancel_swarm(
    swarm_run_id uuid, actor text DEFAULT NULL, reason text DEFAULT NULL, mode text DEFAULT NULL
)
RETURNS text
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
    -- actor is an assertion checked against the authenticated principal
    RETURN concord._cancel_swarm(swarm_run_id, concord._acting_on_swarm(actor, swarm_run_id), reason, mode);
END
$$;

COMMENT ON FUNCTION concord.cancel_swarm(uuid, text, text, text) IS
'Cancel a swarm (spec 64): its live agent runs are cancelled, and every command its agents '
'(finished ones included) asked for that has not finished is cancelled in mode (default: the '
'parent command''s cancellation_mode; compensate_then_stop compensates what ran): a queued tool '
'command never runs, a pending approval is closed, a memory candidate is deleted; the event '
'swarm_work_cancelled names them; so is the pending work of the swarms nested under those '
'commands, however deep, in the same mode. Cancelling the swarm''s command does the same. '
'Idempotent: a finished swarm is left as it is; returns its status. actor is checked: the '
'authenticated principal (NULL: itself; a superuser session naming nobody: its login) or one it '
'may act for, an owner, admin or member of the project (CN012); an agent cancels only within its '
'own swarm.';

CREATE OR REPLACE FUNCTION concord.cancel_agent_run(
    agent_run_id uuid, actor text DEFAULT NULL, reason text DEFAULT NULL
)
RETURNS text
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
    run concord.agent_runs%ROWTYPE;
    saved text[];
BEGIN
    PERFORM concord._require('agent_run_id', agent_run_id::text);
    SELECT a.swarm_run_id INTO run.swarm_run_id FROM concord.agent_runs AS a
    WHERE a.agent_run_id = cancel_agent_run.agent_run_id;
    IF FOUND THEN
        -- actor is an assertion checked against the authenticated principal
        actor := concord._acting_on_swarm(actor, run.swarm_run_id);
    END IF;
    run := concord._agent_run(agent_run_id, true);
    IF concord._agentic_terminal('agent', run.status) THEN
        RETURN run.status;
    END IF;
    IF run.parent_agent_run_id IS NULL THEN
        -- the coordinator's cancellation is its swarm's
        RETURN concord._cancel_swarm(run.swarm_run_id, actor, reason, null);
    END IF;
    saved := concord._push_actor(actor, coalesce(reason, 'agent run cancelled'));
    PERFORM concord._cancel_agent_runs(ARRAY[run.agent_run_id],
                                       coalesce(reason, format('cancelled by %s', actor)));
    PERFORM concord._pop_actor(saved);
    RETURN 'cancelled';
END
$$;

COMMENT ON FUNCTION concord.cancel_agent_run(uuid, text, text) IS
'Cancel one agent run and its descendants (and the unfinished commands they asked for); '
'cancelling a coordinator '
'cancels its swarm. Idempotent; returns the status. actor is checked as cancel_swarm''s.';

-- A command moved: a cancelled command cancels its swarms (spec 64), and a
-- swarm review's outcome settles its swarm. Called by the commands trigger
-- for the statuses that matter only.
CREATE OR REPLACE FUNCTION concord._agentic_command_moved(c concord.commands)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    swarm_id uuid;
BEGIN
    IF c.command_type = 'concord.swarm_review' THEN
        PERFORM concord._swarm_review_settled(c);
    END IF;
    -- a rejected, cancelled or expired memory write deletes its candidate
    IF c.command_type = 'concord.write_memory' AND c.status IN ('failed', 'cancelled', 'expired') THEN
        PERFORM concord._memory_command_settled(c);
    END IF;
    IF c.status IN ('cancelling', 'cancelled', 'succeeded', 'failed', 'expired') THEN
        -- a swarm works for its command: it does not outlive it
        FOR swarm_id IN
            SELECT s.swarm_run_id FROM concord.swarm_runs AS s
            INNER JOIN concord.swarm_statuses AS st ON st.status = s.status
            WHERE s.command_id = c.command_id AND NOT st.terminal
        LOOP
            PERFORM concord._cancel_swarm(swarm_id, coalesce(c.cancellation_requested_by, concord._actor()),
                                          format('command %s was %s', c.command_id, c.status), c.cancellation_mode);
        END LOOP;
        -- a swarm that had already ended may still have pending work (a
        -- finished agent's queued tool command, a pending approval): it goes
        -- with the command's cancellation
        IF c.status IN ('cancelling', 'cancelled') THEN
            FOR swarm_id IN
                SELECT s.swarm_run_id FROM concord.swarm_runs AS s
                WHERE s.command_id = c.command_id AND s.status <> 'cancelled'
            LOOP
                PERFORM concord._cancel_swarm_work(swarm_id, format('command %s was %s', c.command_id, c.status), null);
            END LOOP;
        END IF;
    END IF;
END
$$;
