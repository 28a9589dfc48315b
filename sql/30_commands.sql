-- Commands: the guards that hold whoever writes (spec 12, 30), the audit
-- trail of every state change (spec 25, 35), and the command API.

-- ---------------------------------------------------------------------------
-- Guards
-- ---------------------------------------------------------------------------

-- A command is born 'created', with no outcome and no history to forge.
-- Submission (spec 4.1, 13.2): when the inserting transaction has set
-- concord.submitting to 'on' (submit_command does), the trigger validates
-- the payload itself and inserts the row along the legal path it earns —
-- created -> validated (-> queued for asynchronous types), or created ->
-- failed with every problem — in one row write. Whoever sets the flag gets
-- the same validation, so no path can be forged.
CREATE OR REPLACE FUNCTION concord._commands_before_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    ct concord.command_types%ROWTYPE;
    found_type record;
    problems jsonb;
    evaluation jsonb;
    path text[];
BEGIN
    IF NEW.status IS DISTINCT FROM 'created' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            MESSAGE = format('illegal transition: a new command starts in created, not %s',
                             coalesce(NEW.status, 'NULL')),
            HINT = 'Submit it with concord.submit_command, or insert it as created.';
    END IF;
    NEW.error := null;
    NEW.error_class := null;
    NEW.error_detail := null;
    NEW.completed_at := null;
    NEW.policy_evaluation := null;
    NEW.plan := null;
    IF current_setting('concord.submitting', true) = 'on' THEN
        -- One query for the type and the edges a submission may take.
        SELECT x AS command_type, ARRAY(
                   SELECT tr.from_status || '>' || tr.to_status FROM concord.command_transitions AS tr
                   WHERE tr.from_status IN ('created', 'validated')) AS edges
        INTO found_type
        FROM concord.command_types AS x WHERE x.command_type = NEW.command_type;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN009',
                MESSAGE = format('unknown command type %L', NEW.command_type),
                HINT = 'Register it first with concord.register_command_type(spec).';
        END IF;
        ct := found_type.command_type;
        NEW.cancellation_mode := coalesce(NEW.cancellation_mode, ct.default_cancellation_mode);
        problems := concord._payload_problems(concord._validated_inputs(ct), ct.payload_schema, NEW.payload);
        IF jsonb_array_length(problems) > 0 THEN
            NEW.status := 'failed';
            NEW.error_class := 'validation_error';
            NEW.error_detail := jsonb_build_object('errors', problems);
            NEW.error := format('invalid payload: %s', (
                SELECT string_agg((p.problem ->> 'path') || ': ' || (p.problem ->> 'message'), '; ')
                FROM jsonb_array_elements(problems) AS p (problem)));
            path := ARRAY['created', 'failed'];
        ELSE
            -- Spec 21: the type's policies decide right after validation.
            IF cardinality(concord._effective_policies(ct)) > 0 THEN
                evaluation := concord._evaluate(NEW, ct);
            END IF;
            NEW.status := concord._route(coalesce(evaluation ->> 'decision', 'allow'), ct);
            IF evaluation IS NOT NULL THEN
                NEW.policy_evaluation := evaluation;
                IF NEW.status = 'failed' THEN
                    NEW.error_class := 'policy_denied';
                    NEW.error := concord._denial(evaluation);
                    NEW.error_detail := jsonb_build_object('policy_decisions', evaluation -> 'policies');
                END IF;
            END IF;
            path := ARRAY['created', 'validated'] || CASE WHEN NEW.status <> 'validated' THEN ARRAY[NEW.status] END;
        END IF;
        NEW.completed_at := CASE WHEN NEW.status = 'failed' THEN now() END;
        -- The path is still the state machine's to allow.
        FOR step IN 1 .. cardinality(path) - 1 LOOP
            IF NOT (path[step] || '>' || path[step + 1]) = ANY (found_type.edges) THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN001',
                    MESSAGE = format('illegal transition: the state machine does not let a new command go %s',
                                     array_to_string(path, ' -> '));
            END IF;
        END LOOP;
    END IF;
    -- A submission that lands in queued is handed to the runtime (the after
    -- trigger enqueues its workflow); nobody else binds a workflow on insert.
    NEW.run_seq := CASE WHEN NEW.status = 'queued' THEN 1 ELSE 0 END;
    NEW.queue_name := CASE WHEN NEW.status = 'queued' THEN concord._command_queue(NEW.command_type) END;
    NEW.dbos_workflow_id := CASE WHEN NEW.status = 'queued' THEN concord._workflow_id(NEW.command_id, 1) END;
    NEW.trace_id := coalesce(nullif(NEW.trace_id, ''), concord._new_trace_id());
    NEW.created_at := now();
    NEW.updated_at := NEW.created_at;
    NEW.result := null;
    NEW.cancellation_requested_at := null;
    NEW.cancellation_requested_by := null;
    RETURN NEW;
