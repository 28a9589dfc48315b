-- Input requests (spec 22): the requester supplies what a policy asked for.

CREATE OR REPLACE FUNCTION concord.provide_input(command_id uuid, payload_patch jsonb, actor text)
RETURNS jsonb
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
    ct concord.command_types%ROWTYPE;
    merged jsonb;
    problems jsonb;
    saved text[];
BEGIN
    PERFORM concord._require('command_id', command_id::text);
    actor := concord._acting_on_command(actor, command_id, ARRAY['owner', 'admin', 'member']);
    IF payload_patch IS NULL OR jsonb_typeof(payload_patch) <> 'object' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'payload_patch_is_a_json_object',
            MESSAGE = format('payload_patch must be a JSON object, not %s', coalesce(jsonb_typeof(payload_patch), 'NULL')),
            HINT = 'Pass the fields to add or change, e.g. {"hotel_name": "Ritz"}; null removes a field.';
    END IF;
    c := concord._lock_command(command_id);
    IF c.status <> 'waiting_for_input' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'input_is_provided_only_while_waiting_for_input',
            MESSAGE = format('command %s is %s, not waiting_for_input: it takes no input now', command_id, c.status);
    END IF;
    IF actor <> c.requested_by THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'only_the_requester_provides_input',
            MESSAGE = format('%s may not provide input for command %s: only its requester %s may',
                             actor, command_id, c.requested_by);
    END IF;
    ct := concord._command_contract_of(c);
    BEGIN
        merged := concord._json_merge_patch(c.payload, payload_patch);
    EXCEPTION WHEN statement_too_complex OR program_limit_exceeded THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'payload_patch_is_not_nested_too_deeply',
            MESSAGE = 'payload_patch is nested too deeply to merge';
    END;
    problems := concord._payload_problems(concord._validated_inputs(ct), ct.payload_schema, merged);
    IF jsonb_array_length(problems) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            CONSTRAINT = 'provided_input_leaves_a_valid_payload',
            MESSAGE = format('command %s: the payload with this input has %s problem(s); nothing was changed',
                             command_id, jsonb_array_length(problems)),
            DETAIL = (SELECT string_agg('- ' || (p.problem ->> 'path') || ': ' || (p.problem ->> 'message'), E'\n')
                      FROM jsonb_array_elements(problems) AS p (problem));
    END IF;
    PERFORM concord._audit('input_provided', c.command_id, c.trace_id, 'command', c.command_id::text,
                           c.status, c.status,
                           -- payload_before: an idempotent replay of the submission still matches
                           jsonb_build_object('payload_patch', payload_patch, 'payload_before', c.payload), actor);
    saved := concord._push_actor(actor, 'input provided');
    UPDATE concord.commands AS x SET payload = merged, status = 'validated'
    WHERE x.command_id = c.command_id;
    PERFORM concord._pop_actor(saved);
    RETURN concord._reevaluate(c.command_id, actor, 'policies evaluated after input');
END
$$;

COMMENT ON FUNCTION concord.provide_input(uuid, jsonb, text) IS
'The requester supplies input for a command waiting_for_input: the patch is merged (RFC 7396), '
'the payload validated (CN005, nothing changed, if invalid) and the policies evaluated again. '
'Returns the evaluation with the new status.';
