-- Fan-in dependencies (spec 13.4): no self-edge, no cycle of any length; a
-- child cannot run before its parents reach their required status; a parent
-- that can no longer reach it settles the child -- cancelled when the edge
-- propagates cancellation, else failed with dependency_failed -- transitively,
-- in the same transaction. A failed parent settles its children too (it could
-- only be retried, which dependents do not wait for).
BEGIN;
SELECT plan(40);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_dep", "sync_allowed": true}');
END $$;

CREATE TEMP TABLE fixture (label text PRIMARY KEY, id uuid);

-- A command walked to status target, remembered as label.
CREATE FUNCTION pg_temp.command_at(label text, target text DEFAULT 'queued')
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    id uuid;
    step text;
    path text[] := CASE target
        WHEN 'created' THEN '{}'
        WHEN 'validated' THEN '{validated}'
        WHEN 'waiting_for_input' THEN '{validated,waiting_for_input}'
        WHEN 'approved' THEN '{validated,waiting_for_approval,approved}'
        WHEN 'queued' THEN '{validated,queued}'
        WHEN 'running' THEN '{validated,running}'
        WHEN 'blocked' THEN '{validated,running,blocked}'
        WHEN 'succeeded' THEN '{validated,running,succeeded}'
        WHEN 'failed' THEN '{validated,running,failed}'
        WHEN 'cancelled' THEN '{cancelled}'
    END;
BEGIN
    INSERT INTO concord.commands (command_type, requested_by, ingress)
    VALUES ('t_dep', 'fixture', 'test')
    RETURNING command_id INTO id;
    FOREACH step IN ARRAY path LOOP
        PERFORM concord.transition_command(id, step, 'fixture');
    END LOOP;
    INSERT INTO fixture VALUES (label, id);
    RETURN id;
END
$$;

CREATE FUNCTION pg_temp.id(label text)
RETURNS uuid
LANGUAGE sql
AS $$ SELECT f.id FROM fixture AS f WHERE f.label = id.label $$;

CREATE FUNCTION pg_temp.status(label text)
RETURNS text
LANGUAGE sql
AS $$ SELECT c.status FROM concord.commands AS c WHERE c.command_id = pg_temp.id(status.label) $$;

CREATE FUNCTION pg_temp.depend(child text, parent text, propagate boolean DEFAULT true)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM concord.add_dependency(pg_temp.id(child), pg_temp.id(parent), 'succeeded', propagate);
    RETURN true;
END
$$;

-- ---------------------------------------------------------------------------
-- No self-edges, no cycles
-- ---------------------------------------------------------------------------
SELECT bool_and(pg_temp.command_at(x) IS NOT NULL) AS fixture FROM unnest(ARRAY['a', 'b', 'c', 'd']) AS x \gset

SELECT throws_ok(
    format($$SELECT concord.add_dependency(%1$L, %1$L)$$, pg_temp.id('a')),
    'CN003', NULL,
    'CN003: a command cannot depend on itself (add_dependency)'
);

SELECT throws_ok(
    format($$INSERT INTO concord.command_dependencies (child_command_id, parent_command_id)
             VALUES (%1$L, %1$L)$$, pg_temp.id('a')),
    'CN003', NULL,
    'CN003: a self-edge inserted directly by the owner is refused too'
);

SELECT lives_ok(
    $$SELECT pg_temp.depend('a', 'b')$$,
    'fixture: a depends on b'
);

SELECT throws_ok(
    format($$SELECT concord.add_dependency(%L, %L)$$, pg_temp.id('b'), pg_temp.id('a')),
    'CN003', NULL,
    'CN003: a cycle of length 2 (b -> a while a -> b)'
);

SELECT lives_ok(
    $$SELECT pg_temp.depend('b', 'c')$$,
    'fixture: b depends on c (chain a -> b -> c)'
);

SELECT throws_ok(
    format($$SELECT concord.add_dependency(%L, %L)$$, pg_temp.id('c'), pg_temp.id('a')),
    'CN003', NULL,
    'CN003: a cycle of length 3 (c -> a while a -> b -> c)'
);

