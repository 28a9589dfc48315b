-- No command is stranded (issue 13): the follow-up workflow that finishes a
-- command's cancellation (<workflow>/cancel, concord.finish_cancellation)
-- is a DBOS workflow like any other: an operator may cancel it
-- (`dbos workflow cancel`), it may end ERROR or be dead-lettered. Nothing
-- else walks that cancellation (the run leaves it to its follow-up), so the
-- reconciler every worker runs ends it: a graceful cancellation, or one
-- whose compensations were all done, is cancelled; one whose compensations
-- had not all run fails as compensation_failed (an operator compensates
-- what is left). Cancellations whose follow-up is alive are left alone.
BEGIN;
SELECT plan(12);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

SELECT is(concord_test.submit('gently', 'rt_async'), 'queued', 'fixture: gently is queued');
SELECT is(concord_test.submit('halfway', 'rt_comp'), 'queued', 'fixture: halfway is queued');
SELECT is(concord_test.submit('unstarted', 'rt_comp'), 'queued', 'fixture: unstarted is queued');
SELECT is(concord_test.submit('countered', 'rt_comp'), 'queued', 'fixture: countered is queued');
SELECT is(concord_test.submit('alive', 'rt_async'), 'queued', 'fixture: alive is queued');

-- Each run is claimed, the command's cancellation asked for, the run
-- cancelled in DBOS: its follow-up is enqueued (as a live worker does).
DO $$
DECLARE
    l text;
BEGIN
    FOREACH l IN ARRAY ARRAY['gently', 'halfway', 'unstarted', 'countered', 'alive'] LOOP
        PERFORM concord_test.claim(l);
        PERFORM concord.cancel_command(concord_test.id(l), 'req', 'enough');
        UPDATE dbos.workflow_status SET status = 'CANCELLED' WHERE workflow_uuid = concord_test.workflow_of(l);
        PERFORM concord.runtime_workflow_cancelled(concord_test.id(l), concord_test.workflow_of(l), 'ex1');
    END LOOP;
    -- the follow-ups of halfway and countered walked part of the way
    PERFORM concord_test.move_as_run(concord_test.id('halfway'), 'compensating');
    PERFORM concord_test.move_as_run(concord_test.id('countered'), 'compensating');
    PERFORM concord_test.move_as_run(concord_test.id('countered'), 'compensated');
END $$;

SELECT is(concord.runtime_reconcile('ex-reconciler'), 0, 'fixture: nothing to do while the follow-ups live');

-- What happens to the follow-ups in DBOS.
UPDATE dbos.workflow_status SET status = 'CANCELLED'
WHERE workflow_uuid IN (concord_test.workflow_of('gently') || '/cancel', concord_test.workflow_of('countered') || '/cancel');
UPDATE dbos.workflow_status SET status = 'ERROR' WHERE workflow_uuid = concord_test.workflow_of('halfway') || '/cancel';
UPDATE dbos.workflow_status SET status = 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'
WHERE workflow_uuid = concord_test.workflow_of('unstarted') || '/cancel';

SELECT is(concord.runtime_reconcile('ex-reconciler'), 4, 'the reconciler ends the four');

SELECT results_eq(
    $$SELECT status, error_class FROM concord.commands
      WHERE command_id IN (concord_test.id('gently'), concord_test.id('countered')) ORDER BY status$$,
    $$VALUES ('cancelled', null::text), ('cancelled', null::text)$$,
    'a graceful cancellation, or one whose compensations were done, is cancelled');

SELECT results_eq(
    $$SELECT status, error_class, error LIKE format('its cancellation''s follow-up workflow %s/cancel ended %%', dbos_workflow_id)
      FROM concord.commands
      WHERE command_id IN (concord_test.id('halfway'), concord_test.id('unstarted'))$$,
    $$VALUES ('failed', 'compensation_failed', true), ('failed', 'compensation_failed', true)$$,
    'one whose compensations had not all run fails as compensation_failed, saying why');

SELECT is((concord_test.command('alive')).status, 'cancelling', 'a cancellation whose follow-up is alive is left alone');

SELECT is(concord.runtime_reconcile('ex-reconciler'), 0, 'a second pass changes nothing');

SELECT is(concord_test.event_count('halfway', 'command_status_changed') >= 4, true, 'the ending is audited');

SELECT * FROM finish();
ROLLBACK;
