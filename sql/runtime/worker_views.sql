-- Views of the workers and of what nobody serves (spec 48, issue 13). Live
-- means a session holds the worker's executor lock (sql/runtime/workers.sql).

-- The views are plain SQL: a function a view calls runs with the reader's
-- rights, and concord_reader may execute none. pg_locks is readable by all;
-- a bigint advisory key shows there as classid (high half), objid (low half)
-- and objsubid 1 (sql/runtime/workers.sql).

CREATE OR REPLACE VIEW concord.live_workers AS
SELECT
    w.executor_id,
    w.application_version,
    w.host,
    w.pid,
    w.queues,
    w.operations,
    w.started_at,
    w.last_seen_at,
    now() - w.last_seen_at AS silent_for
FROM concord.workers AS w
WHERE
    EXISTS (
        SELECT 1 FROM pg_catalog.pg_locks AS l
        WHERE
            l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
            AND l.database
            = (
                SELECT d.oid FROM pg_catalog.pg_database AS d
                WHERE d.datname = current_database()
            )
            AND l.classid
            = ((hashtextextended('concord.executor:' || w.executor_id, 0) >> 32) & 4294967295)::oid
            AND l.objid
            = (hashtextextended('concord.executor:' || w.executor_id, 0) & 4294967295)::oid
    )
ORDER BY w.executor_id;

COMMENT ON VIEW concord.live_workers IS
'The workers that are up (a session holds their executor id''s advisory lock), with the queues '
'they listen to and the command types they have an operation for.';
COMMENT ON COLUMN concord.live_workers.executor_id IS
'The worker''s DBOS executor id.';
COMMENT ON COLUMN concord.live_workers.application_version IS
'The DBOS application version it runs.';
COMMENT ON COLUMN concord.live_workers.host IS
'The host it runs on.';
COMMENT ON COLUMN concord.live_workers.pid IS
'Its process id on that host.';
COMMENT ON COLUMN concord.live_workers.queues IS
'The DBOS queues it listens to.';
COMMENT ON COLUMN concord.live_workers.operations IS
'The command types it has an operation for.';
COMMENT ON COLUMN concord.live_workers.started_at IS
'When its process started.';
COMMENT ON COLUMN concord.live_workers.last_seen_at IS
'Its latest heartbeat (every few seconds while it runs).';
COMMENT ON COLUMN concord.live_workers.silent_for IS
'How long ago its latest heartbeat was, as of the start of the reading transaction.';

-- Queued commands whose type no live worker has an operation for.
CREATE OR REPLACE VIEW concord.unserved_commands AS
SELECT
    c.command_id,
    c.command_type,
    c.project_id,
    coalesce(
        c.queue_name,
        (
            SELECT o.queue_name FROM concord.runtime_operations AS o
            WHERE o.command_type = c.command_type
        ),
        'concord_default'
    ) AS queue_name,
    c.dbos_workflow_id IS NOT null AS handed_off,
    exists(
        SELECT 1 FROM concord.runtime_operations AS o
        WHERE o.command_type = c.command_type)
        AS operation_registered,
    coalesce(
        (
            SELECT max(e.created_at) FROM concord.domain_events AS e
            WHERE
                e.command_id = c.command_id AND e.event_type = 'command_status_changed'
                AND e.to_status = 'queued'
        ),
        c.created_at
    ) AS queued_since
FROM concord.commands AS c
WHERE
    c.status = 'queued'
    AND NOT EXISTS (
        SELECT 1 FROM concord.live_workers AS w
        WHERE c.command_type = any(w.operations)
    )
ORDER BY c.command_type, c.created_at, c.command_id;

COMMENT ON VIEW concord.unserved_commands IS
'Queued commands that no live worker can run: none has an operation for their type. They stay '
'queued (a worker without the operation lets them go) until a worker with it starts.';
COMMENT ON COLUMN concord.unserved_commands.command_id IS
'The command''s id.';
COMMENT ON COLUMN concord.unserved_commands.command_type IS
'Its type, which no live worker serves.';
COMMENT ON COLUMN concord.unserved_commands.project_id IS
'The project it belongs to.';
COMMENT ON COLUMN concord.unserved_commands.queue_name IS
'The queue it is (or will be) handed to.';
COMMENT ON COLUMN concord.unserved_commands.handed_off IS
'Whether a DBOS workflow is bound to it (false once a worker without the operation let it go).';
COMMENT ON COLUMN concord.unserved_commands.operation_registered IS
'Whether some worker ever registered an operation for its type (operation_catalog).';
COMMENT ON COLUMN concord.unserved_commands.queued_since IS
'When it last entered queued.';

-- Per type: what unserved_commands says, counted.
CREATE OR REPLACE VIEW concord.unserved_command_types AS
SELECT
    u.command_type,
    count(*)::integer AS queued,
    min(u.queued_since) AS oldest_queued_since,
    bool_or(u.operation_registered) AS operation_registered
FROM concord.unserved_commands AS u
GROUP BY u.command_type
ORDER BY u.command_type;

COMMENT ON VIEW concord.unserved_command_types IS
'Command types with queued commands and no live worker with their operation: start a worker that '
'loads the module registering it.';
COMMENT ON COLUMN concord.unserved_command_types.command_type IS
'The command type nobody live serves.';
COMMENT ON COLUMN concord.unserved_command_types.queued IS
'How many of its commands are queued.';
COMMENT ON COLUMN concord.unserved_command_types.oldest_queued_since IS
'When the longest-waiting of them entered queued.';
COMMENT ON COLUMN concord.unserved_command_types.operation_registered IS
'Whether some worker ever registered an operation for it (operation_catalog).';