SELECT throws_ok(
    format($$INSERT INTO concord.command_dependencies (child_command_id, parent_command_id)
             VALUES (%L, %L)$$, pg_temp.id('c'), pg_temp.id('a')),
    'CN003', NULL,
    'CN003: the same length-3 cycle inserted directly by the owner'
);

SELECT lives_ok(
    $$SELECT pg_temp.depend('a', 'c'), pg_temp.depend('d', 'b'), pg_temp.depend('d', 'c')$$,
    'shared ancestors without a cycle (a -> c, d -> b, d -> c) are accepted'
);

SELECT is(
    (SELECT count(*) FROM concord.command_dependencies
     WHERE child_command_id IN (pg_temp.id('a'), pg_temp.id('b'), pg_temp.id('c'), pg_temp.id('d'))),
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
     WHERE child_command_id = pg_temp.id('a') AND parent_command_id = pg_temp.id('b')),
    1::bigint,
    'the repeated edge is stored once'
);

SELECT throws_ok(
    format($$SELECT concord.add_dependency(%L, %L, 'succeeded', false)$$, pg_temp.id('a'), pg_temp.id('b')),
    'CN011', NULL,
    'CN011: redefining an existing dependency (other propagate_cancellation)'
);

SELECT throws_ok(
    format($$SELECT concord.add_dependency(%L, %L, 'running')$$, pg_temp.id('a'), pg_temp.id('b')),
    'CN011', NULL,
    'CN011: redefining an existing dependency (other required_status)'
);

SELECT pg_temp.command_at('started', 'running') IS NOT NULL AS fixture \gset
SELECT pg_temp.command_at('gone', 'cancelled') IS NOT NULL AS fixture \gset
SELECT pg_temp.command_at('broke', 'failed') IS NOT NULL AS fixture \gset

SELECT throws_ok(
    format($$SELECT concord.add_dependency(%L, %L)$$, pg_temp.id('started'), pg_temp.id('d')),
    'CN011', NULL,
    'CN011: a command that already started cannot get a dependency'
);

SELECT throws_ok(
    format($$SELECT concord.add_dependency(%L, %L)$$, pg_temp.id('d'), pg_temp.id('gone')),
    'CN011', NULL,
    'CN011: depending on a cancelled parent that can never succeed'
);

SELECT throws_ok(
    format($$SELECT concord.add_dependency(%L, %L)$$, pg_temp.id('d'), pg_temp.id('broke')),
    'CN011', NULL,
    'CN011: depending on a failed parent (only a retry could make it succeed)'
);

SELECT throws_ok(
    format($$SELECT concord.add_dependency(%L, %L, 'no_such_status')$$, pg_temp.id('d'), pg_temp.id('a')),
    'CN008', NULL,
    'CN008: add_dependency with an unknown required_status'
);

SELECT throws_ok(
    format($$SELECT concord.add_dependency(%L, '00000000-0000-0000-0000-000000000000')$$, pg_temp.id('d')),
    'CN006', NULL,
    'CN006: add_dependency on an unknown parent'
);

-- ---------------------------------------------------------------------------
-- dependencies_satisfied and the start guard
-- ---------------------------------------------------------------------------
SELECT pg_temp.command_at('p', 'running') IS NOT NULL AS fixture \gset
SELECT pg_temp.command_at('q', 'queued') IS NOT NULL AS fixture \gset
SELECT pg_temp.command_at('kid', 'queued') IS NOT NULL AS fixture \gset

SELECT ok(
    concord.dependencies_satisfied(pg_temp.id('kid')),
    'dependencies_satisfied is true for a command without parents'
);

SELECT lives_ok($$SELECT pg_temp.depend('kid', 'p'), pg_temp.depend('kid', 'q')$$,
                'fixture: kid depends on p and q');

SELECT ok(
    NOT concord.dependencies_satisfied(pg_temp.id('kid')),
    'dependencies_satisfied is false while a parent has not succeeded'
);

