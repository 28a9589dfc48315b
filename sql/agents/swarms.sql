-- Starting a swarm under a governed command (spec 57, 85).

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
    c concord.commands%ROWTYPE;
    existing concord.swarm_runs%ROWTYPE;
    swarm_id uuid;
    root_id uuid;
    coord jsonb := spec -> 'coordinator';
    templates jsonb := coalesce(spec -> 'agents', '[]');
    limits jsonb := coalesce(spec -> 'limits', '{}');
    saved text[];
    starter text;
BEGIN
    PERFORM concord._require('command_id', command_id::text);
    IF spec IS NULL OR jsonb_typeof(spec) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', CONSTRAINT = 'swarm_spec_is_valid',
            MESSAGE = format('a swarm spec must be a JSON object, not %s', coalesce(jsonb_typeof(spec), 'NULL'));
    END IF;
    PERFORM concord._refuse_spec('swarm spec', concord._swarm_spec_problems(spec));
    PERFORM concord._require_tools(concord._text_array(coord -> 'allowed_tools'));
    -- the swarm works inside its command's governance: only a command that
    -- policy let through and that has not finished may start one
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = start_swarm.command_id FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', CONSTRAINT = 'the_command_exists',
            MESSAGE = format('command %s not found', command_id);
    END IF;
    IF (concord._authenticated()).agent_run_id IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'an_agent_acts_within_its_own_swarm',
            TABLE = 'swarm_runs',
            MESSAGE = format('%s may not start a swarm: an agent acts only within its own swarm (it spawns '
                             'subagents)', concord._principal());
    END IF;
    -- whoever starts it is a member of the command's project (or the runtime)
    starter := concord._acting_on_command_or_login(NULL, c.command_id);
    SELECT * INTO existing FROM concord.swarm_runs AS s WHERE s.command_id = c.command_id AND s.name = spec ->> 'name';
    IF FOUND THEN
        IF existing.spec = spec THEN
            RETURN existing.swarm_run_id;
        END IF;
        RAISE EXCEPTION USING
            ERRCODE = 'CN002',
            CONSTRAINT = 'a_swarm_is_started_once_per_command_and_name',
            MESSAGE = format('command %s already has a swarm %s started from a different spec', c.command_id,
                             spec ->> 'name'),
            HINT = 'A swarm is started once per command and name: use another name for another swarm.';
    END IF;
    IF c.status NOT IN ('validated', 'approved', 'queued', 'running') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_swarm_runs_only_under_a_governed_unfinished_command',
            MESSAGE = format('command %s is %s: a swarm starts only under a command that policy let through and '
                             'that has not finished (validated, approved, queued or running)', c.command_id, c.status);
    END IF;

    saved := concord._push_actor(starter,
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
'another spec). Started by an owner, admin or member of the command''s project (CN012), or a '
'superuser or worker session; never by an agent.';
