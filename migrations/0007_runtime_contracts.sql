-- 0007 runtime contracts: what the worker needs to leave nothing stuck and
-- nothing ungoverned (issue 13): workers and their queues, sync execution,
-- connector contracts checked at run time, swarm cancellation and memory
-- forgetting that reach everything. Spec 18-20, 24, 29, 31, 34, 48, 61-65.
--
-- Forward-only: once released this file is never edited; change = new file.
-- Each part below is headed by a "-- == part ==" line.

-- == cron_parser ==
-- A schedule's cron is what DBOS's scheduler (croniter) runs: aliases such as @hourly
-- included. Whether the scheduler can run it is checked on every write by the trigger
-- schedules_cron_is_valid (sql/runtime/schedules.sql, rule a_schedule_cron_is_valid);
-- the table keeps only the shape.
ALTER TABLE concord.schedules DROP CONSTRAINT cron_has_five_or_six_fields;
ALTER TABLE concord.schedules ADD CONSTRAINT cron_has_five_or_six_fields_or_is_an_alias
CHECK (cron ~ '^(@[A-Za-z]+|\S+(\s+\S+){4,5})$');

COMMENT ON CONSTRAINT cron_has_five_or_six_fields_or_is_an_alias ON concord.schedules IS
'A cron expression has five or six fields, or is one @alias (@hourly, @daily, ...).';
COMMENT ON COLUMN concord.schedules.cron IS
'When it fires: five cron fields, six with seconds first, or an @alias, as DBOS''s scheduler '
'(croniter) reads them.';

-- == workers ==
-- No command is stranded (issue 13 section 1, spec 48): the workers that are
-- up register and heartbeat here, so a command type nobody serves and a
-- worker that is gone for good can be seen, and the gone worker's workflows
-- adopted. Liveness itself is the session advisory lock each worker holds on
-- concord.executor:<executor id>; the heartbeat says what it serves.
CREATE TABLE concord.workers (
    executor_id text PRIMARY KEY
    CONSTRAINT worker_executor_id_is_not_blank CHECK (
        btrim(executor_id) <> '' AND length(executor_id) <= 200
    ),
    application_version text NOT NULL
    CONSTRAINT worker_application_version_is_not_blank CHECK (btrim(application_version) <> ''),
    host text NOT NULL,
    pid integer NOT NULL CONSTRAINT worker_pid_is_positive CHECK (pid > 0),
    queues text[] NOT NULL DEFAULT '{}',
    operations text[] NOT NULL DEFAULT '{}',
    started_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    CONSTRAINT a_worker_is_seen_after_it_started CHECK (last_seen_at >= started_at)
);

COMMENT ON TABLE concord.workers IS
'The DBOS workers that have run against this database, one row per executor id, written only by '
'the worker holding that executor id (concord.runtime_heartbeat). A worker is live while its '
'session holds the advisory lock on concord.executor:<executor_id>; see concord.live_workers.';
COMMENT ON COLUMN concord.workers.executor_id IS
'The DBOS executor id: recovery resumes the workflows of an executor id.';
COMMENT ON COLUMN concord.workers.application_version IS
'The DBOS application version the worker runs.';
COMMENT ON COLUMN concord.workers.host IS
'The host name the worker runs on.';
COMMENT ON COLUMN concord.workers.pid IS
'The worker''s process id on its host.';
COMMENT ON COLUMN concord.workers.queues IS
'The DBOS queues the worker listens to.';
COMMENT ON COLUMN concord.workers.operations IS
'The command types the worker has an operation for.';
COMMENT ON COLUMN concord.workers.started_at IS
'When this process of the worker started (its first heartbeat).';
COMMENT ON COLUMN concord.workers.last_seen_at IS
'Its latest heartbeat.';
COMMENT ON CONSTRAINT worker_executor_id_is_not_blank ON concord.workers IS
'An executor id is not blank and at most 200 characters.';
COMMENT ON CONSTRAINT worker_application_version_is_not_blank ON concord.workers IS
'An application version is not blank.';
COMMENT ON CONSTRAINT worker_pid_is_positive ON concord.workers IS
'A process id is positive.';
COMMENT ON CONSTRAINT a_worker_is_seen_after_it_started ON concord.workers IS
'A worker''s latest heartbeat is not before it started.';

-- max_attempts (spec 13.2, 33) is enforced: attempts counts the runs that
-- began (into running, except a blocked command resuming), and the state
-- machine's guard refuses a re-queue once it reaches the type's max_attempts.
ALTER TABLE concord.commands
ADD COLUMN attempts integer NOT NULL DEFAULT 0
CONSTRAINT attempts_is_not_negative CHECK (attempts >= 0);

