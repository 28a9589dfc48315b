-- Fan-in dependencies (spec 13.4): a child cannot run before its parents reach
-- their required status (a_command_runs_after_its_dependencies_are_met); a
-- parent that can no longer reach it settles the child -- cancelled when the
-- edge propagates cancellation, else failed with dependency_failed --
-- transitively, in the same transaction. A failed parent settles its children
-- too (it could only be retried, which dependents do not wait for).
BEGIN;
SELECT plan(22);

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
-- dependencies_satisfied and the start guard
-- ---------------------------------------------------------------------------
SELECT concord_test.command_at('t_dep', 'running', 'p') IS NOT NULL AS fixture \gset
SELECT concord_test.command_at('t_dep', 'queued', 'q') IS NOT NULL AS fixture \gset
SELECT concord_test.command_at('t_dep', 'queued', 'kid') IS NOT NULL AS fixture \gset

SELECT ok(
    concord.dependencies_satisfied(concord_test.id('kid')),
    'dependencies_satisfied is true for a command without parents'
);

SELECT lives_ok($$SELECT pg_temp.depend('kid', 'p'), pg_temp.depend('kid', 'q')$$,
                'fixture: kid depends on p and q');

SELECT ok(
    NOT concord.dependencies_satisfied(concord_test.id('kid')),
    'dependencies_satisfied is false while a parent has not succeeded'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord_test.move_as_run(%L, 'running', 'worker')$$, concord_test.id('kid')),
    'CN001', 'a_command_runs_after_its_dependencies_are_met',
    'CN001: a child cannot go running while a parent is unmet (transition_command)'
);

SELECT throws_ok(
    format($$UPDATE concord.commands SET status = 'running' WHERE command_id = %L$$, concord_test.id('kid')),
    'CN001', NULL,
    'CN001: a child cannot go running while a parent is unmet (direct UPDATE by the owner)'
);

SELECT concord_test.move_as_run(concord_test.id('p'), 'succeeded', 'worker') AS fixture \gset

SELECT ok(
    NOT concord.dependencies_satisfied(concord_test.id('kid')),
    'dependencies_satisfied stays false while any one parent is unmet (fan-in)'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord_test.move_as_run(%L, 'running', 'worker')$$, concord_test.id('kid')),
    'CN001', 'a_command_runs_after_its_dependencies_are_met',
    'CN001: one met parent out of two does not let the child run'
);

SELECT concord_test.move_as_run(concord_test.id('q'), 'running', 'worker') AS fixture \gset
SELECT concord_test.move_as_run(concord_test.id('q'), 'succeeded', 'worker') AS fixture \gset

SELECT ok(
    concord.dependencies_satisfied(concord_test.id('kid')),
    'dependencies_satisfied is true once every parent succeeded'
);

SELECT is(
    concord_test.move_as_run(concord_test.id('kid'), 'running', 'worker'),
    'running',
    'the child runs once its dependencies are met'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.dependencies_satisfied('00000000-0000-0000-0000-000000000000')$$,
    'CN006', 'the_command_exists',
    'CN006: dependencies_satisfied of an unknown command'
);

-- ---------------------------------------------------------------------------
-- Settling dependents, transitively, in one transaction
-- ---------------------------------------------------------------------------
-- x1 <- x2 <- x3, every edge propagates cancellation.
SELECT bool_and(concord_test.command_at('t_dep', 'queued', x) IS NOT NULL) AS fixture
FROM unnest(ARRAY['x1', 'x2', 'x3']) AS x \gset
SELECT pg_temp.depend('x2', 'x1') AND pg_temp.depend('x3', 'x2') AS fixture \gset

SELECT is(
    concord.cancel_command(concord_test.id('x1'), 'operator', 'not needed'),
    'cancelled',
    'fixture: the head of a propagating chain of 3 is cancelled'
);

SELECT is(
    ARRAY[concord_test.status('x2'), concord_test.status('x3')],
    ARRAY['cancelled', 'cancelled'],
    'cancellation propagates transitively down a chain of 3 (propagate_cancellation true)'
);

SELECT ok(
    (SELECT bool_and(c.xmin = pg_current_xact_id()::xid) FROM concord.commands AS c
     WHERE c.command_id IN (concord_test.id('x1'), concord_test.id('x2'), concord_test.id('x3')))
    AND (SELECT bool_and(e.xmin = pg_current_xact_id()::xid) FROM concord.domain_events AS e
         WHERE e.command_id IN (concord_test.id('x2'), concord_test.id('x3')) AND e.to_status = 'cancelled'),
    'the whole chain settles, with its audit rows, in the transaction that cancelled the head'
);

