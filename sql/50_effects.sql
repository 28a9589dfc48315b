-- Domain effects (spec 9, 13.5): planned -> executing -> succeeded | failed,
-- every change audited, every API call idempotent on replay (a DBOS step may
-- run twice after a crash: the second call changes nothing).

CREATE OR REPLACE FUNCTION concord._effects_before_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    compensated_command uuid;
    command_status text;
BEGIN
    IF NEW.status IS DISTINCT FROM 'planned' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            MESSAGE = format('illegal effect transition: a new effect starts in planned, not %s', NEW.status);
    END IF;
    SELECT c.status INTO command_status FROM concord.commands AS c WHERE c.command_id = NEW.command_id FOR SHARE;
    IF concord._is_terminal(command_status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('command %s is %s: no new effects can be planned for it',
                             NEW.command_id, command_status);
    END IF;
    IF NEW.compensates_effect_id IS NOT NULL THEN
        SELECT e.command_id INTO compensated_command
        FROM concord.domain_effects AS e WHERE e.domain_effect_id = NEW.compensates_effect_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN006',
                MESSAGE = format('effect %s (to be compensated) not found', NEW.compensates_effect_id);
        END IF;
        IF compensated_command <> NEW.command_id THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN008',
                MESSAGE = format('effect %s belongs to command %s: a compensation is planned on the same command',
                                 NEW.compensates_effect_id, compensated_command);
        END IF;
    END IF;
    NEW.created_at := now();
    NEW.started_at := NULL;
    NEW.completed_at := NULL;
    NEW.executed_by_dbos_workflow_id := NULL;
    NEW.result := NULL;
    NEW.error := NULL;
    NEW.error_class := NULL;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._effects_before_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT EXISTS (
        SELECT 1 FROM concord.effect_transitions AS t
        WHERE t.from_status = OLD.status AND t.to_status = NEW.status
    ) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            MESSAGE = format('illegal effect transition: effect %s cannot go from %s to %s',
                             OLD.domain_effect_id, OLD.status, coalesce(NEW.status, 'NULL')),
            DETAIL = 'Effects move planned -> executing -> succeeded | failed.';
    END IF;
    IF (SELECT s.terminal FROM concord.effect_statuses AS s WHERE s.status = OLD.status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('effect %s is %s: it can no longer change', OLD.domain_effect_id, OLD.status);
    END IF;
    IF (NEW.domain_effect_id, NEW.command_id, NEW.effect_type, NEW.effect_payload, NEW.idempotency_key,
        NEW.compensates_effect_id, NEW.declared_compensation, NEW.created_at)
       IS DISTINCT FROM
       (OLD.domain_effect_id, OLD.command_id, OLD.effect_type, OLD.effect_payload, OLD.idempotency_key,
        OLD.compensates_effect_id, OLD.declared_compensation, OLD.created_at) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('effect %s: only its status, workflow, result and error change', OLD.domain_effect_id);
    END IF;
    IF OLD.executed_by_dbos_workflow_id IS NOT NULL
       AND NEW.executed_by_dbos_workflow_id IS DISTINCT FROM OLD.executed_by_dbos_workflow_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('effect %s is already executed by workflow %s', OLD.domain_effect_id,
                             OLD.executed_by_dbos_workflow_id);
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        IF NEW.status = 'executing' THEN
            NEW.started_at := now();
        ELSE
            NEW.completed_at := now();
        END IF;
    ELSIF (NEW.executed_by_dbos_workflow_id, NEW.result, NEW.error, NEW.error_class, NEW.started_at,
           NEW.completed_at)
          IS DISTINCT FROM
          (OLD.executed_by_dbos_workflow_id, OLD.result, OLD.error, OLD.error_class, OLD.started_at,
           OLD.completed_at) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('effect %s: its workflow, result, error and times change only with its status',
                             OLD.domain_effect_id);
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._effects_after_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._audit(
        CASE TG_OP WHEN 'INSERT' THEN 'effect_planned' ELSE 'effect_status_changed' END,
        NEW.command_id,
        (SELECT c.trace_id FROM concord.commands AS c WHERE c.command_id = NEW.command_id),
        'effect', NEW.domain_effect_id::text,
        CASE TG_OP WHEN 'INSERT' THEN NULL ELSE OLD.status END, NEW.status,
        jsonb_strip_nulls(jsonb_build_object(
            'effect_type', NEW.effect_type,
            'idempotency_key', NEW.idempotency_key,
            'workflow_id', NEW.executed_by_dbos_workflow_id,
            'compensates_effect_id', NEW.compensates_effect_id,
            'declared_compensation', NEW.declared_compensation,
            'error', NEW.error,
            'error_class', NEW.error_class)),
        CASE WHEN NEW.executed_by_dbos_workflow_id IS NOT NULL
             THEN 'workflow:' || NEW.executed_by_dbos_workflow_id END);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER effects_before_insert
BEFORE INSERT ON concord.domain_effects
FOR EACH ROW EXECUTE FUNCTION concord._effects_before_insert();

CREATE OR REPLACE TRIGGER effects_before_update
BEFORE UPDATE ON concord.domain_effects
FOR EACH ROW EXECUTE FUNCTION concord._effects_before_update();

CREATE OR REPLACE TRIGGER effects_after_insert
AFTER INSERT ON concord.domain_effects
FOR EACH ROW EXECUTE FUNCTION concord._effects_after_change();

CREATE OR REPLACE TRIGGER effects_after_update
AFTER UPDATE ON concord.domain_effects
FOR EACH ROW
WHEN (old.status IS DISTINCT FROM new.status)
EXECUTE FUNCTION concord._effects_after_change();

CREATE OR REPLACE TRIGGER effects_are_not_deleted
BEFORE DELETE ON concord.domain_effects
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('are durable history');

CREATE OR REPLACE TRIGGER effects_are_not_truncated
BEFORE TRUNCATE ON concord.domain_effects
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('are durable history');

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
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
BEGIN
    RETURN concord._plan_effect(command_id, effect_type, payload, idempotency_key, declared_compensation,
                                compensates_effect_id);
END
$$;

COMMENT ON FUNCTION concord.plan_effect(uuid, text, jsonb, text, text, uuid) IS
'Record a planned side effect of a command (spec 13.5); idempotent by key. Returns the effect id.';

CREATE OR REPLACE FUNCTION concord.start_effect(effect_id uuid, workflow_id text)
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
    e concord.domain_effects%ROWTYPE := concord._lock_effect(effect_id);
    command_status text;
BEGIN
    PERFORM concord._require('workflow_id', workflow_id);
    IF e.status = 'executing' AND e.executed_by_dbos_workflow_id = workflow_id THEN
        RETURN e.status;  -- replay
    END IF;
    SELECT c.status INTO command_status FROM concord.commands AS c WHERE c.command_id = e.command_id;
    IF e.status = 'planned' AND concord._is_terminal(command_status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('command %s is %s: its effects can no longer start', e.command_id, command_status);
    END IF;
    UPDATE concord.domain_effects AS x
    SET status = 'executing', executed_by_dbos_workflow_id = workflow_id
    WHERE x.domain_effect_id = effect_id;
    RETURN 'executing';
END
$$;

COMMENT ON FUNCTION concord.start_effect(uuid, text) IS
'planned -> executing, bound to a workflow; a replay by the same workflow is a no-op.';

CREATE OR REPLACE FUNCTION concord.complete_effect(effect_id uuid, result jsonb)
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
    e concord.domain_effects%ROWTYPE := concord._lock_effect(effect_id);
BEGIN
    result := coalesce(result, '{}');
    IF e.status = 'succeeded' THEN
        IF e.result IS DISTINCT FROM result THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN002',
                MESSAGE = format('effect %s already succeeded with a different result', effect_id);
        END IF;
        RETURN e.status;  -- replay
    END IF;
    UPDATE concord.domain_effects AS x SET status = 'succeeded', result = complete_effect.result
    WHERE x.domain_effect_id = effect_id;
    RETURN 'succeeded';
END
$$;

COMMENT ON FUNCTION concord.complete_effect(uuid, jsonb) IS
'executing -> succeeded with its result; a replay with the same result is a no-op.';

CREATE OR REPLACE FUNCTION concord.fail_effect(effect_id uuid, error text, error_class text)
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
    e concord.domain_effects%ROWTYPE := concord._lock_effect(effect_id);
BEGIN
    PERFORM concord._require('error', error);
    PERFORM concord._require('error_class', error_class);
    PERFORM concord._known_error_class(error_class);
    IF e.status = 'failed' THEN
        IF (e.error, e.error_class) IS DISTINCT FROM (error, error_class) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN002',
                MESSAGE = format('effect %s already failed with a different error', effect_id);
        END IF;
        RETURN e.status;  -- replay
    END IF;
    UPDATE concord.domain_effects AS x
    SET status = 'failed', error = fail_effect.error, error_class = fail_effect.error_class
    WHERE x.domain_effect_id = effect_id;
    RETURN 'failed';
END
$$;

COMMENT ON FUNCTION concord.fail_effect(uuid, text, text) IS
'executing -> failed with its error and error_class; a replay with the same error is a no-op.';
