-- The fixtures and helpers of the kernel's edge-case pgTAP files (included with
-- \ir ../lib/kernel_fixtures.sql right after plan()): the t_hard command types
-- (patterns, schemas that must compile, resolve and terminate) and pg_temp
-- helpers that catch refusals, submit, insert and build dependency chains.
-- Everything is made inside the including file's transaction and rolled back
-- with it.

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_hard", "sync_allowed": true}');
    -- POSIX classes mean something only to PostgreSQL's engine: Python's re
    -- reads [[:alpha:]] as a set of the characters "[:alph" followed by "]".
    PERFORM concord.register_command_type('{
        "command_type": "t_hard_pattern", "sync_allowed": true,
        "payload_schema": {"type": "object",
                           "properties": {"code": {"type": "string", "pattern": "^[[:alpha:]]+$"}}}}');
    PERFORM concord.register_command_type('{
        "command_type": "t_hard_pattern_properties", "sync_allowed": true,
        "payload_schema": {"type": "object",
                           "patternProperties": {"^x_[[:digit:]]+$": {"type": "integer"}},
                           "additionalProperties": false}}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_hard_object", "sync_allowed": true, "payload_schema": {"type": "object"}}');
    PERFORM concord.register_command_type('{
        "command_type": "t_hard_valid", "sync_allowed": true, "required_inputs": ["n"],
        "payload_schema": {"type": "object", "properties": {"n": {"type": "integer"}}}}');
END $$;

-- 'SQLSTATE: DETAIL' of the error statement raises, or 'no error'.
CREATE FUNCTION pg_temp.refusal(statement text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    state text;
    detail text;
BEGIN
    EXECUTE statement;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL;
    RETURN state || ': ' || coalesce(detail, '');
END
$$;

-- What statement returns (its first column, as text), or 'SQLSTATE: message'.
CREATE FUNCTION pg_temp.outcome(statement text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    answer text;
BEGIN
    EXECUTE statement INTO answer;
    RETURN answer;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- register_command_type of a t_hard_bad_* type with this payload_schema.
CREATE FUNCTION pg_temp.register_sql(payload_schema jsonb)
RETURNS text
LANGUAGE sql
AS $$
    SELECT format('SELECT concord.register_command_type(%L)',
                  jsonb_build_object('command_type', 't_hard_bad_' || md5(payload_schema::text),
                                     'sync_allowed', true, 'payload_schema', payload_schema))
$$;

-- A JSON value nested depth levels deep: {"items": {"items": ... {} ...}}.
CREATE FUNCTION pg_temp.deep(depth integer)
RETURNS jsonb
LANGUAGE sql
AS $$ SELECT (repeat('{"items": ', depth) || '{}' || repeat('}', depth))::jsonb $$;

-- submit_command(command_type, payload) as tester: (status, errors), or
-- ('SQLSTATE: message', NULL) when it raises, so a raw error fails one test
-- instead of aborting the file.
CREATE FUNCTION pg_temp.submit(command_type text, payload jsonb)
RETURNS TABLE (status text, errors jsonb)
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN QUERY SELECT s.status, s.errors FROM concord.submit_command(command_type, payload, 'tester') AS s;
EXCEPTION WHEN OTHERS THEN
    RETURN QUERY SELECT SQLSTATE || ': ' || SQLERRM, NULL::jsonb;
END
$$;

-- A command inserted directly by the owner (status created), remembered as label.
CREATE FUNCTION pg_temp.insert_command(label text, command_type text, payload jsonb)
RETURNS uuid
LANGUAGE sql
AS $$
    WITH c AS (
        INSERT INTO concord.commands (command_type, requested_by, ingress, payload)
        VALUES (command_type, 'owner', 'sql', payload)
        RETURNING command_id
    )
    INSERT INTO concord_test.fixture (label, id) SELECT label, c.command_id FROM c RETURNING id
$$;

-- A linear chain c0 <- c1 <- ... <- c(n-1) of t_hard commands: c0 running,
-- the others queued, each child depending on the one before it. Edges are
-- added from the tail so the cycle check never walks a long ancestry.
CREATE FUNCTION pg_temp.chain(n integer, propagate boolean)
RETURNS uuid[]
LANGUAGE plpgsql
AS $$
DECLARE
    ids uuid[] := ARRAY[concord_test.command_at('t_hard', 'running')];
    i integer;
BEGIN
    FOR i IN 2..n LOOP
        ids := ids || concord_test.command_at('t_hard', 'queued');
    END LOOP;
    FOR i IN REVERSE n - 1..1 LOOP
        PERFORM concord.add_dependency(ids[i + 1], ids[i], 'succeeded', propagate);
    END LOOP;
    RETURN ids;
END
$$;

-- (status, error_class) of every command of a chain but its head, with counts.
CREATE FUNCTION pg_temp.descendants(ids uuid[])
RETURNS TABLE (status text, error_class text, commands bigint)
LANGUAGE sql
AS $$
    SELECT c.status, c.error_class, count(*)
    FROM concord.commands AS c WHERE c.command_id = ANY (ids[2:])
    GROUP BY c.status, c.error_class
$$;
