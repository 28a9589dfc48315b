-- 0004 agents: swarm runs, agent runs, invocations, steps and messages (spec
-- 57), their state machines as data (spec 58), the tool catalog (spec 20),
-- memory (spec 23, 61) and artifacts (spec 24, 63); the concord_agent role.
-- Spec sections 16-17, 20, 23-24, 28, 52-68, 71, 85, 94.
--
-- Forward-only: once released this file is never edited; change = new file.
-- The rules (scope subsets, limits, transitions, append-only) are triggers in
-- sql/85_agents.sql, sql/86_memory.sql and sql/87_artifacts.sql; the
-- constraints here are their backstop.

DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'concord_agent') THEN
        BEGIN
            CREATE ROLE concord_agent NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END
$roles$;

-- A list of names: no NULL, no blank, no duplicate element. Scopes are typed
-- values, so a NULL can never slip through a <@ test.
CREATE FUNCTION concord._is_name_list(names text[])
RETURNS boolean
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = concord, pg_temp
AS $$
    SELECT names IS NOT NULL
       AND array_position(names, NULL) IS NULL
       AND NOT EXISTS (SELECT 1 FROM unnest(names) AS n (name)
                       WHERE n.name !~ '^[A-Za-z][A-Za-z0-9_.:-]*$' OR length(n.name) > 128)
       AND cardinality(names) = (SELECT count(DISTINCT n.name) FROM unnest(names) AS n (name))
$$;

