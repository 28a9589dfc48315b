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

-- Who drives a command's run (issue 12, least privilege). The setting
-- concord.worker_run names the run a worker step acts for: its DBOS workflow
-- id (set by the runtime_* functions after they checked the binding), or
-- kernel:<command id> while the kernel itself runs one of its own command
-- types inline (a spawn, a memory write). Every SECURITY DEFINER function
-- resets it on entry (SET "concord.worker_run" = ''), so no caller can name
-- a run through its own session.
CREATE OR REPLACE FUNCTION concord._push_run(run text)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    previous text := coalesce(current_setting('concord.worker_run', true), '');
BEGIN
    PERFORM set_config('concord.worker_run', coalesce(run, ''), true);
    RETURN previous;
END
$$;

CREATE OR REPLACE FUNCTION concord._pop_run(previous text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM set_config('concord.worker_run', coalesce(previous, ''), true);
END
$$;

-- Whether run (a workflow id or kernel:<id>) is the current run of command
-- c: its bound workflow, the follow-up finishing that run's cancellation
-- (<workflow>/cancel), or the kernel running it inline.
CREATE OR REPLACE FUNCTION concord._is_current_run(c concord.commands, run text)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN coalesce(coalesce(run, '') <> ''
                    AND (run = 'kernel:' || c.command_id
                         OR run IN (c.dbos_workflow_id, c.dbos_workflow_id || '/cancel')), false);
END
$$;

-- The moves only a command's run makes: into running, and on from running,
-- cancelling, compensating or compensated (its outcome, the cancellation and
-- compensation path), except the operator's running -> blocked, which takes
-- a stuck command off its run. The dependency cascade (concord.settling)
-- fails or cancels children without a run.
CREATE OR REPLACE FUNCTION concord._require_current_run(
    old_row concord.commands, new_row concord.commands
)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    run text := current_setting('concord.worker_run', true);
BEGIN
    IF NOT (new_row.status = 'running'
            OR (old_row.status IN ('running', 'cancelling', 'compensating', 'compensated')
                AND new_row.status NOT IN ('blocked', 'cancelling'))
            OR (old_row.status = 'failed' AND new_row.status = 'compensating'))
       OR current_setting('concord.settling', true) = 'on'
       OR concord._is_current_run(new_row, run) THEN
        RETURN;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'CN012',
        CONSTRAINT = 'only_the_current_run_drives_a_command',
        TABLE = 'commands',
        MESSAGE = format('command %s cannot go from %s to %s here: only the worker step of its current run '
                         '(workflow %s) moves it into running, records its outcome or walks its cancellation',
                         old_row.command_id, old_row.status, new_row.status,
                         coalesce(new_row.dbos_workflow_id, 'none')),
        DETAIL = CASE WHEN coalesce(run, '') = '' THEN 'No run is acting.'
                      ELSE format('%s is not its current run.', run) END,
        HINT = 'Queue it (transition_command to queued) and let a worker run it; take a stuck one off its run '
               'with transition_command to blocked, or cancel it with cancel_command.';
END
$$;
