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

COMMENT ON COLUMN concord.commands_by_status.status IS
'The status name, a lowercase word.';

COMMENT ON COLUMN concord.commands_by_status.terminal IS
'True when no transition leaves this status, ever.';

COMMENT ON COLUMN concord.commands_by_status.commands IS
'How many commands are in this status now (0 when none).';

COMMENT ON COLUMN concord.commands_by_status.oldest_change IS
'The earliest last change (updated_at) of those commands; NULL when there are none.';

COMMENT ON COLUMN concord.commands_by_status.newest_change IS
'The latest last change (updated_at) of those commands; NULL when there are none.';

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

COMMENT ON COLUMN concord.recent_failures.command_id IS
'The command''s id; its first DBOS workflow id is derived from it.';

COMMENT ON COLUMN concord.recent_failures.command_type IS
'The command type it belongs to (command_types).';

COMMENT ON COLUMN concord.recent_failures.requested_by IS
'Who asked for the command.';

COMMENT ON COLUMN concord.recent_failures.error_class IS
'The class of the failure (error_classes): decides whether it may be retried.';

COMMENT ON COLUMN concord.recent_failures.error IS
'Why the command failed, in words.';

COMMENT ON COLUMN concord.recent_failures.error_detail IS
'Structured detail of the failure (every validation problem, for example).';

COMMENT ON COLUMN concord.recent_failures.failed_at IS
'When the command failed.';

COMMENT ON COLUMN concord.recent_failures.trace_id IS
'The trace id shared by every event of the command.';

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
    e.payload,
    e.asserted_by
FROM concord.domain_events AS e
WHERE e.purpose = 'audit'
ORDER BY e.event_seq;

COMMENT ON VIEW concord.command_audit IS
'Every audit event (purpose = audit) in order: who changed what, from what, to what, and why.';

COMMENT ON COLUMN concord.command_audit.event_seq IS
'A total order of all events (timelines sort by it).';

COMMENT ON COLUMN concord.command_audit.created_at IS
'When the event was recorded.';

COMMENT ON COLUMN concord.command_audit.command_id IS
'The command the event is about, if any.';

COMMENT ON COLUMN concord.command_audit.event_type IS
'What happened (status_changed, policies_evaluated, approval_resolved, ...).';

COMMENT ON COLUMN concord.command_audit.actor IS
'Who made the change (the principal, or the login for a direct write).';

COMMENT ON COLUMN concord.command_audit.from_status IS
'The status before a state change.';

COMMENT ON COLUMN concord.command_audit.to_status IS
'The status after a state change.';

COMMENT ON COLUMN concord.command_audit.reason IS
'Why the change was made, as its actor said.';

COMMENT ON COLUMN concord.command_audit.target_type IS
'The kind of row the event is about (command, effect, approval, agent_run, ...).';

COMMENT ON COLUMN concord.command_audit.target_id IS
'The id of that row.';

COMMENT ON COLUMN concord.command_audit.trace_id IS
'The trace id of the command or run.';

COMMENT ON COLUMN concord.command_audit.asserted_by IS
'The service that named the actor under an act-as grant; NULL when the actor spoke for itself.';

COMMENT ON COLUMN concord.command_audit.payload IS
'Structured detail of the event.';

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

COMMENT ON COLUMN concord.command_catalog.command_type IS
'The type''s identifier, named by every command of this type.';

COMMENT ON COLUMN concord.command_catalog.name IS
'A short human name for the type.';

COMMENT ON COLUMN concord.command_catalog.description IS
'What a command of this type asks for.';

COMMENT ON COLUMN concord.command_catalog.function_name IS
'The operation that executes the type, when it is not the type name itself.';

COMMENT ON COLUMN concord.command_catalog.ingress_types IS
'Where commands of this type may come from (api, webhook, schedule, agent, ...); empty means '
'anywhere.';

COMMENT ON COLUMN concord.command_catalog.required_inputs IS
'Payload fields a submission must carry.';

COMMENT ON COLUMN concord.command_catalog.payload_schema IS
'The JSON Schema every payload is validated against.';

COMMENT ON COLUMN concord.command_catalog.sync_allowed IS
'True when a caller may wait for a command of this type (spec 29): the worker that has its '
'operation runs it when the submitting transaction commits.';

COMMENT ON COLUMN concord.command_catalog.async_required IS
'True when a command must run on a worker (it is queued).';

COMMENT ON COLUMN concord.command_catalog.approval_required IS
'True when every command of the type needs an approval before it runs.';

COMMENT ON COLUMN concord.command_catalog.memory_write_possible IS
'True when running the type may write memories.';

COMMENT ON COLUMN concord.command_catalog.artifact_output_possible IS
'True when running the type may produce artifacts.';

COMMENT ON COLUMN concord.command_catalog.notification_required IS
'True when the type''s outcome must be notified.';

COMMENT ON COLUMN concord.command_catalog.policy_checks IS
'The policies evaluated for every command of this type, by name.';

COMMENT ON COLUMN concord.command_catalog.connector_requirements IS
'The connectors the type needs; an agent tool of this type needs them in its scope.';

COMMENT ON COLUMN concord.command_catalog.risk_level IS
'low, medium, high or critical: what a mistake would cost.';

COMMENT ON COLUMN concord.command_catalog.max_attempts IS
'How many times a run may be attempted (1 to 100).';

COMMENT ON COLUMN concord.command_catalog.default_cancellation_mode IS
'graceful or compensate_then_stop, unless a command says otherwise.';

COMMENT ON COLUMN concord.command_catalog.metadata IS
'Free-form facts about the type (a JSON object).';

COMMENT ON COLUMN concord.command_catalog.version IS
'1 at registration, one more per change.';

COMMENT ON COLUMN concord.command_catalog.updated_at IS
'When the type last changed.';
