-- Every row of the agentic record keeps its shape (spec 57, 58, 61.2, 67):
-- each CHECK constraint of swarm_runs, agent_runs, agent_invocations,
-- agent_steps, agent_messages, tools and the swarm and agent state machines
-- refuses a value outside it (23514). The triggers refuse most of these
-- writes first, so each is written here with the triggers off, as a
-- migration may: the constraint is the last guard and still holds.
BEGIN;
SELECT plan(58);

-- Run sql with the triggers off (session_replication_role replica); a
-- refusal rolls the setting back with the statement.
CREATE FUNCTION pg_temp.without_triggers(sql text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM set_config('session_replication_role', 'replica', true);
    EXECUTE sql;
    PERFORM set_config('session_replication_role', 'origin', true);
END
$$;

-- max_cost_units_is_not_negative is implied by
-- cost_units_are_within_max_cost_units (cost_units >= 0), which PostgreSQL
-- checks first: it is attacked with that constraint dropped, in the refused
-- statement only.
CREATE FUNCTION pg_temp.without_cost_check(sql text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    ALTER TABLE concord.swarm_runs DROP CONSTRAINT cost_units_are_within_max_cost_units;
    PERFORM pg_temp.without_triggers(sql);
END
$$;

CREATE FUNCTION pg_temp.id(label text)
RETURNS uuid
LANGUAGE sql
AS $$ SELECT concord_test.id(label) $$;

-- A swarm W with a coordinator wc, a child wk, its invocation wi, a step ws
-- and a message wm; a tool w.read.
DO $$
DECLARE
    cmd uuid;
    swarm uuid;
    root uuid;
    child uuid;
BEGIN
    PERFORM concord.register_command_type('{"command_type": "w.read", "sync_allowed": true}');
    PERFORM concord.register_tool('{"name": "w.read", "command_type": "w.read"}');
    cmd := (SELECT s.command_id FROM concord.submit_command('w.read', '{}', 'alice') AS s);
    swarm := concord.start_swarm(cmd, '{"name": "shape", "objective": "keep its shape", "limits": {"max_cost_units": 10},
        "coordinator": {"agent_name": "wc", "allowed_tools": ["w.read"]}}');
    root := (SELECT s.coordinator_agent_run_id FROM concord.swarm_runs AS s WHERE s.swarm_run_id = swarm);
    INSERT INTO concord.agent_runs (command_id, swarm_run_id, parent_agent_run_id, agent_name, agent_role, goal,
                                    allowed_tools, max_steps, spawn_depth)
    VALUES (cmd, swarm, root, 'wk', 'worker', 'work', '{w.read}', 10, 1)
    RETURNING agent_run_id INTO child;
    INSERT INTO concord_test.fixture (label, id) VALUES ('W', swarm), ('wc', root), ('wk', child);
    INSERT INTO concord.agent_invocations (swarm_run_id, parent_agent_run_id, child_agent_run_id, command_id,
                                           invocation_type, delegated_goal)
    VALUES (swarm, root, child, cmd, 'delegate', 'work');
    INSERT INTO concord_test.fixture (label, id)
    SELECT 'wi', i.invocation_id FROM concord.agent_invocations AS i WHERE i.child_agent_run_id = child;
    INSERT INTO concord_test.fixture (label, id)
    VALUES ('ws', (concord.record_agent_step(child, '{"action_type": "think"}') ->> 'agent_step_id')::uuid);
    INSERT INTO concord_test.fixture (label, id)
    VALUES ('wm', concord.record_agent_message(child, '{"content": "hello"}'));
END
$$;

-- agent_invocations
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_invocations SET delegated_goal = ' ' WHERE invocation_id = pg_temp.id('wi')$x$)$$,
    '23514', 'delegated_goal_is_not_blank');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_invocations SET constraints = '[]' WHERE invocation_id = pg_temp.id('wi')$x$)$$,
    '23514', 'invocation_constraints_is_an_object');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_invocations SET status = 'lost' WHERE invocation_id = pg_temp.id('wi')$x$)$$,
    '23514', 'invocation_status_is_known');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_invocations SET invocation_type = 'magic' WHERE invocation_id = pg_temp.id('wi')$x$)$$,
    '23514', 'invocation_type_is_known');

-- agent_messages
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_messages SET metadata = '[]' WHERE agent_message_id = pg_temp.id('wm')$x$)$$,
    '23514', 'message_metadata_is_an_object');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_messages SET message_role = 'god' WHERE agent_message_id = pg_temp.id('wm')$x$)$$,
    '23514', 'message_role_is_known');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_messages SET message_type = 'gossip' WHERE agent_message_id = pg_temp.id('wm')$x$)$$,
    '23514', 'message_type_is_known');

