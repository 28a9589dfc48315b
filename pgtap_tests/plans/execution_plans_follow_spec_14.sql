-- Plans (spec 7.4, 10, 13.3, 14, 29): plan_command builds the ExecutionPlan
-- (execution mode, steps with depends_on, the approval gate, the spec 10 queue
-- of each effect), stores it and records it once; only a command still to run
-- is planned (only_a_command_still_to_run_is_planned); choose_queue maps every
-- effect type prefix.
BEGIN;
SELECT plan(29);

-- The steps of plan as "step_id<dep,dep" strings, in order.
CREATE FUNCTION pg_temp.step_graph(plan jsonb)
RETURNS text[]
LANGUAGE sql
AS $$
    SELECT array_agg((s.step ->> 'step_id') || '<'
                     || coalesce((SELECT string_agg(d, ',') FROM jsonb_array_elements_text(s.step -> 'depends_on') AS d), '')
                     ORDER BY s.n)
    FROM jsonb_array_elements(plan -> 'steps') WITH ORDINALITY AS s (step, n)
$$;

-- The step step_id of plan.
CREATE FUNCTION pg_temp.step(plan jsonb, step_id text)
RETURNS jsonb
LANGUAGE sql
AS $$ SELECT s FROM jsonb_array_elements(plan -> 'steps') AS s WHERE s ->> 'step_id' = step.step_id $$;

-- Run sql as role; 'ok', or the SQLSTATE it raised.
CREATE FUNCTION concord_test.as_role(role name, sql text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    outcome text;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', role);
    BEGIN
        EXECUTE sql;
        outcome := 'ok';
    EXCEPTION WHEN OTHERS THEN
        outcome := SQLSTATE;
    END;
    RESET ROLE;
    RETURN outcome;
END
$$;

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_sync", "sync_allowed": true}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_async", "async_required": true, "connector_requirements": ["gmail", "slack"],
          "artifact_output_possible": true, "memory_write_possible": true, "notification_required": true,
          "function_name": "app.do_async"}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_gated", "sync_allowed": true, "approval_required": true, "approval_type": "data_owner"}');
END $$;

-- ===========================================================================
-- Execution modes and steps
-- ===========================================================================
SELECT is(concord_test.submit('sync', 't_sync'), 'validated', 'fixture: a synchronous command is validated');

CREATE TEMP TABLE plans (label text PRIMARY KEY, plan jsonb);
INSERT INTO plans SELECT 'sync', concord.plan_command(concord_test.id('sync'));

SELECT row_eq(
    $$SELECT plan ->> 'execution_mode', plan ->> 'command_type', (plan ->> 'command_id')::uuid, plan ->> 'plan_id' IS NOT NULL,
             plan -> 'queues'
      FROM plans WHERE label = 'sync'$$,
    ROW('sync'::text, 't_sync'::text, concord_test.id('sync'), true, '{}'::jsonb),
    'a synchronous type plans sync, with the command, its type, a plan id and no effect queues'
);

SELECT is(
    pg_temp.step_graph((SELECT plan FROM plans WHERE label = 'sync')),
    ARRAY['validate<', 'policy<validate', 'execute<policy', 'finalize<execute'],
    'sync steps: validate, policy, execute, finalize, each depending on the one before; no approval gate'
);

SELECT row_eq(
    $$SELECT pg_temp.step(plan, 'execute') ->> 'primitive', pg_temp.step(plan, 'execute') #>> '{metadata,queue}'
      FROM plans WHERE label = 'sync'$$,
    ROW('sync_function'::text, NULL::text),
    'the sync execute step is a sync_function on no queue'
);

SELECT is(
    (SELECT plan FROM concord.commands WHERE command_id = concord_test.id('sync')),
    (SELECT plan FROM plans WHERE label = 'sync'),
    'the plan is stored on commands.plan'
);

SELECT is(
    (SELECT count(*) FROM concord.domain_events
     WHERE command_id = concord_test.id('sync') AND event_type = 'command_planned'),
    1::bigint,
    'planning records one command_planned event'
);

