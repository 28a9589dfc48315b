-- Helpers of the agent gateway: finding and locking a run, budgets, steps,
-- replays by idempotency key.

-- The agent run agent_run_id (locked FOR NO KEY UPDATE when lock, after its
-- swarm), CN006 when there is none.
CREATE OR REPLACE FUNCTION concord._agent_run(agent_run_id uuid, lock boolean DEFAULT FALSE)
RETURNS concord.agent_runs
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
BEGIN
    PERFORM concord._require('agent_run_id', agent_run_id::text);
    IF lock THEN
        -- one lock order everywhere: the swarm, then its agent (a cancellation,
        -- a join and every counter update take the swarm first)
        PERFORM 1 FROM concord.swarm_runs AS s
        WHERE s.swarm_run_id = (SELECT a.swarm_run_id FROM concord.agent_runs AS a
                                WHERE a.agent_run_id = _agent_run.agent_run_id)
        FOR NO KEY UPDATE;
        SELECT * INTO run FROM concord.agent_runs AS a WHERE a.agent_run_id = _agent_run.agent_run_id FOR NO KEY UPDATE;
    ELSE
        SELECT * INTO run FROM concord.agent_runs AS a WHERE a.agent_run_id = _agent_run.agent_run_id;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', CONSTRAINT = 'the_agent_run_exists',
            MESSAGE = format('agent run %s not found', agent_run_id);
    END IF;
    RETURN run;
END
$$;

-- The agent run, locked for this change; CN006 when unknown, CN011 when it
-- (or its swarm) has finished. The swarm's status is read by the statement
-- that locks it (as _agent_run(id, true) locks: the swarm, then its agent),
-- not by a third read of the swarm row.
CREATE OR REPLACE FUNCTION concord._lock_live_agent(agent_run_id uuid)
RETURNS concord.agent_runs
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
    swarm_finished boolean;
