-- The swarm and agent state machines (spec 58): a new run starts created,
-- a status changes only along an edge of its machine (CN001), a finished run
-- keeps its outcome (CN007) and takes no new agents, steps, messages or
-- children (CN011); every change is audited in the same transaction; the
-- machines are data that only migrations change (CN007). An invocation holds
-- its child's scopes and follows its child's status (spec 59).
BEGIN;
SELECT plan(46);

-- ===========================================================================
-- Fixtures and helpers
-- ===========================================================================

\ir ../lib/agent_fixtures.sql

-- A raw swarm run without agents; two children of the raw swarm's coordinator.
SELECT pg_temp.raw_swarm('Y') IS NOT NULL AS made;
SELECT pg_temp.raw_child('rc', 'r1', tools => '{sql.read}', connectors => '{crm}', child_roles => '{researcher}',
                         mem => pg_temp.ms(types => '["fact"]', max_results => 3)) IS NOT NULL AS made;
SELECT pg_temp.raw_child('rc', 'r0', mem => '{}') IS NOT NULL AS made;

-- ===========================================================================
-- State machines (spec 58)
-- ===========================================================================
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.swarm_runs (command_id, name, objective, execution_mode, join_strategy, status,
                                             trace_id, created_by)
             VALUES (%L, 'born_running', 'x', 'parallel', 'all_success', 'running', '', 'owner')$$, pg_temp.id('pc')),
    'CN001', 'a_new_swarm_run_starts_created', 'CN001: a swarm run inserted in a status other than created'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.swarm_runs (command_id, name, objective, execution_mode, join_strategy,
                                             coordinator_agent_run_id, trace_id, created_by)
             VALUES (%L, 'born_led', 'x', 'parallel', 'all_success', %L, '', 'owner')$$,
           pg_temp.id('pc'), pg_temp.id('rc')),
    'CN007', 'a_swarm_coordinator_is_set_once_to_its_root_agent', 'CN007: a swarm run inserted with a coordinator already named'
);
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'status', $$'running'$$) , 'CN001', 'a_new_agent_run_starts_created',
    'CN001: an agent run inserted in a status other than created');
SELECT lives_ok($$SELECT pg_temp.raw_swarm('X')$$, 'fixture: a raw swarm run');
DO $$
BEGIN
    PERFORM set_config('concord.counting', 'on', true);
    UPDATE concord.swarm_runs SET live_agents = 0 WHERE swarm_run_id = concord_test.id('X');
    PERFORM set_config('concord.counting', 'off', true);
END
$$;
SELECT is(
    (SELECT live_agents FROM concord.swarm_runs WHERE swarm_run_id = pg_temp.id('X')), 0,
    'a raw swarm run starts with derived counters at 0'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.swarm_runs SET status = 'joining' WHERE swarm_run_id = %L$$, pg_temp.id('X')),
    'CN001', 'swarm_runs_follow_their_state_machine', 'CN001: swarm created -> joining');
SELECT lives_ok(
    format($$UPDATE concord.swarm_runs SET status = 'running' WHERE swarm_run_id = %L$$, pg_temp.id('X')),
    'swarm created -> running');
SELECT is(pg_temp.swarm_events('X', 'swarm_status_changed', 'created', 'running'), 1::bigint,
    'a swarm status change writes its audit event in the same transaction');
SELECT isnt((pg_temp.swarm('X')).started_at, NULL, 'started_at is stamped on running');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.swarm_runs SET status = 'succeeded' WHERE swarm_run_id = %L$$, pg_temp.id('X')),
    'CN001', 'swarm_runs_follow_their_state_machine', 'CN001: swarm running -> succeeded (only through joining)');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.swarm_runs SET status = 'created' WHERE swarm_run_id = %L$$, pg_temp.id('X')),
    'CN001', 'swarm_runs_follow_their_state_machine', 'CN001: swarm running -> created');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.swarm_runs SET status = 'no_such_status' WHERE swarm_run_id = %L$$, pg_temp.id('X')),
    'CN001', 'swarm_runs_follow_their_state_machine', 'CN001: swarm to an unknown status');
SELECT lives_ok(
    format($$UPDATE concord.swarm_runs SET status = 'failed', error = 'x' WHERE swarm_run_id = %L$$, pg_temp.id('X')),
    'swarm running -> failed');
