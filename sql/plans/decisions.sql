-- Planning (spec 7.4, 10, 13.3, 14, 29): the pure functions that map a task to
-- primitives and build a command's ExecutionPlan from its type.

-- Spec 14, as a pure function of the type's flags.
CREATE OR REPLACE FUNCTION concord._primitives_for(
    approval_required boolean,
    async_required boolean,
    sync_allowed boolean,
    has_connectors boolean,
    artifact_output_possible boolean,
    memory_write_possible boolean,
    notification_required boolean
)
RETURNS text[]
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT ARRAY['ingress', 'command', 'context', 'policy', 'plan']
        || CASE WHEN approval_required THEN ARRAY['human_approval'] ELSE '{}'::text[] END
        || CASE
            WHEN async_required THEN ARRAY['queue', 'async_task']
            WHEN sync_allowed THEN ARRAY['sync_function']
            ELSE ARRAY['queue', 'async_task']
        END
        || CASE WHEN has_connectors THEN ARRAY['connector_call'] ELSE '{}'::text[] END
        || CASE WHEN artifact_output_possible THEN ARRAY['artifact_write'] ELSE '{}'::text[] END
        || CASE WHEN memory_write_possible THEN ARRAY['memory_write'] ELSE '{}'::text[] END
        || CASE WHEN notification_required THEN ARRAY['notification'] ELSE '{}'::text[] END
        || ARRAY['state_transition', 'audit']
$$;

CREATE OR REPLACE FUNCTION concord.map_task_to_primitives(command_type text)
RETURNS text[]
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
DECLARE
    t concord.command_types%ROWTYPE;
BEGIN
    PERFORM concord._require('command_type', command_type);
    SELECT * INTO t FROM concord.command_types AS ct WHERE ct.command_type = map_task_to_primitives.command_type;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN009',
            CONSTRAINT = 'command_type_is_registered',
            MESSAGE = format('unknown command type %L', command_type),
            HINT = 'Register it first with concord.register_command_type(spec).';
    END IF;
    RETURN concord._primitives_for(
        t.approval_required, t.async_required, t.sync_allowed,
        cardinality(t.connector_requirements) > 0, t.artifact_output_possible,
        t.memory_write_possible, t.notification_required);
END
$$;

COMMENT ON FUNCTION concord.map_task_to_primitives(text) IS
'The primitives a command type maps to (spec 14).';

-- Spec 10: the semantic queue an effect type runs on.
CREATE OR REPLACE FUNCTION concord.choose_queue(effect_type text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
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
    PERFORM concord._require('effect_type', effect_type);
    RETURN CASE
        WHEN starts_with(effect_type, 'connector.') THEN 'connector_calls'
        WHEN starts_with(effect_type, 'agent.run') THEN 'agent_runs'
        WHEN starts_with(effect_type, 'agent.spawn') THEN 'swarm_children'
        WHEN starts_with(effect_type, 'notification.') THEN 'notifications'
        ELSE 'concord_default'
    END;
END
$$;

COMMENT ON FUNCTION concord.choose_queue(text) IS
'The semantic queue of an effect type (spec 10): connector.* connector_calls, '
'agent.run* agent_runs, '
'agent.spawn* swarm_children, notification.* notifications, anything else concord_default.';

-- Spec 29: sync, async or approval_gated_async.
CREATE OR REPLACE FUNCTION concord._execution_mode(ct concord.command_types, gated boolean)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN CASE
        WHEN gated THEN 'approval_gated_async'
        WHEN ct.async_required OR NOT ct.sync_allowed THEN 'async'
        ELSE 'sync'
    END;
END
$$;

-- A plan step that performs an effect, on the queue of its effect type.
CREATE OR REPLACE FUNCTION concord._effect_step(
    step_id text, primitive text, function_name text, effect_type text, depends_on text[]
)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'step_id', step_id, 'primitive', primitive, 'function_name', function_name,
        'depends_on', to_jsonb(depends_on),
        'metadata', jsonb_build_object('effect_type', effect_type, 'queue', concord.choose_queue(effect_type)));
END
$$;