-- agent_runs
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_runs SET cost_units = -1 WHERE agent_run_id = pg_temp.id('wk')$x$)$$,
    '23514', 'agent_cost_units_are_not_negative');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_runs SET metadata = '[]' WHERE agent_run_id = pg_temp.id('wk')$x$)$$,
    '23514', 'agent_metadata_is_an_object');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_runs SET agent_name = '1 bad' WHERE agent_run_id = pg_temp.id('wk')$x$)$$,
    '23514', 'agent_name_is_an_identifier');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_runs SET agent_role = ' r' WHERE agent_run_id = pg_temp.id('wk')$x$)$$,
    '23514', 'agent_role_is_an_identifier');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_runs SET allowed_child_roles = '{a,a}' WHERE agent_run_id = pg_temp.id('wk')$x$)$$,
    '23514', 'allowed_child_roles_is_a_name_list');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_runs SET allowed_connectors = '{crm,NULL}' WHERE agent_run_id = pg_temp.id('wk')$x$)$$,
    '23514', 'allowed_connectors_is_a_name_list');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_runs SET allowed_tools = '{sql.read,""}' WHERE agent_run_id = pg_temp.id('wk')$x$)$$,
    '23514', 'allowed_tools_is_a_name_list');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_runs SET parent_agent_run_id = agent_run_id WHERE agent_run_id = pg_temp.id('wk')$x$)$$,
    '23514', 'an_agent_is_not_its_own_parent');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_runs SET constraints = '[]' WHERE agent_run_id = pg_temp.id('wk')$x$)$$,
    '23514', 'constraints_is_an_object');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_runs SET context_scope = '[]' WHERE agent_run_id = pg_temp.id('wk')$x$)$$,
    '23514', 'context_scope_is_an_object');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_runs SET goal = ' ' WHERE agent_run_id = pg_temp.id('wk')$x$)$$,
    '23514', 'goal_is_not_blank');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_runs SET max_steps = 100001 WHERE agent_run_id = pg_temp.id('wk')$x$)$$,
    '23514', 'max_steps_is_between_1_and_100000');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_runs SET memory_scope = '[]' WHERE agent_run_id = pg_temp.id('wk')$x$)$$,
    '23514', 'memory_scope_has_the_spec_61_shape');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_runs SET model_config = '[]' WHERE agent_run_id = pg_temp.id('wk')$x$)$$,
    '23514', 'model_config_is_an_object');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_runs SET runtime_config = '[]' WHERE agent_run_id = pg_temp.id('wk')$x$)$$,
    '23514', 'runtime_config_is_an_object');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_runs SET spawn_depth = -1 WHERE agent_run_id = pg_temp.id('wk')$x$)$$,
    '23514', 'spawn_depth_is_not_negative');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_runs SET step_count = 11 WHERE agent_run_id = pg_temp.id('wk')$x$)$$,
    '23514', 'step_count_is_within_max_steps');

-- agent_runs
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_runs SET spawn_depth = 1 WHERE agent_run_id = pg_temp.id('wc')$x$)$$,
    '23514', 'only_the_root_has_depth_0');

-- agent_statuses
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_statuses SET status = 'Expired' WHERE status = 'expired'$x$)$$,
    '23514', 'agent_status_is_a_lowercase_word');

-- agent_steps
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_steps SET action_type = 'Think' WHERE agent_step_id = pg_temp.id('ws')$x$)$$,
    '23514', 'action_type_is_a_lowercase_word');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_steps SET latency_ms = -1 WHERE agent_step_id = pg_temp.id('ws')$x$)$$,
    '23514', 'latency_ms_is_not_negative');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_steps SET cost_units = -1 WHERE agent_step_id = pg_temp.id('ws')$x$)$$,
    '23514', 'step_cost_units_are_not_negative');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_steps SET decision = 'maybe' WHERE agent_step_id = pg_temp.id('ws')$x$)$$,
    '23514', 'step_decision_is_known');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_steps SET step_index = 0 WHERE agent_step_id = pg_temp.id('ws')$x$)$$,
    '23514', 'step_index_is_positive');

-- agent_transitions
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.agent_transitions SET to_status = 'created' WHERE from_status = 'created' AND to_status = 'running'$x$)$$,
    '23514', 'an_agent_transition_changes_the_status');

