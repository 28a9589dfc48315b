-- Schedules (spec 96): cron entries whose ticks become commands.

-- Whether a cron expression has 5 fields (minute hour day month weekday) or 6
-- (seconds first), each a list of *, n, a-b, with an optional /step, in range
-- (months and weekdays also by three-letter name).
CREATE OR REPLACE FUNCTION concord._cron_problem(cron text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    fields text[] := regexp_split_to_array(btrim(coalesce(cron, '')), '\s+');
    lows integer[];
    highs integer[];
    names text[] := ARRAY['', '', '', '', 'jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec',
                          'sun|mon|tue|wed|thu|fri|sat'];
    item text;
    m text[];
    offset_ integer;
BEGIN
    IF cardinality(fields) = 6 THEN
        lows := ARRAY[0, 0, 0, 1, 1, 0];
        highs := ARRAY[59, 59, 23, 31, 12, 7];
        offset_ := 0;
    ELSIF cardinality(fields) = 5 THEN
        lows := ARRAY[0, 0, 1, 1, 0];
        highs := ARRAY[59, 23, 31, 12, 7];
        offset_ := 1;
    ELSE
        RETURN format('%s field(s): a cron has 5 (minute hour day month weekday) or 6 (seconds first)',
                      cardinality(fields));
    END IF;
    FOR i IN 1 .. cardinality(fields) LOOP
        FOREACH item IN ARRAY string_to_array(lower(fields[i]), ',') LOOP
            m := regexp_match(item, '^(\*|\?|([0-9]+|[a-z]{3})(-([0-9]+|[a-z]{3}))?)(/([0-9]+))?$');
            IF m IS null
               OR (m[2] IS NOT null AND m[2] !~ '^[0-9]+$' AND m[2] !~ ('^(' || names[i + offset_] || ')$'))
               OR (m[4] IS NOT null AND m[4] !~ '^[0-9]+$' AND m[4] !~ ('^(' || names[i + offset_] || ')$'))
               OR (m[2] ~ '^[0-9]+$' AND m[2]::numeric NOT BETWEEN lows[i] AND highs[i])
               OR (m[4] ~ '^[0-9]+$' AND m[4]::numeric NOT BETWEEN lows[i] AND highs[i])
               OR (m[6] IS NOT null AND m[6]::numeric = 0) THEN
                RETURN format('field %s (%s) is not valid: %s', i, fields[i], item);
            END IF;
        END LOOP;
    END LOOP;
    RETURN null;
END
$$;

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
    project uuid := concord._chosen_project();
BEGIN
    -- a schedule submits in its project: its owners and admins keep it
    IF NOT concord._is_operator() THEN
        PERFORM concord._acting_principal(null, project, ARRAY['owner', 'admin']);
    END IF;
    PERFORM concord._require_spec(
        'schedule', spec, ARRAY['name', 'cron', 'command_type', 'payload_template', 'queue', 'enabled']);
    name := concord._require('name', spec ->> 'name');
    IF concord._cron_problem(spec ->> 'cron') IS NOT null THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', CONSTRAINT = 'a_schedule_cron_is_valid',
            MESSAGE = format('schedule %s: cron %L is not valid: %s', name, spec ->> 'cron',
                             concord._cron_problem(spec ->> 'cron')),
            HINT = 'Five fields (minute hour day month weekday), or six with seconds first; e.g. 0 * * * * *.';
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
            HINT = 'name is a lowercase identifier; cron has 5 fields (or 6 with seconds first); '
                   'payload_template is an object; enabled is a boolean.';
    END;
    RETURN name;
END
$$;

COMMENT ON FUNCTION concord.register_schedule(jsonb) IS
'Create or replace a schedule (spec 84): {name, cron (5 fields, or 6 with seconds first), '
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
