-- Agents under governance (issue 5; spec 16-17, 20, 28, 52-64, 67, 71): the
-- agentic record holds its invariants whoever writes, the table owner included
-- (raw INSERT and UPDATE below run as the owner): a child's scopes are subsets
-- of its parent's and immutable (CN004, CN007); depth, live agents, steps and
-- cost stay within the swarm's limits (CN010); the swarm and agent machines
-- admit only their edges (CN001) and their tables are read-only (CN007); steps
-- and messages are append-only; counters are derived; every change is
-- audited. The gateway returns governed refusals as decisions with their code
-- and raises what it cannot record (CN005, CN006, CN008, CN010, CN011);
-- cancellation cascades from command to swarm to agents to their commands;
-- concord_agent reaches the record only through the gateway.
BEGIN;
SELECT plan(316);

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

-- ===========================================================================
-- 1. Subset, not union: a child's scopes are within its parent's (CN004)
-- ===========================================================================
SELECT lives_ok(
    $$SELECT pg_temp.raw_child('rc', 'r1', tools => '{sql.read}', connectors => '{crm}', child_roles => '{researcher}',
                               mem => pg_temp.ms(types => '["fact"]', max_results => 3))$$,
    'a raw child whose every scope is a subset of its parent''s is accepted'
);
SELECT is((pg_temp.run('r1')).spawn_depth, 1, 'the raw child is at depth parent + 1');
SELECT row_eq(
    format($$WITH a AS (
                 INSERT INTO concord.agent_runs (command_id, swarm_run_id, parent_agent_run_id, agent_name, agent_role,
                                                 goal, allowed_tools, allowed_child_roles, spawn_depth, step_count,
                                                 cost_units, result)
                 VALUES (%L, %L, %L, 'forged', 'researcher', 'g', '{}', '{researcher}', 1, 7, 9, '{"x": 1}')
                 RETURNING step_count, cost_units, result)
             SELECT * FROM a$$, pg_temp.id('pc'), pg_temp.id('R'), pg_temp.id('rc')),
    ROW(0, 0::numeric, NULL::jsonb), 'a raw agent run with forged step_count, cost and result is stored with 0, 0, none'
);

SELECT concord_test.throws_rule(
    $$SELECT pg_temp.raw_child('rc', 'x', tools => '{sql.read,other.read}')$$,
    'CN004', 'a_child_tools_are_within_its_parent_tools', 'CN004: allowed_tools not a subset of the parent''s (raw insert by the owner)'
);
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.raw_child('rc', 'x', connectors => '{crm,slack}')$$,
    'CN004', 'a_child_connectors_are_within_its_parent_connectors', 'CN004: allowed_connectors not a subset of the parent''s'
);
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.raw_child('rc', 'x', child_roles => '{researcher,publisher}')$$,
    'CN004', 'a_child_spawns_only_roles_its_parent_may_spawn', 'CN004: allowed_child_roles not a subset of the parent''s'
);
SELECT pg_temp.raw_child('rc', 'x_inherits', child_roles => '{}') IS NOT NULL AS made;
SELECT is(
    (SELECT a.allowed_child_roles FROM concord.agent_runs AS a WHERE a.agent_run_id = concord_test.id('x_inherits')),
    (SELECT a.allowed_child_roles FROM concord.agent_runs AS a WHERE a.agent_run_id = concord_test.id('rc')),
    'an empty allowed_child_roles under a parent that lists its child roles inherits that list (never "any")'
);
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.raw_child('rc', 'x', role => 'publisher')$$,
    'CN004', 'a_child_role_is_one_its_parent_may_spawn', 'CN004: a child role the parent may not spawn'
);
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.raw_child('rc', 'x', mem => pg_temp.ms(subject_id => 'u2'))$$,
    'CN004', 'a_child_memory_scope_is_within_its_parent_scope', 'CN004: a memory scope on another subject id'
);
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.raw_child('rc', 'x', mem => pg_temp.ms(subject_type => 'team'))$$,
    'CN004', 'a_child_memory_scope_is_within_its_parent_scope', 'CN004: a memory scope on another subject type'
);
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.raw_child('rc', 'x', mem => pg_temp.ms(types => '["fact", "secret"]'))$$,
    'CN004', 'a_child_memory_scope_is_within_its_parent_scope', 'CN004: memory types the parent lacks'
);
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.raw_child('rc', 'x', mem => pg_temp.ms(semantic => true))$$,
    'CN004', 'a_child_memory_scope_is_within_its_parent_scope', 'CN004: semantic retrieval the parent lacks'
);
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.raw_child('rc', 'x', mem => pg_temp.ms(max_results => 6))$$,
    'CN004', 'a_child_memory_scope_is_within_its_parent_scope', 'CN004: max_results above the parent''s'
);
SELECT lives_ok(
    $$SELECT pg_temp.raw_child('rc', 'r0', mem => '{}')$$,
    'a child with no memory access ({}) under a parent with some is accepted'
);
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.raw_child('r0', 'x', mem => pg_temp.ms(types => '["fact"]', max_results => 1))$$,
    'CN004', 'a_child_memory_scope_is_within_its_parent_scope', 'CN004: a parent with memory scope {} has a child with a memory scope'
);
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.raw_child('rc', 'x', connectors => '{crm,NULL}')$$,
    'CN004', 'a_child_connectors_are_within_its_parent_connectors', 'CN004: a NULL connector does not slip through the subset test'
);
SELECT is(
    pg_temp.outcome($$SELECT pg_temp.raw_child('rc', 'x', tools => ARRAY['sql.read', NULL])$$) IN ('CN004', 'CN009', '23514'),
    true, 'a NULL tool in a child''s allowed_tools is refused'
);
SELECT throws_ok(
    $$INSERT INTO concord.agent_runs (command_id, swarm_run_id, parent_agent_run_id, agent_name, agent_role, goal,
                                      allowed_tools, allowed_child_roles, memory_scope, spawn_depth)
      SELECT command_id, swarm_run_id, agent_run_id, 'x', 'researcher', 'g', NULL, '{researcher}', '{}', 1
      FROM concord.agent_runs WHERE agent_run_id = pg_temp.id('rc')$$,
    '23502', NULL, '23502: a NULL allowed_tools (NOT NULL: a NULL never passes a <@ test)'
);
SELECT throws_ok(
    $$INSERT INTO concord.agent_runs (command_id, swarm_run_id, parent_agent_run_id, agent_name, agent_role, goal,
                                      allowed_connectors, allowed_child_roles, memory_scope, spawn_depth)
      SELECT command_id, swarm_run_id, agent_run_id, 'x', 'researcher', 'g', NULL, '{researcher}', '{}', 1
      FROM concord.agent_runs WHERE agent_run_id = pg_temp.id('rc')$$,
    '23502', NULL, '23502: a NULL allowed_connectors'
);
SELECT throws_ok(
    $$INSERT INTO concord.agent_runs (command_id, swarm_run_id, parent_agent_run_id, agent_name, agent_role, goal,
                                      allowed_child_roles, memory_scope, spawn_depth)
      SELECT command_id, swarm_run_id, agent_run_id, 'x', 'researcher', 'g', '{researcher}', NULL, 1
      FROM concord.agent_runs WHERE agent_run_id = pg_temp.id('rc')$$,
    '23502', NULL, '23502: a NULL memory_scope'
);