COMMENT ON COLUMN concord.commands.attempts IS
'How many runs of the command began (moves into running, except a blocked command resuming); a '
'command is not re-queued once it reaches its type''s max_attempts.';
COMMENT ON CONSTRAINT attempts_is_not_negative ON concord.commands IS
'A command''s attempt count is not negative.';

-- The runs that already began, from the audit trail. The guard triggers are
-- off for the backfill: they refuse any change to a finished command.
ALTER TABLE concord.commands DISABLE TRIGGER USER;
UPDATE concord.commands AS c
SET attempts = a.n
FROM (
    SELECT
        e.command_id,
        count(*)::integer AS n
    FROM concord.domain_events AS e
    WHERE
        e.event_type = 'command_status_changed' AND e.to_status = 'running'
        AND e.from_status IS DISTINCT FROM 'blocked'
    GROUP BY e.command_id
) AS a
WHERE a.command_id = c.command_id;
ALTER TABLE concord.commands ENABLE TRIGGER USER;

-- == sync_execution ==
-- Spec 29: a sync command type no longer stops at validated; every allowed
-- command a worker has an operation for is handed to the worker, "sync" only
-- means a caller may wait (see sql/commands/sync_calls.sql). Commands left
-- validated before 0007 that their policies allowed (or whose type has none)
-- and whose type has a registered operation are queued now, as the hand-off
-- at commit would have done: bound to their first run and enqueued
-- in DBOS when its schema is installed and their dependencies are met (else
-- queued without a workflow: a parent's completion, or
-- concord.hand_off_queued(), hands them off). The guard triggers of the
-- release being upgraded are not this move's to judge: they are off for it,
-- and the audit rows are written here.
CREATE TEMP TABLE sync_execution_moved ON COMMIT DROP AS
SELECT
    c.command_id,
    c.trace_id,
    c.requested_by,
    c.command_type,
    c.run_seq + 1 AS run_seq,
    o.queue_name,
    NOT EXISTS (
        SELECT 1 FROM concord.command_dependencies AS d
        INNER JOIN concord.commands AS p ON d.parent_command_id = p.command_id
        WHERE d.child_command_id = c.command_id AND p.status <> d.required_status
    ) AND to_regproc('dbos.enqueue_workflow') IS NOT null AS bind
FROM concord.commands AS c
INNER JOIN concord.command_types AS ct ON c.command_type = ct.command_type
INNER JOIN concord.runtime_operations AS o ON c.command_type = o.command_type
WHERE
    c.status = 'validated'
    AND coalesce(
        c.policy_evaluation ->> 'decision', CASE WHEN ct.policy_checks = '{}' THEN 'allow' END
    ) = 'allow';

ALTER TABLE concord.commands DISABLE TRIGGER USER;

UPDATE concord.commands AS c SET
    status = 'queued',
    run_seq = CASE WHEN m.bind THEN m.run_seq ELSE c.run_seq END,
    queue_name = CASE WHEN m.bind THEN m.queue_name END,
    dbos_workflow_id = CASE
        WHEN m.bind AND m.run_seq <= 1 THEN c.command_id::text
        WHEN m.bind THEN c.command_id::text || '/' || m.run_seq
    END,
    updated_at = now()
FROM sync_execution_moved AS m
WHERE c.command_id = m.command_id;

ALTER TABLE concord.commands ENABLE TRIGGER USER;

INSERT INTO concord.domain_events (
    command_id, purpose, event_type, target_type, target_id, from_status, to_status, reason,
    payload, actor, trace_id
)
SELECT
    m.command_id,
    'audit' AS purpose,
    'command_status_changed' AS event_type,
    'command' AS target_type,
    m.command_id::text AS target_id,
    'validated' AS from_status,
    'queued' AS to_status,
    'migration 0007: an allowed sync command is handed to the worker' AS reason,
    '{}'::jsonb AS payload,
    'kernel:migration_0007' AS actor,
    m.trace_id
FROM sync_execution_moved AS m;

DO $$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT x.command_id, x.trace_id, x.queue_name, x.dbos_workflow_id, x.run_seq
        FROM concord.commands AS x
        INNER JOIN sync_execution_moved AS m ON x.command_id = m.command_id
        WHERE m.bind
        ORDER BY x.created_at, x.command_id
    LOOP
        EXECUTE 'SELECT dbos.enqueue_workflow(workflow_name => $1, queue_name => $2, '
                'positional_args => $3, workflow_id => $4, priority => 0)'
        USING 'concord.run_command', c.queue_name, ARRAY[to_json(c.command_id::text)]::json [],
              c.dbos_workflow_id;
        INSERT INTO concord.domain_events (
            command_id, purpose, event_type, target_type, target_id, from_status, to_status, payload,
            actor, trace_id
        ) VALUES (
            c.command_id, 'audit', 'workflow_enqueued', 'workflow', c.dbos_workflow_id, 'queued', 'queued',
            jsonb_build_object('workflow_id', c.dbos_workflow_id, 'queue', c.queue_name, 'run', c.run_seq),
            'kernel:migration_0007', c.trace_id
        );
    END LOOP;
