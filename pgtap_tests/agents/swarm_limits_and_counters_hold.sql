-- A swarm's limits hold whoever writes (spec 71.1, 71.3): live agents stay
-- within max_agents, steps within max_steps and max_total_steps, cost within
-- max_cost_units (CN010); the counters are derived from the agent runs and
-- their steps, never written (CN007); limits are immutable; steps and
-- messages are append-only and the agentic record is never deleted nor
-- truncated (CN007).
BEGIN;
SELECT plan(57);

-- ===========================================================================
-- Fixtures and helpers
-- ===========================================================================

-- Remember an id under a label.
CREATE FUNCTION pg_temp.remember(label text, id uuid)
RETURNS uuid
LANGUAGE sql
AS $$ INSERT INTO concord_test.fixture (label, id) VALUES (label, id) RETURNING id $$;

CREATE FUNCTION pg_temp.id(label text)
RETURNS uuid
LANGUAGE sql
AS $$ SELECT concord_test.id(label) $$;

-- The agent run remembered as label, whole (volatile: sees fresh writes).
CREATE FUNCTION pg_temp.run(label text)
RETURNS concord.agent_runs
LANGUAGE sql
AS $$ SELECT a.* FROM concord.agent_runs AS a WHERE a.agent_run_id = concord_test.id(label) $$;

-- The swarm run remembered as label, whole.
CREATE FUNCTION pg_temp.swarm(label text)
RETURNS concord.swarm_runs
LANGUAGE sql
AS $$ SELECT s.* FROM concord.swarm_runs AS s WHERE s.swarm_run_id = concord_test.id(label) $$;

-- Run sql; 'ok' or the SQLSTATE it raised (its effects are kept when ok).
CREATE FUNCTION pg_temp.outcome(sql text)
RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