-- Typed scopes, checked on a root (no parent: no subset test runs first).
SELECT lives_ok($$SELECT pg_temp.raw_swarm('Y')$$, 'fixture: a raw swarm run without agents');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'allowed_connectors', $$'{crm,NULL}'$$),
    '23514', 'allowed_connectors_is_a_name_list', '23514: a NULL element in allowed_connectors');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'allowed_connectors', $$'{crm,""}'$$),
    '23514', 'allowed_connectors_is_a_name_list', '23514: a blank name in allowed_connectors');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'allowed_connectors', $$'{crm,crm}'$$),
    '23514', 'allowed_connectors_is_a_name_list', '23514: a duplicate name in allowed_connectors');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'allowed_tools', $$'{sql.read,NULL}'$$),
    '23514', 'allowed_tools_is_a_name_list', '23514: a NULL element in allowed_tools (a typed scope, not an unknown tool with no name)');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'allowed_tools', $$'{sql.read,""}'$$),
    '23514', 'allowed_tools_is_a_name_list', '23514: a blank name in allowed_tools');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'allowed_tools', $$'{sql.read,sql.read}'$$),
    '23514', 'allowed_tools_is_a_name_list', '23514: a duplicate name in allowed_tools');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'allowed_child_roles', $$'{researcher,NULL}'$$),
    '23514', 'allowed_child_roles_is_a_name_list', '23514: a NULL element in allowed_child_roles');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'allowed_child_roles', $$'{" researcher"}'$$),
    '23514', 'allowed_child_roles_is_a_name_list', '23514: a name that is not an identifier in allowed_child_roles');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'memory_scope', quote_literal(pg_temp.ms() - 'max_results')),
    '23514', 'memory_scope_has_the_spec_61_shape', '23514: a memory scope missing max_results');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'memory_scope', quote_literal(pg_temp.ms() || '{"extra": 1}')),
    '23514', 'memory_scope_has_the_spec_61_shape', '23514: a memory scope with an unknown key');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'memory_scope', quote_literal(pg_temp.ms() || '{"max_results": 2.5}')),
    '23514', 'memory_scope_has_the_spec_61_shape', '23514: a fractional max_results');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'memory_scope', quote_literal(pg_temp.ms() || '{"max_results": "5"}')),
    '23514', 'memory_scope_has_the_spec_61_shape', '23514: max_results as a string');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'memory_scope',
                                      quote_literal(pg_temp.ms() || '{"allowed_memory_types": ["fact", 1]}')),
    '23514', 'memory_scope_has_the_spec_61_shape', '23514: a memory type that is not a string');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'memory_scope',
                                      quote_literal(pg_temp.ms() || '{"allow_semantic_retrieval": "yes"}')),
    '23514', 'memory_scope_has_the_spec_61_shape', '23514: allow_semantic_retrieval that is not a boolean');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'memory_scope', $$'["user"]'$$),
    '23514', 'memory_scope_has_the_spec_61_shape', '23514: a memory scope that is an array');
SELECT row_eq(
    format($$WITH s AS (
                 INSERT INTO concord.swarm_runs (command_id, name, objective, execution_mode, join_strategy,
                                                 live_agents, total_steps, cost_units, result, trace_id, created_by)
                 VALUES (%L, 'forged_counters', 'o', 'parallel', 'all_success', 3, 40, 7, '{"done": true}', '', 'x')
                 RETURNING live_agents, total_steps, cost_units, result)
             SELECT * FROM s$$, pg_temp.id('pc')),
    ROW(0, 0, 0::numeric, NULL::jsonb), 'a raw swarm run with forged counters and result is stored with 0, 0, 0 and none'
);
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'allowed_tools', $$'{no.such.tool}'$$),
    'CN009', 'agent_tools_are_registered', 'CN009: an agent run given an unregistered tool');

-- Scopes are bound at spawn: immutable for the run (CN007).
SELECT concord_test.throws_rule(
    $$UPDATE concord.agent_runs SET allowed_tools = '{sql.read,publish}' WHERE agent_run_id = pg_temp.id('r1')$$,
    'CN007', 'agent_run_identity_and_scopes_are_immutable', 'CN007: UPDATE of allowed_tools on an existing run (even within the parent''s)'
);
SELECT concord_test.throws_rule(
    $$UPDATE concord.agent_runs SET allowed_connectors = '{}' WHERE agent_run_id = pg_temp.id('r1')$$,
    'CN007', 'agent_run_identity_and_scopes_are_immutable', 'CN007: UPDATE of allowed_connectors (even narrowing)'
);
SELECT concord_test.throws_rule(
    $$UPDATE concord.agent_runs SET allowed_child_roles = '{researcher,analyst}' WHERE agent_run_id = pg_temp.id('r1')$$,
    'CN007', 'agent_run_identity_and_scopes_are_immutable', 'CN007: UPDATE of allowed_child_roles'
);
SELECT concord_test.throws_rule(
    $$UPDATE concord.agent_runs SET memory_scope = '{}' WHERE agent_run_id = pg_temp.id('r1')$$,
    'CN007', 'agent_run_identity_and_scopes_are_immutable', 'CN007: UPDATE of memory_scope'
);
SELECT concord_test.throws_rule(
    $$UPDATE concord.agent_runs SET max_steps = 99 WHERE agent_run_id = pg_temp.id('r1')$$,
    'CN007', 'agent_run_identity_and_scopes_are_immutable', 'CN007: UPDATE of max_steps'
);
SELECT concord_test.throws_rule(
    $$UPDATE concord.agent_runs SET spawn_depth = 2 WHERE agent_run_id = pg_temp.id('r1')$$,
    'CN007', 'agent_run_identity_and_scopes_are_immutable', 'CN007: UPDATE of spawn_depth'
);
SELECT concord_test.throws_rule(
    $$UPDATE concord.agent_runs SET parent_agent_run_id = pg_temp.id('r0') WHERE agent_run_id = pg_temp.id('r1')$$,
    'CN007', 'agent_run_identity_and_scopes_are_immutable', 'CN007: UPDATE of parent_agent_run_id (re-parenting)'
);
SELECT concord_test.throws_rule(
    $$UPDATE concord.agent_runs SET swarm_run_id = pg_temp.id('G') WHERE agent_run_id = pg_temp.id('r1')$$,
    'CN007', 'agent_run_identity_and_scopes_are_immutable', 'CN007: UPDATE of swarm_run_id'
);
SELECT concord_test.throws_rule(
    $$UPDATE concord.agent_runs SET goal = 'another goal', agent_role = 'analyst' WHERE agent_run_id = pg_temp.id('r1')$$,
    'CN007', 'agent_run_identity_and_scopes_are_immutable', 'CN007: UPDATE of goal and role'
);

-- ===========================================================================
-- 2. Depth: spawn_depth = parent + 1 <= max_depth; one root per swarm
-- ===========================================================================
INSERT INTO concord_test.fixture (label, id) VALUES ('D', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "deep", "objective": "depth", "limits": {"max_agents": 10, "max_depth": 1},
      "coordinator": {"agent_name": "dc", "allowed_tools": ["sql.read", "spawn_subagent"]}}'));
