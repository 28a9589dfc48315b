-- The agentic record (spec 57-58, 71): the guards that hold whoever writes to
-- swarm_runs, agent_runs, agent_invocations, agent_steps and agent_messages
-- (table owner included), and the audit of every change. The gateway API
-- (sql/85_agents.sql) is one writer among others: these rules do not trust it.
--
-- Invariants (spec 59.4, 61.1, 62, 71.1, 71.3):
--   a child's allowed_tools, allowed_connectors and allowed_child_roles are
--   subsets of its parent's, its memory scope is within its parent's (same
--   subject, types a subset, semantic retrieval only if the parent has it,
--   max_results no larger); scopes are immutable for the run;
--   spawn_depth = parent.spawn_depth + 1 <= swarm.max_depth;
--   live agents <= max_agents; step_count <= max_steps; the swarm's steps
--   <= max_total_steps; its cost units <= max_cost_units when set.
-- Refusals: CN004 scope violation, CN010 limit exceeded, CN001 illegal
-- transition, CN007 immutable or append-only, CN011 state conflict.

-- The state machines are data that only migrations change.
DO $guards$
DECLARE
    machine_table text;
BEGIN
    FOREACH machine_table IN ARRAY ARRAY['swarm_statuses', 'swarm_transitions', 'agent_statuses', 'agent_transitions'] LOOP
        EXECUTE format(
            'CREATE OR REPLACE TRIGGER state_machine_is_read_only '
            'BEFORE INSERT OR UPDATE OR DELETE ON concord.%I '
            'FOR EACH ROW EXECUTE FUNCTION concord._refuse_write(%L, %L)',
            machine_table,
            'is part of the state machine and changes only through a migration',
            'Write a migration that disables this table''s guard triggers around its change.');
        EXECUTE format(
            'CREATE OR REPLACE TRIGGER state_machine_is_not_truncated '
            'BEFORE TRUNCATE ON concord.%I '
            'FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write(%L, %L)',
            machine_table,
            'is part of the state machine and changes only through a migration',
            'Write a migration that disables this table''s guard triggers around its change.');
    END LOOP;
END
$guards$;

-- ---------------------------------------------------------------------------
-- Pure decisions
-- ---------------------------------------------------------------------------

-- Is status terminal in the machine of kind ('swarm' or 'agent')?
CREATE OR REPLACE FUNCTION concord._agentic_terminal(kind text, status text)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF kind = 'swarm' THEN
        RETURN coalesce((SELECT s.terminal FROM concord.swarm_statuses AS s WHERE s.status = _agentic_terminal.status),
                        false);
    END IF;
    RETURN coalesce((SELECT s.terminal FROM concord.agent_statuses AS s WHERE s.status = _agentic_terminal.status),
                    false);
END
$$;

-- Refuses from_status -> to_status unless it is an edge of the machine of
-- kind (CN001), naming the legal next statuses.
CREATE OR REPLACE FUNCTION concord._agentic_transition(
    kind text, object_id uuid, from_status text, to_status text
)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    legal boolean;
    next_statuses text;
BEGIN
    IF kind = 'swarm' THEN
        legal := EXISTS (SELECT 1 FROM concord.swarm_transitions AS t
                         WHERE t.from_status = _agentic_transition.from_status
                           AND t.to_status = _agentic_transition.to_status);
    ELSE
        legal := EXISTS (SELECT 1 FROM concord.agent_transitions AS t
                         WHERE t.from_status = _agentic_transition.from_status
                           AND t.to_status = _agentic_transition.to_status);
    END IF;
    IF NOT legal THEN
        -- the legal next statuses, for the message only
        IF kind = 'swarm' THEN
            SELECT string_agg(t.to_status, ', ' ORDER BY t.to_status) INTO next_statuses
            FROM concord.swarm_transitions AS t WHERE t.from_status = _agentic_transition.from_status;
        ELSE
            SELECT string_agg(t.to_status, ', ' ORDER BY t.to_status) INTO next_statuses
            FROM concord.agent_transitions AS t WHERE t.from_status = _agentic_transition.from_status;
        END IF;
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            MESSAGE = format('illegal transition: %s run %s cannot go from %s to %s', kind, object_id,
                             coalesce(from_status, 'NULL'), coalesce(to_status, 'NULL')),
            DETAIL = format('From %s a %s run may go to: %s.', from_status, kind,
                            coalesce(next_statuses, 'nothing: it is terminal')),
            HINT = format('The edges are listed in concord.%s_transitions.', kind);
    END IF;
END
$$;

