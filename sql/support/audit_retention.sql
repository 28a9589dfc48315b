-- Retention of the audit trail: a month partition of concord.domain_events
-- whose whole range is older than concord.audit_retention.retain_for is
-- exported by the client (concord audit retain: a file a partition and its
-- sha256) and then dropped here, the drop itself audited. The audit trail is
-- every organisation's: only an operator keeps it.

CREATE OR REPLACE FUNCTION concord._require_audit_operator()
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF NOT concord._is_operator() THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'the_audit_trail_is_retained_by_an_operator',
            MESSAGE = format('%s may not export or drop the audit trail, nor set its retention',
                             coalesce(concord._principal(), session_user::text)),
            HINT = 'Operators (a superuser, or a concord_admin login mapped to no principal) keep the '
                   'audit trail: it records every organisation.';
    END IF;
END
$$;

-- The moment a partition must end by to be due: now() less the retention age;
-- -infinity (nothing due) with no age, or with an age past the calendar's
-- start (now() less it is out of range: such an age keeps everything).
CREATE OR REPLACE FUNCTION concord._audit_retention_cutoff(retain interval)
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF retain IS null THEN
        RETURN timestamptz '-infinity';
    END IF;
    RETURN now() - retain;
EXCEPTION WHEN datetime_field_overflow THEN
    RETURN timestamptz '-infinity';
END
$$;

CREATE OR REPLACE FUNCTION concord.set_audit_retention(retain_for interval)
RETURNS interval
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
    previous interval;
BEGIN
    PERFORM concord._require_audit_operator();
    SELECT r.retain_for INTO previous FROM concord.audit_retention AS r FOR UPDATE;
    UPDATE concord.audit_retention AS r
    SET retain_for = set_audit_retention.retain_for, updated_by = concord._actor(), updated_at = now();
    PERFORM concord._audit(
        'audit_retention_set', null, null, 'audit_retention', 'domain_events', null, null,
        jsonb_build_object('retain_for', set_audit_retention.retain_for::text, 'previous', previous::text)
    );
    RETURN set_audit_retention.retain_for;
END
$$;

COMMENT ON FUNCTION concord.set_audit_retention(interval) IS
'Sets how long the audit trail is kept (retain_for, e.g. ''400 days''; NULL keeps everything) and '
'records the change in the audit trail. Operators only. Errors: CN012 '
'(the_audit_trail_is_retained_by_an_operator), 23514 (audit_retention_is_positive).';

CREATE OR REPLACE FUNCTION concord.audit_partitions()
RETURNS TABLE (
    partition_name text, range_from timestamptz, range_to timestamptz, estimated_rows bigint,
    is_due boolean
)
LANGUAGE plpgsql
STABLE
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
    cutoff timestamptz := concord._audit_retention_cutoff(
        (SELECT r.retain_for FROM concord.audit_retention AS r)
    );
BEGIN
    PERFORM concord._require_audit_operator();
    RETURN QUERY
    SELECT
        p.partition_name, nullif(p.range_from, '-infinity'), p.range_to,
        greatest(c.reltuples, 0)::bigint,
        NOT p.is_default AND p.range_to <= cutoff
    FROM concord._audit_partitions() AS p
    INNER JOIN pg_catalog.pg_class AS c
        ON c.oid = format('concord_audit.%I', p.partition_name)::regclass
    ORDER BY p.range_to NULLS LAST;
END
$$;

COMMENT ON FUNCTION concord.audit_partitions() IS
'The audit trail''s partitions: name, range (from inclusive, to exclusive; the initial partition '
'has no start, the default one no range), the planner''s row estimate, and is_due: the whole '
'range is older than the retention age, so concord audit retain exports and drops it. Operators '
'only. Errors: CN012 (the_audit_trail_is_retained_by_an_operator).';

-- The named partition, or a refusal: the default partition is never dropped.
CREATE OR REPLACE FUNCTION concord._audit_partition(partition_name text)
RETURNS TABLE (range_from timestamptz, range_to timestamptz)
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT p.range_from, p.range_to FROM concord._audit_partitions() AS p
    WHERE p.partition_name = _audit_partition.partition_name AND NOT p.is_default;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'an_audit_partition_is_a_month_of_the_audit_trail',
            MESSAGE = format('%s is not a partition of the audit trail with a range',
                             coalesce(partition_name, 'null')),
            HINT = 'SELECT * FROM concord.audit_partitions() lists them (the default partition is '
                   'never dropped).';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION concord.audit_partition_rows(partition_name text)
RETURNS SETOF concord.domain_events
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
BEGIN
    PERFORM concord._require_audit_operator();
    PERFORM concord._audit_partition(partition_name);
    -- The partition itself, not the parent: an export holds every row, whatever
    -- row-level security would show the caller.
    RETURN QUERY EXECUTE format('SELECT * FROM concord_audit.%I ORDER BY event_seq', partition_name);
END
$$;

