-- commands: the guards that hold whoever writes (spec 12, 30) and the audit
-- trail of every state change (spec 25, 35).

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
    resolved record;
    edges text[];
    problems jsonb;
    evaluation jsonb;
    path text[];
BEGIN
    IF NEW.status IS DISTINCT FROM 'created' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            CONSTRAINT = 'a_new_command_starts_created',
            TABLE = 'commands',
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
    -- The contract it is judged under, resolved from the registry for its
    -- requester and project and recorded for good (issue 14): CN009 for an
    -- unknown type, CN016 when nothing usable is bound.
    SELECT * INTO resolved FROM concord._resolve_command_contract(NEW) AS r;
    ct := resolved.ct;
    NEW.contract_version_id := resolved.version_id;
    IF current_setting('concord.submitting', true) = 'on' THEN
        edges := ARRAY(SELECT tr.from_status || '>' || tr.to_status FROM concord.command_transitions AS tr
                       WHERE tr.from_status IN ('created', 'validated'));
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
            -- Spec 21: the type's policies decide right after validation,
            -- and those of its organisation or project that attach to it.
            IF cardinality(concord._policies_for(NEW, ct)) > 0 THEN
                evaluation := concord._evaluate(NEW, ct)
                    || jsonb_build_object('payload_digest', concord._payload_digest(NEW.payload));
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
            IF NOT (path[step] || '>' || path[step + 1]) = ANY (edges) THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN001',
                    CONSTRAINT = 'a_submission_follows_the_state_machine',
                    TABLE = 'commands',
                    MESSAGE = format('illegal transition: the state machine does not let a new command go %s',
                                     array_to_string(path, ' -> '));
            END IF;
        END LOOP;
    END IF;
    -- A submission that lands in queued is handed to the runtime (the after
    -- trigger enqueues its workflow); nobody else binds a workflow on insert.
    NEW.run_seq := CASE WHEN NEW.status = 'queued' THEN 1 ELSE 0 END;
    NEW.attempts := CASE WHEN NEW.status = 'running' THEN 1 ELSE 0 END;
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
                CONSTRAINT = 'a_status_change_follows_the_state_machine',
                TABLE = 'commands',
                MESSAGE = format('illegal transition: command %s cannot go from %s to %s',
                                 OLD.command_id, OLD.status, coalesce(NEW.status, 'NULL')),
                DETAIL = format('From %s the allowed next statuses are: %s.',
                                OLD.status, concord._next_statuses(OLD.status));
        END IF;
    END IF;

    -- The contract it was judged under never changes; a command from before
    -- the registry is given, once, the version its type was adopted as.
    IF NEW.contract_version_id IS DISTINCT FROM OLD.contract_version_id THEN
        IF OLD.contract_version_id IS NULL
           AND (to_jsonb(NEW) - 'contract_version_id') = (to_jsonb(OLD) - 'contract_version_id')
           AND EXISTS (SELECT 1 FROM concord.registry_versions AS v
                       INNER JOIN concord.registry_entities AS e ON v.entity_id = e.entity_id
                       WHERE v.version_id = NEW.contract_version_id AND e.entity_type = 'command_type'
                         AND e.name = OLD.command_type) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'a_command_keeps_the_contract_it_was_judged_under',
            TABLE = 'commands',
            MESSAGE = format('command %s keeps the contract version it was judged under (%s)', OLD.command_id,
                             coalesce(OLD.contract_version_id::text, 'none')),
            HINT = 'A new version judges new commands: submit a new command.';
    END IF;

    IF concord._is_terminal(OLD.status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'a_terminal_command_never_changes',
            TABLE = 'commands',
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
            CONSTRAINT = 'command_identity_is_immutable',
            TABLE = 'commands',
            MESSAGE = format('command %s: command_id, command_type, requested_by, ingress, '
                             'idempotency_key, trace_id and created_at are immutable', OLD.command_id);
    END IF;


    IF OLD.cancellation_requested_at IS NOT NULL
       AND (NEW.cancellation_requested_at, NEW.cancellation_requested_by, NEW.cancellation_mode)
           IS DISTINCT FROM
           (OLD.cancellation_requested_at, OLD.cancellation_requested_by, OLD.cancellation_mode) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'a_cancellation_request_is_immutable',
            TABLE = 'commands',
            MESSAGE = format('command %s: a cancellation request and its mode cannot change once made',
                             OLD.command_id);
    END IF;

    IF (NEW.payload, NEW.context) IS DISTINCT FROM (OLD.payload, OLD.context)
       AND OLD.status NOT IN ('created', 'waiting_for_input') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'payload_and_context_change_only_while_awaiting_input',
            TABLE = 'commands',
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
                CONSTRAINT = 'graceful_cancellation_does_not_compensate',
                TABLE = 'commands',
                MESSAGE = format('illegal transition: command %s is cancelling gracefully; '
                                 'only compensate_then_stop cancellation compensates', OLD.command_id);
        END IF;
        IF OLD.status = 'cancelling' AND NEW.status = 'cancelled'
           AND NEW.cancellation_mode = 'compensate_then_stop' THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN001',
                CONSTRAINT = 'compensate_then_stop_compensates_before_cancelled',
                TABLE = 'commands',
                MESSAGE = format('illegal transition: command %s is cancelling with compensate_then_stop; '
                                 'it must pass through compensating and compensated', OLD.command_id);
        END IF;
        IF OLD.status IN ('running', 'blocked') AND NEW.status = 'cancelled'
           AND NEW.cancellation_mode = 'compensate_then_stop' THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN001',
                CONSTRAINT = 'compensate_then_stop_goes_through_cancelling',
                TABLE = 'commands',
                MESSAGE = format('illegal transition: command %s cancels with compensate_then_stop; '
                                 'it must go through cancelling and compensating', OLD.command_id);
        END IF;
        IF OLD.status = 'compensated' AND NEW.status = 'cancelled' AND OLD.cancellation_requested_at IS NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN001',
                CONSTRAINT = 'compensation_after_a_failure_is_final',
                TABLE = 'commands',
                MESSAGE = format('illegal transition: command %s was compensated after a failure, not a '
                                 'cancellation; compensated is final for it', OLD.command_id);
        END IF;
        -- A child waits for its parents (spec 13.4).
        IF NEW.status = 'running' THEN
            unmet := concord._unmet_dependencies(NEW.command_id);
            IF unmet IS NOT NULL THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN001',
                    CONSTRAINT = 'a_command_runs_after_its_dependencies_are_met',
                    TABLE = 'commands',
                    MESSAGE = format('illegal transition: command %s cannot run before its dependencies are met',
                                     OLD.command_id),
                    DETAIL = 'Unmet: ' || unmet || '.';
            END IF;
        END IF;
        -- Only the command's current run drives it (issue 12).
        PERFORM concord._require_current_run(OLD, NEW);
        IF EXISTS (SELECT 1 FROM concord.command_transitions AS t
                   WHERE t.from_status = OLD.status AND t.to_status = NEW.status AND t.reopens) THEN
            -- A command someone asked to cancel is not retried.
            IF OLD.cancellation_requested_at IS NOT NULL THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN001',
                    CONSTRAINT = 'a_command_asked_to_cancel_is_not_retried',
                    TABLE = 'commands',
                    MESSAGE = format('illegal transition: command %s cannot be retried: %s asked to cancel it',
                                     OLD.command_id, OLD.cancellation_requested_by);
            END IF;
            -- Spec 32: a logical failure is not retried (nor a policy undone).
            IF EXISTS (SELECT 1 FROM concord.error_classes AS ec
                       WHERE ec.error_class = OLD.error_class AND NOT ec.retryable) THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN001',
                    CONSTRAINT = 'a_logical_failure_is_not_retried',
                    TABLE = 'commands',
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
        -- A command runs only the payload its policies judged (issue 12).
        IF NEW.status IN ('queued', 'running') THEN
            PERFORM concord._require_judged_payload(NEW);
        END IF;
        -- Only a valid payload is validated, whoever makes the move.
        IF NEW.status = 'validated' THEN
            problems := (
                SELECT concord._payload_problems(concord._validated_inputs(ct), ct.payload_schema, NEW.payload)
                FROM concord._command_contract_of(NEW) AS ct);
            IF jsonb_array_length(problems) > 0 THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN005',
                    CONSTRAINT = 'only_a_valid_payload_is_validated',
                    TABLE = 'commands',
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
            CONSTRAINT = 'outcome_changes_only_with_status',
            TABLE = 'commands',
            MESSAGE = format('command %s: result, error and completed_at change only with its status',
                             OLD.command_id),
            HINT = 'Record an outcome with concord.transition_command.';
    END IF;

    -- Runs are counted; max_attempts holds (sql/commands/attempts.sql).
    NEW := concord._count_attempt(OLD, NEW);

    -- The runtime binding: entering queued starts a run; see sql/runtime/hand_off.sql.
    IF NEW.status = 'queued'
       OR (NEW.dbos_workflow_id, NEW.run_seq, NEW.queue_name)
          IS DISTINCT FROM (OLD.dbos_workflow_id, OLD.run_seq, OLD.queue_name) THEN
        NEW := concord._bind_workflow(OLD, NEW);
    END IF;

    NEW.updated_at := greatest(now(), OLD.updated_at);
    RETURN NEW;
END
$$;

-- One audit row for the insert (issue 16): command_created names the whole
-- path a submission took in its one row write (created -> validated ->
-- queued, say), the reason of its last edge, its outcome when it failed and
-- the workflow it was handed to; a policy evaluation adds its own row.
CREATE OR REPLACE FUNCTION concord._commands_after_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    actor text := concord._actor(NEW.requested_by);
    evaluation jsonb := NEW.policy_evaluation;
    evaluated boolean := NEW.policy_evaluation IS NOT NULL;
    invalid boolean := NEW.error_class IS NOT DISTINCT FROM 'validation_error';
    path text[] := CASE
        WHEN NEW.status = 'created' THEN ARRAY['created']
        WHEN invalid THEN ARRAY['created', 'failed']
        WHEN NEW.status = 'validated' THEN ARRAY['created', 'validated']
        ELSE ARRAY['created', 'validated', NEW.status]
    END;
    ct concord.command_types%ROWTYPE;
BEGIN
    IF evaluated THEN
        PERFORM concord._record_decisions(NEW.command_id, evaluation, actor);
    END IF;
    INSERT INTO concord.domain_events (
        command_id, purpose, event_type, target_type, target_id,
        from_status, to_status, reason, payload, actor, asserted_by, trace_id
    )
    SELECT NEW.command_id, 'audit', e.event_type, e.target_type, e.target_id,
           null, e.to_status, e.reason, e.payload, actor, concord._asserted_by(), NEW.trace_id
    FROM (
        VALUES
        (0, 'command_created', 'command', NEW.command_id::text, NEW.status,
         CASE
             WHEN invalid THEN 'payload failed validation'
             WHEN NEW.status = 'validated' THEN 'payload is valid'
             WHEN NEW.status = 'queued' THEN CASE WHEN evaluated THEN 'policies allow; asynchronous command type'
                                                  ELSE 'asynchronous command type' END
             WHEN NEW.status = 'failed' THEN 'policy denied'
             WHEN NEW.status = 'waiting_for_input' THEN 'policies require input'
             WHEN NEW.status = 'waiting_for_approval' THEN 'policies require approval'
         END,
         jsonb_strip_nulls(jsonb_build_object(
             'command_type', NEW.command_type, 'ingress', NEW.ingress, 'idempotency_key', NEW.idempotency_key,
             'path', to_jsonb(path), 'error', NEW.error, 'error_class', NEW.error_class,
             'error_detail', CASE WHEN invalid THEN NEW.error_detail END,
             'workflow', CASE WHEN NEW.dbos_workflow_id IS NOT null THEN jsonb_build_object(
                 'workflow_id', NEW.dbos_workflow_id, 'queue', NEW.queue_name, 'run', NEW.run_seq) END))),
        (1, 'policies_evaluated', 'policy_evaluation', evaluation ->> 'evaluation_id', null, null,
         concord._evaluation_record(evaluation))
    ) AS e (n, event_type, target_type, target_id, to_status, reason, payload)
    WHERE e.n = 0 OR evaluated
    ORDER BY e.n;
    IF NEW.status = 'waiting_for_approval' THEN
        ct := concord._command_contract_of(NEW);
        PERFORM concord._open_approvals(NEW, ct, evaluation, actor);
    END IF;
    -- a deprecated contract still judges, with a warning on the command's trail
    IF NEW.contract_version_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM concord.registry_versions AS v
        WHERE v.version_id = NEW.contract_version_id AND v.status = 'deprecated') THEN
        PERFORM concord._audit(
            'contract_deprecated', NEW.command_id, NEW.trace_id, 'registry_version', NEW.contract_version_id::text,
            NULL, NULL, jsonb_build_object(
                'command_type', NEW.command_type,
                'version', (SELECT v.version::text FROM concord.registry_versions AS v
                            WHERE v.version_id = NEW.contract_version_id)),
            actor);
    END IF;
    -- the hand-off is named by command_created's workflow
    IF NEW.dbos_workflow_id IS NOT null THEN
        PERFORM concord._enqueue(NEW);
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