-- A memory scope (spec 61.2): {} (no memory access) or exactly
-- {subject_type, subject_id, allowed_memory_types, allow_semantic_retrieval,
-- max_results} with those types.
CREATE FUNCTION concord._is_memory_scope(scope jsonb)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = concord, pg_temp
AS $$
    SELECT scope IS NOT NULL AND jsonb_typeof(scope) = 'object' AND (
        scope = '{}'::jsonb
        OR (
            (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(scope) AS k)
            = ARRAY['allow_semantic_retrieval', 'allowed_memory_types', 'max_results',
                    'subject_id', 'subject_type']
            AND jsonb_typeof(scope -> 'subject_type') = 'string'
            AND btrim(scope ->> 'subject_type') <> ''
            AND jsonb_typeof(scope -> 'subject_id') = 'string'
            AND btrim(scope ->> 'subject_id') <> ''
            AND jsonb_typeof(scope -> 'allowed_memory_types') = 'array'
            AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(scope -> 'allowed_memory_types') AS t (item)
                            WHERE jsonb_typeof(t.item) <> 'string' OR btrim(t.item #>> '{}') = '')
            AND jsonb_typeof(scope -> 'allow_semantic_retrieval') = 'boolean'
            AND jsonb_typeof(scope -> 'max_results') = 'number'
            AND (scope ->> 'max_results')::numeric = floor((scope ->> 'max_results')::numeric)
            AND (scope ->> 'max_results')::numeric BETWEEN 0 AND 1000
        )
    )
$$;

-- ---------------------------------------------------------------------------
-- The swarm and agent state machines, stored as data (spec 58). Changed only
-- by migrations; a trigger in sql/ refuses any other write.
-- ---------------------------------------------------------------------------
CREATE TABLE concord.swarm_statuses (
    status text PRIMARY KEY
    CONSTRAINT swarm_status_is_a_lowercase_word CHECK (status ~ '^[a-z_]+$'),
    terminal boolean NOT NULL,
    description text NOT NULL
);

CREATE TABLE concord.swarm_transitions (
    from_status text NOT NULL REFERENCES concord.swarm_statuses (status),
    to_status text NOT NULL REFERENCES concord.swarm_statuses (status),
    PRIMARY KEY (from_status, to_status),
    CONSTRAINT a_swarm_transition_changes_the_status CHECK (from_status <> to_status)
);

INSERT INTO concord.swarm_statuses (status, terminal, description) VALUES
('created', false, 'recorded, its coordinator not yet created'),
('running', false, 'its agents are working'),
('joining', false, 'its children''s results are being joined'),
('waiting_for_approval', false, 'the join waits for a human review (join strategy human_review)'),
('succeeded', true, 'the join succeeded'),
('partially_succeeded', true, 'the join succeeded with some children failed'),
('failed', true, 'the join, or the coordinator, failed'),
('cancelled', true, 'cancelled; its agents were cancelled with it'),
('expired', true, 'ran out of time');

INSERT INTO concord.swarm_transitions (from_status, to_status) VALUES
('created', 'running'),
('created', 'failed'),
('created', 'cancelled'),
('running', 'joining'),
('running', 'failed'),
('running', 'cancelled'),
('running', 'expired'),
('joining', 'succeeded'),
('joining', 'partially_succeeded'),
('joining', 'failed'),
('joining', 'waiting_for_approval'),
('joining', 'cancelled'),
('joining', 'expired'),
('waiting_for_approval', 'succeeded'),
('waiting_for_approval', 'failed'),
('waiting_for_approval', 'cancelled'),
('waiting_for_approval', 'expired');

CREATE TABLE concord.agent_statuses (
    status text PRIMARY KEY
    CONSTRAINT agent_status_is_a_lowercase_word CHECK (status ~ '^[a-z_]+$'),
    terminal boolean NOT NULL,
    description text NOT NULL
);

CREATE TABLE concord.agent_transitions (
    from_status text NOT NULL REFERENCES concord.agent_statuses (status),
    to_status text NOT NULL REFERENCES concord.agent_statuses (status),
    PRIMARY KEY (from_status, to_status),
    CONSTRAINT an_agent_transition_changes_the_status CHECK (from_status <> to_status)
);

INSERT INTO concord.agent_statuses (status, terminal, description) VALUES
('created', false, 'spawned, not yet started by a runtime'),
('running', false, 'deciding and acting'),
('waiting_for_tool', false, 'waiting for a command it asked for to finish'),
('waiting_for_approval', false, 'waiting for a human decision on a command it asked for'),
('waiting_for_children', false, 'waiting for the subagents it spawned'),
('succeeded', true, 'finished its goal'),
('failed', true, 'gave up or broke a limit'),
('cancelled', true, 'cancelled (its swarm, its parent or its command was cancelled)'),
('expired', true, 'ran out of time');

INSERT INTO concord.agent_transitions (from_status, to_status) VALUES
('created', 'running'),
('created', 'failed'),
('created', 'cancelled'),
('created', 'expired'),
('running', 'waiting_for_tool'),
('running', 'waiting_for_approval'),
('running', 'waiting_for_children'),
('running', 'succeeded'),
('running', 'failed'),
('running', 'cancelled'),
('running', 'expired'),
('waiting_for_tool', 'running'),
('waiting_for_tool', 'failed'),
('waiting_for_tool', 'cancelled'),
('waiting_for_tool', 'expired'),
('waiting_for_approval', 'running'),
('waiting_for_approval', 'failed'),
('waiting_for_approval', 'cancelled'),
('waiting_for_approval', 'expired'),
('waiting_for_children', 'running'),
('waiting_for_children', 'failed'),
('waiting_for_children', 'cancelled'),
('waiting_for_children', 'expired');

-- ---------------------------------------------------------------------------
-- The tool catalog (spec 20): a tool is a governed capability. A command tool
-- becomes a command of its command type; a gateway tool is served by the
-- gateway itself (artifacts, memory, spawning).
-- ---------------------------------------------------------------------------
CREATE TABLE concord.tools (
    tool_name text PRIMARY KEY
    CONSTRAINT tool_name_is_an_identifier
    CHECK (tool_name ~ '^[A-Za-z][A-Za-z0-9_.:-]*$' AND length(tool_name) <= 128),
    description text NOT NULL DEFAULT '',
    input_schema jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT input_schema_is_an_object_or_boolean
    CHECK (jsonb_typeof(input_schema) IN ('object', 'boolean')),
    output_schema jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT output_schema_is_an_object_or_boolean
    CHECK (jsonb_typeof(output_schema) IN ('object', 'boolean')),
    execution_mode text NOT NULL DEFAULT 'async'
    CONSTRAINT execution_mode_is_known CHECK (execution_mode IN ('sync', 'async', 'gateway')),
    risk_level text NOT NULL DEFAULT 'low'
    CONSTRAINT tool_risk_level_is_known CHECK (risk_level IN ('low', 'medium', 'high', 'critical')),
    requires_approval boolean NOT NULL DEFAULT false,
    connector text NULL,
    capability text NULL,
    command_type text NULL REFERENCES concord.command_types (command_type),
    function_name text NULL,
    metadata jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT tool_metadata_is_an_object CHECK (jsonb_typeof(metadata) = 'object'),
    spec jsonb NOT NULL DEFAULT '{}',
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT gateway_tools_have_no_command_type
    CHECK ((execution_mode = 'gateway') = (command_type IS null)),
    CONSTRAINT a_capability_needs_a_connector CHECK (capability IS null OR connector IS NOT null)
);

-- ---------------------------------------------------------------------------
-- Swarm runs (spec 57.1). The counters are derived (live agents, steps and
-- cost of its agents): triggers keep them and refuse any other value; the
-- limits are immutable and the checks below are their backstop.
-- ---------------------------------------------------------------------------
CREATE TABLE concord.swarm_runs (
    swarm_run_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    command_id uuid NOT NULL REFERENCES concord.commands (command_id),
    workflow_run_id uuid NULL,
    coordinator_agent_run_id uuid NULL,
    name text NOT NULL
    CONSTRAINT swarm_name_is_an_identifier
    CHECK (name ~ '^[A-Za-z][A-Za-z0-9_.:-]*$' AND length(name) <= 128),
    status text NOT NULL DEFAULT 'created',
    objective text NOT NULL CONSTRAINT objective_is_not_blank CHECK (btrim(objective) <> ''),
    execution_mode text NOT NULL
    CONSTRAINT swarm_execution_mode_is_known CHECK (
        execution_mode IN ('sequential', 'parallel', 'competitive', 'review_driven', 'hierarchical')
    ),
    join_strategy text NOT NULL
    CONSTRAINT join_strategy_is_known CHECK (join_strategy IN (
        'all_success', 'first_success', 'quorum', 'coordinator_synthesis', 'evaluator_selection',
        'human_review', 'best_of_n', 'map_reduce', 'consensus', 'ranked_review'
    )),
    join_options jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT join_options_is_an_object CHECK (jsonb_typeof(join_options) = 'object'),
    max_agents integer NOT NULL DEFAULT 5
    CONSTRAINT max_agents_is_between_1_and_1000 CHECK (max_agents BETWEEN 1 AND 1000),
    max_depth integer NOT NULL DEFAULT 2
    CONSTRAINT max_depth_is_between_0_and_100 CHECK (max_depth BETWEEN 0 AND 100),
    max_total_steps integer NOT NULL DEFAULT 100
    CONSTRAINT max_total_steps_is_between_1_and_1000000
    CHECK (max_total_steps BETWEEN 1 AND 1000000),
    max_cost_units numeric NULL
    CONSTRAINT max_cost_units_is_not_negative CHECK (max_cost_units >= 0),
    live_agents integer NOT NULL DEFAULT 0,
    total_steps integer NOT NULL DEFAULT 0,
    cost_units numeric NOT NULL DEFAULT 0,
    agent_templates jsonb NOT NULL DEFAULT '[]'
    CONSTRAINT agent_templates_is_an_array CHECK (jsonb_typeof(agent_templates) = 'array'),
    runtime text NULL
    CONSTRAINT runtime_is_an_identifier
    CHECK (runtime ~ '^[A-Za-z][A-Za-z0-9_.:-]*$' AND length(runtime) <= 128),
    spec jsonb NOT NULL DEFAULT '{}',
    join_decision jsonb NULL,
    result jsonb NULL,
    error text NULL,
    metadata jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT swarm_metadata_is_an_object CHECK (jsonb_typeof(metadata) = 'object'),
    trace_id text NOT NULL,
    created_by text NOT NULL,
    -- spec 64: the mode, reason and actor of a cancellation, for the cascade
    cancellation_mode text NULL
    CONSTRAINT swarm_cancellation_mode_is_known
    CHECK (cancellation_mode IN ('graceful', 'compensate_then_stop')),
    cancel_reason text NULL,
    cancelled_by text NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz NULL,
    completed_at timestamptz NULL,
    cancelled_at timestamptz NULL,
    CONSTRAINT live_agents_are_within_max_agents CHECK (live_agents BETWEEN 0 AND max_agents),
    CONSTRAINT total_steps_are_within_max_total_steps
    CHECK (total_steps BETWEEN 0 AND max_total_steps),
    CONSTRAINT cost_units_are_within_max_cost_units
    CHECK (cost_units >= 0 AND (max_cost_units IS null OR cost_units <= max_cost_units)),
    CONSTRAINT one_swarm_of_a_name_per_command UNIQUE (command_id, name)
);

CREATE INDEX idx_swarm_runs_command_id ON concord.swarm_runs (command_id);
CREATE INDEX idx_swarm_runs_status ON concord.swarm_runs (status);

-- ---------------------------------------------------------------------------
-- Agent runs (spec 57.2). Every agent run belongs to a swarm (a lone agent is
-- a swarm of one). Scopes are typed: text arrays of names, and a memory scope
-- of one shape (spec 61.2).
-- ---------------------------------------------------------------------------
CREATE TABLE concord.agent_runs (
    agent_run_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    command_id uuid NOT NULL REFERENCES concord.commands (command_id),
    swarm_run_id uuid NOT NULL REFERENCES concord.swarm_runs (swarm_run_id),
    parent_agent_run_id uuid NULL REFERENCES concord.agent_runs (agent_run_id),
    agent_name text NOT NULL
    CONSTRAINT agent_name_is_an_identifier
    CHECK (agent_name ~ '^[A-Za-z][A-Za-z0-9_.:-]*$' AND length(agent_name) <= 128),
    agent_role text NOT NULL
    CONSTRAINT agent_role_is_an_identifier
    CHECK (agent_role ~ '^[A-Za-z][A-Za-z0-9_.:-]*$' AND length(agent_role) <= 128),
    agent_version text NULL,
    status text NOT NULL DEFAULT 'created',
    goal text NOT NULL CONSTRAINT goal_is_not_blank CHECK (btrim(goal) <> ''),
    allowed_tools text[] NOT NULL DEFAULT '{}'
    CONSTRAINT allowed_tools_is_a_name_list CHECK (concord._is_name_list(allowed_tools)),
    allowed_connectors text[] NOT NULL DEFAULT '{}'
    CONSTRAINT allowed_connectors_is_a_name_list CHECK (concord._is_name_list(allowed_connectors)),
    -- empty: any role the swarm's templates allow
    allowed_child_roles text[] NOT NULL DEFAULT '{}'
    CONSTRAINT allowed_child_roles_is_a_name_list
    CHECK (concord._is_name_list(allowed_child_roles)),
    memory_scope jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT memory_scope_has_the_spec_61_shape CHECK (concord._is_memory_scope(memory_scope)),
    context_scope jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT context_scope_is_an_object CHECK (jsonb_typeof(context_scope) = 'object'),
    constraints jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT constraints_is_an_object CHECK (jsonb_typeof(constraints) = 'object'),
    max_steps integer NOT NULL DEFAULT 20
    CONSTRAINT max_steps_is_between_1_and_100000 CHECK (max_steps BETWEEN 1 AND 100000),
    step_count integer NOT NULL DEFAULT 0,
    cost_units numeric NOT NULL DEFAULT 0,
    spawn_depth integer NOT NULL DEFAULT 0,
    model_config jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT model_config_is_an_object CHECK (jsonb_typeof(model_config) = 'object'),
    runtime_config jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT runtime_config_is_an_object CHECK (jsonb_typeof(runtime_config) = 'object'),
    metadata jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT agent_metadata_is_an_object CHECK (jsonb_typeof(metadata) = 'object'),
    dbos_workflow_id text NULL,
    result jsonb NULL,
    error text NULL,
    trace_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz NULL,
    completed_at timestamptz NULL,
    cancelled_at timestamptz NULL,
    CONSTRAINT step_count_is_within_max_steps CHECK (step_count BETWEEN 0 AND max_steps),
    CONSTRAINT agent_cost_units_are_not_negative CHECK (cost_units >= 0),
    CONSTRAINT spawn_depth_is_not_negative CHECK (spawn_depth >= 0),
    CONSTRAINT only_the_root_has_depth_0 CHECK ((parent_agent_run_id IS null) = (spawn_depth = 0)),
    CONSTRAINT an_agent_is_not_its_own_parent CHECK (parent_agent_run_id <> agent_run_id)
);

CREATE INDEX idx_agent_runs_swarm_run_id ON concord.agent_runs (swarm_run_id);
CREATE INDEX idx_agent_runs_parent_agent_run_id ON concord.agent_runs (parent_agent_run_id);
CREATE INDEX idx_agent_runs_status ON concord.agent_runs (status);
CREATE INDEX idx_agent_runs_command_id ON concord.agent_runs (command_id);
-- One root (the coordinator) per swarm.
CREATE UNIQUE INDEX agent_runs_one_root_per_swarm ON concord.agent_runs (swarm_run_id)
WHERE parent_agent_run_id IS null;

ALTER TABLE concord.swarm_runs
ADD CONSTRAINT swarm_runs_coordinator_fkey
FOREIGN KEY (coordinator_agent_run_id) REFERENCES concord.agent_runs (agent_run_id);

-- ---------------------------------------------------------------------------
-- Invocations (spec 57.3): a parent spawning or delegating to a child. Its
-- scopes are the child's, as bound at spawn.
-- ---------------------------------------------------------------------------
CREATE TABLE concord.agent_invocations (
    invocation_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    swarm_run_id uuid NOT NULL REFERENCES concord.swarm_runs (swarm_run_id),
    parent_agent_run_id uuid NOT NULL REFERENCES concord.agent_runs (agent_run_id),
    child_agent_run_id uuid NOT NULL UNIQUE REFERENCES concord.agent_runs (agent_run_id),
    command_id uuid NOT NULL REFERENCES concord.commands (command_id),
    invocation_type text NOT NULL
    CONSTRAINT invocation_type_is_known
    CHECK (invocation_type IN ('spawn', 'delegate', 'review', 'evaluate', 'map', 'compete')),
    delegated_goal text NOT NULL
    CONSTRAINT delegated_goal_is_not_blank CHECK (btrim(delegated_goal) <> ''),
    constraints jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT invocation_constraints_is_an_object CHECK (jsonb_typeof(constraints) = 'object'),
    allowed_tools text[] NOT NULL DEFAULT '{}',
    allowed_connectors text[] NOT NULL DEFAULT '{}',
    memory_scope jsonb NOT NULL DEFAULT '{}',
    status text NOT NULL DEFAULT 'created'
    CONSTRAINT invocation_status_is_known CHECK (
        status IN ('created', 'running', 'succeeded', 'failed', 'cancelled', 'expired')
    ),
    created_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz NULL
);

CREATE INDEX idx_agent_invocations_parent ON concord.agent_invocations (parent_agent_run_id);
CREATE INDEX idx_agent_invocations_child ON concord.agent_invocations (child_agent_run_id);

-- ---------------------------------------------------------------------------
-- Steps (spec 57.4): append-only; step_index is 1, 2, ... per agent run.
-- ---------------------------------------------------------------------------
CREATE TABLE concord.agent_steps (
    agent_step_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_run_id uuid NOT NULL REFERENCES concord.agent_runs (agent_run_id),
    command_id uuid NOT NULL REFERENCES concord.commands (command_id),
    swarm_run_id uuid NULL REFERENCES concord.swarm_runs (swarm_run_id),
    step_index integer NOT NULL CONSTRAINT step_index_is_positive CHECK (step_index >= 1),
    action_type text NOT NULL
    CONSTRAINT action_type_is_a_lowercase_word CHECK (action_type ~ '^[a-z][a-z0-9_]*$'),
    tool_name text NULL,
    action_payload jsonb NOT NULL DEFAULT '{}',
    decision text NOT NULL
    CONSTRAINT step_decision_is_known CHECK (decision IN (
        'recorded', 'allowed', 'queued', 'require_approval', 'require_input', 'denied', 'invalid'
    )),
    reason text NULL,
    observation jsonb NULL,
    output jsonb NULL,
    created_command_id uuid NULL REFERENCES concord.commands (command_id),
    created_task_run_id uuid NULL,
    created_artifact_id uuid NULL,
    created_memory_id uuid NULL,
    created_approval_id uuid NULL REFERENCES concord.approvals (approval_id),
    child_agent_run_id uuid NULL REFERENCES concord.agent_runs (agent_run_id),
    latency_ms integer NULL CONSTRAINT latency_ms_is_not_negative CHECK (latency_ms >= 0),
    token_usage jsonb NULL,
    cost_units numeric NULL CONSTRAINT step_cost_units_are_not_negative CHECK (cost_units >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT one_step_per_index UNIQUE (agent_run_id, step_index)
);

CREATE INDEX idx_agent_steps_agent_run_id ON concord.agent_steps (agent_run_id);
CREATE INDEX idx_agent_steps_command_id ON concord.agent_steps (command_id);
CREATE INDEX idx_agent_steps_action_type ON concord.agent_steps (action_type);
CREATE INDEX idx_agent_steps_created_command ON concord.agent_steps (created_command_id)
WHERE created_command_id IS NOT null;

-- ---------------------------------------------------------------------------
-- Messages (spec 57.5): append-only.
-- ---------------------------------------------------------------------------
CREATE TABLE concord.agent_messages (
    agent_message_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    swarm_run_id uuid NULL REFERENCES concord.swarm_runs (swarm_run_id),
    agent_run_id uuid NOT NULL REFERENCES concord.agent_runs (agent_run_id),
    parent_agent_run_id uuid NULL REFERENCES concord.agent_runs (agent_run_id),
    message_role text NOT NULL
    CONSTRAINT message_role_is_known
    CHECK (message_role IN ('system', 'user', 'assistant', 'tool', 'agent')),
    message_type text NOT NULL
    CONSTRAINT message_type_is_known CHECK (message_type IN (
        'instruction', 'question', 'answer', 'observation', 'status', 'result', 'critique',
        'handoff', 'note'
    )),
    content text NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT message_metadata_is_an_object CHECK (jsonb_typeof(metadata) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_agent_messages_agent_run_id ON concord.agent_messages (agent_run_id);

-- ---------------------------------------------------------------------------
-- Artifacts (spec 24, 63): references plus metadata, versioned by name
-- within a swarm, with lineage to parent artifacts.
-- ---------------------------------------------------------------------------
CREATE TABLE concord.artifacts (
    artifact_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    command_id uuid NOT NULL REFERENCES concord.commands (command_id),
    swarm_run_id uuid NULL REFERENCES concord.swarm_runs (swarm_run_id),
    agent_run_id uuid NULL REFERENCES concord.agent_runs (agent_run_id),
    artifact_type text NOT NULL
    CONSTRAINT artifact_type_is_a_lowercase_word CHECK (artifact_type ~ '^[a-z][a-z0-9_]*$'),
    name text NOT NULL
    CONSTRAINT artifact_name_is_not_blank CHECK (btrim(name) <> '' AND length(name) <= 256),
    version integer NOT NULL DEFAULT 1 CONSTRAINT version_is_positive CHECK (version >= 1),
    status text NOT NULL DEFAULT 'draft'
    CONSTRAINT artifact_status_is_known
    CHECK (status IN ('draft', 'final', 'published', 'superseded', 'cancelled')),
    location text NULL CONSTRAINT location_is_not_blank CHECK (btrim(location) <> ''),
    content jsonb NULL
    CONSTRAINT inline_content_is_small CHECK (pg_column_size(content) <= 65536),
    metadata jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT artifact_metadata_is_an_object CHECK (jsonb_typeof(metadata) = 'object'),
    score numeric NULL,
    created_by text NOT NULL CONSTRAINT created_by_is_not_blank CHECK (btrim(created_by) <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT an_artifact_has_a_location_or_content
    CHECK (location IS NOT null OR content IS NOT null)
);

CREATE INDEX artifacts_swarm_idx ON concord.artifacts (swarm_run_id, created_at);
CREATE INDEX artifacts_agent_idx ON concord.artifacts (agent_run_id);
CREATE INDEX artifacts_command_idx ON concord.artifacts (command_id);
CREATE UNIQUE INDEX artifacts_one_version_per_name
ON concord.artifacts (command_id, coalesce(swarm_run_id::text, ''), name, version);

CREATE TABLE concord.artifact_lineage (
    artifact_id uuid NOT NULL REFERENCES concord.artifacts (artifact_id),
    parent_artifact_id uuid NOT NULL REFERENCES concord.artifacts (artifact_id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (artifact_id, parent_artifact_id),
    CONSTRAINT an_artifact_is_not_its_own_parent CHECK (artifact_id <> parent_artifact_id)
);

CREATE INDEX artifact_lineage_parent_idx ON concord.artifact_lineage (parent_artifact_id);

-- ---------------------------------------------------------------------------
-- Memory (spec 23, 61): scoped by subject, typed, with consent, confidence,
-- status, expiry and supersession; searched with full-text search.
-- ---------------------------------------------------------------------------
CREATE TABLE concord.memories (
    memory_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    subject_type text NOT NULL
    CONSTRAINT subject_type_is_an_identifier
    CHECK (subject_type ~ '^[a-z][a-z0-9_]*$' AND length(subject_type) <= 64),
    subject_id text NOT NULL
    CONSTRAINT subject_id_is_not_blank
    CHECK (btrim(subject_id) <> '' AND length(subject_id) <= 256),
    memory_type text NOT NULL
    CONSTRAINT memory_type_is_an_identifier
    CHECK (memory_type ~ '^[a-z][a-z0-9_]*$' AND length(memory_type) <= 64),
    memory_key text NULL
    CONSTRAINT memory_key_is_not_blank
    CHECK (btrim(memory_key) <> '' AND length(memory_key) <= 256),
    content text NOT NULL
    CONSTRAINT content_is_at_most_10000_characters CHECK (length(content) <= 10000),
    confidence numeric NOT NULL DEFAULT 1
    CONSTRAINT confidence_is_between_0_and_1 CHECK (confidence BETWEEN 0 AND 1),
    consent boolean NOT NULL DEFAULT false,
    sensitive boolean NOT NULL DEFAULT false,
    status text NOT NULL DEFAULT 'candidate'
    CONSTRAINT memory_status_is_known
    CHECK (status IN ('candidate', 'active', 'superseded', 'expired', 'deleted')),
    expires_at timestamptz NULL,
    supersedes_memory_id uuid NULL REFERENCES concord.memories (memory_id),
    superseded_by_memory_id uuid NULL REFERENCES concord.memories (memory_id),
    written_by text NOT NULL CONSTRAINT written_by_is_not_blank CHECK (btrim(written_by) <> ''),
    command_id uuid NULL REFERENCES concord.commands (command_id),
    agent_run_id uuid NULL REFERENCES concord.agent_runs (agent_run_id),
    metadata jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT memory_metadata_is_an_object CHECK (jsonb_typeof(metadata) = 'object'),
    search_vector tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, content)) STORED,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT superseded_memories_name_their_successor
    CHECK ((status = 'superseded') <= (superseded_by_memory_id IS NOT null)),
    CONSTRAINT a_memory_does_not_supersede_itself
    CHECK (supersedes_memory_id <> memory_id AND superseded_by_memory_id <> memory_id)
);

CREATE INDEX memories_subject_idx ON concord.memories (subject_type, subject_id, memory_type)
WHERE status = 'active';
CREATE INDEX memories_search_idx ON concord.memories USING gin (search_vector);
-- A conflicting memory (same subject, type and key) supersedes the active one:
-- at most one is active.
CREATE UNIQUE INDEX memories_one_active_per_key
ON concord.memories (subject_type, subject_id, memory_type, memory_key)
WHERE status = 'active' AND memory_key IS NOT null;

-- ---------------------------------------------------------------------------
-- The event log names agent runs and swarms (declared with the kernel).
-- ---------------------------------------------------------------------------
-- NOT VALID: rows written before 0004 may name agent runs that were never
-- recorded here (the columns were free text until now); they are kept as
-- they are, and every new row is checked.
ALTER TABLE concord.domain_events
ADD CONSTRAINT domain_events_agent_run_fkey
FOREIGN KEY (agent_run_id) REFERENCES concord.agent_runs (agent_run_id) NOT VALID,
ADD CONSTRAINT domain_events_swarm_run_fkey
FOREIGN KEY (swarm_run_id) REFERENCES concord.swarm_runs (swarm_run_id) NOT VALID;

CREATE INDEX domain_events_swarm_idx ON concord.domain_events (swarm_run_id)
WHERE swarm_run_id IS NOT null;

-- ---------------------------------------------------------------------------
-- Seeds: the built-in policies and command types of the agent gateway, and
-- its gateway tools.
-- ---------------------------------------------------------------------------
-- Built-in policies come only with Concord: the policies guard (sql/) refuses
-- new ones, so it is switched off for this insert (it does not exist yet on
-- a fresh install).
ALTER TABLE concord.policies DISABLE TRIGGER USER;

INSERT INTO concord.policies (name, kind, description, config, spec) VALUES
(
    'spawn_scope', 'builtin',
    'A subagent spawn stays within its parent''s scopes and its swarm''s limits (spec 59.3, 71.3).',
    '{}', '{"name": "spawn_scope"}'
),
(
    'agent_tool', 'builtin',
    'A command an agent asks for through a tool: the tool is in the agent''s scope; a tool that '
    'requires approval asks for it (spec 17, 60).',
    '{"approval_type": "standard"}',
    '{"name": "agent_tool", "config": {"approval_type": "standard"}}'
),
(
    'memory_write', 'builtin',
    'A memory write is active at once only when confident, consented, not sensitive and not broad; '
    'otherwise it is a candidate that needs approval (spec 23).',
    '{"min_confidence": 0.8, "broad_subject_types": ["organization", "global"], '
    '"broad_memory_types": ["policy"], "approval_type": "standard"}',
    '{"name": "memory_write", "config": {"min_confidence": 0.8, '
    '"broad_subject_types": ["organization", "global"], "broad_memory_types": ["policy"], '
    '"approval_type": "standard"}}'
)
ON CONFLICT (name) DO NOTHING;

UPDATE concord.policies AS p SET checksum = md5(p.spec::text)
WHERE p.name IN ('spawn_scope', 'agent_tool', 'memory_write');

ALTER TABLE concord.policies ENABLE TRIGGER USER;

INSERT INTO concord.command_types (
    command_type, name, description, sync_allowed, async_required, approval_required,
    policy_checks, risk_level, memory_write_possible
) VALUES
(
    'spawn_subagent', 'Spawn a subagent',
    'An agent asks to spawn a child agent (spec 59); the gateway creates the child when allowed.',
    true, false, false, '{spawn_scope}', 'low', false
),
(
    'concord.write_memory', 'Write a memory',
    'A memory write (spec 23): active at once when the memory_write policy allows, '
    'else approved first.',
    true, false, false, '{memory_write}', 'low', true
),
(
    'concord.swarm_review', 'Review a swarm''s result',
    'A human review of a swarm''s joined result (join strategy human_review).',
    false, true, true, '{}', 'medium', false
)
ON CONFLICT (command_type) DO NOTHING;

INSERT INTO concord.tools (tool_name, description, execution_mode, risk_level, spec) VALUES
(
    'spawn_subagent', 'Spawn a child agent within this agent''s scopes (spec 59).',
    'gateway', 'low',
    '{"name": "spawn_subagent", "execution_mode": "gateway"}'
),
(
    'create_artifact', 'Write an artifact in this agent''s swarm (spec 24, 63).', 'gateway', 'low',
    '{"name": "create_artifact", "execution_mode": "gateway"}'
),
(
    'read_artifact', 'Read an artifact of this agent''s swarm.', 'gateway', 'low',
    '{"name": "read_artifact", "execution_mode": "gateway"}'
),
(
    'write_memory', 'Write a memory within this agent''s memory scope (spec 23, 61).',
    'gateway', 'low',
    '{"name": "write_memory", "execution_mode": "gateway"}'
),
(
    'retrieve_memory', 'Retrieve memories within this agent''s memory scope.', 'gateway', 'low',
    '{"name": "retrieve_memory", "execution_mode": "gateway"}'
),
(
    'evaluate_output', 'Record a structured evaluation of an artifact (spec 66).', 'gateway', 'low',
    '{"name": "evaluate_output", "execution_mode": "gateway"}'
)
ON CONFLICT (tool_name) DO NOTHING;