INSERT INTO concord_test.fixture (label, id) VALUES ('dc', (pg_temp.swarm('D')).coordinator_agent_run_id);
SELECT lives_ok($$SELECT pg_temp.raw_child('dc', 'd1')$$, 'a child at depth 1 = max_depth is accepted');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.raw_child('d1', 'x')$$,
    'CN010', 'spawn_depth_stays_within_max_depth', 'CN010: a child of an agent at max_depth (raw insert)'
);
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.raw_child('rc', 'x', depth => 2)$$,
    'CN004', 'a_child_is_one_level_below_its_parent', 'CN004: a forged spawn_depth (parent + 2)'
);
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.raw_child('r1', 'x', depth => 1)$$,
    'CN004', 'a_child_is_one_level_below_its_parent', 'CN004: a forged spawn_depth (the parent''s own depth)'
);
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.raw_child('rc', 'x', depth => 0)$$,
    'CN004', 'a_child_is_one_level_below_its_parent', 'CN004: a child that claims depth 0'
);
SELECT is(
    pg_temp.outcome(pg_temp.raw_root_sql('Y', 'spawn_depth', '1')) <> 'ok', true,
    'a root (no parent) at depth 1 is refused'
);
SELECT lives_ok(pg_temp.raw_root_sql('Y', '', ''), 'fixture: the raw swarm gets its root');
SELECT throws_ok(pg_temp.raw_root_sql('Y', '', ''), '23505', NULL, '23505: a second root in a swarm');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.swarm_runs SET coordinator_agent_run_id = %L WHERE swarm_run_id = %L$$,
           pg_temp.id('r1'), pg_temp.id('Y')),
    'CN007', 'a_swarm_coordinator_is_set_once_to_its_root_agent', 'CN007: a swarm''s coordinator is set to its own root only'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.swarm_runs SET coordinator_agent_run_id = %L WHERE swarm_run_id = %L$$,
           pg_temp.id('r1'), pg_temp.id('R')),
    'CN007', 'a_swarm_coordinator_is_set_once_to_its_root_agent', 'CN007: a swarm''s coordinator, once set, does not change'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.agent_runs (command_id, swarm_run_id, parent_agent_run_id, agent_name, agent_role,
                                             goal, spawn_depth) VALUES (%L, %L, %L, 'x', 'r', 'g', 1)$$,
           pg_temp.id('pc'), pg_temp.id('Y'), pg_temp.id('coord')),
    'CN004', 'a_child_is_in_its_parent_swarm', 'CN004: a child whose parent belongs to another swarm'
);

-- ===========================================================================
-- 3. Count: live agents <= max_agents
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
-- 4. Steps and cost: max_steps, max_total_steps, max_cost_units; append-only
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

-- ===========================================================================
-- 5. State machines (spec 58)
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
-- 6. Invocations: scopes are the child's as bound at spawn
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

-- ===========================================================================
-- 7. The gateway: tool calls (spec 17, 60)
-- ===========================================================================
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 's', a ->> 'status', 'i', a ->> 'step_index')
     FROM pg_temp.act('coord', '{"tool_name": "sql.read", "payload": {"q": "select 1"}, "reason": "look",
                                 "idempotency_key": "k1"}') AS a),
    '{"d": "allowed", "s": "validated", "i": "1"}'::jsonb,
    'an allowed tool becomes a command of its type: decision allowed, step 1'
);
INSERT INTO concord_test.fixture (label, id) VALUES ('cmd_read', (SELECT created_command_id FROM concord.agent_steps
                                     WHERE agent_run_id = pg_temp.id('coord') AND step_index = 1));
SELECT row_eq(
    format($$SELECT command_type, requested_by, ingress, context ->> 'agent_run_id', context ->> 'tool_name'
             FROM concord.commands WHERE command_id = %L$$, pg_temp.id('cmd_read')),
    ROW('t.read'::text, 'agent:' || pg_temp.id('coord'), 'agent'::text, pg_temp.id('coord')::text, 'sql.read'::text),
    'the command is requested by agent:<id>, ingress agent, and names the agent run and tool'
);
SELECT is(
    (pg_temp.act('coord', '{"tool_name": "sql.read", "payload": {"q": "select 1"}, "idempotency_key": "k1"}')
     ->> 'command_id')::uuid,
    pg_temp.id('cmd_read'), 'the same idempotency key returns the same command'
);
SELECT is(
    (SELECT count(*) FROM concord.agent_steps WHERE agent_run_id = pg_temp.id('coord')), 1::bigint,
    'a replayed tool call records no second step'
);
SELECT row_eq(
    format($$SELECT purpose, step_index, tool_name, payload ->> 'decision' FROM concord.domain_events
             WHERE agent_run_id = %L AND event_type = 'agent_step_recorded'$$, pg_temp.id('coord')),
    ROW('agent_step'::text, 1, 'sql.read'::text, 'allowed'::text),
    'the step is audited with purpose agent_step, its step_index, tool_name and decision'
);
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code', 'cmd', a ? 'command_id')
     FROM pg_temp.act('coord', '{"tool_name": "other.read", "payload": {}}') AS a),
    '{"d": "denied", "c": "CN004", "cmd": false}'::jsonb,
    'a tool not in allowed_tools: decision denied, code CN004, no command'
);
SELECT row_eq(
    format($$SELECT decision, tool_name, created_command_id FROM concord.agent_steps
             WHERE agent_run_id = %L ORDER BY step_index DESC LIMIT 1$$, pg_temp.id('coord')),
    ROW('denied'::text, 'other.read'::text, NULL::uuid), 'the denial is recorded as a step with decision denied'
);
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code')
     FROM pg_temp.act('coord', '{"tool_name": "no.such.tool", "payload": {}}') AS a),
    '{"d": "denied", "c": "CN009"}'::jsonb, 'an unknown tool: denied, code CN009'
);
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code', 'cmd', a ? 'command_id')
     FROM pg_temp.act('coord', '{"tool_name": "sql.read", "payload": {"q": 7}}') AS a),
    '{"d": "invalid", "c": "CN005", "cmd": false}'::jsonb,
    'a payload outside the tool''s input_schema: invalid, CN005, no command'
);
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code', 's', a ->> 'status')
     FROM pg_temp.act('coord', '{"tool_name": "danger", "payload": {"deny": true}}') AS a),
    '{"d": "denied", "c": "CN012", "s": "failed"}'::jsonb,
    'a command the tool''s policy denies: denied, CN012, the command failed'
);
INSERT INTO concord_test.fixture (label, id) VALUES ('cmd_bg', (pg_temp.act('coord', '{"tool_name": "bg.job", "payload": {}}')
                                   ->> 'command_id')::uuid);
