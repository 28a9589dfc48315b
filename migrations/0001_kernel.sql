-- 0001 kernel: commands, their state machine (as data), command types,
-- dependencies, domain effects and the append-only domain event log.
-- Spec sections 9, 11, 12, 13, 25, 30, 88.
--
-- Forward-only: once released this file is never edited; change = new file.
-- Functions, triggers, views and grants live in sql/ and are re-applied
-- after every migration run.

CREATE EXTENSION IF NOT EXISTS plpython3u;

CREATE SCHEMA IF NOT EXISTS concord;

-- Roles are cluster-wide; create them only when missing. Two installs into
-- different databases of one cluster may race here (the installer's lock is
-- per database): the loser finds the role made and moves on.
DO $roles$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['concord_app', 'concord_reader'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = role_name) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;
END
$roles$;

-- ---------------------------------------------------------------------------
-- The command state machine, stored as data (spec 12, plus spec 30's
-- cancelling state). Changed only by migrations; a trigger in sql/ refuses
-- any other write.
-- ---------------------------------------------------------------------------
CREATE TABLE concord.command_statuses (
    status text PRIMARY KEY
    CONSTRAINT status_is_a_lowercase_word CHECK (status ~ '^[a-z_]+$'),
    -- terminal: no transition leaves it, ever
    terminal boolean NOT NULL,
    -- completes: entering it stamps commands.completed_at
    completes boolean NOT NULL,
    description text NOT NULL
);

CREATE TABLE concord.command_transitions (
    from_status text NOT NULL REFERENCES concord.command_statuses (status),
    to_status text NOT NULL REFERENCES concord.command_statuses (status),
    -- reopens: a retry edge (failed -> queued). Dependents do not wait
    -- for a parent to be retried: a failed parent settles them.
    reopens boolean NOT NULL DEFAULT false,
    PRIMARY KEY (from_status, to_status),
    CONSTRAINT a_transition_changes_the_status CHECK (from_status <> to_status)
);

INSERT INTO concord.command_statuses (status, terminal, completes, description) VALUES
('created', false, false, 'recorded, not yet validated'),
('validated', false, false, 'payload validated'),
('waiting_for_input', false, false, 'waiting for a person to supply missing input'),
('waiting_for_approval', false, false, 'waiting for an approval decision'),
('approved', false, false, 'approved, not yet queued'),
('queued', false, false, 'runnable, waiting for a worker'),
('running', false, false, 'executing'),
('blocked', false, false, 'execution paused on something outside the command'),
('succeeded', true, true, 'finished successfully'),
('failed', false, true, 'finished with an error; may be retried or compensated'),
('cancelling', false, false, 'cancellation requested while running'),
('cancelled', true, true, 'cancelled'),
('expired', true, true, 'expired before it could run'),
('compensating', false, false, 'running compensations for completed effects'),
('compensated', false, true, 'compensations done; final unless part of a cancellation');

INSERT INTO concord.command_transitions (from_status, to_status, reopens) VALUES
('created', 'validated', false),
('created', 'failed', false),
('created', 'cancelled', false),
('validated', 'waiting_for_input', false),
('validated', 'waiting_for_approval', false),
('validated', 'queued', false),
('validated', 'running', false),
('validated', 'failed', false),
('validated', 'cancelled', false),
('waiting_for_input', 'validated', false),
('waiting_for_input', 'cancelled', false),
('waiting_for_input', 'expired', false),
('waiting_for_approval', 'approved', false),
('waiting_for_approval', 'cancelled', false),
('waiting_for_approval', 'expired', false),
('waiting_for_approval', 'failed', false),
('approved', 'queued', false),
('approved', 'running', false),
('approved', 'cancelled', false),
('queued', 'running', false),
('queued', 'cancelled', false),
('queued', 'failed', false),
('running', 'succeeded', false),
('running', 'failed', false),
('running', 'cancelled', false),
('running', 'blocked', false),
('running', 'cancelling', false),
('blocked', 'queued', false),
('blocked', 'running', false),
('blocked', 'failed', false),
('blocked', 'cancelled', false),
('blocked', 'cancelling', false),
('failed', 'queued', true),
('failed', 'compensating', false),
('failed', 'cancelled', false),
('cancelling', 'cancelled', false),
('cancelling', 'compensating', false),
('compensating', 'compensated', false),
('compensating', 'failed', false),
('compensated', 'cancelled', false);

