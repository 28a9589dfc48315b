-- No command is stranded (issue 13): a run whose worker has no operation for
-- the type lets its workflow go and the command stays queued; a worker that
-- has the operation hands it off again; only the worker holding an executor
-- id's lock writes that worker's row; a gone, silent worker's pending
-- workflows are offered for adoption, a live one's never.
BEGIN;
SELECT plan(21);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

SELECT is(concord_test.submit('lonely', 'rt_async'), 'queued', 'fixture: lonely is queued');

-- ===========================================================================
-- The run lets go of a command it cannot run
-- ===========================================================================
SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET dbos_workflow_id = null WHERE command_id = %L$$, concord_test.id('lonely')),
    'CN007', 'a_workflow_binding_changes_only_while_queued',
    'CN007: nobody but the run itself releases a command whose dependencies are met');

SELECT is(
    concord.runtime_unserved(concord_test.id('lonely'), concord_test.workflow_of('lonely'), 'ex1') ->> 'action',
    'released', 'runtime_unserved: the run lets its workflow go');

SELECT results_eq(
    $$SELECT status, dbos_workflow_id, attempts FROM concord.commands WHERE command_id = concord_test.id('lonely')$$,
    $$VALUES ('queued', null::text, 0)$$,
    'the command stays queued, unbound, never attempted');

SELECT is(
    concord.runtime_unserved(concord_test.id('lonely'), concord_test.workflow_of('lonely'), 'ex1') ->> 'action',
    'stale', 'a replay of the step changes nothing');

SELECT is(concord_test.claim('lonely') ->> 'action', 'stale', 'nor can the released run claim it');

SELECT ok(EXISTS (SELECT 1 FROM concord.unserved_commands WHERE command_id = concord_test.id('lonely')
                  AND NOT handed_off),
          'unserved_commands lists it');

-- A worker with the operation registers it: the command is handed off again.
SELECT is(
    concord.register_operations('[{"command_type": "rt_async", "queue": "concord_default",
                                   "function_name": "ops.rt_async"}]', 'ex2', 'v1') >= 0,
    true, 'fixture: a worker registers the operation');

SELECT results_eq(
    $$SELECT dbos_workflow_id, run_seq FROM concord.commands WHERE command_id = concord_test.id('lonely')$$,
    $$VALUES (concord_test.workflow_of('lonely', 2), 2)$$,
    'register_operations hands it off again, as a new run');

SELECT is(concord_test.dbos_status(concord_test.workflow_of('lonely', 2)), 'ENQUEUED',
          'its new workflow is enqueued');

-- ===========================================================================
-- A worker's row is its own
-- ===========================================================================
SELECT concord_test.throws_rule(
    $$SELECT concord.runtime_heartbeat('ex-nolock', 'v1', 'h', 1, '{concord_default}', '{rt_async}')$$,
    'CN012', 'a_worker_heartbeats_only_for_its_own_executor_id',
    'CN012: a session without the executor''s lock does not write its row');

SELECT pg_advisory_lock(concord._executor_lock_key('ex-mine')) AS fixture \gset

SELECT lives_ok(
    $$SELECT concord.runtime_heartbeat('ex-mine', 'v1', 'h', 1, '{concord_default}', '{rt_async}')$$,
    'the session holding the lock heartbeats');

SELECT results_eq(
    $$SELECT executor_id, queues, operations FROM concord.live_workers WHERE executor_id = 'ex-mine'$$,
    $$VALUES ('ex-mine', '{concord_default}'::text [], '{rt_async}'::text [])$$,
    'live_workers lists it');

-- The claim itself leaves alone a command whose type the claiming worker's
-- row does not list.
SELECT is(concord_test.submit('other', 'rt_ops'), 'queued', 'fixture: other (rt_ops) is queued');

SELECT is(concord_test.claim('other', 1, 'ex-mine') ->> 'action', 'unserved',
          'runtime_claim by a worker whose row lacks rt_ops answers unserved');

SELECT results_eq(
    $$SELECT status, dbos_workflow_id, attempts FROM concord.commands WHERE command_id = concord_test.id('other')$$,
    $$VALUES ('queued', null::text, 0)$$,
    'the command stays queued, unbound, never attempted');

-- The operator views read as the operator roles read them (a view's
-- functions would run with the reader's rights: they call none).
SET LOCAL ROLE concord_reader;
SELECT lives_ok(
    $$SELECT 1 / count(*)::integer FROM concord.live_workers WHERE executor_id = 'ex-mine';
      SELECT count(*) FROM concord.queue_depth, concord.unserved_commands, concord.unserved_command_types,
                           concord.stuck_effects$$,
    'concord_reader reads the worker views');
RESET ROLE;

SELECT is(
    (SELECT queued FROM concord.queue_depth WHERE queue_name = 'concord_default') >= 1
    AND (SELECT live_workers FROM concord.queue_depth WHERE queue_name = 'concord_default') >= 1,
    true, 'queue_depth counts the queued command and the live worker listening');

-- ===========================================================================
-- Adoption: gone and silent, never live
-- ===========================================================================
-- Its heartbeat is old and DBOS has one of its workflows pending.
UPDATE concord.workers SET started_at = now() - interval '1 hour', last_seen_at = now() - interval '1 hour'
WHERE executor_id = 'ex-mine';
UPDATE dbos.workflow_status SET status = 'PENDING', executor_id = 'ex-mine', application_version = 'v1'
WHERE workflow_uuid = concord_test.workflow_of('lonely', 2);

SELECT is_empty(
    $$SELECT * FROM concord.runtime_orphaned_executors('ex2', interval '5 seconds')$$,
    'a silent worker that holds its lock (alive) is not offered for adoption');

SELECT pg_advisory_unlock(concord._executor_lock_key('ex-mine')) AS fixture \gset

SELECT results_eq(
    $$SELECT orphan, application_version, pending FROM concord.runtime_orphaned_executors('ex2', interval '5 seconds')$$,
    $$VALUES ('ex-mine', 'v1', 1)$$,
    'once its lock is free, its pending workflow is offered for adoption');

SELECT is_empty(
    $$SELECT * FROM concord.runtime_orphaned_executors('ex-mine', interval '5 seconds')$$,
    'a worker is never offered its own workflows');

SELECT * FROM finish();
ROLLBACK;
