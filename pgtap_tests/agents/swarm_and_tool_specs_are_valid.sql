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
