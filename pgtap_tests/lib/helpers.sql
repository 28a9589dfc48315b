-- Helpers shared by the pgTAP files (pgtap_tests/*.sql), in schema concord_test.
-- tests/harness/pgtap.sh loads this file once into the test database, after
-- CREATE EXTENSION pgtap and before pg_prove runs; it can be loaded again.
--
-- Every test file runs in one transaction that it rolls back, so what a file
-- writes here, like everything else it writes, is gone when it ends.
SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS concord_test;

-- Labelled fixtures: the ids a test file made, under the names it gave them.
-- A label is unique per session (backend), so files run side by side do not
-- wait on each other's labels.
CREATE TABLE IF NOT EXISTS concord_test.fixture (
    label text NOT NULL,
    id uuid,
    backend integer NOT NULL DEFAULT pg_backend_pid(),
    PRIMARY KEY (backend, label)
);

-- The id remembered as label.
CREATE OR REPLACE FUNCTION concord_test.id(label text)
RETURNS uuid
LANGUAGE sql
STABLE
AS $$
    SELECT f.id FROM concord_test.fixture AS f
    WHERE f.label = id.label AND f.backend = pg_backend_pid()
$$;

-- The status of the command remembered as label.
CREATE OR REPLACE FUNCTION concord_test.status(label text)
RETURNS text
LANGUAGE sql
STABLE
AS $$
    SELECT c.status FROM concord.commands AS c WHERE c.command_id = concord_test.id(status.label)
$$;

-- The command remembered as label, whole.
CREATE OR REPLACE FUNCTION concord_test.command(label text)
RETURNS concord.commands
LANGUAGE sql
-- volatile: sees what the calling statement has just written
AS $$
    SELECT c.* FROM concord.commands AS c WHERE c.command_id = concord_test.id(command.label)
$$;

-- Submit a command of command_type through concord.submit_command, remember
-- it as label, return its status.
CREATE OR REPLACE FUNCTION concord_test.submit(
    label text, command_type text, payload jsonb DEFAULT '{}', requested_by text DEFAULT 'req',
    context jsonb DEFAULT '{}'
)
RETURNS text
LANGUAGE sql
AS $$
    INSERT INTO concord_test.fixture (label, id)
    SELECT submit.label, s.command_id
    FROM concord.submit_command(submit.command_type, submit.payload, submit.requested_by, 'api', submit.context) AS s;
    SELECT concord_test.status(submit.label);
$$;

-- The DETAIL of the error sql raises (NULL when it raises none).
CREATE OR REPLACE FUNCTION concord_test.error_detail(sql text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    detail text;
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RETURN detail;
END
$$;

-- The (only, or latest; a pending one first) approval of the command
-- remembered as label, of approval_type when given, and its id.
CREATE OR REPLACE FUNCTION concord_test.approval(label text, approval_type text DEFAULT NULL)
RETURNS concord.approvals
LANGUAGE sql
-- volatile: sees what the calling statement has just written
AS $$
    SELECT a.* FROM concord.approvals AS a
    WHERE a.command_id = concord_test.id(approval.label)
      AND (approval.approval_type IS NULL OR a.approval_type = approval.approval_type)
    ORDER BY a.created_at DESC, (a.status = 'pending') DESC
    LIMIT 1
$$;

CREATE OR REPLACE FUNCTION concord_test.approval_id(label text, approval_type text DEFAULT NULL)
RETURNS uuid
LANGUAGE sql
-- volatile: sees what the calling statement has just written
AS $$ SELECT (concord_test.approval(approval_id.label, approval_id.approval_type)).approval_id $$;

-- A command of command_type, inserted directly as created and walked to status
-- target with transition_command (actor 'fixture'); remembered as label when
-- one is given. cancellation_mode defaults to the type's default. compensating
-- and compensated are reached through a cancellation when the command's mode
-- is compensate_then_stop, else through a failure.
CREATE OR REPLACE FUNCTION concord_test.command_at(
    command_type text,
    target text,
    label text DEFAULT NULL,
    cancellation_mode text DEFAULT NULL
)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    id uuid;
    mode text;
    step text;
    path text[];
BEGIN
    INSERT INTO concord.commands (command_type, requested_by, ingress, cancellation_mode)
    SELECT t.command_type, 'fixture', 'test',
           coalesce(command_at.cancellation_mode, t.default_cancellation_mode)
    FROM concord.command_types AS t WHERE t.command_type = command_at.command_type
    RETURNING commands.command_id, commands.cancellation_mode INTO id, mode;
    IF id IS NULL THEN
        RAISE EXCEPTION 'fixture: unknown command type %', command_at.command_type;
    END IF;
    path := CASE target
        WHEN 'created' THEN '{}'
        WHEN 'validated' THEN '{validated}'
        WHEN 'waiting_for_input' THEN '{validated,waiting_for_input}'
        WHEN 'waiting_for_approval' THEN '{validated,waiting_for_approval}'
        WHEN 'approved' THEN '{validated,waiting_for_approval,approved}'
        WHEN 'queued' THEN '{validated,queued}'
        WHEN 'running' THEN '{validated,running}'
        WHEN 'blocked' THEN '{validated,running,blocked}'
        WHEN 'succeeded' THEN '{validated,running,succeeded}'
        WHEN 'failed' THEN '{validated,running,failed}'
        WHEN 'cancelling' THEN '{validated,running,cancelling}'
        WHEN 'cancelled' THEN '{cancelled}'
        WHEN 'expired' THEN '{validated,waiting_for_input,expired}'
        WHEN 'compensating' THEN CASE WHEN mode = 'compensate_then_stop'
            THEN '{validated,running,cancelling,compensating}'
            ELSE '{validated,running,failed,compensating}' END
        WHEN 'compensated' THEN CASE WHEN mode = 'compensate_then_stop'
            THEN '{validated,running,cancelling,compensating,compensated}'
            ELSE '{validated,running,failed,compensating,compensated}' END
    END;
    IF path IS NULL THEN
        RAISE EXCEPTION 'fixture: no path to %', target;
    END IF;
    FOREACH step IN ARRAY path LOOP
        PERFORM concord.transition_command(id, step, 'fixture');
    END LOOP;
    IF label IS NOT NULL THEN
        INSERT INTO concord_test.fixture (label, id) VALUES (command_at.label, id);
    END IF;
    RETURN id;
END
$$;

-- One test: statement is refused with SQLSTATE errcode by the rule named rule
-- (the CONSTRAINT of its RAISE, or the CHECK constraint's name). The refusal
-- is caught in a subtransaction, so the file goes on.
CREATE OR REPLACE FUNCTION concord_test.throws_rule(
    statement text, errcode text, rule text, description text DEFAULT null
)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    got_state text;
    got_rule text;
    got_message text;
    what text := coalesce(description, format('refused by rule %s (%s)', rule, errcode));
BEGIN
    BEGIN
        EXECUTE statement;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS got_state = RETURNED_SQLSTATE, got_rule = CONSTRAINT_NAME,
                                got_message = MESSAGE_TEXT;
        IF got_state = errcode AND got_rule = rule THEN
            RETURN ok(true, what);
        END IF;
        RETURN ok(false, what) || E'\n' || diag(format(
            '    raised: %s, rule %s: %s%s    wanted: %s, rule %s',
            got_state, coalesce(nullif(got_rule, ''), '(none)'), got_message, E'\n', errcode, rule));
    END;
    RETURN ok(false, what) || E'\n' || diag('    no error was raised');
END
$$;