SELECT row_eq(
    format($$SELECT s.decision, c.status, c.dbos_workflow_id IS NOT NULL, a.status
             FROM concord.agent_steps AS s JOIN concord.commands AS c ON c.command_id = s.created_command_id
             JOIN concord.agent_runs AS a ON a.agent_run_id = s.agent_run_id
             WHERE s.created_command_id = %L$$, pg_temp.id('cmd_bg')),
    ROW('queued'::text, 'queued'::text, true, 'waiting_for_tool'::text),
    'an asynchronous tool: decision queued, the command is handed to DBOS, the agent waits for the tool'
);
INSERT INTO concord_test.fixture (label, id) VALUES ('cmd_pub', (pg_temp.act('coord', '{"tool_name": "publish", "payload": {"draft": 1}}')
                                    ->> 'command_id')::uuid);
SELECT row_eq(
    format($$SELECT s.decision, c.status, s.created_approval_id IS NOT NULL
             FROM concord.agent_steps AS s JOIN concord.commands AS c ON c.command_id = s.created_command_id
             WHERE s.created_command_id = %L$$, pg_temp.id('cmd_pub')),
    ROW('require_approval'::text, 'waiting_for_approval'::text, true),
    'a tool that requires approval: require_approval, the command waits, the step names the approval'
);
SELECT is(
    (SELECT a.status FROM concord.approvals AS a WHERE a.command_id = pg_temp.id('cmd_pub')), 'pending',
    'the approval is pending'
);
SELECT is((pg_temp.run('coord')).status, 'waiting_for_approval', 'the agent waits for the approval');
INSERT INTO concord_test.fixture (label, id) VALUES ('RP', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "replay", "objective": "replay", "coordinator": {"agent_name": "rpc", "allowed_tools": ["publish"]}}'));
INSERT INTO concord_test.fixture (label, id) VALUES ('rpc', (pg_temp.swarm('RP')).coordinator_agent_run_id);
SELECT is(
    (pg_temp.act('rpc', '{"tool_name": "publish", "payload": {"draft": 2}, "idempotency_key": "pub"}')
     ->> 'decision'), 'require_approval', 'fixture: a keyed tool call that waits for approval'
);
SELECT is(
    (pg_temp.act('rpc', '{"tool_name": "publish", "payload": {"draft": 2}, "idempotency_key": "pub"}')
     ->> 'replayed'), 'true', 'its replay returns the first answer...'
);
SELECT is((pg_temp.run('rpc')).status, 'waiting_for_approval',
    '...and changes nothing: the agent still waits for the approval');

-- The agent_tool policy holds for any submit_command that claims an agent.
SELECT is(
    (SELECT s.status FROM concord.submit_command('t.read', '{"q": "x"}', 'mallory', 'agent',
        jsonb_build_object('agent_run_id', pg_temp.id('coord'), 'tool_name', 'sql.read')) AS s),
    'failed', 'policy agent_tool: a command claiming an agent run it was not requested by is denied'
);
SELECT is(
    (SELECT s.status FROM concord.submit_command('t.read', '{"q": "x"}', 'agent:' || pg_temp.id('dc'), 'agent',
        jsonb_build_object('agent_run_id', pg_temp.id('dc'), 'tool_name', 'other.read')) AS s),
    'failed', 'policy agent_tool: a tool outside the agent''s scope is denied even through submit_command'
);
SELECT is(
    (SELECT s.status FROM concord.submit_command('t.read', '{"q": "x"}', 'agent:' || pg_temp.id('dc'), 'agent',
        jsonb_build_object('agent_run_id', pg_temp.id('dc'), 'tool_name', 'sql.read')) AS s),
    'validated', 'policy agent_tool: a tool within the agent''s scope passes'
);

-- Raised: what the gateway cannot record.
SELECT concord_test.throws_rule(
    $$SELECT concord.submit_agent_action(gen_random_uuid(), '{"tool_name": "sql.read", "payload": {}}')$$,
    'CN006', 'the_agent_run_exists', 'CN006: submit_agent_action for an unknown agent run');
SELECT concord_test.throws_rule(
    format($$SELECT concord.submit_agent_action(%L, '{"tool_name": "sql.read", "payload": {"q": "x"}}')$$,
           pg_temp.id('sm')),
    'CN011', 'a_finished_agent_run_acts_no_more', 'CN011: submit_agent_action for a finished agent run');
SELECT concord_test.throws_rule(
    format($$SELECT concord.submit_agent_action(%L, '"sql.read"')$$, pg_temp.id('coord')),
    'CN005', 'agent_action_is_valid', 'CN005: an action that is not an object');
SELECT concord_test.throws_rule(
    format($$SELECT concord.submit_agent_action(%L, '{"action_type": "rm_rf", "tool_name": "sql.read"}')$$,
           pg_temp.id('coord')),
    'CN005', 'agent_action_is_valid', 'CN005: an unknown action_type');
SELECT concord_test.throws_rule(
    format($$SELECT concord.submit_agent_action(%L, '{"payload": {}}')$$, pg_temp.id('coord')),
    'CN005', 'agent_action_is_valid', 'CN005: an action without tool_name');
SELECT concord_test.throws_rule(
    format($$SELECT concord.submit_agent_action(%L, '{"tool_name": "sql.read", "payload": [1]}')$$, pg_temp.id('coord')),
    'CN005', 'agent_action_is_valid', 'CN005: a payload that is not an object');
SELECT concord_test.throws_rule(
    format($$SELECT concord.submit_agent_action(%L, '{"tool_name": "sql.read", "swarm_run_id": %s}')$$,
           pg_temp.id('coord'), to_jsonb(pg_temp.id('R')::text)),
    'CN008', 'an_action_names_its_own_swarm_run', 'CN008: an action naming another swarm');
SELECT concord_test.throws_rule(
    format($$SELECT concord.submit_agent_action(%L, '{"tool_name": "sql.read", "agent_run_id": %s}')$$,
           pg_temp.id('coord'), to_jsonb(pg_temp.id('rc')::text)),
    'CN005', 'agent_action_is_valid', 'CN005: an action naming another agent run');
SELECT concord_test.throws_rule(
    format($$SELECT concord.record_agent_step(%L, '{"action_type": "tool_call"}')$$, pg_temp.id('coord')),
    'CN005', 'agent_step_is_valid', 'CN005: record_agent_step of an action that goes through the gateway');
SELECT concord_test.throws_rule(
    format($$SELECT concord.record_agent_step(%L, '{"action_type": "think", "tool_name": "sql.read"}')$$,
           pg_temp.id('coord')),
    'CN005', 'agent_step_is_valid', 'CN005: record_agent_step naming a tool');
SELECT concord_test.throws_rule(
    format($$SELECT concord.record_agent_step(%L, '{"action_type": "think", "cost_units": -1}')$$, pg_temp.id('coord')),
    'CN005', 'agent_step_is_valid', 'CN005: a negative step cost');
SELECT concord_test.throws_rule(
    $$SELECT concord.record_agent_step(gen_random_uuid(), '{"action_type": "think"}')$$,
    'CN006', 'the_agent_run_exists', 'CN006: record_agent_step for an unknown run');
SELECT concord_test.throws_rule(
    format($$SELECT concord.record_agent_message(%L, '{"message_role": "god", "content": "x"}')$$, pg_temp.id('coord')),
    'CN005', 'agent_message_is_valid', 'CN005: a message with an unknown role');
