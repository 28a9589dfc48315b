-- Batch submission: many commands in one call, each submitted as if alone
-- (its own idempotency key, validation, policies and audit rows), one answer
-- per command in the order given.

CREATE OR REPLACE FUNCTION concord._batch_item_problem(item jsonb)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    unknown text;
BEGIN
    IF jsonb_typeof(item) IS DISTINCT FROM 'object' THEN
        RETURN format('a batch item is a JSON object, not %s', coalesce(jsonb_typeof(item), 'null'));
    END IF;
    SELECT string_agg(k, ', ' ORDER BY k) INTO unknown
    FROM jsonb_object_keys(item) AS k
    WHERE k NOT IN ('command_type', 'payload', 'context', 'idempotency_key', 'cancellation_mode', 'ingress');
    IF unknown IS NOT NULL THEN
        RETURN format('a batch item names unknown fields: %s', unknown);
    END IF;
    IF EXISTS (
        SELECT 1 FROM jsonb_each(item) AS f
        WHERE f.key IN ('command_type', 'idempotency_key', 'cancellation_mode', 'ingress')
          AND jsonb_typeof(f.value) NOT IN ('string', 'null')
    ) THEN
        RETURN 'command_type, idempotency_key, cancellation_mode and ingress are strings';
    END IF;
    RETURN NULL;
END
$$;

-- One item of a batch, submitted as submit_command submits a command alone.
CREATE OR REPLACE FUNCTION concord._submit_batch_item(
    item jsonb, actor text, asserted_by text, project_id uuid
)
RETURNS TABLE (command_id uuid, status text, trace_id text, created boolean, errors jsonb)
LANGUAGE sql
VOLATILE
SET search_path = concord, pg_temp
AS $$
    SELECT * FROM concord._submit_command(
        item ->> 'command_type', item -> 'payload', actor, coalesce(item ->> 'ingress', 'api'),
        item -> 'context', item ->> 'idempotency_key', item ->> 'cancellation_mode', project_id,
        asserted_by
    )
$$;

CREATE OR REPLACE FUNCTION concord.submit_commands(
    commands jsonb,
    all_or_nothing boolean DEFAULT false,
    requested_by text DEFAULT null
)
RETURNS TABLE (
    ordinal integer,
    command_id uuid,
    status text,
    trace_id text,
    created boolean,
    errors jsonb,
    refusal jsonb
)
LANGUAGE plpgsql
VOLATILE
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
    project uuid := concord._chosen_project();
    who record;
    item jsonb;
    n integer := 0;
    problem text;
    code text;
    rule text;
    message text;
    detail text;
    hint text;
BEGIN
    IF jsonb_typeof(commands) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_batch_is_a_json_array',
            MESSAGE = format('commands must be a JSON array of commands, not %s',
                             coalesce(jsonb_typeof(commands), 'NULL')),
            HINT = 'Pass [{"command_type": ..., "payload": {...}, "idempotency_key": ...}, ...].';
    END IF;
    IF jsonb_array_length(commands) NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_batch_holds_1_to_1000_commands',
            MESSAGE = format('a batch holds 1 to 1000 commands, not %s', jsonb_array_length(commands)),
            HINT = 'Split a larger batch into several calls.';
    END IF;
    SELECT * INTO who FROM concord._acting_principal(
        requested_by, project, ARRAY['owner', 'admin', 'member'], 'requested_by');

    FOR item IN SELECT e.value FROM jsonb_array_elements(commands) AS e LOOP
        n := n + 1;
        problem := concord._batch_item_problem(item);
        IF problem IS NOT NULL AND all_or_nothing THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN008',
                CONSTRAINT = 'a_batch_item_is_a_command',
                MESSAGE = format('command %s of the batch: %s', n, problem),
                HINT = 'Each item is {command_type, payload, context?, idempotency_key?, cancellation_mode?, ingress?}.';
        ELSIF problem IS NOT NULL THEN
            RETURN QUERY SELECT n, null::uuid, null::text, null::text, false, '[]'::jsonb,
                jsonb_build_object('code', 'CN008', 'rule', 'a_batch_item_is_a_command', 'message', problem);
            CONTINUE;
        END IF;
        IF all_or_nothing THEN
            -- no savepoint: the first refusal ends the call and rolls back every command
            RETURN QUERY SELECT n, s.*, null::jsonb
                FROM concord._submit_batch_item(item, who.actor, who.asserted_by, project) AS s;
            CONTINUE;
        END IF;
        BEGIN
            RETURN QUERY SELECT n, s.*, null::jsonb
                FROM concord._submit_batch_item(item, who.actor, who.asserted_by, project) AS s;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS
                code = RETURNED_SQLSTATE, rule = CONSTRAINT_NAME, message = MESSAGE_TEXT,
                detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
            -- a conflict with another transaction is the whole call's to retry
            IF code IN ('40001', '40P01') THEN
                RAISE;
            END IF;
            RETURN QUERY SELECT n, null::uuid, null::text, null::text, false, '[]'::jsonb,
                jsonb_strip_nulls(jsonb_build_object(
                    'code', code, 'rule', nullif(rule, ''), 'message', message,
                    'detail', nullif(detail, ''), 'hint', nullif(hint, '')));
        END;
    END LOOP;
END
$$;

COMMENT ON FUNCTION concord.submit_commands(jsonb, boolean, text) IS
'Submit up to 1000 commands in one call, in the chosen project: each item {command_type, '
'payload, context?, idempotency_key?, cancellation_mode?, ingress?} is submitted as '
'concord.submit_command would submit it alone (its idempotency key, validation, policies, '
'audit), and one row answers each, in order (ordinal from 1). A refused item answers refusal '
'{code, rule, message, detail?, hint?} and the others stand, unless all_or_nothing, when the '
'first refusal is raised and nothing is submitted. requested_by as for submit_command. CN008 '
'for a batch that is not an array of 1 to 1000 items.';
