-- command_types: every write is checked and versioned, whoever writes.

-- Whoever writes the catalog (register_command_type or a direct INSERT or
-- UPDATE), a payload_schema must be usable; every change bumps the version
-- and is audited.
CREATE OR REPLACE FUNCTION concord._command_types_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    problems text[];
BEGIN
    IF TG_OP = 'INSERT' OR NEW.payload_schema IS DISTINCT FROM OLD.payload_schema THEN
        problems := ARRAY(SELECT jsonb_array_elements_text(concord._json_schema_problems(NEW.payload_schema)));
        IF cardinality(problems) > 0 THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN005',
                CONSTRAINT = 'payload_schema_is_a_usable_json_schema',
                TABLE = 'command_types',
                MESSAGE = format('command type %s: invalid payload_schema: %s problem(s)',
                                 NEW.command_type, cardinality(problems)),
                DETAIL = '- ' || array_to_string(problems, E'\n- ');
        END IF;
    END IF;
    IF TG_OP = 'INSERT' OR NEW.policy_checks IS DISTINCT FROM OLD.policy_checks THEN
        problems := ARRAY(
            SELECT x.name FROM unnest(NEW.policy_checks) AS x (name)
            WHERE NOT EXISTS (SELECT 1 FROM concord.policies AS p WHERE p.name = x.name));
        IF cardinality(problems) > 0 THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN005',
                CONSTRAINT = 'policy_checks_name_registered_policies',
                TABLE = 'command_types',
                MESSAGE = format('command type %s: policy_checks names unregistered policies: %s',
                                 NEW.command_type, array_to_string(problems, ', ')),
                HINT = 'Register them first with concord.register_policy(spec).';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._command_types_after_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._audit(
        'command_type_registered', null, null, 'command_type', NEW.command_type, null, null,
        jsonb_build_object('version', NEW.version, 'definition', to_jsonb(NEW)));
    RETURN null;
END
$$;

CREATE OR REPLACE TRIGGER command_types_before_write
BEFORE INSERT OR UPDATE ON concord.command_types
FOR EACH ROW EXECUTE FUNCTION concord._command_types_before_write();

CREATE OR REPLACE TRIGGER command_types_versioned
BEFORE INSERT OR UPDATE ON concord.command_types
FOR EACH ROW EXECUTE FUNCTION concord._catalog_stamp('command_type', 'version');

CREATE OR REPLACE TRIGGER command_types_after_write
AFTER INSERT OR UPDATE ON concord.command_types
FOR EACH ROW EXECUTE FUNCTION concord._command_types_after_write();