-- Why memory scope child is not within parent (spec 61.1), or NULL.
CREATE OR REPLACE FUNCTION concord._memory_scope_excess(child jsonb, parent jsonb)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    extra text[];
BEGIN
    IF child IS NULL OR child = '{}'::jsonb THEN
        RETURN NULL;
    END IF;
    IF parent IS NULL OR parent = '{}'::jsonb THEN
        RETURN 'the parent has no memory access, so the child can have none';
    END IF;
    IF child ->> 'subject_type' IS DISTINCT FROM parent ->> 'subject_type'
       OR child ->> 'subject_id' IS DISTINCT FROM parent ->> 'subject_id' THEN
        RETURN format('memory subject %s:%s is not the parent''s %s:%s', child ->> 'subject_type',
                      child ->> 'subject_id', parent ->> 'subject_type', parent ->> 'subject_id');
    END IF;
    extra := ARRAY(
        SELECT c.item FROM jsonb_array_elements_text(child -> 'allowed_memory_types') AS c (item)
        EXCEPT
        SELECT p.item FROM jsonb_array_elements_text(parent -> 'allowed_memory_types') AS p (item)
    );
    IF cardinality(extra) > 0 THEN
        RETURN format('memory types %s are not in the parent''s allowed_memory_types %s',
                      array_to_string(extra, ', '), parent -> 'allowed_memory_types');
    END IF;
    IF (child -> 'allow_semantic_retrieval')::boolean AND NOT (parent -> 'allow_semantic_retrieval')::boolean THEN
        RETURN 'semantic retrieval is not allowed to the parent';
    END IF;
    IF (child ->> 'max_results')::numeric > (parent ->> 'max_results')::numeric THEN
        RETURN format('max_results %s is above the parent''s %s', child ->> 'max_results', parent ->> 'max_results');
    END IF;
    RETURN NULL;
END
$$;

-- Every way a would-be child exceeds its parent's scopes, as
-- [{code: CN004, reason}] (empty when it fits). Pure: also the spawn policy.
CREATE OR REPLACE FUNCTION concord._scope_excess(
    parent concord.agent_runs,
    agent_role text,
    allowed_tools text[],
    allowed_connectors text[],
    allowed_child_roles text[],
    memory_scope jsonb
)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    problems jsonb := '[]'::jsonb;
    extra text[];
    memory_problem text := concord._memory_scope_excess(memory_scope, parent.memory_scope);
BEGIN
    IF cardinality(parent.allowed_child_roles) > 0 AND NOT agent_role = ANY (parent.allowed_child_roles) THEN
        problems := problems || jsonb_build_object('code', 'CN004', 'scope', 'agent_role',
            'reason', format('role %s is not one of the child roles agent %s may spawn (%s)', agent_role,
                             parent.agent_run_id, array_to_string(parent.allowed_child_roles, ', ')));
    END IF;
    extra := ARRAY(SELECT unnest(allowed_tools) EXCEPT SELECT unnest(parent.allowed_tools));
    IF cardinality(extra) > 0 THEN
        problems := problems || jsonb_build_object('code', 'CN004', 'scope', 'allowed_tools',
            'reason', format('tools %s are outside the parent''s allowed_tools (%s)',
                             array_to_string(extra, ', '), array_to_string(parent.allowed_tools, ', ')));
    END IF;
    extra := ARRAY(SELECT unnest(allowed_connectors) EXCEPT SELECT unnest(parent.allowed_connectors));
    IF cardinality(extra) > 0 THEN
        problems := problems || jsonb_build_object('code', 'CN004', 'scope', 'allowed_connectors',
            'reason', format('connectors %s are outside the parent''s allowed_connectors (%s)',
                             array_to_string(extra, ', '), array_to_string(parent.allowed_connectors, ', ')));
    END IF;
    IF cardinality(parent.allowed_child_roles) > 0 THEN
        -- an empty list inherits the parent's (see _agent_runs_before_insert)
        extra := ARRAY(SELECT unnest(allowed_child_roles) EXCEPT SELECT unnest(parent.allowed_child_roles));
        IF cardinality(extra) > 0 THEN
            problems := problems || jsonb_build_object('code', 'CN004', 'scope', 'allowed_child_roles',
                'reason', format('child roles %s are outside the parent''s allowed_child_roles (%s)',
                                 array_to_string(extra, ', '), array_to_string(parent.allowed_child_roles, ', ')));
        END IF;
    END IF;
    IF memory_problem IS NOT NULL THEN
        problems := problems || jsonb_build_object('code', 'CN004', 'scope', 'memory_scope',
                                                   'reason', memory_problem);
    END IF;
    RETURN problems;
