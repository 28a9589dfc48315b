-- The agent gateway (spec 16-17, 20, 28, 52-60, 64, 67, 71, 85, 94): "an
-- agent can propose; the framework decides what is allowed". Agents reach
-- tools only through these functions; a command tool becomes a command of
-- its type, with the agent as requester, through validation and policy.
--
-- Answers: a governed refusal (a tool outside the agent's scope, a spawn
-- beyond its parent's scopes or its swarm's limits, a policy denial) is
-- returned as a decision and recorded as a step, so the agent observes it.
-- What cannot be recorded is raised: an unknown run (CN006), a finished one
-- (CN011), an exhausted step budget (CN010), malformed input (CN005/CN008).

-- ---------------------------------------------------------------------------
-- Small helpers
-- ---------------------------------------------------------------------------

-- Why value is not a JSON array of names (see _is_name_list), or NULL.
CREATE OR REPLACE FUNCTION concord._name_list_problem(value jsonb, what text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF value IS NULL THEN
        RETURN NULL;
    END IF;
    IF NOT concord._is_string_list(value) OR NOT concord._is_name_list(concord._text_array(value)) THEN
        RETURN format('%s must be an array of distinct names (letters, digits, _ . : -), not %s', what, value);
    END IF;
    RETURN NULL;
END
$$;

-- Why value is not an integer within lo..hi, or NULL (absent passes).
CREATE OR REPLACE FUNCTION concord._int_problem(value jsonb, what text, lo integer, hi integer)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF value IS NULL THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(value) <> 'number' OR (value #>> '{}')::numeric <> floor((value #>> '{}')::numeric)
       OR (value #>> '{}')::numeric NOT BETWEEN lo AND hi THEN
        RETURN format('%s must be an integer from %s to %s, not %s', what, lo, hi, value);
    END IF;
    RETURN NULL;
END
$$;

-- Why value is not a JSON object, or NULL (absent passes).
CREATE OR REPLACE FUNCTION concord._object_problem(value jsonb, what text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF value IS NOT NULL AND jsonb_typeof(value) <> 'object' THEN
        RETURN format('%s must be a JSON object, not %s', what, jsonb_typeof(value));
    END IF;
    RETURN NULL;
END
$$;

-- Why value is not a non-blank string (matching pattern when given), or NULL.
CREATE OR REPLACE FUNCTION concord._string_problem(
    value jsonb, what text, pattern text DEFAULT NULL
)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF value IS NULL THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(value) <> 'string' OR btrim(value #>> '{}') = ''
       OR (pattern IS NOT NULL AND (value #>> '{}') !~ pattern) THEN
        RETURN format('%s must be a non-blank string%s, not %s', what,
                      CASE WHEN pattern IS NOT NULL THEN ' matching ' || pattern ELSE '' END, value);
    END IF;
    RETURN NULL;
END
$$;

-- Raise CN005 listing every problem (NULLs are no problem).
CREATE OR REPLACE FUNCTION concord._refuse_spec(what text, problems text[])
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    found text[] := array_remove(problems, NULL);
BEGIN
    IF cardinality(found) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            MESSAGE = format('invalid %s: %s', what, array_to_string(found, '; ')),
            DETAIL = array_to_string(found, E'\n');
    END IF;
END
$$;

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
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('agent run %s not found', agent_run_id);
    END IF;
    RETURN run;
END
$$;

-- The agent run, locked for this change; CN006 when unknown, CN011 when it
-- (or its swarm) has finished.
CREATE OR REPLACE FUNCTION concord._lock_live_agent(agent_run_id uuid)
RETURNS concord.agent_runs
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
BEGIN
    run := concord._agent_run(agent_run_id, true);
    IF concord._agentic_terminal('agent', run.status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('agent run %s is %s: a finished agent takes no more actions', agent_run_id, run.status);
    END IF;
    IF (SELECT st.terminal FROM concord.swarm_runs AS s INNER JOIN concord.swarm_statuses AS st ON st.status = s.status
        WHERE s.swarm_run_id = run.swarm_run_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
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
            MESSAGE = format('limit exceeded: agent run %s (%s) has used all %s of its steps (max_steps)',
                             run.agent_run_id, run.agent_name, run.max_steps),
            HINT = 'Finish the run: its step budget is bound at spawn.';
    END IF;
    SELECT * INTO swarm FROM concord.swarm_runs AS s WHERE s.swarm_run_id = run.swarm_run_id;
    IF swarm.total_steps >= swarm.max_total_steps THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN010',
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
-- got (its step's output, marked replayed), or NULL when the key is new. The
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
    IF first.tool_name IS DISTINCT FROM tool_name
       OR (CASE WHEN action ? 'tool_name' THEN first.action_payload -> 'payload' ELSE first.action_payload END)
          IS DISTINCT FROM (CASE WHEN action ? 'tool_name' THEN action -> 'payload' ELSE action END) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN002',
            MESSAGE = format('idempotency key %L is already used by step %s of agent run %s for another action',
                             action ->> 'idempotency_key', first.step_index, run.agent_run_id),
            HINT = 'A key identifies one action: use a new key for a different one.';
    END IF;
    RETURN first.output || jsonb_build_object(
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

-- ---------------------------------------------------------------------------
-- The tool catalog (spec 20)
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION concord._tools_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('tool %s cannot be deleted: agent runs and steps refer to tools by name', OLD.tool_name);
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.execution_mode = 'gateway' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('tool %s is served by the gateway and comes with Concord: it does not change',
                             OLD.tool_name);
    END IF;
    IF NEW.execution_mode = 'gateway' AND TG_OP = 'INSERT' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('gateway tools come with Concord; %s cannot be added', NEW.tool_name),
            HINT = 'Register a command tool: {name, command_type, ...}.';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER tools_before_write
BEFORE INSERT OR UPDATE OR DELETE ON concord.tools
FOR EACH ROW EXECUTE FUNCTION concord._tools_before_write();

CREATE OR REPLACE TRIGGER tools_stamp
BEFORE INSERT OR UPDATE ON concord.tools
FOR EACH ROW EXECUTE FUNCTION concord._catalog_stamp('tool_name', 'version');

CREATE OR REPLACE TRIGGER tools_are_not_truncated
BEFORE TRUNCATE ON concord.tools
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('are referred to by agent runs');

CREATE OR REPLACE FUNCTION concord._tools_after_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._audit(
        'tool_registered', null, null, 'tool', NEW.tool_name, null, null,
        jsonb_build_object('version', NEW.version, 'spec', NEW.spec));
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER tools_after_write
AFTER INSERT OR UPDATE ON concord.tools
FOR EACH ROW EXECUTE FUNCTION concord._tools_after_write();

CREATE OR REPLACE FUNCTION concord.register_tool(spec jsonb)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
DECLARE
    problems text[] := '{}'::text[];
    ct concord.command_types%ROWTYPE;
    conn concord.connectors%ROWTYPE;
    existing concord.tools%ROWTYPE;
    mode text;
    new_name text := spec ->> 'name';
BEGIN
    PERFORM concord._require_spec('tool', spec, ARRAY[
        'name', 'description', 'input_schema', 'output_schema', 'execution_mode', 'risk_level',
        'requires_approval', 'connector', 'capability', 'command_type', 'function_name', 'metadata']);
    problems := ARRAY[
        CASE WHEN spec -> 'name' IS NULL THEN 'name is required' END,
        concord._string_problem(spec -> 'name', 'name', '^[A-Za-z][A-Za-z0-9_.:-]*$'),
        CASE WHEN length(new_name) > 128 THEN 'name has at most 128 characters' END,
        CASE WHEN spec -> 'command_type' IS NULL
             THEN 'command_type is required: a tool becomes a command of that type' END,
        concord._string_problem(spec -> 'command_type', 'command_type'),
        CASE WHEN spec ? 'description' AND jsonb_typeof(spec -> 'description') <> 'string'
             THEN 'description must be a string' END,
        CASE WHEN spec ? 'execution_mode' AND NOT (spec ->> 'execution_mode') IN ('sync', 'async')
             THEN format('execution_mode must be sync or async, not %s', spec -> 'execution_mode') END,
        CASE WHEN spec ? 'risk_level' AND NOT coalesce(spec ->> 'risk_level', '') IN ('low', 'medium', 'high', 'critical')
             THEN format('risk_level must be low, medium, high or critical, not %s', spec -> 'risk_level') END,
        CASE WHEN spec ? 'requires_approval' AND jsonb_typeof(spec -> 'requires_approval') <> 'boolean'
             THEN 'requires_approval must be true or false' END,
        concord._string_problem(spec -> 'connector', 'connector'),
        concord._string_problem(spec -> 'capability', 'capability'),
        CASE WHEN spec ? 'capability' AND NOT spec ? 'connector' THEN 'a capability needs its connector' END,
        concord._string_problem(spec -> 'function_name', 'function_name'),
        concord._object_problem(spec -> 'metadata', 'metadata')
    ];
    FOREACH mode IN ARRAY ARRAY['input_schema', 'output_schema'] LOOP
        IF spec ? mode THEN
            IF jsonb_typeof(spec -> mode) NOT IN ('object', 'boolean') THEN
                problems := array_append(problems, format('%s must be a JSON Schema (an object or a boolean)', mode));
            ELSE
                problems := problems || ARRAY(
                    SELECT format('%s: %s', mode, p.problem)
                    FROM jsonb_array_elements_text(concord._json_schema_problems(spec -> mode))
                         AS p (problem));
            END IF;
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM concord.tools AS t WHERE t.tool_name = new_name
                                                 AND t.execution_mode = 'gateway') THEN
        problems := array_append(problems, format('%s is a gateway tool that comes with Concord', new_name));
    END IF;
    IF jsonb_typeof(spec -> 'command_type') = 'string' THEN
        SELECT * INTO ct FROM concord.command_types AS x WHERE x.command_type = spec ->> 'command_type';
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN009',
                MESSAGE = format('unknown command type %L', spec ->> 'command_type'),
                HINT = 'Register the command type first with concord.register_command_type(spec).';
        END IF;
        IF ct.command_type = 'spawn_subagent' OR ct.command_type LIKE 'concord.%' THEN
            problems := array_append(problems, format('command type %s belongs to Concord''s gateway', ct.command_type));
        END IF;
        IF coalesce((spec ->> 'requires_approval')::boolean, false) AND NOT ct.approval_required
           AND NOT 'agent_tool' = ANY (ct.policy_checks) THEN
            problems := array_append(problems, format(
                'requires_approval needs command type %s to check policy agent_tool (or to be approval_required)',
                ct.command_type));
        END IF;
    END IF;
    IF jsonb_typeof(spec -> 'connector') = 'string' THEN
        SELECT * INTO conn FROM concord.connectors AS x WHERE x.connector_name = spec ->> 'connector';
        IF NOT FOUND THEN
            problems := array_append(problems, format('connector %s is not registered', spec ->> 'connector'));
        ELSIF jsonb_typeof(spec -> 'capability') = 'string'
              AND NOT (spec ->> 'capability') = ANY (conn.capabilities) THEN
            problems := array_append(problems, format('connector %s has no capability %s (it has: %s)',
                                                      conn.connector_name, spec ->> 'capability',
                                                      array_to_string(conn.capabilities, ', ')));
        END IF;
    END IF;
    PERFORM concord._refuse_spec('tool spec', problems);

    mode := coalesce(spec ->> 'execution_mode',
                     CASE WHEN ct.async_required OR NOT ct.sync_allowed THEN 'async' ELSE 'sync' END);
    SELECT * INTO existing FROM concord.tools AS t WHERE t.tool_name = new_name;
    IF FOUND AND existing.spec = spec THEN
        RETURN new_name;
    END IF;
    PERFORM set_config('concord.actor', concord._actor(), true);
    INSERT INTO concord.tools AS t (
        tool_name, description, input_schema, output_schema, execution_mode, risk_level, requires_approval,
        connector, capability, command_type, function_name, metadata, spec
    ) VALUES (
        new_name, coalesce(spec ->> 'description', ''), coalesce(spec -> 'input_schema', '{}'),
        coalesce(spec -> 'output_schema', '{}'), mode, coalesce(spec ->> 'risk_level', ct.risk_level),
        coalesce((spec ->> 'requires_approval')::boolean, false), spec ->> 'connector', spec ->> 'capability',
        ct.command_type, spec ->> 'function_name', coalesce(spec -> 'metadata', '{}'), spec
    )
    ON CONFLICT ON CONSTRAINT tools_pkey DO UPDATE SET
        description = excluded.description, input_schema = excluded.input_schema,
        output_schema = excluded.output_schema, execution_mode = excluded.execution_mode,
        risk_level = excluded.risk_level, requires_approval = excluded.requires_approval,
        connector = excluded.connector, capability = excluded.capability, command_type = excluded.command_type,
        function_name = excluded.function_name, metadata = excluded.metadata, spec = excluded.spec;
    RETURN new_name;
END
$$;

COMMENT ON FUNCTION concord.register_tool(jsonb) IS
'Insert or update a command tool (spec 20): {name, command_type, description, input_schema, '
'output_schema, '
'execution_mode, risk_level, requires_approval, connector, capability, function_name, metadata}; '
'CN005 lists '
'every problem, CN009 for an unknown command type; an identical spec is a no-op.';

-- ---------------------------------------------------------------------------
-- Built-in policies of the gateway (called from _builtin_policy)
-- ---------------------------------------------------------------------------

-- Every reason a spawn request (a normalized spawn_subagent payload) may not
-- become a child now, as [{code, scope, reason}]: the parent's scopes (CN004),
-- its swarm's depth and agent limits (CN010), the roles its swarm's
-- templates allow (CN004). Spec 59.3/59.4, 71.3.
CREATE OR REPLACE FUNCTION concord._spawn_problems(request jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    parent concord.agent_runs%ROWTYPE;
    swarm concord.swarm_runs%ROWTYPE;
    problems jsonb := '[]'::jsonb;
    template_roles text[];
BEGIN
    SELECT * INTO parent FROM concord.agent_runs AS a
    WHERE a.agent_run_id = (request ->> 'parent_agent_run_id')::uuid;
    IF NOT FOUND THEN
        RETURN jsonb_build_array(jsonb_build_object('code', 'CN006', 'scope', 'parent_agent_run_id',
            'reason', format('parent agent run %s not found', request ->> 'parent_agent_run_id')));
    END IF;
    SELECT * INTO swarm FROM concord.swarm_runs AS s WHERE s.swarm_run_id = parent.swarm_run_id;
    IF concord._agentic_terminal('agent', parent.status) THEN
        problems := problems || jsonb_build_object('code', 'CN011', 'scope', 'parent_agent_run_id',
            'reason', format('parent agent run %s is %s', parent.agent_run_id, parent.status));
    END IF;
    IF concord._agentic_terminal('swarm', swarm.status) THEN
        problems := problems || jsonb_build_object('code', 'CN011', 'scope', 'swarm_run_id',
            'reason', format('swarm run %s is %s', swarm.swarm_run_id, swarm.status));
    END IF;
    IF parent.spawn_depth + 1 > swarm.max_depth THEN
        problems := problems || jsonb_build_object('code', 'CN010', 'scope', 'max_depth',
            'reason', format('spawn depth exceeded: a child of agent %s would be at depth %s; max_depth is %s',
                             parent.agent_run_id, parent.spawn_depth + 1, swarm.max_depth));
    END IF;
    IF swarm.live_agents >= swarm.max_agents THEN
        problems := problems || jsonb_build_object('code', 'CN010', 'scope', 'max_agents',
            'reason', format('swarm agent limit exceeded: swarm run %s has %s live agents of max_agents %s',
                             swarm.swarm_run_id, swarm.live_agents, swarm.max_agents));
    END IF;
    IF NOT 'spawn_subagent' = ANY (parent.allowed_tools) THEN
        problems := problems || jsonb_build_object('code', 'CN004', 'scope', 'allowed_tools',
            'reason', format('agent %s may not spawn: spawn_subagent is not in its allowed_tools', parent.agent_run_id));
    END IF;
    template_roles := ARRAY(SELECT DISTINCT t.item ->> 'agent_role' FROM jsonb_array_elements(swarm.agent_templates) AS t (item)
                            WHERE t.item ->> 'agent_role' IS NOT NULL);
    IF cardinality(template_roles) > 0 AND NOT (request ->> 'agent_role') = ANY (template_roles) THEN
        problems := problems || jsonb_build_object('code', 'CN004', 'scope', 'agent_role',
            'reason', format('role not allowed: %s is not a role of swarm %s''s agents (%s)', request ->> 'agent_role',
                             swarm.name, array_to_string(template_roles, ', ')));
    END IF;
    RETURN problems || concord._scope_excess(
        parent, request ->> 'agent_role', concord._text_array(request -> 'allowed_tools'),
        concord._text_array(request -> 'allowed_connectors'), concord._text_array(request -> 'allowed_child_roles'),
        request -> 'memory_scope');
END
$$;

-- Built-in policy agent_tool: a command submitted through the gateway
-- (ingress agent) names a live agent run whose scope holds the tool, and the
-- tool makes commands of this type; a tool that requires approval asks for
-- it. Other ingresses pass.
CREATE OR REPLACE FUNCTION concord._agent_tool_policy(doc jsonb, config jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
    tool concord.tools%ROWTYPE;
BEGIN
    IF doc ->> 'ingress' IS DISTINCT FROM 'agent' THEN
        RETURN '{"decision": "allow"}'::jsonb;
    END IF;
    SELECT * INTO tool FROM concord.tools AS t WHERE t.tool_name = doc #>> '{context,tool_name}';
    IF NOT FOUND OR tool.command_type IS DISTINCT FROM doc ->> 'command_type' THEN
        RETURN jsonb_build_object('decision', 'deny', 'reasons', jsonb_build_array(format(
            'no tool %s makes %s commands', coalesce(doc #>> '{context,tool_name}', '(none)'), doc ->> 'command_type')));
    END IF;
    IF NOT coalesce(concord._is_uuid(doc #>> '{context,agent_run_id}'), false) THEN
        RETURN jsonb_build_object('decision', 'deny', 'reasons', jsonb_build_array(
            'an agent command names its agent run (context.agent_run_id)'));
    END IF;
    SELECT * INTO run FROM concord.agent_runs AS a WHERE a.agent_run_id = (doc #>> '{context,agent_run_id}')::uuid;
    IF NOT FOUND OR concord._agentic_terminal('agent', run.status) OR NOT tool.tool_name = ANY (run.allowed_tools)
       OR (tool.connector IS NOT NULL AND NOT tool.connector = ANY (run.allowed_connectors))
       OR doc ->> 'requested_by' IS DISTINCT FROM 'agent:' || run.agent_run_id THEN
        RETURN jsonb_build_object('decision', 'deny', 'reasons', jsonb_build_array(format(
            'agent run %s may not use tool %s', doc #>> '{context,agent_run_id}', tool.tool_name)));
    END IF;
    IF tool.requires_approval THEN
        RETURN jsonb_build_object(
            'decision', 'require_approval',
            'reasons', jsonb_build_array(format('tool %s requires approval when an agent uses it', tool.tool_name)),
            'approval_type', coalesce(config ->> 'approval_type', 'standard'));
    END IF;
    RETURN '{"decision": "allow"}'::jsonb;
END
$$;

-- ---------------------------------------------------------------------------
-- Swarms (spec 57.1, 67)
-- ---------------------------------------------------------------------------

-- Every problem with an agent's part of a swarm document (the coordinator,
-- or a template under agents[i]).
CREATE OR REPLACE FUNCTION concord._agent_spec_problems(agent jsonb, what text)
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF agent IS NULL OR jsonb_typeof(agent) <> 'object' THEN
        RETURN ARRAY[format('%s must be a JSON object', what)];
    END IF;
    RETURN array_remove(ARRAY[
        CASE WHEN agent -> 'agent_name' IS NULL THEN format('%s.agent_name is required', what) END,
        concord._string_problem(agent -> 'agent_name', what || '.agent_name', '^[A-Za-z][A-Za-z0-9_.:-]*$'),
        concord._string_problem(agent -> 'agent_role', what || '.agent_role', '^[A-Za-z][A-Za-z0-9_.:-]*$'),
        concord._string_problem(agent -> 'goal', what || '.goal'),
        concord._string_problem(agent -> 'delegated_goal', what || '.delegated_goal'),
        concord._string_problem(agent -> 'agent_version', what || '.agent_version'),
        concord._int_problem(agent -> 'max_steps', what || '.max_steps', 1, 100000),
        concord._name_list_problem(agent -> 'allowed_tools', what || '.allowed_tools'),
        concord._name_list_problem(agent -> 'allowed_connectors', what || '.allowed_connectors'),
        concord._name_list_problem(agent -> 'allowed_child_roles', what || '.allowed_child_roles'),
        CASE WHEN agent ? 'memory_scope' AND NOT concord._is_memory_scope(agent -> 'memory_scope')
             THEN format('%s.memory_scope must be {} or {subject_type, subject_id, allowed_memory_types, '
                         'allow_semantic_retrieval, max_results} (spec 61.2)', what) END,
        concord._object_problem(agent -> 'context_scope', what || '.context_scope'),
        concord._object_problem(agent -> 'constraints', what || '.constraints'),
        concord._object_problem(agent -> 'model_config', what || '.model_config'),
        concord._object_problem(agent -> 'runtime_config', what || '.runtime_config'),
        concord._object_problem(agent -> 'metadata', what || '.metadata'),
        (SELECT format('%s has unknown keys: %s', what, string_agg(k, ', ' ORDER BY k))
         FROM jsonb_object_keys(agent) AS k
         WHERE k <> ALL (ARRAY['agent_name', 'agent_role', 'agent_version', 'goal', 'delegated_goal', 'max_steps',
                               'allowed_tools', 'allowed_connectors', 'allowed_child_roles', 'memory_scope',
                               'context_scope', 'constraints', 'model_config', 'runtime_config', 'metadata'])
         HAVING count(*) > 0)
    ], NULL);
END
$$;

CREATE OR REPLACE FUNCTION concord._swarm_spec_problems(spec jsonb)
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    problems text[];
    limits jsonb := spec -> 'limits';
BEGIN
    problems := ARRAY[
        CASE WHEN spec -> 'name' IS NULL THEN 'name is required' END,
        concord._string_problem(spec -> 'name', 'name', '^[A-Za-z][A-Za-z0-9_.:-]*$'),
        CASE WHEN spec -> 'objective' IS NULL THEN 'objective is required' END,
        concord._string_problem(spec -> 'objective', 'objective'),
        CASE WHEN spec ? 'execution_mode' AND NOT coalesce(spec ->> 'execution_mode', '') IN (
                 'sequential', 'parallel', 'competitive', 'review_driven', 'hierarchical')
             THEN format('execution_mode must be sequential, parallel, competitive, review_driven or hierarchical, '
                         'not %s', spec -> 'execution_mode') END,
        CASE WHEN spec ? 'join_strategy' AND NOT coalesce(spec ->> 'join_strategy', '') IN (
                 'all_success', 'first_success', 'quorum', 'coordinator_synthesis', 'evaluator_selection',
                 'human_review', 'best_of_n', 'map_reduce', 'consensus', 'ranked_review')
             THEN format('unknown join_strategy %s', spec -> 'join_strategy') END,
        concord._object_problem(spec -> 'join_options', 'join_options'),
        concord._object_problem(limits, 'limits'),
        concord._string_problem(spec -> 'runtime', 'runtime', '^[A-Za-z][A-Za-z0-9_.:-]*$'),
        concord._object_problem(spec -> 'metadata', 'metadata'),
        CASE WHEN spec -> 'coordinator' IS NULL THEN 'coordinator is required' END,
        CASE WHEN spec ? 'agents' AND jsonb_typeof(spec -> 'agents') <> 'array' THEN 'agents must be an array' END,
        (SELECT format('unknown swarm spec keys: %s', string_agg(k, ', ' ORDER BY k))
         FROM jsonb_object_keys(spec) AS k
         WHERE k <> ALL (ARRAY['name', 'objective', 'execution_mode', 'join_strategy', 'join_options', 'limits',
                               'coordinator', 'agents', 'runtime', 'metadata'])
         HAVING count(*) > 0)
    ];
    IF jsonb_typeof(limits) = 'object' THEN
        problems := problems || ARRAY[
            concord._int_problem(limits -> 'max_agents', 'limits.max_agents', 1, 1000),
            concord._int_problem(limits -> 'max_depth', 'limits.max_depth', 0, 100),
            concord._int_problem(limits -> 'max_total_steps', 'limits.max_total_steps', 1, 1000000),
            CASE WHEN limits ? 'max_cost_units' AND jsonb_typeof(limits -> 'max_cost_units') NOT IN ('number', 'null')
                      OR (limits ->> 'max_cost_units')::numeric < 0
                 THEN format('limits.max_cost_units must be a number of at least 0, not %s', limits -> 'max_cost_units') END,
            (SELECT format('unknown limits keys: %s', string_agg(k, ', ' ORDER BY k))
             FROM jsonb_object_keys(limits) AS k
             WHERE k <> ALL (ARRAY['max_agents', 'max_depth', 'max_total_steps', 'max_cost_units'])
         HAVING count(*) > 0)
        ];
    END IF;
    IF spec ? 'coordinator' THEN
        problems := problems || concord._agent_spec_problems(spec -> 'coordinator', 'coordinator');
    END IF;
    IF jsonb_typeof(spec -> 'agents') = 'array' THEN
        problems := problems || ARRAY(
            SELECT unnest(concord._agent_spec_problems(a.item, format('agents[%s]', a.n - 1)))
            FROM jsonb_array_elements(spec -> 'agents') WITH ORDINALITY AS a (item, n));
    END IF;
    RETURN array_remove(problems, NULL);
END
$$;

-- Enqueue the DBOS workflow that runs an agent (spec 85.1), in the caller's
-- transaction; its id is fixed at insert (agent:<id>).
CREATE OR REPLACE FUNCTION concord._enqueue_agent_run(run concord.agent_runs)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._require_dbos(format('agent run %s', run.agent_run_id),
                                  'Run `concord migrate`, which installs it; or start the swarm without a runtime.');
    -- children run on their own queue: coordinators waiting for them cannot
    -- take every slot they need
    PERFORM concord._enqueue_workflow('concord.run_agent',
                                      CASE WHEN run.parent_agent_run_id IS NULL THEN 'agent_runs' ELSE 'swarm_children' END,
                                      run.agent_run_id, 'agent:' || run.agent_run_id);
END
$$;

CREATE OR REPLACE FUNCTION concord.start_swarm(command_id uuid, spec jsonb)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
#variable_conflict use_variable
DECLARE
    c concord.commands%ROWTYPE;
    existing concord.swarm_runs%ROWTYPE;
    swarm_id uuid;
    root_id uuid;
    coord jsonb := spec -> 'coordinator';
    templates jsonb := coalesce(spec -> 'agents', '[]');
    limits jsonb := coalesce(spec -> 'limits', '{}');
    saved text[];
BEGIN
    PERFORM concord._require('command_id', command_id::text);
    IF spec IS NULL OR jsonb_typeof(spec) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005',
            MESSAGE = format('a swarm spec must be a JSON object, not %s', coalesce(jsonb_typeof(spec), 'NULL'));
    END IF;
    PERFORM concord._refuse_spec('swarm spec', concord._swarm_spec_problems(spec));
    PERFORM concord._require_tools(concord._text_array(coord -> 'allowed_tools'));
    -- the swarm works inside its command's governance: only a command that
    -- policy let through and that has not finished may start one
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = start_swarm.command_id FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('command %s not found', command_id);
    END IF;
    SELECT * INTO existing FROM concord.swarm_runs AS s WHERE s.command_id = c.command_id AND s.name = spec ->> 'name';
    IF FOUND THEN
        IF existing.spec = spec THEN
            RETURN existing.swarm_run_id;
        END IF;
        RAISE EXCEPTION USING
            ERRCODE = 'CN002',
            MESSAGE = format('command %s already has a swarm %s started from a different spec', c.command_id,
                             spec ->> 'name'),
            HINT = 'A swarm is started once per command and name: use another name for another swarm.';
    END IF;
    IF c.status NOT IN ('validated', 'approved', 'queued', 'running') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('command %s is %s: a swarm starts only under a command that policy let through and '
                             'that has not finished (validated, approved, queued or running)', c.command_id, c.status);
    END IF;

    saved := concord._push_actor(coalesce(nullif(current_setting('concord.actor', true), ''), session_user::text),
                                 format('swarm %s started for command %s', spec ->> 'name', c.command_id));
    INSERT INTO concord.swarm_runs AS s (
        command_id, name, objective, execution_mode, join_strategy, join_options, max_agents, max_depth,
        max_total_steps, max_cost_units, agent_templates, runtime, spec, metadata, trace_id, created_by
    ) VALUES (
        c.command_id, spec ->> 'name', spec ->> 'objective', coalesce(spec ->> 'execution_mode', 'parallel'),
        coalesce(spec ->> 'join_strategy', 'all_success'), coalesce(spec -> 'join_options', '{}'),
        coalesce((limits ->> 'max_agents')::integer, 5), coalesce((limits ->> 'max_depth')::integer, 2),
        coalesce((limits ->> 'max_total_steps')::integer, 100), (limits ->> 'max_cost_units')::numeric,
        templates, spec ->> 'runtime', spec, coalesce(spec -> 'metadata', '{}'), c.trace_id, concord._actor()
    )
    RETURNING s.swarm_run_id INTO swarm_id;
    INSERT INTO concord.agent_runs AS a (
        command_id, swarm_run_id, agent_name, agent_role, agent_version, goal, allowed_tools, allowed_connectors,
        allowed_child_roles, memory_scope, context_scope, constraints, max_steps, spawn_depth, model_config,
        runtime_config, metadata, trace_id
    ) VALUES (
        c.command_id, swarm_id, coord ->> 'agent_name', coalesce(coord ->> 'agent_role', 'coordinator'),
        coord ->> 'agent_version', coalesce(coord ->> 'goal', spec ->> 'objective'),
        concord._text_array(coord -> 'allowed_tools'), concord._text_array(coord -> 'allowed_connectors'),
        concord._text_array(coord -> 'allowed_child_roles'), coalesce(coord -> 'memory_scope', '{}'),
        coalesce(coord -> 'context_scope', '{}'), coalesce(coord -> 'constraints', '{}'),
        coalesce((coord ->> 'max_steps')::integer, 20), 0, coalesce(coord -> 'model_config', '{}'),
        coalesce(coord -> 'runtime_config', '{}'), coalesce(coord -> 'metadata', '{}'), c.trace_id
    )
    RETURNING a.agent_run_id INTO root_id;
    UPDATE concord.swarm_runs AS s SET coordinator_agent_run_id = root_id, status = 'running'
    WHERE s.swarm_run_id = swarm_id;
    PERFORM concord._pop_actor(saved);
    RETURN swarm_id;
END
$$;

COMMENT ON FUNCTION concord.start_swarm(uuid, jsonb) IS
'Start a swarm (spec 57.1, 67) under a command that policy let through: the spec 67 document as '
'JSON '
'{name, objective, execution_mode, join_strategy, join_options, limits, coordinator, agents, '
'runtime, metadata} '
'creates the swarm run and its coordinator agent run; idempotent per command and name (CN002 for '
'another spec).';

-- ---------------------------------------------------------------------------
-- Agent runs: state, start, steps, messages, finish
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION concord._agent_run_doc(run concord.agent_runs)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    swarm concord.swarm_runs%ROWTYPE;
BEGIN
    SELECT * INTO swarm FROM concord.swarm_runs AS s WHERE s.swarm_run_id = run.swarm_run_id;
    RETURN jsonb_build_object(
        'agent_run_id', run.agent_run_id, 'swarm_run_id', run.swarm_run_id, 'command_id', run.command_id,
        'swarm_command_id', swarm.command_id,
        -- the run id is the capability an agent holds: the doc names no other
        -- run than its own and its children's (whose scopes are within its own)
        'parent_agent_name', (SELECT p.agent_name FROM concord.agent_runs AS p
                              WHERE p.agent_run_id = run.parent_agent_run_id),
        'agent_name', run.agent_name, 'agent_role', run.agent_role, 'agent_version', run.agent_version,
        'status', run.status, 'goal', run.goal, 'spawn_depth', run.spawn_depth, 'max_steps', run.max_steps,
        'step_count', run.step_count, 'cost_units', run.cost_units, 'allowed_tools', to_jsonb(run.allowed_tools),
        'allowed_connectors', to_jsonb(run.allowed_connectors),
        'allowed_child_roles', to_jsonb(run.allowed_child_roles), 'memory_scope', run.memory_scope,
        'context_scope', run.context_scope, 'constraints', run.constraints, 'model_config', run.model_config,
        'runtime_config', run.runtime_config, 'result', run.result, 'error', run.error,
        'dbos_workflow_id', run.dbos_workflow_id, 'trace_id', run.trace_id, 'runtime', swarm.runtime,
        'swarm_status', swarm.status, 'swarm_name', swarm.name, 'objective', swarm.objective,
        'join_strategy', swarm.join_strategy, 'is_coordinator', run.parent_agent_run_id IS NULL,
        'limits', jsonb_build_object('max_agents', swarm.max_agents, 'max_depth', swarm.max_depth,
                                     'max_total_steps', swarm.max_total_steps, 'max_cost_units', swarm.max_cost_units,
                                     'live_agents', swarm.live_agents, 'total_steps', swarm.total_steps,
                                     'cost_units', swarm.cost_units),
        'agent_templates', swarm.agent_templates,
        -- spec 44: the agent sees its own, constrained tool catalog
        'tools', coalesce((
            SELECT jsonb_agg(jsonb_build_object('tool_name', t.tool_name, 'description', t.description,
                                                'input_schema', t.input_schema, 'output_schema', t.output_schema,
                                                'execution_mode', t.execution_mode, 'risk_level', t.risk_level,
                                                'requires_approval', t.requires_approval, 'connector', t.connector)
                             ORDER BY t.tool_name)
            FROM concord.tools AS t WHERE t.tool_name = ANY (run.allowed_tools)), '[]'),
        'children', coalesce((
            SELECT jsonb_agg(jsonb_build_object('agent_run_id', k.agent_run_id, 'agent_name', k.agent_name,
                                                'agent_role', k.agent_role, 'status', k.status, 'result', k.result,
                                                'error', k.error)
                             ORDER BY k.created_at, k.agent_run_id)
            FROM concord.agent_runs AS k WHERE k.parent_agent_run_id = run.agent_run_id), '[]'),
        'artifacts', coalesce((
            SELECT jsonb_agg(jsonb_build_object('artifact_id', x.artifact_id, 'artifact_type', x.artifact_type,
                                                'name', x.name, 'version', x.version, 'status', x.status,
                                                'agent_name', (SELECT w.agent_name FROM concord.agent_runs AS w
                                                               WHERE w.agent_run_id = x.agent_run_id),
                                                'mine', x.agent_run_id = run.agent_run_id, 'score', x.score)
                             ORDER BY x.created_at, x.artifact_id)
            FROM concord.artifacts AS x WHERE x.swarm_run_id = run.swarm_run_id), '[]'),
        'created_at', run.created_at, 'started_at', run.started_at, 'completed_at', run.completed_at);
END
$$;

CREATE OR REPLACE FUNCTION concord.agent_run_state(agent_run_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
BEGIN
    RETURN concord._agent_run_doc(concord._agent_run(agent_run_id));
END
$$;

COMMENT ON FUNCTION concord.agent_run_state(uuid) IS
'One agent run as the agent sees it: its goal, scopes, limits (and what its swarm has used), '
'status, '
'children and the artifacts of its swarm.';

CREATE OR REPLACE FUNCTION concord.begin_agent_run(agent_run_id uuid, workflow_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
BEGIN
    run := concord._agent_run(agent_run_id, true);
    IF workflow_id IS NOT NULL AND run.dbos_workflow_id IS DISTINCT FROM workflow_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('agent run %s is run by workflow %s, not %s', agent_run_id,
                             coalesce(run.dbos_workflow_id, '(none: its swarm has no runtime)'), workflow_id);
    END IF;
    IF run.status = 'created' THEN
        PERFORM set_config('concord.actor', coalesce('workflow:' || workflow_id, concord._actor()), true);
        UPDATE concord.agent_runs AS a SET status = 'running' WHERE a.agent_run_id = run.agent_run_id
        RETURNING * INTO run;
    END IF;
    RETURN concord._agent_run_doc(run);
END
$$;

COMMENT ON FUNCTION concord.begin_agent_run(uuid, text) IS
'created -> running (a no-op for a run already started or finished); returns agent_run_state. '
'A runtime passes its workflow id, which must be the run''s (CN011).';

-- The actions an agent takes through the gateway, never by record_agent_step.
CREATE OR REPLACE FUNCTION concord._gateway_actions()
RETURNS text[]
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT ARRAY['tool_call', 'spawn_subagent', 'create_artifact', 'read_artifact', 'write_memory',
                 'retrieve_memory', 'evaluate_output', 'message', 'finish']
$$;

CREATE OR REPLACE FUNCTION concord.record_agent_step(agent_run_id uuid, step jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
    recorded concord.agent_steps%ROWTYPE;
BEGIN
    IF step IS NULL OR jsonb_typeof(step) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', MESSAGE = 'a step must be a JSON object';
    END IF;
    PERFORM concord._require_spec('agent step', step, ARRAY[
        'action_type', 'reason', 'observation', 'output', 'latency_ms', 'token_usage', 'cost_units', 'tool_name',
        'idempotency_key']);
    PERFORM concord._refuse_spec('agent step', ARRAY[
        CASE WHEN step -> 'action_type' IS NULL THEN 'action_type is required' END,
        concord._string_problem(step -> 'action_type', 'action_type', '^[a-z][a-z0-9_]*$'),
        CASE WHEN step ->> 'action_type' = ANY (concord._gateway_actions())
             THEN format('action %s goes through the gateway (submit_agent_action), not record_agent_step',
                         step ->> 'action_type') END,
        CASE WHEN step ? 'reason' AND jsonb_typeof(step -> 'reason') <> 'string' THEN 'reason must be a string' END,
        concord._int_problem(step -> 'latency_ms', 'latency_ms', 0, 2147483647),
        concord._object_problem(step -> 'token_usage', 'token_usage'),
        CASE WHEN step ? 'cost_units' AND (jsonb_typeof(step -> 'cost_units') <> 'number'
                                            OR (step ->> 'cost_units')::numeric < 0)
             THEN 'cost_units must be a number of at least 0' END,
        CASE WHEN step ? 'tool_name' THEN 'tool_name belongs to tool calls (submit_agent_action)' END,
        CASE WHEN step ? 'idempotency_key' THEN concord._string_problem(step -> 'idempotency_key', 'idempotency_key') END
    ]);
    run := concord._lock_live_agent(agent_run_id);
    -- a replayed key: the step it recorded
    IF step ? 'idempotency_key' THEN
        SELECT s.* INTO recorded FROM concord.agent_steps AS s
        WHERE s.agent_run_id = run.agent_run_id AND s.action_payload ->> 'idempotency_key' = step ->> 'idempotency_key';
        IF FOUND THEN
            IF recorded.action_type IS DISTINCT FROM step ->> 'action_type' OR recorded.tool_name IS NOT NULL THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN002',
                    MESSAGE = format('idempotency key %L is already used by step %s of agent run %s for another action',
                                     step ->> 'idempotency_key', recorded.step_index, run.agent_run_id);
            END IF;
            RETURN jsonb_build_object('agent_step_id', recorded.agent_step_id, 'step_index', recorded.step_index,
                                      'decision', recorded.decision, 'replayed', true);
        END IF;
    END IF;
    PERFORM set_config('concord.actor', 'agent:' || run.agent_run_id, true);
    recorded := concord._record_step(run, step ->> 'action_type', null,
                                     jsonb_strip_nulls(jsonb_build_object('idempotency_key', step -> 'idempotency_key')),
                                     'recorded', step);
    RETURN jsonb_build_object('agent_step_id', recorded.agent_step_id, 'step_index', recorded.step_index,
                              'decision', recorded.decision);
END
$$;

COMMENT ON FUNCTION concord.record_agent_step(uuid, jsonb) IS
'Record a step that is not an action (think, plan, observe, evaluate, ...): {action_type, reason, '
'observation, '
'output, latency_ms, token_usage, cost_units}; counts against max_steps, max_total_steps and '
'max_cost_units (CN010).';

CREATE OR REPLACE FUNCTION concord.record_agent_message(agent_run_id uuid, message jsonb)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
    new_id uuid;
BEGIN
    IF message IS NULL OR jsonb_typeof(message) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', MESSAGE = 'a message must be a JSON object';
    END IF;
    PERFORM concord._require_spec('agent message', message, ARRAY[
        'message_role', 'message_type', 'content', 'metadata', 'idempotency_key']);
    PERFORM concord._refuse_spec('agent message', ARRAY[
        CASE WHEN NOT coalesce(message ->> 'message_role', 'agent') IN ('system', 'user', 'assistant', 'tool', 'agent')
             THEN 'message_role must be system, user, assistant, tool or agent' END,
        CASE WHEN NOT coalesce(message ->> 'message_type', 'note') IN (
                 'instruction', 'question', 'answer', 'observation', 'status', 'result', 'critique', 'handoff', 'note')
             THEN 'message_type must be instruction, question, answer, observation, status, result, critique, '
                  'handoff or note' END,
        CASE WHEN jsonb_typeof(message -> 'content') IS DISTINCT FROM 'string' THEN 'content must be a string' END,
        concord._object_problem(message -> 'metadata', 'metadata'),
        CASE WHEN message ? 'idempotency_key'
             THEN concord._string_problem(message -> 'idempotency_key', 'idempotency_key') END
    ]);
    run := concord._lock_live_agent(agent_run_id);
    -- a replayed key: the message it recorded (the key is kept in metadata)
    IF message ? 'idempotency_key' THEN
        SELECT m.agent_message_id INTO new_id FROM concord.agent_messages AS m
        WHERE m.agent_run_id = run.agent_run_id AND m.metadata ->> 'idempotency_key' = message ->> 'idempotency_key';
        IF FOUND THEN
            RETURN new_id;
        END IF;
    END IF;
    PERFORM set_config('concord.actor', 'agent:' || run.agent_run_id, true);
    INSERT INTO concord.agent_messages AS m (agent_run_id, message_role, message_type, content, metadata)
    VALUES (run.agent_run_id, coalesce(message ->> 'message_role', 'agent'), coalesce(message ->> 'message_type', 'note'),
            message ->> 'content',
            coalesce(message -> 'metadata', '{}')
            || jsonb_strip_nulls(jsonb_build_object('idempotency_key', message -> 'idempotency_key')))
    RETURNING m.agent_message_id INTO new_id;
    RETURN new_id;
END
$$;

COMMENT ON FUNCTION concord.record_agent_message(uuid, jsonb) IS
'Record a message of an agent run (spec 57.5): {message_role, message_type, content, metadata}; '
'returns its id. '
'Results that matter are artifacts, not messages (spec 63.1).';

-- Finish the swarm whose coordinator run has just finished: the join of its
-- strategy when nobody joined yet; a delegated join (or a failed
-- coordinator) is decided by the coordinator's outcome.
CREATE OR REPLACE FUNCTION concord._settle_swarm_after_coordinator(run concord.agent_runs)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    swarm concord.swarm_runs%ROWTYPE;
BEGIN
    SELECT * INTO swarm FROM concord.swarm_runs AS s WHERE s.swarm_run_id = run.swarm_run_id FOR NO KEY UPDATE;
    IF concord._agentic_terminal('swarm', swarm.status) OR swarm.status = 'waiting_for_approval' THEN
        RETURN;
    END IF;
    -- a swarm of one (no child was ever spawned) ends as its coordinator did
    IF run.status = 'succeeded' AND swarm.status = 'running'
       AND EXISTS (SELECT 1 FROM concord.agent_runs AS a
                   WHERE a.swarm_run_id = swarm.swarm_run_id AND a.parent_agent_run_id IS NOT NULL) THEN
        PERFORM concord._join_swarm(swarm.swarm_run_id, concord._actor());
        SELECT * INTO swarm FROM concord.swarm_runs AS s WHERE s.swarm_run_id = run.swarm_run_id;
        IF swarm.status <> 'joining' THEN
            RETURN;
        END IF;
    END IF;
    IF swarm.status = 'running' THEN
        UPDATE concord.swarm_runs AS s SET status = 'joining' WHERE s.swarm_run_id = swarm.swarm_run_id;
    END IF;
    UPDATE concord.swarm_runs AS s SET
        status = CASE WHEN run.status = 'succeeded' THEN 'succeeded' ELSE 'failed' END,
        result = coalesce(run.result, s.result),
        error = CASE WHEN run.status <> 'succeeded'
                     THEN coalesce(run.error, format('coordinator agent run %s %s', run.agent_run_id, run.status)) END
    WHERE s.swarm_run_id = swarm.swarm_run_id;
END
$$;

CREATE OR REPLACE FUNCTION concord.finish_agent_run(
    agent_run_id uuid, status text, result jsonb DEFAULT NULL, error text DEFAULT NULL
)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
#variable_conflict use_variable
DECLARE
    run concord.agent_runs%ROWTYPE;
    live text;
BEGIN
    PERFORM concord._require('agent_run_id', agent_run_id::text);
    IF status IS NULL OR status NOT IN ('succeeded', 'failed') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = format('an agent run finishes as succeeded or failed, not %s', coalesce(status, 'NULL')),
            HINT = 'Cancel it with concord.cancel_agent_run or concord.cancel_swarm.';
    END IF;
    run := concord._agent_run(agent_run_id, true);
    IF concord._agentic_terminal('agent', run.status) THEN
        -- a replay of the same finish is a no-op; anything else is too late
        IF run.status = status THEN
            RETURN run.status;
        END IF;
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('agent run %s is already %s', agent_run_id, run.status);
    END IF;
    IF result IS NOT NULL AND jsonb_typeof(result) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', MESSAGE = 'result must be a JSON object';
    END IF;
    SELECT string_agg(k.agent_run_id::text || ' (' || k.agent_name || ', ' || k.status || ')', ', ') INTO live
    FROM concord.agent_runs AS k
    INNER JOIN concord.agent_statuses AS s ON s.status = k.status
    WHERE k.parent_agent_run_id = run.agent_run_id AND NOT s.terminal;
    PERFORM set_config('concord.actor', 'agent:' || run.agent_run_id, true);
    IF live IS NOT NULL THEN
        IF status = 'succeeded' THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                MESSAGE = format('agent run %s still has live children: %s', agent_run_id, live),
                HINT = 'Wait for them (or cancel them) before finishing as succeeded.';
        END IF;
        PERFORM concord._cancel_agent_runs(
            ARRAY(SELECT k.agent_run_id FROM concord.agent_runs AS k WHERE k.parent_agent_run_id = run.agent_run_id),
            format('parent agent run %s failed', run.agent_run_id));
    END IF;
    IF run.status <> 'running' AND status = 'succeeded' THEN
        UPDATE concord.agent_runs AS a SET status = 'running' WHERE a.agent_run_id = run.agent_run_id;
    END IF;
    UPDATE concord.agent_runs AS a SET status = finish_agent_run.status, result = finish_agent_run.result,
        error = finish_agent_run.error
    WHERE a.agent_run_id = run.agent_run_id
    RETURNING * INTO run;
    IF run.parent_agent_run_id IS NULL THEN
        PERFORM concord._settle_swarm_after_coordinator(run);
    END IF;
    RETURN run.status;
END
$$;

COMMENT ON FUNCTION concord.finish_agent_run(uuid, text, jsonb, text) IS
'Finish an agent run as succeeded (CN011 while it has live children) or failed (its live children '
'are cancelled); '
'a coordinator''s finish settles its swarm (joining it when nobody did). Repeating the same '
'finish is a no-op.';

-- ---------------------------------------------------------------------------
-- Spawning (spec 59): a command through policy, then the child
-- ---------------------------------------------------------------------------

-- The request, validated (CN005 listing every problem) and completed from the
-- swarm's template of the same agent name: what the spawn command carries.
CREATE OR REPLACE FUNCTION concord._spawn_request(parent concord.agent_runs, request jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    template jsonb;
    req jsonb;
BEGIN
    -- a JSON null is not a value of any field (as in start_swarm's spec)
    PERFORM concord._refuse_spec('spawn request', ARRAY(
        SELECT format('%s must not be null (leave it out to take the template''s value or the default)', e.key)
        FROM jsonb_each(request) AS e WHERE jsonb_typeof(e.value) = 'null' ORDER BY e.key));
    PERFORM concord._require_spec('spawn request', request, ARRAY[
        'parent_agent_run_id', 'swarm_run_id', 'agent_name', 'agent_role', 'delegated_goal', 'allowed_tools',
        'allowed_connectors', 'allowed_child_roles', 'memory_scope', 'context_scope', 'constraints', 'max_steps',
        'invocation_type', 'idempotency_key', 'agent_version', 'model_config', 'runtime_config']);
    SELECT t.item INTO template
    FROM concord.swarm_runs AS s, jsonb_array_elements(s.agent_templates) AS t (item)
    WHERE s.swarm_run_id = parent.swarm_run_id AND t.item ->> 'agent_name' = request ->> 'agent_name'
    LIMIT 1;
    template := coalesce(template, '{}');
    req := jsonb_strip_nulls(jsonb_build_object(
        'parent_agent_run_id', parent.agent_run_id, 'swarm_run_id', parent.swarm_run_id,
        'agent_name', request -> 'agent_name',
        'agent_role', coalesce(request -> 'agent_role', template -> 'agent_role'),
        'delegated_goal', coalesce(request -> 'delegated_goal', template -> 'delegated_goal', template -> 'goal'),
        'allowed_tools', coalesce(request -> 'allowed_tools', template -> 'allowed_tools', '[]'),
        'allowed_connectors', coalesce(request -> 'allowed_connectors', template -> 'allowed_connectors', '[]'),
        'allowed_child_roles', coalesce(request -> 'allowed_child_roles', template -> 'allowed_child_roles', '[]'),
        'memory_scope', coalesce(request -> 'memory_scope', template -> 'memory_scope', '{}'),
        'context_scope', coalesce(request -> 'context_scope', template -> 'context_scope', '{}'),
        'constraints', coalesce(request -> 'constraints', template -> 'constraints', '{}'),
        'max_steps', coalesce(request -> 'max_steps', template -> 'max_steps', '10'),
        'invocation_type', coalesce(request -> 'invocation_type', '"delegate"'),
        'agent_version', coalesce(request -> 'agent_version', template -> 'agent_version'),
        'model_config', coalesce(request -> 'model_config', template -> 'model_config', '{}'),
        'runtime_config', coalesce(request -> 'runtime_config', template -> 'runtime_config', '{}'),
        'idempotency_key', request -> 'idempotency_key'));
    PERFORM concord._refuse_spec('spawn request', ARRAY[
        CASE WHEN request ? 'swarm_run_id' AND request ->> 'swarm_run_id' IS DISTINCT FROM parent.swarm_run_id::text
             THEN format('swarm_run_id %s is not the parent''s swarm run %s', request ->> 'swarm_run_id',
                         parent.swarm_run_id) END,
        CASE WHEN req -> 'agent_name' IS NULL THEN 'agent_name is required' END,
        CASE WHEN req -> 'agent_role' IS NULL THEN 'agent_role is required (or a template of that agent_name)' END,
        CASE WHEN req -> 'delegated_goal' IS NULL THEN 'delegated_goal is required (or a template of that agent_name)' END,
        CASE WHEN NOT coalesce(req ->> 'invocation_type', '') IN ('spawn', 'delegate', 'review', 'evaluate', 'map', 'compete')
             THEN 'invocation_type must be spawn, delegate, review, evaluate, map or compete' END,
        CASE WHEN request ? 'idempotency_key' THEN concord._string_problem(request -> 'idempotency_key', 'idempotency_key') END
    ] || concord._agent_spec_problems(
        req - ARRAY['parent_agent_run_id', 'swarm_run_id', 'invocation_type', 'idempotency_key'], 'request'));
    -- an unregistered tool is outside every parent's scope: spawn_scope denies it
    RETURN req;
END
$$;

-- The child of an allowed spawn command: agent run and invocation; the
-- command runs to succeeded with {child_agent_run_id, invocation_id}. A
-- refusal by the record's own rules (a race for the last slot, say) fails
-- the command instead and is returned as {refused: [{code, reason}]}.
CREATE OR REPLACE FUNCTION concord._materialize_spawn(c concord.commands, actor text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    req jsonb := c.payload;
    child_id uuid;
    invocation uuid;
    answer jsonb;
BEGIN
    IF c.status = 'succeeded' THEN
        RETURN c.result;
    END IF;
    BEGIN
        INSERT INTO concord.agent_runs AS a (
            command_id, swarm_run_id, parent_agent_run_id, agent_name, agent_role, agent_version, goal,
            allowed_tools, allowed_connectors, allowed_child_roles, memory_scope, context_scope, constraints,
            max_steps, spawn_depth, model_config, runtime_config, trace_id
        )
        SELECT c.command_id, p.swarm_run_id, p.agent_run_id, req ->> 'agent_name', req ->> 'agent_role',
               req ->> 'agent_version', req ->> 'delegated_goal', concord._text_array(req -> 'allowed_tools'),
               concord._text_array(req -> 'allowed_connectors'), concord._text_array(req -> 'allowed_child_roles'),
               req -> 'memory_scope', req -> 'context_scope', req -> 'constraints', (req ->> 'max_steps')::integer,
               p.spawn_depth + 1, req -> 'model_config', req -> 'runtime_config', p.trace_id
        FROM concord.agent_runs AS p WHERE p.agent_run_id = (req ->> 'parent_agent_run_id')::uuid
        RETURNING a.agent_run_id INTO child_id;
        INSERT INTO concord.agent_invocations AS i (
            swarm_run_id, parent_agent_run_id, child_agent_run_id, command_id, invocation_type, delegated_goal,
            constraints
        ) VALUES (
            (req ->> 'swarm_run_id')::uuid, (req ->> 'parent_agent_run_id')::uuid, child_id, c.command_id,
            req ->> 'invocation_type', req ->> 'delegated_goal', req -> 'constraints'
        )
        RETURNING i.invocation_id INTO invocation;
    EXCEPTION WHEN SQLSTATE 'CN004' OR SQLSTATE 'CN010' OR SQLSTATE 'CN011' THEN
        answer := jsonb_build_object('refused', jsonb_build_array(jsonb_build_object(
            'code', SQLSTATE, 'reason', SQLERRM)));
        IF c.status IN ('validated', 'approved') THEN
            PERFORM concord._set_status(c.command_id, 'failed', actor, 'spawn refused', null, SQLERRM, 'policy_denied',
                                        jsonb_build_object('policy_decisions', answer -> 'refused'));
        END IF;
        RETURN answer;
    END;
    answer := jsonb_build_object('child_agent_run_id', child_id, 'invocation_id', invocation);
    IF c.status IN ('validated', 'approved') THEN
        PERFORM concord._set_status(c.command_id, 'running', actor, 'spawning the child agent');
        PERFORM concord._set_status(c.command_id, 'succeeded', actor, 'child agent spawned', answer);
    END IF;
    RETURN answer;
END
$$;

-- The spawn: request -> spawn_subagent command -> policy -> child. Returns
-- the spec 59.2 result and records the parent's step.
CREATE OR REPLACE FUNCTION concord._spawn(parent concord.agent_runs, request jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    req jsonb := concord._spawn_request(parent, request);
    actor text := 'agent:' || parent.agent_run_id;
    submitted record;
    c concord.commands%ROWTYPE;
    made jsonb := '{}'::jsonb;
    reasons jsonb := '[]'::jsonb;
    decision text;
    code text;
    approval uuid;
    step concord.agent_steps%ROWTYPE;
    answer jsonb;
BEGIN
    answer := concord._replayed_action(parent, 'spawn_subagent', req);
    IF answer IS NOT NULL THEN
        RETURN answer;
    END IF;
    PERFORM concord._require_step_budget(parent);
    SELECT * INTO submitted FROM concord.submit_command(
        'spawn_subagent', req, actor, 'agent',
        jsonb_build_object('agent_run_id', parent.agent_run_id, 'swarm_run_id', parent.swarm_run_id,
                           'trace_id', parent.trace_id),
        CASE WHEN request ? 'idempotency_key'
             THEN 'spawn:' || parent.agent_run_id || ':' || (request ->> 'idempotency_key') END);
    IF NOT submitted.created THEN
        -- a replayed key: the answer the first call gave
        SELECT s.output INTO answer FROM concord.agent_steps AS s
        WHERE s.created_command_id = submitted.command_id AND s.agent_run_id = parent.agent_run_id
        ORDER BY s.step_index LIMIT 1;
        IF answer IS NOT NULL THEN
            RETURN answer || jsonb_build_object('replayed', true);
        END IF;
    END IF;
    PERFORM set_config('concord.actor', actor, true);
    c := concord._lock_command(submitted.command_id);
    IF c.status = 'validated' THEN
        made := concord._materialize_spawn(c, actor);
        SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = submitted.command_id;
    END IF;
    decision := CASE WHEN made ? 'child_agent_run_id' THEN 'allowed'
                     WHEN c.status = 'waiting_for_approval' THEN 'require_approval'
                     WHEN c.status = 'waiting_for_input' THEN 'require_input'
                     WHEN c.error_class = 'validation_error' THEN 'invalid'
                     ELSE 'denied' END;
    IF decision IN ('denied', 'invalid') THEN
        reasons := coalesce(made -> 'refused',
                            (SELECT jsonb_agg(p.item) FROM jsonb_array_elements(concord._spawn_problems(req)) AS p (item)),
                            '[]'::jsonb);
        IF jsonb_array_length(reasons) = 0 THEN
            reasons := jsonb_build_array(jsonb_build_object('code', null, 'reason', c.error));
        END IF;
        code := reasons -> 0 ->> 'code';
    END IF;
    approval := concord._pending_approval(c.command_id);
    answer := jsonb_build_object(
        'decision', decision, 'child_agent_run_id', made -> 'child_agent_run_id', 'command_id', c.command_id,
        'invocation_id', made -> 'invocation_id', 'approval_id', approval, 'status', c.status,
        'reasons', coalesce((SELECT jsonb_agg(r.item ->> 'reason') FROM jsonb_array_elements(reasons) AS r (item)), '[]'),
        'code', code);
    step := concord._record_step(parent, 'spawn_subagent', 'spawn_subagent', req, decision,
        jsonb_build_object('created_command_id', c.command_id, 'created_approval_id', approval,
                           'child_agent_run_id', made ->> 'child_agent_run_id', 'output', answer,
                           'reason', request ->> 'delegated_goal'));
    IF decision IN ('require_approval', 'require_input') THEN
        -- like a tool call that waits for a person: the parent waits too
        UPDATE concord.agent_runs AS a SET status = 'waiting_for_approval' WHERE a.agent_run_id = parent.agent_run_id;
    END IF;
    RETURN answer || jsonb_build_object('step_index', step.step_index, 'agent_step_id', step.agent_step_id);
END
$$;

CREATE OR REPLACE FUNCTION concord.spawn_subagent(request jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
DECLARE
    parent concord.agent_runs%ROWTYPE;
BEGIN
    IF request IS NULL OR jsonb_typeof(request) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', MESSAGE = 'a spawn request must be a JSON object (spec 59.1)';
    END IF;
    IF NOT coalesce(concord._is_uuid(request ->> 'parent_agent_run_id'), false) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = format('parent_agent_run_id must be an agent run id, not %s',
                             coalesce(request -> 'parent_agent_run_id', 'null'::jsonb));
    END IF;
    parent := concord._lock_live_agent((request ->> 'parent_agent_run_id')::uuid);
    RETURN concord._spawn(parent, request - 'parent_agent_run_id');
END
$$;

COMMENT ON FUNCTION concord.spawn_subagent(jsonb) IS
'Spawn a child agent (spec 59): the spec 59.1 request becomes a spawn_subagent command through '
'policy (parent '
'scopes, role, depth and agent limits); returns the spec 59.2 result {decision (allowed, denied, '
'require_approval, '
'require_input, invalid), child_agent_run_id, command_id, invocation_id, approval_id, reasons, '
'code} and records '
'the parent''s step. A refusal is returned, not raised; CN010 when the parent has no step left.';

-- ---------------------------------------------------------------------------
-- Tool calls (spec 17, 60)
-- ---------------------------------------------------------------------------

-- doc without the agent_run_id of any run but keep (at any depth): an agent
-- sees no other run's id, which would let it act as that run.
CREATE OR REPLACE FUNCTION concord._without_run_ids(doc jsonb, keep uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    other uuid;
BEGIN
    IF jsonb_typeof(doc) = 'object' THEN
        RETURN (SELECT coalesce(jsonb_object_agg(e.key, concord._without_run_ids(e.value, keep)), '{}'::jsonb)
                FROM jsonb_each(doc) AS e
                WHERE e.key NOT LIKE '%agent_run_id' OR e.value = to_jsonb(keep::text));
    ELSIF jsonb_typeof(doc) = 'array' THEN
        RETURN (SELECT coalesce(jsonb_agg(concord._without_run_ids(e.value, keep) ORDER BY e.n), '[]'::jsonb)
                FROM jsonb_array_elements(doc) WITH ORDINALITY AS e (value, n));
    ELSIF jsonb_typeof(doc) = 'string'
          AND starts_with(doc #>> '{}', 'agent:') AND concord._is_uuid(substr(doc #>> '{}', 7)) THEN
        -- a principal naming another run (created_by, written_by): its agent name instead
        other := substr(doc #>> '{}', 7)::uuid;
        IF other IS DISTINCT FROM keep THEN
            RETURN to_jsonb('agent:' || coalesce((SELECT a.agent_name FROM concord.agent_runs AS a
                                                  WHERE a.agent_run_id = other), 'another run'));
        END IF;
    END IF;
    RETURN doc;
END
$$;

-- Dispatch a gateway tool; its internal function raises on a refusal.
CREATE OR REPLACE FUNCTION concord._gateway_tool(
    run concord.agent_runs, tool_name text, payload jsonb
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF tool_name = 'write_memory' AND jsonb_typeof(payload -> 'idempotency_key') = 'string' THEN
        -- an agent's keys are its own (as its tool calls' and spawns' are)
        payload := payload || jsonb_build_object(
            'idempotency_key', 'memory:' || run.agent_run_id || ':' || (payload ->> 'idempotency_key'));
    END IF;
    RETURN concord._without_run_ids(CASE tool_name
        WHEN 'create_artifact' THEN concord._create_artifact(run, payload)
        WHEN 'read_artifact' THEN concord._read_artifact(run, payload)
        WHEN 'evaluate_output' THEN concord._evaluate_output(run, payload)
        WHEN 'write_memory' THEN concord._write_memory('agent:' || run.agent_run_id, run, payload)
        WHEN 'retrieve_memory' THEN concord._retrieve_memory(run, payload)
    END, run.agent_run_id);
END
$$;

CREATE OR REPLACE FUNCTION concord._agent_action(run concord.agent_runs, action jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    tool concord.tools%ROWTYPE;
    wanted text := action ->> 'tool_name';
    payload jsonb := coalesce(action -> 'payload', '{}');
    actor text := 'agent:' || run.agent_run_id;
    decision text;
    code text;
    message text;
    reasons jsonb := '[]'::jsonb;
    output jsonb;
    submitted record;
    c concord.commands%ROWTYPE;
    approval uuid;
    problems jsonb;
    detail text;
    step concord.agent_steps%ROWTYPE;
    answer jsonb;
BEGIN
    -- the same key again: the first answer, whatever the budget left (a
    -- spawn's step holds the request: _spawn replays it)
    IF wanted IS DISTINCT FROM 'spawn_subagent' THEN
        answer := concord._replayed_action(run, wanted, action);
        IF answer IS NOT NULL THEN
            RETURN answer;
        END IF;
    END IF;
    PERFORM concord._require_step_budget(run);
    PERFORM set_config('concord.actor', actor, true);
    SELECT * INTO tool FROM concord.tools AS t WHERE t.tool_name = wanted;
    IF NOT FOUND THEN
        decision := 'denied';
        code := 'CN009';
        message := format('tool %s is not registered', wanted);
    ELSIF NOT tool.tool_name = ANY (run.allowed_tools) THEN
        decision := 'denied';
        code := 'CN004';
        message := format('scope violation: tool %s is not in agent run %s''s allowed_tools (%s)', wanted,
                          run.agent_run_id, array_to_string(run.allowed_tools, ', '));
    ELSIF tool.connector IS NOT NULL AND NOT tool.connector = ANY (run.allowed_connectors) THEN
        decision := 'denied';
        code := 'CN004';
        message := format('scope violation: tool %s uses connector %s, which is not in agent run %s''s '
                          'allowed_connectors (%s)', wanted, tool.connector, run.agent_run_id,
                          array_to_string(run.allowed_connectors, ', '));
    ELSIF EXISTS (SELECT 1 FROM concord.command_types AS ct
                  WHERE ct.command_type = tool.command_type
                    AND NOT ct.connector_requirements <@ run.allowed_connectors) THEN
        -- another tool of the same command type must not lend its connectors
        decision := 'denied';
        code := 'CN004';
        message := format('scope violation: tool %s makes %s commands, which need connectors %s; agent run %s '
                          'may use only %s', wanted, tool.command_type,
                          (SELECT array_to_string(ct.connector_requirements, ', ') FROM concord.command_types AS ct
                           WHERE ct.command_type = tool.command_type),
                          run.agent_run_id, array_to_string(run.allowed_connectors, ', '));
    ELSIF tool.tool_name = 'spawn_subagent' THEN
        answer := concord._spawn(run, payload || CASE WHEN action ? 'idempotency_key'
                                                      THEN jsonb_build_object('idempotency_key', action -> 'idempotency_key')
                                                      ELSE '{}' END);
        RETURN answer || jsonb_build_object(
            'message', CASE answer ->> 'decision'
                           WHEN 'allowed' THEN format('child agent %s spawned', answer ->> 'child_agent_run_id')
                           WHEN 'require_approval' THEN 'the spawn waits for a human approval'
                           ELSE format('spawn %s: %s', answer ->> 'decision', answer -> 'reasons') END,
            'tool_name', 'spawn_subagent');
    ELSIF tool.execution_mode = 'gateway' THEN
        BEGIN
            output := concord._gateway_tool(run, wanted, payload);
            decision := 'allowed';
            message := format('%s done', wanted);
            IF wanted = 'write_memory' AND output ->> 'command_id' IS NOT NULL THEN
                -- the memory write is a command of the agent's: its step names it
                -- (so a cancellation reaches it) and the decision is the command's
                SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = (output ->> 'command_id')::uuid;
                approval := concord._pending_approval(c.command_id);
                decision := CASE WHEN c.status IN ('waiting_for_approval', 'waiting_for_input')
                                 THEN concord._command_decision(c.status, c.error_class)
                                 WHEN c.status = 'failed' THEN 'denied' ELSE 'allowed' END;
                message := CASE decision WHEN 'require_approval'
                                THEN format('the memory waits for approval (command %s)', c.command_id)
                                WHEN 'denied' THEN coalesce(c.error, 'the memory write was denied')
                                ELSE message END;
            END IF;
        EXCEPTION WHEN SQLSTATE 'CN004' OR SQLSTATE 'CN006' OR SQLSTATE 'CN011' THEN
            decision := 'denied';
            code := SQLSTATE;
            message := SQLERRM;
        WHEN SQLSTATE 'CN005' OR SQLSTATE 'CN008' THEN
            decision := 'invalid';
            code := SQLSTATE;
            message := SQLERRM;
            -- every problem, one reason each (the DETAIL lists them)
            GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
            reasons := coalesce((SELECT jsonb_agg(l.line) FROM regexp_split_to_table(detail, E'\n') AS l (line)
                                 WHERE btrim(l.line) <> ''), '[]'::jsonb);
        END;
    ELSE
        -- a command tool: validated against the tool's input schema, then a
        -- command of its type through the command type's validation and policy
        problems := concord._payload_problems('{}', tool.input_schema, payload);
        IF jsonb_array_length(problems) > 0 THEN
            decision := 'invalid';
            code := 'CN005';
            message := format('payload does not match tool %s''s input_schema', wanted);
            reasons := problems;
        ELSE
            SELECT * INTO submitted FROM concord.submit_command(
                tool.command_type, payload, actor, 'agent',
                jsonb_strip_nulls(jsonb_build_object(
                    'agent_run_id', run.agent_run_id, 'swarm_run_id', run.swarm_run_id,
                    'parent_command_id', run.command_id, 'tool_name', tool.tool_name, 'reason', action ->> 'reason',
                    'risk_level', action ->> 'risk_level', 'trace_id', run.trace_id)),
                CASE WHEN action ? 'idempotency_key'
                     THEN 'agent:' || run.agent_run_id || ':' || (action ->> 'idempotency_key') END);
            IF NOT submitted.created THEN
                SELECT s.output INTO answer FROM concord.agent_steps AS s
                WHERE s.created_command_id = submitted.command_id AND s.agent_run_id = run.agent_run_id
                ORDER BY s.step_index LIMIT 1;
                IF answer IS NOT NULL THEN
                    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = submitted.command_id;
                    RETURN answer || jsonb_build_object('replayed', true, 'status', c.status);
                END IF;
            END IF;
            PERFORM set_config('concord.actor', actor, true);
            SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = submitted.command_id;
            decision := concord._command_decision(c.status, c.error_class);
            approval := concord._pending_approval(c.command_id);
            reasons := coalesce(submitted.errors, '[]');
            code := CASE WHEN decision = 'denied' THEN 'CN012' WHEN decision = 'invalid' THEN 'CN005' END;
            message := CASE decision
                WHEN 'queued' THEN format('command %s (%s) is queued; the runtime runs it', c.command_id, c.command_type)
                WHEN 'allowed' THEN format('command %s (%s) is allowed; run it', c.command_id, c.command_type)
                WHEN 'require_approval' THEN format('human approval required before %s runs (command %s)',
                                                    wanted, c.command_id)
                WHEN 'require_input' THEN format('command %s needs input before it can run', c.command_id)
                ELSE coalesce(c.error, format('command %s was %s', c.command_id, c.status)) END;
        END IF;
    END IF;
    IF reasons = '[]'::jsonb AND message IS NOT NULL AND decision IN ('denied', 'invalid') THEN
        reasons := jsonb_build_array(message);
    END IF;
    -- absent rather than null at the top; a gateway tool's output is kept whole
    SELECT jsonb_object_agg(e.key, e.value) INTO answer
    FROM jsonb_each(jsonb_build_object(
        'decision', decision, 'command_id', c.command_id, 'approval_id', approval, 'message', message,
        'status', c.status, 'reasons', reasons, 'code', code, 'tool_name', wanted, 'output', output)) AS e
    WHERE jsonb_typeof(e.value) <> 'null';
    step := concord._record_step(run, 'tool_call', wanted, action, decision,
        jsonb_build_object('created_command_id', c.command_id, 'created_approval_id', approval, 'output', answer,
                           'reason', action ->> 'reason',
                           'created_artifact_id', CASE WHEN wanted IN ('create_artifact', 'evaluate_output')
                                                       THEN output ->> 'artifact_id' END,
                           'created_memory_id', CASE WHEN wanted = 'write_memory' THEN output ->> 'memory_id' END));
    IF decision = 'queued' THEN
        UPDATE concord.agent_runs AS a SET status = 'waiting_for_tool' WHERE a.agent_run_id = run.agent_run_id;
    ELSIF decision IN ('require_approval', 'require_input') THEN
        UPDATE concord.agent_runs AS a SET status = 'waiting_for_approval' WHERE a.agent_run_id = run.agent_run_id;
    END IF;
    RETURN answer || jsonb_build_object('step_index', step.step_index, 'agent_step_id', step.agent_step_id);
END
$$;

CREATE OR REPLACE FUNCTION concord.submit_agent_action(agent_run_id uuid, action jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
BEGIN
    IF action IS NULL OR jsonb_typeof(action) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', MESSAGE = 'an agent action must be a JSON object (spec 17)';
    END IF;
    PERFORM concord._require_spec('agent action', action, ARRAY[
        'action_type', 'tool_name', 'payload', 'reason', 'risk_level', 'expected_output', 'idempotency_key',
        'metadata', 'agent_run_id', 'swarm_run_id']);
    PERFORM concord._refuse_spec('agent action', ARRAY[
        CASE WHEN coalesce(action ->> 'action_type', 'tool_call') NOT IN ('tool_call', 'spawn_subagent')
             THEN format('action_type must be tool_call (or spawn_subagent), not %s', action -> 'action_type') END,
        CASE WHEN action -> 'tool_name' IS NULL AND action ->> 'action_type' IS DISTINCT FROM 'spawn_subagent'
             THEN 'tool_name is required' END,
        concord._string_problem(action -> 'tool_name', 'tool_name'),
        concord._object_problem(action -> 'payload', 'payload'),
        CASE WHEN action ? 'reason' AND jsonb_typeof(action -> 'reason') <> 'string' THEN 'reason must be a string' END,
        CASE WHEN action ? 'risk_level' AND NOT coalesce(action ->> 'risk_level', '') IN ('low', 'medium', 'high', 'critical')
             THEN 'risk_level must be low, medium, high or critical' END,
        CASE WHEN action ? 'idempotency_key' THEN concord._string_problem(action -> 'idempotency_key', 'idempotency_key') END,
        CASE WHEN length(action ->> 'idempotency_key') > 500 THEN 'idempotency_key has at most 500 characters' END,
        concord._object_problem(action -> 'metadata', 'metadata'),
        CASE WHEN action ? 'agent_run_id' AND action ->> 'agent_run_id' IS DISTINCT FROM agent_run_id::text
             THEN 'agent_run_id in the action is not the acting agent run' END,
        CASE WHEN action ->> 'action_type' = 'spawn_subagent' AND action ? 'tool_name'
                  AND action ->> 'tool_name' <> 'spawn_subagent'
             THEN 'a spawn_subagent action uses the spawn_subagent tool' END
    ]);
    run := concord._lock_live_agent(agent_run_id);
    IF action ? 'swarm_run_id' AND action ->> 'swarm_run_id' IS DISTINCT FROM run.swarm_run_id::text THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008',
            MESSAGE = format('swarm_run_id %s is not agent run %s''s swarm run', action ->> 'swarm_run_id', agent_run_id);
    END IF;
    IF action ->> 'action_type' = 'spawn_subagent' THEN
        action := jsonb_set(action, '{tool_name}', '"spawn_subagent"');
    END IF;
    RETURN concord._agent_action(run, action);
END
$$;

COMMENT ON FUNCTION concord.submit_agent_action(uuid, jsonb) IS
'The agent gateway (spec 17, 60): {action_type: tool_call, tool_name, payload, reason, '
'risk_level, expected_output, '
'idempotency_key, metadata}. The tool must be in the agent''s allowed_tools (and its connector in '
'allowed_connectors); '
'a command tool becomes a command of its type requested by agent:<id> (ingress agent) through '
'validation and policy. '
'Returns {decision (allowed, queued, require_approval, require_input, denied, invalid), '
'command_id, approval_id, '
'message, status, reasons, code, output, step_index} and records the step.';

-- The gateway tools, one function each (the same path as submit_agent_action).
CREATE OR REPLACE FUNCTION concord._gateway_tool_call(
    agent_run_id uuid, tool_name text, payload jsonb
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF payload IS NULL OR jsonb_typeof(payload) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', MESSAGE = format('the %s input must be a JSON object', tool_name);
    END IF;
    RETURN concord._agent_action(concord._lock_live_agent(agent_run_id),
                                 jsonb_build_object('action_type', 'tool_call', 'tool_name', tool_name, 'payload', payload));
END
$$;

-- One public function per gateway tool. The header is the same for each, so
-- they are made in a loop: (name, internal tool, argument, description).
DO $gateway_tools$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT * FROM (VALUES
            ('create_artifact', 'artifact',
             'Write an artifact in the agent''s swarm (spec 24, 63): {artifact_type, name, '
             'location | content, metadata, '
             'parent_artifact_ids, status, score}; needs tool create_artifact. Returns the '
             'gateway answer; its output '
             'is the artifact.'),
            ('read_artifact', 'request',
             'Read an artifact of the agent''s swarm: {artifact_id}; needs tool read_artifact. '
             'Returns the gateway '
             'answer; its output is the artifact.'),
            ('evaluate_output', 'evaluation',
             'Record a structured evaluation (spec 66) of an artifact of the swarm: {artifact_id, '
             'evaluation_type, '
             'decision, confidence, score, issues, recommendation}; needs tool evaluate_output.'),
            ('write_memory', 'memory',
             'Write a memory within the agent''s memory scope (spec 23, 61): active at once when '
             'confident, consented, '
             'not sensitive and not broad, else a candidate awaiting approval; needs tool write_memory.'),
            ('retrieve_memory', 'query',
             'Retrieve memories within the agent''s memory scope: {memory_type, memory_types, '
             'text, limit}; a text '
             'query needs allow_semantic_retrieval; needs tool retrieve_memory.')
        ) AS v (fn, arg, doc)
    LOOP
        EXECUTE format($fn$
            CREATE OR REPLACE FUNCTION concord.%1$I(agent_run_id uuid, %2$I jsonb)
            RETURNS jsonb
            LANGUAGE plpgsql
            VOLATILE
            SECURITY DEFINER
            SET search_path = concord, pg_temp
            SET "concord.actor" = ''
            SET "concord.reason" = ''
            SET "concord.submitting" = 'off'
            SET "concord.settling" = 'off'
            AS $body$
            BEGIN
                RETURN concord._gateway_tool_call(agent_run_id, %1$L, %2$I);
            END
            $body$ $fn$, t.fn, t.arg);
        EXECUTE format('COMMENT ON FUNCTION concord.%I(uuid, jsonb) IS %L', t.fn, t.doc);
    END LOOP;
END
$gateway_tools$;

-- ---------------------------------------------------------------------------
-- Cancellation (spec 64)
-- ---------------------------------------------------------------------------

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
            MESSAGE = format('unknown cancellation mode %L: use graceful or compensate_then_stop', mode);
    END IF;
    SELECT * INTO swarm FROM concord.swarm_runs AS s WHERE s.swarm_run_id = _cancel_swarm.swarm_run_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('swarm run %s not found', swarm_run_id);
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
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
BEGIN
    PERFORM concord._require('swarm_run_id', swarm_run_id::text);
    -- no actor named: the login cancels
    RETURN concord._cancel_swarm(swarm_run_id, coalesce(nullif(btrim(actor), ''), session_user::text), reason, mode);
END
$$;

COMMENT ON FUNCTION concord.cancel_swarm(uuid, text, text, text) IS
'Cancel a swarm (spec 64): its live agent runs are cancelled, and the commands they asked for '
'that have not '
'finished are cancelled in mode (default: the parent command''s cancellation_mode; '
'compensate_then_stop '
'compensates what ran). Idempotent: a finished swarm is left as it is; returns its status.';

CREATE OR REPLACE FUNCTION concord.cancel_agent_run(
    agent_run_id uuid, actor text DEFAULT NULL, reason text DEFAULT NULL
)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
    saved text[];
BEGIN
    PERFORM concord._require('agent_run_id', agent_run_id::text);
    actor := coalesce(nullif(btrim(actor), ''), session_user::text);  -- no actor named: the login cancels
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
'cancels its swarm. Idempotent; returns the status.';

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
    END IF;
END
$$;

-- ---------------------------------------------------------------------------
-- The runtime's side: the built-in operations of the gateway's own command
-- types run this when an approved command of theirs runs.
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION concord.runtime_agentic_command(command_id uuid, workflow_id text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
DECLARE
    c concord.commands%ROWTYPE;
    answer jsonb;
BEGIN
    PERFORM concord._require('workflow_id', workflow_id);
    c := concord._lock_command(command_id);
    PERFORM concord._require_owner(c, workflow_id);
    PERFORM set_config('concord.actor', 'workflow:' || workflow_id, true);
    IF c.command_type = 'spawn_subagent' THEN
        -- the child exists once: a replay finds the invocation
        SELECT jsonb_build_object('child_agent_run_id', i.child_agent_run_id, 'invocation_id', i.invocation_id)
        INTO answer FROM concord.agent_invocations AS i WHERE i.command_id = c.command_id;
        IF answer IS NULL THEN
            answer := concord._materialize_spawn(c, 'workflow:' || workflow_id);
        END IF;
        RETURN answer;
    ELSIF c.command_type = 'concord.write_memory' THEN
        RETURN concord._activate_memory_command(c.command_id);
    ELSIF c.command_type = 'concord.swarm_review' THEN
        PERFORM concord._swarm_review_settled(c);
        RETURN jsonb_build_object('swarm_run_id', c.payload -> 'swarm_run_id', 'reviewed', true);
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'CN008',
        MESSAGE = format('command %s is a %s command, not one of the agent gateway''s', c.command_id, c.command_type);
END
$$;

COMMENT ON FUNCTION concord.runtime_agentic_command(uuid, text) IS
'(concord_worker) Run an approved command of the gateway''s own types: spawn_subagent creates the '
'child '
'(or answers {refused}), concord.write_memory activates the memory, concord.swarm_review settles '
'the swarm. '
'Idempotent on replay.';

-- ---------------------------------------------------------------------------
-- What an agent may read: the commands it asked for, and the tool catalog
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION concord.agent_command(agent_run_id uuid, command_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
DECLARE
    c concord.commands%ROWTYPE;
BEGIN
    PERFORM concord._require('agent_run_id', agent_run_id::text);
    PERFORM concord._require('command_id', command_id::text);
    SELECT x.* INTO c FROM concord.commands AS x
    WHERE x.command_id = agent_command.command_id
      AND EXISTS (SELECT 1 FROM concord.agent_steps AS s
                  WHERE s.agent_run_id = agent_command.agent_run_id AND s.created_command_id = x.command_id);
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            MESSAGE = format('agent run %s asked for no command %s', agent_run_id, command_id);
    END IF;
    RETURN jsonb_build_object(
        'command_id', c.command_id, 'command_type', c.command_type, 'status', c.status,
        'terminal', concord._is_terminal(c.status) OR c.status = 'failed', 'result', c.result, 'error', c.error,
        'error_class', c.error_class, 'approval_id', concord._pending_approval(c.command_id),
        'updated_at', c.updated_at);
END
$$;

COMMENT ON FUNCTION concord.agent_command(uuid, uuid) IS
'The observation of a command an agent asked for (only its own: CN006 otherwise): {command_id, '
'command_type, '
'status, terminal, result, error, error_class, approval_id}.';

-- Spec 20: the tool catalog.
CREATE OR REPLACE VIEW concord.tool_catalog AS
SELECT
    t.tool_name,
    t.description,
    t.execution_mode,
    t.command_type,
    t.risk_level,
    t.requires_approval,
    t.connector,
    t.capability,
    t.input_schema,
    t.output_schema,
    t.version,
    t.updated_at
FROM concord.tools AS t;
