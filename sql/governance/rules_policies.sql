-- policies: every write is checked and versioned, whoever writes.

-- Versioning, audit and the rules that hold for direct writes too.
CREATE OR REPLACE FUNCTION concord._policies_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'policies_are_not_deleted',
            TABLE = 'policies',
            MESSAGE = format('policy %s cannot be deleted: decisions refer to policies by name', OLD.name),
            HINT = 'Remove it from the policy_checks of its command types; it then no longer applies.';
    END IF;
    IF TG_OP = 'UPDATE' AND (OLD.kind = 'builtin') IS DISTINCT FROM (NEW.kind = 'builtin') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'whether_a_policy_is_built_in_never_changes',
            TABLE = 'policies',
            MESSAGE = format('policy %s: whether it is built in cannot change', OLD.name);
    END IF;
    IF TG_OP = 'INSERT' AND NEW.kind = 'builtin' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'built_in_policies_come_with_concord',
            TABLE = 'policies',
            MESSAGE = format('built-in policies come with Concord; %s cannot be added', NEW.name);
    END IF;
    IF NEW.checksum = '' OR (TG_OP = 'UPDATE' AND NEW.checksum = OLD.checksum AND NEW.spec <> OLD.spec) THEN
        NEW.checksum := md5(NEW.spec::text);
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._policies_after_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._audit(
        'policy_registered', null, null, 'policy', NEW.name, null, null,
        jsonb_build_object('version', NEW.version, 'checksum', NEW.checksum, 'spec', NEW.spec));
    RETURN null;
END
$$;

CREATE OR REPLACE TRIGGER policies_before_write
BEFORE INSERT OR UPDATE OR DELETE ON concord.policies
FOR EACH ROW EXECUTE FUNCTION concord._policies_before_write();

CREATE OR REPLACE TRIGGER policies_versioned
BEFORE INSERT OR UPDATE ON concord.policies
FOR EACH ROW EXECUTE FUNCTION concord._catalog_stamp('name', 'version');

CREATE OR REPLACE TRIGGER policies_after_write
AFTER INSERT OR UPDATE ON concord.policies
FOR EACH ROW EXECUTE FUNCTION concord._policies_after_write();

CREATE OR REPLACE TRIGGER policies_are_not_truncated
BEFORE TRUNCATE ON concord.policies
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('are referenced by decisions');
