-- The dependency tables' own constraints, each attacked by name: no row of
-- command_dependencies has a command depend on itself, dependency_graph_lock
-- holds only its singleton row (both with the guard triggers bypassed, so the
-- constraint itself is what refuses), and add_dependency is told whether a
-- cancellation propagates.
BEGIN;
SELECT plan(3);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_dep_rows", "sync_allowed": true}');
END $$;
SELECT concord_test.submit('a', 't_dep_rows') IS NOT NULL AND concord_test.submit('b', 't_dep_rows') IS NOT NULL
       AS fixture \gset

SELECT concord_test.throws_rule(
    format($$SELECT concord.add_dependency(%L, %L, 'succeeded', NULL)$$, concord_test.id('a'), concord_test.id('b')),
    'CN008', 'propagate_cancellation_is_true_or_false');

SET LOCAL session_replication_role = replica;
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.command_dependencies (child_command_id, parent_command_id) VALUES (%L, %1$L)$$,
           concord_test.id('a')),
    '23514', 'a_command_cannot_depend_on_itself');
SELECT concord_test.throws_rule(
    $$UPDATE concord.dependency_graph_lock SET singleton = false$$,
    '23514', 'only_one_row');
SET LOCAL session_replication_role = origin;

SELECT * FROM finish();
ROLLBACK;
