-- start_swarm and register_tool (spec 20, 57.1, 67): a swarm spec and a tool
-- spec are checked whole (CN005 lists every problem), a swarm is started once
-- per command and name (CN002) under a command that policy let through
-- (CN006, CN011), its coordinator's tools are registered (CN009); the
-- gateway's own tools come with Concord and no tool is deleted (CN007).
BEGIN;
SELECT plan(30);

-- ===========================================================================
-- Fixtures and helpers
-- ===========================================================================

\ir ../lib/agent_fixtures.sql

-- Swarm K, started twice below with the same spec.
INSERT INTO concord_test.fixture (label, id) VALUES ('K', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "count", "objective": "count", "limits": {"max_agents": 2},
      "coordinator": {"agent_name": "kc", "allowed_tools": ["sql.read"]}}'));

-- ===========================================================================
-- Swarms: start_swarm and register_tool
-- ===========================================================================
SELECT is(
    concord.start_swarm(pg_temp.id('pc'), (pg_temp.swarm('K')).spec), pg_temp.id('K'),
    'start_swarm with the same command and spec returns the same swarm'
);
SELECT concord_test.throws_rule(
    format($$SELECT concord.start_swarm(%L, '{"name": "count", "objective": "other",
                                              "coordinator": {"agent_name": "kc"}}')$$, pg_temp.id('pc')),
    'CN002', 'a_swarm_is_started_once_per_command_and_name', 'CN002: another spec under the same command and name');
SELECT concord_test.throws_rule(
    format($$SELECT concord.start_swarm(%L, '{"name": "n", "coordinator": {"agent_name": "c"}}')$$, pg_temp.id('pc')),
    'CN005', 'swarm_spec_is_valid', 'CN005: a swarm spec without objective');
SELECT concord_test.throws_rule(
    format($$SELECT concord.start_swarm(%L, '{"name": "n", "objective": "o"}')$$, pg_temp.id('pc')),
    'CN005', 'swarm_spec_is_valid', 'CN005: a swarm spec without coordinator');
SELECT concord_test.throws_rule(
    format($$SELECT concord.start_swarm(%L, '{"name": "n", "objective": "o", "limits": {"max_agents": 0},
                                              "coordinator": {"agent_name": "c"}}')$$, pg_temp.id('pc')),
    'CN005', 'swarm_spec_is_valid', 'CN005: max_agents 0');
SELECT concord_test.throws_rule(
    format($$SELECT concord.start_swarm(%L, '{"name": "n", "objective": "o", "limits": {"max_steps": 5},
                                              "coordinator": {"agent_name": "c"}}')$$, pg_temp.id('pc')),
    'CN005', 'swarm_spec_is_valid', 'CN005: an unknown limit');
SELECT concord_test.throws_rule(
    format($$SELECT concord.start_swarm(%L, '{"name": "n", "objective": "o", "join_strategy": "vibes",
                                              "coordinator": {"agent_name": "c"}}')$$, pg_temp.id('pc')),
    'CN005', 'swarm_spec_is_valid', 'CN005: an unknown join strategy');
SELECT concord_test.throws_rule(
    format($$SELECT concord.start_swarm(%L, '{"name": "n", "objective": "o",
                                              "coordinator": {"agent_name": "c", "allowed_tools": ["a", "a"]}}')$$,
           pg_temp.id('pc')),
    'CN005', 'swarm_spec_is_valid', 'CN005: a coordinator with duplicate tools');
SELECT concord_test.throws_rule(
    format($$SELECT concord.start_swarm(%L, '{"name": "n", "objective": "o",
                                              "coordinator": {"agent_name": "c", "memory_scope": {"subject_type": "u"}}}')$$,
           pg_temp.id('pc')),
    'CN005', 'swarm_spec_is_valid', 'CN005: a coordinator memory scope of the wrong shape');
SELECT concord_test.throws_rule(
    format($$SELECT concord.start_swarm(%L, '{"name": "n", "objective": "o",
                                              "coordinator": {"agent_name": "c", "allowed_tools": ["no.such"]}}')$$,
           pg_temp.id('pc')),
    'CN009', 'agent_tools_are_registered', 'CN009: a coordinator given an unregistered tool');
SELECT concord_test.throws_rule($$SELECT concord.start_swarm(pg_temp.id('pc'), '[]')$$, 'CN005', 'swarm_spec_is_valid',
    'CN005: a swarm spec that is not an object');
SELECT concord_test.throws_rule(
    $$SELECT concord.start_swarm(gen_random_uuid(), '{"name": "n", "objective": "o", "coordinator": {"agent_name": "c"}}')$$,
    'CN006', 'the_command_exists', 'CN006: start_swarm under an unknown command');
SELECT concord_test.throws_rule(
    format($$SELECT concord.start_swarm(%L, '{"name": "n", "objective": "o", "coordinator": {"agent_name": "c"}}')$$,
           concord_test.command_at('t.parent', 'succeeded')),
    'CN011', 'a_swarm_runs_only_under_a_governed_unfinished_command', 'CN011: start_swarm under a finished command');
SELECT is(pg_temp.swarm_events('G', 'swarm_created'), 1::bigint, 'the swarm''s creation is audited');

SELECT concord_test.throws_rule($$SELECT concord.register_tool('{"name": "t1"}')$$, 'CN005', 'tool_spec_is_valid',
    'CN005: a tool without command_type');
SELECT concord_test.throws_rule($$SELECT concord.register_tool('{"name": "t 1", "command_type": "t.read"}')$$, 'CN005', 'tool_spec_is_valid',
    'CN005: a tool name that is not an identifier');
SELECT concord_test.throws_rule($$SELECT concord.register_tool('{"name": "t1", "command_type": "t.read", "execution_mode": "gateway"}')$$,
    'CN005', 'tool_spec_is_valid', 'CN005: a registered tool cannot be a gateway tool');
SELECT concord_test.throws_rule($$SELECT concord.register_tool('{"name": "t1", "command_type": "t.read", "input_schema": []}')$$,
    'CN005', 'tool_spec_is_valid', 'CN005: an input_schema that is not a JSON Schema');
SELECT concord_test.throws_rule($$SELECT concord.register_tool('{"name": "t1", "command_type": "t.read", "colour": "red"}')$$,
    'CN005', 'a_spec_has_only_known_keys', 'CN005: an unknown key in a tool spec');
SELECT concord_test.throws_rule($$SELECT concord.register_tool('{"name": "spawn_subagent", "command_type": "t.read"}')$$,
    'CN005', 'tool_spec_is_valid', 'CN005: redefining a gateway tool');
SELECT concord_test.throws_rule($$SELECT concord.register_tool('{"name": "t1", "command_type": "spawn_subagent"}')$$,
    'CN005', 'tool_spec_is_valid', 'CN005: a tool that makes the gateway''s own command type');
SELECT concord_test.throws_rule($$SELECT concord.register_tool('{"name": "t1", "command_type": "t.read", "capability": "x"}')$$,
    'CN005', 'tool_spec_is_valid', 'CN005: a capability without its connector');
SELECT concord_test.throws_rule($$SELECT concord.register_tool('{"name": "t1", "command_type": "t.parent", "requires_approval": true}')$$,
    'CN005', 'tool_spec_is_valid', 'CN005: requires_approval on a command type that does not check agent_tool');
SELECT concord_test.throws_rule($$SELECT concord.register_tool('{"name": "t1", "command_type": "no.such.type"}')$$,
    'CN009', 'command_type_is_registered', 'CN009: a tool of an unknown command type');
SELECT is(
    concord.register_tool('{"name": "danger", "command_type": "t.deny"}'), 'danger',
    'registering the same tool spec again is a no-op...'
);
SELECT is((SELECT version FROM concord.tools WHERE tool_name = 'danger'), 1, '...that keeps its version');
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.tools (tool_name, execution_mode) VALUES ('sneaky', 'gateway')$$,
    'CN007', 'gateway_tools_come_with_concord', 'CN007: a raw gateway tool');
SELECT concord_test.throws_rule($$UPDATE concord.tools SET risk_level = 'critical' WHERE tool_name = 'spawn_subagent'$$,
    'CN007', 'gateway_tools_come_with_concord', 'CN007: a gateway tool does not change');
SELECT concord_test.throws_rule($$DELETE FROM concord.tools WHERE tool_name = 'other.read'$$, 'CN007', 'tools_are_not_deleted',
    'CN007: a tool is not deleted');

SELECT concord_test.throws_rule($$TRUNCATE concord.tools$$, 'CN007', 'tools_are_not_truncated',
    'CN007: TRUNCATE of tools');

SELECT * FROM finish();
ROLLBACK;
