-- Concord 0009: the audit trail (concord.domain_events) is partitioned by
-- month on created_at, so a retention policy can drop a whole month after
-- exporting it (docs/explanation/audit-retention.md says why PostgreSQL's own
-- declarative partitioning and not pg_partman).
--
-- No row is copied (but rows dated after this month, which move to the
-- default partition): the existing table becomes the first partition,
-- concord_audit.domain_events_initial, covering everything up to the end of
-- the month of its newest row; later months get a partition each
-- (concord.maintain_audit_partitions, sql/support/audit_partitions.sql), and
-- a DEFAULT partition catches a row no month partition covers, so an insert
-- never fails for want of a partition. At its end, the indexes that keep
-- the list pages flat as the history grows.
--
-- Partitions live in their own schema, concord_audit: they are storage, not
-- API. The parent keeps its name, columns, defaults, checks, comments,
-- indexes, foreign key to commands and row-level security; the views reading
-- it are dropped here and recreated by the sql/ files, as are its triggers
-- and policy.
--
-- What changes:
-- * The primary key is (event_id, created_at): PostgreSQL requires a
--   partitioned table's unique constraints to include the partition key.
--   event_id stays unique in practice: it is gen_random_uuid() by default and
--   no writer passes one (rows are written only by the SECURITY DEFINER API).
-- * event_seq is a new identity on the parent, continuing after the old one.
-- * The foreign keys to agent_runs and swarm_runs are declared per partition,
--   not on the parent: PostgreSQL 15 cannot hold a NOT VALID foreign key on a
--   partitioned table, and rows from before 0004 may name agent runs that
--   were never recorded (0004 kept them, NOT VALID). The initial partition
--   keeps those NOT VALID keys; each month partition gets valid ones. Every
--   new row is checked, as before, under the same constraint names.

-- Partition bounds are written as text (format %L): in UTC and ISO, or a
-- session's zone abbreviation (IST: India, Israel or Ireland) could be read
-- back as another zone's and move a bound off its month.
SET LOCAL TimeZone = 'UTC';
SET LOCAL DateStyle = 'ISO, YMD';

CREATE SCHEMA concord_audit;

COMMENT ON SCHEMA concord_audit IS
'The partitions of concord.domain_events (one a month, the initial one and a default). '
'Read and write the audit trail through concord.domain_events, never a partition.';

-- The views reading the table (and the views reading those) follow its OID:
-- dropped here, deepest first, and recreated by the sql/ files on the new
-- parent (a fresh install has none yet). Only Concord's own: a view of
-- another schema reading domain_events makes this migration fail rather than
-- vanish.
DO $$
DECLARE
    dependent record;
BEGIN
    FOR dependent IN
        WITH RECURSIVE reader (oid, depth) AS (
            SELECT 'concord.domain_events'::regclass::oid, 0
            UNION
            SELECT r.ev_class, reader.depth + 1
            FROM reader
            INNER JOIN pg_catalog.pg_depend AS d
                ON d.refobjid = reader.oid AND d.classid = 'pg_catalog.pg_rewrite'::regclass
            INNER JOIN pg_catalog.pg_rewrite AS r ON d.objid = r.oid
            WHERE r.ev_class <> reader.oid
        )
        SELECT reader.oid::regclass AS name, max(reader.depth) AS depth
        FROM reader
        INNER JOIN pg_catalog.pg_class AS c ON reader.oid = c.oid
        WHERE reader.depth > 0 AND c.relnamespace = 'concord'::regnamespace
        GROUP BY reader.oid
        ORDER BY max(reader.depth) DESC
    LOOP
        EXECUTE format('DROP VIEW %s', dependent.name);
    END LOOP;
END
$$;

