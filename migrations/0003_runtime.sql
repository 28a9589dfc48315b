-- 0003 runtime: the hand-off of runnable commands to DBOS, the queue table,
-- the operation catalog as the workers registered it, connectors and their
-- invocations, durable app notifications and schedules.
-- Spec sections 10, 18-19, 30-35, 41, 74-95.
--
-- Forward-only: once released this file is never edited; change = new file.

DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'concord_worker') THEN
        BEGIN
            CREATE ROLE concord_worker NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END
$roles$;

-- Classes the runtime writes.
INSERT INTO concord.error_classes (error_class, retryable, description) VALUES
('internal_error', false, 'the operation raised an error nobody classified (a bug)'),
('compensation_failed', false, 'a compensation kept failing; the chain halted')
ON CONFLICT (error_class) DO NOTHING;

-- ---------------------------------------------------------------------------
-- Queues (spec 10, 83): DBOS runs them; this table is their configuration.
-- ---------------------------------------------------------------------------
CREATE TABLE concord.runtime_queues (
    queue_name text PRIMARY KEY
    CONSTRAINT queue_name_is_an_identifier
    CHECK (queue_name ~ '^[a-z][a-z0-9_]*$' AND length(queue_name) <= 63),
    worker_concurrency integer NULL
    CONSTRAINT worker_concurrency_is_positive CHECK (worker_concurrency > 0),
    global_concurrency integer NULL
    CONSTRAINT global_concurrency_is_positive CHECK (global_concurrency > 0),
    rate_limit integer NULL CONSTRAINT rate_limit_is_positive CHECK (rate_limit > 0),
    rate_period_sec double precision NULL
    CONSTRAINT rate_period_is_positive CHECK (rate_period_sec > 0),
    polling_interval_sec double precision NOT NULL DEFAULT 0.05
    CONSTRAINT polling_interval_is_sane CHECK (polling_interval_sec BETWEEN 0.001 AND 60),
    description text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rate_limit_has_a_period CHECK ((rate_limit IS null) = (rate_period_sec IS null))
);

INSERT INTO concord.runtime_queues (
    queue_name, worker_concurrency, polling_interval_sec, description
) VALUES
('concord_default', 64, 0.02, 'commands whose operation names no other queue'),
('connector_calls', 32, 0.02, 'operations whose effects call connectors'),
('agent_runs', 8, 0.05, 'agent runs'),
('swarm_children', 16, 0.05, 'spawned sub-agents'),
('notifications', 16, 0.05, 'notifications'),
('scheduled_maintenance', 4, 0.5, 'commands submitted by schedules');

-- ---------------------------------------------------------------------------
-- Commands: the run each hand-off started. dbos_workflow_id (0001) is the
-- workflow of the current run; run_seq counts runs (1 for the first).
-- ---------------------------------------------------------------------------
ALTER TABLE concord.commands
ADD COLUMN run_seq integer NOT NULL DEFAULT 0
CONSTRAINT run_seq_is_not_negative CHECK (run_seq >= 0),
ADD COLUMN queue_name text NULL;

