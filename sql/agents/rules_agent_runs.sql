-- agent_runs: subset scopes, depth, live-agent and step limits, the state
-- machine and the audit, whoever writes.

-- The shape checks of agent_runs' CHECK constraints (migration 0004), in
-- PL/pgSQL: PostgreSQL evaluates every CHECK at every UPDATE of the row, and
-- the step counter updates it at each step. A SQL function with a SET clause
-- is not inlined and its body was planned again for each statement; a
-- PL/pgSQL body keeps its plan for the session. Same expressions, same
-- answers.
CREATE OR REPLACE FUNCTION concord._is_name_list(names text[])
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN names IS NOT NULL
       AND array_position(names, NULL) IS NULL
       AND NOT EXISTS (SELECT 1 FROM unnest(names) AS n (name)
                       WHERE n.name !~ '^[A-Za-z][A-Za-z0-9_.:-]*$' OR length(n.name) > 128)
       AND cardinality(names) = (SELECT count(DISTINCT n.name) FROM unnest(names) AS n (name));
END
$$;

CREATE OR REPLACE FUNCTION concord._is_memory_scope(scope jsonb)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN scope IS NOT NULL AND jsonb_typeof(scope) = 'object' AND (
        scope = '{}'::jsonb
        OR (
            (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(scope) AS k)
            = ARRAY['allow_semantic_retrieval', 'allowed_memory_types', 'max_results',
                    'subject_id', 'subject_type']
            AND jsonb_typeof(scope -> 'subject_type') = 'string'
            AND btrim(scope ->> 'subject_type') <> ''
            AND jsonb_typeof(scope -> 'subject_id') = 'string'
            AND btrim(scope ->> 'subject_id') <> ''
            AND jsonb_typeof(scope -> 'allowed_memory_types') = 'array'
            AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(scope -> 'allowed_memory_types') AS t (item)
                            WHERE jsonb_typeof(t.item) <> 'string' OR btrim(t.item #>> '{}') = '')
            AND jsonb_typeof(scope -> 'allow_semantic_retrieval') = 'boolean'
            AND jsonb_typeof(scope -> 'max_results') = 'number'
            AND (scope ->> 'max_results')::numeric = floor((scope ->> 'max_results')::numeric)
            AND (scope ->> 'max_results')::numeric BETWEEN 0 AND 1000
        )
    );
END
$$;

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
            CONSTRAINT = 'agent_tools_are_registered', TABLE = 'agent_runs',
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
            CONSTRAINT = 'a_new_agent_run_starts_created', TABLE = 'agent_runs',
            MESSAGE = format('illegal transition: a new agent run starts in created, not %s', coalesce(NEW.status, 'NULL')),
            HINT = 'Agents are created by concord.start_swarm and concord.spawn_subagent.';
    END IF;
    -- locked (the after-insert recount updates it anyway): a join or a
    -- cancellation in flight is waited for and its status seen, whoever
    -- inserts (an approved spawn run by a worker, a raw insert)
    SELECT * INTO swarm FROM concord.swarm_runs AS s WHERE s.swarm_run_id = NEW.swarm_run_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', CONSTRAINT = 'the_swarm_run_exists', TABLE = 'agent_runs',
            MESSAGE = format('swarm run %s not found', NEW.swarm_run_id);
    END IF;
    IF concord._agentic_terminal('swarm', swarm.status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_finished_swarm_takes_no_new_agents', TABLE = 'agent_runs',
            MESSAGE = format('swarm run %s is %s: it takes no new agents', swarm.swarm_run_id, swarm.status);
    END IF;
    -- once a join has begun its children are what is joined (spec 63, 64)
    IF swarm.status IN ('joining', 'waiting_for_approval') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_joining_swarm_spawns_no_child', TABLE = 'agent_runs',
            MESSAGE = format('swarm run %s is %s: once its join has begun it takes no new agent; finish the '
                             'coordinator with the join''s outcome', swarm.swarm_run_id, swarm.status);
    END IF;
    -- a malformed scope is refused by name before the subset test below
    -- casts its fields (a null or a string there raised a bare 22023)
    IF NEW.memory_scope IS NOT NULL AND NOT concord._is_memory_scope(NEW.memory_scope) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            CONSTRAINT = 'an_agent_run_memory_scope_has_the_spec_61_shape', TABLE = 'agent_runs',
            MESSAGE = format('scope violation: agent run %s (%s) has a malformed memory_scope %s', NEW.agent_run_id,
                             NEW.agent_name, left(NEW.memory_scope::text, 300)),
            HINT = 'A memory scope is {} (no memory access) or {subject_type: non-blank string, subject_id: '
                   'non-blank string, allowed_memory_types: [non-blank strings], allow_semantic_retrieval: '
                   'boolean, max_results: whole number 0..1000} (spec 61.2).';
    END IF;
    -- a malformed list is the check constraint's to refuse (23514)
    IF concord._is_name_list(NEW.allowed_tools) THEN
        PERFORM concord._require_tools(NEW.allowed_tools);
    END IF;
    IF NEW.parent_agent_run_id IS NULL THEN
        IF NEW.spawn_depth IS DISTINCT FROM 0 THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN004',
                CONSTRAINT = 'a_root_agent_run_is_at_depth_zero', TABLE = 'agent_runs',
                MESSAGE = format('scope violation: an agent run without a parent is its swarm''s root, at depth 0, '
                                 'not %s', NEW.spawn_depth);
        END IF;
    ELSE
        -- the parent cannot finish while its child is being spawned
        SELECT * INTO parent FROM concord.agent_runs AS a WHERE a.agent_run_id = NEW.parent_agent_run_id FOR SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'CN006', CONSTRAINT = 'the_parent_agent_run_exists', TABLE = 'agent_runs',
                MESSAGE = format('parent agent run %s not found', NEW.parent_agent_run_id);
        END IF;
        IF parent.swarm_run_id <> NEW.swarm_run_id THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN004',
                CONSTRAINT = 'a_child_is_in_its_parent_swarm', TABLE = 'agent_runs',
                MESSAGE = format('scope violation: parent agent run %s belongs to swarm run %s, not %s',
                                 parent.agent_run_id, parent.swarm_run_id, NEW.swarm_run_id);
        END IF;
        IF concord._agentic_terminal('agent', parent.status) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'a_finished_agent_spawns_nothing', TABLE = 'agent_runs',
                MESSAGE = format('parent agent run %s is %s: a finished agent spawns nothing', parent.agent_run_id,
                                 parent.status);
        END IF;
        IF NEW.spawn_depth IS DISTINCT FROM parent.spawn_depth + 1 THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN004',
                CONSTRAINT = 'a_child_is_one_level_below_its_parent', TABLE = 'agent_runs',
                MESSAGE = format('scope violation: a child of an agent at depth %s is at depth %s, not %s',
                                 parent.spawn_depth, parent.spawn_depth + 1, coalesce(NEW.spawn_depth::text, 'NULL'));
        END IF;
        IF NEW.spawn_depth > swarm.max_depth THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN010',
                CONSTRAINT = 'spawn_depth_stays_within_max_depth', TABLE = 'agent_runs',
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
                CONSTRAINT = 'a_child_role_is_a_swarm_template_role', TABLE = 'agent_runs',
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
    truth_steps integer;
    truth_cost numeric;
    step_cost numeric;
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
            CONSTRAINT = 'agent_run_identity_and_scopes_are_immutable', TABLE = 'agent_runs',
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
                CONSTRAINT = 'an_agent_run_succeeds_only_after_its_children_finish', TABLE = 'agent_runs',
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
            CONSTRAINT = 'a_finished_agent_run_never_changes', TABLE = 'agent_runs',
            MESSAGE = format('agent run %s is %s: a finished agent run does not change', OLD.agent_run_id, OLD.status);
    ELSE
        NEW.started_at := OLD.started_at;
        NEW.completed_at := OLD.completed_at;
        NEW.cancelled_at := OLD.cancelled_at;
    END IF;
    IF (NEW.step_count, NEW.cost_units) IS DISTINCT FROM (OLD.step_count, OLD.cost_units) THEN
        -- OLD's counters were the truth when written (this check let them
        -- through); steps are append-only, and each is numbered one past the
        -- count it read under this row's lock (_agent_steps_before_insert,
        -- one_step_per_index), so they run 1..n without gaps. The truth is
        -- OLD's counters plus the steps numbered beyond them, each read by
        -- the unique index: not a recount of every step, whose row security
        -- check (agent_steps_are_seen_with_their_command) the planner turned
        -- into a scan of every command once the run had many steps.
        truth_steps := OLD.step_count;
        truth_cost := OLD.cost_units;
        LOOP
            SELECT st.cost_units INTO step_cost FROM concord.agent_steps AS st
            WHERE st.agent_run_id = NEW.agent_run_id AND st.step_index = truth_steps + 1;
            EXIT WHEN NOT FOUND;
            truth_steps := truth_steps + 1;
            truth_cost := truth_cost + coalesce(step_cost, 0);
        END LOOP;
        SELECT truth_steps AS step_count, truth_cost AS cost_units INTO truth;
        IF current_setting('concord.counting', true) = 'on' THEN
            NEW.step_count := truth.step_count;
            NEW.cost_units := truth.cost_units;
        END IF;
        IF NEW.step_count > NEW.max_steps THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN010',
                CONSTRAINT = 'agent_steps_stay_within_max_steps', TABLE = 'agent_runs',
                MESSAGE = format('limit exceeded: agent run %s (%s) may take %s steps (max_steps), not %s',
                                 OLD.agent_run_id, OLD.agent_name, NEW.max_steps, NEW.step_count);
        END IF;
        IF (NEW.step_count, NEW.cost_units) IS DISTINCT FROM (truth.step_count::integer, truth.cost_units) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN007',
                CONSTRAINT = 'agent_counters_are_derived_from_its_steps', TABLE = 'agent_runs',
                MESSAGE = format('agent run %s: step_count and cost_units are derived from its steps (%s, %s), '
                                 'not written', OLD.agent_run_id, truth.step_count, truth.cost_units);
        END IF;
    END IF;
    IF NEW.dbos_workflow_id IS DISTINCT FROM OLD.dbos_workflow_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'an_agent_run_keeps_its_workflow', TABLE = 'agent_runs',
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
    was_live boolean := true;
    is_live boolean := true;
BEGIN
    -- liveness changes only with the status (a step changes the counters
    -- alone): no status lookups then
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        was_live := TG_OP = 'INSERT' OR NOT concord._agentic_terminal('agent', OLD.status);
        is_live := NOT concord._agentic_terminal('agent', NEW.status);
    END IF;
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

-- Durable history: no row is deleted.
CREATE OR REPLACE TRIGGER agent_runs_are_not_deleted
BEFORE DELETE ON concord.agent_runs
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('are durable history');

CREATE OR REPLACE TRIGGER agent_runs_are_not_truncated
BEFORE TRUNCATE ON concord.agent_runs
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('are durable history');
