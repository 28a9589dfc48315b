-- Submission (spec 4.1, 13.2): one durable, validated, governed command per
-- idempotency key.

-- What submit_command's errors column says of a command that did not go
-- through: every validation problem, every input its policies still need,
-- or every reason they denied it; [] otherwise.
CREATE OR REPLACE FUNCTION concord._submit_errors(c concord.commands)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF c.error_class = 'validation_error' THEN
        RETURN coalesce(c.error_detail -> 'errors', '[]'::jsonb);
    ELSIF c.status = 'waiting_for_input' THEN
        RETURN coalesce(
            (SELECT jsonb_agg(jsonb_build_object(
                 'path', '$.' || f.field, 'message', format('input %s is needed', f.field), 'kind', 'missing_input'))
             FROM jsonb_array_elements_text(c.policy_evaluation -> 'missing_fields') AS f (field)),
            -- sent back by an approver
            (SELECT jsonb_build_array(jsonb_build_object(
                 'path', '$', 'kind', 'changes_requested',
                 'message', format('%s requested changes%s', a.decided_by, coalesce(': ' || a.reason, ''))))
             FROM concord.approvals AS a
             WHERE a.command_id = c.command_id AND a.status = 'changes_requested'
             ORDER BY a.decided_at DESC LIMIT 1),
            '[]'::jsonb);
    ELSIF c.error_class IN ('approval_rejected', 'approval_expired') THEN
        RETURN jsonb_build_array(jsonb_build_object('path', '$', 'kind', c.error_class, 'message', c.error));
    ELSIF c.error_class = 'policy_denied' THEN
        RETURN coalesce((
            SELECT jsonb_agg(jsonb_build_object('path', '$', 'message', r.reason, 'kind', 'policy_denied'))
            FROM jsonb_array_elements_text(c.policy_evaluation -> 'reasons') AS r (reason)), '[]'::jsonb);
    END IF;
    RETURN '[]'::jsonb;
END
$$;

-- The answer to a replayed idempotency key: the original row when the
-- request is the same (same type and payload), CN002 otherwise.
CREATE OR REPLACE FUNCTION concord._replay(
    original concord.commands, command_type text, payload jsonb
)
RETURNS TABLE (command_id uuid, status text, trace_id text, created boolean, errors jsonb)
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF original.command_type <> _replay.command_type
       AND NOT EXISTS (SELECT 1 FROM concord.command_types AS ct WHERE ct.command_type = _replay.command_type) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN009',
            CONSTRAINT = 'command_type_is_registered',
            MESSAGE = format('unknown command type %L', _replay.command_type),
            HINT = 'Register it first with concord.register_command_type(spec).';
    END IF;
    IF original.command_type <> _replay.command_type
       OR (original.payload <> _replay.payload
           -- the payload as submitted, before any input was provided
           AND (SELECT e.payload -> 'payload_before' FROM concord.domain_events AS e
                WHERE e.command_id = original.command_id AND e.event_type = 'input_provided'
                ORDER BY e.event_seq LIMIT 1) IS DISTINCT FROM _replay.payload) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN002',
            CONSTRAINT = 'an_idempotency_key_names_one_request',
            MESSAGE = format('idempotency key %L is already used by command %s with a different %s',
                             original.idempotency_key, original.command_id,
                             CASE WHEN original.command_type <> _replay.command_type
                                  THEN format('command type (%s)', original.command_type)
                                  ELSE 'payload' END),
            DETAIL = 'A key identifies one request: same key, same command type and payload.',
            HINT = 'Use a new idempotency key for a different request.';
    END IF;
    RETURN QUERY SELECT original.command_id, original.status, original.trace_id, false,
        concord._submit_errors(original);
END
$$;

-- The submission itself, for a requester already authenticated (or named by
-- the kernel: a schedule, an agent run) in project_id. Not granted to anyone.
CREATE OR REPLACE FUNCTION concord._submit_command(
    command_type text,
    payload jsonb,
    requested_by text,
    ingress text,
    context jsonb,
    idempotency_key text,
    cancellation_mode text,
    project_id uuid,
    asserted_by text
)
RETURNS TABLE (command_id uuid, status text, trace_id text, created boolean, errors jsonb)
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
    c concord.commands%ROWTYPE;
    new_id uuid;
    problems jsonb;
    trace text;
    final_status text;
    saved text [];
