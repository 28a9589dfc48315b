-- connectors: every write is checked and versioned.

CREATE OR REPLACE FUNCTION concord._connectors_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    raw text[] := concord._raw_secrets(NEW.config);
BEGIN
    IF cardinality(raw) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            CONSTRAINT = 'connector_config_holds_no_raw_secret',
            TABLE = 'connectors',
            MESSAGE = format('connector %s: its configuration holds raw secrets at %s',
                             NEW.connector_name, array_to_string(raw, ', ')),
            HINT = 'Reference secrets as env://NAME or file://PATH; never store them.';
    END IF;
    IF array_position(NEW.capabilities, null) IS NOT null THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            CONSTRAINT = 'connector_capabilities_hold_no_null',
            TABLE = 'connectors',
            MESSAGE = format('connector %s: capabilities hold a null', NEW.connector_name);
    END IF;
    NEW.updated_at := now();
    IF TG_OP = 'INSERT' THEN
        NEW.created_at := now();
    ELSE
        NEW.created_at := OLD.created_at;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER connectors_before_write
BEFORE INSERT OR UPDATE ON concord.connectors
FOR EACH ROW EXECUTE FUNCTION concord._connectors_before_write();