SELECT concord_test.throws_rule(
    format($$SELECT concord.record_agent_message(%L, '{"content": "late"}')$$, pg_temp.id('sm')),
    'CN011', 'a_finished_agent_run_acts_no_more', 'CN011: record_agent_message for a finished run');
SELECT concord_test.throws_rule(
    format($$SELECT concord.agent_command(%L, %L)$$, pg_temp.id('dc'), pg_temp.id('cmd_read')),
    'CN006', 'an_agent_sees_only_the_commands_it_asked_for', 'CN006: agent_command for a command another agent asked for');
SELECT is(
    concord.agent_command(pg_temp.id('coord'), pg_temp.id('cmd_pub')) ->> 'status', 'waiting_for_approval',
    'agent_command shows the agent its own command'
);
SELECT concord_test.throws_rule($$SELECT concord.agent_run_state(gen_random_uuid())$$, 'CN006', 'the_agent_run_exists',
    'CN006: agent_run_state of an unknown run');

-- ===========================================================================
-- 8. The gateway: spawning (spec 59)
-- ===========================================================================
INSERT INTO concord_test.fixture (label, id) VALUES ('sp_gr', (pg_temp.spawn('coord',
    '{"agent_name": "researcher", "agent_role": "researcher", "delegated_goal": "find revenue",
      "allowed_tools": ["sql.read"], "memory_scope": {"subject_type": "user", "subject_id": "u1",
      "allowed_memory_types": ["fact"], "allow_semantic_retrieval": true, "max_results": 10}}') ->> 'command_id')::uuid);
INSERT INTO concord_test.fixture (label, id) VALUES ('gr', (SELECT child_agent_run_id FROM concord.agent_invocations
                               WHERE command_id = pg_temp.id('sp_gr')));
SELECT row_eq(
    format($$SELECT parent_agent_run_id, spawn_depth, allowed_tools, allowed_connectors, status, command_id
             FROM concord.agent_runs WHERE agent_run_id = %L$$, pg_temp.id('gr')),
    ROW(pg_temp.id('coord'), 1, '{sql.read}'::text[], '{}'::text[], 'created'::text, pg_temp.id('sp_gr')),
    'an allowed spawn creates the child at depth 1 with the requested scopes, under its spawn command'
);
SELECT row_eq(
    format($$SELECT command_type, status, requested_by, ingress FROM concord.commands WHERE command_id = %L$$,
           pg_temp.id('sp_gr')),
    ROW('spawn_subagent'::text, 'succeeded'::text, 'agent:' || pg_temp.id('coord'), 'agent'::text),
    'the spawn is a spawn_subagent command requested by the parent agent, succeeded'
);
SELECT is(
    (SELECT decision FROM concord.agent_steps WHERE created_command_id = pg_temp.id('sp_gr')), 'allowed',
    'the parent''s step records the allowed spawn'
);
SELECT is(pg_temp.agent_events('coord', 'agent_invoked'), 1::bigint, 'the invocation is audited');
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code', 'child', a -> 'child_agent_run_id')
     FROM pg_temp.spawn('coord', '{"agent_name": "w", "agent_role": "writer", "delegated_goal": "g"}') AS a),
    '{"d": "denied", "c": "CN004", "child": null}'::jsonb, 'a role not among the swarm''s templates: denied, CN004'
);
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code')
     FROM pg_temp.spawn('coord', '{"agent_name": "researcher", "delegated_goal": "g",
                                   "allowed_tools": ["sql.read", "other.read"]}') AS a),
    '{"d": "denied", "c": "CN004"}'::jsonb, 'tools outside the parent''s: denied, CN004'
);
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code')
     FROM pg_temp.spawn('coord', '{"agent_name": "researcher", "delegated_goal": "g",
                                   "allowed_connectors": ["crm", "mail"]}') AS a),
    '{"d": "denied", "c": "CN004"}'::jsonb, 'connectors outside the parent''s: denied, CN004'
);
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code')
     FROM pg_temp.spawn('coord', jsonb_build_object('agent_name', 'researcher', 'delegated_goal', 'g',
                                                    'memory_scope', pg_temp.ms(max_results => 11))) AS a),
    '{"d": "denied", "c": "CN004"}'::jsonb, 'a memory scope outside the parent''s: denied, CN004'
);
SELECT is(
    (SELECT count(*) FROM concord.commands
     WHERE command_type = 'spawn_subagent' AND requested_by = 'agent:' || pg_temp.id('coord')
       AND status = 'failed' AND error_class = 'policy_denied'),
    4::bigint, 'each denied spawn is a failed spawn_subagent command (policy_denied)'
);
SELECT is(
    (SELECT count(*) FROM concord.agent_steps WHERE agent_run_id = pg_temp.id('coord') AND tool_name = 'spawn_subagent'
       AND decision = 'denied' AND child_agent_run_id IS NULL),
    4::bigint, '...and a parent step with decision denied'
);
SELECT is(
    (SELECT count(*) FROM concord.agent_runs WHERE swarm_run_id = pg_temp.id('G')), 2::bigint,
    'a denied spawn creates no agent run'
);
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code')
     FROM pg_temp.act('gr', '{"tool_name": "spawn_subagent", "payload": {"agent_name": "researcher",
                                                                         "delegated_goal": "g"}}') AS a),
    '{"d": "denied", "c": "CN004"}'::jsonb, 'a spawn through submit_agent_action needs the spawn_subagent tool (CN004)'
);
-- Through the tool: allowed (the analyst template supplies the role).
INSERT INTO concord_test.fixture (label, id) VALUES ('ga', (pg_temp.act('coord', '{"action_type": "spawn_subagent", "payload":
    {"agent_name": "analyst", "delegated_goal": "analyse", "allowed_tools": ["crm.update"]}}')
    ->> 'child_agent_run_id')::uuid);
SELECT row_eq(
    format($$SELECT agent_role, allowed_tools, allowed_connectors FROM concord.agent_runs WHERE agent_run_id = %L$$,
           pg_temp.id('ga')),
    ROW('analyst'::text, '{crm.update}'::text[], '{}'::text[]),
    'a spawn through the spawn_subagent tool is allowed; the template gives the role'
);
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code', 'cmd', a ? 'command_id')
     FROM pg_temp.act('ga', '{"tool_name": "crm.update", "payload": {}}') AS a),
    '{"d": "denied", "c": "CN004", "cmd": false}'::jsonb,
    'a tool whose connector is not in allowed_connectors: denied, CN004, no command'
);
SELECT is((pg_temp.swarm('G')).live_agents, 3, 'fixture: three live agents of max_agents 4');
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code')
     FROM pg_temp.spawn('gr', '{"agent_name": "researcher", "delegated_goal": "dig", "allowed_tools": ["sql.read"]}') AS a),
    '{"d": "denied", "c": "CN004"}'::jsonb,
    'a direct spawn_subagent call needs the spawn_subagent tool too (CN004)'
);
-- the grandchild, written by the owner: the record's own rules allow it
WITH x AS (
    INSERT INTO concord.agent_runs (command_id, swarm_run_id, parent_agent_run_id, agent_name, agent_role, goal,
                                    allowed_tools, spawn_depth, trace_id)
    SELECT r.command_id, r.swarm_run_id, r.agent_run_id, 'researcher', 'researcher', 'dig', '{sql.read}', 2, 't'
    FROM concord.agent_runs AS r WHERE r.agent_run_id = pg_temp.id('gr')
    RETURNING agent_run_id)