SELECT isnt((pg_temp.swarm('X')).completed_at, NULL, 'completed_at is stamped on a terminal status');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.swarm_runs SET status = 'running' WHERE swarm_run_id = %L$$, pg_temp.id('X')),
    'CN001', 'swarm_runs_follow_their_state_machine', 'CN001: a terminal swarm stays terminal (failed -> running)');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.swarm_runs SET result = '{"forged": true}' WHERE swarm_run_id = %L$$, pg_temp.id('X')),
    'CN007', 'a_finished_swarm_run_never_changes', 'CN007: a finished swarm''s result does not change');
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.agent_runs (command_id, swarm_run_id, agent_name, agent_role, goal)
             VALUES (%L, %L, 'late', 'r', 'g')$$, pg_temp.id('pc'), pg_temp.id('X')),
    'CN011', 'a_finished_swarm_takes_no_new_agents', 'CN011: a finished swarm takes no new agent runs');

SELECT lives_ok($$SELECT pg_temp.raw_child('rc', 'sm', child_roles => '{researcher}')$$, 'fixture: an agent run');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.agent_runs SET status = 'succeeded' WHERE agent_run_id = %L$$, pg_temp.id('sm')),
    'CN001', 'agent_runs_follow_their_state_machine', 'CN001: agent created -> succeeded');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.agent_runs SET status = 'waiting_for_tool' WHERE agent_run_id = %L$$, pg_temp.id('sm')),
    'CN001', 'agent_runs_follow_their_state_machine', 'CN001: agent created -> waiting_for_tool');
SELECT lives_ok(
    format($$UPDATE concord.agent_runs SET status = 'running' WHERE agent_run_id = %L$$, pg_temp.id('sm')),
    'agent created -> running');
SELECT is(pg_temp.agent_events('sm', 'agent_run_status_changed', 'created', 'running'), 1::bigint,
    'an agent status change writes its audit event');
SELECT is(pg_temp.agent_events('sm', 'agent_run_created'), 1::bigint, 'an agent run''s creation is audited');
SELECT lives_ok(
    format($$UPDATE concord.agent_runs SET status = 'waiting_for_children' WHERE agent_run_id = %L$$, pg_temp.id('sm')),
    'agent running -> waiting_for_children');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.agent_runs SET status = 'succeeded' WHERE agent_run_id = %L$$, pg_temp.id('sm')),
    'CN001', 'agent_runs_follow_their_state_machine', 'CN001: agent waiting_for_children -> succeeded');
UPDATE concord.agent_runs SET status = 'running' WHERE agent_run_id = pg_temp.id('sm');
UPDATE concord.agent_runs SET status = 'succeeded', result = '{"ok": true}' WHERE agent_run_id = pg_temp.id('sm');
SELECT is(pg_temp.agent_events('sm', 'agent_run_status_changed'), 4::bigint, 'every agent status change is audited');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.agent_runs SET status = 'running' WHERE agent_run_id = %L$$, pg_temp.id('sm')),
    'CN001', 'agent_runs_follow_their_state_machine', 'CN001: a terminal agent stays terminal (succeeded -> running)');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.agent_runs SET status = 'cancelled' WHERE agent_run_id = %L$$, pg_temp.id('sm')),
    'CN001', 'agent_runs_follow_their_state_machine', 'CN001: succeeded -> cancelled');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.agent_runs SET result = '{"ok": false}' WHERE agent_run_id = %L$$, pg_temp.id('sm')),
    'CN007', 'a_finished_agent_run_never_changes', 'CN007: a finished agent''s result does not change');
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.agent_steps (agent_run_id, command_id, step_index, action_type, decision)
      VALUES (pg_temp.id('sm'), pg_temp.id('pc'), 1, 'think', 'recorded')$$,
    'CN011', 'a_finished_agent_run_acts_no_more', 'CN011: a finished agent takes no raw step');
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.agent_messages (agent_run_id, message_role, message_type, content)
      VALUES (pg_temp.id('sm'), 'agent', 'note', 'late')$$,
    'CN011', 'a_finished_agent_run_acts_no_more', 'CN011: a finished agent sends no raw message');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.raw_child('sm', 'x')$$,
    'CN011', 'a_finished_agent_spawns_nothing', 'CN011: a finished agent has no new child');

