-- No command is stranded (issue 13): a command already being cancelled
-- (cancelling, compensating, or compensated on its way to cancelled) whose
-- run's workflow an operator then cancels in DBOS (`dbos workflow cancel`)
-- while no worker is executing it (the worker stopped, crashed or gone) is
-- run by nothing: DBOS recovers no cancelled workflow and the worker that
-- would have caught the cancellation is not there. The reconciler every
-- worker runs gives it the follow-up that finishes its cancellation
-- (<workflow>/cancel), as a live worker does; once, and only where no
-- follow-up exists yet.
BEGIN;
SELECT plan(10);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

SELECT is(concord_test.submit('stopping', 'rt_async'), 'queued', 'fixture: stopping is queued');
SELECT is(concord_test.submit('countering', 'rt_comp'), 'queued', 'fixture: countering is queued');
SELECT is(concord_test.submit('followed', 'rt_async'), 'queued', 'fixture: followed is queued');
SELECT is(concord_test.submit('countered', 'rt_comp'), 'queued', 'fixture: countered is queued');

DO $$ BEGIN
    PERFORM concord_test.claim('stopping');
    PERFORM concord_test.claim('countering');
    PERFORM concord_test.claim('followed');
    PERFORM concord_test.claim('countered');
    PERFORM concord.cancel_command(concord_test.id('stopping'), 'req', 'enough');
    PERFORM concord.cancel_command(concord_test.id('countering'), 'req', 'enough');
    PERFORM concord.cancel_command(concord_test.id('followed'), 'req', 'enough');
    PERFORM concord.cancel_command(concord_test.id('countered'), 'req', 'enough');
    -- the run of countering began its compensations; that of countered
    -- finished them and was cancelled before its last step (-> cancelled)
    PERFORM concord_test.move_as_run(concord_test.id('countering'), 'compensating');
    PERFORM concord_test.move_as_run(concord_test.id('countered'), 'compensating');
    PERFORM concord_test.move_as_run(concord_test.id('countered'), 'compensated');
    -- followed already has its follow-up (a live worker caught the cancel)
    PERFORM concord.runtime_workflow_cancelled(concord_test.id('followed'), concord_test.workflow_of('followed'), 'ex1');
END $$;

SELECT results_eq(
    $$SELECT status FROM concord.commands
      WHERE command_id IN (concord_test.id('stopping'), concord_test.id('countering'), concord_test.id('countered'))
      ORDER BY status$$,
    $$VALUES ('cancelling'), ('compensated'), ('compensating')$$,
    'fixture: three commands being cancelled');

-- The operator cancels their runs' workflows in DBOS while no worker runs them.
UPDATE dbos.workflow_status SET status = 'CANCELLED'
WHERE workflow_uuid IN (concord_test.workflow_of('stopping'), concord_test.workflow_of('countering'),
                        concord_test.workflow_of('countered'), concord_test.workflow_of('followed'));

SELECT is(concord.runtime_reconcile('ex-reconciler'), 3, 'the reconciler touches the three without a follow-up');

SELECT results_eq(
    $$SELECT concord_test.dbos_status(concord_test.workflow_of(l) || '/cancel')
      FROM unnest(ARRAY['stopping', 'countering', 'countered']) AS l$$,
    $$VALUES ('ENQUEUED'), ('ENQUEUED'), ('ENQUEUED')$$,
    'each gets the follow-up that finishes its cancellation');

SELECT is(concord_test.dbos_rows('followed'), 2::bigint, 'a command that has its follow-up gets no other');

SELECT is(concord.runtime_reconcile('ex-reconciler'), 0, 'a second pass changes nothing');

SELECT results_eq(
    $$SELECT (concord.runtime_claim(concord_test.id(l), concord_test.workflow_of(l) || '/cancel', 'ex2')) ->> 'action'
      FROM unnest(ARRAY['stopping', 'countering', 'countered']) AS l$$,
    $$VALUES ('cancel'), ('cancel'), ('cancel')$$,
    'each follow-up walks the rest of its cancellation');

SELECT * FROM finish();
ROLLBACK;
