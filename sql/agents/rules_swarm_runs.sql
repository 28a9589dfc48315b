-- swarm_runs: a swarm runs only under a governed, unfinished command; its
-- limits, counters and state machine hold whoever writes.

-- A swarm works inside its command's governance: only under a command that
-- policy let through, that has not finished and that nobody asked to cancel
-- (CN011; CN006 for an unknown command).
CREATE OR REPLACE FUNCTION concord._require_governed_command(command_id uuid)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    c concord.commands%ROWTYPE;
BEGIN
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = _require_governed_command.command_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', CONSTRAINT = 'the_command_exists', TABLE = 'swarm_runs',
            MESSAGE = format('command %s not found', command_id);
    END IF;
    IF c.status NOT IN ('validated', 'approved', 'queued', 'running') OR c.cancellation_requested_at IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_swarm_runs_only_under_a_governed_unfinished_command', TABLE = 'swarm_runs',
            MESSAGE = format('command %s is %s%s: a swarm runs only under a command that policy let through and that '
                             'has not finished (validated, approved, queued or running)', c.command_id, c.status,
                             CASE WHEN c.cancellation_requested_at IS NOT NULL THEN ', being cancelled' ELSE '' END);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION concord._swarm_runs_before_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM 'created' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            CONSTRAINT = 'a_new_swarm_run_starts_created', TABLE = 'swarm_runs',
            MESSAGE = format('illegal transition: a new swarm run starts in created, not %s',
                             coalesce(NEW.status, 'NULL')),
            HINT = 'Start swarms with concord.start_swarm(command_id, spec).';
    END IF;
    IF NEW.coordinator_agent_run_id IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'a_swarm_coordinator_is_set_once_to_its_root_agent', TABLE = 'swarm_runs',
            MESSAGE = 'a new swarm run has no coordinator yet: its first agent run becomes it';
    END IF;
    PERFORM concord._require_governed_command(NEW.command_id);
    -- derived: a new swarm has no agents, steps nor cost
    NEW.live_agents := 0;
    NEW.total_steps := 0;
    NEW.cost_units := 0;
    NEW.join_decision := NULL;
    NEW.result := NULL;
    NEW.error := NULL;
    NEW.cancellation_mode := NULL;
    NEW.cancel_reason := NULL;
    NEW.cancelled_by := NULL;
    NEW.created_by := coalesce(nullif(btrim(NEW.created_by), ''), concord._actor());
    NEW.trace_id := coalesce(nullif(NEW.trace_id, ''), concord._new_trace_id());
    NEW.created_at := now();
    NEW.updated_at := now();
    NEW.started_at := NULL;
    NEW.completed_at := NULL;
    NEW.cancelled_at := NULL;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._swarm_runs_before_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    truth record;
