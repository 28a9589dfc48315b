-- approval_types: versioned on every write, audited, never deleted.

-- Whoever writes approval_types: a revision per change, an audit row, and
-- no deletion (approvals and policies refer to types by name).
CREATE OR REPLACE FUNCTION concord._approval_types_after_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._audit('approval_type_registered', null, null, 'approval_type', NEW.name, null, null,
                           jsonb_build_object('revision', NEW.revision, 'definition', to_jsonb(NEW)));
    RETURN null;
END
$$;

CREATE OR REPLACE TRIGGER approval_types_versioned
BEFORE INSERT OR UPDATE ON concord.approval_types
FOR EACH ROW EXECUTE FUNCTION concord._catalog_stamp('name', 'revision');

CREATE OR REPLACE TRIGGER approval_types_after_write
AFTER INSERT OR UPDATE ON concord.approval_types
FOR EACH ROW EXECUTE FUNCTION concord._approval_types_after_write();

CREATE OR REPLACE TRIGGER approval_types_are_not_deleted
BEFORE DELETE ON concord.approval_types
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write(
    'are referred to by approvals and policies', 'Register a new definition instead.'
);

CREATE OR REPLACE TRIGGER approval_types_are_not_truncated
BEFORE TRUNCATE ON concord.approval_types
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write(
    'are referred to by approvals and policies'
);