SELECT throws_ok(
    format($$SELECT concord.transition_command(%L, 'running', 'worker')$$, pg_temp.id('kid')),
    'CN001', NULL,
    'CN001: a child cannot go running while a parent is unmet (transition_command)'
);

SELECT throws_ok(
    format($$UPDATE concord.commands SET status = 'running' WHERE command_id = %L$$, pg_temp.id('kid')),
    'CN001', NULL,
    'CN001: a child cannot go running while a parent is unmet (direct UPDATE by the owner)'
);

SELECT concord.transition_command(pg_temp.id('p'), 'succeeded', 'worker') AS fixture \gset

SELECT ok(
    NOT concord.dependencies_satisfied(pg_temp.id('kid')),
    'dependencies_satisfied stays false while any one parent is unmet (fan-in)'
);

SELECT throws_ok(
    format($$SELECT concord.transition_command(%L, 'running', 'worker')$$, pg_temp.id('kid')),
    'CN001', NULL,
    'CN001: one met parent out of two does not let the child run'
);

SELECT concord.transition_command(pg_temp.id('q'), 'running', 'worker') AS fixture \gset
SELECT concord.transition_command(pg_temp.id('q'), 'succeeded', 'worker') AS fixture \gset

SELECT ok(
    concord.dependencies_satisfied(pg_temp.id('kid')),
    'dependencies_satisfied is true once every parent succeeded'
);

SELECT is(
    concord.transition_command(pg_temp.id('kid'), 'running', 'worker'),
    'running',
    'the child runs once its dependencies are met'
);

SELECT throws_ok(
    $$SELECT concord.dependencies_satisfied('00000000-0000-0000-0000-000000000000')$$,
    'CN006', NULL,
    'CN006: dependencies_satisfied of an unknown command'
);

-- ---------------------------------------------------------------------------
-- Settling dependents, transitively, in one transaction
-- ---------------------------------------------------------------------------
-- x1 <- x2 <- x3, every edge propagates cancellation.
SELECT bool_and(pg_temp.command_at(x) IS NOT NULL) AS fixture FROM unnest(ARRAY['x1', 'x2', 'x3']) AS x \gset
SELECT pg_temp.depend('x2', 'x1') AND pg_temp.depend('x3', 'x2') AS fixture \gset

SELECT is(
    concord.cancel_command(pg_temp.id('x1'), 'operator', 'not needed'),
    'cancelled',
    'fixture: the head of a propagating chain of 3 is cancelled'
);

SELECT is(
    ARRAY[pg_temp.status('x2'), pg_temp.status('x3')],
    ARRAY['cancelled', 'cancelled'],
    'cancellation propagates transitively down a chain of 3 (propagate_cancellation true)'
);

SELECT ok(
    (SELECT bool_and(c.xmin = pg_current_xact_id()::xid) FROM concord.commands AS c
     WHERE c.command_id IN (pg_temp.id('x1'), pg_temp.id('x2'), pg_temp.id('x3')))
    AND (SELECT bool_and(e.xmin = pg_current_xact_id()::xid) FROM concord.domain_events AS e
         WHERE e.command_id IN (pg_temp.id('x2'), pg_temp.id('x3')) AND e.to_status = 'cancelled'),
    'the whole chain settles, with its audit rows, in the transaction that cancelled the head'
);

SELECT matches(
    (SELECT e.reason FROM concord.domain_events AS e
     WHERE e.command_id = pg_temp.id('x3') AND e.to_status = 'cancelled'),
    pg_temp.id('x2')::text,
    'the settled child''s audit reason names the parent that settled it'
);

-- y1 <- y2 <- y3, no edge propagates cancellation.
SELECT bool_and(pg_temp.command_at(x) IS NOT NULL) AS fixture FROM unnest(ARRAY['y1', 'y2', 'y3']) AS x \gset
SELECT pg_temp.depend('y2', 'y1', false) AND pg_temp.depend('y3', 'y2', false) AS fixture \gset
SELECT concord.cancel_command(pg_temp.id('y1'), 'operator') AS fixture \gset

