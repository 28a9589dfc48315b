-- Shared facts of the catalogs: known error classes, and the version stamp
-- every catalog row carries.

-- Refuses an error class outside the taxonomy (spec 32) with CN008; NULL
-- passes (no class given). The foreign keys hold the same rule for direct
-- writes; this gives API callers a message they can act on.
CREATE OR REPLACE FUNCTION concord._known_error_class(error_class text)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF error_class IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM concord.error_classes AS ec WHERE ec.error_class = _known_error_class.error_class) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'error_class_is_known',
            MESSAGE = format('unknown error class %L', error_class),
            DETAIL = format('Known classes: %s.', (SELECT string_agg(ec.error_class, ', ' ORDER BY ec.error_class)
                                                   FROM concord.error_classes AS ec)),
            HINT = 'See concord.error_classes (spec 32); retryable classes may be retried, the others not.';
    END IF;
    RETURN error_class;
END
$$;

-- Catalog rows (command types, policies, approval types) keep their key
-- (TG_ARGV[0]) and creation time; every write stamps the version column
-- (TG_ARGV[1]: 1, then one more per change) and updated_at.
CREATE OR REPLACE FUNCTION concord._catalog_stamp()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    old_row jsonb;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        old_row := to_jsonb(OLD);
        IF to_jsonb(NEW) -> TG_ARGV[0] IS DISTINCT FROM old_row -> TG_ARGV[0]
           OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN007',
                CONSTRAINT = 'a_catalog_key_is_immutable',
                TABLE = TG_TABLE_NAME,
                MESSAGE = format('%s %s: %s and created_at are immutable',
                                 TG_TABLE_NAME, old_row ->> TG_ARGV[0], TG_ARGV[0]);
        END IF;
        RETURN jsonb_populate_record(NEW, jsonb_build_object(
            TG_ARGV[1], (old_row ->> TG_ARGV[1])::integer + 1, 'updated_at', now()));
    END IF;
    RETURN jsonb_populate_record(NEW, jsonb_build_object(
        TG_ARGV[1], 1, 'created_at', now(), 'updated_at', now()));
END
$$;
