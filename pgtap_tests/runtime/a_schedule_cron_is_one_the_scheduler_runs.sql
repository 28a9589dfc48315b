-- A schedule's cron is judged by the parser DBOS's scheduler runs it with
-- (croniter, second_at_beginning), not by a parser of our own: the crons below
-- are those on which the former PL/pgSQL check and croniter disagreed (aliases,
-- L, W, #, crons that never fire, ?) and some on which they agree (names, 7 as
-- Sunday, ranges with steps). The rule holds for every write, not only for
-- register_schedule.
BEGIN;
SELECT plan(34);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

CREATE FUNCTION pg_temp.accepts(cron text)
RETURNS text
LANGUAGE sql
AS $$
    SELECT is(
        concord.register_schedule(jsonb_build_object('name', 'cron_ok', 'cron', cron,
                                                     'command_type', 'rt_async')),
        'cron_ok',
        format('the scheduler runs %L: register_schedule accepts it', cron))
$$;

CREATE FUNCTION pg_temp.refuses(cron text)
RETURNS text
LANGUAGE sql
AS $$
    SELECT concord_test.throws_rule(
        format('SELECT concord.register_schedule(%L)',
               jsonb_build_object('name', 'cron_bad', 'cron', cron, 'command_type', 'rt_async')),
        'CN005', 'a_schedule_cron_is_valid',
        format('the scheduler cannot run %L: CN005', cron))
$$;

-- The old check refused these; croniter runs them.
SELECT pg_temp.accepts('@hourly');
SELECT pg_temp.accepts('@daily');
SELECT pg_temp.accepts('@weekly');
SELECT pg_temp.accepts('@midnight');
SELECT pg_temp.accepts('0 0 L * *');
SELECT pg_temp.accepts('0 0 15W * *');
SELECT pg_temp.accepts('0 0 1W * *');
SELECT pg_temp.accepts('0 0 * * 5#3');
SELECT pg_temp.accepts('0 0 * * mon#2');

-- The old check accepted these; croniter refuses them, or they never fire
-- (croniter accepts a 31st of February, and the scheduler's thread then dies).
SELECT pg_temp.refuses('? ? ? ? ?');
SELECT pg_temp.refuses('? * * * *');
SELECT pg_temp.refuses('0 0 31 2 *');
SELECT pg_temp.refuses('0 0 30 2 *');
SELECT pg_temp.refuses('0 0 31 4 *');

-- Both agree: names, 7 as Sunday, ranges with steps, seconds first.
SELECT pg_temp.accepts('0 0 * * MON-FRI');
SELECT pg_temp.accepts('0 0 * JAN-MAR *');
SELECT pg_temp.accepts('0 0 * * 7');
SELECT pg_temp.accepts('0 0 * * 0-7');
SELECT pg_temp.accepts('0 1-10/3 * * *');
SELECT pg_temp.accepts('*/5 * * * * *');
SELECT pg_temp.accepts('0 0 29 2 *');
SELECT pg_temp.refuses('0 0 * * 8');
SELECT pg_temp.refuses('1-70/5 * * * *');
SELECT pg_temp.refuses('*/0 * * * *');
SELECT pg_temp.refuses('0 0 * * jan');
SELECT pg_temp.refuses('0 0 * * 5#6');
SELECT pg_temp.refuses('@reboot');
SELECT pg_temp.refuses('* * *');
SELECT pg_temp.refuses('* * * * * * *');

SELECT is(
    (SELECT cron FROM concord.schedule_catalog WHERE schedule_name = 'cron_ok'),
    '0 0 29 2 *',
    'the schedule keeps the cron as written (what the worker hands to DBOS)'
);

-- Every write: the table owner's own UPDATE and INSERT are refused too.
SELECT concord.register_schedule('{"name": "cron_raw", "cron": "@hourly", "command_type": "rt_async"}');
SET LOCAL ROLE concord_owner;
SELECT concord_test.throws_rule(
    $$UPDATE concord.schedules SET cron = '0 0 31 2 *' WHERE schedule_name = 'cron_raw'$$,
    'CN005', 'a_schedule_cron_is_valid',
    'the table owner cannot UPDATE a cron the scheduler cannot run'
);
SELECT concord_test.throws_rule(
    $$UPDATE concord.schedules SET cron = '? ? ? ? ?' WHERE schedule_name = 'cron_raw'$$,
    'CN005', 'a_schedule_cron_is_valid',
    'the table owner cannot UPDATE a cron croniter refuses'
);
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.schedules (schedule_name, cron, command_type, project_id)
      SELECT 'cron_raw2', '0 0 L-2 * *', 'rt_async', project_id FROM concord.schedules
      WHERE schedule_name = 'cron_raw'$$,
    'CN005', 'a_schedule_cron_is_valid',
    'the table owner cannot INSERT a cron croniter refuses'
);
SELECT lives_ok(
    $$UPDATE concord.schedules SET cron = '0 0 L * *' WHERE schedule_name = 'cron_raw'$$,
    'the table owner may UPDATE a cron the scheduler runs'
);
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
