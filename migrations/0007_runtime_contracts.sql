-- 0007 runtime contracts: what the worker needs to leave nothing stuck and
-- nothing ungoverned (issue 13): workers and their queues, sync execution,
-- connector contracts checked at run time, swarm cancellation and memory
-- forgetting that reach everything. Spec 18-20, 24, 29, 31, 34, 48, 61-65.
--
-- Forward-only: once released this file is never edited; change = new file.
-- Each part below is headed by a "-- == part ==" line.

-- == cron_parser ==
-- A schedule's cron is what DBOS's scheduler (croniter) runs: aliases such as @hourly
-- included. Whether the scheduler can run it is checked on every write by the trigger
-- schedules_cron_is_valid (sql/runtime/schedules.sql, rule a_schedule_cron_is_valid);
-- the table keeps only the shape.
ALTER TABLE concord.schedules DROP CONSTRAINT cron_has_five_or_six_fields;
ALTER TABLE concord.schedules ADD CONSTRAINT cron_has_five_or_six_fields_or_is_an_alias
CHECK (cron ~ '^(@[A-Za-z]+|\S+(\s+\S+){4,5})$');

COMMENT ON CONSTRAINT cron_has_five_or_six_fields_or_is_an_alias ON concord.schedules IS
'A cron expression has five or six fields, or is one @alias (@hourly, @daily, ...).';
COMMENT ON COLUMN concord.schedules.cron IS
'When it fires: five cron fields, six with seconds first, or an @alias, as DBOS''s scheduler '
'(croniter) reads them.';