-- Run sql as role; 'ok' or the SQLSTATE it raised.
CREATE FUNCTION pg_temp.as_role(role name, sql text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    result text;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', role);
    BEGIN
        EXECUTE sql;
        result := 'ok';
    EXCEPTION WHEN OTHERS THEN
        result := SQLSTATE;
    END;
    RESET ROLE;
    RETURN result;
END
$$;

-- A spec 61.2 memory scope.
CREATE FUNCTION pg_temp.ms(
    subject_id text DEFAULT 'u1', types jsonb DEFAULT '["preference", "fact"]', semantic boolean DEFAULT false,
    max_results integer DEFAULT 5, subject_type text DEFAULT 'user'
)
RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT jsonb_build_object('subject_type', subject_type, 'subject_id', subject_id,
                              'allowed_memory_types', types, 'allow_semantic_retrieval', semantic,
                              'max_results', max_results)
$$;

-- A raw child of the agent run remembered as parent_label, written straight
-- into agent_runs by the owner; every scope is the parent's unless given;
-- remembered as label.
CREATE FUNCTION pg_temp.raw_child(
    parent_label text, label text, tools text [] DEFAULT NULL, connectors text [] DEFAULT NULL,
    child_roles text [] DEFAULT NULL, mem jsonb DEFAULT NULL, role text DEFAULT 'researcher',
    steps integer DEFAULT 10, depth integer DEFAULT NULL
)
RETURNS uuid
LANGUAGE sql
AS $$
    WITH a AS (
        INSERT INTO concord.agent_runs (
            command_id, swarm_run_id, parent_agent_run_id, agent_name, agent_role, goal, allowed_tools,
            allowed_connectors, allowed_child_roles, memory_scope, max_steps, spawn_depth
        )
        SELECT p.command_id, p.swarm_run_id, p.agent_run_id, raw_child.label, raw_child.role, 'a raw goal',
               coalesce(raw_child.tools, p.allowed_tools), coalesce(raw_child.connectors, p.allowed_connectors),
               coalesce(raw_child.child_roles, p.allowed_child_roles), coalesce(raw_child.mem, p.memory_scope),
               raw_child.steps, coalesce(raw_child.depth, p.spawn_depth + 1)
        FROM concord.agent_runs AS p WHERE p.agent_run_id = concord_test.id(raw_child.parent_label)
        RETURNING agent_runs.agent_run_id
    )
    INSERT INTO concord_test.fixture (label, id)
    SELECT raw_child.label, a.agent_run_id FROM a
    RETURNING fixture.id
$$;

-- A raw swarm run (status created, no agents yet) under the command
-- remembered as 'pc'.
CREATE FUNCTION pg_temp.raw_swarm(label text, max_agents integer DEFAULT 10)
RETURNS uuid
LANGUAGE sql
AS $$
    WITH s AS (
        INSERT INTO concord.swarm_runs (command_id, name, objective, execution_mode, join_strategy, max_agents,
                                        trace_id, created_by)
        VALUES (concord_test.id('pc'), raw_swarm.label, 'raw objective', 'parallel', 'all_success',
                raw_swarm.max_agents, '', 'owner')
        RETURNING swarm_runs.swarm_run_id
    )
    INSERT INTO concord_test.fixture (label, id)
    SELECT raw_swarm.label, s.swarm_run_id FROM s
    RETURNING fixture.id
$$;

-- A raw root agent run in the swarm remembered as swarm_label; the columns
-- given in cols/vals (SQL text) override the defaults.
CREATE FUNCTION pg_temp.raw_root_sql(swarm_label text, cols text, vals text)
RETURNS text
LANGUAGE sql
AS $$
    SELECT format(
        'INSERT INTO concord.agent_runs (command_id, swarm_run_id, agent_name, agent_role, goal%s) '
        'VALUES (%L, %L, %L, %L, %L%s)',
        CASE WHEN cols <> '' THEN ', ' || cols ELSE '' END, concord_test.id('pc'), concord_test.id(swarm_label),
        'root', 'coordinator', 'a root goal', CASE WHEN vals <> '' THEN ', ' || vals ELSE '' END)
$$;

-- A spawn through the gateway: parent label, request fields.
CREATE FUNCTION pg_temp.spawn(parent_label text, request jsonb)
RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT concord.spawn_subagent(request || jsonb_build_object('parent_agent_run_id', concord_test.id(parent_label)))
$$;

-- A tool call through the gateway.
CREATE FUNCTION pg_temp.act(label text, action jsonb)
RETURNS jsonb
LANGUAGE sql
AS $$ SELECT concord.submit_agent_action(concord_test.id(label), action) $$;

-- How many audit events of event_type name the agent run remembered as label
-- (optionally from -> to).
CREATE FUNCTION pg_temp.agent_events(label text, event_type text, from_status text DEFAULT NULL,
                                     to_status text DEFAULT NULL)
RETURNS bigint
LANGUAGE sql
AS $$
    SELECT count(*) FROM concord.domain_events AS e
    WHERE e.agent_run_id = concord_test.id(label) AND e.event_type = agent_events.event_type
      AND (agent_events.from_status IS NULL OR e.from_status = agent_events.from_status)
      AND (agent_events.to_status IS NULL OR e.to_status = agent_events.to_status)
$$;

CREATE FUNCTION pg_temp.swarm_events(label text, event_type text, from_status text DEFAULT NULL,
                                     to_status text DEFAULT NULL)
RETURNS bigint
LANGUAGE sql
AS $$
    SELECT count(*) FROM concord.domain_events AS e
    WHERE e.swarm_run_id = concord_test.id(label) AND e.agent_run_id IS NULL
      AND e.event_type = swarm_events.event_type
      AND (swarm_events.from_status IS NULL OR e.from_status = swarm_events.from_status)
      AND (swarm_events.to_status IS NULL OR e.to_status = swarm_events.to_status)
$$;

-- Command types, tools, the parent command.
DO $$
BEGIN
    PERFORM concord.register_command_type('{"command_type": "t.parent", "name": "p", "sync_allowed": true}');
    PERFORM concord.register_command_type(
        '{"command_type": "t.read", "sync_allowed": true, "policy_checks": ["agent_tool"]}');
    PERFORM concord.register_policy(
        '{"name": "ag_deny", "predicate": "$.payload.deny == true", "decision": "deny", "reasons": ["never"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "t.deny", "sync_allowed": true, "policy_checks": ["agent_tool", "ag_deny"]}');
    PERFORM concord.register_connector('{"name": "crm", "connector_type": "http", "capabilities": ["crm.update"]}');
    PERFORM concord.register_tool(
        '{"name": "sql.read", "command_type": "t.read", "description": "read",
          "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}');
    PERFORM concord.register_tool(
        '{"name": "crm.update", "command_type": "t.read", "connector": "crm", "capability": "crm.update"}');
    PERFORM concord.register_tool('{"name": "publish", "command_type": "t.read", "requires_approval": true}');
    PERFORM concord.register_tool('{"name": "danger", "command_type": "t.deny"}');
    PERFORM concord.register_tool('{"name": "other.read", "command_type": "t.read"}');
    PERFORM concord.register_command_type('{"command_type": "t.async", "policy_checks": ["agent_tool"]}');
    PERFORM concord.register_tool('{"name": "bg.job", "command_type": "t.async"}');
    PERFORM pg_temp.remember('pc', (SELECT s.command_id FROM concord.submit_command('t.parent', '{}', 'alice') AS s));
    PERFORM pg_temp.remember('pc2', (SELECT s.command_id FROM concord.submit_command('t.parent', '{}', 'alice') AS s));
END
$$;

-- Swarm G: the gateway's swarm.
INSERT INTO concord_test.fixture (label, id) VALUES ('G', concord.start_swarm(pg_temp.id('pc'),
    jsonb_build_object(
        'name', 'gw', 'objective', 'investigate revenue',
        'limits', jsonb_build_object('max_agents', 4, 'max_depth', 2, 'max_total_steps', 60),
        'coordinator', jsonb_build_object(
            'agent_name', 'coord', 'max_steps', 30,
            'allowed_tools', '["sql.read", "spawn_subagent", "publish", "crm.update", "danger", "bg.job"]'::jsonb,
            'allowed_connectors', '["crm"]'::jsonb,
            'memory_scope', pg_temp.ms(semantic => true, max_results => 10)),
        'agents', '[{"agent_name": "researcher", "agent_role": "researcher", "goal": "research",
                     "allowed_tools": ["sql.read"]},
                    {"agent_name": "analyst", "agent_role": "analyst", "goal": "analyse"}]'::jsonb)));
INSERT INTO concord_test.fixture (label, id) VALUES ('coord', (SELECT s.coordinator_agent_run_id FROM concord.swarm_runs AS s
                                  WHERE s.swarm_run_id = pg_temp.id('G')));

-- Swarm R: raw attacks on scopes.
INSERT INTO concord_test.fixture (label, id) VALUES ('R', concord.start_swarm(pg_temp.id('pc'),
    jsonb_build_object(
        'name', 'raw', 'objective', 'be attacked',
        'limits', jsonb_build_object('max_agents', 50, 'max_depth', 3, 'max_total_steps', 1000),
        'coordinator', jsonb_build_object(
            'agent_name', 'rc', 'max_steps', 100,
            'allowed_tools', '["sql.read", "publish", "crm.update"]'::jsonb,
            'allowed_connectors', '["crm", "mail"]'::jsonb,
            'allowed_child_roles', '["researcher", "analyst"]'::jsonb,
            'memory_scope', pg_temp.ms()))));
INSERT INTO concord_test.fixture (label, id) VALUES ('rc', (pg_temp.swarm('R')).coordinator_agent_run_id);

-- A raw swarm run without agents.
SELECT pg_temp.raw_swarm('Y') IS NOT NULL AS made;

-- ===========================================================================
-- Count: live agents <= max_agents
-- ===========================================================================
INSERT INTO concord_test.fixture (label, id) VALUES ('K', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "count", "objective": "count", "limits": {"max_agents": 2},
      "coordinator": {"agent_name": "kc", "allowed_tools": ["sql.read"]}}'));
INSERT INTO concord_test.fixture (label, id) VALUES ('kc', (pg_temp.swarm('K')).coordinator_agent_run_id);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.agent_runs (command_id, swarm_run_id, parent_agent_run_id, agent_name, agent_role,
                                             goal, spawn_depth)
             VALUES (%1$L, %2$L, %3$L, 'twin_a', 'r', 'g', 1), (%1$L, %2$L, %3$L, 'twin_b', 'r', 'g', 1)$$,
           pg_temp.id('pc'), pg_temp.id('K'), pg_temp.id('kc')),
    'CN010', 'live_agents_stay_within_max_agents', 'CN010: two agents inserted in one statement for the last slot'
);
SELECT lives_ok($$SELECT pg_temp.raw_child('kc', 'k1')$$, 'a second live agent fits max_agents 2');
SELECT is((pg_temp.swarm('K')).live_agents, 2, 'live_agents counts the live agent runs');
SELECT concord_test.throws_rule($$SELECT pg_temp.raw_child('kc', 'k2')$$, 'CN010', 'live_agents_stay_within_max_agents',
    'CN010: one more live agent than max_agents (raw insert)');
UPDATE concord.agent_runs SET status = 'failed', error = 'gave up' WHERE agent_run_id = pg_temp.id('k1');
SELECT is((pg_temp.swarm('K')).live_agents, 1, 'a finished agent no longer counts as live');
SELECT lives_ok($$SELECT pg_temp.raw_child('kc', 'k2')$$, 'after one agent finished, a new one fits');
SELECT is((pg_temp.swarm('K')).live_agents, 2, 'live_agents is recounted');

-- ===========================================================================
-- Steps and cost: max_steps, max_total_steps, max_cost_units; append-only
-- ===========================================================================
INSERT INTO concord_test.fixture (label, id) VALUES ('S', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "steps", "objective": "steps", "limits": {"max_total_steps": 6, "max_cost_units": 10},
      "coordinator": {"agent_name": "sc", "max_steps": 3, "allowed_tools": ["sql.read"]}}'));
INSERT INTO concord_test.fixture (label, id) VALUES ('sc', (pg_temp.swarm('S')).coordinator_agent_run_id);
SELECT is(
    concord.record_agent_step(pg_temp.id('sc'), '{"action_type": "think", "cost_units": 4}') ->> 'step_index', '1',
    'record_agent_step numbers the first step 1'
);
SELECT is((pg_temp.run('sc')).status, 'running', 'acting starts a created agent run');
SELECT lives_ok(
    $$INSERT INTO concord.agent_steps (agent_run_id, command_id, step_index, action_type, decision)
      VALUES (pg_temp.id('sc'), pg_temp.id('pc'), 1, 'plan', 'recorded')$$,
    'a raw step with a forged step_index is accepted...'
);
SELECT results_eq(
    format($$SELECT step_index FROM concord.agent_steps WHERE agent_run_id = %L ORDER BY step_index$$, pg_temp.id('sc')),
    ARRAY[1, 2], '...and numbered by the record (2, not the forged 1)'
);
SELECT throws_ok(
    $$INSERT INTO concord.agent_steps (agent_run_id, command_id, step_index, action_type, decision)
      VALUES (pg_temp.id('sc'), pg_temp.id('pc'), 3, 'plan', 'recorded'), (pg_temp.id('sc'), pg_temp.id('pc'), 4, 'plan', 'recorded')$$,
    '23505', NULL, 'two raw steps in one statement cannot share the next index (23505), nor pass max_steps together'
);
SELECT is(
    concord.record_agent_step(pg_temp.id('sc'), '{"action_type": "observe"}') ->> 'step_index', '3',
    'the third step'
);
SELECT is((pg_temp.run('sc')).step_count, 3, 'step_count is derived from the steps');
SELECT concord_test.throws_rule(
    format($$SELECT concord.record_agent_step(%L, '{"action_type": "think"}')$$, pg_temp.id('sc')),
    'CN010', 'agent_steps_stay_within_max_steps', 'CN010: record_agent_step beyond max_steps'
);
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.agent_steps (agent_run_id, command_id, step_index, action_type, decision)
      VALUES (pg_temp.id('sc'), pg_temp.id('pc'), 4, 'think', 'recorded')$$,
    'CN010', 'agent_steps_stay_within_max_steps', 'CN010: a raw step beyond max_steps'
);
SELECT concord_test.throws_rule(
    format($$SELECT concord.submit_agent_action(%L, '{"tool_name": "sql.read", "payload": {"q": "x"}}')$$,
           pg_temp.id('sc')),
    'CN010', 'agent_steps_stay_within_max_steps', 'CN010: submit_agent_action when the step budget is exhausted'
);
SELECT lives_ok($$SELECT pg_temp.raw_child('sc', 's1', steps => 10)$$, 'fixture: a second agent in swarm S');
SELECT lives_ok(
    $$INSERT INTO concord.agent_steps (agent_run_id, command_id, step_index, action_type, decision, cost_units)
      VALUES (pg_temp.id('s1'), pg_temp.id('pc'), 42, 'think', 'recorded', 5)$$,
    'a raw step of cost 5 (swarm cost 9 of 10)'
);
SELECT is(
    (SELECT step_index FROM concord.agent_steps WHERE agent_run_id = pg_temp.id('s1')), 1,
    'the forged step_index 42 is stored as 1'
);
SELECT concord_test.throws_rule(
    format($$SELECT concord.record_agent_step(%L, '{"action_type": "think", "cost_units": 2}')$$, pg_temp.id('s1')),
    'CN010', 'swarm_cost_stays_within_max_cost_units', 'CN010: a step whose cost goes beyond max_cost_units'
);
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.agent_steps (agent_run_id, command_id, step_index, action_type, decision, cost_units)
      VALUES (pg_temp.id('s1'), pg_temp.id('pc'), 1, 'think', 'recorded', 1.5)$$,
    'CN010', 'swarm_cost_stays_within_max_cost_units', 'CN010: a raw step whose cost goes beyond max_cost_units'
);
SELECT lives_ok(
    format($$SELECT concord.record_agent_step(%L, '{"action_type": "think", "cost_units": 1}')$$, pg_temp.id('s1')),
    'a step that reaches max_cost_units exactly is accepted'
);
SELECT row_eq(
    format($$SELECT total_steps, cost_units FROM concord.swarm_runs WHERE swarm_run_id = %L$$, pg_temp.id('S')),
    ROW(5, 10::numeric), 'the swarm''s total_steps and cost_units are derived from its agents'
);
SELECT lives_ok(
    format($$SELECT concord.record_agent_step(%L, '{"action_type": "think"}')$$, pg_temp.id('s1')),
    'the sixth step of the swarm (max_total_steps 6)'
);
SELECT concord_test.throws_rule(
    format($$SELECT concord.record_agent_step(%L, '{"action_type": "think"}')$$, pg_temp.id('s1')),
    'CN010', 'swarm_steps_stay_within_max_total_steps', 'CN010: a step beyond the swarm''s max_total_steps (gateway)'
);
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.agent_steps (agent_run_id, command_id, step_index, action_type, decision)
      VALUES (pg_temp.id('s1'), pg_temp.id('pc'), 1, 'think', 'recorded')$$,
    'CN010', 'swarm_steps_stay_within_max_total_steps', 'CN010: a raw step beyond the swarm''s max_total_steps'
);

