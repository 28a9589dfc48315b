-- Cancellation reaches the workflow both ways (spec 30): cancelling a queued
-- command cancels its DBOS workflow, a running one is told to cancel at its
-- next claim; a workflow cancelled in DBOS cancels its command, and an outcome
-- that arrives after the request does not end it.
BEGIN;
SELECT plan(17);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

-- ===========================================================================
-- 5. Cancellation
-- ===========================================================================
SELECT is(concord_test.submit('q', 'rt_async'), 'queued', 'fixture: q queued');

SELECT is(concord.cancel_command(concord_test.id('q'), 'ann'), 'cancelled', 'a queued command is cancelled at once');

SELECT row_eq(
    format($$SELECT status, queue_name FROM dbos.workflow_status WHERE workflow_uuid = %L$$, concord_test.workflow_of('q')),
    ROW('CANCELLED'::text, NULL::text),
    'its DBOS workflow is CANCELLED in the same transaction (and off its queue)'
);

SELECT is(concord_test.claim('q') ->> 'action', 'skip', 'its workflow, if it runs anyway, is told to skip');

SELECT is(concord_test.submit('rc', 'rt_async'), 'queued', 'fixture: rc queued');

SELECT is(concord_test.claim('rc') ->> 'action', 'run', 'fixture: rc is running');

CREATE TEMP TABLE rc_before AS
SELECT w.* FROM dbos.workflow_status AS w WHERE w.workflow_uuid = concord_test.workflow_of('rc');

SELECT is(concord.cancel_command(concord_test.id('rc'), 'ann'), 'cancelling',
          'a running command moves to cancelling');

SELECT set_eq(
    format($$SELECT status, queue_name, updated_at, completed_at FROM dbos.workflow_status
             WHERE workflow_uuid = %L$$, concord_test.workflow_of('rc')),
    $$SELECT status, queue_name, updated_at, completed_at FROM rc_before$$,
    'cancelling a running command leaves its DBOS workflow as it was'
);

SELECT is(concord_test.claim('rc') ->> 'action', 'cancel',
          'runtime_claim on a command whose cancellation was requested answers cancel');

-- ===========================================================================
-- 15. Cancellation from DBOS's side, late outcomes, append-only records
-- ===========================================================================
SELECT is(concord_test.submit('wc', 'rt_async') || concord_test.submit('wq', 'rt_async'), 'queuedqueued',
          'fixture: wc and wq queued');

SELECT is(concord_test.claim('wc') ->> 'action', 'run', 'fixture: wc is running');

SELECT is(
    concord.runtime_workflow_cancelled(concord_test.id('wc'), concord_test.workflow_of('wc'), 'ex1')
    || concord.runtime_workflow_cancelled(concord_test.id('wc'), concord_test.workflow_of('wc'), 'ex1'),
    'cancellingcancelling',
    'runtime_workflow_cancelled moves a running command to cancelling, and again on replay'
);

SELECT results_eq(
    format($$SELECT workflow_uuid, status, name FROM dbos.workflow_status
             WHERE workflow_uuid LIKE %L || '/%%'$$, concord_test.id('wc')),
    format($$VALUES (%L, 'ENQUEUED', 'concord.finish_cancellation')$$, concord_test.workflow_of('wc') || '/cancel'),
    'one follow-up workflow <workflow id>/cancel (concord.finish_cancellation) is enqueued'
);

SELECT is(
    concord.runtime_claim(concord_test.id('wc'), concord_test.workflow_of('wc') || '/cancel', 'ex2') ->> 'action',
    'cancel',
    'the follow-up workflow''s claim answers cancel'
);

SELECT is(
    concord.runtime_finish(concord_test.id('wc'), concord_test.workflow_of('wc'), 'succeeded', '{"late": true}')
    || '|' || (concord_test.command('wc')).status,
    'cancelling|cancelling',
    'an outcome that arrives after the cancellation request does not end the command'
);

SELECT is(
    concord.runtime_finish(concord_test.id('wc'), concord_test.workflow_of('wc') || '/cancel', 'cancelled')
    || '|' || (concord.runtime_claim(concord_test.id('wc'), concord_test.workflow_of('wc') || '/cancel', 'ex2') ->> 'action'),
    'cancelled|skip',
    'the follow-up workflow finishes the cancellation; claiming again it is told to skip'
);

SELECT is(
    concord.runtime_workflow_cancelled(concord_test.id('wq'), concord_test.workflow_of('wq'), 'ex1') || '|'
    || concord_test.dbos_status(concord_test.workflow_of('wq')) || '|' || concord_test.dbos_rows('wq'),
    'cancelled|CANCELLED|1',
    'a workflow cancelled in DBOS before it started cancels its queued command, with no follow-up'
);

SELECT * FROM finish();
ROLLBACK;
