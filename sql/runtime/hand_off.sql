-- The transactional hand-off of runnable commands to DBOS (spec 74-79). The
-- dbos.* objects are reached only through dynamic SQL: DBOS drops and
-- recreates its functions on upgrade, so nothing here may depend on them.

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
            CONSTRAINT = 'the_dbos_system_schema_is_installed',
            MESSAGE = format('%s cannot be handed to the runtime: the DBOS system schema is not '
                             'installed in this database', subject),
            HINT = coalesce(hint, 'Run `concord migrate`, which installs it.');
    END IF;
END
$$;

-- Enqueue the command's current workflow in DBOS, in the caller's
-- transaction. DBOS's function ignores a second enqueue of the same id. A
-- command of a sync type goes first on its queue (DBOS claims the lowest
-- priority number first): a caller may be waiting for it (spec 29).
--
-- Both enqueues NOTIFY concord_runnable with the queue's name: the workers
-- polling that queue claim the work at the commit of the caller's
-- transaction, not at their next poll (python/concord/runtime/waker.py).
-- Delivered only if the transaction commits, and once per queue however many
-- hand-offs it made: PostgreSQL folds a transaction's notifications of the
-- same channel and payload into one.
CREATE OR REPLACE FUNCTION concord._enqueue(c concord.commands)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._require_dbos(format('command %s', c.command_id));
    EXECUTE 'SELECT dbos.enqueue_workflow(workflow_name => $1, queue_name => $2, '
            'positional_args => $3, workflow_id => $4, priority => $5)'
    USING 'concord.run_command', c.queue_name, ARRAY[to_json(c.command_id::text)]::json [], c.dbos_workflow_id,
          coalesce((SELECT CASE WHEN ct.sync_allowed AND NOT ct.async_required THEN 0 ELSE 1 END
                    FROM concord._command_contract_of(c) AS ct), 1);
    PERFORM pg_notify('concord_runnable', c.queue_name);
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
    PERFORM pg_notify('concord_runnable', queue_name);
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
    -- compensated with a cancellation requested: its last step (-> cancelled)
    -- is the follow-up's too
    IF new_status IN ('cancelling', 'compensating')
       OR new_status = 'compensated' AND c.cancellation_requested_at IS NOT null THEN
        PERFORM concord._enqueue_workflow('concord.finish_cancellation', 'concord_default', c.command_id,
                                          c.dbos_workflow_id || '/cancel');
    END IF;
    RETURN new_status;
END
$$;

-- A command on the cancellation path that its run's workflow, or else the
-- follow-up <workflow>/cancel (concord.finish_cancellation), walks to its end.
CREATE OR REPLACE FUNCTION concord._cancellation_to_finish(c concord.commands)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN c.status IN ('cancelling', 'compensating')
        OR c.status = 'compensated' AND c.cancellation_requested_at IS NOT null;
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
-- dependency is unmet, or whose run's worker cannot run its type, lets its
-- workflow go).
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
        -- a release: a dependency is unmet, or the run itself lets its
        -- workflow go (its worker has no operation for the type)
        IF old_row.dbos_workflow_id IS NOT null AND new_row.dbos_workflow_id IS null
           AND (unmet IS NOT null OR concord._is_current_run(old_row, current_setting('concord.worker_run', true)))
           AND new_row.run_seq = old_row.run_seq AND new_row.queue_name IS NOT DISTINCT FROM old_row.queue_name THEN
            RETURN new_row;
        END IF;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'CN007',
        CONSTRAINT = 'a_workflow_binding_changes_only_while_queued',
        TABLE = 'commands',
        MESSAGE = format('command %s: its workflow binding (dbos_workflow_id, run_seq, queue_name) changes only '
                         'when it is queued: handed off once its dependencies are met, released while one is '
                         'unmet', old_row.command_id),
        DETAIL = format('Bound to %s (run %s); status %s.', coalesce(old_row.dbos_workflow_id, 'no workflow'),
                        old_row.run_seq, old_row.status);
END
$$;

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