SELECT is(concord.plan_command(concord_test.id('sync')), (SELECT plan FROM plans WHERE label = 'sync'),
          'planning again returns the same plan (same plan_id)');

SELECT is(
    (SELECT count(*) FROM concord.domain_events
     WHERE command_id = concord_test.id('sync') AND event_type = 'command_planned'),
    1::bigint,
    'planning again unchanged records no second command_planned event'
);

SELECT is(
    (SELECT target_id FROM concord.domain_events
     WHERE command_id = concord_test.id('sync') AND event_type = 'command_planned'),
    (SELECT plan ->> 'plan_id' FROM plans WHERE label = 'sync'),
    'the command_planned event targets the plan id'
);

SELECT is(concord_test.submit('async', 't_async'), 'queued', 'fixture: an asynchronous command is queued');
INSERT INTO plans SELECT 'async', concord.plan_command(concord_test.id('async'));

SELECT is((SELECT plan ->> 'execution_mode' FROM plans WHERE label = 'async'), 'async',
          'an async type plans async');

SELECT is(
    pg_temp.step_graph((SELECT plan FROM plans WHERE label = 'async')),
    ARRAY['validate<', 'policy<validate', 'execute<policy', 'connector:gmail<execute', 'connector:slack<execute',
          'artifact_write<execute,connector:gmail,connector:slack', 'memory_write<execute',
          'notify<execute,connector:gmail,connector:slack,artifact_write,memory_write',
          'finalize<execute,connector:gmail,connector:slack,artifact_write,memory_write,notify'],
    'async steps: connector, artifact, memory and notify steps after execute; finalize after all'
);

SELECT row_eq(
    $$SELECT pg_temp.step(plan, 'execute') ->> 'primitive', pg_temp.step(plan, 'execute') #>> '{metadata,queue}',
             pg_temp.step(plan, 'execute') ->> 'function_name'
      FROM plans WHERE label = 'async'$$,
    ROW('async_task'::text, 'concord_default'::text, 'app.do_async'::text),
    'the async execute step is an async_task of the type''s function on concord_default'
);

SELECT row_eq(
    $$SELECT pg_temp.step(plan, 'connector:gmail') ->> 'primitive', pg_temp.step(plan, 'connector:gmail') #>> '{metadata,queue}',
             pg_temp.step(plan, 'connector:gmail') #>> '{metadata,effect_type}'
      FROM plans WHERE label = 'async'$$,
    ROW('connector_call'::text, 'connector_calls'::text, 'connector.gmail'::text),
    'a connector step is a connector_call on queue connector_calls'
);

SELECT row_eq(
    $$SELECT pg_temp.step(plan, 'notify') ->> 'primitive', pg_temp.step(plan, 'notify') #>> '{metadata,queue}'
      FROM plans WHERE label = 'async'$$,
    ROW('notification'::text, 'notifications'::text),
    'the notify step is a notification on queue notifications'
);

SELECT is(
    (SELECT plan -> 'queues' FROM plans WHERE label = 'async'),
    '{"connector.gmail": "connector_calls", "connector.slack": "connector_calls", "artifact.write": "concord_default",
      "memory.write": "concord_default", "notification.send": "notifications"}'::jsonb,
    'queues maps each effect type of the plan to its spec 10 queue'
);

SELECT is(
    (SELECT plan -> 'primitives' FROM plans WHERE label = 'async'),
    to_jsonb(concord.map_task_to_primitives('t_async')),
    'the plan''s primitives are the type''s primitives'
);

SELECT is_empty(
    $$SELECT p.label, s.step ->> 'step_id', d
      FROM plans AS p
      CROSS JOIN LATERAL jsonb_array_elements(p.plan -> 'steps') WITH ORDINALITY AS s (step, n)
      CROSS JOIN LATERAL jsonb_array_elements_text(s.step -> 'depends_on') AS d
      WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p.plan -> 'steps') WITH ORDINALITY AS e (step, m)
                        WHERE e.step ->> 'step_id' = d AND e.m < s.n)$$,
    'every depends_on names an earlier step'
);

SELECT is(concord_test.submit('gated', 't_gated'), 'waiting_for_approval', 'fixture: a command waiting for approval');
INSERT INTO plans SELECT 'gated', concord.plan_command(concord_test.id('gated'));