-- Per queue: how much waits and how long, and who listens.
CREATE OR REPLACE VIEW concord.queue_depth AS
WITH queued AS (
    SELECT
        coalesce(
            c.queue_name,
            (
                SELECT o.queue_name FROM concord.runtime_operations AS o
                WHERE o.command_type = c.command_type
            ),
            'concord_default'
        ) AS queue_name,
        coalesce(
            (
                SELECT max(e.created_at) FROM concord.domain_events AS e
                WHERE
                    e.command_id = c.command_id AND e.event_type = 'command_status_changed'
                    AND e.to_status = 'queued'
            ),
            c.created_at
        ) AS queued_since
    FROM concord.commands AS c
    WHERE c.status = 'queued'
),

queues AS (
    SELECT q.queue_name FROM concord.runtime_queues AS q
    UNION
    SELECT queued.queue_name FROM queued
)

SELECT
    q.queue_name,
    (
        SELECT count(*) FROM queued
        WHERE queued.queue_name = q.queue_name
    )::integer AS queued,
    (
        SELECT min(queued.queued_since) FROM queued
        WHERE queued.queue_name = q.queue_name)
        AS oldest_queued_since,
    now() - (
        SELECT min(queued.queued_since) FROM queued
        WHERE queued.queue_name = q.queue_name)
        AS oldest_waiting_for,
    (
        SELECT count(*) FROM concord.live_workers AS w
        WHERE q.queue_name = any(w.queues))::integer
        AS live_workers
FROM queues AS q
ORDER BY q.queue_name;

COMMENT ON VIEW concord.queue_depth IS
'Each queue: how many commands wait on it (status queued), since when the oldest has waited, and '
'how many live workers listen to it.';
COMMENT ON COLUMN concord.queue_depth.queue_name IS
'The queue.';
COMMENT ON COLUMN concord.queue_depth.queued IS
'How many commands on it are queued (handed off or waiting for a dependency or a worker).';
COMMENT ON COLUMN concord.queue_depth.oldest_queued_since IS
'When the longest-waiting queued command entered queued; NULL when none waits.';
COMMENT ON COLUMN concord.queue_depth.oldest_waiting_for IS
'How long that command has waited, as of the start of the reading transaction.';
COMMENT ON COLUMN concord.queue_depth.live_workers IS
'How many live workers listen to the queue.';

-- Effects nothing is moving: executing for over a minute while the worker
-- that claimed their command's run is not live or the command no longer
-- runs (it failed, say, when DBOS gave up on its run), or planned over a minute
-- ago and never begun. Which worker claimed a run is in the audit trail (the
-- actor worker:<executor id> of the move into running).
CREATE OR REPLACE VIEW concord.stuck_effects AS
SELECT
    e.domain_effect_id,
    e.command_id,
    e.effect_type,
    e.status,
    e.executed_by_dbos_workflow_id,
    claim.executor_id,
    e.created_at,
    e.started_at,
    now() - coalesce(e.started_at, e.created_at) AS stuck_for,
    CASE
        WHEN e.status = 'planned' THEN 'planned and never begun'
        WHEN c.status NOT IN ('running', 'cancelling', 'compensating')
            THEN 'executing under a command no run drives (' || c.status || ')'
        ELSE 'executing with no live worker on its run'
    END AS why
FROM concord.domain_effects AS e
INNER JOIN concord.commands AS c ON e.command_id = c.command_id
LEFT JOIN LATERAL (
    SELECT substr(v.actor, 8) AS executor_id
    FROM concord.domain_events AS v
    WHERE
        v.command_id = e.command_id AND v.event_type = 'command_status_changed'
        AND v.to_status = 'running' AND starts_with(v.actor, 'worker:')
    ORDER BY v.event_seq DESC
    LIMIT 1
) AS claim ON true
WHERE
    (e.status = 'planned' AND e.created_at < now() - interval '1 minute')
    OR (
        e.status = 'executing' AND e.started_at < now() - interval '1 minute'
        AND (
            -- its command ended, or DBOS gave up on its run (runtime_reconcile
            -- failed it): nothing will complete the effect, live worker or not
            c.status NOT IN ('running', 'cancelling', 'compensating')
            OR NOT EXISTS (
                SELECT 1 FROM concord.live_workers AS w
                WHERE w.executor_id = claim.executor_id
            )
        )
    )
ORDER BY coalesce(e.started_at, e.created_at), e.domain_effect_id;

COMMENT ON VIEW concord.stuck_effects IS
'Effects nothing moves: executing for over a minute while the worker that claimed their '
'command''s run is not live or the command no longer runs (it failed, or ended), or planned '
'over a minute ago and never begun. Oldest first.';
COMMENT ON COLUMN concord.stuck_effects.domain_effect_id IS
'The effect''s id.';
COMMENT ON COLUMN concord.stuck_effects.command_id IS
'The command it belongs to.';
COMMENT ON COLUMN concord.stuck_effects.effect_type IS
'What kind of effect it is.';
COMMENT ON COLUMN concord.stuck_effects.status IS
'planned or executing.';
COMMENT ON COLUMN concord.stuck_effects.executed_by_dbos_workflow_id IS
'The DBOS workflow that began executing it (NULL while planned).';
COMMENT ON COLUMN concord.stuck_effects.executor_id IS
'The worker (executor id) that claimed the command''s latest run, from the audit trail; NULL '
'when no worker did.';
COMMENT ON COLUMN concord.stuck_effects.created_at IS
'When it was planned.';
COMMENT ON COLUMN concord.stuck_effects.started_at IS
'When it began executing.';
COMMENT ON COLUMN concord.stuck_effects.stuck_for IS
'How long since it began (or was planned), as of the start of the reading transaction.';
COMMENT ON COLUMN concord.stuck_effects.why IS
'planned and never begun, executing under a command no run drives (its status), or executing '
'with no live worker on its run.';
