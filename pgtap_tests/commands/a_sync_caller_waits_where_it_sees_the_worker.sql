-- A caller waiting for a command sees the worker finish it (spec 29): a
-- REPEATABLE READ (or SERIALIZABLE) transaction keeps one snapshot, so
-- await_command refuses at once to wait there for an unanswered command
-- (a_caller_waits_in_a_read_committed_transaction) instead of burning its
-- budget on a status that cannot change; an answered one is answered.
-- call_command, which commits before it waits, is refused by name inside a
-- transaction block (a_sync_call_is_made_outside_a_transaction_block), before
-- it submits anything.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SET LOCAL client_min_messages = warning;
SELECT plan(7);

SELECT concord_test.runtime_fixtures();
SELECT is(concord_test.submit('gated', 'rt_gov', '{"gate": true}'), 'waiting_for_approval',
          'fixture: a command waiting for approval');
SELECT is(concord.await_command(concord_test.id('gated'), 0) ->> 'answered', 'true',
          'a command waiting for a person is answered, whatever the isolation');

SELECT is(concord_test.submit('queued', 'rt_async'), 'queued', 'fixture: a queued command');
-- timed from here: the fixtures' registrations take their own time
CREATE TEMP TABLE asked AS SELECT clock_timestamp() AS at;
SELECT concord_test.throws_rule(
    format('SELECT concord.await_command(%L, 5)', concord_test.id('queued')),
    'CN011', 'a_caller_waits_in_a_read_committed_transaction',
    'CN011: a REPEATABLE READ transaction does not wait for an unanswered command'
);
SELECT ok(extract(EPOCH FROM clock_timestamp() - (SELECT at FROM asked)) < 4, 'it is refused at once, not after its budget');


SELECT concord_test.throws_rule(
    $$CALL concord.call_command('rt_sync', '{"n": "in a block"}', 5, requested_by => 'req')$$,
    'CN011', 'a_sync_call_is_made_outside_a_transaction_block',
    'CN011: CALL concord.call_command inside a transaction block is refused by name'
);
SELECT is((SELECT count(*) FROM concord.commands WHERE payload ->> 'n' = 'in a block'), 0::bigint,
          'and submits nothing');

SELECT * FROM finish();
ROLLBACK;
