-- No command is stranded (issue 13): a command whose DBOS workflow ended
-- ERROR, or was dead-lettered (MAX_RECOVERY_ATTEMPTS_EXCEEDED, after a worker
-- crashed on it time after time), is run by nothing any more. The reconciler
-- every worker runs fails it (internal_error, saying why), and gives a command being cancelled the follow-up that
-- finishes its cancellation. Commands whose workflow is alive are left alone.
BEGIN;
SELECT plan(14);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

SELECT is(concord_test.submit('crashing', 'rt_async'), 'queued', 'fixture: crashing is queued');
SELECT is(concord_test.submit('erred', 'rt_async'), 'queued', 'fixture: erred is queued');
SELECT is(concord_test.submit('blocked_on', 'rt_async'), 'queued', 'fixture: blocked_on is queued');
SELECT is(concord_test.submit('alive', 'rt_async'), 'queued', 'fixture: alive is queued');
SELECT is(concord_test.submit('leaving', 'rt_comp'), 'queued', 'fixture: leaving is queued');
SELECT is(concord_test.submit('countered', 'rt_comp'), 'queued', 'fixture: countered is queued');

DO $$ BEGIN
    PERFORM concord_test.claim('crashing');
    PERFORM concord_test.claim('erred');
    PERFORM concord_test.claim('alive');
    PERFORM concord_test.claim('leaving');
    PERFORM concord.cancel_command(concord_test.id('leaving'), 'req', 'enough');
    -- compensated, one step short of cancelled
    PERFORM concord_test.claim('countered');
    PERFORM concord.cancel_command(concord_test.id('countered'), 'req', 'enough');
    PERFORM concord_test.move_as_run(concord_test.id('countered'), 'compensating');
    PERFORM concord_test.move_as_run(concord_test.id('countered'), 'compensated');
END $$;

-- What DBOS does to them: dead-letters one after 102 dispatches, ends one
-- ERROR before its claim and one after, and leaves one running.
UPDATE dbos.workflow_status SET status = 'MAX_RECOVERY_ATTEMPTS_EXCEEDED', recovery_attempts = 102
WHERE workflow_uuid = concord_test.workflow_of('crashing');
UPDATE dbos.workflow_status SET status = 'ERROR'
WHERE workflow_uuid IN (concord_test.workflow_of('erred'), concord_test.workflow_of('blocked_on'),
                        concord_test.workflow_of('leaving'), concord_test.workflow_of('countered'));
UPDATE dbos.workflow_status SET status = 'PENDING' WHERE workflow_uuid = concord_test.workflow_of('alive');

SELECT is(concord.runtime_reconcile('ex-reconciler') >= 4, true, 'the reconciler touches the four');

SELECT results_eq(
    $$SELECT status, error_class, error FROM concord.commands WHERE command_id = concord_test.id('crashing')$$,
    $$VALUES ('failed', 'internal_error', format('its DBOS workflow %s ended MAX_RECOVERY_ATTEMPTS_EXCEEDED after 102 '
              'dispatches: nothing would run it again; submit it again once the cause is fixed',
              concord_test.workflow_of('crashing')))$$,
    'a running command whose workflow DBOS dead-lettered fails, saying so');

SELECT results_eq(
    $$SELECT status, error_class FROM concord.commands
      WHERE command_id IN (concord_test.id('erred'), concord_test.id('blocked_on'))$$,
    $$VALUES ('failed', 'internal_error'), ('failed', 'internal_error')$$,
    'a running or queued command whose workflow ended ERROR fails');

SELECT is((concord_test.command('alive')).status, 'running', 'a command whose workflow runs is left alone');

SELECT is(concord_test.dbos_status(concord_test.workflow_of('leaving') || '/cancel'), 'ENQUEUED',
          'a command being cancelled gets the follow-up that finishes its cancellation');

SELECT is(concord_test.dbos_status(concord_test.workflow_of('countered') || '/cancel'), 'ENQUEUED',
          'so does a compensated command one step short of its cancellation');

SELECT is(concord.runtime_reconcile('ex-reconciler'), 0, 'a second pass changes nothing');

SELECT is((concord_test.command('leaving')).status, 'cancelling',
          'the command being cancelled is left to its follow-up');

SELECT * FROM finish();
ROLLBACK;