BEGIN
    IF (NEW.swarm_run_id, NEW.command_id, NEW.name, NEW.objective, NEW.execution_mode, NEW.join_strategy,
        NEW.join_options, NEW.max_agents, NEW.max_depth, NEW.max_total_steps, NEW.max_cost_units,
        NEW.agent_templates, NEW.runtime, NEW.spec, NEW.trace_id, NEW.created_by, NEW.created_at,
        NEW.workflow_run_id)
       IS DISTINCT FROM
       (OLD.swarm_run_id, OLD.command_id, OLD.name, OLD.objective, OLD.execution_mode, OLD.join_strategy,
        OLD.join_options, OLD.max_agents, OLD.max_depth, OLD.max_total_steps, OLD.max_cost_units,
        OLD.agent_templates, OLD.runtime, OLD.spec, OLD.trace_id, OLD.created_by, OLD.created_at,
        OLD.workflow_run_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'swarm_run_identity_and_limits_are_immutable', TABLE = 'swarm_runs',
            MESSAGE = format('swarm run %s: its identity, objective, strategy, limits and templates are immutable',
                             OLD.swarm_run_id),
            HINT = 'Limits are bound when the swarm starts; start another swarm for other limits.';
    END IF;
    IF NEW.coordinator_agent_run_id IS DISTINCT FROM OLD.coordinator_agent_run_id THEN
        IF OLD.coordinator_agent_run_id IS NOT NULL OR NOT EXISTS (
               SELECT 1 FROM concord.agent_runs AS a
               WHERE a.agent_run_id = NEW.coordinator_agent_run_id AND a.swarm_run_id = NEW.swarm_run_id
                 AND a.parent_agent_run_id IS NULL) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN007',
                CONSTRAINT = 'a_swarm_coordinator_is_set_once_to_its_root_agent', TABLE = 'swarm_runs',
                MESSAGE = format('swarm run %s: the coordinator is set once, to the swarm''s root agent run',
                                 OLD.swarm_run_id);
        END IF;
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM concord._agentic_transition('swarm', OLD.swarm_run_id, OLD.status, NEW.status);
        IF NEW.status = 'running' THEN
            PERFORM concord._require_governed_command(NEW.command_id);
        END IF;
        NEW.started_at := CASE WHEN NEW.status = 'running' THEN coalesce(OLD.started_at, now())
                               ELSE OLD.started_at END;
        NEW.completed_at := CASE WHEN concord._agentic_terminal('swarm', NEW.status) THEN now() END;
        NEW.cancelled_at := CASE WHEN NEW.status = 'cancelled' THEN now() END;
    ELSIF concord._agentic_terminal('swarm', OLD.status)
          AND (NEW.join_decision, NEW.result, NEW.error, NEW.cancellation_mode, NEW.cancel_reason, NEW.cancelled_by,
               NEW.metadata)
              IS DISTINCT FROM
              (OLD.join_decision, OLD.result, OLD.error, OLD.cancellation_mode, OLD.cancel_reason, OLD.cancelled_by,
               OLD.metadata) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'a_finished_swarm_run_never_changes', TABLE = 'swarm_runs',
            MESSAGE = format('swarm run %s is %s: a finished swarm does not change', OLD.swarm_run_id, OLD.status);
    ELSE
        NEW.started_at := OLD.started_at;
        NEW.completed_at := OLD.completed_at;
        NEW.cancelled_at := OLD.cancelled_at;
    END IF;
    -- The counters are derived from the swarm's agent runs. The agent
    -- triggers (concord.counting on) ask for a recount, which is taken from
    -- the latest committed rows: two spawns racing for the last slot count
    -- each other. Any other writer must write the truth (CN007).
    IF (NEW.live_agents, NEW.total_steps, NEW.cost_units) IS DISTINCT FROM
       (OLD.live_agents, OLD.total_steps, OLD.cost_units) THEN
        SELECT count(*) FILTER (WHERE NOT s.terminal) AS live_agents,
               coalesce(sum(a.step_count), 0) AS total_steps,
               coalesce(sum(a.cost_units), 0) AS cost_units
        INTO truth
        FROM concord.agent_runs AS a
        INNER JOIN concord.agent_statuses AS s ON s.status = a.status
        WHERE a.swarm_run_id = NEW.swarm_run_id;
        IF current_setting('concord.counting', true) = 'on' THEN
            NEW.live_agents := truth.live_agents;
            NEW.total_steps := truth.total_steps;
            NEW.cost_units := truth.cost_units;
        ELSIF (NEW.live_agents, NEW.total_steps, NEW.cost_units)
              IS DISTINCT FROM (truth.live_agents::integer, truth.total_steps::integer, truth.cost_units) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN007',
                CONSTRAINT = 'swarm_counters_are_derived_from_its_agents', TABLE = 'swarm_runs',
                MESSAGE = format('swarm run %s: live_agents, total_steps and cost_units are derived from its agent '
                                 'runs (%s, %s, %s), not written', OLD.swarm_run_id, truth.live_agents,
                                 truth.total_steps, truth.cost_units);
        END IF;
        IF NEW.live_agents > NEW.max_agents THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN010',
                CONSTRAINT = 'live_agents_stay_within_max_agents', TABLE = 'swarm_runs',
                MESSAGE = format('limit exceeded: swarm run %s may have %s live agents (max_agents) and this would '
                                 'make %s', OLD.swarm_run_id, NEW.max_agents, NEW.live_agents),
                HINT = 'Wait for an agent of the swarm to finish, or start the swarm with a higher max_agents.';
        END IF;
        IF NEW.total_steps > NEW.max_total_steps THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN010',
                CONSTRAINT = 'swarm_steps_stay_within_max_total_steps', TABLE = 'swarm_runs',
                MESSAGE = format('limit exceeded: swarm run %s has used all %s of its steps (max_total_steps)',
                                 OLD.swarm_run_id, NEW.max_total_steps);
        END IF;
        IF NEW.max_cost_units IS NOT NULL AND NEW.cost_units > NEW.max_cost_units THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN010',
                CONSTRAINT = 'swarm_cost_stays_within_max_cost_units', TABLE = 'swarm_runs',
                MESSAGE = format('limit exceeded: swarm run %s would spend %s cost units of its max_cost_units %s',
                                 OLD.swarm_run_id, NEW.cost_units, NEW.max_cost_units);
        END IF;
    END IF;
    NEW.updated_at := greatest(now(), OLD.created_at);
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._swarm_runs_after_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM concord._agent_audit(
            'swarm_created', 'audit', NEW.command_id, NEW.swarm_run_id, null, 'swarm_run',
            NEW.swarm_run_id::text, null, NEW.status,
            jsonb_build_object('name', NEW.name, 'execution_mode', NEW.execution_mode,
                               'join_strategy', NEW.join_strategy, 'max_agents', NEW.max_agents,
                               'max_depth', NEW.max_depth, 'max_total_steps', NEW.max_total_steps,
                               'max_cost_units', NEW.max_cost_units, 'runtime', NEW.runtime),
            NEW.trace_id);
        RETURN NULL;
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM concord._agent_audit(
            'swarm_status_changed', 'audit', NEW.command_id, NEW.swarm_run_id, null, 'swarm_run',
            NEW.swarm_run_id::text, OLD.status, NEW.status,
            jsonb_strip_nulls(jsonb_build_object(
                'error', NEW.error, 'join_decision', NEW.join_decision,
                'cancellation_mode', NEW.cancellation_mode, 'cancel_reason', NEW.cancel_reason,
                'cancelled_by', NEW.cancelled_by)),
            NEW.trace_id);
        -- spec 64: a cancelled swarm cancels its live agents; a swarm that
        -- ended otherwise leaves none running either
        IF NEW.status = 'cancelled' THEN
            PERFORM concord._cancel_agent_runs(
                ARRAY(SELECT a.agent_run_id FROM concord.agent_runs AS a
                      INNER JOIN concord.agent_statuses AS s ON s.status = a.status
                      WHERE a.swarm_run_id = NEW.swarm_run_id AND NOT s.terminal
                      ORDER BY a.spawn_depth, a.created_at),
                coalesce(NEW.cancel_reason, format('swarm run %s was cancelled', NEW.swarm_run_id)));
            -- and the pending work of its agents, finished ones included
            PERFORM concord._cancel_swarm_work(
                NEW.swarm_run_id, coalesce(NEW.cancel_reason, format('swarm run %s was cancelled', NEW.swarm_run_id)),
                NEW.cancellation_mode);
        ELSIF concord._agentic_terminal('swarm', NEW.status) THEN
            PERFORM concord._close_swarm_agents(NEW);
        ELSIF NEW.status = 'joining' THEN
            PERFORM concord._cancel_pending_spawns(NEW);
        END IF;
        -- a review still waiting for a person dies with its swarm
        IF concord._agentic_terminal('swarm', NEW.status) AND OLD.status = 'waiting_for_approval' THEN
            PERFORM concord._cancel(x.command_id, concord._actor(),
                                    format('swarm run %s ended %s', NEW.swarm_run_id, NEW.status), null)
            FROM concord.commands AS x
            WHERE x.idempotency_key = 'concord.swarm_review:' || NEW.swarm_run_id
              AND x.status IN ('waiting_for_approval', 'waiting_for_input');
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER swarm_runs_before_insert
BEFORE INSERT ON concord.swarm_runs
FOR EACH ROW EXECUTE FUNCTION concord._swarm_runs_before_insert();

CREATE OR REPLACE TRIGGER swarm_runs_before_update
BEFORE UPDATE ON concord.swarm_runs
FOR EACH ROW EXECUTE FUNCTION concord._swarm_runs_before_update();

CREATE OR REPLACE TRIGGER swarm_runs_after_write
AFTER INSERT OR UPDATE ON concord.swarm_runs
FOR EACH ROW EXECUTE FUNCTION concord._swarm_runs_after_write();

-- Durable history: no row is deleted.
CREATE OR REPLACE TRIGGER swarm_runs_are_not_deleted
BEFORE DELETE ON concord.swarm_runs
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('are durable history');

CREATE OR REPLACE TRIGGER swarm_runs_are_not_truncated
BEFORE TRUNCATE ON concord.swarm_runs
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('are durable history');