SELECT is(
    (SELECT array_agg(c.status || '/' || c.error_class ORDER BY f.label)
     FROM fixture AS f INNER JOIN concord.commands AS c ON c.command_id = f.id
     WHERE f.label IN ('y2', 'y3')),
    ARRAY['failed/dependency_failed', 'failed/dependency_failed'],
    'without propagation the chain of 3 fails with error_class dependency_failed, transitively'
);

SELECT is(
    (SELECT (c.error_detail ->> 'parent_command_id')::uuid FROM concord.commands AS c
     WHERE c.command_id = pg_temp.id('y3')),
    pg_temp.id('y2'),
    'dependency_failed names the parent in error_detail'
);

-- A failed parent settles its children; retrying it does not revive them.
SELECT pg_temp.command_at('f_parent', 'running') IS NOT NULL AS fixture \gset
SELECT pg_temp.command_at('f_child_cancel', 'queued') IS NOT NULL AS fixture \gset
SELECT pg_temp.command_at('f_child_fail', 'queued') IS NOT NULL AS fixture \gset
SELECT pg_temp.command_at('f_grandchild', 'validated') IS NOT NULL AS fixture \gset
SELECT pg_temp.depend('f_child_cancel', 'f_parent')
       AND pg_temp.depend('f_child_fail', 'f_parent', false)
       AND pg_temp.depend('f_grandchild', 'f_child_fail') AS fixture \gset

SELECT is(
    concord.transition_command(pg_temp.id('f_parent'), 'failed', 'worker', error_class => 'boom'),
    'failed',
    'fixture: the parent fails'
);

SELECT row_eq(
    $$SELECT pg_temp.status('f_child_cancel'), pg_temp.status('f_child_fail'),
             (SELECT error_class FROM concord.commands WHERE command_id = pg_temp.id('f_child_fail')),
             pg_temp.status('f_grandchild')$$,
    ROW('cancelled'::text, 'failed'::text, 'dependency_failed'::text, 'cancelled'::text),
    'a failed parent settles its children (cancelled / failed dependency_failed) and their children'
);

SELECT is(
    concord.transition_command(pg_temp.id('f_parent'), 'queued', 'worker', 'retry'),
    'queued',
    'the failed parent can be retried (failed -> queued)'
);

SELECT is(
    ARRAY[pg_temp.status('f_child_cancel'), pg_temp.status('f_child_fail')],
    ARRAY['cancelled', 'failed'],
    'retrying the parent does not revive its settled children'
);

-- A child with no edge to failed is cancelled, still marked dependency_failed.
SELECT pg_temp.command_at('w_parent', 'queued') IS NOT NULL AS fixture \gset
SELECT pg_temp.command_at('w_child', 'waiting_for_input') IS NOT NULL AS fixture \gset
SELECT pg_temp.depend('w_child', 'w_parent', false) AS fixture \gset
SELECT concord.cancel_command(pg_temp.id('w_parent'), 'operator') AS fixture \gset

SELECT row_eq(
    $$SELECT status, error_class FROM concord.commands WHERE command_id = pg_temp.id('w_child')$$,
    ROW('cancelled'::text, 'dependency_failed'::text),
    'a non-propagating child that cannot fail (waiting_for_input) is cancelled, marked dependency_failed'
);

-- A succeeded parent settles nothing.
SELECT pg_temp.command_at('s_parent', 'running') IS NOT NULL AS fixture \gset
SELECT pg_temp.command_at('s_child', 'queued') IS NOT NULL AS fixture \gset
SELECT pg_temp.depend('s_child', 's_parent') AS fixture \gset
SELECT concord.transition_command(pg_temp.id('s_parent'), 'succeeded', 'worker') AS fixture \gset

SELECT is(
    pg_temp.status('s_child'),
    'queued',
    'a parent that succeeds leaves its dependent waiting, now runnable'
);

SELECT * FROM finish();
ROLLBACK;
