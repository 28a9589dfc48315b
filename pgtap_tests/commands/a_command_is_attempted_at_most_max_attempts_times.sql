-- A command type's max_attempts holds (spec 13.2, 33): a command whose runs
-- have begun max_attempts times is not queued again, by the API or a direct
-- UPDATE (a_command_is_not_requeued_past_its_max_attempts), and nobody sets
-- its attempt count (attempts_are_counted_only_when_a_run_begins).
BEGIN;
SELECT plan(11);

SELECT concord.register_command_type('{"command_type": "t_twice", "max_attempts": 2}') AS fixture \gset
SELECT concord.register_command_type('{"command_type": "t_once", "max_attempts": 1}') AS fixture \gset

SELECT concord_test.command_at('t_twice', 'failed', 'twice') IS NOT NULL AS fixture \gset

SELECT is((concord_test.command('twice')).attempts, 1, 'a run that began counts one attempt');

SELECT is(concord.transition_command(concord_test.id('twice'), 'queued', 'op'), 'queued',
          'control: one attempt of two, the failed command is queued again');

SELECT is(concord_test.run('twice') IS NOT NULL AND (concord_test.command('twice')).attempts = 2, true,
          'the second run counts a second attempt');

SELECT is(concord_test.move_as_run(concord_test.id('twice'), 'failed', 'worker', 'broke again'), 'failed',
          'fixture: the second run fails');

SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'queued', 'op')$$, concord_test.id('twice')),
    'CN011', 'a_command_is_not_requeued_past_its_max_attempts',
    'CN011: two attempts of two, transition_command does not queue it again');

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET status = 'queued' WHERE command_id = %L$$, concord_test.id('twice')),
    'CN011', 'a_command_is_not_requeued_past_its_max_attempts',
    'CN011: nor does a direct UPDATE of the owner');

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET attempts = 0 WHERE command_id = %L$$, concord_test.id('twice')),
    'CN007', 'attempts_are_counted_only_when_a_run_begins',
    'CN007: the count cannot be wound back to make room');

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET attempts = 0, status = 'queued' WHERE command_id = %L$$,
           concord_test.id('twice')),
    'CN007', 'attempts_are_counted_only_when_a_run_begins',
    'CN007: not even together with the re-queue');

-- A blocked command is taken off its run; queuing it again starts another
-- attempt, which max_attempts = 1 does not leave.
SELECT concord_test.command_at('t_once', 'blocked', 'once') IS NOT NULL AS fixture \gset

SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'queued', 'op')$$, concord_test.id('once')),
    'CN011', 'a_command_is_not_requeued_past_its_max_attempts',
    'CN011: a blocked command that had its one attempt is not queued again');

SELECT is(
    (SELECT attempts FROM concord.commands WHERE command_id = concord_test.id('once')), 1,
    'a blocked command''s attempts stay as they were');

-- Past the guard (its triggers off, as only a superuser can), the column
-- itself refuses a negative count.
SET LOCAL session_replication_role = replica;
SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET attempts = -1 WHERE command_id = %L$$, concord_test.id('once')),
    '23514', 'attempts_is_not_negative', 'a negative attempt count is refused');
SET LOCAL session_replication_role = origin;

SELECT * FROM finish();
ROLLBACK;