END
$$;

-- Raises the first problem of a [{code, reason}] list, with every reason in
-- DETAIL.
CREATE OR REPLACE FUNCTION concord._raise_problems(problems jsonb, what text)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF jsonb_array_length(coalesce(problems, '[]'::jsonb)) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = problems -> 0 ->> 'code',
            MESSAGE = format('%s refused: %s', what, problems -> 0 ->> 'reason'),
            DETAIL = (SELECT string_agg(p.item ->> 'reason', '; ') FROM jsonb_array_elements(problems) AS p (item));
    END IF;
END
$$;

-- The single writer of domain_events rows for the agentic record.
CREATE OR REPLACE FUNCTION concord._agent_audit(
    event_type text,
    purpose text,
    command_id uuid,
    swarm_run_id uuid,
    agent_run_id uuid,
    target_type text,
    target_id text,
    from_status text,
    to_status text,
    payload jsonb,
    trace_id text
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    INSERT INTO concord.domain_events (
        command_id, agent_run_id, swarm_run_id, purpose, event_type, target_type, target_id,
        from_status, to_status, reason, payload, actor, trace_id
    ) VALUES (
        _agent_audit.command_id, _agent_audit.agent_run_id, _agent_audit.swarm_run_id, _agent_audit.purpose,
        _agent_audit.event_type, _agent_audit.target_type, _agent_audit.target_id,
        _agent_audit.from_status, _agent_audit.to_status, nullif(current_setting('concord.reason', true), ''),
        coalesce(_agent_audit.payload, '{}'), concord._actor(),
        coalesce(_agent_audit.trace_id, concord._new_trace_id())
    );
END
$$;

-- ---------------------------------------------------------------------------
-- swarm_runs
-- ---------------------------------------------------------------------------

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
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('command %s not found', command_id);
    END IF;
    IF c.status NOT IN ('validated', 'approved', 'queued', 'running') OR c.cancellation_requested_at IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
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
            MESSAGE = format('illegal transition: a new swarm run starts in created, not %s',
                             coalesce(NEW.status, 'NULL')),
            HINT = 'Start swarms with concord.start_swarm(command_id, spec).';
    END IF;
    IF NEW.coordinator_agent_run_id IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
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
                MESSAGE = format('swarm run %s: live_agents, total_steps and cost_units are derived from its agent '
                                 'runs (%s, %s, %s), not written', OLD.swarm_run_id, truth.live_agents,
                                 truth.total_steps, truth.cost_units);
        END IF;
        IF NEW.live_agents > NEW.max_agents THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN010',
                MESSAGE = format('limit exceeded: swarm run %s may have %s live agents (max_agents) and this would '
                                 'make %s', OLD.swarm_run_id, NEW.max_agents, NEW.live_agents),
                HINT = 'Wait for an agent of the swarm to finish, or start the swarm with a higher max_agents.';
        END IF;
        IF NEW.total_steps > NEW.max_total_steps THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN010',
                MESSAGE = format('limit exceeded: swarm run %s has used all %s of its steps (max_total_steps)',
                                 OLD.swarm_run_id, NEW.max_total_steps);
        END IF;
        IF NEW.max_cost_units IS NOT NULL AND NEW.cost_units > NEW.max_cost_units THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN010',
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
        ELSIF concord._agentic_terminal('swarm', NEW.status) THEN
            PERFORM concord._close_swarm_agents(NEW);
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

-- ---------------------------------------------------------------------------
-- agent_runs
-- ---------------------------------------------------------------------------

-- Every tool an agent is given must be registered (CN009).
CREATE OR REPLACE FUNCTION concord._require_tools(tools text[])
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    unknown text[];
BEGIN
    unknown := ARRAY(SELECT unnest(tools) EXCEPT SELECT t.tool_name FROM concord.tools AS t);
    IF cardinality(unknown) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN009',
            MESSAGE = format('unknown tools: %s', array_to_string(unknown, ', ')),
            HINT = 'Register them first with concord.register_tool(spec); see the view concord.tool_catalog.';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION concord._agent_runs_before_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    swarm concord.swarm_runs%ROWTYPE;
    parent concord.agent_runs%ROWTYPE;
BEGIN
    IF NEW.status IS DISTINCT FROM 'created' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            MESSAGE = format('illegal transition: a new agent run starts in created, not %s', coalesce(NEW.status, 'NULL')),
            HINT = 'Agents are created by concord.start_swarm and concord.spawn_subagent.';
    END IF;
    SELECT * INTO swarm FROM concord.swarm_runs AS s WHERE s.swarm_run_id = NEW.swarm_run_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('swarm run %s not found', NEW.swarm_run_id);
    END IF;
    IF concord._agentic_terminal('swarm', swarm.status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('swarm run %s is %s: it takes no new agents', swarm.swarm_run_id, swarm.status);
    END IF;
    -- a malformed list is the check constraint's to refuse (23514)
    IF concord._is_name_list(NEW.allowed_tools) THEN
        PERFORM concord._require_tools(NEW.allowed_tools);
    END IF;
    IF NEW.parent_agent_run_id IS NULL THEN
        IF NEW.spawn_depth IS DISTINCT FROM 0 THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN004',
                MESSAGE = format('scope violation: an agent run without a parent is its swarm''s root, at depth 0, '
                                 'not %s', NEW.spawn_depth);
        END IF;
    ELSE
        -- the parent cannot finish while its child is being spawned
        SELECT * INTO parent FROM concord.agent_runs AS a WHERE a.agent_run_id = NEW.parent_agent_run_id FOR SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('parent agent run %s not found', NEW.parent_agent_run_id);
        END IF;
        IF parent.swarm_run_id <> NEW.swarm_run_id THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN004',
                MESSAGE = format('scope violation: parent agent run %s belongs to swarm run %s, not %s',
                                 parent.agent_run_id, parent.swarm_run_id, NEW.swarm_run_id);
        END IF;
        IF concord._agentic_terminal('agent', parent.status) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                MESSAGE = format('parent agent run %s is %s: a finished agent spawns nothing', parent.agent_run_id,
                                 parent.status);
        END IF;
        IF NEW.spawn_depth IS DISTINCT FROM parent.spawn_depth + 1 THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN004',
                MESSAGE = format('scope violation: a child of an agent at depth %s is at depth %s, not %s',
                                 parent.spawn_depth, parent.spawn_depth + 1, coalesce(NEW.spawn_depth::text, 'NULL'));
        END IF;
        IF NEW.spawn_depth > swarm.max_depth THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN010',
                MESSAGE = format('limit exceeded: depth %s is beyond swarm run %s''s max_depth %s',
                                 NEW.spawn_depth, swarm.swarm_run_id, swarm.max_depth),
                HINT = 'Parent depth + 1 must be at most max_depth (spec 71.3).';
        END IF;
        -- no list of child roles: the parent's (a subset, never "any")
        IF cardinality(NEW.allowed_child_roles) = 0 THEN
            NEW.allowed_child_roles := parent.allowed_child_roles;
        END IF;
        PERFORM concord._raise_problems(
            concord._scope_excess(parent, NEW.agent_role, NEW.allowed_tools, NEW.allowed_connectors,
                                  NEW.allowed_child_roles, NEW.memory_scope),
            format('scope violation: agent run %s (%s)', NEW.agent_run_id, NEW.agent_name));
        -- a swarm with agent templates spawns only their roles
        IF jsonb_array_length(swarm.agent_templates) > 0 AND NOT EXISTS (
               SELECT 1 FROM jsonb_array_elements(swarm.agent_templates) AS t (item)
               WHERE t.item ->> 'agent_role' = NEW.agent_role) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN004',
                MESSAGE = format('scope violation: role %s is not a role of swarm %s''s agent templates',
                                 NEW.agent_role, swarm.name);
        END IF;
    END IF;
    NEW.step_count := 0;
    NEW.cost_units := 0;
    -- an agent of a swarm with a runtime is run by its DBOS workflow
    NEW.dbos_workflow_id := CASE WHEN swarm.runtime IS NOT NULL THEN 'agent:' || NEW.agent_run_id END;
    NEW.result := NULL;
    NEW.error := NULL;
    NEW.trace_id := coalesce(nullif(NEW.trace_id, ''), swarm.trace_id);
    NEW.created_at := now();
    NEW.updated_at := now();
    NEW.started_at := NULL;
    NEW.completed_at := NULL;
    NEW.cancelled_at := NULL;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._agent_runs_before_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    truth record;
BEGIN
    IF (NEW.agent_run_id, NEW.command_id, NEW.swarm_run_id, NEW.parent_agent_run_id, NEW.agent_name,
        NEW.agent_role, NEW.agent_version, NEW.goal, NEW.allowed_tools, NEW.allowed_connectors,
        NEW.allowed_child_roles, NEW.memory_scope, NEW.context_scope, NEW.constraints, NEW.max_steps,
        NEW.spawn_depth, NEW.model_config, NEW.runtime_config, NEW.trace_id, NEW.created_at)
       IS DISTINCT FROM
       (OLD.agent_run_id, OLD.command_id, OLD.swarm_run_id, OLD.parent_agent_run_id, OLD.agent_name,
        OLD.agent_role, OLD.agent_version, OLD.goal, OLD.allowed_tools, OLD.allowed_connectors,
        OLD.allowed_child_roles, OLD.memory_scope, OLD.context_scope, OLD.constraints, OLD.max_steps,
        OLD.spawn_depth, OLD.model_config, OLD.runtime_config, OLD.trace_id, OLD.created_at) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('agent run %s: its identity, goal, scopes and limits are bound at spawn and immutable',
                             OLD.agent_run_id),
            HINT = 'Spawn another agent for other scopes (spec 61.2).';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM concord._agentic_transition('agent', OLD.agent_run_id, OLD.status, NEW.status);
        IF NEW.status = 'succeeded' AND EXISTS (
               SELECT 1 FROM concord.agent_runs AS k
               INNER JOIN concord.agent_statuses AS s ON s.status = k.status
               WHERE k.parent_agent_run_id = OLD.agent_run_id AND NOT s.terminal) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                MESSAGE = format('agent run %s still has live children: it cannot succeed before they finish',
                                 OLD.agent_run_id);
        END IF;
        NEW.started_at := CASE WHEN NEW.status = 'running' THEN coalesce(OLD.started_at, now())
                               ELSE OLD.started_at END;
        NEW.completed_at := CASE WHEN concord._agentic_terminal('agent', NEW.status) THEN now() END;
        NEW.cancelled_at := CASE WHEN NEW.status = 'cancelled' THEN now() END;
    ELSIF concord._agentic_terminal('agent', OLD.status)
          AND (NEW.result, NEW.error, NEW.dbos_workflow_id, NEW.metadata, NEW.step_count, NEW.cost_units)
              IS DISTINCT FROM (OLD.result, OLD.error, OLD.dbos_workflow_id, OLD.metadata, OLD.step_count,
                                OLD.cost_units) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('agent run %s is %s: a finished agent run does not change', OLD.agent_run_id, OLD.status);
    ELSE
        NEW.started_at := OLD.started_at;
        NEW.completed_at := OLD.completed_at;
        NEW.cancelled_at := OLD.cancelled_at;
    END IF;
    IF (NEW.step_count, NEW.cost_units) IS DISTINCT FROM (OLD.step_count, OLD.cost_units) THEN
        SELECT count(*) AS step_count, coalesce(sum(st.cost_units), 0) AS cost_units INTO truth
        FROM concord.agent_steps AS st WHERE st.agent_run_id = NEW.agent_run_id;
        IF current_setting('concord.counting', true) = 'on' THEN
            NEW.step_count := truth.step_count;
            NEW.cost_units := truth.cost_units;
        END IF;
        IF NEW.step_count > NEW.max_steps THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN010',
                MESSAGE = format('limit exceeded: agent run %s (%s) may take %s steps (max_steps), not %s',
                                 OLD.agent_run_id, OLD.agent_name, NEW.max_steps, NEW.step_count);
        END IF;
        IF (NEW.step_count, NEW.cost_units) IS DISTINCT FROM (truth.step_count::integer, truth.cost_units) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN007',
                MESSAGE = format('agent run %s: step_count and cost_units are derived from its steps (%s, %s), '
                                 'not written', OLD.agent_run_id, truth.step_count, truth.cost_units);
        END IF;
    END IF;
    IF NEW.dbos_workflow_id IS DISTINCT FROM OLD.dbos_workflow_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('agent run %s: its workflow (%s) is bound when it is created', OLD.agent_run_id,
                             coalesce(OLD.dbos_workflow_id, 'none: its swarm has no runtime'));
    END IF;
    NEW.updated_at := greatest(now(), OLD.created_at);
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._agent_runs_after_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    swarm concord.swarm_runs%ROWTYPE;
    was_live boolean := TG_OP = 'INSERT' OR NOT concord._agentic_terminal('agent', OLD.status);
    is_live boolean := NOT concord._agentic_terminal('agent', NEW.status);
BEGIN
    -- the swarm's derived counters (its trigger checks max_agents,
    -- max_total_steps and max_cost_units, CN010)
    IF TG_OP = 'INSERT' OR was_live <> is_live OR NEW.step_count <> OLD.step_count
       OR NEW.cost_units <> OLD.cost_units THEN
        -- ask for a recount (see _swarm_runs_before_update): the -1 only
        -- marks the counters as changed
        PERFORM set_config('concord.counting', 'on', true);
        UPDATE concord.swarm_runs AS s SET live_agents = -1
        WHERE s.swarm_run_id = NEW.swarm_run_id
        RETURNING * INTO swarm;
        PERFORM set_config('concord.counting', 'off', true);
    ELSE
        SELECT * INTO swarm FROM concord.swarm_runs AS s WHERE s.swarm_run_id = NEW.swarm_run_id;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM concord._agent_audit(
            'agent_run_created', 'audit', NEW.command_id, NEW.swarm_run_id, NEW.agent_run_id, 'agent_run',
            NEW.agent_run_id::text, null, NEW.status,
            jsonb_build_object('agent_name', NEW.agent_name, 'agent_role', NEW.agent_role,
                               'parent_agent_run_id', NEW.parent_agent_run_id, 'spawn_depth', NEW.spawn_depth,
                               'allowed_tools', NEW.allowed_tools, 'allowed_connectors', NEW.allowed_connectors,
                               'memory_scope', NEW.memory_scope, 'max_steps', NEW.max_steps),
            NEW.trace_id);
        -- an agent of a swarm with a runtime runs as a DBOS workflow (spec 85.1)
        IF NEW.dbos_workflow_id IS NOT NULL THEN
            PERFORM concord._enqueue_agent_run(NEW);
        END IF;
        RETURN NULL;
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM concord._agent_audit(
            'agent_run_status_changed', 'audit', NEW.command_id, NEW.swarm_run_id, NEW.agent_run_id, 'agent_run',
            NEW.agent_run_id::text, OLD.status, NEW.status,
            jsonb_strip_nulls(jsonb_build_object('error', NEW.error, 'result', NEW.result)),
            NEW.trace_id);
        UPDATE concord.agent_invocations AS i SET
            status = CASE WHEN NEW.status IN ('succeeded', 'failed', 'cancelled', 'expired', 'created') THEN NEW.status
                          ELSE 'running' END,
            completed_at = CASE WHEN NOT is_live THEN now() END
        WHERE i.child_agent_run_id = NEW.agent_run_id;
        -- spec 64: a finished agent leaves no live child; a cancelled (or
        -- failed, or expired) one also cancels what it asked for
        IF NOT is_live AND was_live THEN
            PERFORM concord._cancel_agent_descendants(NEW);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER agent_runs_before_insert
BEFORE INSERT ON concord.agent_runs
FOR EACH ROW EXECUTE FUNCTION concord._agent_runs_before_insert();

CREATE OR REPLACE TRIGGER agent_runs_before_update
BEFORE UPDATE ON concord.agent_runs
FOR EACH ROW EXECUTE FUNCTION concord._agent_runs_before_update();

CREATE OR REPLACE TRIGGER agent_runs_after_write
AFTER INSERT OR UPDATE ON concord.agent_runs
FOR EACH ROW EXECUTE FUNCTION concord._agent_runs_after_write();

-- ---------------------------------------------------------------------------
-- agent_invocations: scopes are the child's, as bound at spawn
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION concord._agent_invocations_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    child concord.agent_runs%ROWTYPE;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF (NEW.invocation_id, NEW.swarm_run_id, NEW.parent_agent_run_id, NEW.child_agent_run_id, NEW.command_id,
            NEW.invocation_type, NEW.delegated_goal, NEW.constraints, NEW.allowed_tools, NEW.allowed_connectors,
            NEW.memory_scope, NEW.created_at)
           IS DISTINCT FROM
           (OLD.invocation_id, OLD.swarm_run_id, OLD.parent_agent_run_id, OLD.child_agent_run_id, OLD.command_id,
            OLD.invocation_type, OLD.delegated_goal, OLD.constraints, OLD.allowed_tools, OLD.allowed_connectors,
            OLD.memory_scope, OLD.created_at) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN007',
                MESSAGE = format('agent invocation %s: only its status changes (with its child''s)', OLD.invocation_id);
        END IF;
        IF NEW.status IS DISTINCT FROM OLD.status
           AND NOT EXISTS (SELECT 1 FROM concord.agent_runs AS a
                           WHERE a.agent_run_id = NEW.child_agent_run_id
                             AND NEW.status = CASE WHEN a.status IN ('succeeded', 'failed', 'cancelled', 'expired', 'created')
                                                   THEN a.status ELSE 'running' END) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN007',
                MESSAGE = format('agent invocation %s: its status follows its child agent run''s', OLD.invocation_id);
        END IF;
        RETURN NEW;
    END IF;
    SELECT * INTO child FROM concord.agent_runs AS a WHERE a.agent_run_id = NEW.child_agent_run_id;
    IF NOT FOUND OR child.parent_agent_run_id IS DISTINCT FROM NEW.parent_agent_run_id
       OR child.swarm_run_id IS DISTINCT FROM NEW.swarm_run_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            MESSAGE = format('agent invocation: child agent run %s is not a child of %s in swarm run %s',
                             NEW.child_agent_run_id, NEW.parent_agent_run_id, NEW.swarm_run_id);
    END IF;
    -- what the invocation grants is exactly what the child holds
    NEW.allowed_tools := child.allowed_tools;
    NEW.allowed_connectors := child.allowed_connectors;
    NEW.memory_scope := child.memory_scope;
    NEW.command_id := child.command_id;
    NEW.status := CASE WHEN child.status IN ('succeeded', 'failed', 'cancelled', 'expired', 'created') THEN child.status
                       ELSE 'running' END;
    NEW.created_at := now();
    NEW.completed_at := NULL;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._agent_invocations_after_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._agent_audit(
        'agent_invoked', 'audit', NEW.command_id, NEW.swarm_run_id, NEW.parent_agent_run_id, 'agent_invocation',
        NEW.invocation_id::text, null, NEW.status,
        jsonb_build_object('child_agent_run_id', NEW.child_agent_run_id, 'invocation_type', NEW.invocation_type,
                           'delegated_goal', NEW.delegated_goal, 'allowed_tools', NEW.allowed_tools,
                           'allowed_connectors', NEW.allowed_connectors, 'memory_scope', NEW.memory_scope),
        null);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER agent_invocations_before_write
BEFORE INSERT OR UPDATE ON concord.agent_invocations
FOR EACH ROW EXECUTE FUNCTION concord._agent_invocations_before_write();

CREATE OR REPLACE TRIGGER agent_invocations_after_insert
AFTER INSERT ON concord.agent_invocations
FOR EACH ROW EXECUTE FUNCTION concord._agent_invocations_after_insert();

-- ---------------------------------------------------------------------------
-- agent_steps: append-only; numbered 1, 2, ... per run; within max_steps
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION concord._agent_steps_before_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
BEGIN
    -- one step at a time per run: the index and the limit are decided under the lock
    SELECT * INTO run FROM concord.agent_runs AS a WHERE a.agent_run_id = NEW.agent_run_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('agent run %s not found', NEW.agent_run_id);
    END IF;
    IF concord._agentic_terminal('agent', run.status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('agent run %s is %s: it takes no more steps', run.agent_run_id, run.status);
    END IF;
    IF run.step_count >= run.max_steps THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN010',
            MESSAGE = format('limit exceeded: agent run %s (%s) has used all %s of its steps (max_steps)',
                             run.agent_run_id, run.agent_name, run.max_steps),
            HINT = 'Finish the run; a step budget is bound at spawn.';
    END IF;
    -- a step that says a tool was used (or a command made) for the agent
    -- must be true to its scope, whoever writes it
    IF NEW.decision NOT IN ('denied', 'invalid', 'recorded') AND NEW.tool_name IS NOT NULL
       AND NOT NEW.tool_name = ANY (run.allowed_tools) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            MESSAGE = format('scope violation: a step of agent run %s cannot have used tool %s, which is not in its '
                             'allowed_tools', run.agent_run_id, NEW.tool_name);
    END IF;
    IF NEW.created_command_id IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM concord.commands AS c
           WHERE c.command_id = NEW.created_command_id AND c.requested_by = 'agent:' || run.agent_run_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            MESSAGE = format('scope violation: command %s was not requested by agent run %s',
                             NEW.created_command_id, run.agent_run_id);
    END IF;
    NEW.step_index := run.step_count + 1;
    NEW.command_id := run.command_id;
    NEW.swarm_run_id := run.swarm_run_id;
    NEW.created_at := now();
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._agent_steps_after_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
BEGIN
    -- a recount (see _agent_runs_before_update)
    PERFORM set_config('concord.counting', 'on', true);
    UPDATE concord.agent_runs AS a SET step_count = -1
    WHERE a.agent_run_id = NEW.agent_run_id
    RETURNING * INTO run;
    PERFORM set_config('concord.counting', 'off', true);
    INSERT INTO concord.domain_events (
        command_id, agent_run_id, swarm_run_id, purpose, event_type, target_type, target_id,
        reason, payload, actor, trace_id, step_index, tool_name, latency_ms, token_usage, cost_units
    ) VALUES (
        NEW.command_id, NEW.agent_run_id, NEW.swarm_run_id, 'agent_step', 'agent_step_recorded', 'agent_step',
        NEW.agent_step_id::text, NEW.reason,
        jsonb_strip_nulls(jsonb_build_object(
            'action_type', NEW.action_type, 'decision', NEW.decision, 'action_payload', NEW.action_payload,
            'created_command_id', NEW.created_command_id, 'created_approval_id', NEW.created_approval_id,
            'created_artifact_id', NEW.created_artifact_id, 'created_memory_id', NEW.created_memory_id,
            'child_agent_run_id', NEW.child_agent_run_id, 'output', NEW.output)),
        concord._actor('agent:' || NEW.agent_run_id), run.trace_id, NEW.step_index, NEW.tool_name,
        NEW.latency_ms, NEW.token_usage, NEW.cost_units
    );
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER agent_steps_before_insert
BEFORE INSERT ON concord.agent_steps
FOR EACH ROW EXECUTE FUNCTION concord._agent_steps_before_insert();

CREATE OR REPLACE TRIGGER agent_steps_after_insert
AFTER INSERT ON concord.agent_steps
FOR EACH ROW EXECUTE FUNCTION concord._agent_steps_after_insert();

-- ---------------------------------------------------------------------------
-- agent_messages: append-only, from live agents
-- ---------------------------------------------------------------------------

-- The live agent run agent_run_id, share-locked so that it cannot finish
-- while what it is doing (doing: "writes no memory", ...) is written; CN006
-- when unknown, CN011 when it has finished.
CREATE OR REPLACE FUNCTION concord._live_agent(agent_run_id uuid, doing text)
RETURNS concord.agent_runs
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
BEGIN
    SELECT * INTO run FROM concord.agent_runs AS a WHERE a.agent_run_id = _live_agent.agent_run_id FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('agent run %s not found', agent_run_id);
    END IF;
    IF concord._agentic_terminal('agent', run.status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('agent run %s is %s: a finished agent %s', run.agent_run_id, run.status, doing);
    END IF;
    RETURN run;
END
$$;

CREATE OR REPLACE FUNCTION concord._agent_messages_before_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
BEGIN
    run := concord._live_agent(NEW.agent_run_id, 'sends no more messages');
    NEW.swarm_run_id := run.swarm_run_id;
    NEW.parent_agent_run_id := run.parent_agent_run_id;
    NEW.created_at := now();
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._agent_messages_after_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._agent_audit(
        'agent_message_recorded', 'event',
        (SELECT a.command_id FROM concord.agent_runs AS a WHERE a.agent_run_id = NEW.agent_run_id),
        NEW.swarm_run_id, NEW.agent_run_id, 'agent_message', NEW.agent_message_id::text, null, null,
        jsonb_build_object('message_role', NEW.message_role, 'message_type', NEW.message_type,
                           'length', length(NEW.content)),
        (SELECT a.trace_id FROM concord.agent_runs AS a WHERE a.agent_run_id = NEW.agent_run_id));
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER agent_messages_before_insert
BEFORE INSERT ON concord.agent_messages
FOR EACH ROW EXECUTE FUNCTION concord._agent_messages_before_insert();

CREATE OR REPLACE TRIGGER agent_messages_after_insert
AFTER INSERT ON concord.agent_messages
FOR EACH ROW EXECUTE FUNCTION concord._agent_messages_after_insert();

-- Durable history: no row of the agentic record is deleted; steps and
-- messages are never rewritten.
DO $history$
DECLARE
    history_table text;
BEGIN
    FOREACH history_table IN ARRAY ARRAY['swarm_runs', 'agent_runs', 'agent_invocations', 'agent_steps', 'agent_messages'] LOOP
        EXECUTE format(
            'CREATE OR REPLACE TRIGGER %s_are_not_deleted BEFORE DELETE ON concord.%I '
            'FOR EACH ROW EXECUTE FUNCTION concord._refuse_write(%L)',
            history_table, history_table, 'are durable history');
        EXECUTE format(
            'CREATE OR REPLACE TRIGGER %s_are_not_truncated BEFORE TRUNCATE ON concord.%I '
            'FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write(%L)',
            history_table, history_table, 'are durable history');
    END LOOP;
END
$history$;

CREATE OR REPLACE TRIGGER agent_steps_are_append_only
BEFORE UPDATE ON concord.agent_steps
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('is append-only', 'Record a new step instead.');

CREATE OR REPLACE TRIGGER agent_messages_are_append_only
BEFORE UPDATE ON concord.agent_messages
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write(
    'is append-only', 'Record a new message instead.'
);

-- ---------------------------------------------------------------------------
-- Cancellation cascade (spec 64)
-- ---------------------------------------------------------------------------

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
