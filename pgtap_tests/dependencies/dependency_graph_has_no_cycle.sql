-- Fan-in dependencies (spec 13.4): no command depends on itself, directly or
-- through a cycle of any length (dependency_graph_has_no_cycle); adding the same
-- edge again is a no-op, a redefined edge is refused
-- (a_repeated_dependency_matches_the_first), and so is an edge that could never
-- be satisfied (a_parent_can_still_reach_the_required_status,
-- dependencies_are_added_before_the_child_runs).
BEGIN;
SELECT plan(18);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_dep", "sync_allowed": true}');
END $$;

CREATE FUNCTION pg_temp.depend(child text, parent text, propagate boolean DEFAULT true)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM concord.add_dependency(concord_test.id(child), concord_test.id(parent), 'succeeded', propagate);
    RETURN true;
END
$$;

-- ---------------------------------------------------------------------------
-- No self-edges, no cycles
-- ---------------------------------------------------------------------------
SELECT bool_and(concord_test.command_at('t_dep', 'queued', x) IS NOT NULL) AS fixture
FROM unnest(ARRAY['a', 'b', 'c', 'd']) AS x \gset

SELECT concord_test.throws_rule(
    format($$SELECT concord.add_dependency(%1$L, %1$L)$$, concord_test.id('a')),
    'CN003', 'dependency_graph_has_no_cycle',
    'CN003: a command cannot depend on itself (add_dependency)'
);

SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.command_dependencies (child_command_id, parent_command_id)
             VALUES (%1$L, %1$L)$$, concord_test.id('a')),
    'CN003', 'dependency_graph_has_no_cycle',
    'CN003: a self-edge inserted directly by the owner is refused too'
);

SELECT lives_ok(
    $$SELECT pg_temp.depend('a', 'b')$$,
    'fixture: a depends on b'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.add_dependency(%L, %L)$$, concord_test.id('b'), concord_test.id('a')),
    'CN003', 'dependency_graph_has_no_cycle',
    'CN003: a cycle of length 2 (b -> a while a -> b)'
);

SELECT lives_ok(
    $$SELECT pg_temp.depend('b', 'c')$$,
    'fixture: b depends on c (chain a -> b -> c)'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.add_dependency(%L, %L)$$, concord_test.id('c'), concord_test.id('a')),
    'CN003', 'dependency_graph_has_no_cycle',
    'CN003: a cycle of length 3 (c -> a while a -> b -> c)'
);

SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.command_dependencies (child_command_id, parent_command_id)
             VALUES (%L, %L)$$, concord_test.id('c'), concord_test.id('a')),
    'CN003', 'dependency_graph_has_no_cycle',
    'CN003: the same length-3 cycle inserted directly by the owner'
);

SELECT lives_ok(
    $$SELECT pg_temp.depend('a', 'c'), pg_temp.depend('d', 'b'), pg_temp.depend('d', 'c')$$,
    'shared ancestors without a cycle (a -> c, d -> b, d -> c) are accepted'
);

SELECT is(
    (SELECT count(*) FROM concord.command_dependencies
     WHERE child_command_id IN (concord_test.id('a'), concord_test.id('b'), concord_test.id('c'),
                                concord_test.id('d'))),
    5::bigint,
    'only the five acyclic edges were stored'
);

-- ---------------------------------------------------------------------------
-- Same edge, redefined edge, impossible edges
-- ---------------------------------------------------------------------------
SELECT lives_ok(
    $$SELECT pg_temp.depend('a', 'b')$$,
    'adding the same edge again is a no-op'
);

SELECT is(
    (SELECT count(*) FROM concord.command_dependencies
     WHERE child_command_id = concord_test.id('a') AND parent_command_id = concord_test.id('b')),
    1::bigint,
    'the repeated edge is stored once'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.add_dependency(%L, %L, 'succeeded', false)$$,
           concord_test.id('a'), concord_test.id('b')),
    'CN011', 'a_repeated_dependency_matches_the_first',
    'CN011: redefining an existing dependency (other propagate_cancellation)'
);

SELECT throws_ok(
    format($$SELECT concord.add_dependency(%L, %L, 'running')$$, concord_test.id('a'), concord_test.id('b')),
    'CN011', NULL,
    'CN011: redefining an existing dependency (other required_status)'
);

SELECT concord_test.command_at('t_dep', 'running', 'started') IS NOT NULL AS fixture \gset
SELECT concord_test.command_at('t_dep', 'cancelled', 'gone') IS NOT NULL AS fixture \gset
SELECT concord_test.command_at('t_dep', 'failed', 'broke') IS NOT NULL AS fixture \gset

SELECT concord_test.throws_rule(
    format($$SELECT concord.add_dependency(%L, %L)$$, concord_test.id('started'), concord_test.id('d')),
    'CN011', 'dependencies_are_added_before_the_child_runs',
    'CN011: a command that already started cannot get a dependency'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.add_dependency(%L, %L)$$, concord_test.id('d'), concord_test.id('gone')),
    'CN011', 'a_parent_can_still_reach_the_required_status',
    'CN011: depending on a cancelled parent that can never succeed'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.add_dependency(%L, %L)$$, concord_test.id('d'), concord_test.id('broke')),
    'CN011', 'a_parent_can_still_reach_the_required_status',
    'CN011: depending on a failed parent (only a retry could make it succeed)'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.add_dependency(%L, %L, 'no_such_status')$$,
           concord_test.id('d'), concord_test.id('a')),
    'CN008', 'command_status_is_known',
    'CN008: add_dependency with an unknown required_status'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.add_dependency(%L, '00000000-0000-0000-0000-000000000000')$$, concord_test.id('d')),
    'CN006', 'the_command_exists',
    'CN006: add_dependency on an unknown parent'
);

SELECT * FROM finish();
ROLLBACK;