SELECT matches(
    (SELECT e.reason FROM concord.domain_events AS e
     WHERE e.command_id = concord_test.id('x3') AND e.to_status = 'cancelled'),
    concord_test.id('x2')::text,
    'the settled child''s audit reason names the parent that settled it'
);

-- y1 <- y2 <- y3, no edge propagates cancellation.
SELECT bool_and(concord_test.command_at('t_dep', 'queued', x) IS NOT NULL) AS fixture
FROM unnest(ARRAY['y1', 'y2', 'y3']) AS x \gset
SELECT pg_temp.depend('y2', 'y1', false) AND pg_temp.depend('y3', 'y2', false) AS fixture \gset
SELECT concord.cancel_command(concord_test.id('y1'), 'operator') AS fixture \gset

SELECT is(
    (SELECT array_agg(c.status || '/' || c.error_class ORDER BY f.label)
     FROM concord_test.fixture AS f INNER JOIN concord.commands AS c ON c.command_id = f.id
     WHERE f.label IN ('y2', 'y3')),
    ARRAY['failed/dependency_failed', 'failed/dependency_failed'],
    'without propagation the chain of 3 fails with error_class dependency_failed, transitively'
);

SELECT is(
    (SELECT (c.error_detail ->> 'parent_command_id')::uuid FROM concord.commands AS c
     WHERE c.command_id = concord_test.id('y3')),
    concord_test.id('y2'),
    'dependency_failed names the parent in error_detail'
);

-- A failed parent settles its children; retrying it does not revive them.
SELECT concord_test.command_at('t_dep', 'running', 'f_parent') IS NOT NULL AS fixture \gset
SELECT concord_test.command_at('t_dep', 'queued', 'f_child_cancel') IS NOT NULL AS fixture \gset
SELECT concord_test.command_at('t_dep', 'queued', 'f_child_fail') IS NOT NULL AS fixture \gset
SELECT concord_test.command_at('t_dep', 'validated', 'f_grandchild') IS NOT NULL AS fixture \gset
SELECT pg_temp.depend('f_child_cancel', 'f_parent')
       AND pg_temp.depend('f_child_fail', 'f_parent', false)
       AND pg_temp.depend('f_grandchild', 'f_child_fail') AS fixture \gset

SELECT is(
    concord_test.move_as_run(concord_test.id('f_parent'), 'failed', 'worker', error_class => 'transient_connector_error'),
    'failed',
    'fixture: the parent fails'
);

SELECT row_eq(
    $$SELECT concord_test.status('f_child_cancel'), concord_test.status('f_child_fail'),
             (SELECT error_class FROM concord.commands WHERE command_id = concord_test.id('f_child_fail')),
             concord_test.status('f_grandchild')$$,
    ROW('cancelled'::text, 'failed'::text, 'dependency_failed'::text, 'cancelled'::text),
    'a failed parent settles its children (cancelled / failed dependency_failed) and their children'
);

SELECT is(
    concord.transition_command(concord_test.id('f_parent'), 'queued', 'worker', 'retry'),
    'queued',
    'the failed parent can be retried (failed -> queued)'
);

SELECT is(
    ARRAY[concord_test.status('f_child_cancel'), concord_test.status('f_child_fail')],
    ARRAY['cancelled', 'failed'],
    'retrying the parent does not revive its settled children'
);

-- A child with no edge to failed is cancelled, still marked dependency_failed.
SELECT concord_test.command_at('t_dep', 'queued', 'w_parent') IS NOT NULL AS fixture \gset
SELECT concord_test.command_at('t_dep', 'waiting_for_input', 'w_child') IS NOT NULL AS fixture \gset
SELECT pg_temp.depend('w_child', 'w_parent', false) AS fixture \gset
SELECT concord.cancel_command(concord_test.id('w_parent'), 'operator') AS fixture \gset

SELECT row_eq(
    $$SELECT status, error_class FROM concord.commands WHERE command_id = concord_test.id('w_child')$$,
    ROW('cancelled'::text, 'dependency_failed'::text),
    'a non-propagating child that cannot fail (waiting_for_input) is cancelled, marked dependency_failed'
);

-- A succeeded parent settles nothing.
SELECT concord_test.command_at('t_dep', 'running', 's_parent') IS NOT NULL AS fixture \gset
SELECT concord_test.command_at('t_dep', 'queued', 's_child') IS NOT NULL AS fixture \gset
SELECT pg_temp.depend('s_child', 's_parent') AS fixture \gset
SELECT concord_test.move_as_run(concord_test.id('s_parent'), 'succeeded', 'worker') AS fixture \gset

SELECT is(
    concord_test.status('s_child'),
    'queued',
    'a parent that succeeds leaves its dependent waiting, now runnable'
);

SELECT * FROM finish();
ROLLBACK;