-- The existing table becomes the initial partition. Its triggers and policy
-- are the parent's to hold: the sql/ files put them back there (row triggers
-- reach every partition from the parent; concord.maintain_audit_partitions
-- gives each partition its own TRUNCATE guard).
DROP TRIGGER IF EXISTS events_are_append_only ON concord.domain_events;
DROP TRIGGER IF EXISTS events_are_not_truncated ON concord.domain_events;
DROP TRIGGER IF EXISTS agent_step_audit_rows_refer_to_memories_by_reference
ON concord.domain_events;
DROP TRIGGER IF EXISTS domain_events_notify_watchers ON concord.domain_events;
DROP POLICY IF EXISTS events_are_seen_with_what_they_record ON concord.domain_events;
ALTER TABLE concord.domain_events NO FORCE ROW LEVEL SECURITY;
ALTER TABLE concord.domain_events DISABLE ROW LEVEL SECURITY;

ALTER TABLE concord.domain_events RENAME TO domain_events_initial;
ALTER TABLE concord.domain_events_initial SET SCHEMA concord_audit;
ALTER INDEX concord_audit.domain_events_command_idx RENAME TO domain_events_initial_command_idx;
ALTER INDEX concord_audit.domain_events_agent_idx RENAME TO domain_events_initial_agent_idx;
ALTER INDEX concord_audit.domain_events_swarm_idx RENAME TO domain_events_initial_swarm_idx;

CREATE TEMPORARY TABLE audit_seq_0009 ON COMMIT DROP AS
SELECT coalesce(
    (SELECT max(event_seq) FROM concord_audit.domain_events_initial),
    0
) AS last_seq;

ALTER TABLE concord_audit.domain_events_initial ALTER COLUMN event_seq DROP IDENTITY;
ALTER TABLE concord_audit.domain_events_initial DROP CONSTRAINT domain_events_pkey;
ALTER TABLE concord_audit.domain_events_initial
ADD CONSTRAINT domain_events_initial_pkey PRIMARY KEY (event_id, created_at);

CREATE TABLE concord.domain_events (
    event_id uuid NOT NULL DEFAULT gen_random_uuid(),
    event_seq bigint GENERATED ALWAYS AS IDENTITY,
    command_id uuid NULL,
    agent_run_id uuid NULL,
    swarm_run_id uuid NULL,
    purpose text NOT NULL
    CONSTRAINT purpose_is_known CHECK (purpose IN ('event', 'audit', 'agent_step')),
    event_type text NOT NULL
    CONSTRAINT event_type_is_not_blank CHECK (btrim(event_type) <> ''),
    target_type text NULL,
    target_id text NULL,
    from_status text NULL,
    to_status text NULL,
    reason text NULL,
    payload jsonb NOT NULL DEFAULT '{}',
    actor text NOT NULL CONSTRAINT actor_is_not_blank CHECK (btrim(actor) <> ''),
    trace_id text NOT NULL,
    step_index integer NULL,
    tool_name text NULL,
    latency_ms integer NULL,
    token_usage jsonb NULL,
    cost_units numeric NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    asserted_by text NULL,
    CONSTRAINT domain_events_pkey PRIMARY KEY (event_id, created_at),
    CONSTRAINT domain_events_command_id_fkey
    FOREIGN KEY (command_id) REFERENCES concord.commands (command_id)
) PARTITION BY RANGE (created_at);

CREATE INDEX domain_events_command_idx ON concord.domain_events (command_id, event_seq);
CREATE INDEX domain_events_agent_idx ON concord.domain_events (agent_run_id)
WHERE agent_run_id IS NOT null;
CREATE INDEX domain_events_swarm_idx ON concord.domain_events (swarm_run_id)
WHERE swarm_run_id IS NOT null;

SELECT
    setval(
        pg_get_serial_sequence('concord.domain_events', 'event_seq'),
        greatest(last_seq, 1),
        last_seq > 0
    )
FROM audit_seq_0009;

-- Rows dated after this month (a clock set wrong, infinity) would stretch
-- the initial partition over the months to come, or past the last month
-- PostgreSQL can bound: they leave it for the default partition (below), and
-- the upkeep gives each its month's partition. The table's triggers are gone
-- (above), so they can leave it; nothing else changes in them.
CREATE TEMPORARY TABLE audit_ahead_0009 ON COMMIT DROP AS
SELECT
    i.event_id,
    i.event_seq,
    i.command_id,
    i.agent_run_id,
    i.swarm_run_id,
    i.purpose,
    i.event_type,
    i.target_type,
    i.target_id,
    i.from_status,
    i.to_status,
    i.reason,
    i.payload,
    i.actor,
    i.trace_id,
    i.step_index,
    i.tool_name,
    i.latency_ms,
    i.token_usage,
    i.cost_units,
    i.created_at,
    i.asserted_by
