-- The dependency_graph_lock row serialises new dependencies: it stays, and
-- only its counter moves up (dependency_graph_lock_only_counts_edges); without
-- it two racing edges could close a cycle.
BEGIN;
SELECT plan(7);

\ir ../lib/kernel_fixtures.sql

-- ===========================================================================
-- 7. The dependency_graph_lock row stays, and only its counter moves up
-- ===========================================================================
SELECT edges_added AS edges_before FROM concord.dependency_graph_lock \gset

SELECT concord_test.throws_rule(
    $$DELETE FROM concord.dependency_graph_lock$$,
    'CN007', 'dependency_graph_lock_only_counts_edges',
    'CN007: the dependency_graph_lock row cannot be deleted'
);

SELECT concord_test.throws_rule(
    $$INSERT INTO concord.dependency_graph_lock (singleton, edges_added) VALUES (true, 0)$$,
    'CN007', 'dependency_graph_lock_only_counts_edges',
    'CN007: no row can be inserted into dependency_graph_lock'
);

SELECT concord_test.throws_rule(
    $$TRUNCATE concord.dependency_graph_lock$$,
    'CN007', 'dependency_graph_lock_only_counts_edges',
    'CN007: dependency_graph_lock cannot be truncated'
);

SELECT concord_test.throws_rule(
    $$UPDATE concord.dependency_graph_lock SET edges_added = edges_added$$,
    'CN007', 'dependency_graph_lock_only_counts_edges',
    'CN007: an UPDATE of dependency_graph_lock that does not increase edges_added is refused (same value)'
);

SELECT throws_ok(
    $$UPDATE concord.dependency_graph_lock SET edges_added = edges_added - 1$$,
    'CN007', NULL,
    'CN007: an UPDATE of dependency_graph_lock that does not increase edges_added is refused (decrease)'
);

SELECT concord_test.command_at('t_hard', 'queued', 'lock_parent') IS NOT NULL
   AND concord_test.command_at('t_hard', 'queued', 'lock_child') IS NOT NULL AS fixture \gset

SELECT lives_ok(
    format($$SELECT concord.add_dependency(%L, %L)$$, concord_test.id('lock_child'), concord_test.id('lock_parent')),
    'add_dependency still works under the guard'
);

SELECT row_eq(
    $$SELECT count(*), sum(edges_added) FROM concord.dependency_graph_lock$$,
    ROW(1::bigint, (:edges_before + 1)::numeric),
    'the lock is still one row, and the new dependency moved its counter up by one'
);

SELECT * FROM finish();
ROLLBACK;
