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

CREATE OR REPLACE VIEW concord.error_taxonomy AS
SELECT
    e.error_class,
    e.retryable,
    e.description
FROM concord.error_classes AS e;

COMMENT ON VIEW concord.error_taxonomy IS
'The error classes of spec 32 and whether each is retried.';

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
