-- How a worker's run ends: finish, compensations, audit, cancellation.

-- Move a command the workflow runs to to_status, recording its outcome.
-- Idempotent: a command already there is left as it is.
CREATE OR REPLACE FUNCTION concord.runtime_finish(
    command_id uuid,
    workflow_id text,
    to_status text,
    result jsonb DEFAULT NULL,
    error text DEFAULT NULL,
    error_class text DEFAULT NULL,
    reason text DEFAULT NULL
)
RETURNS text
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
DECLARE
    c concord.commands%ROWTYPE := concord._lock_command(command_id);
    new_status text;
BEGIN
    PERFORM concord._require_owner(c, workflow_id);
    PERFORM concord._known_status('to_status', to_status);
    IF c.status = to_status THEN
        RETURN c.status;
    END IF;
    -- An outcome that arrives after a cancellation request does not end the
    -- command: the workflow takes the cancellation path (spec 30).
    IF to_status IN ('succeeded', 'failed') AND c.status = 'cancelling' THEN
        RETURN c.status;
    END IF;
    -- A failure is recorded whatever the worker says about it: refusing it would
    -- leave the command running with nothing to move it again. What it could not
    -- say is said in the message, and a class outside the taxonomy is internal_error.
    IF to_status = 'failed' THEN
        IF error_class IS null OR NOT EXISTS (
            SELECT 1 FROM concord.error_classes AS ec WHERE ec.error_class = runtime_finish.error_class) THEN
            error := concat_ws(' ', nullif(btrim(coalesce(error, '')), ''),
                               CASE WHEN error_class IS null THEN '(no error class given)'
                                    ELSE format('(unknown error class %L)', left(error_class, 200)) END);
            error_class := 'internal_error';
        END IF;
        IF btrim(coalesce(error, '')) = '' THEN
            error := 'the operation failed without a message';
        END IF;
    END IF;
    -- the command's current run acts (only_the_current_run_drives_a_command)
    PERFORM concord._push_run(workflow_id);
    new_status := concord._set_status(
        c.command_id, to_status, 'workflow:' || workflow_id,
        coalesce(reason, CASE to_status WHEN 'succeeded' THEN 'operation succeeded'
                                        WHEN 'failed' THEN 'operation failed' END),
        CASE WHEN to_status = 'succeeded' THEN coalesce(result, '{}') END,
        error, error_class);
    PERFORM concord._pop_run('');
    IF new_status = 'compensated' THEN
        -- every compensation has ended: the drift detector compares, per
        -- effect, what each declared with what it began (spec 31.3)
        PERFORM concord._detect_compensation_drift(c, workflow_id);
    END IF;
    RETURN new_status;
END
$$;

COMMENT ON FUNCTION concord.runtime_finish(uuid, text, text, jsonb, text, text, text) IS
'Worker step: move the command the workflow runs to to_status (succeeded with its result, failed'
' with error and error_class, or a cancellation status); a command already there is left as it '
'is. A failure is never refused: without a message it gets one, and a missing or unknown class is '
'recorded as internal_error with the class named in the message. On compensated, the drift '
'detector runs per effect: an effect whose compensation did not begin the counter-effects it '
'declares, or began others, gets a compensation_drift audit row and a notification to the command '
'type''s owner (metadata.owner, else the requester).';

-- The succeeded effects a compensate_then_stop cancellation must counter,
-- newest first, that no succeeded compensation counters yet: the command's
-- own, and those of the settled commands its swarms' agents asked for (spec
-- 65, sql/agents/swarm_compensation.sql).
CREATE OR REPLACE FUNCTION concord.runtime_compensations(command_id uuid)
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
BEGIN
    RETURN coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'effect_id', e.domain_effect_id, 'command_id', e.command_id, 'effect_type', e.effect_type,
                   'payload', e.effect_payload,
                   'result', e.result, 'idempotency_key', e.idempotency_key,
                   'declared_compensation', e.declared_compensation)
                   ORDER BY e.completed_at DESC, e.created_at DESC, e.domain_effect_id DESC)
        FROM concord.domain_effects AS e
        WHERE (e.command_id = command_id
               OR e.command_id IN (SELECT x.c FROM concord._swarm_commands_to_compensate(command_id) AS x (c)))
          AND e.status = 'succeeded'
          AND e.declared_compensation IS NOT null
          AND e.compensates_effect_id IS null
          AND NOT EXISTS (
              SELECT 1 FROM concord.domain_effects AS k
              WHERE k.compensates_effect_id = e.domain_effect_id AND k.status = 'succeeded')
    ), '[]');
END
$$;

COMMENT ON FUNCTION concord.runtime_compensations(uuid) IS
'The succeeded effects with a declared compensation not yet countered that a compensate_then_stop '
'cancellation of the command counters, in reverse order of completion (spec 30.2): its own, and '
'those of the finished commands the agents of its swarms asked for (spec 65). Each is '
'{effect_id, command_id, effect_type, payload, result, idempotency_key, declared_compensation}.';

-- The audit rows only the runtime writes (spec 31.3 and 30.2).
CREATE OR REPLACE FUNCTION concord.runtime_audit(
    command_id uuid, workflow_id text, event_type text, payload jsonb
)
RETURNS void
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
DECLARE
    c concord.commands%ROWTYPE := concord._lock_command(command_id);
BEGIN
    PERFORM concord._require_owner(c, workflow_id);
    IF event_type IS null OR event_type NOT IN (
        'compensation_started', 'compensation_completed', 'compensation_drift', 'compensation_halted',
        'operation_cancelled') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'runtime_event_type_is_known',
            MESSAGE = format('unknown runtime event type %L', event_type),
            HINT = 'Use compensation_started, compensation_completed, compensation_drift, compensation_halted '
                   'or operation_cancelled.';
    END IF;
    -- A replayed step writes its row once.
    IF EXISTS (SELECT 1 FROM concord.domain_events AS d
               WHERE d.command_id = c.command_id AND d.event_type = runtime_audit.event_type
                 AND d.payload = coalesce(runtime_audit.payload, '{}')) THEN
        RETURN;
    END IF;
    PERFORM concord._audit(event_type, c.command_id, c.trace_id, 'command', c.command_id::text, c.status,
                           c.status, coalesce(payload, '{}'), 'workflow:' || workflow_id);
END
$$;

COMMENT ON FUNCTION concord.runtime_audit(uuid, text, text, jsonb) IS
'Worker step: write a runtime audit event (compensation_started, compensation_completed, '
'compensation_drift, compensation_halted, operation_cancelled) for the command the workflow '
'runs; a replay writes nothing more.';

-- A DBOS workflow cancelled from DBOS's side (DBOS.cancel_workflow) cannot run
-- more steps: its command's cancellation is requested and a follow-up
-- workflow finishes the cancellation path.
CREATE OR REPLACE FUNCTION concord.runtime_workflow_cancelled(
    command_id uuid, workflow_id text, executor_id text
)
RETURNS text
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
DECLARE
    c concord.commands%ROWTYPE := concord._lock_command(command_id);
BEGIN
    PERFORM concord._require('executor_id', executor_id);
    PERFORM concord._require_owner(c, workflow_id);
    RETURN concord._cancel_from_dbos(c, executor_id);
END
$$;

COMMENT ON FUNCTION concord.runtime_workflow_cancelled(uuid, text, text) IS
'Called when the DBOS workflow of a command was cancelled from DBOS''s side: requests the '
'command''s cancellation and enqueues concord.finish_cancellation (workflow <id>/cancel) to '
'finish it. Idempotent.';