-- ---------------------------------------------------------------------------
-- The task catalog (spec 13.2).
-- ---------------------------------------------------------------------------
CREATE TABLE concord.command_types (
    command_type text PRIMARY KEY
    CONSTRAINT command_type_is_an_identifier
    CHECK (command_type ~ '^[a-z][a-z0-9_.:-]*$' AND length(command_type) <= 128),
    name text NOT NULL CONSTRAINT name_is_not_blank CHECK (btrim(name) <> ''),
    description text NOT NULL DEFAULT '',
    function_name text NULL,
    ingress_types text[] NOT NULL DEFAULT '{}',
    required_inputs text[] NOT NULL DEFAULT '{}',
    payload_schema jsonb NOT NULL DEFAULT '{}',
    sync_allowed boolean NOT NULL DEFAULT false,
    async_required boolean NOT NULL DEFAULT false,
    approval_required boolean NOT NULL DEFAULT false,
    memory_write_possible boolean NOT NULL DEFAULT false,
    artifact_output_possible boolean NOT NULL DEFAULT false,
    notification_required boolean NOT NULL DEFAULT false,
    policy_checks text[] NOT NULL DEFAULT '{}',
    connector_requirements text[] NOT NULL DEFAULT '{}',
    risk_level text NOT NULL DEFAULT 'low'
    CONSTRAINT risk_level_is_known
    CHECK (risk_level IN ('low', 'medium', 'high', 'critical')),
    max_attempts integer NOT NULL DEFAULT 3
    CONSTRAINT max_attempts_is_between_1_and_100 CHECK (max_attempts BETWEEN 1 AND 100),
    default_cancellation_mode text NOT NULL DEFAULT 'graceful'
    CONSTRAINT default_cancellation_mode_is_known
    CHECK (default_cancellation_mode IN ('graceful', 'compensate_then_stop')),
    metadata jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT metadata_is_an_object CHECK (jsonb_typeof(metadata) = 'object'),
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payload_schema_is_an_object_or_boolean
    CHECK (jsonb_typeof(payload_schema) IN ('object', 'boolean')),
    CONSTRAINT lists_hold_no_nulls CHECK (
        array_position(ingress_types, null) IS null
        AND array_position(required_inputs, null) IS null
        AND array_position(policy_checks, null) IS null
        AND array_position(connector_requirements, null) IS null
    )
);

-- ---------------------------------------------------------------------------
-- Commands (spec 9, 88.3) plus trace_id, error_class, error_detail and the
-- cancellation request of spec 30.
-- ---------------------------------------------------------------------------
CREATE TABLE concord.commands (
    command_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    command_type text NOT NULL REFERENCES concord.command_types (command_type),
    requested_by text NOT NULL
    CONSTRAINT requested_by_is_not_blank CHECK (btrim(requested_by) <> ''),
    ingress text NOT NULL CONSTRAINT ingress_is_not_blank CHECK (btrim(ingress) <> ''),
    payload jsonb NOT NULL DEFAULT '{}',
    context jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT context_is_an_object CHECK (jsonb_typeof(context) = 'object'),
    -- No foreign key to command_statuses: the state-machine triggers admit
    -- only 'created' on insert and only command_transitions edges (whose ends
    -- are foreign keys) on update. A foreign key would share-lock the same
    -- status row from every concurrent write (MultiXact churn).
    status text NOT NULL DEFAULT 'created',
    cancellation_mode text NOT NULL DEFAULT 'graceful'
    CONSTRAINT cancellation_mode_is_known
    CHECK (cancellation_mode IN ('graceful', 'compensate_then_stop')),
    idempotency_key text NULL
    CONSTRAINT idempotency_key_is_unique UNIQUE
    CONSTRAINT idempotency_key_is_not_blank CHECK (idempotency_key <> ''),
    dbos_workflow_id text NULL,
    trace_id text NOT NULL CONSTRAINT trace_id_is_not_blank CHECK (trace_id <> ''),
    result jsonb NULL,
    error text NULL,
    error_class text NULL,
    error_detail jsonb NULL,
    cancellation_requested_at timestamptz NULL,
    cancellation_requested_by text NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz NULL,
    CONSTRAINT cancellation_request_names_who_and_when
    CHECK ((cancellation_requested_at IS null) = (cancellation_requested_by IS null)),
    CONSTRAINT updated_at_is_not_before_created_at CHECK (updated_at >= created_at)
);

CREATE INDEX commands_status_updated_at_idx ON concord.commands (status, updated_at);
-- Partial: most commands are bound to a workflow only later, if ever.
CREATE UNIQUE INDEX commands_dbos_workflow_id_key ON concord.commands (dbos_workflow_id)
WHERE dbos_workflow_id IS NOT null;

-- ---------------------------------------------------------------------------
-- Fan-in dependencies (spec 13.4). A child waits for every parent to reach
-- required_status.
-- ---------------------------------------------------------------------------
CREATE TABLE concord.command_dependencies (
    child_command_id uuid NOT NULL REFERENCES concord.commands (command_id),
    parent_command_id uuid NOT NULL REFERENCES concord.commands (command_id),
    required_status text NOT NULL DEFAULT 'succeeded'
    REFERENCES concord.command_statuses (status),
    propagate_cancellation boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (child_command_id, parent_command_id),
    CONSTRAINT a_command_cannot_depend_on_itself CHECK (child_command_id <> parent_command_id)
);

CREATE INDEX command_dependencies_parent_idx
ON concord.command_dependencies (parent_command_id);