BEGIN
    PERFORM concord._require('command_type', command_type);
    IF payload IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            CONSTRAINT = 'payload_is_not_null',
            MESSAGE = 'payload must not be NULL',
            HINT = 'Pass ''{}'' for a command without input.';
    END IF;
    PERFORM concord._require('requested_by', requested_by);
    PERFORM concord._require('ingress', ingress);
    context := coalesce(context, '{}');
    IF jsonb_typeof(context) <> 'object' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'context_is_a_json_object',
            MESSAGE = format('context must be a JSON object, not %s', jsonb_typeof(context));
    END IF;
    IF idempotency_key IS NOT NULL THEN
        PERFORM concord._require('idempotency_key', idempotency_key);
        IF length(idempotency_key) > 1000 THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN008',
                CONSTRAINT = 'idempotency_key_has_at_most_1000_characters',
                MESSAGE = format('idempotency_key is %s characters long; at most 1000', length(idempotency_key)),
                HINT = 'Derive a key from the request (a hash of it, say), not the request itself.';
        END IF;
    END IF;
    IF cancellation_mode NOT IN ('graceful', 'compensate_then_stop') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'cancellation_mode_is_graceful_or_compensate_then_stop',
            MESSAGE = format('unknown cancellation mode %L: use graceful or compensate_then_stop',
                             cancellation_mode);
    END IF;
    trace := coalesce(
        nullif(context ->> 'trace_id', ''), 'trace_' || replace(gen_random_uuid()::text, '-', '')
    );

    -- Spec 11: a replayed key returns the original and writes nothing (the
    -- fast path: no validation).
    IF idempotency_key IS NOT NULL THEN
        SELECT * INTO c FROM concord.commands AS x
        WHERE x.project_id = _submit_command.project_id AND x.idempotency_key = _submit_command.idempotency_key;
        IF FOUND THEN
            RETURN QUERY SELECT * FROM concord._replay(c, command_type, payload);
            RETURN;
        END IF;
    END IF;

    -- The insert trigger checks the type (CN009), validates the payload and
    -- routes the row (see _commands_before_insert); a NULL mode takes the
    -- type's default there. Under concurrency the unique key decides: a loser
    -- of the race waits for the winner's commit, inserts nothing and reads the
    -- original. The audit rows name requested_by as the actor.
    saved := concord._push_actor(requested_by, null);
    PERFORM concord._assert_on_behalf(asserted_by);
    PERFORM set_config('concord.submitting', 'on', true);
    INSERT INTO concord.commands AS x (
        command_type, requested_by, ingress, payload, context, status,
        cancellation_mode, idempotency_key, trace_id, project_id
    ) VALUES (
        command_type, requested_by, ingress, payload, context, 'created',
        cancellation_mode, idempotency_key, trace, project_id
    )
    ON CONFLICT ON CONSTRAINT idempotency_key_is_unique DO NOTHING
    RETURNING x.command_id, x.status,
        CASE WHEN x.status IN ('queued', 'validated') THEN '[]'::jsonb ELSE concord._submit_errors(x) END
    INTO new_id, final_status, problems;
    PERFORM set_config('concord.submitting', 'off', true);
    PERFORM concord._pop_actor(saved);

    IF new_id IS NULL THEN
        SELECT * INTO c FROM concord.commands AS x
        WHERE x.project_id = _submit_command.project_id AND x.idempotency_key = _submit_command.idempotency_key;
        IF NOT FOUND THEN
            -- Only under REPEATABLE READ or SERIALIZABLE: the winner is invisible.
            RAISE EXCEPTION USING
                ERRCODE = '40001',
                CONSTRAINT = 'a_concurrently_taken_idempotency_key_is_retried',
                MESSAGE = format('idempotency key %L was taken by a concurrent transaction', idempotency_key),
                HINT = 'Retry the transaction.';
        END IF;
        RETURN QUERY SELECT * FROM concord._replay(c, command_type, payload);
        RETURN;
    END IF;
    RETURN QUERY SELECT new_id, final_status, trace, true, coalesce(problems, '[]'::jsonb);
END
$$;

CREATE OR REPLACE FUNCTION concord.submit_command(
    command_type text,
    payload jsonb,
    requested_by text,
    ingress text DEFAULT 'api',
    context jsonb DEFAULT '{}',
    idempotency_key text DEFAULT NULL,
    cancellation_mode text DEFAULT NULL
)
RETURNS TABLE (command_id uuid, status text, trace_id text, created boolean, errors jsonb)
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
BEGIN
    SELECT * INTO who FROM concord._acting_principal(
        requested_by, project, ARRAY['owner', 'admin', 'member'], 'requested_by');
    RETURN QUERY SELECT * FROM concord._submit_command(
        command_type, payload, who.actor, ingress, context, idempotency_key, cancellation_mode, project,
        who.asserted_by);
END
$$;

COMMENT ON FUNCTION concord.submit_command(text, jsonb, text, text, jsonb, text, text) IS
'Record a command in the chosen project (see use_project), validate its payload and queue it '
'when asynchronous; idempotent by key within the project (spec 11). requested_by names the '
'authenticated principal (NULL: the caller itself) or, for a service with an act-as grant, '
'the principal it submits for (CN012 otherwise); the requester needs the owner, admin or '
'member role in the project.';
