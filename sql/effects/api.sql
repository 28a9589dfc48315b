-- The effect API: every call idempotent on replay (a DBOS step may run twice
-- after a crash: the second call changes nothing).

CREATE OR REPLACE FUNCTION concord._lock_effect(effect_id uuid)
RETURNS concord.domain_effects
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    e concord.domain_effects%ROWTYPE;
BEGIN
    PERFORM concord._require('effect_id', effect_id::text);
    SELECT * INTO e FROM concord.domain_effects AS x WHERE x.domain_effect_id = effect_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_effect_exists',
            MESSAGE = format('effect %s not found', effect_id);
    END IF;
    RETURN e;
END
$$;

-- The answer to a replayed effect key: the first effect's id when the request
-- is the same, CN002 otherwise.
CREATE OR REPLACE FUNCTION concord._effect_replay(
    first concord.domain_effects,
    command_id uuid,
    effect_type text,
    payload jsonb,
    declared_compensation text,
    compensates_effect_id uuid
)
RETURNS uuid
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF (first.command_id, first.effect_type, first.effect_payload, first.declared_compensation,
        first.compensates_effect_id)
       IS DISTINCT FROM (command_id, effect_type, payload, declared_compensation, compensates_effect_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN002',
            CONSTRAINT = 'an_effect_idempotency_key_names_one_effect',
            MESSAGE = format('effect idempotency key %L is already used by effect %s of command %s for a '
                             'different effect', first.idempotency_key, first.domain_effect_id,
                             first.command_id),
            HINT = 'One key names one effect: use a new key for a different effect.';
    END IF;
    RETURN first.domain_effect_id;
END
$$;

-- Record an intended side effect before it happens. With an idempotency key
-- a replay returns the first effect's id; the same key for a different
-- effect is CN002. Returns the effect id.
-- The body of plan_effect, for the API and the runtime (which plans as its workflow).
CREATE OR REPLACE FUNCTION concord._plan_effect(
    command_id uuid,
    effect_type text,
    payload jsonb,
    idempotency_key text DEFAULT NULL,
    declared_compensation text DEFAULT NULL,
    compensates_effect_id uuid DEFAULT NULL
)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    e concord.domain_effects%ROWTYPE;
    new_id uuid;
BEGIN
    PERFORM concord._require('command_id', command_id::text);
    PERFORM concord._require('effect_type', effect_type);
    IF idempotency_key IS NOT NULL THEN
        PERFORM concord._require('idempotency_key', idempotency_key);
    END IF;
    payload := coalesce(payload, '{}');
    PERFORM 1 FROM concord.commands AS x WHERE x.command_id = command_id FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_command_exists',
            MESSAGE = format('command %s not found', command_id);
    END IF;
    -- A replay returns the first effect, whatever became of the command since.
    IF idempotency_key IS NOT NULL THEN
        SELECT * INTO e FROM concord.domain_effects AS x WHERE x.idempotency_key = idempotency_key;
        IF FOUND THEN
            RETURN concord._effect_replay(e, command_id, effect_type, payload, declared_compensation,
                                          compensates_effect_id);
        END IF;
    END IF;

    INSERT INTO concord.domain_effects AS x (
        command_id, effect_type, effect_payload, idempotency_key, declared_compensation,
        compensates_effect_id
    ) VALUES (command_id, effect_type, payload, idempotency_key, declared_compensation, compensates_effect_id)
    ON CONFLICT ON CONSTRAINT effect_idempotency_key_is_unique DO NOTHING
    RETURNING x.domain_effect_id INTO new_id;
    IF new_id IS NOT NULL THEN
        RETURN new_id;
    END IF;

    SELECT * INTO e FROM concord.domain_effects AS x WHERE x.idempotency_key = idempotency_key;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = '40001',
            CONSTRAINT = 'a_concurrently_taken_effect_key_is_retried',
            MESSAGE = format('effect idempotency key %L was taken by a concurrent transaction', idempotency_key),
            HINT = 'Retry the transaction.';
    END IF;
    RETURN concord._effect_replay(e, command_id, effect_type, payload, declared_compensation,
                                  compensates_effect_id);
END
$$;

CREATE OR REPLACE FUNCTION concord.plan_effect(
    command_id uuid,
    effect_type text,
    payload jsonb,
    idempotency_key text DEFAULT NULL,
    declared_compensation text DEFAULT NULL,
    compensates_effect_id uuid DEFAULT NULL
)
RETURNS uuid
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
    effect_id uuid;
BEGIN
    -- planned for the command's current run: the table's guard refuses a
    -- command that has none, or is not running (only_the_current_run_drives_its_effects)
    PERFORM concord._push_run((SELECT c.dbos_workflow_id FROM concord.commands AS c
                               WHERE c.command_id = plan_effect.command_id));
    effect_id := concord._plan_effect(command_id, effect_type, payload, idempotency_key, declared_compensation,
                                      compensates_effect_id);
    PERFORM concord._pop_run('');
    RETURN effect_id;
END
$$;

COMMENT ON FUNCTION concord.plan_effect(uuid, text, jsonb, text, text, uuid) IS
'Record a planned side effect of a command (spec 13.5) for its current run, while it is running '
'(CN011; a compensation: while it is compensating) and has a run (CN012); idempotent by key. '
'Returns the effect id. A worker plans and starts effects with runtime_begin_effect.';

CREATE OR REPLACE FUNCTION concord.start_effect(effect_id uuid, workflow_id text)
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
    e concord.domain_effects%ROWTYPE := concord._lock_effect(effect_id);
BEGIN
    PERFORM concord._require('workflow_id', workflow_id);
    IF e.status = 'executing' AND e.executed_by_dbos_workflow_id = workflow_id THEN
        RETURN e.status;  -- replay
    END IF;
    -- workflow_id acts; the table's guard holds it to the command's current
    -- run and a running command (only_the_current_run_drives_its_effects)
    PERFORM concord._push_run(workflow_id);
    UPDATE concord.domain_effects AS x
    SET status = 'executing', executed_by_dbos_workflow_id = workflow_id
    WHERE x.domain_effect_id = effect_id;
    PERFORM concord._pop_run('');
    RETURN 'executing';
END
$$;

COMMENT ON FUNCTION concord.start_effect(uuid, text) IS
'planned -> executing, bound to a workflow, which must be the command''s current run (CN012) '
'while the command is running (CN011); a replay by the same workflow is a no-op.';

CREATE OR REPLACE FUNCTION concord.complete_effect(effect_id uuid, result jsonb)
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
    e concord.domain_effects%ROWTYPE := concord._lock_effect(effect_id);
BEGIN
    result := coalesce(result, '{}');
    IF e.status = 'succeeded' THEN
        IF e.result IS DISTINCT FROM result THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN002',
                CONSTRAINT = 'a_finished_effect_keeps_its_outcome',
                MESSAGE = format('effect %s already succeeded with a different result', effect_id);
        END IF;
        RETURN e.status;  -- replay
    END IF;
    -- the run that started it finishes it, while that run is the command's current one
    PERFORM concord._push_run(e.executed_by_dbos_workflow_id);
    UPDATE concord.domain_effects AS x SET status = 'succeeded', result = complete_effect.result
    WHERE x.domain_effect_id = effect_id;
    PERFORM concord._pop_run('');
    RETURN 'succeeded';
END
$$;

COMMENT ON FUNCTION concord.complete_effect(uuid, jsonb) IS
'executing -> succeeded with its result, for the run that started it while that run is still '
'the command''s current one (CN012 otherwise); a replay with the same result is a no-op.';

CREATE OR REPLACE FUNCTION concord.fail_effect(effect_id uuid, error text, error_class text)
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
    e concord.domain_effects%ROWTYPE := concord._lock_effect(effect_id);
BEGIN
    PERFORM concord._require('error', error);
    PERFORM concord._require('error_class', error_class);
    PERFORM concord._known_error_class(error_class);
    IF e.status = 'failed' THEN
        IF (e.error, e.error_class) IS DISTINCT FROM (error, error_class) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN002',
                CONSTRAINT = 'a_finished_effect_keeps_its_outcome',
                MESSAGE = format('effect %s already failed with a different error', effect_id);
        END IF;
        RETURN e.status;  -- replay
    END IF;
    -- the run that started it finishes it, while that run is the command's current one
    PERFORM concord._push_run(e.executed_by_dbos_workflow_id);
    UPDATE concord.domain_effects AS x
    SET status = 'failed', error = fail_effect.error, error_class = fail_effect.error_class
    WHERE x.domain_effect_id = effect_id;
    PERFORM concord._pop_run('');
    RETURN 'failed';
END
$$;

COMMENT ON FUNCTION concord.fail_effect(uuid, text, text) IS
'executing -> failed with its error and error_class, for the run that started it while that run '
'is still the command''s current one (CN012 otherwise); a replay with the same error is a no-op.';
