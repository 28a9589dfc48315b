-- The runtime (spec 10, 18-19, 30-35, 74-95): the transactional hand-off of
-- runnable commands to DBOS, and the idempotent functions a DBOS worker calls
-- from its steps. DBOS executes; these functions record the meaning.
--
-- The dbos.* objects are reached only through dynamic SQL: DBOS drops and
-- recreates its functions on upgrade, so nothing here may depend on them.

-- ---------------------------------------------------------------------------
-- The hand-off
-- ---------------------------------------------------------------------------

-- The DBOS workflow of a command's run: the command id for the first run,
-- then <command id>/<run> for the runs a retry or a release starts.
CREATE OR REPLACE FUNCTION concord._workflow_id(command_id uuid, run_seq integer)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN CASE WHEN run_seq <= 1 THEN command_id::text ELSE command_id::text || '/' || run_seq END;
END
$$;

-- The queue a command type runs on: its operation's (as the workers
-- registered it), else concord_default.
CREATE OR REPLACE FUNCTION concord._command_queue(command_type text)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN coalesce(
        (SELECT o.queue_name FROM concord.runtime_operations AS o WHERE o.command_type = _command_queue.command_type),
        'concord_default');
END
$$;

-- Whether DBOS's system schema (with its enqueue function) is installed.
CREATE OR REPLACE FUNCTION concord._dbos_installed()
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN to_regproc('dbos.enqueue_workflow') IS NOT NULL;
END
$$;

