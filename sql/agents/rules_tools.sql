-- tools: every write is checked, versioned and audited.

CREATE OR REPLACE FUNCTION concord._tools_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'tools_are_not_deleted', TABLE = 'tools',
            MESSAGE = format('tool %s cannot be deleted: agent runs and steps refer to tools by name', OLD.tool_name);
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.execution_mode = 'gateway' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'gateway_tools_come_with_concord', TABLE = 'tools',
            MESSAGE = format('tool %s is served by the gateway and comes with Concord: it does not change',
                             OLD.tool_name);
    END IF;
    IF NEW.execution_mode = 'gateway' AND TG_OP = 'INSERT' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'gateway_tools_come_with_concord', TABLE = 'tools',
            MESSAGE = format('gateway tools come with Concord; %s cannot be added', NEW.tool_name),
            HINT = 'Register a command tool: {name, command_type, ...}.';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._tools_after_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._audit(
        'tool_registered', null, null, 'tool', NEW.tool_name, null, null,
        jsonb_build_object('version', NEW.version, 'spec', NEW.spec));
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER tools_before_write
BEFORE INSERT OR UPDATE OR DELETE ON concord.tools
FOR EACH ROW EXECUTE FUNCTION concord._tools_before_write();

CREATE OR REPLACE TRIGGER tools_stamp
BEFORE INSERT OR UPDATE ON concord.tools
FOR EACH ROW EXECUTE FUNCTION concord._catalog_stamp('tool_name', 'version');

CREATE OR REPLACE TRIGGER tools_are_not_truncated
BEFORE TRUNCATE ON concord.tools
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('are referred to by agent runs');

CREATE OR REPLACE TRIGGER tools_after_write
AFTER INSERT OR UPDATE ON concord.tools
FOR EACH ROW EXECUTE FUNCTION concord._tools_after_write();
