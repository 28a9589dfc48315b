-- The idempotent functions a DBOS worker calls from its steps (spec 18-19,
-- 30-35): claim, check, begin and read effects. DBOS executes; these record
-- the meaning.

-- The workflow that may act for command c: its current run's, or the one
-- finishing that run's cancellation.
CREATE OR REPLACE FUNCTION concord._require_owner(c concord.commands, workflow_id text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._require('workflow_id', workflow_id);
    IF c.dbos_workflow_id IS null
       OR workflow_id NOT IN (c.dbos_workflow_id, c.dbos_workflow_id || '/cancel') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'only_the_current_workflow_acts_for_its_command',
            MESSAGE = format('workflow %s does not run command %s (its current workflow is %s)',
                             workflow_id, c.command_id, coalesce(c.dbos_workflow_id, 'none'));
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION concord._command_brief(c concord.commands)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'command_id', c.command_id, 'command_type', c.command_type, 'status', c.status,
        'payload', c.payload, 'context', c.context, 'requested_by', c.requested_by,
        'trace_id', c.trace_id, 'idempotency_key', c.idempotency_key,
        'cancellation_mode', c.cancellation_mode,
        'cancellation_requested', c.cancellation_requested_at IS NOT null,
        'run_seq', c.run_seq, 'attempts', c.attempts, 'workflow_id', c.dbos_workflow_id);
END
$$;

CREATE OR REPLACE FUNCTION concord.runtime_claim(
    command_id uuid, workflow_id text, executor_id text
)
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
DECLARE
    c concord.commands%ROWTYPE;
    unmet text;
    action text;
    saved text[];
    run text;
BEGIN
    PERFORM concord._require('workflow_id', workflow_id);
    PERFORM concord._require('executor_id', executor_id);
    -- Parents first, then the command: the order a parent's completion takes.
    unmet := concord._unmet_dependencies_locked(command_id);
    c := concord._lock_command(command_id);
    IF c.dbos_workflow_id || '/cancel' = workflow_id THEN
        -- The follow-up that finishes a cancellation begun in DBOS.
        RETURN jsonb_build_object(
            'action', CASE WHEN c.cancellation_requested_at IS NOT null AND NOT concord._is_terminal(c.status)
                                AND c.status IN ('cancelling', 'compensating', 'compensated')
                           THEN 'cancel' ELSE 'skip' END,
            'command', concord._command_brief(c));
    END IF;
    IF c.dbos_workflow_id IS DISTINCT FROM workflow_id THEN
        -- A run that was released or replaced, or a copy DBOS made of a run
        -- (`dbos workflow fork`): not ours to execute.
        RETURN jsonb_build_object('action', 'stale', 'status', c.status,
                                  'current_workflow_id', c.dbos_workflow_id);
    END IF;
    IF c.status = 'queued' THEN
        unmet := concord._unmet_dependencies(c.command_id);
        IF unmet IS NOT null THEN
            saved := concord._push_actor('worker:' || executor_id, 'a dependency is unmet: ' || unmet);
            UPDATE concord.commands AS x SET dbos_workflow_id = null WHERE x.command_id = c.command_id;
            PERFORM concord._pop_actor(saved);
            RETURN jsonb_build_object('action', 'released', 'status', c.status, 'unmet', unmet);
        END IF;
        -- A worker without the type's operation (its concord.workers row
        -- says which it has) does not claim it: the run lets its workflow go
        -- and the command stays queued for a worker that has it (issue 13).
        IF EXISTS (SELECT 1 FROM concord.workers AS w
                   WHERE w.executor_id = runtime_claim.executor_id AND NOT (c.command_type = ANY (w.operations))) THEN
            RETURN concord.runtime_unserved(c.command_id, workflow_id, executor_id)
                   || jsonb_build_object('action', 'unserved');
        END IF;
    END IF;
    IF c.status = 'queued' THEN
        run := concord._push_run(workflow_id);
        PERFORM concord._set_status(c.command_id, 'running', 'worker:' || executor_id,
                                    format('claimed by workflow %s on %s', workflow_id, executor_id));
        PERFORM concord._pop_run(run);
        c.status := 'running';
        -- the kernel counted the run that begins now
        SELECT x.attempts INTO c.attempts FROM concord.commands AS x WHERE x.command_id = c.command_id;
    END IF;
    action := CASE
        WHEN c.status = 'running' THEN 'run'
        WHEN c.status IN ('cancelling', 'compensating', 'compensated') AND c.cancellation_requested_at IS NOT null
            THEN 'cancel'
        ELSE 'skip'
    END;
    -- A run cancelled in DBOS handed its cancellation to <workflow>/cancel;
    -- resumed (`dbos workflow resume`), it leaves that path to the follow-up
    -- rather than walk the same compensations at the same time.
    IF action = 'cancel' AND concord._cancellation_follow_up_exists(workflow_id) THEN
        action := 'skip';
    END IF;
    RETURN jsonb_build_object('action', action, 'command', concord._command_brief(c));
