-- The partitions of the audit trail (concord.domain_events, one a month of
-- created_at in UTC, in schema concord_audit; migration 0009): which exist,
-- and the upkeep that creates the coming months and keeps every partition
-- guarded as the parent is.

-- Every partition with its range; the initial one starts at -infinity, the
-- default one has no range.
CREATE OR REPLACE FUNCTION concord._audit_partitions()
RETURNS TABLE (
    partition_name text, range_from timestamptz, range_to timestamptz, is_default boolean
)
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
-- bounds go through text: written and read in UTC, in ISO
SET TimeZone = 'UTC'
SET DateStyle = 'ISO, YMD'
AS $$
BEGIN
    RETURN QUERY
    SELECT
        c.relname::text,
        CASE b.bound[1] WHEN 'MINVALUE' THEN '-infinity'::timestamptz ELSE btrim(b.bound[1], '''')::timestamptz END,
        CASE b.bound[2] WHEN 'MAXVALUE' THEN 'infinity'::timestamptz ELSE btrim(b.bound[2], '''')::timestamptz END,
        b.bound IS null
    FROM pg_catalog.pg_inherits AS i
    INNER JOIN pg_catalog.pg_class AS c ON i.inhrelid = c.oid
    CROSS JOIN LATERAL (
        SELECT regexp_match(pg_catalog.pg_get_expr(c.relpartbound, c.oid),
                            '^FOR VALUES FROM \((.*)\) TO \((.*)\)$') AS bound
    ) AS b
    WHERE i.inhparent = 'concord.domain_events'::regclass
    ORDER BY 3 NULLS LAST;
END
$$;

-- A partition's own guards: a TRUNCATE trigger (statement triggers are not
-- cloned from the parent) and, but on the initial partition which keeps 0004's
-- NOT VALID ones, the foreign keys to agent and swarm runs (PostgreSQL 15
-- cannot declare them on the parent: see migrations/0009_audit_partitions.sql).
CREATE OR REPLACE FUNCTION concord._guard_audit_partition(partition_name text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    partition regclass := format('concord_audit.%I', partition_name)::regclass;
BEGIN
    IF NOT EXISTS (
        SELECT FROM pg_catalog.pg_trigger AS t
        WHERE t.tgrelid = partition AND t.tgname = 'events_are_not_truncated'
    ) THEN
        EXECUTE format(
            'CREATE TRIGGER events_are_not_truncated BEFORE TRUNCATE ON %s '
            'FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write(%L, %L)',
            partition, 'is append-only', 'Record a correction as a new event instead.'
        );
    END IF;
    IF NOT EXISTS (
        SELECT FROM pg_catalog.pg_constraint AS k
        WHERE k.conrelid = partition AND k.conname = 'domain_events_agent_run_fkey'
    ) THEN
        EXECUTE format(
            'ALTER TABLE %s ADD CONSTRAINT domain_events_agent_run_fkey FOREIGN KEY (agent_run_id) '
            'REFERENCES concord.agent_runs (agent_run_id)', partition
        );
    END IF;
    IF NOT EXISTS (
        SELECT FROM pg_catalog.pg_constraint AS k
        WHERE k.conrelid = partition AND k.conname = 'domain_events_swarm_run_fkey'
    ) THEN
        EXECUTE format(
            'ALTER TABLE %s ADD CONSTRAINT domain_events_swarm_run_fkey FOREIGN KEY (swarm_run_id) '
            'REFERENCES concord.swarm_runs (swarm_run_id)', partition
        );
    END IF;
END
$$;

-- One month's partition, named domain_events_YYYY_MM, guarded.
CREATE OR REPLACE FUNCTION concord._create_audit_partition(month_start timestamptz)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
-- bounds go through text: written and read in UTC, in ISO
SET TimeZone = 'UTC'
SET DateStyle = 'ISO, YMD'
AS $$
DECLARE
    -- to_char's YYYY is the year without its era: a month BC is named apart.
    name text := 'domain_events_' || to_char(month_start AT TIME ZONE 'UTC', 'YYYY_MM')
        || CASE WHEN month_start < timestamptz '0001-01-01 00:00:00+00' THEN '_bc' ELSE '' END;
BEGIN
    EXECUTE format(
        'CREATE TABLE concord_audit.%I PARTITION OF concord.domain_events FOR VALUES FROM (%L) TO (%L)',
        name, month_start, (month_start AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC'
    );
    PERFORM concord._guard_audit_partition(name);
    RETURN name;
END
$$;

-- Whether a row dated created_at can have a month partition: infinity and
-- -infinity have no month, and the last month PostgreSQL holds has no end to
-- bound one. Such rows stay in the default partition (a retention never drops
-- them), or the upkeep would fail on them for good.
CREATE OR REPLACE FUNCTION concord._audit_month_is_bounded(created_at timestamptz)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT isfinite(created_at) AND created_at < timestamptz '294276-12-01 00:00:00+00'
$$;

-- The default partition holds rows no month partition covered (the upkeep did
-- not run for months, or a row dated in a dropped month). A month partition
-- cannot be created while the default holds rows of that month, so the rows
-- move out: the default is detached, each of its months gets its partition
-- and its rows, an empty default takes its place, the rows no month can hold
-- go back to it, and the old default is dropped. No row changes; the table
-- stays locked against writers until commit.
CREATE OR REPLACE FUNCTION concord._empty_audit_default_partition()
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
-- bounds go through text: written and read in UTC, in ISO
SET TimeZone = 'UTC'
SET DateStyle = 'ISO, YMD'
AS $$
DECLARE
    month_start timestamptz;
    name text;
    created integer := 0;
    emptied boolean := false;
    -- the detached default, named so a new default can take the old name
    old_default constant text := 'domain_events_default_emptied';
BEGIN
    IF to_regclass('concord_audit.domain_events_default') IS NOT null THEN
        IF NOT EXISTS (
            SELECT FROM concord_audit.domain_events_default AS d
            WHERE concord._audit_month_is_bounded(d.created_at)
        ) THEN
            RETURN 0;
        END IF;
        ALTER TABLE concord.domain_events DETACH PARTITION concord_audit.domain_events_default;
        EXECUTE format('ALTER TABLE concord_audit.domain_events_default RENAME TO %I', old_default);
        emptied := true;
        FOR month_start IN EXECUTE format(
            'SELECT DISTINCT date_trunc(''month'', d.created_at AT TIME ZONE ''UTC'') AT TIME ZONE ''UTC'' '
            'FROM concord_audit.%I AS d WHERE concord._audit_month_is_bounded(d.created_at) ORDER BY 1',
            old_default
        ) LOOP
            name := concord._create_audit_partition(month_start);
            created := created + 1;
            EXECUTE format(
                'INSERT INTO concord_audit.%I SELECT * FROM concord_audit.%I AS d '
                'WHERE d.created_at >= %L AND d.created_at < %L',
                name, old_default, month_start, (month_start AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC'
            );
        END LOOP;
    END IF;
    CREATE TABLE concord_audit.domain_events_default PARTITION OF concord.domain_events DEFAULT;
    PERFORM concord._guard_audit_partition('domain_events_default');
    IF emptied THEN
        EXECUTE format(
            'INSERT INTO concord_audit.domain_events_default SELECT * FROM concord_audit.%I AS d '
            'WHERE NOT concord._audit_month_is_bounded(d.created_at)', old_default
        );
        EXECUTE format('DROP TABLE concord_audit.%I', old_default);
    END IF;
    RETURN created;
END
$$;

CREATE OR REPLACE FUNCTION concord.maintain_audit_partitions(months_ahead integer DEFAULT 2)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
DECLARE
    this_month timestamptz := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    month_start timestamptz;
    created integer := 0;
    partition record;
BEGIN
    IF months_ahead IS null OR months_ahead NOT BETWEEN 0 AND 24 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'audit_partitions_are_made_at_most_24_months_ahead',
            MESSAGE = format('months_ahead must be between 0 and 24, not %s', coalesce(months_ahead::text, 'null')),
            HINT = 'Partitions made far ahead cost every query that reads the audit trail by command.';
    END IF;
    -- Nothing to do is the usual answer, found without a lock or DDL.
    IF to_regclass('concord_audit.domain_events_default') IS NOT null
       AND NOT EXISTS (
           SELECT FROM concord_audit.domain_events_default AS d
           WHERE concord._audit_month_is_bounded(d.created_at)
       )
       AND (
           SELECT count(*) FROM generate_series(0, months_ahead) AS g (n)
           WHERE EXISTS (
               SELECT FROM concord._audit_partitions() AS p
               WHERE NOT p.is_default
                 AND p.range_from <= (this_month AT TIME ZONE 'UTC' + make_interval(months => g.n)) AT TIME ZONE 'UTC'
                 AND p.range_to > (this_month AT TIME ZONE 'UTC' + make_interval(months => g.n)) AT TIME ZONE 'UTC'
           )
       ) = months_ahead + 1
       AND NOT EXISTS (
           SELECT FROM concord._audit_partitions() AS p
           WHERE NOT EXISTS (
               SELECT FROM pg_catalog.pg_trigger AS t
               WHERE t.tgrelid = format('concord_audit.%I', p.partition_name)::regclass
                 AND t.tgname = 'events_are_not_truncated'
           )
       ) THEN
        RETURN 0;
    END IF;
    -- Two runners must not race to create one month; writers wait while the
    -- default partition is emptied, never fail.
    PERFORM pg_advisory_xact_lock(hashtext('concord.maintain_audit_partitions'));
    created := concord._empty_audit_default_partition();
    FOR n IN 0..months_ahead LOOP
        month_start := (this_month AT TIME ZONE 'UTC' + make_interval(months => n)) AT TIME ZONE 'UTC';
        IF NOT EXISTS (
            SELECT FROM concord._audit_partitions() AS p
            WHERE NOT p.is_default
              AND p.range_from < (month_start AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC'
              AND p.range_to > month_start
        ) THEN
            PERFORM concord._create_audit_partition(month_start);
            created := created + 1;
        END IF;
    END LOOP;
    FOR partition IN SELECT p.partition_name FROM concord._audit_partitions() AS p LOOP
        PERFORM concord._guard_audit_partition(partition.partition_name);
    END LOOP;
    RETURN created;
END
$$;

COMMENT ON FUNCTION concord.maintain_audit_partitions(integer) IS
'Creates the audit trail''s month partitions from this month (UTC) to months_ahead months ahead '
'(default 2), moves any rows the default partition caught into month partitions of their own, and '
'gives every partition its TRUNCATE guard. Returns how many partitions it created; 0, without a '
'lock, when nothing was missing. Run by concord migrate and concord audit retain; run it '
'monthly (a worker or cron) so rows do not wait in the default partition. Errors: CN008 '
'(audit_partitions_are_made_at_most_24_months_ahead).';