-- One row. Every new dependency edge updates it, which serialises edge
-- insertions: two transactions adding A->B and B->A cannot both commit,
-- whatever their isolation level.
CREATE TABLE concord.dependency_graph_lock (
    singleton boolean PRIMARY KEY DEFAULT true
    CONSTRAINT only_one_row CHECK (singleton),
    edges_added bigint NOT NULL DEFAULT 0
);

INSERT INTO concord.dependency_graph_lock (singleton, edges_added) VALUES (true, 0);

-- ---------------------------------------------------------------------------
-- Domain effects (spec 9, 13.5): planned -> executing -> succeeded | failed.
-- ---------------------------------------------------------------------------
CREATE TABLE concord.effect_statuses (
    status text PRIMARY KEY,
    terminal boolean NOT NULL,
    description text NOT NULL
);

CREATE TABLE concord.effect_transitions (
    from_status text NOT NULL REFERENCES concord.effect_statuses (status),
    to_status text NOT NULL REFERENCES concord.effect_statuses (status),
    PRIMARY KEY (from_status, to_status),
    CONSTRAINT an_effect_transition_changes_the_status CHECK (from_status <> to_status)
);

INSERT INTO concord.effect_statuses (status, terminal, description) VALUES
('planned', false, 'recorded before execution'),
('executing', false, 'handed to a runtime step'),
('succeeded', true, 'the side effect happened'),
('failed', true, 'the side effect did not happen or could not be confirmed');

INSERT INTO concord.effect_transitions (from_status, to_status) VALUES
('planned', 'executing'),
('executing', 'succeeded'),
('executing', 'failed');

CREATE TABLE concord.domain_effects (
    domain_effect_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    command_id uuid NOT NULL REFERENCES concord.commands (command_id),
    effect_type text NOT NULL
    CONSTRAINT effect_type_is_not_blank CHECK (btrim(effect_type) <> ''),
    effect_payload jsonb NOT NULL DEFAULT '{}',
    idempotency_key text NULL
    CONSTRAINT effect_idempotency_key_is_unique UNIQUE
    CONSTRAINT effect_idempotency_key_is_not_blank CHECK (idempotency_key <> ''),
    -- checked by the effect triggers against effect_transitions (see commands.status)
    status text NOT NULL DEFAULT 'planned',
    executed_by_dbos_workflow_id text NULL,
    result jsonb NULL,
    error text NULL,
    error_class text NULL,
    compensates_effect_id uuid NULL REFERENCES concord.domain_effects (domain_effect_id),
    declared_compensation text NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz NULL,
    completed_at timestamptz NULL,
    CONSTRAINT an_effect_does_not_compensate_itself
    CHECK (compensates_effect_id <> domain_effect_id),
    CONSTRAINT executing_effects_name_their_workflow
    CHECK (status = 'planned' OR executed_by_dbos_workflow_id IS NOT null),
    CONSTRAINT failed_effects_are_classified
    CHECK (status <> 'failed' OR error_class IS NOT null)
);

CREATE INDEX domain_effects_command_idx ON concord.domain_effects (command_id);
CREATE INDEX domain_effects_status_idx ON concord.domain_effects (status);
CREATE INDEX domain_effects_compensates_idx ON concord.domain_effects (compensates_effect_id)
WHERE compensates_effect_id IS NOT null;

-- ---------------------------------------------------------------------------
-- One append-only event table (spec 25): purpose 'event' | 'audit' |
-- 'agent_step'. event_seq gives a total order for timelines.
-- ---------------------------------------------------------------------------
CREATE TABLE concord.domain_events (
    event_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- unique by construction (identity, always generated); ordered timelines
    -- use domain_events_command_idx
    event_seq bigint GENERATED ALWAYS AS IDENTITY,
    command_id uuid NULL REFERENCES concord.commands (command_id),
    -- foreign keys for agent_run_id / swarm_run_id arrive with the agent tables
    agent_run_id uuid NULL,
    swarm_run_id uuid NULL,
    purpose text NOT NULL
    CONSTRAINT purpose_is_known CHECK (purpose IN ('event', 'audit', 'agent_step')),
    event_type text NOT NULL
    CONSTRAINT event_type_is_not_blank CHECK (btrim(event_type) <> ''),
    target_type text NULL,
    target_id text NULL,
    from_status text NULL,
    to_status text NULL,
    reason text NULL,
    payload jsonb NOT NULL DEFAULT '{}',
    actor text NOT NULL CONSTRAINT actor_is_not_blank CHECK (btrim(actor) <> ''),
    trace_id text NOT NULL,
    step_index integer NULL,
    tool_name text NULL,
    latency_ms integer NULL,
    token_usage jsonb NULL,
    cost_units numeric NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX domain_events_command_idx ON concord.domain_events (command_id, event_seq);
CREATE INDEX domain_events_agent_idx ON concord.domain_events (agent_run_id)
WHERE agent_run_id IS NOT null;
-- No index on purpose alone (three values, most rows 'audit') nor a second
-- (command_id, created_at) one: domain_events_command_idx serves timelines and
-- per-command audit queries, and every index is paid on each audited change.