END
$$;

COMMENT ON FUNCTION concord.runtime_claim(uuid, text, text) IS
'Worker step: the workflow of a command''s current run claims it (queued -> running). Answers '
'{action: run | cancel | skip | stale | released | unserved, command}. released: a dependency is '
'unmet, the workflow lets go and the parent''s completion hands the command off again. unserved: '
'the calling worker''s row of concord.workers lists no operation for the type: the workflow lets '
'go (runtime_unserved) and the command stays queued for a worker that has it. stale: the '
'workflow is not the command''s current run (a replaced run, or a DBOS fork of one). A run whose '
'cancellation a follow-up workflow (<id>/cancel) walks answers skip. Idempotent.';

-- Whether DBOS holds the follow-up workflow that walks the cancellation of
-- run workflow_id (enqueued by _cancel_from_dbos). Dynamic: nothing here may
-- depend on DBOS's objects.
CREATE OR REPLACE FUNCTION concord._cancellation_follow_up_exists(workflow_id text)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    found boolean;
BEGIN
    IF to_regclass('dbos.workflow_status') IS null THEN
        RETURN false;
    END IF;
    EXECUTE 'SELECT EXISTS (SELECT 1 FROM dbos.workflow_status WHERE workflow_uuid = $1)'
    INTO found USING workflow_id || '/cancel';
    RETURN found;
END
$$;

-- The step prelude (spec 30.1): read only. {action: run} while the command
-- runs under this workflow; cancel once cancellation is requested; stop when
-- the run is no longer this workflow's or the command no longer runs (blocked,
-- finished, re-queued).
CREATE OR REPLACE FUNCTION concord.runtime_check(command_id uuid, workflow_id text)
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
    c concord.commands%ROWTYPE;
BEGIN
    PERFORM concord._require('command_id', command_id::text);
    PERFORM concord._require('workflow_id', workflow_id);
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = command_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', CONSTRAINT = 'the_command_exists',
            MESSAGE = format('command %s not found', command_id);
    END IF;
    RETURN jsonb_build_object(
        'action', CASE
            WHEN c.dbos_workflow_id IS DISTINCT FROM workflow_id THEN 'stop'
            WHEN c.cancellation_requested_at IS NOT null AND c.status IN ('running', 'cancelling') THEN 'cancel'
            WHEN c.status = 'running' THEN 'run'
            ELSE 'stop'
        END,
        'status', c.status,
        'cancellation_mode', c.cancellation_mode);
END
$$;

COMMENT ON FUNCTION concord.runtime_check(uuid, text) IS
'Worker step prelude (spec 30.1), read only: {action: run | cancel | stop, status, '
'cancellation_mode}. stop: the run is no longer this workflow''s, or the command no longer runs '
'(blocked, finished).';

CREATE OR REPLACE FUNCTION concord._effect_state(e concord.domain_effects, action text)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'action', action, 'effect_id', e.domain_effect_id, 'status', e.status, 'effect_type', e.effect_type,
        'idempotency_key', e.idempotency_key, 'result', e.result, 'error', e.error, 'error_class', e.error_class);
END
$$;

CREATE OR REPLACE FUNCTION concord.runtime_begin_effect(
    command_id uuid,
    workflow_id text,
    effect_type text,
    payload jsonb,
    idempotency_key text,
    declared_compensation text DEFAULT NULL,
    compensates_effect_id uuid DEFAULT NULL
)
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
    e concord.domain_effects%ROWTYPE;
    effect_id uuid;
    saved text[];
    run text;
    attempt_key text := idempotency_key;
