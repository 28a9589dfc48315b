-- An agent run's own API: its state, its beginning, its steps and messages,
-- its end.

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
        -- a run id opens nothing without its secret, and still the doc names no other
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
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
BEGIN
    PERFORM concord._require_agent_secret(agent_run_id);
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
    secret text;
BEGIN
    run := concord._agent_run(agent_run_id, true);
    IF workflow_id IS NOT NULL AND run.dbos_workflow_id IS DISTINCT FROM workflow_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'an_agent_run_is_begun_by_its_own_workflow',
            MESSAGE = format('agent run %s is run by workflow %s, not %s', agent_run_id,
                             coalesce(run.dbos_workflow_id, '(none: its swarm has no runtime)'), workflow_id);
    END IF;
    PERFORM concord._require_beginner(run, workflow_id);
    IF run.status = 'created' THEN
        PERFORM set_config('concord.actor', coalesce('workflow:' || workflow_id, concord._actor()), true);
        UPDATE concord.agent_runs AS a SET status = 'running' WHERE a.agent_run_id = run.agent_run_id
        RETURNING * INTO run;
    END IF;
    -- the secret is issued once, to the first begin of a live run; a repeated
    -- begin (a DBOS step run again) gets none: the first answer carries it
    IF NOT concord._agentic_terminal('agent', run.status) THEN
        secret := 'car_' || replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '');
        INSERT INTO concord.agent_run_secrets AS s (agent_run_id, secret_sha256, project_id)
        SELECT run.agent_run_id, concord._credential_sha256(secret), c.project_id
        FROM concord.commands AS c WHERE c.command_id = run.command_id
        ON CONFLICT ON CONSTRAINT agent_run_secrets_pkey DO NOTHING;
        IF NOT FOUND THEN
            secret := NULL;
        END IF;
    END IF;
    RETURN concord._agent_run_doc(run) || jsonb_build_object('secret', secret);
END
$$;

COMMENT ON FUNCTION concord.begin_agent_run(uuid, text) IS
'created -> running (a no-op for a run already started or finished); returns agent_run_state '
'and, the first time a live run is begun, its secret (''car_...'', key secret): the credential the '
'run acts with (concord.authenticate), shown once and stored only as a hash; a repeated call '
'answers secret null. A run with a runtime is begun by its own workflow (CN011) from a worker '
'session; one without by a member of its command''s project (CN012, '
'an_agent_run_is_begun_by_whoever_drives_it).';

-- Who may begin run (and so receive its secret): the worker that runs its
-- workflow (a worker or superuser session naming that workflow) for a run
-- with a runtime; for a run without, whoever drives it: a member of its
-- command's project, or a superuser or worker session. An agent begins only
-- itself (a repeated begin: no secret).
CREATE OR REPLACE FUNCTION concord._require_beginner(run concord.agent_runs, workflow_id text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    who record := concord._authenticated();
BEGIN
    IF who.agent_run_id = run.agent_run_id THEN
        RETURN;
    END IF;
    IF who.agent_run_id IS NULL THEN
        IF concord._sees_all() AND (workflow_id IS NOT NULL OR run.dbos_workflow_id IS NULL
                                    OR concord._session_is_superuser()) THEN
            RETURN;
        END IF;
        IF NOT concord._sees_all() AND run.dbos_workflow_id IS NULL THEN
            PERFORM concord._acting_on_command(NULL, run.command_id, ARRAY['owner', 'admin', 'member']);
            RETURN;
        END IF;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'CN012',
        CONSTRAINT = 'an_agent_run_is_begun_by_whoever_drives_it',
        TABLE = 'agent_runs',
        MESSAGE = format('%s may not begin agent run %s: %s', coalesce(who.name, session_user::text), run.agent_run_id,
                         CASE WHEN who.agent_run_id IS NOT NULL THEN 'an agent begins no other run'
                              ELSE format('it is run by workflow %s, which begins it from a worker session',
                                          run.dbos_workflow_id) END),
        HINT = 'A run with a runtime is begun by its workflow; its secret goes to that worker alone.';
END
$$;

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
    recorded concord.agent_steps%ROWTYPE;
BEGIN
    PERFORM concord._require_agent_secret(agent_run_id);
    IF step IS NULL OR jsonb_typeof(step) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', CONSTRAINT = 'agent_step_is_valid',
            MESSAGE = 'a step must be a JSON object';
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
                    CONSTRAINT = 'an_idempotency_key_names_one_agent_action',
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
    new_id uuid;
BEGIN
    PERFORM concord._require_agent_secret(agent_run_id);
    IF message IS NULL OR jsonb_typeof(message) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', CONSTRAINT = 'agent_message_is_valid',
            MESSAGE = 'a message must be a JSON object';
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
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
#variable_conflict use_variable
DECLARE
    run concord.agent_runs%ROWTYPE;
    live text;
BEGIN
    PERFORM concord._require_agent_secret(agent_run_id);
    PERFORM concord._require('agent_run_id', agent_run_id::text);
    IF status IS NULL OR status NOT IN ('succeeded', 'failed') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'an_agent_run_finishes_succeeded_or_failed',
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
            CONSTRAINT = 'an_agent_run_finishes_once',
            MESSAGE = format('agent run %s is already %s', agent_run_id, run.status);
    END IF;
    IF result IS NOT NULL AND jsonb_typeof(result) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', CONSTRAINT = 'an_agent_run_result_is_a_json_object',
            MESSAGE = 'result must be a JSON object';
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
                CONSTRAINT = 'an_agent_run_succeeds_only_after_its_children_finish',
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