INSERT INTO concord_test.fixture (label, id) SELECT 'gx', agent_run_id FROM x;
SELECT is((pg_temp.run('gx')).spawn_depth, 2, 'a grandchild at depth 2 = max_depth');
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code')
     FROM pg_temp.spawn('coord', '{"agent_name": "researcher", "delegated_goal": "g"}') AS a),
    '{"d": "denied", "c": "CN010"}'::jsonb, 'a spawn past max_agents: denied, CN010'
);
SELECT is(
    concord.finish_agent_run(pg_temp.id('ga'), 'failed', NULL, 'no connector'), 'failed',
    'finish_agent_run failed'
);
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code')
     FROM pg_temp.spawn('gx', '{"agent_name": "researcher", "delegated_goal": "deeper"}') AS a),
    '{"d": "denied", "c": "CN010"}'::jsonb, 'a spawn beyond max_depth: denied, CN010'
);
SELECT is(
    (SELECT a ->> 'decision' FROM pg_temp.spawn('coord', '{"agent_name": "researcher", "delegated_goal": "again",
                                                          "idempotency_key": "s1"}') AS a),
    'allowed', 'after an agent finished, a spawn fits max_agents again'
);
SELECT is(
    (SELECT a ->> 'replayed' FROM pg_temp.spawn('coord', '{"agent_name": "researcher", "delegated_goal": "again",
                                                          "idempotency_key": "s1"}') AS a),
    'true', 'a spawn replayed with its idempotency key returns the first answer'
);
SELECT is((pg_temp.swarm('G')).live_agents, 4, '...and creates no second child');

-- Raised spawn errors.
SELECT concord_test.throws_rule($$SELECT concord.spawn_subagent('[]')$$, 'CN005', 'spawn_request_is_valid', 'CN005: a spawn request that is not an object');
SELECT concord_test.throws_rule($$SELECT concord.spawn_subagent('{"parent_agent_run_id": "nope", "agent_name": "a"}')$$,
    'CN008', 'a_spawn_names_its_parent_agent_run', 'CN008: a parent_agent_run_id that is not an id');
SELECT concord_test.throws_rule(
    format($$SELECT concord.spawn_subagent('{"parent_agent_run_id": %s, "agent_name": "a", "agent_role": "r",
                                             "delegated_goal": "g"}')$$, to_jsonb(gen_random_uuid()::text)),
    'CN006', 'the_agent_run_exists', 'CN006: spawn from an unknown parent');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.spawn('ga', '{"agent_name": "analyst", "delegated_goal": "g"}')$$,
    'CN011', 'a_finished_agent_run_acts_no_more', 'CN011: spawn from a finished parent');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.spawn('coord', '{"agent_name": "nobody", "agent_role": "researcher"}')$$,
    'CN005', 'spawn_request_is_valid', 'CN005: a spawn request without a delegated goal (nor a template goal)');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.spawn('coord', '{"agent_name": "researcher", "delegated_goal": "g", "allowed_tools": "sql.read"}')$$,
    'CN005', 'spawn_request_is_valid', 'CN005: allowed_tools that is not an array');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.spawn('coord', '{"agent_name": "researcher", "delegated_goal": "g", "allowed_tools": [null]}')$$,
    'CN005', 'spawn_request_is_valid', 'CN005: a null tool name in a spawn request');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.spawn('coord', '{"agent_name": "researcher", "delegated_goal": "g", "memory_scope": {"a": 1}}')$$,
    'CN005', 'spawn_request_is_valid', 'CN005: a memory scope of the wrong shape in a spawn request');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.spawn('coord', '{"agent_name": "researcher", "delegated_goal": "g", "sudo": true}')$$,
    'CN005', 'a_spec_has_only_known_keys', 'CN005: an unknown key in a spawn request');
SELECT concord_test.throws_rule(
    format($$SELECT pg_temp.spawn('coord', '{"agent_name": "researcher", "delegated_goal": "g", "swarm_run_id": %s}')$$,
           to_jsonb(pg_temp.id('R')::text)),
    'CN005', 'spawn_request_is_valid', 'CN005: a spawn request naming another swarm');
INSERT INTO concord_test.fixture (label, id) VALUES ('sp_small', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "tiny", "objective": "one step", "coordinator": {"agent_name": "tc", "max_steps": 1}}'));
INSERT INTO concord_test.fixture (label, id) VALUES ('tc', (pg_temp.swarm('sp_small')).coordinator_agent_run_id);
SELECT lives_ok(format($$SELECT concord.record_agent_step(%L, '{"action_type": "plan"}')$$, pg_temp.id('tc')),
    'fixture: the parent uses its only step');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.spawn('tc', '{"agent_name": "a", "agent_role": "r", "delegated_goal": "g"}')$$,
    'CN010', 'agent_steps_stay_within_max_steps', 'CN010: spawn when the parent''s step budget is exhausted');

INSERT INTO concord_test.fixture (label, id) VALUES ('one', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "one_step", "objective": "one keyed step",
      "coordinator": {"agent_name": "oc", "max_steps": 1, "allowed_tools": ["sql.read", "spawn_subagent"]}}'));
INSERT INTO concord_test.fixture (label, id) VALUES ('oc', (pg_temp.swarm('one')).coordinator_agent_run_id);
INSERT INTO concord_test.fixture (label, id) VALUES ('cmd_one', (pg_temp.act('oc',
    '{"tool_name": "sql.read", "payload": {"q": "x"}, "idempotency_key": "only"}') ->> 'command_id')::uuid);
