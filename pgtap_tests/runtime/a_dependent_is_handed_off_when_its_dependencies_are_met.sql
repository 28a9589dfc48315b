-- A dependent is handed off when its dependencies are met: a child queued
-- while one is unmet is released (or never bound), a new run is enqueued when
-- the parent succeeds, the old workflow is stale, a cancelled parent's queued
-- child has its workflow cancelled (spec 30-31).
BEGIN;
SELECT plan(21);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

-- ===========================================================================
-- 3. Dependencies: release and hand-off
-- ===========================================================================
SELECT is(concord_test.submit('p', 'rt_async') || concord_test.submit('c', 'rt_async'), 'queuedqueued',
          'fixture: parent p and child c, both queued and enqueued');

SELECT lives_ok(
    format($$SELECT concord.add_dependency(%L, %L)$$, concord_test.id('c'), concord_test.id('p')),
    'fixture: c now waits for p to succeed'
);

SELECT is(
    concord_test.claim('c') ->> 'action',
    'released',
    'runtime_claim by the child''s workflow while p is unfinished answers released'
);

SELECT row_eq(
    $$SELECT b.*, concord_test.status('c') FROM concord_test.binding('c') AS b$$,
    ROW(NULL::text, 1, 'concord_default'::text, 'queued'::text),
    'the release clears the workflow and keeps the run and queue; c stays queued'
);

SELECT row_eq(
    format($$SELECT target_id, actor, payload FROM concord.domain_events
             WHERE command_id = %L AND event_type = 'workflow_released'$$, concord_test.id('c')),
    ROW(concord_test.workflow_of('c'), 'worker:ex1'::text, jsonb_build_object('workflow_id', concord_test.workflow_of('c'), 'run', 1)),
    'the release is audited once: workflow_released by worker:<executor>'
);

SELECT is(
    concord_test.claim('c') ->> 'action',
    'stale',
    'the released workflow claiming again is stale'
);

SELECT is(
    (concord_test.claim('p') ->> 'action')
    || concord.runtime_finish(concord_test.id('p'), concord_test.workflow_of('p'), 'succeeded', '{"ok": true}'),
    'runsucceeded',
    'fixture: p is claimed and succeeds'
);

SELECT row_eq(
    $$SELECT * FROM concord_test.binding('c')$$,
    ROW(concord_test.workflow_of('c', 2), 2, 'concord_default'::text),
    'p''s success hands c off again: run 2, workflow <command id>/2'
);

SELECT results_eq(
    format($$SELECT workflow_uuid, status, queue_name FROM dbos.workflow_status
             WHERE workflow_uuid = %1$L OR workflow_uuid LIKE %1$L || '/%%' ORDER BY workflow_uuid$$,
           concord_test.id('c')),
    format($$VALUES (%L, 'ENQUEUED', 'concord_default'), (%L, 'ENQUEUED', 'concord_default')$$,
           concord_test.workflow_of('c'), concord_test.workflow_of('c', 2)),
    'a new DBOS workflow <command id>/2 is enqueued next to the released one'
);

SELECT row_eq(
    format($$SELECT actor, payload FROM concord.domain_events
             WHERE command_id = %L AND event_type = 'workflow_enqueued' AND target_id = %L$$,
           concord_test.id('c'), concord_test.workflow_of('c', 2)),
    ROW('workflow:' || concord_test.workflow_of('p'), jsonb_build_object('workflow_id', concord_test.workflow_of('c', 2),
                                                           'queue', 'concord_default', 'run', 2)),
    'the second hand-off is audited (by the workflow that finished the parent)'
);

SELECT is(
    (concord_test.claim('c', 2) ->> 'action') || '|' || (concord_test.command('c')).status,
    'run|running',
    'the run-2 workflow claims the child: run, running'
);

SELECT is(
    concord_test.claim('c', 1) ->> 'action',
    'stale',
    'the run-1 workflow is stale once run 2 holds the command'
);

-- A child whose dependency is already met claims normally.
SELECT is(concord_test.submit('p2', 'rt_async'), 'queued', 'fixture: parent p2 queued');

SELECT is(
    (concord_test.claim('p2') ->> 'action') || concord.runtime_finish(concord_test.id('p2'), concord_test.workflow_of('p2'), 'succeeded'),
    'runsucceeded',
    'fixture: p2 ran and succeeded'
);

SELECT lives_ok(
    format($$SELECT concord_test.command_at('rt_async', 'validated', 'c2');
             SELECT concord.add_dependency(concord_test.id('c2'), %L);
             SELECT concord.transition_command(concord_test.id('c2'), 'queued', 'op')$$,
           concord_test.id('p2')),
    'fixture: c2 depends on the finished p2 and is queued'
);

SELECT is(
    (concord_test.claim('c2') ->> 'action') || '|' || (concord_test.command('c2')).status || '|'
    || (concord_test.command('c2')).run_seq,
    'run|running|1',
    'a child whose dependencies are met is bound at once (run 1) and claims normally'
);

-- A child that enters queued while a dependency is unmet is not bound yet.
SELECT lives_ok(
    $$SELECT concord_test.submit('p3', 'rt_async');
      SELECT concord_test.command_at('rt_async', 'validated', 'c3');
      SELECT concord.add_dependency(concord_test.id('c3'), concord_test.id('p3'));
      SELECT concord.transition_command(concord_test.id('c3'), 'queued', 'op')$$,
    'fixture: c3 waits for p3 and is queued'
);

SELECT row_eq(
    $$SELECT b.*, concord_test.dbos_rows('c3'), concord_test.event_count('c3', 'workflow_enqueued')
      FROM concord_test.binding('c3') AS b$$,
    ROW(NULL::text, 0, 'concord_default'::text, 0::bigint, 0::bigint),
    'a command queued while a dependency is unmet has no workflow (run 0) and nothing in DBOS'
);

SELECT is(
    (concord_test.claim('p3') ->> 'action') || concord.runtime_finish(concord_test.id('p3'), concord_test.workflow_of('p3'), 'succeeded')
    || '|' || (concord_test.command('c3')).dbos_workflow_id || '|' || concord_test.dbos_status(concord_test.workflow_of('c3')),
    'runsucceeded|' || concord_test.workflow_of('c3') || '|ENQUEUED',
    'when p3 succeeds, c3 is handed off as run 1 (workflow = command id) and enqueued'
);

-- A queued child cancelled by its parent's cancellation: its workflow is cancelled too.
SELECT lives_ok(
    $$SELECT concord_test.submit('p4', 'rt_async'), concord_test.submit('c4', 'rt_async');
      SELECT concord.add_dependency(concord_test.id('c4'), concord_test.id('p4'));
      SELECT concord.cancel_command(concord_test.id('p4'), 'ann')$$,
    'fixture: c4 depends on p4, which is cancelled'
);

SELECT is(
    concord_test.status('c4') || '|' || concord_test.dbos_status(concord_test.workflow_of('c4')),
    'cancelled|CANCELLED',
    'the cascade cancels the queued child and its DBOS workflow'
);

SELECT * FROM finish();
ROLLBACK;
