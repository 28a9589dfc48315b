-- Spawning a subagent (spec 59): a spawn_subagent command through the
-- spawn_scope policy; the child is created when the command is allowed.

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
    run text;
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
            run := concord._push_run('kernel:' || c.command_id);
            PERFORM concord._set_status(c.command_id, 'failed', actor, 'spawn refused', null, SQLERRM, 'policy_denied',
                                        jsonb_build_object('policy_decisions', answer -> 'refused'));
            PERFORM concord._pop_run(run);
        END IF;
        RETURN answer;
    END;
    answer := jsonb_build_object('child_agent_run_id', child_id, 'invocation_id', invocation);
    IF c.status IN ('validated', 'approved') THEN
        -- the kernel runs the spawn inline, as the command's run
        run := concord._push_run('kernel:' || c.command_id);
        PERFORM concord._set_status(c.command_id, 'running', actor, 'spawning the child agent');
        PERFORM concord._set_status(c.command_id, 'succeeded', actor, 'child agent spawned', answer);
        PERFORM concord._pop_run(run);
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
    SELECT * INTO submitted FROM concord._submit_command(
        'spawn_subagent', req, actor, 'agent',
        jsonb_build_object('agent_run_id', parent.agent_run_id, 'swarm_run_id', parent.swarm_run_id,
                           'trace_id', parent.trace_id),
        CASE WHEN request ? 'idempotency_key'
             THEN 'spawn:' || parent.agent_run_id || ':' || (request ->> 'idempotency_key') END,
        null, (SELECT x.project_id FROM concord.commands AS x WHERE x.command_id = parent.command_id), null);
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
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
DECLARE
    parent concord.agent_runs%ROWTYPE;
BEGIN
    IF request IS NULL OR jsonb_typeof(request) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', CONSTRAINT = 'spawn_request_is_valid',
            MESSAGE = 'a spawn request must be a JSON object (spec 59.1)';
    END IF;
    IF NOT coalesce(concord._is_uuid(request ->> 'parent_agent_run_id'), false) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_spawn_names_its_parent_agent_run',
            MESSAGE = format('parent_agent_run_id must be an agent run id, not %s',
                             coalesce(request -> 'parent_agent_run_id', 'null'::jsonb));
    END IF;
    PERFORM concord._require_agent_secret((request ->> 'parent_agent_run_id')::uuid);
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