SELECT is(
    pg_temp.outcome($$SELECT pg_temp.act('oc', '{"tool_name": "sql.read", "payload": {"q": "x"},
                                                  "idempotency_key": "only"}')$$),
    'ok', 'a replayed tool call (same key) after the step budget is used returns its first answer, not CN010'
);

-- ===========================================================================
-- 9. Swarms: start_swarm and register_tool
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
SELECT row_eq(
    format($$SELECT status, live_agents, coordinator_agent_run_id IS NOT NULL FROM concord.swarm_runs
             WHERE swarm_run_id = %L$$, pg_temp.id('G')),
    ROW('running'::text, 4, true), 'a started swarm is running, led by its coordinator'
);
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

-- ===========================================================================
-- 10. Finishing, begin, cancellation (spec 64)
-- ===========================================================================
SELECT concord_test.throws_rule(
    format($$SELECT concord.finish_agent_run(%L, 'succeeded')$$, pg_temp.id('gr')),
    'CN011', 'an_agent_run_succeeds_only_after_its_children_finish', 'CN011: finish_agent_run succeeded while a child is live');
SELECT concord_test.throws_rule(
    format($$SELECT concord.finish_agent_run(%L, 'cancelled')$$, pg_temp.id('gr')),
    'CN008', 'an_agent_run_finishes_succeeded_or_failed', 'CN008: an agent finishes as succeeded or failed only');
SELECT concord_test.throws_rule($$SELECT concord.finish_agent_run(gen_random_uuid(), 'failed')$$, 'CN006', 'the_agent_run_exists',
    'CN006: finish_agent_run of an unknown run');
SELECT concord_test.throws_rule(
    format($$SELECT concord.finish_agent_run(%L, 'succeeded')$$, pg_temp.id('ga')),
    'CN011', 'an_agent_run_finishes_once', 'CN011: a failed run cannot finish as succeeded');
SELECT is(concord.finish_agent_run(pg_temp.id('ga'), 'failed', NULL, 'no connector'), 'failed',
    'repeating the same finish is a no-op');
SELECT is(concord.finish_agent_run(pg_temp.id('gx'), 'succeeded', '{"rows": 3}'), 'succeeded',
    'a child with no live children finishes as succeeded');
SELECT is(concord.finish_agent_run(pg_temp.id('gr'), 'succeeded', '{"found": true}'), 'succeeded',
    'once its child finished, the parent may succeed');
SELECT is(
    (SELECT status FROM concord.agent_invocations WHERE child_agent_run_id = pg_temp.id('gr')), 'succeeded',
    'the invocation follows its child''s status'
);
SELECT is(
    concord.begin_agent_run(pg_temp.id('dc')) ->> 'status', 'running', 'begin_agent_run: created -> running'
);
SELECT concord_test.throws_rule(
    format($$SELECT concord.begin_agent_run(%L, 'wf-other')$$, pg_temp.id('dc')),
    'CN011', 'an_agent_run_is_begun_by_its_own_workflow', 'CN011: begin_agent_run by a workflow that does not run it');
SELECT concord_test.throws_rule($$SELECT concord.begin_agent_run(gen_random_uuid())$$, 'CN006', 'the_agent_run_exists',
    'CN006: begin_agent_run of an unknown run');

-- A failed parent cancels its live children.
SELECT lives_ok($$SELECT pg_temp.raw_child('dc', 'd2')$$, 'fixture: a second child of dc');
SELECT is(concord.finish_agent_run(pg_temp.id('dc'), 'failed', NULL, 'gave up'), 'failed',
    'a coordinator may fail with live children...');
SELECT results_eq(
    format($$SELECT status FROM concord.agent_runs WHERE parent_agent_run_id = %L ORDER BY agent_name$$, pg_temp.id('dc')),
    ARRAY['cancelled', 'cancelled'], '...which are cancelled'
);
SELECT is((pg_temp.swarm('D')).status, 'failed', 'a failed coordinator fails its swarm');

-- cancel_swarm cascades to live agents and their unfinished commands.
SELECT is(concord.cancel_swarm(pg_temp.id('G'), 'ops', 'stop it'), 'cancelled', 'cancel_swarm returns cancelled');
SELECT is(
    (SELECT count(*) FROM concord.agent_runs AS a JOIN concord.agent_statuses AS s ON s.status = a.status
     WHERE a.swarm_run_id = pg_temp.id('G') AND NOT s.terminal),
    0::bigint, 'every live agent of the cancelled swarm is cancelled'
);
SELECT is((pg_temp.run('coord')).status, 'cancelled', 'the coordinator waiting for approval is cancelled');
SELECT is(concord_test.status('cmd_pub'), 'cancelled', 'the command waiting for approval is cancelled');
SELECT is((concord_test.approval('cmd_pub')).status, 'cancelled', '...and its pending approval with it');
SELECT is(concord_test.status('cmd_bg'), 'cancelled', 'the queued command is cancelled');
SELECT is(concord_test.status('cmd_read'), 'cancelled', 'the agent''s validated command is cancelled');
SELECT is((pg_temp.run('gr')).status, 'succeeded', 'a finished agent stays as it was');
SELECT row_eq(
    format($$SELECT cancelled_by, cancel_reason FROM concord.swarm_runs WHERE swarm_run_id = %L$$, pg_temp.id('G')),
    ROW('ops'::text, 'stop it'::text), 'the swarm records who cancelled it and why'
);
SELECT is(pg_temp.swarm_events('G', 'swarm_status_changed', 'running', 'cancelled'), 1::bigint,
    'the cancellation is audited');
SELECT is(concord.cancel_swarm(pg_temp.id('G'), 'ops'), 'cancelled', 'cancel_swarm is idempotent');
SELECT concord_test.throws_rule($$SELECT concord.cancel_swarm(gen_random_uuid(), 'ops')$$, 'CN006', 'the_swarm_run_exists',
    'CN006: cancel_swarm of an unknown swarm');
SELECT concord_test.throws_rule(format($$SELECT concord.cancel_swarm(%L, 'ops', NULL, 'brutal')$$, pg_temp.id('K')),
    'CN008', 'cancellation_mode_is_graceful_or_compensate_then_stop', 'CN008: an unknown cancellation mode');
SELECT concord_test.throws_rule(
    format($$SELECT concord.spawn_subagent(jsonb_build_object('parent_agent_run_id', %L::text, 'agent_name', 'r',
                                             'agent_role', 'r', 'delegated_goal', 'g'))$$, pg_temp.id('coord')),
    'CN011', 'a_finished_agent_run_acts_no_more', 'CN011: spawn from an agent of a cancelled swarm');

-- cancel_agent_run: one agent and its descendants; a coordinator's is its swarm's.
SELECT lives_ok($$SELECT pg_temp.raw_child('r1', 'r11', child_roles => '{researcher}', mem => '{}')$$,
    'fixture: a grandchild in swarm R');
SELECT is(concord.cancel_agent_run(pg_temp.id('r1'), 'ops'), 'cancelled', 'cancel_agent_run cancels the agent...');
SELECT is((pg_temp.run('r11')).status, 'cancelled', '...and its descendants');
SELECT is((pg_temp.swarm('R')).status, 'running', '...not its swarm');
SELECT is(concord.cancel_agent_run(pg_temp.id('kc'), 'ops'), 'cancelled', 'cancelling a coordinator...');
SELECT is((pg_temp.swarm('K')).status, 'cancelled', '...cancels its swarm');

-- A finished swarm has no live agent: nobody acts in it any more.
INSERT INTO concord_test.fixture (label, id) VALUES ('J', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "joined", "objective": "join", "coordinator": {"agent_name": "jc", "allowed_tools": ["sql.read"]}}'));
INSERT INTO concord_test.fixture (label, id) VALUES ('jc', (pg_temp.swarm('J')).coordinator_agent_run_id);
SELECT lives_ok($$SELECT pg_temp.raw_child('jc', 'j1')$$, 'fixture: a child in swarm J');
SELECT is(concord.finish_agent_run(pg_temp.id('j1'), 'succeeded', '{}'), 'succeeded', 'fixture: the child succeeds');
SELECT is(concord.join_swarm(pg_temp.id('J')) ->> 'decision', 'succeeded', 'fixture: the swarm is joined, succeeded');
SELECT concord_test.throws_rule(
    format($$SELECT concord.submit_agent_action(%L, '{"tool_name": "sql.read", "payload": {"q": "x"}}')$$,
           pg_temp.id('jc')),
    'CN011', 'a_finished_agent_run_acts_no_more', 'CN011: an agent of a finished (joined) swarm takes no more actions');
INSERT INTO concord_test.fixture (label, id) VALUES ('R2', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "expiring", "objective": "expire", "coordinator": {"agent_name": "ec"}}'));
UPDATE concord.swarm_runs SET status = 'expired' WHERE swarm_run_id = pg_temp.id('R2');
SELECT is(
    (SELECT count(*) FROM concord.agent_runs AS a JOIN concord.agent_statuses AS s ON s.status = a.status
     WHERE a.swarm_run_id = pg_temp.id('R2') AND NOT s.terminal),
    0::bigint, 'a swarm that expires (raw update) leaves no live agent run'
);

-- Cancelling the parent command cancels its swarms.
INSERT INTO concord_test.fixture (label, id) VALUES ('P2', concord.start_swarm(pg_temp.id('pc2'),
    '{"name": "p2", "objective": "under pc2", "coordinator": {"agent_name": "pc2c", "allowed_tools": ["publish"]}}'));
INSERT INTO concord_test.fixture (label, id) VALUES ('pc2c', (pg_temp.swarm('P2')).coordinator_agent_run_id);
INSERT INTO concord_test.fixture (label, id) VALUES ('cmd_pub2', (pg_temp.act('pc2c', '{"tool_name": "publish", "payload": {}}')
                                     ->> 'command_id')::uuid);
SELECT is(concord.cancel_command(pg_temp.id('pc2'), 'alice', 'changed my mind'), 'cancelled',
    'the parent command is cancelled');
SELECT is((pg_temp.swarm('P2')).status, 'cancelled', 'cancelling the parent command cancels its swarm');
SELECT is((pg_temp.run('pc2c')).status, 'cancelled', '...its agents');
SELECT is(concord_test.status('cmd_pub2'), 'cancelled', '...and the commands they asked for');

-- The coordinator's finish settles its swarm (joining it by its strategy).
INSERT INTO concord_test.fixture (label, id) VALUES ('F', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "fin", "objective": "finish", "coordinator": {"agent_name": "fc"}}'));
INSERT INTO concord_test.fixture (label, id) VALUES ('fc', (pg_temp.swarm('F')).coordinator_agent_run_id);
SELECT lives_ok($$SELECT pg_temp.raw_child('fc', 'f1')$$, 'fixture: a child of the coordinator');
SELECT is(concord.finish_agent_run(pg_temp.id('f1'), 'succeeded', '{"part": 1}'), 'succeeded', 'the child succeeds');
SELECT is((pg_temp.swarm('F')).status, 'running', 'a child''s finish does not settle the swarm');
SELECT is(concord.finish_agent_run(pg_temp.id('fc'), 'succeeded', '{"answer": 42}'), 'succeeded',
    'the coordinator finishes as succeeded');
SELECT row_eq(
    format($$SELECT status, live_agents, completed_at IS NOT NULL, join_decision IS NOT NULL
             FROM concord.swarm_runs WHERE swarm_run_id = %L$$, pg_temp.id('F')),
    ROW('succeeded'::text, 0, true, true),
    'the coordinator''s finish settles the swarm: joined (all_success), succeeded, no live agents'
);
INSERT INTO concord_test.fixture (label, id) VALUES ('F2', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "fin2", "objective": "finish", "join_strategy": "coordinator_synthesis",
      "coordinator": {"agent_name": "fc2"}}'));
SELECT is(concord.finish_agent_run((pg_temp.swarm('F2')).coordinator_agent_run_id, 'succeeded', '{"a": 1}'),
    'succeeded', 'a coordinator that synthesises finishes as succeeded');
SELECT row_eq(
    format($$SELECT status, result FROM concord.swarm_runs WHERE swarm_run_id = %L$$, pg_temp.id('F2')),
    ROW('succeeded'::text, '{"a": 1}'::jsonb), '...and its swarm succeeds with the coordinator''s result'
);
SELECT is(
    pg_temp.swarm_events('F2', 'swarm_status_changed', 'joining', 'succeeded'), 1::bigint,
    'the settled swarm went through joining, audited'
);

-- ===========================================================================
-- 11. Privileges: concord_agent reaches the record only through the gateway
-- ===========================================================================
SELECT ok(
    (SELECT bool_and(has_function_privilege('concord_agent', f, 'EXECUTE')) FROM unnest(ARRAY[
        'concord.submit_agent_action(uuid, jsonb)', 'concord.spawn_subagent(jsonb)',
        'concord.record_agent_step(uuid, jsonb)', 'concord.record_agent_message(uuid, jsonb)',
        'concord.finish_agent_run(uuid, text, jsonb, text)', 'concord.agent_run_state(uuid)',
        'concord.begin_agent_run(uuid, text)', 'concord.agent_command(uuid, uuid)']) AS f),
    'concord_agent may execute the gateway functions'
);
SELECT ok(
    NOT (SELECT bool_or(has_function_privilege('concord_agent', f, 'EXECUTE')) FROM unnest(ARRAY[
        'concord.start_swarm(uuid, jsonb)', 'concord.register_tool(jsonb)',
        'concord.cancel_swarm(uuid, text, text, text)', 'concord.cancel_agent_run(uuid, text, text)',
        'concord.submit_command(text, jsonb, text, text, jsonb, text, text)',
        'concord.runtime_agentic_command(uuid, text)']) AS f),
    'concord_agent may not start swarms, register tools, cancel, submit commands directly or run the runtime side'
);
SELECT ok(
    NOT (SELECT bool_or(has_table_privilege('concord_agent', c.oid, 'SELECT, INSERT, UPDATE, DELETE'))
         FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
         WHERE n.nspname = 'concord' AND c.relkind IN ('r', 'v', 'p')),
    'concord_agent has no privilege on any concord table or view'
);
SELECT is(
    pg_temp.as_role('concord_agent', $$SELECT count(*) FROM concord.agent_runs$$), '42501',
    '42501: concord_agent cannot read agent_runs'
);
SELECT is(
    pg_temp.as_role('concord_agent', format(
        $$INSERT INTO concord.agent_steps (agent_run_id, command_id, step_index, action_type, decision)
          VALUES (%L, %L, 1, 'think', 'recorded')$$, pg_temp.id('rc'), pg_temp.id('pc'))),
    '42501', '42501: concord_agent cannot write a step directly'
);
SELECT is(
    pg_temp.as_role('concord_agent', format($$SELECT concord.start_swarm(%L, '{}')$$, pg_temp.id('pc'))), '42501',
    '42501: concord_agent cannot call start_swarm'
);
SELECT is(
    pg_temp.as_role('concord_agent', format($$SELECT concord.cancel_swarm(%L, 'me')$$, pg_temp.id('R'))), '42501',
    '42501: concord_agent cannot call cancel_swarm'
);
SELECT is(
    pg_temp.as_role('concord_agent', format($$SELECT concord.record_agent_step(%L, '{"action_type": "think"}')$$,
                                            pg_temp.id('rc'))),
    'ok', 'concord_agent records a step through the gateway'
);

SELECT * FROM finish();
ROLLBACK;