BEGIN
    PERFORM concord._require('agent_run_id', agent_run_id::text);
    SELECT st.terminal INTO swarm_finished
    FROM concord.swarm_runs AS s INNER JOIN concord.swarm_statuses AS st ON st.status = s.status
    WHERE s.swarm_run_id = (SELECT a.swarm_run_id FROM concord.agent_runs AS a
                            WHERE a.agent_run_id = _lock_live_agent.agent_run_id)
    FOR NO KEY UPDATE OF s;
    SELECT * INTO run FROM concord.agent_runs AS a WHERE a.agent_run_id = _lock_live_agent.agent_run_id
    FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', CONSTRAINT = 'the_agent_run_exists',
            MESSAGE = format('agent run %s not found', agent_run_id);
    END IF;
    IF concord._agentic_terminal('agent', run.status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_finished_agent_run_acts_no_more',
            MESSAGE = format('agent run %s is %s: a finished agent takes no more actions', agent_run_id, run.status);
    END IF;
    IF swarm_finished THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'an_agent_of_a_finished_swarm_acts_no_more',
            MESSAGE = format('agent run %s belongs to swarm run %s, which has finished: it takes no more actions',
                             agent_run_id, run.swarm_run_id);
    END IF;
    RETURN run;
END
$$;

-- Raises CN010 when the run cannot record one more step: its own budget or
-- its swarm's (checked again, under the locks, by the triggers).
CREATE OR REPLACE FUNCTION concord._require_step_budget(run concord.agent_runs)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    swarm concord.swarm_runs%ROWTYPE;
BEGIN
    IF run.step_count >= run.max_steps THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN010',
            CONSTRAINT = 'agent_steps_stay_within_max_steps',
            MESSAGE = format('limit exceeded: agent run %s (%s) has used all %s of its steps (max_steps)',
                             run.agent_run_id, run.agent_name, run.max_steps),
            HINT = 'Finish the run: its step budget is bound at spawn.';
    END IF;
    SELECT * INTO swarm FROM concord.swarm_runs AS s WHERE s.swarm_run_id = run.swarm_run_id;
    IF swarm.total_steps >= swarm.max_total_steps THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN010',
            CONSTRAINT = 'swarm_steps_stay_within_max_total_steps',
            MESSAGE = format('limit exceeded: swarm run %s has used all %s of its steps (max_total_steps)',
                             swarm.swarm_run_id, swarm.max_total_steps);
    END IF;
END
$$;

-- Record one step of run; returns it (the triggers number it and enforce
-- the limits).
CREATE OR REPLACE FUNCTION concord._record_step(
    run concord.agent_runs,
    action_type text,
    tool_name text,
    action_payload jsonb,
    decision text,
    details jsonb DEFAULT '{}'
)
RETURNS concord.agent_steps
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    step concord.agent_steps%ROWTYPE;
BEGIN
    -- a waiting (or not yet started) agent that acts is running again
    IF run.status LIKE 'waiting_for_%' OR run.status = 'created' THEN
        UPDATE concord.agent_runs AS a SET status = 'running' WHERE a.agent_run_id = run.agent_run_id;
    END IF;
    INSERT INTO concord.agent_steps AS s (
        agent_run_id, command_id, swarm_run_id, step_index, action_type, tool_name, action_payload, decision,
        reason, observation, output, created_command_id, created_artifact_id, created_memory_id,
        created_approval_id, child_agent_run_id, latency_ms, token_usage, cost_units
    ) VALUES (
        run.agent_run_id, run.command_id, run.swarm_run_id, 1, action_type, tool_name,
        coalesce(action_payload, '{}'), decision,
        details ->> 'reason', details -> 'observation', details -> 'output',
        (details ->> 'created_command_id')::uuid, (details ->> 'created_artifact_id')::uuid,
        (details ->> 'created_memory_id')::uuid, (details ->> 'created_approval_id')::uuid,
        (details ->> 'child_agent_run_id')::uuid, (details ->> 'latency_ms')::integer, details -> 'token_usage',
        (details ->> 'cost_units')::numeric
    )
    RETURNING * INTO step;
    RETURN step;
END
$$;

-- An action repeated under its idempotency key: the answer the first one
-- got (its step's output, marked replayed; the memories a retrieval returned
-- read again from their rows), or NULL when the key is new. The
-- same key for another action is CN002.
CREATE OR REPLACE FUNCTION concord._replayed_action(
    run concord.agent_runs, tool_name text, action jsonb
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    first concord.agent_steps%ROWTYPE;
BEGIN
    IF action ->> 'idempotency_key' IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT s.* INTO first FROM concord.agent_steps AS s
    WHERE s.agent_run_id = run.agent_run_id AND s.action_payload ->> 'idempotency_key' = action ->> 'idempotency_key'
    ORDER BY s.step_index
    LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    -- the request is the tool and its payload (a tool call) or the whole
    -- spawn request; a reason or metadata may differ
    -- (a memory write's step holds its content's digest: so is the new one compared)
    action := concord._memory_action_reference(tool_name, action);
    IF first.tool_name IS DISTINCT FROM tool_name
       OR (CASE WHEN action ? 'tool_name' THEN first.action_payload -> 'payload' ELSE first.action_payload END)
          IS DISTINCT FROM (CASE WHEN action ? 'tool_name' THEN action -> 'payload' ELSE action END) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN002',
            CONSTRAINT = 'an_idempotency_key_names_one_agent_action',
            MESSAGE = format('idempotency key %L is already used by step %s of agent run %s for another action',
                             action ->> 'idempotency_key', first.step_index, run.agent_run_id),
            HINT = 'A key identifies one action: use a new key for a different one.';
    END IF;
    -- memories retrieved then are given again from their rows, unless forgotten
    RETURN concord._memory_answer_recalled(first.tool_name, first.output) || jsonb_build_object(
        'replayed', true,
        'status', (SELECT c.status FROM concord.commands AS c WHERE c.command_id = first.created_command_id));
END
$$;

-- The first pending approval of a command, if any.
CREATE OR REPLACE FUNCTION concord._pending_approval(command_id uuid)
RETURNS uuid
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN (SELECT a.approval_id FROM concord.approvals AS a
            WHERE a.command_id = _pending_approval.command_id AND a.status = 'pending'
            ORDER BY a.created_at, a.approval_id LIMIT 1);
END
$$;

-- The gateway's decision for a command in status (spec 17).
CREATE OR REPLACE FUNCTION concord._command_decision(status text, error_class text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN CASE
        WHEN status IN ('queued', 'running', 'succeeded') THEN 'queued'
        WHEN status IN ('validated', 'approved') THEN 'allowed'
        WHEN status = 'waiting_for_approval' THEN 'require_approval'
        WHEN status = 'waiting_for_input' THEN 'require_input'
        WHEN error_class = 'validation_error' THEN 'invalid'
        ELSE 'denied'
    END;
END
$$;

-- An agent acts only with its run's secret (issue 12, DESIGN "Who is
-- speaking"): the transaction must have been authenticated with the secret
-- begin_agent_run issued for agent_run_id; the run id alone is no
-- capability. Two exceptions, both without a credential set: a superuser
-- session (tests, repairs: a superuser can do anything), and a worker
-- session for a run begun before secrets existed (it has none: its workflow
-- never received one).
CREATE OR REPLACE FUNCTION concord._require_agent_secret(agent_run_id uuid)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    who record := concord._authenticated();
    credential text := coalesce(current_setting('concord.credential', true), '');
BEGIN
    IF agent_run_id IS NOT NULL AND who.agent_run_id = agent_run_id THEN
        RETURN;
    END IF;
    IF credential = '' AND concord._session_is_superuser() THEN
        RETURN;
    END IF;
    IF credential = '' AND concord._sees_all() AND NOT EXISTS (
           SELECT 1 FROM concord.agent_run_secrets AS s WHERE s.agent_run_id = _require_agent_secret.agent_run_id)
       AND EXISTS (SELECT 1 FROM concord.agent_runs AS a
                   WHERE a.agent_run_id = _require_agent_secret.agent_run_id AND a.status <> 'created') THEN
        RETURN;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'CN012',
        CONSTRAINT = 'an_agent_acts_with_its_run_secret',
        TABLE = 'agent_run_secrets',
        MESSAGE = format('%s may not act as agent run %s: the transaction is not authenticated with that run''s '
                         'secret', coalesce(who.name, session_user::text), agent_run_id),
        HINT = 'Call concord.authenticate(secret) first in the transaction, with the secret begin_agent_run '
               'issued for the run.';
END
$$;

-- An agent (authenticated with its run's secret) reaches only its own swarm:
-- CN012 when it names another. Other callers pass.
CREATE OR REPLACE FUNCTION concord._require_own_swarm(swarm_run_id uuid)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    who record := concord._authenticated();
BEGIN
    IF who.agent_run_id IS NULL OR EXISTS (
           SELECT 1 FROM concord.agent_runs AS a
           WHERE a.agent_run_id = who.agent_run_id AND a.swarm_run_id = _require_own_swarm.swarm_run_id) THEN
        RETURN;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'CN012',
        CONSTRAINT = 'an_agent_acts_within_its_own_swarm',
        TABLE = 'swarm_runs',
        MESSAGE = format('%s may not act on swarm run %s: an agent acts only within its own swarm', who.name,
                         coalesce(swarm_run_id::text, 'NULL'));
END
$$;

-- Who acts on swarm_run_id (a principal argument checked as
-- _acting_on_command does, for a role that may change the swarm's command):
-- a superuser session with no actor named acts as its login.
CREATE OR REPLACE FUNCTION concord._acting_on_swarm(asserted text, swarm_run_id uuid)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    command uuid;
BEGIN
    PERFORM concord._require('swarm_run_id', swarm_run_id::text);
    SELECT s.command_id INTO command FROM concord.swarm_runs AS s WHERE s.swarm_run_id = _acting_on_swarm.swarm_run_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', CONSTRAINT = 'the_swarm_run_exists',
            MESSAGE = format('swarm run %s not found', swarm_run_id);
    END IF;
    PERFORM concord._require_own_swarm(swarm_run_id);
    -- an agent joins and cancels within its own swarm as itself (the rest of
    -- the API refuses an agent: an_agent_acts_through_its_gateway)
    IF (concord._authenticated()).agent_run_id IS NOT NULL
       AND (nullif(btrim(asserted), '') IS NULL OR concord.canonical_name(asserted) = concord._principal()) THEN
        RETURN concord._principal();
    END IF;
    RETURN concord._acting_on_command_or_login(asserted, command);
END
$$;

-- _acting_on_command for a change (owner, admin or member), except that a
-- superuser's or worker's session (no credential) that names nobody acts as
-- its login, as before principals existed; an agent acts as itself.
CREATE OR REPLACE FUNCTION concord._acting_on_command_or_login(asserted text, command_id uuid)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF nullif(btrim(asserted), '') IS NULL AND concord._principal() IS NULL AND concord._sees_all() THEN
        RETURN session_user::text;
    END IF;
    RETURN concord._acting_on_command(asserted, command_id, ARRAY['owner', 'admin', 'member']);
END
$$;
