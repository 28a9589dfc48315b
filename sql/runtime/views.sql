-- Views of the runtime for operators (spec 48).

CREATE OR REPLACE VIEW concord.runtime_queue_config AS
SELECT
    q.queue_name,
    q.worker_concurrency,
    q.global_concurrency,
    q.rate_limit,
    q.rate_period_sec,
    q.polling_interval_sec,
    q.description,
    q.updated_at
FROM concord.runtime_queues AS q;

COMMENT ON VIEW concord.runtime_queue_config IS
'The queues workers register in DBOS (spec 10, 83), with their concurrency, rate limits and '
'polling interval; change them with concord.register_queue.';

COMMENT ON COLUMN concord.runtime_queue_config.queue_name IS
'The queue''s name.';

COMMENT ON COLUMN concord.runtime_queue_config.worker_concurrency IS
'How many workflows one worker runs at once from this queue.';

COMMENT ON COLUMN concord.runtime_queue_config.global_concurrency IS
'How many run at once across all workers; NULL for no limit.';

COMMENT ON COLUMN concord.runtime_queue_config.rate_limit IS
'How many workflows may start per rate_period_sec; NULL for no limit.';

COMMENT ON COLUMN concord.runtime_queue_config.rate_period_sec IS
'The period of rate_limit, in seconds.';

COMMENT ON COLUMN concord.runtime_queue_config.polling_interval_sec IS
'How often a worker polls the queue, in seconds.';

COMMENT ON COLUMN concord.runtime_queue_config.description IS
'What the queue is for.';

COMMENT ON COLUMN concord.runtime_queue_config.updated_at IS
'When the queue was last configured.';

CREATE OR REPLACE VIEW concord.connector_catalog AS
SELECT
    c.connector_name,
    c.connector_type,
    c.capabilities,
    c.config,
    c.risk_level,
    c.description,
    c.updated_at
FROM concord.connectors AS c;

COMMENT ON VIEW concord.connector_catalog IS
'Connectors configured in the database (their configs hold secret references, never secrets).';

COMMENT ON COLUMN concord.connector_catalog.connector_name IS
'The connector''s name.';

COMMENT ON COLUMN concord.connector_catalog.connector_type IS
'Its implementation (http, postgres, notification, ...).';

COMMENT ON COLUMN concord.connector_catalog.capabilities IS
'What it can do (query, send_email, ...).';

COMMENT ON COLUMN concord.connector_catalog.config IS
'Its configuration, with env:// or file:// references for secrets.';

COMMENT ON COLUMN concord.connector_catalog.risk_level IS
'low, medium, high or critical.';

COMMENT ON COLUMN concord.connector_catalog.description IS
'What it connects to.';

COMMENT ON COLUMN concord.connector_catalog.updated_at IS
'When it last changed.';

CREATE OR REPLACE VIEW concord.schedule_catalog AS
SELECT
    s.schedule_name,
    s.cron,
    s.command_type,
    s.payload_template,
    s.queue_name,
    s.enabled,
    s.updated_at
FROM concord.schedules AS s;

COMMENT ON VIEW concord.schedule_catalog IS 'Schedules (spec 84) that workers apply with DBOS.';

COMMENT ON COLUMN concord.schedule_catalog.schedule_name IS
'The schedule''s name.';

COMMENT ON COLUMN concord.schedule_catalog.cron IS
'When it fires: five cron fields, six with seconds first, or an @alias (as DBOS''s '
'scheduler reads them).';

COMMENT ON COLUMN concord.schedule_catalog.command_type IS
'The command type each tick submits.';

COMMENT ON COLUMN concord.schedule_catalog.payload_template IS
'The payload of each tick''s command.';

COMMENT ON COLUMN concord.schedule_catalog.queue_name IS
'The queue the schedule runs on.';

COMMENT ON COLUMN concord.schedule_catalog.enabled IS
'False to pause it.';

COMMENT ON COLUMN concord.schedule_catalog.updated_at IS
'When it last changed.';

CREATE OR REPLACE VIEW concord.operation_catalog AS
SELECT
    o.command_type,
    o.queue_name,
    o.function_name,
    o.produces,
    o.requires_compensation,
    o.compensation,
    o.retry_policy,
    o.registered_by,
    o.application_version,
    o.registered_at
FROM concord.runtime_operations AS o;

COMMENT ON VIEW concord.operation_catalog IS
'The operation catalog as the workers last registered it: the queue each command type runs on.';

COMMENT ON COLUMN concord.operation_catalog.command_type IS
'The command type the operation executes.';

COMMENT ON COLUMN concord.operation_catalog.queue_name IS
'The queue its workflows run on.';

COMMENT ON COLUMN concord.operation_catalog.function_name IS
'The Python function that implements it.';

COMMENT ON COLUMN concord.operation_catalog.produces IS
'The effect types it may produce.';

COMMENT ON COLUMN concord.operation_catalog.requires_compensation IS
'True when a cancelled or failed run must be compensated.';

COMMENT ON COLUMN concord.operation_catalog.compensation IS
'The operation that compensates it.';