-- Derived counters cannot be forged (CN007), even with the recount switch.
SELECT concord_test.throws_rule(
    format($$UPDATE concord.swarm_runs SET live_agents = 1 WHERE swarm_run_id = %L$$, pg_temp.id('S')),
    'CN007', 'swarm_counters_are_derived_from_its_agents', 'CN007: UPDATE swarm_runs SET live_agents to a forged value'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.swarm_runs SET total_steps = 0 WHERE swarm_run_id = %L$$, pg_temp.id('S')),
    'CN007', 'swarm_counters_are_derived_from_its_agents', 'CN007: UPDATE swarm_runs SET total_steps to a forged value'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.swarm_runs SET cost_units = 0 WHERE swarm_run_id = %L$$, pg_temp.id('S')),
    'CN007', 'swarm_counters_are_derived_from_its_agents', 'CN007: UPDATE swarm_runs SET cost_units to a forged value'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.agent_runs SET step_count = 0 WHERE agent_run_id = %L$$, pg_temp.id('sc')),
    'CN007', 'agent_counters_are_derived_from_its_steps', 'CN007: UPDATE agent_runs SET step_count to a forged value'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.agent_runs SET cost_units = 0 WHERE agent_run_id = %L$$, pg_temp.id('sc')),
    'CN007', 'agent_counters_are_derived_from_its_steps', 'CN007: UPDATE agent_runs SET cost_units to a forged value'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.agent_runs SET step_count = 50 WHERE agent_run_id = %L$$, pg_temp.id('s1')),
    'CN010', 'agent_steps_stay_within_max_steps', 'CN010: a step_count above max_steps is refused as a limit'
);
DO $$
BEGIN
    PERFORM set_config('concord.counting', 'on', true);
    UPDATE concord.swarm_runs SET live_agents = 0, total_steps = 0, cost_units = 0
    WHERE swarm_run_id = concord_test.id('S');
    UPDATE concord.agent_runs SET step_count = 0, cost_units = 0 WHERE agent_run_id = concord_test.id('sc');
    PERFORM set_config('concord.counting', 'off', true);