-- The spec 13.3 ExecutionPlan of command_id for type ct; approval_types
-- (the approvals its policies asked for) or the type's approval_required
-- flag insert the approval gate. Pure: the same inputs give the same plan,
-- plan_id included.
CREATE OR REPLACE FUNCTION concord._build_plan(
    ct concord.command_types, command_id uuid, approval_types text[]
)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    gated boolean := ct.approval_required OR cardinality(approval_types) > 0;
    mode text := concord._execution_mode(ct, gated);
    steps jsonb := '[]'::jsonb;
    queues jsonb := '{}'::jsonb;
    effect_steps text[] := '{}'::text[];
    before_execute text;
    connector text;
BEGIN
    steps := steps || jsonb_build_object(
        'step_id', 'validate', 'primitive', 'command', 'function_name', 'concord.submit_command',
        'depends_on', '[]'::jsonb, 'metadata', jsonb_build_object('sync', true));
    steps := steps || jsonb_build_object(
        'step_id', 'policy', 'primitive', 'policy', 'function_name', 'concord.evaluate_policies',
        'depends_on', '["validate"]'::jsonb,
        'metadata', jsonb_build_object('sync', true, 'policies', to_jsonb(concord._effective_policies(ct))));
    before_execute := 'policy';
    IF gated THEN
        steps := steps || jsonb_build_object(
            'step_id', 'approval_gate', 'primitive', 'human_approval', 'function_name', 'concord.resolve_approval',
            'depends_on', '["policy"]'::jsonb,
            'metadata', jsonb_build_object('approval_types', to_jsonb(CASE
                WHEN cardinality(approval_types) > 0 THEN approval_types
                ELSE ARRAY[coalesce(ct.approval_type, 'standard')] END)));
        before_execute := 'approval_gate';
    END IF;
    steps := steps || jsonb_build_object(
        'step_id', 'execute',
        'primitive', CASE WHEN mode = 'sync' THEN 'sync_function' ELSE 'async_task' END,
        'function_name', coalesce(ct.function_name, ct.command_type),
        'depends_on', jsonb_build_array(before_execute),
        'metadata', jsonb_build_object('queue', CASE WHEN mode = 'sync' THEN null ELSE 'concord_default' END,
                                       'max_attempts', ct.max_attempts));
    FOREACH connector IN ARRAY ct.connector_requirements LOOP
        steps := steps || concord._effect_step(
            'connector:' || connector, 'connector_call', connector, 'connector.' || connector, ARRAY['execute']);
        effect_steps := effect_steps || ('connector:' || connector);
    END LOOP;
    IF ct.artifact_output_possible THEN
        steps := steps || concord._effect_step(
            'artifact_write', 'artifact_write', 'artifact.write', 'artifact.write', ARRAY['execute'] || effect_steps);
        effect_steps := effect_steps || 'artifact_write'::text;
    END IF;
    IF ct.memory_write_possible THEN
        steps := steps || concord._effect_step(
            'memory_write', 'memory_write', 'memory.write', 'memory.write', ARRAY['execute']);
        effect_steps := effect_steps || 'memory_write'::text;
    END IF;
    IF ct.notification_required THEN
        steps := steps || concord._effect_step(
            'notify', 'notification', 'notification.send', 'notification.send', ARRAY['execute'] || effect_steps);
        effect_steps := effect_steps || 'notify'::text;
    END IF;
    queues := coalesce((
        SELECT jsonb_object_agg(x.step #>> '{metadata,effect_type}', x.step #> '{metadata,queue}')
        FROM jsonb_array_elements(steps) AS x (step)
        WHERE x.step -> 'metadata' ? 'effect_type'), '{}'::jsonb);
    steps := steps || jsonb_build_object(
        'step_id', 'finalize', 'primitive', 'state_transition', 'function_name', 'concord.transition_command',
        'depends_on', to_jsonb(ARRAY['execute'] || effect_steps), 'metadata', jsonb_build_object('audit', true));
    RETURN jsonb_build_object(
        'plan_id', 'plan_' || md5(concat_ws(':', command_id, ct.command_type, ct.version, mode,
                                 array_to_string(approval_types, ','))),
        'command_id', command_id,
        'command_type', ct.command_type,
        'command_type_version', ct.version,
        'execution_mode', mode,
        'primitives', to_jsonb(concord._primitives_for(
            gated, ct.async_required, ct.sync_allowed, cardinality(ct.connector_requirements) > 0,
            ct.artifact_output_possible, ct.memory_write_possible, ct.notification_required)),
        'steps', steps,
        'queues', queues);
END
$$;