COMMENT ON COLUMN concord.operation_catalog.retry_policy IS
'How failed attempts are retried (a JSON object).';

COMMENT ON COLUMN concord.operation_catalog.registered_by IS
'The worker that registered it.';

COMMENT ON COLUMN concord.operation_catalog.application_version IS
'The worker''s application version at registration.';

COMMENT ON COLUMN concord.operation_catalog.registered_at IS
'When it was registered.';

CREATE OR REPLACE VIEW concord.error_taxonomy AS
SELECT
    e.error_class,
    e.retryable,
    e.description
FROM concord.error_classes AS e;

COMMENT ON VIEW concord.error_taxonomy IS
'The error classes of spec 32 and whether each is retried.';

COMMENT ON COLUMN concord.error_taxonomy.error_class IS
'The class name (transient_connector_error, validation_error, ...).';

COMMENT ON COLUMN concord.error_taxonomy.retryable IS
'True when a failure of this class may be retried.';

COMMENT ON COLUMN concord.error_taxonomy.description IS
'What the class means.';

CREATE OR REPLACE VIEW concord.connector_activity AS
SELECT
    i.connector_invocation_id,
    i.command_id,
    i.domain_effect_id,
    i.connector_name,
    i.capability,
    i.side_effect,
    i.idempotency_key,
    i.attempt,
    i.status,
    i.input_hash,
    i.request_payload,
    i.output_summary,
    i.error,
    i.error_class,
    i.latency_ms,
    i.dbos_workflow_id,
    i.executor_id,
    i.trace_id,
    i.created_at
FROM concord.connector_invocations AS i;

COMMENT ON VIEW concord.connector_activity IS
'Every connector call (spec 34, 87.3), with redacted input, output summary, status, latency and '
'error.';

COMMENT ON COLUMN concord.connector_activity.connector_invocation_id IS
'The invocation''s id.';

COMMENT ON COLUMN concord.connector_activity.command_id IS
'The command whose run made the call.';

COMMENT ON COLUMN concord.connector_activity.domain_effect_id IS
'The effect the call performed, if any.';

COMMENT ON COLUMN concord.connector_activity.connector_name IS
'The connector called.';

COMMENT ON COLUMN concord.connector_activity.capability IS
'The capability used.';

COMMENT ON COLUMN concord.connector_activity.side_effect IS
'True when the call changes something outside Concord.';

COMMENT ON COLUMN concord.connector_activity.idempotency_key IS
'The key the call was made under.';

COMMENT ON COLUMN concord.connector_activity.attempt IS
'Which attempt this was (1 for the first).';

COMMENT ON COLUMN concord.connector_activity.status IS
'succeeded or failed.';

COMMENT ON COLUMN concord.connector_activity.input_hash IS
'A digest of the input.';

COMMENT ON COLUMN concord.connector_activity.request_payload IS
'The input, with secrets redacted.';

COMMENT ON COLUMN concord.connector_activity.output_summary IS
'A summary of the answer, with secrets redacted.';

COMMENT ON COLUMN concord.connector_activity.error IS
'Why the call failed, in words.';

COMMENT ON COLUMN concord.connector_activity.error_class IS
'The class of the failure (error_classes).';

COMMENT ON COLUMN concord.connector_activity.latency_ms IS
'How long the call took, in milliseconds.';

COMMENT ON COLUMN concord.connector_activity.dbos_workflow_id IS
'The workflow that made the call.';

COMMENT ON COLUMN concord.connector_activity.executor_id IS
'The DBOS executor (worker) that made the call.';

COMMENT ON COLUMN concord.connector_activity.trace_id IS
'The command''s trace id.';

COMMENT ON COLUMN concord.connector_activity.created_at IS
'When the call was recorded.';

CREATE OR REPLACE VIEW concord.notification_inbox AS
SELECT
    n.notification_id,
    n.channel,
    n.recipient,
    n.subject,
    n.body,
    n.metadata,
    n.command_id,
    n.idempotency_key,
    n.created_at,
    n.read_at
FROM concord.notifications AS n;

COMMENT ON VIEW concord.notification_inbox IS 'App notifications (and sent emails), newest last.';

COMMENT ON COLUMN concord.notification_inbox.notification_id IS
'The notification''s id.';

COMMENT ON COLUMN concord.notification_inbox.channel IS
'app or email.';

COMMENT ON COLUMN concord.notification_inbox.recipient IS
'Who it is for.';

COMMENT ON COLUMN concord.notification_inbox.subject IS
'Its subject line.';

COMMENT ON COLUMN concord.notification_inbox.body IS
'Its text.';

COMMENT ON COLUMN concord.notification_inbox.metadata IS
'Structured detail (a JSON object).';

COMMENT ON COLUMN concord.notification_inbox.command_id IS
'The command it is about, if any.';

COMMENT ON COLUMN concord.notification_inbox.idempotency_key IS
'The key it was stored under: storing again returns it.';

COMMENT ON COLUMN concord.notification_inbox.created_at IS
'When it was stored.';

COMMENT ON COLUMN concord.notification_inbox.read_at IS
'When the recipient read it.';
