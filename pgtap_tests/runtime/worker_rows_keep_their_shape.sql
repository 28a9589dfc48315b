-- A row of concord.workers says who a worker is (checks on the table, raw
-- inserts by the owner's peer), and adoption is offered only after a silence
-- of at least a second.
BEGIN;
SELECT plan(5);

SELECT concord_test.throws_rule(
    $$INSERT INTO concord.workers (executor_id, application_version, host, pid, started_at, last_seen_at)
      VALUES (' ', 'v1', 'h', 1, now(), now())$$,
    '23514', 'worker_executor_id_is_not_blank', 'a blank executor id is refused');

SELECT concord_test.throws_rule(
    $$INSERT INTO concord.workers (executor_id, application_version, host, pid, started_at, last_seen_at)
      VALUES ('w1', '', 'h', 1, now(), now())$$,
    '23514', 'worker_application_version_is_not_blank', 'a blank application version is refused');

SELECT concord_test.throws_rule(
    $$INSERT INTO concord.workers (executor_id, application_version, host, pid, started_at, last_seen_at)
      VALUES ('w1', 'v1', 'h', 0, now(), now())$$,
    '23514', 'worker_pid_is_positive', 'a process id of 0 is refused');

SELECT concord_test.throws_rule(
    $$INSERT INTO concord.workers (executor_id, application_version, host, pid, started_at, last_seen_at)
      VALUES ('w1', 'v1', 'h', 1, now(), now() - interval '1 minute')$$,
    '23514', 'a_worker_is_seen_after_it_started', 'a heartbeat before the start is refused');

SELECT concord_test.throws_rule(
    $$SELECT * FROM concord.runtime_orphaned_executors('w1', interval '0.5 seconds')$$,
    'CN008', 'silent_for_is_at_least_a_second', 'CN008: adoption waits for a silence of a second at least');

SELECT * FROM finish();
ROLLBACK;
