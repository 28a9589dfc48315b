-- (b) Baseline: the raw writes of a submit, in one statement (so one round trip and one
-- implicit transaction, like submit.sql): a command row and an event row into plain
-- tables shaped like concord.commands and concord.domain_events. No validation, no
-- state machine, no triggers, no foreign keys: only each table's primary key.
WITH cmd AS (
    INSERT INTO bench.commands (
        command_type, requested_by, ingress, payload, context, status,
        idempotency_key, trace_id
    ) VALUES (
        'bench_ping', 'bench', 'api', '{"n": 1}', '{}', 'queued',
        format('bench:%s:%s', :client_id::int, gen_random_uuid()),
        'trace_' || replace(gen_random_uuid()::text, '-', '')
    )
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