-- ---------------------------------------------------------------------------
-- The operation catalog as workers loaded it (spec 31.1): which queue a type
-- runs on, what it produces, its compensation and its retry policy.
-- ---------------------------------------------------------------------------
CREATE TABLE concord.runtime_operations (
    command_type text PRIMARY KEY REFERENCES concord.command_types (command_type),
    queue_name text NOT NULL REFERENCES concord.runtime_queues (queue_name),
    function_name text NOT NULL
    CONSTRAINT function_name_is_not_blank CHECK (btrim(function_name) <> ''),
    produces text[] NOT NULL DEFAULT '{}',
    requires_compensation boolean NOT NULL DEFAULT false,
    compensation text NULL,
    retry_policy jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT retry_policy_is_an_object CHECK (jsonb_typeof(retry_policy) = 'object'),
    registered_by text NOT NULL,
    application_version text NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------------------
-- Connectors (spec 18-19, 34) and their invocations (spec 87.3).
-- ---------------------------------------------------------------------------
CREATE TABLE concord.connectors (
    connector_name text PRIMARY KEY
    CONSTRAINT connector_name_is_an_identifier
    CHECK (connector_name ~ '^[a-z][a-z0-9_.-]*$' AND length(connector_name) <= 63),
    connector_type text NOT NULL
    CONSTRAINT connector_type_is_an_identifier CHECK (connector_type ~ '^[a-z][a-z0-9_.-]*$'),
    capabilities text[] NOT NULL DEFAULT '{}',
    config jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT config_is_an_object CHECK (jsonb_typeof(config) = 'object'),
    risk_level text NOT NULL DEFAULT 'low'
    CONSTRAINT risk_level_is_known CHECK (risk_level IN ('low', 'medium', 'high', 'critical')),
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE concord.connector_invocations (
    connector_invocation_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    command_id uuid NOT NULL REFERENCES concord.commands (command_id),
    domain_effect_id uuid NULL REFERENCES concord.domain_effects (domain_effect_id),
    connector_name text NOT NULL
    CONSTRAINT connector_name_is_not_blank CHECK (btrim(connector_name) <> ''),
    capability text NOT NULL CONSTRAINT capability_is_not_blank CHECK (btrim(capability) <> ''),
    side_effect boolean NOT NULL DEFAULT true,
    idempotency_key text NULL,
    attempt integer NOT NULL DEFAULT 1 CONSTRAINT attempt_is_positive CHECK (attempt > 0),
    status text NOT NULL CONSTRAINT status_is_known CHECK (status IN ('succeeded', 'failed')),
    input_hash text NOT NULL,
    request_payload jsonb NOT NULL DEFAULT '{}',
    output_summary jsonb NULL,
    error text NULL,
    error_class text NULL REFERENCES concord.error_classes (error_class),
    latency_ms double precision NOT NULL CONSTRAINT latency_is_not_negative CHECK (latency_ms >= 0),
    dbos_workflow_id text NULL,
    executor_id text NULL,
    trace_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT failures_are_classified CHECK ((status = 'failed') = (error_class IS NOT null))
);

CREATE INDEX connector_invocations_command_idx
ON concord.connector_invocations (command_id, created_at);
CREATE INDEX connector_invocations_effect_idx ON concord.connector_invocations (domain_effect_id)
WHERE domain_effect_id IS NOT null;

-- ---------------------------------------------------------------------------
-- App notifications, stored durably (the notification connector).
-- ---------------------------------------------------------------------------
CREATE TABLE concord.notifications (
    notification_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    channel text NOT NULL CONSTRAINT channel_is_known CHECK (channel IN ('app', 'email')),
    recipient text NOT NULL CONSTRAINT recipient_is_not_blank CHECK (btrim(recipient) <> ''),
    subject text NOT NULL DEFAULT '',
    body text NOT NULL DEFAULT '',
    metadata jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT metadata_is_an_object CHECK (jsonb_typeof(metadata) = 'object'),
    command_id uuid NULL REFERENCES concord.commands (command_id),
    idempotency_key text NULL CONSTRAINT notification_idempotency_key_is_unique UNIQUE
    CONSTRAINT notification_idempotency_key_is_not_blank CHECK (idempotency_key <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at timestamptz NULL
);

CREATE INDEX notifications_recipient_idx ON concord.notifications (recipient, created_at DESC);

-- ---------------------------------------------------------------------------
-- Schedules (spec 84): data the workers apply with DBOS's schedule API.
-- ---------------------------------------------------------------------------
CREATE TABLE concord.schedules (
    schedule_name text PRIMARY KEY
    CONSTRAINT schedule_name_is_an_identifier
    CHECK (schedule_name ~ '^[a-z][a-z0-9_.-]*$' AND length(schedule_name) <= 100),
    cron text NOT NULL
    CONSTRAINT cron_has_five_or_six_fields CHECK (cron ~ '^\S+(\s+\S+){4,5}$'),
    command_type text NOT NULL REFERENCES concord.command_types (command_type),
    payload_template jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT payload_template_is_an_object CHECK (jsonb_typeof(payload_template) = 'object'),
    queue_name text NOT NULL DEFAULT 'scheduled_maintenance'
    REFERENCES concord.runtime_queues (queue_name),
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The maintenance command behind the expire_approvals schedule.
INSERT INTO concord.command_types (command_type, name, description, async_required, risk_level)
VALUES (
    'concord.expire_approvals',
    'Expire approvals',
    'Expires pending approvals whose expires_at has passed (the expire_approvals schedule)',
    true,
    'low'
)
ON CONFLICT (command_type) DO NOTHING;

INSERT INTO concord.schedules (schedule_name, cron, command_type, payload_template)
VALUES ('expire_approvals', '0 * * * * *', 'concord.expire_approvals', '{}')
ON CONFLICT (schedule_name) DO NOTHING;