END
$$;
SELECT row_eq(
    format($$SELECT live_agents, total_steps, cost_units FROM concord.swarm_runs WHERE swarm_run_id = %L$$,
           pg_temp.id('S')),
    ROW(2, 6, 10::numeric), 'with the recount switch set by hand, a forged swarm counter is replaced by the truth'
);
SELECT row_eq(
    format($$SELECT step_count, cost_units FROM concord.agent_runs WHERE agent_run_id = %L$$, pg_temp.id('sc')),
    ROW(3, 4::numeric), '...and so is a forged agent counter'
);

-- Limits and identity of a swarm are immutable.
SELECT concord_test.throws_rule(format($$UPDATE concord.swarm_runs SET max_agents = 100 WHERE swarm_run_id = %L$$, pg_temp.id('S')),
    'CN007', 'swarm_run_identity_and_limits_are_immutable', 'CN007: UPDATE of max_agents');
SELECT concord_test.throws_rule(format($$UPDATE concord.swarm_runs SET max_depth = 9 WHERE swarm_run_id = %L$$, pg_temp.id('S')),
    'CN007', 'swarm_run_identity_and_limits_are_immutable', 'CN007: UPDATE of max_depth');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.swarm_runs SET max_total_steps = 1000 WHERE swarm_run_id = %L$$, pg_temp.id('S')),
    'CN007', 'swarm_run_identity_and_limits_are_immutable', 'CN007: UPDATE of max_total_steps');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.swarm_runs SET max_cost_units = NULL WHERE swarm_run_id = %L$$, pg_temp.id('S')),
    'CN007', 'swarm_run_identity_and_limits_are_immutable', 'CN007: UPDATE of max_cost_units (lifting the limit)');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.swarm_runs SET agent_templates = '[{"agent_role": "x"}]' WHERE swarm_run_id = %L$$,
           pg_temp.id('G')),
    'CN007', 'swarm_run_identity_and_limits_are_immutable', 'CN007: UPDATE of agent_templates');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.swarm_runs SET join_strategy = 'first_success' WHERE swarm_run_id = %L$$, pg_temp.id('S')),
    'CN007', 'swarm_run_identity_and_limits_are_immutable', 'CN007: UPDATE of join_strategy');

