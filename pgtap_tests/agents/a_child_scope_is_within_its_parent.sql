-- A child agent's scopes are within its parent's and bound at spawn (spec
-- 59.4, 61.1, 61.2, 71.3), whoever writes, the table owner included (the raw
-- INSERTs and UPDATEs below run as the owner): allowed_tools,
-- allowed_connectors, allowed_child_roles and the memory scope are subsets of
-- the parent's (CN004), typed (CN004 for a memory scope, 23514 for
-- the lists), and immutable (CN007); a child is one
-- level below its parent, within max_depth (CN010), in its parent's swarm; a
-- swarm has one root, its coordinator.
BEGIN;
SELECT plan(63);

-- ===========================================================================
-- Fixtures and helpers
-- ===========================================================================

\ir ../lib/agent_fixtures.sql

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
    'CN004', 'an_agent_run_memory_scope_has_the_spec_61_shape', 'CN004: a memory scope missing max_results');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'memory_scope', quote_literal(pg_temp.ms() || '{"extra": 1}')),
    'CN004', 'an_agent_run_memory_scope_has_the_spec_61_shape', 'CN004: a memory scope with an unknown key');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'memory_scope', quote_literal(pg_temp.ms() || '{"max_results": 2.5}')),
    'CN004', 'an_agent_run_memory_scope_has_the_spec_61_shape', 'CN004: a fractional max_results');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'memory_scope', quote_literal(pg_temp.ms() || '{"max_results": "5"}')),
    'CN004', 'an_agent_run_memory_scope_has_the_spec_61_shape', 'CN004: max_results as a string');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'memory_scope',
                                      quote_literal(pg_temp.ms() || '{"allowed_memory_types": ["fact", 1]}')),
    'CN004', 'an_agent_run_memory_scope_has_the_spec_61_shape', 'CN004: a memory type that is not a string');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'memory_scope',
                                      quote_literal(pg_temp.ms() || '{"allow_semantic_retrieval": "yes"}')),
    'CN004', 'an_agent_run_memory_scope_has_the_spec_61_shape', 'CN004: allow_semantic_retrieval that is not a boolean');
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', 'memory_scope', $$'["user"]'$$),
    'CN004', 'an_agent_run_memory_scope_has_the_spec_61_shape', 'CN004: a memory scope that is an array');
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