SELECT is((SELECT plan ->> 'execution_mode' FROM plans WHERE label = 'gated'), 'approval_gated_async',
          'a command that needs approval plans approval_gated_async, even for a sync-allowed type');

SELECT is(
    pg_temp.step_graph((SELECT plan FROM plans WHERE label = 'gated')),
    ARRAY['validate<', 'policy<validate', 'approval_gate<policy', 'execute<approval_gate', 'finalize<execute'],
    'gated steps: the approval gate after policy, execute after the gate'
);

SELECT row_eq(
    $$SELECT pg_temp.step(plan, 'approval_gate') ->> 'primitive', pg_temp.step(plan, 'approval_gate') #> '{metadata,approval_types}',
             pg_temp.step(plan, 'execute') ->> 'primitive', plan -> 'primitives' ? 'human_approval'
      FROM plans WHERE label = 'gated'$$,
    ROW('human_approval'::text, '["data_owner"]'::jsonb, 'async_task'::text, true),
    'the gate is a human_approval step naming the approval types; execute is an async_task; human_approval is a primitive'
);

SELECT is(
    (SELECT count(*) FROM concord.domain_events
     WHERE command_id = concord_test.id('gated') AND event_type = 'command_planned'),
    1::bigint,
    'each command records its own command_planned event'
);

-- Statuses a plan is refused for
SELECT concord_test.command_at('t_sync', 'succeeded', 'done') IS NOT NULL AS fixture \gset
SELECT concord_test.command_at('t_sync', 'failed', 'broken') IS NOT NULL AS fixture \gset
SELECT concord_test.command_at('t_sync', 'cancelled', 'stopped') IS NOT NULL AS fixture \gset

SELECT concord_test.throws_rule(format($$SELECT concord.plan_command(%L)$$, concord_test.id('done')), 'CN011', 'only_a_command_still_to_run_is_planned',
                 'CN011: a succeeded command is not planned');
SELECT concord_test.throws_rule(format($$SELECT concord.plan_command(%L)$$, concord_test.id('broken')), 'CN011', 'only_a_command_still_to_run_is_planned',
                 'CN011: a failed command is not planned');
SELECT concord_test.throws_rule(format($$SELECT concord.plan_command(%L)$$, concord_test.id('stopped')), 'CN011', 'only_a_command_still_to_run_is_planned',
                 'CN011: a cancelled command is not planned');
SELECT concord_test.throws_rule($$SELECT concord.plan_command('00000000-0000-0000-0000-000000000000')$$, 'CN006', 'the_command_exists',
                 'CN006: an unknown command');

-- ===========================================================================
-- choose_queue (spec 10)
-- ===========================================================================
SELECT is(
    (SELECT array_agg(e || '=' || concord.choose_queue(e) ORDER BY n)
     FROM unnest(ARRAY['connector.gmail', 'connector.slack.post', 'agent.run', 'agent.run_tool', 'agent.spawn',
                       'agent.spawn_child', 'notification.email', 'notification.send', 'artifact.write',
                       'memory.write', 'email.send', 'connectors', 'agent.other', 'notifications']) WITH ORDINALITY AS x (e, n)),
    ARRAY['connector.gmail=connector_calls', 'connector.slack.post=connector_calls', 'agent.run=agent_runs',
          'agent.run_tool=agent_runs', 'agent.spawn=swarm_children', 'agent.spawn_child=swarm_children',
          'notification.email=notifications', 'notification.send=notifications', 'artifact.write=concord_default',
          'memory.write=concord_default', 'email.send=concord_default', 'connectors=concord_default',
          'agent.other=concord_default', 'notifications=concord_default'],
    'choose_queue: connector.* connector_calls, agent.run* agent_runs, agent.spawn* swarm_children, '
    'notification.* notifications, anything else concord_default'
);

SELECT concord_test.throws_rule($$SELECT concord.choose_queue(' ')$$, 'CN008', 'required_argument_is_not_blank', 'CN008: choose_queue of a blank effect type');

SELECT * FROM finish();
ROLLBACK;
