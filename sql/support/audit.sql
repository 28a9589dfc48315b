-- The one way audit rows are written, and the trigger function that refuses a
-- write to durable history.

-- The single writer of domain_events rows for state changes.
CREATE OR REPLACE FUNCTION concord._audit(
    event_type text,
    command_id uuid,
    trace_id text,
    target_type text,
    target_id text,
    from_status text,
    to_status text,
    payload jsonb DEFAULT '{}',
    actor text DEFAULT null
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    INSERT INTO concord.domain_events (
        command_id, purpose, event_type, target_type, target_id,
        from_status, to_status, reason, payload, actor, asserted_by, trace_id
    ) VALUES (
        _audit.command_id, 'audit', _audit.event_type, _audit.target_type, _audit.target_id,
        _audit.from_status, _audit.to_status, nullif(current_setting('concord.reason', true), ''),
        coalesce(_audit.payload, '{}'), concord._actor(_audit.actor), concord._asserted_by(),
        coalesce(_audit.trace_id, concord._new_trace_id())
    );
END
$$;

-- The one refusal for writes a table never accepts (CN007). Its trigger
-- names why: TG_ARGV[0] completes "<table> <why>", TG_ARGV[1] is the hint.
CREATE OR REPLACE FUNCTION concord._refuse_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    -- a partition's guard speaks for its partitioned table: the audit
    -- trail's months are storage, domain_events is the table a caller knows
    target regclass := coalesce(pg_catalog.pg_partition_root(TG_RELID), TG_RELID);
    target_name text;
    target_schema text;
BEGIN
    SELECT c.relname, n.nspname INTO target_name, target_schema
    FROM pg_catalog.pg_class AS c INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid
    WHERE c.oid = target;
    -- The trigger's name is the rule's name: triggers are named as sentences
    -- (commands_are_not_deleted, events_are_append_only).
    RAISE EXCEPTION USING
        ERRCODE = 'CN007',
        CONSTRAINT = TG_NAME,
        TABLE = target_name,
        SCHEMA = target_schema,
        MESSAGE = format('%s %s: %s is refused', target_name, TG_ARGV[0], TG_OP),
        HINT = coalesce(TG_ARGV[1], '');
END
$$;