END
$$;

-- Every change of status must be an edge of command_transitions plus its
-- guard; identity columns never change; a terminal command never changes.
CREATE OR REPLACE FUNCTION concord._commands_before_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    unmet text;
    problems jsonb;
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        IF NOT EXISTS (
            SELECT 1 FROM concord.command_transitions AS t
            WHERE t.from_status = OLD.status AND t.to_status = NEW.status
        ) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN001',
                MESSAGE = format('illegal transition: command %s cannot go from %s to %s',
                                 OLD.command_id, OLD.status, coalesce(NEW.status, 'NULL')),
                DETAIL = format('From %s the allowed next statuses are: %s.',
                                OLD.status, concord._next_statuses(OLD.status));
        END IF;
    END IF;

    IF concord._is_terminal(OLD.status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('command %s is %s, which is terminal: it can no longer change',
                             OLD.command_id, OLD.status);
    END IF;

    IF (NEW.command_id, NEW.command_type, NEW.requested_by, NEW.ingress, NEW.idempotency_key,
        NEW.trace_id, NEW.created_at)
       IS DISTINCT FROM
       (OLD.command_id, OLD.command_type, OLD.requested_by, OLD.ingress, OLD.idempotency_key,
        OLD.trace_id, OLD.created_at) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('command %s: command_id, command_type, requested_by, ingress, '
                             'idempotency_key, trace_id and created_at are immutable', OLD.command_id);
    END IF;


    IF OLD.cancellation_requested_at IS NOT NULL
       AND (NEW.cancellation_requested_at, NEW.cancellation_requested_by, NEW.cancellation_mode)
           IS DISTINCT FROM
           (OLD.cancellation_requested_at, OLD.cancellation_requested_by, OLD.cancellation_mode) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('command %s: a cancellation request and its mode cannot change once made',
                             OLD.command_id);
    END IF;

    IF (NEW.payload, NEW.context) IS DISTINCT FROM (OLD.payload, OLD.context)
       AND OLD.status NOT IN ('created', 'waiting_for_input') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('command %s is %s: its payload and context can change only while it is '
                             'created or waiting_for_input', OLD.command_id, OLD.status);
    END IF;

    IF NEW.status IS DISTINCT FROM OLD.status THEN
        -- Entering the cancellation path records who asked and when.
        IF NEW.status IN ('cancelling', 'cancelled') AND NEW.cancellation_requested_at IS NULL THEN
            NEW.cancellation_requested_at := now();
            NEW.cancellation_requested_by := concord._actor();
        END IF;
        -- Spec 30: graceful stops; compensate_then_stop compensates first.
        IF OLD.status = 'cancelling' AND NEW.status = 'compensating'
           AND NEW.cancellation_mode <> 'compensate_then_stop' THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN001',
                MESSAGE = format('illegal transition: command %s is cancelling gracefully; '
                                 'only compensate_then_stop cancellation compensates', OLD.command_id);
        END IF;
        IF OLD.status = 'cancelling' AND NEW.status = 'cancelled'
           AND NEW.cancellation_mode = 'compensate_then_stop' THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN001',
                MESSAGE = format('illegal transition: command %s is cancelling with compensate_then_stop; '
                                 'it must pass through compensating and compensated', OLD.command_id);
        END IF;
        IF OLD.status IN ('running', 'blocked') AND NEW.status = 'cancelled'
           AND NEW.cancellation_mode = 'compensate_then_stop' THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN001',
                MESSAGE = format('illegal transition: command %s cancels with compensate_then_stop; '
                                 'it must go through cancelling and compensating', OLD.command_id);
        END IF;
        IF OLD.status = 'compensated' AND NEW.status = 'cancelled' AND OLD.cancellation_requested_at IS NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN001',
                MESSAGE = format('illegal transition: command %s was compensated after a failure, not a '
                                 'cancellation; compensated is final for it', OLD.command_id);
        END IF;
        -- A child waits for its parents (spec 13.4).
        IF NEW.status = 'running' THEN
            unmet := concord._unmet_dependencies(NEW.command_id);
            IF unmet IS NOT NULL THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN001',
                    MESSAGE = format('illegal transition: command %s cannot run before its dependencies are met',
                                     OLD.command_id),
                    DETAIL = 'Unmet: ' || unmet || '.';
            END IF;
        END IF;
        IF EXISTS (SELECT 1 FROM concord.command_transitions AS t
                   WHERE t.from_status = OLD.status AND t.to_status = NEW.status AND t.reopens) THEN
            -- A command someone asked to cancel is not retried.
            IF OLD.cancellation_requested_at IS NOT NULL THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN001',
                    MESSAGE = format('illegal transition: command %s cannot be retried: %s asked to cancel it',
                                     OLD.command_id, OLD.cancellation_requested_by);
            END IF;
            -- Spec 32: a logical failure is not retried (nor a policy undone).
            IF EXISTS (SELECT 1 FROM concord.error_classes AS ec
                       WHERE ec.error_class = OLD.error_class AND NOT ec.retryable) THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN001',
                    MESSAGE = format('illegal transition: command %s failed with %s, which is not retryable',
                                     OLD.command_id, OLD.error_class),
                    HINT = 'Submit a new command once the cause is fixed.';
            END IF;
            -- A retry starts clean; the audit trail keeps the old error.
            NEW.error := NULL;
            NEW.error_class := NULL;
            NEW.error_detail := NULL;
        END IF;
        -- Nothing governed runs, and nothing is approved, unless policy and
        -- approvers said so (spec 21, 22), whoever makes the move.
        IF NEW.status IN ('queued', 'running', 'approved', 'waiting_for_approval') THEN
            PERFORM concord._require_policy_consent(OLD, NEW.status);
        END IF;
        -- Only a valid payload is validated, whoever makes the move.
        IF NEW.status = 'validated' THEN
            problems := (
                SELECT concord._payload_problems(concord._validated_inputs(ct), ct.payload_schema, NEW.payload)
                FROM concord.command_types AS ct WHERE ct.command_type = NEW.command_type);
            IF jsonb_array_length(problems) > 0 THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN005',
                    MESSAGE = format('command %s cannot become validated: its payload has %s problem(s)',
                                     OLD.command_id, jsonb_array_length(problems)),
                    DETAIL = (SELECT string_agg('- ' || (p.problem ->> 'path') || ': ' || (p.problem ->> 'message'),
                                                E'\n')
                              FROM jsonb_array_elements(problems) AS p (problem));
            END IF;
        END IF;
        NEW.completed_at := CASE
            WHEN (SELECT s.completes FROM concord.command_statuses AS s WHERE s.status = NEW.status) THEN now()
        END;
    END IF;

    IF NEW.status IS NOT DISTINCT FROM OLD.status
       AND (NEW.result, NEW.error, NEW.error_class, NEW.error_detail, NEW.completed_at)
           IS DISTINCT FROM (OLD.result, OLD.error, OLD.error_class, OLD.error_detail, OLD.completed_at) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('command %s: result, error and completed_at change only with its status',
                             OLD.command_id),
            HINT = 'Record an outcome with concord.transition_command.';
    END IF;

    -- The runtime binding: entering queued starts a run; see 80_runtime.sql.
    IF NEW.status = 'queued'
       OR (NEW.dbos_workflow_id, NEW.run_seq, NEW.queue_name)
          IS DISTINCT FROM (OLD.dbos_workflow_id, OLD.run_seq, OLD.queue_name) THEN
        NEW := concord._bind_workflow(OLD, NEW);
    END IF;

    NEW.updated_at := greatest(now(), OLD.updated_at);
    RETURN NEW;
END
$$;

-- The creation event and, for a submitted row, one status change event per
-- edge of the path it was inserted along, in one statement.
CREATE OR REPLACE FUNCTION concord._commands_after_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    actor text := concord._actor(NEW.requested_by);
    evaluation jsonb := NEW.policy_evaluation;
    evaluated boolean := NEW.policy_evaluation IS NOT NULL;
    ct concord.command_types%ROWTYPE;
BEGIN
    IF evaluated THEN
        PERFORM concord._record_decisions(NEW.command_id, evaluation, actor);
    END IF;
    INSERT INTO concord.domain_events (
        command_id, purpose, event_type, target_type, target_id,
        from_status, to_status, reason, payload, actor, trace_id
    )
    SELECT NEW.command_id, 'audit', e.event_type, e.target_type, coalesce(e.target_id, NEW.command_id::text),
           e.from_status, e.to_status, e.reason, e.payload, actor, NEW.trace_id
    FROM (
        VALUES
        (0, 'command_created', 'command', null, null, 'created', null,
         jsonb_build_object('command_type', NEW.command_type, 'ingress', NEW.ingress,
                            'idempotency_key', NEW.idempotency_key)),
        (1, 'command_status_changed', 'command', null, 'created', 'failed', 'payload failed validation',
         jsonb_build_object('error', NEW.error, 'error_class', NEW.error_class,
                            'error_detail', NEW.error_detail)),
        (1, 'command_status_changed', 'command', null, 'created', 'validated', 'payload is valid', '{}'::jsonb),
        (2, 'policies_evaluated', 'policy_evaluation', evaluation ->> 'evaluation_id', null, null, null,
         concord._evaluation_record(evaluation)),
        (3, 'command_status_changed', 'command', null, 'validated', NEW.status,
         CASE NEW.status
             WHEN 'queued' THEN CASE WHEN evaluated THEN 'policies allow; asynchronous command type'
                                     ELSE 'asynchronous command type' END
             WHEN 'failed' THEN 'policy denied'
             WHEN 'waiting_for_input' THEN 'policies require input'
             WHEN 'waiting_for_approval' THEN 'policies require approval'
         END,
         CASE WHEN NEW.status = 'failed'
              THEN jsonb_build_object('error', NEW.error, 'error_class', NEW.error_class)
              ELSE '{}'::jsonb END)
    ) AS e (n, event_type, target_type, target_id, from_status, to_status, reason, payload)
    WHERE e.n = 0
       OR (e.n = 1 AND NEW.error_class = 'validation_error' AND e.to_status = 'failed')
       OR (e.n = 1 AND NEW.status <> 'created' AND NEW.error_class IS DISTINCT FROM 'validation_error'
           AND e.to_status = 'validated')
       OR (e.n = 2 AND evaluated)
       OR (e.n = 3 AND NEW.status NOT IN ('created', 'validated')
           AND NEW.error_class IS DISTINCT FROM 'validation_error')
    ORDER BY e.n;
    IF NEW.status = 'waiting_for_approval' THEN
        SELECT * INTO ct FROM concord.command_types AS x WHERE x.command_type = NEW.command_type;
        PERFORM concord._open_approvals(NEW, ct, evaluation, actor);
    END IF;
    IF NEW.dbos_workflow_id IS NOT null THEN
        PERFORM concord._handed_off(NEW, actor);
    END IF;
    RETURN null;
END
$$;

-- Audit every status change and cancellation request; settle dependents.
CREATE OR REPLACE FUNCTION concord._commands_after_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM concord._audit(
            'command_status_changed', NEW.command_id, NEW.trace_id, 'command', NEW.command_id::text,
            OLD.status, NEW.status,
            jsonb_strip_nulls(jsonb_build_object(
                'error', NEW.error, 'error_class', NEW.error_class, 'error_detail', NEW.error_detail,
                'result', NEW.result,
                'cancellation_mode', CASE WHEN NEW.status IN ('cancelling', 'cancelled')
                                          THEN NEW.cancellation_mode END)));
        PERFORM concord._settle_dependents(NEW.command_id, NEW.status);
        PERFORM concord._hand_off_dependents(NEW.command_id, NEW.status);
        IF OLD.status = 'waiting_for_approval' THEN
            PERFORM concord._close_approvals(NEW.command_id);
        END IF;
        -- A run that will never start (cancelled, or failed by a dependency,
        -- before a worker claimed it) is cancelled in DBOS too.
        IF OLD.status = 'queued' AND NEW.status <> 'running' OR NEW.status = 'cancelled' THEN
            PERFORM concord._cancel_queued_workflow(OLD.dbos_workflow_id);
        END IF;
        -- spec 64: a cancelled command cancels its swarms; a swarm review settles its swarm
        IF NEW.status IN ('cancelling', 'cancelled', 'succeeded', 'failed', 'expired')
           OR (NEW.command_type IN ('concord.swarm_review', 'concord.write_memory')
               AND NEW.status IN ('queued', 'failed', 'expired', 'cancelled')) THEN
            PERFORM concord._agentic_command_moved(NEW);
        END IF;
    ELSIF OLD.cancellation_requested_at IS DISTINCT FROM NEW.cancellation_requested_at THEN
        PERFORM concord._audit(
            'command_cancellation_requested', NEW.command_id, NEW.trace_id, 'command',
            NEW.command_id::text, OLD.status, NEW.status,
            jsonb_build_object('cancellation_mode', NEW.cancellation_mode),
            NEW.cancellation_requested_by);
    END IF;
    IF NEW.dbos_workflow_id IS NOT null AND NEW.dbos_workflow_id IS DISTINCT FROM OLD.dbos_workflow_id THEN
        PERFORM concord._handed_off(NEW, null);
    ELSIF NEW.dbos_workflow_id IS null AND OLD.dbos_workflow_id IS NOT null THEN
        PERFORM concord._audit(
            'workflow_released', NEW.command_id, NEW.trace_id, 'workflow', OLD.dbos_workflow_id,
            NEW.status, NEW.status, jsonb_build_object('workflow_id', OLD.dbos_workflow_id, 'run', OLD.run_seq));
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER commands_before_insert
BEFORE INSERT ON concord.commands
FOR EACH ROW EXECUTE FUNCTION concord._commands_before_insert();

CREATE OR REPLACE TRIGGER commands_before_update
BEFORE UPDATE ON concord.commands
FOR EACH ROW EXECUTE FUNCTION concord._commands_before_update();

CREATE OR REPLACE TRIGGER commands_after_insert
AFTER INSERT ON concord.commands
FOR EACH ROW EXECUTE FUNCTION concord._commands_after_insert();

CREATE OR REPLACE TRIGGER commands_after_update
AFTER UPDATE ON concord.commands
FOR EACH ROW
WHEN (
    old.status IS DISTINCT FROM new.status
    OR old.cancellation_requested_at IS DISTINCT FROM new.cancellation_requested_at
    OR old.dbos_workflow_id IS DISTINCT FROM new.dbos_workflow_id
)
EXECUTE FUNCTION concord._commands_after_update();

CREATE OR REPLACE TRIGGER commands_are_not_deleted
BEFORE DELETE ON concord.commands
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('are durable history');

CREATE OR REPLACE TRIGGER commands_are_not_truncated
BEFORE TRUNCATE ON concord.commands
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('are durable history');

-- ---------------------------------------------------------------------------
-- Internal moves, shared by the API and the dependency cascade
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION concord._lock_command(command_id uuid)
RETURNS concord.commands
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    c concord.commands%ROWTYPE;
BEGIN
    PERFORM concord._require('command_id', command_id::text);
    -- NO KEY UPDATE: a command's id never changes, and the foreign keys that
    -- point at it (agent runs, swarms, effects) take key-share locks that
    -- must not wait for every change of its status
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = _lock_command.command_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            MESSAGE = format('command %s not found', command_id);
    END IF;
    RETURN c;
END
$$;

-- Move a command to to_status as actor, with reason, recording result or
-- error when given. Returns the new status.
CREATE OR REPLACE FUNCTION concord._set_status(
    command_id uuid,
    to_status text,
    actor text,
    reason text,
    result jsonb DEFAULT NULL,
    error text DEFAULT NULL,
    error_class text DEFAULT NULL,
    error_detail jsonb DEFAULT NULL
)
RETURNS text
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    saved text[] := concord._push_actor(actor, reason);
    new_status text;
BEGIN
    UPDATE concord.commands AS c SET
        status = _set_status.to_status,
        result = coalesce(_set_status.result, c.result),
        error = coalesce(_set_status.error, c.error),
        error_class = coalesce(_set_status.error_class, c.error_class),
        error_detail = coalesce(_set_status.error_detail, c.error_detail)
    WHERE c.command_id = _set_status.command_id
    RETURNING c.status INTO new_status;
    PERFORM concord._pop_actor(saved);
    RETURN new_status;
END
$$;

-- Spec 30. A command that has not started is cancelled at once; a running
-- (or blocked) one moves to cancelling with the request recorded; a terminal or already
-- cancelling one is left as it is (cancellation is idempotent). Returns the
-- resulting status.
CREATE OR REPLACE FUNCTION concord._cancel(
    command_id uuid,
    actor text,
    reason text,
    mode text,
    error_class text DEFAULT NULL
)
RETURNS text
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    c concord.commands%ROWTYPE := concord._lock_command(command_id);
    saved text[];
    new_status text;
BEGIN
    IF mode IS NOT NULL AND mode NOT IN ('graceful', 'compensate_then_stop') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = format('unknown cancellation mode %L: use graceful or compensate_then_stop', mode);
    END IF;
    IF c.cancellation_requested_at IS NOT NULL AND mode IS NOT NULL AND mode <> c.cancellation_mode THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('command %s is already being cancelled with mode %s; the mode cannot change',
                             command_id, c.cancellation_mode);
    END IF;
    IF concord._is_terminal(c.status) OR c.status IN ('cancelling', 'compensated')
       OR (c.status = 'compensating' AND c.cancellation_requested_at IS NOT NULL) THEN
        RETURN c.status;
    END IF;

    saved := concord._push_actor(actor, reason);
    UPDATE concord.commands AS x SET
        status = CASE
            WHEN c.status IN ('running', 'blocked') THEN 'cancelling'
            WHEN c.status = 'compensating' THEN c.status
            ELSE 'cancelled'
        END,
        cancellation_mode = coalesce(mode, x.cancellation_mode),
        cancellation_requested_at = now(),
        cancellation_requested_by = actor,
        -- an outcome changes only with the status (compensating stays)
        error_class = CASE WHEN c.status <> 'compensating' THEN coalesce(_cancel.error_class, x.error_class)
                           ELSE x.error_class END,
        error = CASE WHEN c.status <> 'compensating' AND _cancel.error_class IS NOT NULL
                     THEN coalesce(reason, x.error) ELSE x.error END
    WHERE x.command_id = c.command_id
    RETURNING x.status INTO new_status;
    PERFORM concord._pop_actor(saved);
    RETURN new_status;
END
$$;

-- ---------------------------------------------------------------------------
-- API
-- ---------------------------------------------------------------------------

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
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
#variable_conflict use_variable
DECLARE
    c concord.commands%ROWTYPE;
    new_id uuid;
    problems jsonb;
    trace text;
    final_status text;
BEGIN
    PERFORM concord._require('command_type', command_type);
    IF payload IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            MESSAGE = 'payload must not be NULL',
            HINT = 'Pass ''{}'' for a command without input.';
    END IF;
    PERFORM concord._require('requested_by', requested_by);
    PERFORM concord._require('ingress', ingress);
    context := coalesce(context, '{}');
    IF jsonb_typeof(context) <> 'object' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = format('context must be a JSON object, not %s', jsonb_typeof(context));
    END IF;
    IF idempotency_key IS NOT NULL THEN
        PERFORM concord._require('idempotency_key', idempotency_key);
        IF length(idempotency_key) > 1000 THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN008',
                MESSAGE = format('idempotency_key is %s characters long; at most 1000', length(idempotency_key)),
                HINT = 'Derive a key from the request (a hash of it, say), not the request itself.';
        END IF;
    END IF;
    IF cancellation_mode NOT IN ('graceful', 'compensate_then_stop') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = format('unknown cancellation mode %L: use graceful or compensate_then_stop',
                             cancellation_mode);
    END IF;
    trace := coalesce(
        nullif(context ->> 'trace_id', ''), 'trace_' || replace(gen_random_uuid()::text, '-', '')
    );

    -- Spec 11: a replayed key returns the original and writes nothing (the
    -- fast path: no validation).
    IF idempotency_key IS NOT NULL THEN
        SELECT * INTO c FROM concord.commands AS x WHERE x.idempotency_key = submit_command.idempotency_key;
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
    PERFORM set_config('concord.submitting', 'on', true);
    INSERT INTO concord.commands AS x (
        command_type, requested_by, ingress, payload, context, status,
        cancellation_mode, idempotency_key, trace_id
    ) VALUES (
        command_type, requested_by, ingress, payload, context, 'created',
        cancellation_mode, idempotency_key, trace
    )
    ON CONFLICT ON CONSTRAINT idempotency_key_is_unique DO NOTHING
    RETURNING x.command_id, x.status,
        CASE WHEN x.status IN ('queued', 'validated') THEN '[]'::jsonb ELSE concord._submit_errors(x) END
    INTO new_id, final_status, problems;
    PERFORM set_config('concord.submitting', 'off', true);

    IF new_id IS NULL THEN
        SELECT * INTO c FROM concord.commands AS x WHERE x.idempotency_key = submit_command.idempotency_key;
        IF NOT FOUND THEN
            -- Only under REPEATABLE READ or SERIALIZABLE: the winner is invisible.
            RAISE EXCEPTION USING
                ERRCODE = '40001',
                MESSAGE = format('idempotency key %L was taken by a concurrent transaction', idempotency_key),
                HINT = 'Retry the transaction.';
        END IF;
        RETURN QUERY SELECT * FROM concord._replay(c, command_type, payload);
        RETURN;
    END IF;
    RETURN QUERY SELECT new_id, final_status, trace, true, coalesce(problems, '[]'::jsonb);
END
$$;

COMMENT ON FUNCTION concord.submit_command(text, jsonb, text, text, jsonb, text, text) IS
'Record a command, validate its payload and queue it when asynchronous; '
'idempotent by key (spec 11).';

CREATE OR REPLACE FUNCTION concord.transition_command(
    command_id uuid,
    to_status text,
    actor text,
    reason text DEFAULT NULL,
    result jsonb DEFAULT NULL,
    error text DEFAULT NULL,
    error_class text DEFAULT NULL
)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
#variable_conflict use_variable
DECLARE
    c concord.commands%ROWTYPE;
    last_actor text;
BEGIN
    PERFORM concord._known_status('to_status', to_status);
    PERFORM concord._known_error_class(error_class);
    PERFORM concord._require('actor', actor);
    c := concord._lock_command(command_id);
    IF c.status = to_status THEN
        -- Only the actor who made this move may repeat it (a runtime step may
        -- run twice): the same outcome again is a no-op, a different one is
        -- refused, nothing is rewritten unaudited. Anyone else is too late.
        SELECT e.actor INTO last_actor
        FROM concord.domain_events AS e
        WHERE e.command_id = c.command_id AND e.to_status = c.status
          AND e.event_type IN ('command_status_changed', 'command_created')
        ORDER BY e.event_seq DESC
        LIMIT 1;
        IF last_actor IS DISTINCT FROM actor THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN001',
                MESSAGE = format('illegal transition: command %s is already %s', command_id, c.status),
                DETAIL = format('%s moved it there; only that actor may repeat the move.',
                                coalesce(last_actor, 'an unrecorded actor'));
        END IF;
        IF (result IS NOT NULL AND result IS DISTINCT FROM c.result)
           OR (error IS NOT NULL AND error IS DISTINCT FROM c.error)
           OR (error_class IS NOT NULL AND error_class IS DISTINCT FROM c.error_class) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN002',
                MESSAGE = format('command %s is already %s with a different outcome', command_id, c.status),
                HINT = 'A status is reached once; its result and error are not rewritten.';
        END IF;
        RETURN c.status;
    END IF;
    RETURN concord._set_status(command_id, to_status, actor, reason, result, error, error_class);
END
$$;

COMMENT ON FUNCTION concord.transition_command(uuid, text, text, text, jsonb, text, text) IS
'Move a command to to_status if the state machine allows it (CN001 otherwise); '
'returns the new status. The actor who reached the current status may repeat the call '
'as a no-op; anyone else gets CN001.';

CREATE OR REPLACE FUNCTION concord.cancel_command(
    command_id uuid,
    actor text,
    reason text DEFAULT NULL,
    mode text DEFAULT NULL
)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
BEGIN
    PERFORM concord._require('actor', actor);
    RETURN concord._cancel(command_id, actor, reason, mode);
END
$$;

COMMENT ON FUNCTION concord.cancel_command(uuid, text, text, text) IS
'Cancel a command (spec 30): at once if not started, via cancelling if running; '
'returns the resulting status.';

CREATE OR REPLACE FUNCTION concord.get_command(command_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
DECLARE
    doc jsonb;
BEGIN
    PERFORM concord._require('command_id', command_id::text);
    SELECT to_jsonb(c) || jsonb_build_object(
        'dependencies_satisfied', concord._unmet_dependencies(c.command_id) IS NULL,
        'allowed_next_statuses', coalesce((
            SELECT jsonb_agg(t.to_status ORDER BY t.to_status)
            FROM concord.command_transitions AS t WHERE t.from_status = c.status), '[]'),
        'dependencies', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'parent_command_id', d.parent_command_id,
                'required_status', d.required_status,
                'propagate_cancellation', d.propagate_cancellation,
                'parent_status', p.status,
                'satisfied', p.status = d.required_status) ORDER BY d.created_at, d.parent_command_id)
            FROM concord.command_dependencies AS d
            INNER JOIN concord.commands AS p ON p.command_id = d.parent_command_id
            WHERE d.child_command_id = c.command_id), '[]'),
        'dependents', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'child_command_id', d.child_command_id,
                'required_status', d.required_status,
                'child_status', ch.status) ORDER BY d.created_at, d.child_command_id)
            FROM concord.command_dependencies AS d
            INNER JOIN concord.commands AS ch ON ch.command_id = d.child_command_id
            WHERE d.parent_command_id = c.command_id), '[]'),
        'effects', coalesce((
            SELECT jsonb_agg(to_jsonb(e) ORDER BY e.created_at, e.domain_effect_id)
            FROM concord.domain_effects AS e WHERE e.command_id = c.command_id), '[]'))
    INTO doc
    FROM concord.commands AS c
    WHERE c.command_id = get_command.command_id;
    IF doc IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            MESSAGE = format('command %s not found', command_id);
    END IF;
    RETURN doc;
END
$$;

COMMENT ON FUNCTION concord.get_command(uuid) IS
'The command as JSON, with its dependencies, dependents, effects and allowed next statuses.';

CREATE OR REPLACE FUNCTION concord.command_timeline(command_id uuid)
RETURNS TABLE (
    event_seq bigint,
    created_at timestamptz,
    purpose text,
    event_type text,
    actor text,
    from_status text,
    to_status text,
    reason text,
    target_type text,
    target_id text,
    payload jsonb
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
#variable_conflict use_variable
BEGIN
    PERFORM concord._require('command_id', command_id::text);
    IF NOT EXISTS (SELECT 1 FROM concord.commands AS c WHERE c.command_id = command_timeline.command_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            MESSAGE = format('command %s not found', command_id);
    END IF;
    RETURN QUERY
    SELECT e.event_seq, e.created_at, e.purpose, e.event_type, e.actor, e.from_status,
           e.to_status, e.reason, e.target_type, e.target_id, e.payload
    FROM concord.domain_events AS e
    WHERE e.command_id = command_timeline.command_id
    ORDER BY e.event_seq;
END
$$;

COMMENT ON FUNCTION concord.command_timeline(uuid) IS
'Every event of a command, in the order it happened.';