-- Steps and messages are append-only; the record is never deleted.
SELECT concord_test.throws_rule(
    format($$UPDATE concord.agent_steps SET decision = 'allowed' WHERE agent_run_id = %L$$, pg_temp.id('sc')),
    'CN007', 'agent_steps_are_append_only', 'CN007: UPDATE of agent_steps');
SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.agent_steps WHERE agent_run_id = %L$$, pg_temp.id('sc')),
    'CN007', 'agent_steps_are_not_deleted', 'CN007: DELETE of agent_steps');
SELECT concord_test.throws_rule($$TRUNCATE concord.agent_steps$$, 'CN007', 'agent_steps_are_not_truncated', 'CN007: TRUNCATE of agent_steps');
SELECT lives_ok(
    format($$SELECT pg_temp.remember('m1', concord.record_agent_message(%L,
             '{"message_role": "agent", "message_type": "observation", "content": "saw it"}'))$$, pg_temp.id('s1')),
    'record_agent_message returns the message id'
);
SELECT row_eq(
    format($$SELECT swarm_run_id, parent_agent_run_id, content FROM concord.agent_messages
             WHERE agent_message_id = %L$$, pg_temp.id('m1')),
    ROW(pg_temp.id('S'), pg_temp.id('sc'), 'saw it'::text), 'a message names its swarm and its agent''s parent'
);
WITH m AS (
    INSERT INTO concord.agent_messages (agent_run_id, swarm_run_id, parent_agent_run_id, message_role, message_type,
                                        content)
    VALUES (pg_temp.id('s1'), pg_temp.id('G'), pg_temp.id('coord'), 'agent', 'note', 'forged')
    RETURNING agent_message_id
)
INSERT INTO concord_test.fixture (label, id) SELECT 'm2', m.agent_message_id FROM m;
SELECT row_eq(
    format($$SELECT swarm_run_id, parent_agent_run_id FROM concord.agent_messages WHERE agent_message_id = %L$$,
           pg_temp.id('m2')),
    ROW(pg_temp.id('S'), pg_temp.id('sc')), 'a raw message with a forged swarm and parent is stored with the true ones'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.agent_messages SET content = 'rewritten' WHERE agent_message_id = %L$$, pg_temp.id('m1')),
    'CN007', 'agent_messages_are_append_only', 'CN007: UPDATE of agent_messages');
SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.agent_messages WHERE agent_message_id = %L$$, pg_temp.id('m1')),
    'CN007', 'agent_messages_are_not_deleted', 'CN007: DELETE of agent_messages');
SELECT concord_test.throws_rule($$TRUNCATE concord.agent_messages$$, 'CN007', 'agent_messages_are_not_truncated', 'CN007: TRUNCATE of agent_messages');
SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.agent_runs WHERE agent_run_id = %L$$, pg_temp.id('s1')),
    'CN007', 'agent_runs_are_not_deleted', 'CN007: DELETE of an agent run');
SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.swarm_runs WHERE swarm_run_id = %L$$, pg_temp.id('Y')),
    'CN007', 'swarm_runs_are_not_deleted', 'CN007: DELETE of a swarm run');
SELECT concord_test.throws_rule($$TRUNCATE concord.agent_invocations$$, 'CN007', 'agent_invocations_are_not_truncated', 'CN007: TRUNCATE of agent_invocations');

-- A step is true to its agent's scope; the rest of the record is never
-- truncated either.
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.agent_steps (agent_run_id, command_id, step_index, action_type, decision, tool_name)
      VALUES (pg_temp.id('coord'), pg_temp.id('pc'), 1, 'tool_call', 'allowed', 'other.read')$$,
    'CN004', 'a_step_uses_only_tools_in_its_agent_scope', 'CN004: a raw step claiming a tool outside the agent''s scope');
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.agent_steps (agent_run_id, command_id, step_index, action_type, decision,
                                       created_command_id)
      VALUES (pg_temp.id('coord'), pg_temp.id('pc'), 1, 'think', 'recorded', pg_temp.id('pc'))$$,
    'CN004', 'a_step_names_only_commands_its_agent_requested',
    'CN004: a raw step naming a command its agent did not request');
-- a TRUNCATE ... CASCADE names every table it would reach: no notice of them
SET LOCAL client_min_messages = warning;
SELECT concord_test.throws_rule($$TRUNCATE concord.agent_runs CASCADE$$, 'CN007', 'agent_runs_are_not_truncated',
    'CN007: TRUNCATE of agent_runs');
SELECT concord_test.throws_rule($$TRUNCATE concord.swarm_runs CASCADE$$, 'CN007', 'swarm_runs_are_not_truncated',
    'CN007: TRUNCATE of swarm_runs');

SELECT * FROM finish();
ROLLBACK;