-- The machines are data that only migrations change.
SELECT concord_test.throws_rule($$INSERT INTO concord.agent_transitions VALUES ('succeeded', 'running')$$, 'CN007', 'state_machine_is_read_only',
    'CN007: INSERT into agent_transitions');
SELECT concord_test.throws_rule($$DELETE FROM concord.swarm_transitions WHERE from_status = 'running'$$, 'CN007', 'state_machine_is_read_only',
    'CN007: DELETE from swarm_transitions');
SELECT concord_test.throws_rule($$UPDATE concord.agent_statuses SET terminal = false WHERE status = 'failed'$$, 'CN007', 'state_machine_is_read_only',
    'CN007: UPDATE of agent_statuses');
SELECT concord_test.throws_rule($$INSERT INTO concord.swarm_statuses VALUES ('paused', false, 'x')$$, 'CN007', 'state_machine_is_read_only',
    'CN007: INSERT into swarm_statuses');
SELECT concord_test.throws_rule($$TRUNCATE concord.agent_transitions$$, 'CN007', 'state_machine_is_not_truncated', 'CN007: TRUNCATE of agent_transitions');

-- ===========================================================================
-- Invocations: scopes are the child's as bound at spawn
-- ===========================================================================
SELECT lives_ok(
    format($$INSERT INTO concord.agent_invocations (swarm_run_id, parent_agent_run_id, child_agent_run_id, command_id,
                                                    invocation_type, delegated_goal, allowed_tools, allowed_connectors)
             VALUES (%L, %L, %L, %L, 'delegate', 'g', '{sql.read,publish,crm.update,danger}', '{crm,mail,ftp}')$$,
           pg_temp.id('R'), pg_temp.id('rc'), pg_temp.id('r1'), pg_temp.id('pc')),
    'a raw invocation claiming wider scopes than its child''s...'
);
SELECT row_eq(
    format($$SELECT allowed_tools, allowed_connectors, memory_scope FROM concord.agent_invocations
             WHERE child_agent_run_id = %L$$, pg_temp.id('r1')),
    ROW('{sql.read}'::text[], '{crm}'::text[], pg_temp.ms(types => '["fact"]', max_results => 3)),
    '...is stored with the child''s scopes'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.agent_invocations (swarm_run_id, parent_agent_run_id, child_agent_run_id, command_id,
                                                    invocation_type, delegated_goal)
             VALUES (%L, %L, %L, %L, 'delegate', 'g')$$,
           pg_temp.id('R'), pg_temp.id('coord'), pg_temp.id('r0'), pg_temp.id('pc')),
    'CN004', 'an_invocation_names_a_child_of_its_parent', 'CN004: an invocation naming a parent that is not the child''s'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.agent_invocations SET allowed_tools = '{sql.read,publish}' WHERE child_agent_run_id = %L$$,
           pg_temp.id('r1')),
    'CN007', 'an_invocation_changes_only_its_status', 'CN007: UPDATE of an invocation''s scopes');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.agent_invocations SET status = 'succeeded' WHERE child_agent_run_id = %L$$,
           pg_temp.id('r1')),
    'CN007', 'an_invocation_status_follows_its_child', 'CN007: an invocation''s status follows its child''s, not a writer''s');

-- An invocation is durable history; no state machine table is truncated.
SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.agent_invocations WHERE child_agent_run_id = %L$$, pg_temp.id('r1')),
    'CN007', 'agent_invocations_are_not_deleted', 'CN007: DELETE of an invocation');
-- a TRUNCATE ... CASCADE names every table it would reach: no notice of them
SET LOCAL client_min_messages = warning;
SELECT concord_test.throws_rule($$TRUNCATE concord.swarm_statuses CASCADE$$, 'CN007', 'state_machine_is_not_truncated',
    'CN007: TRUNCATE of swarm_statuses');
SELECT concord_test.throws_rule($$TRUNCATE concord.swarm_transitions$$, 'CN007', 'state_machine_is_not_truncated',
    'CN007: TRUNCATE of swarm_transitions');
SELECT concord_test.throws_rule($$TRUNCATE concord.agent_statuses CASCADE$$, 'CN007', 'state_machine_is_not_truncated',
    'CN007: TRUNCATE of agent_statuses');

SELECT * FROM finish();
ROLLBACK;