BEGIN
    PERFORM concord._require('command_id', command_id::text);
    PERFORM concord._require('effect_type', effect_type);
    PERFORM concord._require('idempotency_key', idempotency_key);
    -- An effect's payload keeps no credential (as connector_invocations).
    payload := concord._redact(coalesce(payload, '{}'));
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = command_id FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', CONSTRAINT = 'the_command_exists',
            MESSAGE = format('command %s not found', command_id);
    END IF;
    PERFORM concord._require_owner(c, workflow_id);
    IF workflow_id = c.dbos_workflow_id || '/cancel' AND compensates_effect_id IS null THEN
        -- The follow-up walks a cancellation: it counters effects, it starts
        -- none of the operation's (a DBOS fork named <id>/cancel included).
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_cancellation_follow_up_begins_only_compensations',
            MESSAGE = format('workflow %s finishes the cancellation of command %s: it begins compensations, '
                             'not the operation''s effect %s', workflow_id, command_id, effect_type);
    END IF;
    -- The effect under this key, or its latest retry (<key>/retry-<n>). One
    -- that succeeded or is executing is reused: a replay, or a later run of the
    -- command (a retry, a re-queue) finding it done, so it is not done twice.
    -- One that failed is the answer to a replay by the workflow that failed it;
    -- a later run tries it again under the next key.
    SELECT * INTO e FROM concord.domain_effects AS x
    WHERE x.command_id = c.command_id
      AND (x.idempotency_key = idempotency_key OR starts_with(x.idempotency_key, idempotency_key || '/retry-'))
    ORDER BY x.created_at DESC, x.idempotency_key DESC
    LIMIT 1;
    IF FOUND THEN
        PERFORM concord._effect_replay(e, command_id, effect_type, coalesce(payload, '{}'), declared_compensation,
                                       compensates_effect_id);
        IF e.status = 'executing' AND NOT concord._is_current_run(c, e.executed_by_dbos_workflow_id) THEN
            -- Started by a run the command no longer has (taken off it, re-queued):
            -- that run can no longer finish it, so this one fails it and tries
            -- again under the next key; the peer decides by the same key.
            run := concord._push_run(workflow_id);
            UPDATE concord.domain_effects AS x
            SET status = 'failed', error_class = 'timeout',
                error = format('run %s took the command over from %s; the call may have happened',
                               workflow_id, e.executed_by_dbos_workflow_id)
            WHERE x.domain_effect_id = e.domain_effect_id
            RETURNING * INTO e;
            PERFORM concord._pop_run(run);
        END IF;
        IF e.status = 'failed' AND e.executed_by_dbos_workflow_id IS DISTINCT FROM workflow_id THEN
            attempt_key := idempotency_key || '/retry-' || (
                SELECT count(*) FROM concord.domain_effects AS x
                WHERE x.command_id = c.command_id
                  AND (x.idempotency_key = idempotency_key
                       OR starts_with(x.idempotency_key, idempotency_key || '/retry-')));
        ELSIF e.status <> 'planned' THEN
            RETURN concord._effect_state(e, CASE e.status WHEN 'executing' THEN 'execute' ELSE 'done' END)
            || jsonb_build_object('connector_key', idempotency_key);
        ELSE
            attempt_key := e.idempotency_key;
        END IF;
    END IF;
    -- The prelude of spec 30: no new step once cancellation is asked for,
    -- except the compensations it asked for.
    IF compensates_effect_id IS null THEN
        IF c.cancellation_requested_at IS NOT null THEN
            RETURN jsonb_build_object('action', 'cancelled', 'mode', c.cancellation_mode, 'status', c.status);
        END IF;
        IF c.status <> 'running' THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'only_a_running_command_starts_effects',
                MESSAGE = format('command %s is %s: only a running command starts effects', command_id, c.status);
        END IF;
    ELSIF c.status <> 'compensating' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'compensations_run_only_while_compensating',
            MESSAGE = format('command %s is %s: compensations run only while it is compensating',
                             command_id, c.status);
    END IF;
    -- The connector it calls is one the command may call (spec 18-20): checked
    -- here, where every effect begins, not by the worker module.
    IF payload ? 'connector' THEN
        PERFORM concord._require_connector_call(concord._contract_command(c, compensates_effect_id),
                                                payload ->> 'connector', payload ->> 'capability');
    END IF;
    saved := concord._push_actor('workflow:' || workflow_id, null);
    run := concord._push_run(workflow_id);
    effect_id := concord._plan_effect(command_id, effect_type, payload, attempt_key, declared_compensation,
                                      compensates_effect_id);
    PERFORM concord._pop_run(run);
    PERFORM concord._pop_actor(saved);
    PERFORM concord.start_effect(effect_id, workflow_id);
    SELECT * INTO e FROM concord.domain_effects AS x WHERE x.domain_effect_id = effect_id;
    RETURN concord._effect_state(e, CASE e.status WHEN 'executing' THEN 'execute' ELSE 'done' END)
            || jsonb_build_object('connector_key', idempotency_key);
