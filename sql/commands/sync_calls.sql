-- Synchronous commands (spec 29). A sync command type is one a caller may
-- wait for, not one the caller runs: every allowed command a worker has an
-- operation for is handed to the DBOS worker, so its effects stay durable and
-- exactly-once. The submitting transaction may still run it inline while it
-- is validated (the kernel does for spawns and memory writes); whatever is
-- still validated, and allowed, when that transaction commits goes to the
-- worker's queue, and so do those waiting when a worker first registers the
-- type's operation (concord.register_operations). The caller waits
-- with a budget: concord.call_command (SQL) or Client.call_command (Python).

-- The notification channel a command's waiters listen on. One per command:
-- only whoever knows the (random) id hears of it, so no organisation learns
-- of another's commands by listening.
CREATE OR REPLACE FUNCTION concord.command_channel(command_id uuid)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
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
BEGIN
    RETURN 'concord_command_' || replace(command_id::text, '-', '');
END
$$;

COMMENT ON FUNCTION concord.command_channel(uuid) IS
'The LISTEN channel of a command (concord_command_<id without dashes>): it is notified with '
'the command''s new status when the command finishes (a status that completes it) or waits '
'for a person, and with ''event'' in every transaction that adds an event to its timeline.';

-- Whether a caller waiting for a command has its answer: the command
-- finished, or it waits for a person (approval, input), which no budget
-- of a caller would cover.
CREATE OR REPLACE FUNCTION concord._answers_a_caller(status text)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN status IN ('waiting_for_approval', 'waiting_for_input')
        OR coalesce((SELECT s.completes FROM concord.command_statuses AS s WHERE s.status = _answers_a_caller.status),
                    false);
END
$$;

-- What a caller waiting for a command is answered.
CREATE OR REPLACE FUNCTION concord.command_outcome(command_id uuid)
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
DECLARE
    c concord.commands%ROWTYPE;
BEGIN
    PERFORM concord._require('command_id', command_id::text);
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = command_outcome.command_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_command_exists',
            MESSAGE = format('command %s not found', command_id);
    END IF;
    RETURN jsonb_build_object(
        'command_id', c.command_id, 'command_type', c.command_type, 'status', c.status, 'trace_id', c.trace_id,
        'finished', concord._answers_a_caller(c.status)
                    AND c.status NOT IN ('waiting_for_approval', 'waiting_for_input'),
        'answered', concord._answers_a_caller(c.status),
        'result', c.result, 'error', c.error, 'error_class', c.error_class,
        'errors', concord._submit_errors(c),
        'approval_id', concord._pending_approval(c.command_id));
END
$$;

COMMENT ON FUNCTION concord.command_outcome(uuid) IS
'What a caller waiting for a command is answered: {command_id, command_type, status, trace_id, '
'finished (its status completes it), answered (finished, or waiting for an approval or input), '
'result, error, error_class, errors (as submit_command lists them), approval_id (a pending '
'approval)}. CN006 for a command the caller cannot see.';

-- Hand the validated commands among command_ids whose type a worker has an
-- operation for to the worker, where their policies allow it. A validated
-- command nothing could run (a type without an operation: a swarm's parent,
-- a kernel type run inline) stays the caller's, as does one its policies
-- have not allowed (moved back by hand: concord.evaluate_policies decides).
-- Returns how many went.
CREATE OR REPLACE FUNCTION concord._hand_off_validated(command_ids uuid[])
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    c concord.commands%ROWTYPE;
    n integer := 0;
BEGIN
    FOR c IN
        SELECT x.* FROM concord.commands AS x
        WHERE x.command_id = ANY (command_ids) AND x.status = 'validated'
          AND EXISTS (SELECT 1 FROM concord.runtime_operations AS o WHERE o.command_type = x.command_type)
        ORDER BY x.created_at, x.command_id
        FOR NO KEY UPDATE OF x
    LOOP
        BEGIN
            PERFORM concord._set_status(c.command_id, 'queued', c.requested_by,
                                        'allowed: handed to the worker that runs its type');
            n := n + 1;
        EXCEPTION WHEN SQLSTATE 'CN001' THEN
            -- a_governed_command_moves_on_only_when_its_policies_allow: it stays validated
            NULL;
        END;
    END LOOP;
    RETURN n;
END
$$;

-- The deferred rule: an allowed command a worker can run is not left
-- validated by the transaction that validated it. Fired at commit
-- (INITIALLY DEFERRED), so the transaction may have run it inline meanwhile
-- (then it is no longer validated and nothing happens).
CREATE OR REPLACE FUNCTION concord._hand_off_validated_at_commit()
RETURNS trigger
LANGUAGE plpgsql
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
BEGIN
    PERFORM concord._hand_off_validated(ARRAY[NEW.command_id]);
    RETURN null;
