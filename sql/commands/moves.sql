-- Internal moves of a command, shared by the API and the dependency cascade.

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
            CONSTRAINT = 'the_command_exists',
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
            CONSTRAINT = 'cancellation_mode_is_graceful_or_compensate_then_stop',
            MESSAGE = format('unknown cancellation mode %L: use graceful or compensate_then_stop', mode);
    END IF;
    IF c.cancellation_requested_at IS NOT NULL AND mode IS NOT NULL AND mode <> c.cancellation_mode THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_cancellation_keeps_its_mode',
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
