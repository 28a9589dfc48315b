-- submit_agent_action (spec 17, 59.2): "an agent can propose; the framework
-- decides what is allowed".
--
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
    refusal text;
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
    IF FOUND AND tool.tool_name = ANY (run.allowed_tools) THEN
        -- asked at every call: a capability retired since the run began is
        -- refused now (sql/registry/agent_capabilities.sql)
        refusal := concord._agent_capability_refusal(run, tool);
    END IF;
    IF tool.tool_name IS NULL THEN
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
                    AND NOT concord._required_connectors(ct.connector_requirements) <@ run.allowed_connectors) THEN
        -- another tool of the same command type must not lend its connectors
        decision := 'denied';
        code := 'CN004';
        message := format('scope violation: tool %s makes %s commands, which need connectors %s; agent run %s '
                          'may use only %s', wanted, tool.command_type,
                          (SELECT array_to_string(ct.connector_requirements, ', ') FROM concord.command_types AS ct
                           WHERE ct.command_type = tool.command_type),
                          run.agent_run_id, array_to_string(run.allowed_connectors, ', '));
    ELSIF refusal IS NOT NULL THEN
        decision := 'denied';
        code := 'CN016';
        message := format('tool %s may no longer be used: %s', wanted, refusal);
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
        EXCEPTION WHEN SQLSTATE 'CN004' OR SQLSTATE 'CN006' OR SQLSTATE 'CN011' OR SQLSTATE 'CN012' THEN
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
            SELECT * INTO submitted FROM concord._submit_command(
                tool.command_type, payload, actor, 'agent',
                jsonb_strip_nulls(jsonb_build_object(
                    'agent_run_id', run.agent_run_id, 'swarm_run_id', run.swarm_run_id,
                    'parent_command_id', run.command_id, 'tool_name', tool.tool_name, 'reason', action ->> 'reason',
                    'risk_level', action ->> 'risk_level', 'trace_id', run.trace_id)),
                CASE WHEN action ? 'idempotency_key'
                     THEN 'agent:' || run.agent_run_id || ':' || (action ->> 'idempotency_key') END,
                null, (SELECT x.project_id FROM concord.commands AS x WHERE x.command_id = run.command_id), null);
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
                -- a sync type: the worker takes it when this transaction commits (spec 29)
                WHEN 'allowed' THEN format('command %s (%s) is allowed; the worker runs it', c.command_id,
                                           c.command_type)
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
        'status', c.status, 'reasons', reasons, 'code', code, 'tool_name', wanted, 'output', output,
        'execution_mode', CASE WHEN c.command_id IS NOT NULL THEN tool.execution_mode END)) AS e
    WHERE jsonb_typeof(e.value) <> 'null';
    -- the step refers to memories by id and digest: their content stays in
    -- the memories rows, where forgetting clears it (sql/memory/references.sql)
    step := concord._record_step(run, 'tool_call', wanted, concord._memory_action_reference(wanted, action), decision,
        jsonb_build_object('created_command_id', c.command_id, 'created_approval_id', approval,
                           'output', concord._memory_answer_reference(wanted, answer),
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
BEGIN
    PERFORM concord._require_agent_secret(agent_run_id);
    IF action IS NULL OR jsonb_typeof(action) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', CONSTRAINT = 'agent_action_is_valid',
            MESSAGE = 'an agent action must be a JSON object (spec 17)';
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
        RAISE EXCEPTION USING ERRCODE = 'CN008', CONSTRAINT = 'an_action_names_its_own_swarm_run',
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
