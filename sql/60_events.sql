-- domain_events is append-only (spec 25): no UPDATE, DELETE or TRUNCATE,
-- whoever asks, the table owner included.

CREATE OR REPLACE FUNCTION concord._events_are_append_only()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'CN007',
        MESSAGE = format('domain_events is append-only: %s is refused', TG_OP),
        HINT = 'Record a correction as a new event instead.';
END
$$;

CREATE OR REPLACE TRIGGER events_are_append_only
BEFORE UPDATE OR DELETE ON concord.domain_events
FOR EACH ROW EXECUTE FUNCTION concord._events_are_append_only();

CREATE OR REPLACE TRIGGER events_are_not_truncated
BEFORE TRUNCATE ON concord.domain_events
FOR EACH STATEMENT EXECUTE FUNCTION concord._events_are_append_only();
