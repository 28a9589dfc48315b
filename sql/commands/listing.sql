-- Listing commands for people and the REST API: filters, newest first, and
-- an opaque cursor that continues exactly after the last row shown (keyset
-- pagination: rows created meanwhile never shift a page). Row-level security
-- decides which commands a caller sees.

-- The cursor of row (created_at, command_id): base64 of both, opaque to callers.
CREATE OR REPLACE FUNCTION concord._command_cursor(created_at timestamptz, command_id uuid)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN translate(encode(convert_to(
        to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || ' ' || command_id::text,
        'UTF8'), 'base64'), E'\n', '');
END
$$;

CREATE OR REPLACE FUNCTION concord.list_commands(
    status text DEFAULT NULL,
    command_type text DEFAULT NULL,
    project text DEFAULT NULL,
    requested_by text DEFAULT NULL,
    created_after timestamptz DEFAULT NULL,
    created_before timestamptz DEFAULT NULL,
    page_size integer DEFAULT 50,
    after text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
#variable_conflict use_variable
DECLARE
    project_id uuid;
    after_at timestamptz;
    after_id uuid;
    decoded text;
    page jsonb;
    last_row jsonb;
BEGIN
    IF status IS NOT NULL THEN
        PERFORM concord._known_status('status', status);
    END IF;
    IF project IS NOT NULL THEN
        project_id := concord._project(project);
    END IF;
    IF page_size IS NULL OR page_size NOT BETWEEN 1 AND 500 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_page_holds_1_to_500_rows',
            MESSAGE = format('page_size must be between 1 and 500, not %s', coalesce(page_size::text, 'NULL'));
    END IF;
    IF after IS NOT NULL THEN
        BEGIN
            decoded := convert_from(decode(after, 'base64'), 'UTF8');
            after_at := split_part(decoded, ' ', 1)::timestamptz;
            after_id := split_part(decoded, ' ', 2)::uuid;
        EXCEPTION WHEN OTHERS THEN
            after_at := NULL;
        END;
        IF after_at IS NULL OR after_id IS NULL OR concord._command_cursor(after_at, after_id) <> after THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN008',
                CONSTRAINT = 'a_cursor_is_one_a_listing_gave',
                MESSAGE = format('%L is not a cursor of list_commands', left(after, 100)),
                HINT = 'Pass the next_cursor of the previous page unchanged, or no cursor for the first page.';
        END IF;
    END IF;
    SELECT coalesce(jsonb_agg(r.item ORDER BY r.created_at DESC, r.command_id DESC), '[]')
    INTO page
    FROM (
        SELECT c.created_at, c.command_id, jsonb_build_object(
            'command_id', c.command_id, 'command_type', c.command_type, 'status', c.status,
            'project', concord._project_name(c.project_id), 'requested_by', c.requested_by,
            'ingress', c.ingress, 'trace_id', c.trace_id, 'error_class', c.error_class,
            'created_at', c.created_at, 'updated_at', c.updated_at, 'completed_at', c.completed_at) AS item
        FROM concord.commands AS c
        WHERE (status IS NULL OR c.status = status)
          AND (command_type IS NULL OR c.command_type = command_type)
          AND (project_id IS NULL OR c.project_id = project_id)
          AND (requested_by IS NULL OR c.requested_by = requested_by)
          AND (created_after IS NULL OR c.created_at >= created_after)
          AND (created_before IS NULL OR c.created_at < created_before)
          AND (after_at IS NULL OR (c.created_at, c.command_id) < (after_at, after_id))
        ORDER BY c.created_at DESC, c.command_id DESC
        LIMIT page_size + 1
    ) AS r;
    IF jsonb_array_length(page) > page_size THEN
        page := page - page_size;
        last_row := page -> (page_size - 1);
        RETURN jsonb_build_object(
            'commands', page,
            'next_cursor', concord._command_cursor((last_row ->> 'created_at')::timestamptz,
                                                   (last_row ->> 'command_id')::uuid));
    END IF;
    RETURN jsonb_build_object('commands', page, 'next_cursor', NULL);
END
$$;

COMMENT ON FUNCTION concord.list_commands(
    text, text, text, text, timestamptz, timestamptz, integer, text
) IS
'The commands the caller may see, newest first, filtered by status, command type, project '
'(''org/project''), requester and creation time (created_after inclusive, created_before '
'exclusive): {commands: [...], next_cursor}. page_size is 1 to 500 (default 50); pass next_cursor '
'as after for the next page (null on the last). CN008 for an unknown status, a bad page size or a '
'cursor it did not give; CN006 for a project the caller is no member of.';
