-- Views of commands for operators: psql and dashboards need no Python (spec 48).

-- Every status with how many commands are in it now (zero included).
CREATE OR REPLACE VIEW concord.commands_by_status AS
SELECT
    s.status,
    s.terminal,
    count(c.command_id) AS commands,
    min(c.updated_at) AS oldest_change,
    max(c.updated_at) AS newest_change
FROM concord.command_statuses AS s
LEFT JOIN concord.commands AS c ON s.status = c.status
GROUP BY s.status, s.terminal;

COMMENT ON VIEW concord.commands_by_status IS
'Each command status with the number of commands in it and their oldest and newest change.';

-- Failed commands, newest first, with their error class.
CREATE OR REPLACE VIEW concord.recent_failures AS
SELECT
    c.command_id,
    c.command_type,
    c.requested_by,
    c.error_class,
    c.error,
    c.error_detail,
    c.completed_at AS failed_at,
    c.trace_id
FROM concord.commands AS c
WHERE c.status = 'failed'
ORDER BY c.completed_at DESC, c.command_id ASC;

COMMENT ON VIEW concord.recent_failures IS
'Commands now failed, newest first, with error_class, error and its details.';

-- The audit trail of every command, oldest first.
CREATE OR REPLACE VIEW concord.command_audit AS
SELECT
    e.event_seq,
    e.created_at,
    e.command_id,
    e.event_type,
    e.actor,
    e.from_status,
    e.to_status,
    e.reason,
    e.target_type,
    e.target_id,
    e.trace_id,
    e.payload
FROM concord.domain_events AS e
WHERE e.purpose = 'audit'
ORDER BY e.event_seq;

COMMENT ON VIEW concord.command_audit IS
'Every audit event (purpose = audit) in order: who changed what, from what, to what, and why.';

-- The task catalog (spec 13.2), for operators and callers deciding what to submit.
CREATE OR REPLACE VIEW concord.command_catalog AS
SELECT
    t.command_type,
    t.name,
    t.description,
    t.function_name,
    t.ingress_types,
    t.required_inputs,
    t.payload_schema,
    t.sync_allowed,
    t.async_required,
    t.approval_required,
    t.memory_write_possible,
    t.artifact_output_possible,
    t.notification_required,
    t.policy_checks,
    t.connector_requirements,
    t.risk_level,
    t.max_attempts,
    t.default_cancellation_mode,
    t.metadata,
    t.version,
    t.updated_at
FROM concord.command_types AS t
ORDER BY t.command_type;

COMMENT ON VIEW concord.command_catalog IS
'Every registered command type with its current definition and version.';
