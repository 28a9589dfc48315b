-- A child agent's scopes are within its parent's and bound at spawn (spec
-- 59.4, 61.1, 61.2, 71.3), whoever writes, the table owner included (the raw
-- INSERTs and UPDATEs below run as the owner): allowed_tools,
-- allowed_connectors, allowed_child_roles and the memory scope are subsets of
-- the parent's (CN004), typed (23514), and immutable (CN007); a child is one
-- level below its parent, within max_depth (CN010), in its parent's swarm; a
-- swarm has one root, its coordinator.
BEGIN;
SELECT plan(63);

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
-- Subset, not union: a child's scopes are within its parent's (CN004)
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
-- Depth: spawn_depth = parent + 1 <= max_depth; one root per swarm
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

-- Whom a new agent run names exists; a root is at depth 0; in a swarm with
-- templates a child takes one of their roles; a run's workflow is bound when
-- it is created.
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.agent_runs (command_id, swarm_run_id, agent_name, agent_role, goal)
             VALUES (%L, %L, 'lost', 'r', 'g')$$, pg_temp.id('pc'), gen_random_uuid()),
    'CN006', 'the_swarm_run_exists', 'CN006: an agent run in a swarm run that does not exist');
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.agent_runs (command_id, swarm_run_id, parent_agent_run_id, agent_name, agent_role,
                                             goal, spawn_depth)
             VALUES (%L, %L, %L, 'orphan', 'r', 'g', 1)$$, pg_temp.id('pc'), pg_temp.id('R'), gen_random_uuid()),
    'CN006', 'the_parent_agent_run_exists', 'CN006: a child of an agent run that does not exist');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'spawn_depth', '1'),
    'CN004', 'a_root_agent_run_is_at_depth_zero', 'CN004: a root (no parent) at depth 1');
SELECT concord_test.throws_rule($$SELECT pg_temp.raw_child('coord', 'x', role => 'writer')$$,
    'CN004', 'a_child_role_is_a_swarm_template_role', 'CN004: a role none of the swarm''s agent templates has');
SELECT concord_test.throws_rule(
    $$UPDATE concord.agent_runs SET dbos_workflow_id = 'agent:forged' WHERE agent_run_id = pg_temp.id('r1')$$,
    'CN007', 'an_agent_run_keeps_its_workflow', 'CN007: UPDATE of an agent run''s workflow');

SELECT * FROM finish();
ROLLBACK;