END
$$;

COMMENT ON COLUMN concord.command_types.sync_allowed IS
'True when a caller may wait for a command of this type (spec 29): the worker that has its '
'operation runs it when the submitting transaction commits.';

-- == run_time_contracts ==
-- The compensations of the operation catalog as workers loaded it (spec 31.1):
-- what each counters and the effects it declares, so that the database can
-- validate the catalog and compare what a compensation began with what it
-- declared (the drift detector of spec 31.3).
CREATE TABLE concord.runtime_compensations (
    compensation_name text PRIMARY KEY
    CONSTRAINT compensation_name_is_not_blank CHECK (btrim(compensation_name) <> ''),
    compensates text NOT NULL
    CONSTRAINT compensates_is_not_blank CHECK (btrim(compensates) <> ''),
    function_name text NOT NULL
    CONSTRAINT compensation_function_name_is_not_blank CHECK (btrim(function_name) <> ''),
    produces jsonb NOT NULL DEFAULT '[]'
    CONSTRAINT compensation_produces_is_an_array CHECK (jsonb_typeof(produces) = 'array'),
    counter_effects boolean NOT NULL DEFAULT true,
    requires_compensation boolean NOT NULL DEFAULT false,
    retry_policy jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT compensation_retry_policy_is_an_object CHECK (jsonb_typeof(retry_policy) = 'object'),
    registered_by text NOT NULL,
    application_version text NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE concord.runtime_compensations IS
'The compensations of the operation catalog workers registered (register_operations): what each '
'counters and the effects it declares. Shared, like runtime_operations.';
COMMENT ON COLUMN concord.runtime_compensations.compensation_name IS
'The compensation''s name (its function''s module.qualname unless it was named).';
COMMENT ON COLUMN concord.runtime_compensations.compensates IS
'What it compensates: an operation''s command type or another compensation''s name.';
COMMENT ON COLUMN concord.runtime_compensations.function_name IS
'The Python function that runs it.';
COMMENT ON COLUMN concord.runtime_compensations.produces IS
'The effects it declares: [{effect_type, inverse_of}], inverse_of naming the effect type of '
'what it compensates that the effect counters (null: not an inverse).';
COMMENT ON COLUMN concord.runtime_compensations.counter_effects IS
'True when every effect it produces is the inverse of an effect of what it compensates '
'(spec 31.1).';
COMMENT ON COLUMN concord.runtime_compensations.requires_compensation IS
'True when its own effects need a compensation in turn (a declared cascade).';
COMMENT ON COLUMN concord.runtime_compensations.retry_policy IS
'Its retry policy as the worker compiled it.';
COMMENT ON COLUMN concord.runtime_compensations.registered_by IS
'The executor id of the worker that registered it last.';
COMMENT ON COLUMN concord.runtime_compensations.application_version IS
'The application version of that worker.';
COMMENT ON COLUMN concord.runtime_compensations.registered_at IS
'When it was registered (or last changed).';
COMMENT ON CONSTRAINT compensation_name_is_not_blank ON concord.runtime_compensations IS
'A compensation has a name.';
COMMENT ON CONSTRAINT compensates_is_not_blank ON concord.runtime_compensations IS
'A compensation names what it compensates.';
COMMENT ON CONSTRAINT compensation_function_name_is_not_blank ON concord.runtime_compensations IS
'A compensation names its function.';
COMMENT ON CONSTRAINT compensation_produces_is_an_array ON concord.runtime_compensations IS
'The declared effects are a JSON array.';
COMMENT ON CONSTRAINT compensation_retry_policy_is_an_object ON concord.runtime_compensations IS
'The retry policy is a JSON object.';

-- An artifact an operation creates (ctx.artifact) carries the key its step
-- used: a step run again finds it instead of creating a second one.
ALTER TABLE concord.artifacts
ADD COLUMN idempotency_key text NULL
CONSTRAINT artifact_idempotency_key_is_not_blank CHECK (btrim(idempotency_key) <> '');

CREATE UNIQUE INDEX artifacts_one_per_idempotency_key
ON concord.artifacts (command_id, idempotency_key) WHERE idempotency_key IS NOT null;

COMMENT ON COLUMN concord.artifacts.idempotency_key IS
'The key under which an operation''s step created it (runtime_create_artifact); null for an '
'agent''s artifact. One artifact per command and key.';
COMMENT ON CONSTRAINT artifact_idempotency_key_is_not_blank ON concord.artifacts IS
'An artifact''s idempotency key, when it has one, is not blank.';

-- The connector check of every effect finds the agent run whose step created
-- the command (an agent's tool command) by this column.
CREATE INDEX agent_steps_created_command_idx ON concord.agent_steps (created_command_id)
WHERE created_command_id IS NOT null;

-- == memory_by_reference ==
-- A memory's content lives in its memories row only, which forgetting clears
-- (spec 23, 61). Before this release a write_memory step kept the content in
-- its action_payload, a retrieve_memory step kept the memories it returned in
-- its output, and each step's agent_step_recorded audit row copied both: all
-- append-only, so forgetting left copies. They are rewritten once, here, to
-- what the kernel records now (sql/memory/references.sql): each content
-- replaced by its content_sha256 and content_length, the memory_id kept. The
-- append-only guards of agent_steps and domain_events are disabled around
-- these statements only: a migration is the one writer allowed to rewrite
-- history, and only this. DBOS's own step outputs of past agent workflows
-- (pickled in dbos.operation_outputs) are not rewritten: they go with their
-- workflows when DBOS's retention removes them.
CREATE FUNCTION pg_temp.memory_digest(content jsonb)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT jsonb_build_object(
        'content_sha256', encode(sha256(convert_to(coalesce(content #>> '{}', ''), 'UTF8')), 'hex'),
        'content_length', length(coalesce(content #>> '{}', ''))
    )
$$;

-- a list of memory documents, each content replaced by its digest
CREATE FUNCTION pg_temp.memories_by_reference(memories jsonb)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT coalesce(jsonb_agg(
        CASE
            WHEN jsonb_typeof(m.doc) = 'object' AND m.doc ? 'content'
                THEN (m.doc - 'content') || pg_temp.memory_digest(m.doc -> 'content')
            ELSE m.doc
        END ORDER BY m.n
    ), '[]'::jsonb)
    FROM jsonb_array_elements(memories) WITH ORDINALITY AS m (doc, n)
$$;

-- a write_memory payload with its content replaced by its digest
CREATE FUNCTION pg_temp.payload_by_reference(payload jsonb)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT (payload - 'content') || pg_temp.memory_digest(payload -> 'content')
$$;

-- (a fresh install has neither guard yet: the sql/ files create them after)
DO $$
DECLARE
    guarded boolean := EXISTS (
        SELECT FROM pg_trigger
        WHERE tgname = 'agent_steps_are_append_only' AND tgrelid = 'concord.agent_steps'::regclass
    );
    audited boolean := EXISTS (
        SELECT FROM pg_trigger
        WHERE tgname = 'events_are_append_only' AND tgrelid = 'concord.domain_events'::regclass
    );
BEGIN
    IF guarded THEN
        ALTER TABLE concord.agent_steps DISABLE TRIGGER agent_steps_are_append_only;
    END IF;
    IF audited THEN
        ALTER TABLE concord.domain_events DISABLE TRIGGER events_are_append_only;
    END IF;

    UPDATE concord.agent_steps AS s
    SET action_payload = jsonb_set(s.action_payload, '{payload}',
                                   pg_temp.payload_by_reference(s.action_payload -> 'payload'))
    WHERE s.tool_name = 'write_memory' AND jsonb_typeof(s.action_payload -> 'payload') = 'object'
      AND s.action_payload -> 'payload' ? 'content';
    UPDATE concord.agent_steps AS s
    SET output = jsonb_set(s.output, '{output,memories}',
                           pg_temp.memories_by_reference(s.output #> '{output,memories}'))
    WHERE s.tool_name = 'retrieve_memory' AND jsonb_typeof(s.output #> '{output,memories}') = 'array';

    -- the audit row of each step: the same rewrite of its copies
    UPDATE concord.domain_events AS e
    SET payload = jsonb_set(e.payload, '{action_payload,payload}',
                            pg_temp.payload_by_reference(e.payload #> '{action_payload,payload}'))
    WHERE e.event_type = 'agent_step_recorded' AND e.tool_name = 'write_memory'
      AND jsonb_typeof(e.payload #> '{action_payload,payload}') = 'object'
      AND e.payload #> '{action_payload,payload}' ? 'content';
    UPDATE concord.domain_events AS e
    SET payload = jsonb_set(e.payload, '{output,output,memories}',
                            pg_temp.memories_by_reference(e.payload #> '{output,output,memories}'))
    WHERE e.event_type = 'agent_step_recorded' AND e.tool_name = 'retrieve_memory'
      AND jsonb_typeof(e.payload #> '{output,output,memories}') = 'array';

    IF audited THEN
        ALTER TABLE concord.domain_events ENABLE TRIGGER events_are_append_only;
    END IF;
    IF guarded THEN
        ALTER TABLE concord.agent_steps ENABLE TRIGGER agent_steps_are_append_only;
    END IF;
END
$$;

DROP FUNCTION pg_temp.payload_by_reference(jsonb);
DROP FUNCTION pg_temp.memories_by_reference(jsonb);
DROP FUNCTION pg_temp.memory_digest(jsonb);