-- Refuses (CN015) to hand subject (a command, an agent run) to the runtime
-- when DBOS's system schema is not installed.
CREATE OR REPLACE FUNCTION concord._require_dbos(subject text, hint text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF NOT concord._dbos_installed() THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN015',
            MESSAGE = format('%s cannot be handed to the runtime: the DBOS system schema is not '
                             'installed in this database', subject),
            HINT = coalesce(hint, 'Run `concord migrate`, which installs it.');
    END IF;
END
$$;

-- Enqueue the command's current workflow in DBOS, in the caller's
-- transaction. DBOS's function ignores a second enqueue of the same id.
CREATE OR REPLACE FUNCTION concord._enqueue(c concord.commands)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._require_dbos(format('command %s', c.command_id));
    PERFORM concord._enqueue_workflow('concord.run_command', c.queue_name, c.command_id, c.dbos_workflow_id);
END
$$;

-- Enqueue DBOS workflow `workflow_name`(command_id) under workflow_id on a
-- queue, in the caller's transaction; DBOS ignores a second enqueue of an id.
CREATE OR REPLACE FUNCTION concord._enqueue_workflow(
    workflow_name text, queue_name text, command_id uuid, workflow_id text
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    EXECUTE 'SELECT dbos.enqueue_workflow(workflow_name => $1, queue_name => $2, '
            'positional_args => $3, workflow_id => $4)'
    USING workflow_name, queue_name, ARRAY[to_json(command_id::text)]::json [], workflow_id;
END
$$;

-- A DBOS workflow was cancelled from DBOS's side (it can run no more steps):
-- the command's cancellation is requested and, where there is a path left to
-- walk, concord.finish_cancellation (workflow <id>/cancel) walks it.
CREATE OR REPLACE FUNCTION concord._cancel_from_dbos(c concord.commands, executor_id text)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    new_status text := concord._cancel(c.command_id, 'worker:' || executor_id,
                                       format('workflow %s was cancelled in DBOS', c.dbos_workflow_id), null);
BEGIN
    IF new_status IN ('cancelling', 'compensating') THEN
        PERFORM concord._enqueue_workflow('concord.finish_cancellation', 'concord_default', c.command_id,
                                          c.dbos_workflow_id || '/cancel');
    END IF;
    RETURN new_status;
END
$$;

-- A workflow that has not started yet is cancelled with its command, as
-- DBOS's own cancel does it: a started one stops at its next step prelude.
CREATE OR REPLACE FUNCTION concord._cancel_queued_workflow(workflow_id text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF workflow_id IS NULL OR to_regclass('dbos.workflow_status') IS NULL THEN
        RETURN;
    END IF;
    EXECUTE 'UPDATE dbos.workflow_status SET status = ''CANCELLED'', queue_name = NULL, '
            'deduplication_id = NULL, started_at_epoch_ms = NULL, owner_xid = NULL, '
            'updated_at = $2, completed_at = $2 '
            'WHERE workflow_uuid = $1 AND status IN (''ENQUEUED'', ''DELAYED'')'
    USING workflow_id, (extract(EPOCH FROM clock_timestamp()) * 1000)::bigint;
END
$$;

-- Hand off those of command_ids that are queued without a workflow and whose
-- dependencies are met: the next run's workflow is bound (the triggers
-- enqueue it). Returns how many.
CREATE OR REPLACE FUNCTION concord._hand_off(command_ids uuid[])
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    UPDATE concord.commands AS c
    SET run_seq = c.run_seq + 1,
        dbos_workflow_id = concord._workflow_id(c.command_id, c.run_seq + 1)
    WHERE c.command_id = ANY (command_ids)
      AND c.status = 'queued'
      AND c.dbos_workflow_id IS null
      AND concord._unmet_dependencies(c.command_id) IS null;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- Children waiting for parent_id's status whose last dependency it was are
-- handed off now (the parent's completion enqueues them).
CREATE OR REPLACE FUNCTION concord._hand_off_dependents(parent_id uuid, parent_status text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM concord.command_dependencies AS d WHERE d.parent_command_id = parent_id) THEN
        RETURN;
    END IF;
    PERFORM concord._hand_off(ARRAY(
        SELECT d.child_command_id FROM concord.command_dependencies AS d
        WHERE d.parent_command_id = parent_id AND d.required_status = parent_status));
END
$$;

-- _unmet_dependencies after share-locking the parents: a parent finishing in
-- another transaction is waited for, so a decision that the command must wait
-- (no workflow) cannot race the parent's hand-off of its dependents.
CREATE OR REPLACE FUNCTION concord._unmet_dependencies_locked(command_id uuid)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM 1 FROM concord.commands AS p
    WHERE p.command_id IN (
        SELECT d.parent_command_id FROM concord.command_dependencies AS d
        WHERE d.child_command_id = _unmet_dependencies_locked.command_id)
    ORDER BY p.command_id
    FOR SHARE;
    RETURN concord._unmet_dependencies(command_id);
END
$$;

-- The before-update rule for a command's workflow binding: entering queued
-- starts a run (bound at once when nothing is unmet); otherwise the binding
-- changes only by a hand-off (a queued command whose dependencies are met
-- gets the next run's workflow) or a release (a queued command whose
-- dependency is unmet lets its workflow go).
CREATE OR REPLACE FUNCTION concord._bind_workflow(
    old_row concord.commands, new_row concord.commands
)
RETURNS concord.commands
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    unmet text;
BEGIN
    IF new_row.status = 'queued' AND old_row.status IS DISTINCT FROM 'queued' THEN
        new_row.run_seq := old_row.run_seq + 1;
        new_row.queue_name := concord._command_queue(new_row.command_type);
        new_row.dbos_workflow_id := CASE WHEN concord._unmet_dependencies_locked(new_row.command_id) IS null
                                         THEN concord._workflow_id(new_row.command_id, new_row.run_seq) END;
        IF new_row.dbos_workflow_id IS null THEN
            new_row.run_seq := old_row.run_seq;
        END IF;
        RETURN new_row;
    END IF;
    IF (new_row.dbos_workflow_id, new_row.run_seq, new_row.queue_name)
       IS NOT DISTINCT FROM (old_row.dbos_workflow_id, old_row.run_seq, old_row.queue_name) THEN
        RETURN new_row;
    END IF;
    IF new_row.status = 'queued' AND old_row.status = 'queued' THEN
        unmet := concord._unmet_dependencies_locked(new_row.command_id);
        IF old_row.dbos_workflow_id IS null AND unmet IS null
           AND new_row.run_seq = old_row.run_seq + 1
           AND new_row.dbos_workflow_id = concord._workflow_id(new_row.command_id, new_row.run_seq) THEN
            new_row.queue_name := concord._command_queue(new_row.command_type);
            RETURN new_row;
        END IF;
        IF old_row.dbos_workflow_id IS NOT null AND new_row.dbos_workflow_id IS null AND unmet IS NOT null
           AND new_row.run_seq = old_row.run_seq AND new_row.queue_name IS NOT DISTINCT FROM old_row.queue_name THEN
            RETURN new_row;
        END IF;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'CN007',
        MESSAGE = format('command %s: its workflow binding (dbos_workflow_id, run_seq, queue_name) changes only '
                         'when it is queued: handed off once its dependencies are met, released while one is '
                         'unmet', old_row.command_id),
        DETAIL = format('Bound to %s (run %s); status %s.', coalesce(old_row.dbos_workflow_id, 'no workflow'),
                        old_row.run_seq, old_row.status);
END
$$;

-- ---------------------------------------------------------------------------
-- What a worker's steps call. Each is idempotent on replay: a step that runs
-- again after a crash changes nothing more and gets the same answer.
-- ---------------------------------------------------------------------------

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
        'run_seq', c.run_seq, 'workflow_id', c.dbos_workflow_id);
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
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
DECLARE
    c concord.commands%ROWTYPE;
    unmet text;
    action text;
    saved text[];
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
        -- A run that was released or replaced: not ours to execute.
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
    END IF;
    IF c.status = 'queued' THEN
        PERFORM concord._set_status(c.command_id, 'running', 'worker:' || executor_id,
                                    format('claimed by workflow %s on %s', workflow_id, executor_id));
        c.status := 'running';
    END IF;
    action := CASE
        WHEN c.status = 'running' THEN 'run'
        WHEN c.status IN ('cancelling', 'compensating', 'compensated') AND c.cancellation_requested_at IS NOT null
            THEN 'cancel'
        ELSE 'skip'
    END;
    RETURN jsonb_build_object('action', action, 'command', concord._command_brief(c));
END
$$;

COMMENT ON FUNCTION concord.runtime_claim(uuid, text, text) IS
'Worker step: the workflow of a command''s current run claims it (queued -> running). Answers '
'{action: run | cancel | skip | stale | released, command}. released: a dependency is unmet, the'
' workflow lets go and the parent''s completion hands the command off again. Idempotent.';

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
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
#variable_conflict use_variable
DECLARE
    c concord.commands%ROWTYPE;
BEGIN
    PERFORM concord._require('command_id', command_id::text);
    PERFORM concord._require('workflow_id', workflow_id);
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = command_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('command %s not found', command_id);
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
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
#variable_conflict use_variable
DECLARE
    c concord.commands%ROWTYPE;
    e concord.domain_effects%ROWTYPE;
    effect_id uuid;
    saved text[];
    attempt_key text := idempotency_key;
BEGIN
    PERFORM concord._require('command_id', command_id::text);
    PERFORM concord._require('effect_type', effect_type);
    PERFORM concord._require('idempotency_key', idempotency_key);
    -- An effect's payload keeps no credential (as connector_invocations).
    payload := concord._redact(coalesce(payload, '{}'));
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = command_id FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('command %s not found', command_id);
    END IF;
    PERFORM concord._require_owner(c, workflow_id);
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
                MESSAGE = format('command %s is %s: only a running command starts effects', command_id, c.status);
        END IF;
    ELSIF c.status <> 'compensating' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('command %s is %s: compensations run only while it is compensating',
                             command_id, c.status);
    END IF;
    saved := concord._push_actor('workflow:' || workflow_id, null);
    effect_id := concord._plan_effect(command_id, effect_type, payload, attempt_key, declared_compensation,
                                      compensates_effect_id);
    PERFORM concord._pop_actor(saved);
    PERFORM concord.start_effect(effect_id, workflow_id);
    SELECT * INTO e FROM concord.domain_effects AS x WHERE x.domain_effect_id = effect_id;
    RETURN concord._effect_state(e, CASE e.status WHEN 'executing' THEN 'execute' ELSE 'done' END)
            || jsonb_build_object('connector_key', idempotency_key);
END
$$;

COMMENT ON FUNCTION concord.runtime_begin_effect(uuid, text, text, jsonb, text, text, uuid) IS
'Worker step: the prelude (no new effect once cancellation is requested: {action: cancelled}), '
'then plan_effect + start_effect. Answers {action: execute | done | cancelled, effect_id, '
'status, result, connector_key, ...}; a replay returns the effect it began; a later run of the '
'command reuses an effect that succeeded and retries one that failed as a new effect '
'<key>/retry-<n>, whose connector_key stays <key>: the call may have happened, and the peer '
'decides by that key.';

CREATE OR REPLACE FUNCTION concord.runtime_effect(effect_id uuid)
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
#variable_conflict use_variable
DECLARE
    e concord.domain_effects%ROWTYPE;
BEGIN
    PERFORM concord._require('effect_id', effect_id::text);
    SELECT * INTO e FROM concord.domain_effects AS x WHERE x.domain_effect_id = effect_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('effect %s not found', effect_id);
    END IF;
    RETURN concord._effect_state(e, e.status);
END
$$;

COMMENT ON FUNCTION concord.runtime_effect(uuid) IS
'The state of an effect ({effect_id, status, result, error, error_class, ...}); a worker reads '
'it before calling a connector so that a re-run step does not repeat a side effect that already '
'succeeded.';

-- Values under keys that name credentials, replaced wherever they appear.
CREATE OR REPLACE FUNCTION concord._redact(doc jsonb)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN CASE jsonb_typeof(doc)
        WHEN 'object' THEN (
            SELECT coalesce(jsonb_object_agg(
                       k.key,
                       CASE WHEN concord._is_secret_key(k.key) THEN to_jsonb('[redacted]'::text)
                            ELSE concord._redact(k.value) END), '{}')
            FROM jsonb_each(doc) AS k)
        WHEN 'array' THEN (
            SELECT coalesce(jsonb_agg(concord._redact(a.value) ORDER BY a.n), '[]')
            FROM jsonb_array_elements(doc) WITH ORDINALITY AS a (value, n))
        WHEN 'string' THEN CASE
            WHEN doc #>> '{}' ~* '^(bearer|basic)[ \t\n\r\f\v]+[^ \t\n\r\f\v]' THEN to_jsonb('[redacted]'::text)
            WHEN doc #>> '{}' ~ '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/@: \t\n\r\f\v]*:[^/@ \t\n\r\f\v]+@'
                THEN to_jsonb(regexp_replace(doc #>> '{}', '://([^/@: \t\n\r\f\v]*):[^/@ \t\n\r\f\v]+@', '://\1:[redacted]@'))
            ELSE doc
        END
        ELSE doc
    END;
END
$$;

CREATE OR REPLACE FUNCTION concord._secret_key_pattern()
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN '(secret|password|passwd|token|api[_-]?key|authorization|credential|private[_-]?key|cookie)';
END
$$;

-- Whether a configuration key names a credential (token, password, api_key,
-- ...), not a setting about one (token_url, password_file, token_ttl, ...).
CREATE OR REPLACE FUNCTION concord._is_secret_key(key text)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN key ~* concord._secret_key_pattern()
        AND key !~* '[_-](url|uri|endpoint|ttl|type|mode|name|header|file|path|ref|scheme|expiry|expires)$';
END
$$;

-- Every place in a connector configuration that holds a raw secret instead
-- of a reference (env://NAME, file://PATH): any string under a credential
-- key (at any depth), and anywhere a "Bearer ..." / "Basic ..." credential or
-- a URI with a password (scheme://user:password@host).
CREATE OR REPLACE FUNCTION concord._raw_secrets(
    doc jsonb, path text DEFAULT '$', secret boolean DEFAULT FALSE
)
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN CASE jsonb_typeof(doc)
        WHEN 'object' THEN coalesce((
            SELECT array_agg(p ORDER BY p)
            FROM jsonb_each(doc) AS k,
                 LATERAL unnest(concord._raw_secrets(
                     k.value, path || '.' || k.key, secret OR concord._is_secret_key(k.key))) AS p), '{}')
        WHEN 'array' THEN coalesce((
            SELECT array_agg(p ORDER BY a.n)
            FROM jsonb_array_elements(doc) WITH ORDINALITY AS a (value, n),
                 LATERAL unnest(concord._raw_secrets(a.value, path || '[' || (a.n - 1) || ']', secret)) AS p),
            '{}')
        WHEN 'number' THEN CASE WHEN secret THEN ARRAY[path] ELSE '{}' END
        WHEN 'string' THEN CASE
            WHEN doc #>> '{}' ~ '^(env|file)://' THEN '{}'
            WHEN secret AND doc #>> '{}' <> '' THEN ARRAY[path]
            WHEN doc #>> '{}' ~* '^(bearer|basic)[ \t\n\r\f\v]+[^ \t\n\r\f\v]' THEN ARRAY[path]
            WHEN doc #>> '{}' ~ '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/@: \t\n\r\f\v]*:[^/@ \t\n\r\f\v]+@' THEN ARRAY[path]
            ELSE '{}'
        END
        ELSE '{}'
    END;
END
$$;

CREATE OR REPLACE FUNCTION concord.record_connector_invocation(invocation jsonb)
RETURNS uuid
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
DECLARE
    c concord.commands%ROWTYPE;
    new_id uuid;
    request jsonb := coalesce(invocation -> 'input', '{}');
BEGIN
    IF invocation IS null OR jsonb_typeof(invocation) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', MESSAGE = 'invocation must be a JSON object';
    END IF;
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = (invocation ->> 'command_id')::uuid;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            MESSAGE = format('command %s not found', coalesce(invocation ->> 'command_id', 'NULL'));
    END IF;
    IF invocation ->> 'error_class' IS NOT null THEN
        PERFORM concord._known_error_class(invocation ->> 'error_class');
    END IF;
    INSERT INTO concord.connector_invocations (
        command_id, domain_effect_id, connector_name, capability, side_effect, idempotency_key, attempt,
        status, input_hash, request_payload, output_summary, error, error_class, latency_ms,
        dbos_workflow_id, executor_id, trace_id
    ) VALUES (
        c.command_id, (invocation ->> 'domain_effect_id')::uuid,
        concord._require('connector_name', invocation ->> 'connector_name'),
        concord._require('capability', invocation ->> 'capability'),
        coalesce((invocation ->> 'side_effect')::boolean, true), invocation ->> 'idempotency_key',
        coalesce((invocation ->> 'attempt')::integer, 1),
        CASE WHEN invocation ->> 'error_class' IS null THEN 'succeeded' ELSE 'failed' END,
        coalesce(invocation ->> 'input_hash', encode(sha256(convert_to(concord._redact(request)::text, 'UTF8')), 'hex')),
        concord._redact(request), concord._redact(invocation -> 'output_summary'),
        left(invocation ->> 'error', 2000), invocation ->> 'error_class',
        coalesce((invocation ->> 'latency_ms')::double precision, 0),
        invocation ->> 'workflow_id', invocation ->> 'executor_id', c.trace_id
    )
    RETURNING connector_invocation_id INTO new_id;
    RETURN new_id;
END
$$;

COMMENT ON FUNCTION concord.record_connector_invocation(jsonb) IS
'Record one connector call (spec 34, 87.3): {command_id, domain_effect_id, connector_name, '
'capability, side_effect, idempotency_key, attempt, input, input_hash, output_summary, error, '
'error_class, latency_ms, workflow_id, executor_id}. Values under credential-like keys are '
'redacted before they are stored.';

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
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
DECLARE
    c concord.commands%ROWTYPE := concord._lock_command(command_id);
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
    IF to_status = 'failed' THEN
        PERFORM concord._require('error', error);
        PERFORM concord._require('error_class', error_class);
        PERFORM concord._known_error_class(error_class);
    END IF;
    RETURN concord._set_status(
        c.command_id, to_status, 'workflow:' || workflow_id,
        coalesce(reason, CASE to_status WHEN 'succeeded' THEN 'operation succeeded'
                                        WHEN 'failed' THEN 'operation failed' END),
        CASE WHEN to_status = 'succeeded' THEN coalesce(result, '{}') END,
        error, error_class);
END
$$;

COMMENT ON FUNCTION concord.runtime_finish(uuid, text, text, jsonb, text, text, text) IS
'Worker step: move the command the workflow runs to to_status (succeeded with its result, failed'
' with error and error_class, or a cancellation status); a command already there is left as it '
'is.';

-- The succeeded effects a compensate_then_stop cancellation must counter,
-- newest first, that no succeeded compensation counters yet.
CREATE OR REPLACE FUNCTION concord.runtime_compensations(command_id uuid)
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
#variable_conflict use_variable
BEGIN
    RETURN coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'effect_id', e.domain_effect_id, 'effect_type', e.effect_type, 'payload', e.effect_payload,
                   'result', e.result, 'idempotency_key', e.idempotency_key,
                   'declared_compensation', e.declared_compensation)
                   ORDER BY e.completed_at DESC, e.created_at DESC, e.domain_effect_id DESC)
        FROM concord.domain_effects AS e
        WHERE e.command_id = command_id
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
'The succeeded effects of a command with a declared compensation not yet countered, in reverse '
'order of completion (spec 30.2).';

-- The audit rows only the runtime writes (spec 31.3 and 30.2).
CREATE OR REPLACE FUNCTION concord.runtime_audit(
    command_id uuid, workflow_id text, event_type text, payload jsonb
)
RETURNS void
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
DECLARE
    c concord.commands%ROWTYPE := concord._lock_command(command_id);
BEGIN
    PERFORM concord._require_owner(c, workflow_id);
    IF event_type IS null OR event_type NOT IN (
        'compensation_started', 'compensation_completed', 'compensation_drift', 'compensation_halted',
        'operation_cancelled') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
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
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
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

-- ---------------------------------------------------------------------------
-- Notifications, connectors, queues, operations and schedules
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION concord.store_notification(
    recipient text,
    subject text,
    body text,
    channel text DEFAULT 'app',
    command_id uuid DEFAULT NULL,
    idempotency_key text DEFAULT NULL,
    metadata jsonb DEFAULT '{}'
)
RETURNS uuid
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
    new_id uuid;
    first concord.notifications%ROWTYPE;
BEGIN
    PERFORM concord._require_name('recipient', recipient);
    IF channel IS null OR channel NOT IN ('app', 'email') THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008',
            MESSAGE = format('unknown notification channel %L: use app or email', channel);
    END IF;
    IF idempotency_key IS NOT null THEN
        PERFORM concord._require('idempotency_key', idempotency_key);
    END IF;
    IF command_id IS NOT null AND NOT EXISTS (SELECT 1 FROM concord.commands AS c WHERE c.command_id = command_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('command %s not found', command_id);
    END IF;
    INSERT INTO concord.notifications AS n (channel, recipient, subject, body, metadata, command_id, idempotency_key)
    VALUES (channel, recipient, coalesce(subject, ''), coalesce(body, ''), coalesce(metadata, '{}'), command_id,
            idempotency_key)
    ON CONFLICT ON CONSTRAINT notification_idempotency_key_is_unique DO NOTHING
    RETURNING n.notification_id INTO new_id;
    IF new_id IS NOT null THEN
        RETURN new_id;
    END IF;
    SELECT * INTO first FROM concord.notifications AS n WHERE n.idempotency_key = idempotency_key;
    IF (first.channel, first.recipient, first.subject, first.body, first.command_id)
       IS DISTINCT FROM (channel, recipient, coalesce(subject, ''), coalesce(body, ''), command_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN002',
            MESSAGE = format('notification idempotency key %L is already used by a different notification',
                             idempotency_key);
    END IF;
    RETURN first.notification_id;
END
$$;

COMMENT ON FUNCTION concord.store_notification(text, text, text, text, uuid, text, jsonb) IS
'Store an app (or sent email) notification durably; idempotent by key (the same key for a '
'different notification is CN002). Returns its id.';

CREATE OR REPLACE FUNCTION concord._connectors_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    raw text[] := concord._raw_secrets(NEW.config);
BEGIN
    IF cardinality(raw) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            MESSAGE = format('connector %s: its configuration holds raw secrets at %s',
                             NEW.connector_name, array_to_string(raw, ', ')),
            HINT = 'Reference secrets as env://NAME or file://PATH; never store them.';
    END IF;
    IF array_position(NEW.capabilities, null) IS NOT null THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005',
            MESSAGE = format('connector %s: capabilities hold a null', NEW.connector_name);
    END IF;
    NEW.updated_at := now();
    IF TG_OP = 'INSERT' THEN
        NEW.created_at := now();
    ELSE
        NEW.created_at := OLD.created_at;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER connectors_before_write
BEFORE INSERT OR UPDATE ON concord.connectors
FOR EACH ROW EXECUTE FUNCTION concord._connectors_before_write();

-- A runtime spec (connector, queue, schedule) is an object with known keys
-- only (CN005 otherwise).
CREATE OR REPLACE FUNCTION concord._require_spec(kind text, spec jsonb, known text[])
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    unknown text[];
BEGIN
    IF spec IS null OR jsonb_typeof(spec) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005',
            MESSAGE = format('a %s spec must be a JSON object, not %s', kind, coalesce(jsonb_typeof(spec), 'NULL'));
    END IF;
    unknown := ARRAY(SELECT k FROM jsonb_object_keys(spec) AS k WHERE k <> ALL (known) ORDER BY k);
    IF cardinality(unknown) > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005',
            MESSAGE = format('unknown %s spec keys: %s', kind, array_to_string(unknown, ', ')),
            HINT = format('Known keys: %s.', array_to_string(known, ', '));
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION concord.register_connector(spec jsonb)
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
DECLARE
    name text;
BEGIN
    PERFORM concord._require_spec(
        'connector', spec, ARRAY['name', 'connector_type', 'capabilities', 'config', 'risk_level', 'description']);
    name := concord._require('name', spec ->> 'name');
    IF jsonb_typeof(coalesce(spec -> 'capabilities', '[]')) <> 'array'
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(spec -> 'capabilities', '[]')) AS v
                  WHERE jsonb_typeof(v) <> 'string') THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', MESSAGE = 'capabilities must be an array of strings';
    END IF;
    BEGIN
        INSERT INTO concord.connectors AS x (connector_name, connector_type, capabilities, config, risk_level, description)
        VALUES (name, concord._require('connector_type', spec ->> 'connector_type'),
                ARRAY(SELECT jsonb_array_elements_text(coalesce(spec -> 'capabilities', '[]'))),
                coalesce(spec -> 'config', '{}'), coalesce(spec ->> 'risk_level', 'low'),
                coalesce(spec ->> 'description', ''))
        ON CONFLICT (connector_name) DO UPDATE
        SET connector_type = excluded.connector_type, capabilities = excluded.capabilities,
            config = excluded.config, risk_level = excluded.risk_level, description = excluded.description;
    EXCEPTION WHEN check_violation THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005',
            MESSAGE = format('connector %s is invalid: %s', name, SQLERRM),
            HINT = 'name and connector_type are lowercase identifiers; config is an object; risk_level is '
                   'low, medium, high or critical.';
    END;
    RETURN name;
END
$$;

COMMENT ON FUNCTION concord.register_connector(jsonb) IS
'Create or replace a connector: {name, connector_type (http | notification | postgres | ...), '
'capabilities, config, risk_level, description}. A config that carries a raw secret instead of '
'env://NAME or file://PATH is refused (CN005). Returns the name.';

CREATE OR REPLACE FUNCTION concord.register_queue(spec jsonb)
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
DECLARE
    name text;
BEGIN
    PERFORM concord._require_spec(
        'queue', spec, ARRAY['name', 'worker_concurrency', 'global_concurrency', 'rate_limit', 'rate_period_sec',
                             'polling_interval_sec', 'description']);
    name := concord._require('name', spec ->> 'name');
    BEGIN
        INSERT INTO concord.runtime_queues AS q (
            queue_name, worker_concurrency, global_concurrency, rate_limit, rate_period_sec,
            polling_interval_sec, description, updated_at)
        VALUES (name, (spec ->> 'worker_concurrency')::integer, (spec ->> 'global_concurrency')::integer,
                (spec ->> 'rate_limit')::integer, (spec ->> 'rate_period_sec')::double precision,
                coalesce((spec ->> 'polling_interval_sec')::double precision, 0.05),
                coalesce(spec ->> 'description', ''), now())
        ON CONFLICT (queue_name) DO UPDATE
        SET worker_concurrency = excluded.worker_concurrency, global_concurrency = excluded.global_concurrency,
            rate_limit = excluded.rate_limit, rate_period_sec = excluded.rate_period_sec,
            polling_interval_sec = excluded.polling_interval_sec, description = excluded.description,
            updated_at = now();
    EXCEPTION WHEN check_violation OR invalid_text_representation OR numeric_value_out_of_range THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005',
            MESSAGE = format('queue %s is invalid: %s', name, SQLERRM),
            HINT = 'Concurrencies and rate_limit are positive integers; rate_limit and rate_period_sec go '
                   'together; polling_interval_sec is between 0.001 and 60.';
    END;
    RETURN name;
END
$$;

COMMENT ON FUNCTION concord.register_queue(jsonb) IS
'Create or replace a queue''s runtime configuration: {name, worker_concurrency, '
'global_concurrency, rate_limit, rate_period_sec, polling_interval_sec, description}. Workers '
'apply it when they start.';

-- What is wrong with the entries of an operation catalog (register_operations).
CREATE OR REPLACE FUNCTION concord._operation_catalog_problems(catalog jsonb)
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    entry jsonb;
    n bigint;
    problems text[] := ARRAY[]::text[];
    unknown text[];
BEGIN
    FOR entry, n IN SELECT a.value, a.n FROM jsonb_array_elements(catalog) WITH ORDINALITY AS a (value, n) LOOP
        IF jsonb_typeof(entry) <> 'object' THEN
            problems := array_append(problems, format('entry %s is not an object', n));
            CONTINUE;
        END IF;
        unknown := ARRAY(SELECT k FROM jsonb_object_keys(entry) AS k
                         WHERE k NOT IN ('command_type', 'queue', 'function_name', 'produces',
                                         'requires_compensation', 'compensation', 'retry_policy')
                         ORDER BY k);
        IF cardinality(unknown) > 0 THEN
            problems := array_append(problems, format('entry %s: unknown keys %s', n, array_to_string(unknown, ', ')));
        END IF;
        IF jsonb_typeof(entry -> 'command_type') IS DISTINCT FROM 'string'
           OR jsonb_typeof(entry -> 'queue') IS DISTINCT FROM 'string'
           OR jsonb_typeof(entry -> 'function_name') IS DISTINCT FROM 'string'
           OR btrim(coalesce(entry ->> 'function_name', '')) = '' THEN
            problems := array_append(problems, format('entry %s: command_type, queue and function_name are required strings', n));
        END IF;
        IF entry ? 'produces' AND (jsonb_typeof(entry -> 'produces') <> 'array'
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(entry -> 'produces') AS v WHERE jsonb_typeof(v) <> 'string')) THEN
            problems := array_append(problems, format('entry %s: produces must be an array of strings', n));
        END IF;
        IF entry ? 'requires_compensation' AND jsonb_typeof(entry -> 'requires_compensation') <> 'boolean' THEN
            problems := array_append(problems, format('entry %s: requires_compensation must be a boolean', n));
        END IF;
        IF entry ? 'compensation' AND jsonb_typeof(entry -> 'compensation') NOT IN ('string', 'null') THEN
            problems := array_append(problems, format('entry %s: compensation must be a name or null', n));
        END IF;
        IF entry ? 'retry_policy' AND jsonb_typeof(entry -> 'retry_policy') <> 'object' THEN
            problems := array_append(problems, format('entry %s: retry_policy must be an object', n));
        END IF;
    END LOOP;
    problems := problems || ARRAY(
        SELECT format('command type %s appears %s times', a.value ->> 'command_type', count(*))
        FROM jsonb_array_elements(catalog) AS a (value)
        WHERE jsonb_typeof(a.value) = 'object' AND a.value ? 'command_type'
        GROUP BY a.value ->> 'command_type' HAVING count(*) > 1
        ORDER BY 1);
    RETURN problems;
END
$$;

CREATE OR REPLACE FUNCTION concord.register_operations(
    catalog jsonb, executor_id text, application_version text
)
RETURNS integer
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
DECLARE
    missing text[];
    bad_queue text[];
    problems text[];
    n integer;
BEGIN
    PERFORM concord._require('executor_id', executor_id);
    PERFORM concord._require('application_version', application_version);
    IF catalog IS null OR jsonb_typeof(catalog) <> 'array' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', MESSAGE = 'the operation catalog must be a JSON array';
    END IF;
    problems := concord._operation_catalog_problems(catalog);
    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            MESSAGE = format('the operation catalog has %s problem(s)', cardinality(problems)),
            DETAIL = array_to_string(problems, E'\n'),
            HINT = 'Each entry is {command_type, queue, function_name, produces, requires_compensation, '
                   'compensation, retry_policy}.';
    END IF;
    missing := ARRAY(
        SELECT DISTINCT o ->> 'command_type' FROM jsonb_array_elements(catalog) AS o
        WHERE NOT EXISTS (SELECT 1 FROM concord.command_types AS t WHERE t.command_type = o ->> 'command_type')
        ORDER BY 1);
    IF cardinality(missing) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN009',
            MESSAGE = format('operations are registered for unknown command types: %s',
                             array_to_string(missing, ', ')),
            HINT = 'Register the command types first with concord.register_command_type(spec).';
    END IF;
    bad_queue := ARRAY(
        SELECT DISTINCT o ->> 'queue' FROM jsonb_array_elements(catalog) AS o
        WHERE NOT EXISTS (SELECT 1 FROM concord.runtime_queues AS q WHERE q.queue_name = o ->> 'queue')
        ORDER BY 1);
    IF cardinality(bad_queue) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN009',
            MESSAGE = format('operations name unknown queues: %s', array_to_string(bad_queue, ', ')),
            HINT = 'Add the queue with concord.register_queue(spec).';
    END IF;
    INSERT INTO concord.runtime_operations AS r (
        command_type, queue_name, function_name, produces, requires_compensation, compensation,
        retry_policy, registered_by, application_version, registered_at)
    SELECT o ->> 'command_type', o ->> 'queue', o ->> 'function_name',
           ARRAY(SELECT jsonb_array_elements_text(coalesce(o -> 'produces', '[]'))),
           coalesce((o ->> 'requires_compensation')::boolean, false), o ->> 'compensation',
           coalesce(o -> 'retry_policy', '{}'), executor_id, application_version, now()
    FROM jsonb_array_elements(catalog) AS o
    ON CONFLICT (command_type) DO UPDATE
    SET queue_name = excluded.queue_name, function_name = excluded.function_name, produces = excluded.produces,
        requires_compensation = excluded.requires_compensation, compensation = excluded.compensation,
        retry_policy = excluded.retry_policy, registered_by = excluded.registered_by,
        application_version = excluded.application_version, registered_at = excluded.registered_at
    WHERE (r.queue_name, r.function_name, r.produces, r.requires_compensation, r.compensation, r.retry_policy,
           r.application_version)
          IS DISTINCT FROM
          (excluded.queue_name, excluded.function_name, excluded.produces, excluded.requires_compensation,
           excluded.compensation, excluded.retry_policy, excluded.application_version);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

COMMENT ON FUNCTION concord.register_operations(jsonb, text, text) IS
'Worker start: record the operation catalog it loaded ([{command_type, queue, function_name, '
'produces, requires_compensation, compensation, retry_policy}]); unknown command types or queues'
' are CN009. The queue recorded here is the one the hand-off uses. Returns the number of rows '
'changed.';

-- Whether a cron expression has 5 fields (minute hour day month weekday) or 6
-- (seconds first), each a list of *, n, a-b, with an optional /step, in range
-- (months and weekdays also by three-letter name).
CREATE OR REPLACE FUNCTION concord._cron_problem(cron text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    fields text[] := regexp_split_to_array(btrim(coalesce(cron, '')), '\s+');
    lows integer[];
    highs integer[];
    names text[] := ARRAY['', '', '', '', 'jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec',
                          'sun|mon|tue|wed|thu|fri|sat'];
    item text;
    m text[];
    offset_ integer;
BEGIN
    IF cardinality(fields) = 6 THEN
        lows := ARRAY[0, 0, 0, 1, 1, 0];
        highs := ARRAY[59, 59, 23, 31, 12, 7];
        offset_ := 0;
    ELSIF cardinality(fields) = 5 THEN
        lows := ARRAY[0, 0, 1, 1, 0];
        highs := ARRAY[59, 23, 31, 12, 7];
        offset_ := 1;
    ELSE
        RETURN format('%s field(s): a cron has 5 (minute hour day month weekday) or 6 (seconds first)',
                      cardinality(fields));
    END IF;
    FOR i IN 1 .. cardinality(fields) LOOP
        FOREACH item IN ARRAY string_to_array(lower(fields[i]), ',') LOOP
            m := regexp_match(item, '^(\*|\?|([0-9]+|[a-z]{3})(-([0-9]+|[a-z]{3}))?)(/([0-9]+))?$');
            IF m IS null
               OR (m[2] IS NOT null AND m[2] !~ '^[0-9]+$' AND m[2] !~ ('^(' || names[i + offset_] || ')$'))
               OR (m[4] IS NOT null AND m[4] !~ '^[0-9]+$' AND m[4] !~ ('^(' || names[i + offset_] || ')$'))
               OR (m[2] ~ '^[0-9]+$' AND m[2]::numeric NOT BETWEEN lows[i] AND highs[i])
               OR (m[4] ~ '^[0-9]+$' AND m[4]::numeric NOT BETWEEN lows[i] AND highs[i])
               OR (m[6] IS NOT null AND m[6]::numeric = 0) THEN
                RETURN format('field %s (%s) is not valid: %s', i, fields[i], item);
            END IF;
        END LOOP;
    END LOOP;
    RETURN null;
END
$$;

CREATE OR REPLACE FUNCTION concord.register_schedule(spec jsonb)
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
DECLARE
    name text;
BEGIN
    PERFORM concord._require_spec(
        'schedule', spec, ARRAY['name', 'cron', 'command_type', 'payload_template', 'queue', 'enabled']);
    name := concord._require('name', spec ->> 'name');
    IF concord._cron_problem(spec ->> 'cron') IS NOT null THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005',
            MESSAGE = format('schedule %s: cron %L is not valid: %s', name, spec ->> 'cron',
                             concord._cron_problem(spec ->> 'cron')),
            HINT = 'Five fields (minute hour day month weekday), or six with seconds first; e.g. 0 * * * * *.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM concord.command_types AS t WHERE t.command_type = spec ->> 'command_type') THEN
        RAISE EXCEPTION USING ERRCODE = 'CN009',
            MESSAGE = format('unknown command type %L', spec ->> 'command_type');
    END IF;
    IF spec ? 'queue' AND NOT EXISTS (SELECT 1 FROM concord.runtime_queues AS q WHERE q.queue_name = spec ->> 'queue') THEN
        RAISE EXCEPTION USING ERRCODE = 'CN009',
            MESSAGE = format('unknown queue %L', spec ->> 'queue'),
            HINT = 'Add it with concord.register_queue(spec).';
    END IF;
    BEGIN
        INSERT INTO concord.schedules AS s (schedule_name, cron, command_type, payload_template, queue_name, enabled)
        VALUES (name, concord._require('cron', spec ->> 'cron'), spec ->> 'command_type',
                coalesce(spec -> 'payload_template', '{}'), coalesce(spec ->> 'queue', 'scheduled_maintenance'),
                coalesce((spec ->> 'enabled')::boolean, true))
        ON CONFLICT (schedule_name) DO UPDATE
        SET cron = excluded.cron, command_type = excluded.command_type,
            payload_template = excluded.payload_template, queue_name = excluded.queue_name,
            enabled = excluded.enabled, updated_at = now();
    EXCEPTION WHEN check_violation OR invalid_text_representation THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005',
            MESSAGE = format('schedule %s is invalid: %s', name, SQLERRM),
            HINT = 'name is a lowercase identifier; cron has 5 fields (or 6 with seconds first); '
                   'payload_template is an object; enabled is a boolean.';
    END;
    RETURN name;
END
$$;

COMMENT ON FUNCTION concord.register_schedule(jsonb) IS
'Create or replace a schedule (spec 84): {name, cron (5 fields, or 6 with seconds first), '
'command_type, payload_template, queue (default scheduled_maintenance), enabled}. Workers apply '
'schedules when they start.';

CREATE OR REPLACE FUNCTION concord.submit_scheduled(schedule_name text, tick timestamptz)
RETURNS uuid
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
    s concord.schedules%ROWTYPE;
    tick_text text;
    payload jsonb;
    submitted record;
BEGIN
    PERFORM concord._require('schedule_name', schedule_name);
    IF tick IS null THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', MESSAGE = 'tick is required';
    END IF;
    SELECT * INTO s FROM concord.schedules AS x WHERE x.schedule_name = schedule_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('schedule %s not found', schedule_name);
    END IF;
    -- A tick already in flight when the schedule was disabled submits nothing.
    IF NOT s.enabled THEN
        RETURN null;
    END IF;
    tick_text := to_char(tick AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
    payload := replace(replace(s.payload_template::text, '{{tick}}', tick_text),
                       '{{schedule_name}}', s.schedule_name)::jsonb;
    SELECT * INTO submitted FROM concord.submit_command(
        s.command_type, payload, 'schedule:' || s.schedule_name, 'schedule',
        jsonb_build_object('schedule_name', s.schedule_name, 'tick', tick_text),
        'schedule:' || s.schedule_name || ':' || tick_text);
    RETURN submitted.command_id;
END
$$;

COMMENT ON FUNCTION concord.submit_scheduled(text, timestamptz) IS
'One tick of a schedule: submit its command (payload_template with {{tick}} and '
'{{schedule_name}} filled in) with the idempotency key schedule:<name>:<tick>, so two workers '
'firing the same tick submit it once. Returns the command id, or NULL when the schedule is '
'disabled.';

-- After a workflow is bound: enqueue it (same transaction) and audit it.
CREATE OR REPLACE FUNCTION concord._handed_off(c concord.commands, actor text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._enqueue(c);
    PERFORM concord._audit(
        'workflow_enqueued', c.command_id, c.trace_id, 'workflow', c.dbos_workflow_id, c.status, c.status,
        jsonb_build_object('workflow_id', c.dbos_workflow_id, 'queue', c.queue_name, 'run', c.run_seq), actor);
END
$$;

-- ---------------------------------------------------------------------------
-- Views: what operators and workers read (no role reads a base table).
-- ---------------------------------------------------------------------------
CREATE OR REPLACE VIEW concord.runtime_queue_config AS
SELECT
    q.queue_name,
    q.worker_concurrency,
    q.global_concurrency,
    q.rate_limit,
    q.rate_period_sec,
    q.polling_interval_sec,
    q.description,
    q.updated_at
FROM concord.runtime_queues AS q;

COMMENT ON VIEW concord.runtime_queue_config IS
'The queues workers register in DBOS (spec 10, 83), with their concurrency, rate limits and '
'polling interval; change them with concord.register_queue.';

CREATE OR REPLACE VIEW concord.connector_catalog AS
SELECT
    c.connector_name,
    c.connector_type,
    c.capabilities,
    c.config,
    c.risk_level,
    c.description,
    c.updated_at
FROM concord.connectors AS c;

COMMENT ON VIEW concord.connector_catalog IS
'Connectors configured in the database (their configs hold secret references, never secrets).';

CREATE OR REPLACE VIEW concord.schedule_catalog AS
SELECT
    s.schedule_name,
    s.cron,
    s.command_type,
    s.payload_template,
    s.queue_name,
    s.enabled,
    s.updated_at
FROM concord.schedules AS s;

COMMENT ON VIEW concord.schedule_catalog IS 'Schedules (spec 84) that workers apply with DBOS.';

CREATE OR REPLACE VIEW concord.operation_catalog AS
SELECT
    o.command_type,
    o.queue_name,
    o.function_name,
    o.produces,
    o.requires_compensation,
    o.compensation,
    o.retry_policy,
    o.registered_by,
    o.application_version,
    o.registered_at
FROM concord.runtime_operations AS o;

COMMENT ON VIEW concord.operation_catalog IS
'The operation catalog as the workers last registered it: the queue each command type runs on.';

CREATE OR REPLACE VIEW concord.error_taxonomy AS
SELECT
    e.error_class,
    e.retryable,
    e.description
FROM concord.error_classes AS e;

COMMENT ON VIEW concord.error_taxonomy IS
'The error classes of spec 32 and whether each is retried.';

CREATE OR REPLACE VIEW concord.connector_activity AS
SELECT
    i.connector_invocation_id,
    i.command_id,
    i.domain_effect_id,
    i.connector_name,
    i.capability,
    i.side_effect,
    i.idempotency_key,
    i.attempt,
    i.status,
    i.input_hash,
    i.request_payload,
    i.output_summary,
    i.error,
    i.error_class,
    i.latency_ms,
    i.dbos_workflow_id,
    i.executor_id,
    i.trace_id,
    i.created_at
FROM concord.connector_invocations AS i;

COMMENT ON VIEW concord.connector_activity IS
'Every connector call (spec 34, 87.3), with redacted input, output summary, status, latency and '
'error.';

CREATE OR REPLACE VIEW concord.notification_inbox AS
SELECT
    n.notification_id,
    n.channel,
    n.recipient,
    n.subject,
    n.body,
    n.metadata,
    n.command_id,
    n.idempotency_key,
    n.created_at,
    n.read_at
FROM concord.notifications AS n;

COMMENT ON VIEW concord.notification_inbox IS 'App notifications (and sent emails), newest last.';

-- ---------------------------------------------------------------------------
-- Connector invocations are an append-only record; notifications are kept
-- (only read_at is ever set).
-- ---------------------------------------------------------------------------
CREATE OR REPLACE TRIGGER connector_invocations_are_append_only
BEFORE UPDATE OR DELETE ON concord.connector_invocations
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('is append-only');

CREATE OR REPLACE TRIGGER connector_invocations_are_not_truncated
BEFORE TRUNCATE ON concord.connector_invocations
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('is append-only');

CREATE OR REPLACE FUNCTION concord._notifications_before_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF (to_jsonb(NEW) - 'read_at') IS DISTINCT FROM (to_jsonb(OLD) - 'read_at')
       OR (OLD.read_at IS NOT null AND NEW.read_at IS DISTINCT FROM OLD.read_at) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('notification %s: only read_at changes, once', OLD.notification_id);
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER notifications_before_update
BEFORE UPDATE ON concord.notifications
FOR EACH ROW EXECUTE FUNCTION concord._notifications_before_update();

CREATE OR REPLACE TRIGGER notifications_are_not_deleted
BEFORE DELETE ON concord.notifications
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('are kept');

CREATE OR REPLACE TRIGGER notifications_are_not_truncated
BEFORE TRUNCATE ON concord.notifications
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('are kept');

-- Commands queued before the runtime existed (an upgrade from 0002) or left
-- queued without a workflow: hand each one whose dependencies are met to
-- DBOS now. Explicit, because something else may have been running them.
CREATE OR REPLACE FUNCTION concord.hand_off_queued()
RETURNS integer
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
DECLARE
    n integer;
    saved text[] := concord._push_actor(null, 'handed off by hand_off_queued');
BEGIN
    n := concord._hand_off(ARRAY(
        SELECT c.command_id FROM concord.commands AS c WHERE c.status = 'queued' AND c.dbos_workflow_id IS null));
    PERFORM concord._pop_actor(saved);
    RETURN n;
END
$$;

COMMENT ON FUNCTION concord.hand_off_queued() IS
'(concord_admin) Hand every queued command that has no workflow and no unmet dependency to DBOS '
'(e.g. commands queued before an upgrade to 0003). Returns how many.';

-- Commands whose current DBOS workflow was cancelled from DBOS's side before
-- it could record anything (e.g. while still enqueued): their cancellation is
-- requested and finished as runtime_workflow_cancelled does. Workers run this
-- at start and on a DBOS schedule. Returns how many commands it touched.
CREATE OR REPLACE FUNCTION concord.runtime_reconcile(executor_id text)
RETURNS integer
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
DECLARE
    c concord.commands%ROWTYPE;
    n integer := 0;
BEGIN
    PERFORM concord._require('executor_id', executor_id);
    IF to_regclass('dbos.workflow_status') IS null THEN
        RETURN 0;
    END IF;
    FOR c IN EXECUTE
        'SELECT x.* FROM concord.commands AS x '
        'INNER JOIN dbos.workflow_status AS w ON w.workflow_uuid = x.dbos_workflow_id '
        'WHERE x.status IN (''queued'', ''running'', ''blocked'') AND w.status = ''CANCELLED'' '
        'ORDER BY x.command_id FOR UPDATE OF x SKIP LOCKED'
    LOOP
        PERFORM concord._cancel_from_dbos(c, executor_id);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

COMMENT ON FUNCTION concord.runtime_reconcile(text) IS
'(concord_worker) Commands still queued, running or blocked whose DBOS workflow was cancelled '
'from DBOS''s side are cancelled (a running one through concord.finish_cancellation). Workers run '
'it at start and every 10 seconds on a DBOS schedule; returns how many commands it touched.';