END
$$;

-- (CREATE CONSTRAINT TRIGGER has no OR REPLACE)
DROP TRIGGER IF EXISTS an_allowed_command_is_handed_to_the_worker_at_commit ON concord.commands;

CREATE CONSTRAINT TRIGGER an_allowed_command_is_handed_to_the_worker_at_commit
AFTER INSERT OR UPDATE OF status ON concord.commands
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (new.status = 'validated')
EXECUTE FUNCTION concord._hand_off_validated_at_commit();

-- Waiters hear of a command when it finishes or waits for a person.
CREATE OR REPLACE FUNCTION concord._notify_command_waiters()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF concord._answers_a_caller(NEW.status) THEN
        PERFORM pg_notify(concord.command_channel(NEW.command_id), NEW.status);
    END IF;
    RETURN null;
END
$$;

CREATE OR REPLACE TRIGGER commands_notify_waiters
AFTER UPDATE OF status ON concord.commands
FOR EACH ROW
WHEN (old.status IS DISTINCT FROM new.status)
EXECUTE FUNCTION concord._notify_command_waiters();

-- Whether writer (a row version's xmin) is this transaction or one of its
-- subtransactions (a SAVEPOINT, an exception block, psql's ON_ERROR_ROLLBACK):
-- a row version this transaction sees whose writer is still in progress can
-- only be its own. writer is widened to an xid8 in the epoch that puts it
-- nearest this transaction's own xid (every live xid is within 2^31 of it).
CREATE OR REPLACE FUNCTION concord._written_by_this_transaction(writer xid)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    mine bigint := pg_current_xact_id_if_assigned()::text::bigint;
    low bigint := writer::text::bigint;
    full_xid bigint;
BEGIN
    IF mine IS null OR low < 3 THEN
        RETURN false;
    END IF;
    full_xid := (mine >> 32 << 32) + low;
    IF full_xid > mine + 2147483648 THEN
        full_xid := full_xid - 4294967296;
    ELSIF full_xid < mine - 2147483648 THEN
        full_xid := full_xid + 4294967296;
    END IF;
    RETURN full_xid >= 3 AND pg_xact_status(full_xid::text::xid8) = 'in progress';
END
$$;

-- Wait at most timeout_seconds for a command to answer its caller (spec
-- 29): VOLATILE, so each look takes a new snapshot and sees the worker's
-- commits. A command the caller's own transaction wrote cannot move before
-- that transaction commits: waiting for it would only burn the budget.
CREATE OR REPLACE FUNCTION concord.await_command(
    command_id uuid, timeout_seconds double precision DEFAULT 30
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
    started timestamptz := clock_timestamp();
    outcome jsonb;
    waited double precision;
    delay double precision := 0.01;
BEGIN
    IF timeout_seconds IS NULL OR NOT timeout_seconds BETWEEN 0 AND 3600 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_caller_waits_between_0_and_3600_seconds',
            MESSAGE = format('timeout_seconds must be between 0 and 3600, not %s', timeout_seconds),
            HINT = 'Poll concord.command_outcome for a longer wait.';
    END IF;
    LOOP
        outcome := concord.command_outcome(command_id);
        waited := extract(EPOCH FROM clock_timestamp() - started);
        EXIT WHEN (outcome ->> 'answered')::boolean OR waited >= timeout_seconds;
        IF current_setting('transaction_isolation') <> 'read committed' THEN
            -- one snapshot for the whole transaction: the worker's commits would never show
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'a_caller_waits_in_a_read_committed_transaction',
                MESSAGE = format('command %s is %s and this transaction is %s: it would not see the command '
                                 'finish before its budget ran out', command_id, outcome ->> 'status',
                                 current_setting('transaction_isolation')),
                HINT = 'Wait outside a transaction block (psql: autocommit) or in a READ COMMITTED one, '
                       'or CALL concord.call_command.';
        END IF;
        IF EXISTS (SELECT 1 FROM concord.commands AS x
                   WHERE x.command_id = await_command.command_id
                     AND concord._written_by_this_transaction(x.xmin)) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'a_caller_waits_only_for_a_committed_command',
                MESSAGE = format('command %s was written by this transaction: no worker can run it before the '
                                 'transaction commits', command_id),
                HINT = 'Commit the submission first (psql: autocommit), or CALL concord.call_command.';
        END IF;
        PERFORM pg_sleep(least(delay, timeout_seconds - waited));
        delay := least(delay * 2, 0.25);
    END LOOP;
    RETURN outcome || jsonb_build_object('timed_out', NOT (outcome ->> 'answered')::boolean,
                                         'waited_seconds', round(waited::numeric, 3));
END
$$;

COMMENT ON FUNCTION concord.await_command(uuid, double precision) IS
'Wait at most timeout_seconds (0 to 3600, CN008 a_caller_waits_between_0_and_3600_seconds) for a '
'command to finish or to wait for a person; returns concord.command_outcome plus timed_out and '
'waited_seconds. A command still queued or running when the budget runs out keeps running: call it '
'again or poll command_outcome. CN011 (a_caller_waits_only_for_a_committed_command) for a command '
'the calling transaction wrote and has not committed; CN011 '
'(a_caller_waits_in_a_read_committed_transaction) for an unanswered command when the calling '
'transaction is REPEATABLE READ or SERIALIZABLE (it would never see the command finish).';

-- Submit and wait in one statement (spec 29). A procedure, so that it can
-- commit the submission (the worker sees it) before it waits. PostgreSQL
-- refuses COMMIT in a SECURITY DEFINER routine or one with SET clauses, so
-- this one has neither: it runs as its caller and calls only the API
-- (submit_command, authenticate, await_command), whose functions reset the
-- context themselves; names are schema-qualified against the caller's
-- search_path.
CREATE OR REPLACE PROCEDURE concord.call_command(
    command_type text,
    payload jsonb,
    timeout_seconds double precision DEFAULT 30,
    idempotency_key text DEFAULT NULL,
    requested_by text DEFAULT NULL,
    context jsonb DEFAULT '{}',
    INOUT outcome jsonb DEFAULT NULL
)
LANGUAGE plpgsql
AS $$
DECLARE
    -- a token authenticates one transaction: the one after COMMIT presents it again
    credential text := coalesce(pg_catalog.current_setting('concord.credential', true), '');
    submitted record;
BEGIN
    -- A transaction that already wrote (an xid before anything here wrote) is a
    -- transaction block the caller opened: the COMMIT below could only fail, raw,
    -- after the submission. (One that wrote nothing yet still fails there, and
    -- rolls the submission back with it.) Timestamps cannot tell: under the
    -- extended protocol an autocommit CALL's statement starts after its transaction.
    IF pg_catalog.pg_current_xact_id_if_assigned() IS NOT null THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_sync_call_is_made_outside_a_transaction_block',
            MESSAGE = 'concord.call_command commits its submission before it waits: CALL it outside a '
                      'transaction block',
            HINT = 'Use autocommit (psql does; psycopg: autocommit=True), or submit_command, commit, '
                   'then concord.await_command.';
    END IF;
    IF timeout_seconds IS NULL OR NOT timeout_seconds BETWEEN 0 AND 3600 THEN
        PERFORM concord.await_command(null, timeout_seconds);
    END IF;
    SELECT * INTO submitted FROM concord.submit_command(
        command_type, payload, requested_by, 'api', context, idempotency_key, NULL);
    COMMIT;
    -- a session defaulting to repeatable read would keep one snapshot for the whole wait
    SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
    IF credential NOT IN ('', 'refused') THEN
        PERFORM concord.authenticate(credential);
    END IF;
    outcome := concord.await_command(submitted.command_id, timeout_seconds)
        || pg_catalog.jsonb_build_object('created', submitted.created);
END
$$;

COMMENT ON PROCEDURE concord.call_command (text, jsonb, double precision, text, text, jsonb, jsonb) IS -- noqa: LT05
'Submit a command (as concord.submit_command: same policies, approvals, effects and audit), '
'commit, and wait at most timeout_seconds for it (concord.await_command); outcome is '
'await_command''s answer plus created. A denied or invalid command, or one waiting for an '
'approval or input, answers at once; '
'one still queued or running when the budget runs out answers timed_out and keeps running on the '
'worker. The same idempotency_key waits on the same command. CALL it outside a transaction block '
'(it commits; CN011 a_sync_call_is_made_outside_a_transaction_block otherwise); it waits READ '
'COMMITTED whatever the session''s default isolation.';

-- Watchers (concord watch) hear of every event of a command, not only of its
-- answer: one notification per command per statement, which PostgreSQL folds
-- further to one per transaction. Waiters woken by it read the outcome again
-- and wait on.
CREATE OR REPLACE FUNCTION concord._notify_command_watchers()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM pg_notify(concord.command_channel(a.command_id), 'event')
    FROM (SELECT DISTINCT e.command_id FROM added AS e WHERE e.command_id IS NOT NULL) AS a;
    RETURN null;
END
$$;

CREATE OR REPLACE TRIGGER domain_events_notify_watchers
AFTER INSERT ON concord.domain_events
REFERENCING NEW TABLE AS added
FOR EACH STATEMENT
EXECUTE FUNCTION concord._notify_command_watchers();