END
$$;

COMMENT ON FUNCTION concord.runtime_begin_effect(uuid, text, text, jsonb, text, text, uuid) IS
'Worker step: the prelude (no new effect once cancellation is requested: {action: cancelled}), '
'then the connector check (payload.connector and payload.capability: one the command type '
'declares, within an agent''s scope, CN012), then plan_effect + start_effect. Answers '
'{action: execute | done | cancelled, effect_id, status, result, connector_key, ...}; a replay '
'returns the effect it began; a later run of the command reuses an effect that succeeded and '
'retries one that failed as a new effect <key>/retry-<n>, whose connector_key stays <key>: the '
'call may have happened, and the peer decides by that key.';

CREATE OR REPLACE FUNCTION concord.runtime_effect(effect_id uuid)
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
    e concord.domain_effects%ROWTYPE;
BEGIN
    PERFORM concord._require('effect_id', effect_id::text);
    SELECT * INTO e FROM concord.domain_effects AS x WHERE x.domain_effect_id = effect_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', CONSTRAINT = 'the_effect_exists',
            MESSAGE = format('effect %s not found', effect_id);
    END IF;
    RETURN concord._effect_state(e, e.status);
END
$$;

COMMENT ON FUNCTION concord.runtime_effect(uuid) IS
'The state of an effect ({effect_id, status, result, error, error_class, ...}), read only. The '
'worker itself asks concord.runtime_call_effect before a connector call, which also checks that '
'the asking workflow began the effect and still runs its command.';

-- The step that calls a connector asks first (spec 30.1, issue 13): only the
-- run that began the effect calls, while that run is still the command's and
-- the command still runs (a DBOS fork, a run resumed after its command ended,
-- or a run an operator took the command off must not reach the peer).
CREATE OR REPLACE FUNCTION concord.runtime_call_effect(effect_id uuid, workflow_id text)
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
    e concord.domain_effects%ROWTYPE;
    c concord.commands%ROWTYPE;
BEGIN
    PERFORM concord._require('effect_id', effect_id::text);
    PERFORM concord._require('workflow_id', workflow_id);
    SELECT * INTO e FROM concord.domain_effects AS x WHERE x.domain_effect_id = effect_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', CONSTRAINT = 'the_effect_exists',
            MESSAGE = format('effect %s not found', effect_id);
    END IF;
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = e.command_id;
    PERFORM concord._require_owner(c, workflow_id);
    IF e.status IN ('succeeded', 'failed') THEN
        RETURN concord._effect_state(e, 'done');
    END IF;
    IF e.status <> 'executing' OR e.executed_by_dbos_workflow_id IS DISTINCT FROM workflow_id
       OR c.status NOT IN ('running', 'cancelling', 'compensating') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_connector_is_called_only_by_the_run_that_began_its_effect',
            MESSAGE = format('workflow %s may not call the connector of effect %s: the effect is %s (begun by %s) '
                             'and its command %s is %s', workflow_id, effect_id, e.status,
                             coalesce(e.executed_by_dbos_workflow_id, 'no run'), c.command_id, c.status),
            HINT = 'Only the run that began an effect calls its connector, while its command runs.';
    END IF;
    -- the contract again, where the call is made (spec 18-20)
    PERFORM concord._require_effect_connector(c, e);
    -- and still in force: a retirement stops the next call (spec 111.4)
    PERFORM concord._require_usable_capabilities(c, e.effect_payload ->> 'connector');
    RETURN concord._effect_state(e, 'call');
END
$$;

COMMENT ON FUNCTION concord.runtime_call_effect(uuid, text) IS
'Worker step, before a connector call: the effect''s state ({action: done | call, status, result, '
'error, ...}). done: it already succeeded or failed (a replay returns that). call: the workflow '
'began it and may call now. Refused (CN011) to a workflow that is not the command''s current run, '
'did not begin the effect, or whose command no longer runs (blocked, finished); refused (CN012) '
'when the effect names no connector (payload.connector) or one its command may no longer call.';
