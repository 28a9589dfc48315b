-- (h) Baseline batch: the raw writes of 100 submits in one statement: 100 command rows
-- and 100 event rows into the plain tables of baseline.sql.
WITH cmd AS (
    INSERT INTO bench.commands (
        command_type, requested_by, ingress, payload, context, status,
        idempotency_key, trace_id
    )
    SELECT
        'bench_ping', 'bench', 'api', '{"n": 1}', '{}', 'queued',
        format('batch:%s:%s', :client_id::int, gen_random_uuid()),
        'trace_' || replace(gen_random_uuid()::text, '-', '')
    FROM generate_series(1, 100)
    RETURNING command_id, command_type, ingress, idempotency_key, requested_by, trace_id
)
INSERT INTO bench.events (
    command_id, purpose, event_type, target_type, target_id, to_status, payload,
    actor, trace_id
)
SELECT
    cmd.command_id, 'audit', 'command_created', 'command', cmd.command_id::text, 'queued',
    jsonb_build_object(
        'command_type', cmd.command_type, 'ingress', cmd.ingress,
        'idempotency_key', cmd.idempotency_key
    ),
    cmd.requested_by, cmd.trace_id
FROM cmd;
