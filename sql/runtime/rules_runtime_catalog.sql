-- connectors, runtime_queues and schedules: every change is audited, like the
-- command types and policies, whoever makes it (the register_* functions or a
-- direct write by an operator).

-- An audit row for a change of a runtime catalog row: TG_ARGV[0] names the
-- target (connector, queue, schedule), TG_ARGV[1] its key column. A write that
-- changes nothing but timestamps (a registration repeated) is not a change.
CREATE OR REPLACE FUNCTION concord._runtime_catalog_after_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) - 'created_at' - 'updated_at' END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) - 'created_at' - 'updated_at' END;
    changed jsonb;
BEGIN
    IF TG_OP = 'UPDATE' AND old_row = new_row THEN
        RETURN null;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        SELECT coalesce(jsonb_object_agg(k.key, jsonb_build_object('old', old_row -> k.key, 'new', new_row -> k.key)),
                        '{}')
        INTO changed
        FROM jsonb_object_keys(new_row) AS k (key)
        WHERE old_row -> k.key IS DISTINCT FROM new_row -> k.key;
    END IF;
    PERFORM concord._audit(
        TG_ARGV[0] || CASE TG_OP WHEN 'DELETE' THEN '_removed' ELSE '_registered' END,
        null, null, TG_ARGV[0], coalesce(new_row, old_row) ->> TG_ARGV[1], null, null,
        jsonb_strip_nulls(jsonb_build_object('operation', lower(TG_OP), 'definition', new_row,
                                             'previous', old_row, 'changed', changed)));
    RETURN null;
END
$$;

CREATE OR REPLACE TRIGGER connectors_are_audited
AFTER INSERT OR UPDATE OR DELETE ON concord.connectors
FOR EACH ROW EXECUTE FUNCTION concord._runtime_catalog_after_write('connector', 'connector_name');

CREATE OR REPLACE TRIGGER runtime_queues_are_audited
AFTER INSERT OR UPDATE OR DELETE ON concord.runtime_queues
FOR EACH ROW EXECUTE FUNCTION concord._runtime_catalog_after_write('queue', 'queue_name');

CREATE OR REPLACE TRIGGER schedules_are_audited
AFTER INSERT OR UPDATE OR DELETE ON concord.schedules
FOR EACH ROW EXECUTE FUNCTION concord._runtime_catalog_after_write('schedule', 'schedule_name');

-- A TRUNCATE fires no row trigger: it would remove every registration with no
-- audit row. Removals go row by row (DELETE), each audited.
CREATE OR REPLACE TRIGGER connectors_are_not_truncated
BEFORE TRUNCATE ON concord.connectors
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write(
    'are removed row by row, each audited', 'DELETE the connectors instead.'
);

CREATE OR REPLACE TRIGGER runtime_queues_are_not_truncated
BEFORE TRUNCATE ON concord.runtime_queues
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write(
    'are removed row by row, each audited', 'DELETE the queues instead.'
);

CREATE OR REPLACE TRIGGER schedules_are_not_truncated
BEFORE TRUNCATE ON concord.schedules
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write(
    'are removed row by row, each audited', 'DELETE the schedules instead.'
);
