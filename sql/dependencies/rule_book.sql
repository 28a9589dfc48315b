-- The rules of the dependencies domain: each rule its code raises (CONSTRAINT = ...)
-- with its table, SQLSTATE and one sentence of meaning. concord.rules lists
-- them (sql/support/rules.sql).
CREATE OR REPLACE FUNCTION concord._rule_book_dependencies()
RETURNS TABLE (rule text, table_name text, sqlstate text, meaning text)
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    VALUES
        ('propagate_cancellation_is_true_or_false', null::text, 'CN008',
         'add_dependency is told whether a cancellation of the parent cancels the child: true or '
         'false, not NULL.'),
        ('a_repeated_dependency_matches_the_first', null, 'CN011',
         'Adding a dependency that exists again is a replay only with the same required status and '
         'propagation; a dependency never changes.'),
        ('dependency_graph_has_no_cycle', 'command_dependencies', 'CN003',
         'No command depends on itself, directly or through other commands, so no two commands '
         'wait for each other forever.'),
        ('the_command_exists', 'command_dependencies', 'CN006',
         'Both commands of a dependency exist.'),
        ('dependencies_are_added_before_the_child_runs', 'command_dependencies', 'CN011',
         'A dependency is added only while its child has not started running.'),
        ('a_parent_can_still_reach_the_required_status', 'command_dependencies', 'CN011',
         'A dependency is added only on a parent that can still reach the required status, so it '
         'can be satisfied.'),
        ('dependencies_are_immutable', 'command_dependencies', 'CN007',
         'A dependency is never updated or deleted once added.'),
        ('dependencies_are_not_truncated', 'command_dependencies', 'CN007',
         'The dependencies are never truncated.'),
        ('dependency_graph_lock_only_counts_edges', 'dependency_graph_lock', 'CN007',
         'The single row that serialises new dependencies stays, and only its counter moves up; '
         'without it two racing edges could close a cycle.'),
        ('a_dependency_stays_in_its_project', 'command_dependencies', 'CN008',
         'A command waits only on commands of its own project.')
$$;
