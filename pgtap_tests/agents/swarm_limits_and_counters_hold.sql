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

\ir ../lib/agent_fixtures.sql

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