-- swarm_runs
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.swarm_runs SET agent_templates = '{}' WHERE swarm_run_id = pg_temp.id('W')$x$)$$,
    '23514', 'agent_templates_is_an_array');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.swarm_runs SET cost_units = 11 WHERE swarm_run_id = pg_temp.id('W')$x$)$$,
    '23514', 'cost_units_are_within_max_cost_units');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.swarm_runs SET join_options = '[]' WHERE swarm_run_id = pg_temp.id('W')$x$)$$,
    '23514', 'join_options_is_an_object');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.swarm_runs SET join_strategy = 'vibes' WHERE swarm_run_id = pg_temp.id('W')$x$)$$,
    '23514', 'join_strategy_is_known');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.swarm_runs SET live_agents = 6 WHERE swarm_run_id = pg_temp.id('W')$x$)$$,
    '23514', 'live_agents_are_within_max_agents');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.swarm_runs SET max_agents = 1001 WHERE swarm_run_id = pg_temp.id('W')$x$)$$,
    '23514', 'max_agents_is_between_1_and_1000');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_cost_check($x$UPDATE concord.swarm_runs SET max_cost_units = -1 WHERE swarm_run_id = pg_temp.id('W')$x$)$$,
    '23514', 'max_cost_units_is_not_negative');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.swarm_runs SET max_depth = 101 WHERE swarm_run_id = pg_temp.id('W')$x$)$$,
    '23514', 'max_depth_is_between_0_and_100');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.swarm_runs SET max_total_steps = 1000001 WHERE swarm_run_id = pg_temp.id('W')$x$)$$,
    '23514', 'max_total_steps_is_between_1_and_1000000');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.swarm_runs SET objective = ' ' WHERE swarm_run_id = pg_temp.id('W')$x$)$$,
    '23514', 'objective_is_not_blank');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.swarm_runs SET runtime = '1x' WHERE swarm_run_id = pg_temp.id('W')$x$)$$,
    '23514', 'runtime_is_an_identifier');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.swarm_runs SET cancellation_mode = 'brutal' WHERE swarm_run_id = pg_temp.id('W')$x$)$$,
    '23514', 'swarm_cancellation_mode_is_known');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.swarm_runs SET execution_mode = 'chaotic' WHERE swarm_run_id = pg_temp.id('W')$x$)$$,
    '23514', 'swarm_execution_mode_is_known');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.swarm_runs SET metadata = '[]' WHERE swarm_run_id = pg_temp.id('W')$x$)$$,
    '23514', 'swarm_metadata_is_an_object');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.swarm_runs SET name = 'a b' WHERE swarm_run_id = pg_temp.id('W')$x$)$$,
    '23514', 'swarm_name_is_an_identifier');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.swarm_runs SET total_steps = -1 WHERE swarm_run_id = pg_temp.id('W')$x$)$$,
    '23514', 'total_steps_are_within_max_total_steps');

-- swarm_statuses
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.swarm_statuses SET status = 'Expired' WHERE status = 'expired'$x$)$$,
    '23514', 'swarm_status_is_a_lowercase_word');

-- swarm_transitions
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.swarm_transitions SET to_status = 'created' WHERE from_status = 'created' AND to_status = 'running'$x$)$$,
    '23514', 'a_swarm_transition_changes_the_status');

-- tools
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.tools SET capability = 'x' WHERE tool_name = 'w.read'$x$)$$,
    '23514', 'a_capability_needs_a_connector');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.tools SET execution_mode = 'later' WHERE tool_name = 'w.read'$x$)$$,
    '23514', 'execution_mode_is_known');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.tools SET execution_mode = 'gateway' WHERE tool_name = 'w.read'$x$)$$,
    '23514', 'gateway_tools_have_no_command_type');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.tools SET input_schema = '[]' WHERE tool_name = 'w.read'$x$)$$,
    '23514', 'input_schema_is_an_object_or_boolean');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.tools SET output_schema = '[]' WHERE tool_name = 'w.read'$x$)$$,
    '23514', 'output_schema_is_an_object_or_boolean');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.tools SET metadata = '[]' WHERE tool_name = 'w.read'$x$)$$,
    '23514', 'tool_metadata_is_an_object');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.tools SET tool_name = 'a b' WHERE tool_name = 'w.read'$x$)$$,
    '23514', 'tool_name_is_an_identifier');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.without_triggers($x$UPDATE concord.tools SET risk_level = 'extreme' WHERE tool_name = 'w.read'$x$)$$,
    '23514', 'tool_risk_level_is_known');

SELECT * FROM finish();
ROLLBACK;