FROM concord_audit.domain_events_initial AS i
WHERE
    i.created_at
    >= (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';

DELETE FROM concord_audit.domain_events_initial AS i
WHERE
    i.created_at
    >= (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';

-- The initial partition: everything recorded so far, up to the end of the
-- month of its newest row, and at least up to this month (UTC): this month
-- gets a partition of its own unless the initial one already holds rows of it.
-- Attaching reads every row once against the bound; the table's own checks,
-- foreign key to commands and indexes match the parent's and are adopted, none
-- rebuilt.
DO $$
DECLARE
    this_month timestamptz := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    initial_end timestamptz;
BEGIN
    SELECT greatest(
        this_month,
        (date_trunc('month', max(i.created_at) AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC'
    ) INTO initial_end
    FROM concord_audit.domain_events_initial AS i;
    EXECUTE format(
        'ALTER TABLE concord.domain_events ATTACH PARTITION concord_audit.domain_events_initial '
        'FOR VALUES FROM (MINVALUE) TO (%L)', initial_end
    );
    IF initial_end = this_month THEN
        EXECUTE format(
            'CREATE TABLE concord_audit.%I PARTITION OF concord.domain_events FOR VALUES FROM (%L) TO (%L)',
            'domain_events_' || to_char(this_month AT TIME ZONE 'UTC', 'YYYY_MM'), this_month,
            (this_month AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC'
        );
    END IF;
END
$$;

CREATE TABLE concord_audit.domain_events_default
PARTITION OF concord.domain_events DEFAULT;

INSERT INTO concord.domain_events (
    event_id, event_seq, command_id, agent_run_id, swarm_run_id, purpose, event_type, target_type,
    target_id, from_status, to_status, reason, payload, actor, trace_id, step_index, tool_name,
    latency_ms, token_usage, cost_units, created_at, asserted_by
) OVERRIDING SYSTEM VALUE
SELECT
    a.event_id,
    a.event_seq,
    a.command_id,
    a.agent_run_id,
    a.swarm_run_id,
    a.purpose,
    a.event_type,
    a.target_type,
    a.target_id,
    a.from_status,
    a.to_status,
    a.reason,
    a.payload,
    a.actor,
    a.trace_id,
    a.step_index,
    a.tool_name,
    a.latency_ms,
    a.token_usage,
    a.cost_units,
    a.created_at,
    a.asserted_by
FROM audit_ahead_0009 AS a;

ALTER TABLE concord.domain_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE concord.domain_events FORCE ROW LEVEL SECURITY;

-- Comments: the parent says what the partitions hold.
COMMENT ON TABLE concord.domain_events IS
'The append-only log of everything that happened (spec 25): audit rows for every state change, '
'events, and agent steps. Never updated or deleted; partitioned by month of created_at '
'(partitions in schema concord_audit), and a month older than the retention age '
'(concord.audit_retention) is dropped only after it was exported (concord.drop_audit_partition).';

DO $$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT a.attname, col_description(a.attrelid, a.attnum) AS description
        FROM pg_catalog.pg_attribute AS a
        WHERE a.attrelid = 'concord_audit.domain_events_initial'::regclass AND a.attnum > 0
          AND NOT a.attisdropped AND col_description(a.attrelid, a.attnum) IS NOT null
        ORDER BY a.attnum
    LOOP
        EXECUTE format('COMMENT ON COLUMN concord.domain_events.%I IS %L', c.attname, c.description);
    END LOOP;
    FOR c IN
        SELECT k.conname, obj_description(k.oid, 'pg_constraint') AS description
        FROM pg_catalog.pg_constraint AS k
        WHERE k.conrelid = 'concord_audit.domain_events_initial'::regclass AND k.contype = 'c'
          AND obj_description(k.oid, 'pg_constraint') IS NOT null
        ORDER BY k.conname
    LOOP
        EXECUTE format('COMMENT ON CONSTRAINT %I ON concord.domain_events IS %L', c.conname, c.description);
    END LOOP;
END
$$;

COMMENT ON COLUMN concord.domain_events.event_id IS
'The event''s id (gen_random_uuid(); the primary key is (event_id, created_at) because the table '
'is partitioned by created_at).';

COMMENT ON COLUMN concord.domain_events.created_at IS
'When the event was recorded; the partition key (a partition a month, UTC).';

-- ---------------------------------------------------------------------------
-- Retention: how old a month of the audit trail must be before it may be
-- exported and dropped. One row; NULL keeps everything.
-- ---------------------------------------------------------------------------
CREATE TABLE concord.audit_retention (
    singleton boolean PRIMARY KEY DEFAULT true
    CONSTRAINT audit_retention_is_one_row CHECK (singleton),
    retain_for interval NULL
    -- every part positive or zero: '1 month -29 days' is "longer than zero"
    -- yet makes a month due minutes after it ends, around March
    CONSTRAINT audit_retention_is_positive CHECK (
        retain_for > interval '0'
        AND date_part('year', retain_for) * 12 + date_part('month', retain_for) >= 0
        AND date_part('day', retain_for) >= 0
        AND retain_for - date_trunc('day', retain_for) >= interval '0'
    ),
    updated_by text NOT NULL DEFAULT current_user,
    updated_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO concord.audit_retention (retain_for, updated_by) VALUES (null, 'concord migrate');

COMMENT ON TABLE concord.audit_retention IS
'How long the audit trail (concord.domain_events) is kept: one row, set by '
'concord.set_audit_retention. A month partition whose whole range is older than retain_for may be '
'exported and dropped (concord audit retain).';

COMMENT ON COLUMN concord.audit_retention.singleton IS
'Always true: the table holds one row.';

COMMENT ON COLUMN concord.audit_retention.retain_for IS
'The age past which a whole month of the audit trail may be dropped after its export; NULL keeps '
'everything (the default).';

COMMENT ON COLUMN concord.audit_retention.updated_by IS
'Who set the retention last (the acting principal).';

COMMENT ON COLUMN concord.audit_retention.updated_at IS
'When the retention was set last.';

COMMENT ON CONSTRAINT audit_retention_is_one_row ON concord.audit_retention IS
'There is one retention setting.';

COMMENT ON CONSTRAINT audit_retention_is_positive ON concord.audit_retention IS
'A retention age is longer than zero, with no negative part (NULL keeps everything).';

-- ---------------------------------------------------------------------------
-- Indexes that keep the list pages flat as the history grows (issue 16
-- section 4, measured by make bench-scale; bench/README.md):
-- * list_commands pages newest first (created_at DESC, command_id DESC),
--   optionally by status: without an index on created_at every page read
--   and sorted every command.
-- * The console's swarm page reads a swarm's steps (agent_step_log by
--   swarm_run_id) and its swarms list takes the newest swarms: both scanned
--   whole tables.
-- * Two indexes each commands and agent_steps paid on every insert serve
--   nothing another does not: commands (project_id) is the leading column of
--   idempotency_key_is_unique (project_id, idempotency_key), which holds
--   every row; 0007 created agent_steps (created_command_id) again under
--   another name; agent_steps (agent_run_id) is the leading column of
--   one_step_per_index (agent_run_id, step_index).

CREATE INDEX commands_created_at_idx ON concord.commands (created_at, command_id);
CREATE INDEX commands_status_created_at_idx ON concord.commands (status, created_at, command_id);
DROP INDEX concord.commands_project_idx;

CREATE INDEX agent_steps_swarm_run_idx ON concord.agent_steps (swarm_run_id)
WHERE swarm_run_id IS NOT null;
DROP INDEX concord.idx_agent_steps_created_command;
DROP INDEX concord.idx_agent_steps_agent_run_id;

CREATE INDEX swarm_runs_created_at_idx ON concord.swarm_runs (created_at, swarm_run_id);
