-- Settling dependents (spec 13.4) walks a worklist: chains of 300 commands and
-- diamonds settle in one statement, cancelled or failed as their edges say.
BEGIN;
SELECT plan(10);

\ir ../lib/kernel_fixtures.sql

-- ===========================================================================
-- 3. Dependency cascades walk a worklist: chains of 300 settle in one go
-- ===========================================================================
CREATE TEMP TABLE chains (name text PRIMARY KEY, ids uuid[]);
INSERT INTO chains VALUES
('fail_propagate', pg_temp.chain(300, true)),
('fail_keep', pg_temp.chain(300, false)),
('cancel_propagate', pg_temp.chain(300, true)),
('cancel_keep', pg_temp.chain(300, false));

SELECT lives_ok(
    $$SELECT concord_test.move_as_run(ids[1], 'failed', 'worker', 'boom') FROM chains
      WHERE name = 'fail_propagate'$$,
    'transition_command(c0, failed) succeeds at the head of a 300-command chain (propagate)'
);

SELECT results_eq(
    $$SELECT d.* FROM chains, pg_temp.descendants(ids) AS d WHERE name = 'fail_propagate'$$,
    $$VALUES ('cancelled'::text, NULL::text, 299::bigint)$$,
    'a failed head cancels all 299 descendants of a propagating chain'
);

SELECT lives_ok(
    $$SELECT concord_test.move_as_run(ids[1], 'failed', 'worker', 'boom') FROM chains
      WHERE name = 'fail_keep'$$,
    'transition_command(c0, failed) succeeds at the head of a 300-command chain (no propagation)'
);

SELECT results_eq(
    $$SELECT d.* FROM chains, pg_temp.descendants(ids) AS d WHERE name = 'fail_keep'$$,
    $$VALUES ('failed'::text, 'dependency_failed'::text, 299::bigint)$$,
    'a failed head fails all 299 descendants of a non-propagating chain with dependency_failed'
);

SELECT lives_ok(
    $$SELECT concord.cancel_command(ids[1], 'operator', 'stop') FROM chains WHERE name = 'cancel_propagate'$$,
    'cancel_command(c0) succeeds at the head of a 300-command chain (propagate)'
);

SELECT results_eq(
    $$SELECT d.* FROM chains, pg_temp.descendants(ids) AS d WHERE name = 'cancel_propagate'$$,
    $$VALUES ('cancelled'::text, NULL::text, 299::bigint)$$,
    'a cancelled head cancels all 299 descendants of a propagating chain'
);

SELECT lives_ok(
    $$SELECT concord.cancel_command(ids[1], 'operator', 'stop') FROM chains WHERE name = 'cancel_keep'$$,
    'cancel_command(c0) succeeds at the head of a 300-command chain (no propagation)'
);

SELECT results_eq(
    $$SELECT d.* FROM chains, pg_temp.descendants(ids) AS d WHERE name = 'cancel_keep'$$,
    $$VALUES ('failed'::text, 'dependency_failed'::text, 299::bigint)$$,
    'a cancelled head fails all 299 descendants of a non-propagating chain with dependency_failed'
);

-- Diamond: B -> A, C -> A, D -> B, D -> C, none propagating.
SELECT concord_test.command_at('t_hard', 'running', 'diamond_a') IS NOT NULL
   AND concord_test.command_at('t_hard', 'queued', 'diamond_b') IS NOT NULL
   AND concord_test.command_at('t_hard', 'queued', 'diamond_c') IS NOT NULL
   AND concord_test.command_at('t_hard', 'queued', 'diamond_d') IS NOT NULL AS fixture \gset
SELECT bool_and(concord.add_dependency(concord_test.id(x.child), concord_test.id(x.parent), 'succeeded', false)
                IS NULL) AS fixture
FROM (VALUES ('diamond_b', 'diamond_a'), ('diamond_c', 'diamond_a'),
             ('diamond_d', 'diamond_b'), ('diamond_d', 'diamond_c')) AS x (child, parent) \gset
SELECT concord_test.move_as_run(concord_test.id('diamond_a'), 'failed', 'worker', 'boom') AS fixture \gset

SELECT row_eq(
    $$SELECT status, error_class FROM concord.commands WHERE command_id = concord_test.id('diamond_d')$$,
    ROW('failed'::text, 'dependency_failed'::text),
    'diamond without propagation: D, reached through B and C, ends failed / dependency_failed, not cancelled'
);

SELECT is(
    (SELECT array_agg(e.from_status || '>' || e.to_status ORDER BY e.event_seq)
     FROM concord.domain_events AS e
     WHERE e.command_id = concord_test.id('diamond_d') AND e.event_type = 'command_status_changed'),
    ARRAY['created>validated', 'validated>queued', 'queued>failed'],
    'diamond without propagation: D is settled once (one status change after queued)'
);

SELECT * FROM finish();
ROLLBACK;