COMMENT ON FUNCTION concord.audit_partition_rows(text) IS
'Every row of one audit partition, in event_seq order: what concord audit retain exports '
'(COPY (SELECT * FROM concord.audit_partition_rows(name)) TO STDOUT). Operators only. Errors: '
'CN012 (the_audit_trail_is_retained_by_an_operator), CN006 '
'(an_audit_partition_is_a_month_of_the_audit_trail).';

CREATE OR REPLACE FUNCTION concord.drop_audit_partition(
    partition_name text, exported_rows bigint, sha256 text, file_name text
)
RETURNS jsonb
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
    part record;
    retain interval;
    counted bigint;
    dropped jsonb;
BEGIN
    PERFORM concord._require_audit_operator();
    PERFORM concord._require('file_name', file_name);
    IF sha256 IS null OR sha256 !~ '^[0-9a-f]{64}$' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'an_audit_export_names_its_sha256',
            MESSAGE = format('sha256 must be 64 lowercase hex digits, not %s', coalesce(sha256, 'null')),
            HINT = 'Pass the sha256 of the exported file (sha256sum prints it).';
    END IF;
    SELECT * INTO part FROM concord._audit_partition(partition_name);
    -- Serialises with set_audit_retention: the age checked is the age in force.
    SELECT r.retain_for INTO retain FROM concord.audit_retention AS r FOR SHARE;
    IF part.range_to > concord._audit_retention_cutoff(retain) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'an_audit_partition_is_dropped_only_past_its_retention',
            MESSAGE = format('%s ends %s: not wholly older than the retention age (%s)', partition_name,
                             part.range_to, coalesce(retain::text, 'none: the audit trail is kept')),
            HINT = 'SELECT * FROM concord.audit_partitions() says which partitions are due; '
                   'concord.set_audit_retention sets the age.';
    END IF;
    -- Writers of that month wait from here; the rows counted are the rows dropped.
    EXECUTE format('LOCK TABLE concord_audit.%I IN SHARE MODE', partition_name);
    EXECUTE format('SELECT count(*) FROM concord_audit.%I', partition_name) INTO counted;
    IF exported_rows IS null OR counted <> exported_rows THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'an_audit_partition_is_dropped_only_as_exported',
            MESSAGE = format('%s holds %s rows, the export %s', partition_name, counted,
                             coalesce(exported_rows::text, 'null')),
            HINT = 'Rows arrived after the export, or the export is another partition''s: export it again.';
    END IF;
    dropped := jsonb_build_object(
        'partition', partition_name, 'range_from', part.range_from, 'range_to', part.range_to,
        'rows', counted, 'sha256', sha256, 'file', file_name, 'retain_for', retain::text
    );
    -- Recorded in this month's partition, which is never due (retain_for > 0).
    PERFORM concord._audit(
        'audit_partition_dropped', null, null, 'audit_partition', partition_name, null, null, dropped
    );
    EXECUTE format('DROP TABLE concord_audit.%I', partition_name);
    RETURN dropped;
END
$$;

COMMENT ON FUNCTION concord.drop_audit_partition(text, bigint, text, text) IS
'Drops one month partition of the audit trail after its export: partition_name (from '
'concord.audit_partitions), exported_rows (rows in the exported file), sha256 and file_name (the '
'file''s checksum and name, kept in the audit row that records the drop). Refuses unless the whole '
'range is older than the retention age and the partition holds exactly exported_rows rows (counted '
'under a lock). Returns what it recorded. Operators only; concord audit retain exports and '
'calls it. '
'Errors: CN012 (the_audit_trail_is_retained_by_an_operator), CN006 '
'(an_audit_partition_is_a_month_of_the_audit_trail), CN011 '
'(an_audit_partition_is_dropped_only_past_its_retention, '
'an_audit_partition_is_dropped_only_as_exported), '
'CN008 (an_audit_export_names_its_sha256, required_argument_is_not_blank).';

CREATE OR REPLACE FUNCTION concord._rule_book_audit_retention()
RETURNS TABLE (rule text, table_name text, sqlstate text, meaning text)
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    VALUES
        ('the_audit_trail_is_retained_by_an_operator', null::text, 'CN012',
         'Only an operator sets the audit trail''s retention, exports a partition or drops one: it '
         'records every organisation.'),
        ('an_audit_partition_is_a_month_of_the_audit_trail', null, 'CN006',
         'A partition named for export or drop is a partition of domain_events with a range; the '
         'default partition is never dropped.'),
        ('an_audit_partition_is_dropped_only_past_its_retention', 'domain_events', 'CN011',
         'A partition of the audit trail is dropped only when its whole range is older than the '
         'retention age (concord.audit_retention).'),
        ('an_audit_partition_is_dropped_only_as_exported', 'domain_events', 'CN011',
         'A partition is dropped only when it holds exactly the rows its export holds, counted under '
         'a lock; the drop is recorded in the audit trail with the export''s sha256 and file.'),
        ('an_audit_export_names_its_sha256', null, 'CN008',
         'A drop names the sha256 of the file the partition was exported to.'),
        ('audit_partitions_are_made_at_most_24_months_ahead', null, 'CN008',
         'The partition upkeep creates at most 24 months ahead.')
$$;
