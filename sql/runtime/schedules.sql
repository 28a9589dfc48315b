-- Schedules (spec 96): cron entries whose ticks become commands.

-- Why DBOS's scheduler could not run a cron expression, or null when it can. The
-- scheduler parses crons with croniter (seconds first when there are six fields); this
-- asks the same library, at the version pyproject.toml pins for the worker
-- (tests/harness/deps.sh installs it for the server's python3), rather than a second
-- parser that can disagree with it. Besides croniter's own refusals: Concord takes five or
-- six fields or an @alias (the schedules table's shape), and refuses a cron that never
-- fires (31 2 *: croniter accepts it, and the scheduler's thread then dies on its first
-- get_next). A cron that fires at all fires within croniter's 50-year search from any
-- start, so the fixed start keeps the answer a function of the text (IMMUTABLE).
CREATE OR REPLACE FUNCTION concord._cron_problem(cron text)
RETURNS text
LANGUAGE plpython3u
IMMUTABLE
AS $$
import re
from datetime import datetime, timezone

from croniter import CroniterBadDateError, CroniterError, croniter

if cron is None or not re.fullmatch(r"@[A-Za-z]+|\S+(\s+\S+){4,5}", cron, re.ASCII):
    count = len((cron or "").split())
    return (f"{count} field(s): a cron has 5 (minute hour day month weekday) or 6 "
            "(seconds first), or is an alias such as @hourly")
try:
    croniter.expand(cron, second_at_beginning=True)
except CroniterError as exc:
    return str(exc)
except Exception as exc:  # croniter.is_valid would raise this into the scheduler
    return f"{type(exc).__name__}: {exc}"
try:
    croniter(cron, datetime(2000, 1, 1, tzinfo=timezone.utc),
             second_at_beginning=True).get_next(datetime)
except CroniterBadDateError:
    return "it never fires: no date matches it"
return None
$$;

-- Every write of a schedule's cron, by any role and not only through
-- register_schedule, is one the scheduler can run: a cron it refuses stops every worker
-- that applies schedules from starting.
CREATE OR REPLACE FUNCTION concord._schedules_cron_is_valid()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    problem text := concord._cron_problem(NEW.cron);
BEGIN
    IF problem IS NOT null THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', CONSTRAINT = 'a_schedule_cron_is_valid',
            TABLE = 'schedules',
            MESSAGE = format('schedule %s: cron %L is not valid: %s', NEW.schedule_name, NEW.cron,
                             problem),
            HINT = 'Five fields (minute hour day month weekday), six with seconds first, or an '
                   'alias such as @hourly, as DBOS''s scheduler (croniter) reads them.';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER schedules_cron_is_valid
BEFORE INSERT OR UPDATE OF cron ON concord.schedules
FOR EACH ROW EXECUTE FUNCTION concord._schedules_cron_is_valid();

CREATE OR REPLACE FUNCTION concord.register_schedule(spec jsonb)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
DECLARE
    name text;
    problem text;
    project uuid := concord._chosen_project();
BEGIN
    -- a schedule submits in its project: its owners and admins keep it
    IF NOT concord._is_operator() THEN
        PERFORM concord._acting_principal(null, project, ARRAY['owner', 'admin']);
    END IF;
    PERFORM concord._require_spec(
        'schedule', spec, ARRAY['name', 'cron', 'command_type', 'payload_template', 'queue', 'enabled']);
    name := concord._require('name', spec ->> 'name');
    problem := concord._cron_problem(spec ->> 'cron');
    IF problem IS NOT null THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', CONSTRAINT = 'a_schedule_cron_is_valid',
            TABLE = 'schedules',
            MESSAGE = format('schedule %s: cron %L is not valid: %s', name, spec ->> 'cron', problem),
            HINT = 'Five fields (minute hour day month weekday), six with seconds first, or an '
                   'alias such as @hourly, as DBOS''s scheduler (croniter) reads them.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM concord.command_types AS t WHERE t.command_type = spec ->> 'command_type') THEN
        RAISE EXCEPTION USING ERRCODE = 'CN009', CONSTRAINT = 'command_type_is_registered',
            MESSAGE = format('unknown command type %L', spec ->> 'command_type');
    END IF;
    IF spec ? 'queue' AND NOT EXISTS (SELECT 1 FROM concord.runtime_queues AS q WHERE q.queue_name = spec ->> 'queue') THEN
        RAISE EXCEPTION USING ERRCODE = 'CN009', CONSTRAINT = 'the_queue_is_registered',
            MESSAGE = format('unknown queue %L', spec ->> 'queue'),
            HINT = 'Add it with concord.register_queue(spec).';
    END IF;
    BEGIN
        INSERT INTO concord.schedules AS s (
            schedule_name, cron, command_type, payload_template, queue_name, enabled, project_id
        )
        VALUES (name, concord._require('cron', spec ->> 'cron'), spec ->> 'command_type',
                coalesce(spec -> 'payload_template', '{}'), coalesce(spec ->> 'queue', 'scheduled_maintenance'),
                coalesce((spec ->> 'enabled')::boolean, true), project)
        ON CONFLICT (schedule_name) DO UPDATE
        SET cron = excluded.cron, command_type = excluded.command_type,
            payload_template = excluded.payload_template, queue_name = excluded.queue_name,
            enabled = excluded.enabled, updated_at = now()
        WHERE s.project_id = excluded.project_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'CN011', CONSTRAINT = 'a_schedule_name_is_one_projects',
                MESSAGE = format('schedule %s belongs to another project', name),
                HINT = 'Schedule names are shared by every project: choose another (prefix it with yours).';
        END IF;
    EXCEPTION WHEN insufficient_privilege THEN
        -- another project's schedule, which row security hides
        RAISE EXCEPTION USING ERRCODE = 'CN011', CONSTRAINT = 'a_schedule_name_is_one_projects',
            MESSAGE = format('schedule %s belongs to another project', name),
            HINT = 'Schedule names are shared by every project: choose another (prefix it with yours).';
    WHEN check_violation OR invalid_text_representation THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', CONSTRAINT = 'schedule_spec_is_valid',
            MESSAGE = format('schedule %s is invalid: %s', name, SQLERRM),
            HINT = 'name is a lowercase identifier; cron has 5 fields (or 6 with seconds first, or is an @alias); '
                   'payload_template is an object; enabled is a boolean.';
    END;
    RETURN name;
END
$$;

COMMENT ON FUNCTION concord.register_schedule(jsonb) IS
'Create or replace a schedule (spec 84): {name, cron (5 fields, 6 with seconds first, or an '
'@alias, as DBOS''s scheduler reads them: one it cannot run or that never fires is refused), '
'command_type, payload_template, queue (default scheduled_maintenance), enabled}, in the chosen '
'project (use_project), whose commands it submits; its owners and admins (or an operator) may. A '
'name another project uses is refused (CN011). Workers apply schedules when they start.';

CREATE OR REPLACE FUNCTION concord.submit_scheduled(schedule_name text, tick timestamptz)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
#variable_conflict use_variable
DECLARE
    s concord.schedules%ROWTYPE;
    tick_text text;
    payload jsonb;
    submitted record;
BEGIN
    PERFORM concord._require('schedule_name', schedule_name);
    IF tick IS null THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', CONSTRAINT = 'the_schedule_tick_is_given',
            MESSAGE = 'tick is required';
    END IF;
    SELECT * INTO s FROM concord.schedules AS x WHERE x.schedule_name = schedule_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', CONSTRAINT = 'the_schedule_exists',
            MESSAGE = format('schedule %s not found', schedule_name);
    END IF;
    -- A tick already in flight when the schedule was disabled submits nothing.
    IF NOT s.enabled THEN
        RETURN null;
    END IF;
    tick_text := to_char(tick AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
    payload := replace(replace(s.payload_template::text, '{{tick}}', tick_text),
                       '{{schedule_name}}', s.schedule_name)::jsonb;
    SELECT * INTO submitted FROM concord._submit_command(
        s.command_type, payload, 'schedule:' || s.schedule_name, 'schedule',
        jsonb_build_object('schedule_name', s.schedule_name, 'tick', tick_text),
        'schedule:' || s.schedule_name || ':' || tick_text, null, s.project_id, null);
    RETURN submitted.command_id;
END
$$;

COMMENT ON FUNCTION concord.submit_scheduled(text, timestamptz) IS
'One tick of a schedule: submit its command (payload_template with {{tick}} and '
'{{schedule_name}} filled in) with the idempotency key schedule:<name>:<tick>, so two workers '
'firing the same tick submit it once. Returns the command id, or NULL when the schedule is '
'disabled.';
