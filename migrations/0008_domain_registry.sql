-- 0008 domain registry: versioned, immutable capability contracts (issue 14,
-- spec 103-121). The registry's kernel tables; the rules that guard them live
-- in sql/registry/, the contracts' JSON Schemas in sql/registry/manifest_schemas.sql.
--
-- Forward-only: once released this file is never edited; change = new file.
-- Each part below is headed by a "-- == part ==" line.

-- == semantic_versions ==
-- Debian's postgresql-<major>-semver: a semver type ordered as semver.org
-- orders (1.10.0 > 1.9.0, 1.0.0-rc.1 < 1.0.0) and a semverrange type for a
-- relationship's version constraint. Its own schema keeps its hundred
-- functions out of concord's API.
CREATE SCHEMA IF NOT EXISTS semver;
CREATE EXTENSION IF NOT EXISTS semver WITH SCHEMA semver;
GRANT USAGE ON SCHEMA semver TO PUBLIC;

-- == kernel ==
CREATE TABLE concord.registry_entity_types (
    entity_type text PRIMARY KEY,
    display_name text NOT NULL,
    description text NOT NULL,
    -- the JSON Schema every manifest of this type must satisfy
    manifest_schema jsonb NOT NULL
    CONSTRAINT manifest_schema_is_an_object CHECK (jsonb_typeof(manifest_schema) = 'object')
);

COMMENT ON TABLE concord.registry_entity_types IS
'The twelve registry types of spec 107, each with the JSON Schema of its manifests. Kernel data, '
'written by concord migrate.';
COMMENT ON COLUMN concord.registry_entity_types.entity_type IS
'The type''s name: skill, tool, connector, command_type, policy, artifact_schema, memory_schema, '
'agent_role, swarm_template, approval_type, evaluation_suite, workflow_type.';
COMMENT ON COLUMN concord.registry_entity_types.display_name IS 'The type''s name for people.';
COMMENT ON COLUMN concord.registry_entity_types.description IS 'What an entity of this type is.';
COMMENT ON COLUMN concord.registry_entity_types.manifest_schema IS
'The JSON Schema (draft 2020-12) every manifest of this type satisfies.';
COMMENT ON CONSTRAINT manifest_schema_is_an_object ON concord.registry_entity_types IS
'A manifest schema is a JSON object.';

CREATE TABLE concord.registry_version_statuses (
    status text PRIMARY KEY,
    -- a version in this status resolves (through a binding)
    resolvable boolean NOT NULL,
    -- its manifest, relationships and artifacts can no longer change
    frozen boolean NOT NULL,
    description text NOT NULL
);

COMMENT ON TABLE concord.registry_version_statuses IS
'The statuses of a registry version (spec 111.2).';
COMMENT ON COLUMN concord.registry_version_statuses.status IS 'The status.';
COMMENT ON COLUMN concord.registry_version_statuses.resolvable IS
'Whether a version in this status can be resolved through a binding.';
COMMENT ON COLUMN concord.registry_version_statuses.frozen IS
'Whether a version in this status has its manifest, relationships and artifacts frozen.';
COMMENT ON COLUMN concord.registry_version_statuses.description IS 'What the status means.';

INSERT INTO concord.registry_version_statuses (status, resolvable, frozen, description) VALUES
('draft', false, false, 'created; its manifest may still be replaced'),
('validated', false, true, 'its manifest, relationships and compatibility were checked'),
('pending_approval', false, true, 'a high-risk change waiting for an owner''s approval'),
('approved', false, true, 'a high-risk change an owner approved; not yet published'),
('published', true, true, 'immutable and bindable'),
('deprecated', true, true, 'still resolves, with a warning; no new binding'),
('retired', false, true, 'never resolves again'),
('rejected', false, true, 'refused: its approval was rejected or it was withdrawn');

CREATE TABLE concord.registry_version_transitions (
    from_status text NOT NULL REFERENCES concord.registry_version_statuses (status),
    to_status text NOT NULL REFERENCES concord.registry_version_statuses (status),
    PRIMARY KEY (from_status, to_status)
);

COMMENT ON TABLE concord.registry_version_transitions IS
'The legal moves of a registry version''s lifecycle (spec 111.1-111.2); the guard trigger of '
'registry_versions refuses any other.';
COMMENT ON COLUMN concord.registry_version_transitions.from_status IS 'The status moved from.';
COMMENT ON COLUMN concord.registry_version_transitions.to_status IS 'The status moved to.';

INSERT INTO concord.registry_version_transitions (from_status, to_status) VALUES
('draft', 'validated'),
('draft', 'rejected'),
('validated', 'pending_approval'),
('validated', 'published'),
('validated', 'rejected'),
('pending_approval', 'approved'),
('pending_approval', 'rejected'),
('approved', 'published'),
('approved', 'rejected'),
('published', 'deprecated'),
('published', 'retired'),
('deprecated', 'retired');

CREATE TABLE concord.registry_entities (
    entity_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    entity_type text NOT NULL REFERENCES concord.registry_entity_types (entity_type),
    name text NOT NULL
    CONSTRAINT registry_entity_name_is_an_identifier CHECK (
        name ~ '^[A-Za-z][A-Za-z0-9_.:-]*$' AND length(name) <= 128
    ),
    display_name text NOT NULL
    CONSTRAINT registry_entity_display_name_is_not_blank CHECK (
        btrim(display_name) <> '' AND length(display_name) <= 200
    ),
    description text NULL,
    -- the team or person answerable for the entity (spec 108.1)
    owner text NOT NULL
    CONSTRAINT registry_entity_owner_is_not_blank
    CHECK (btrim(owner) <> '' AND length(owner) <= 200),
    -- NULL: a platform entity, kept by operators
    org_id uuid NULL REFERENCES concord.organisations (org_id),
    domain text NULL,
    status text NOT NULL DEFAULT 'active'
    CONSTRAINT registry_entity_status_is_known CHECK (status IN ('active', 'archived')),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT registry_entity_name_is_unique_in_its_type UNIQUE (entity_type, name)
);

COMMENT ON TABLE concord.registry_entities IS
'Every capability the registry knows (spec 109.1): one row per type and name.';
COMMENT ON COLUMN concord.registry_entities.entity_id IS 'The entity''s id.';
COMMENT ON COLUMN concord.registry_entities.entity_type IS 'One of the twelve registry types.';
COMMENT ON COLUMN concord.registry_entities.name IS
'Its name, unique within its type (a command type''s entity is named after the command type).';
COMMENT ON COLUMN concord.registry_entities.display_name IS 'Its name for people.';
COMMENT ON COLUMN concord.registry_entities.description IS 'What it is for.';
COMMENT ON COLUMN concord.registry_entities.owner IS 'The team or person answerable for it.';
COMMENT ON COLUMN concord.registry_entities.org_id IS
'The organisation it belongs to (its owners approve its high-risk changes); NULL for a platform '
'entity kept by operators.';
COMMENT ON COLUMN concord.registry_entities.domain IS 'The business domain it belongs to.';
COMMENT ON COLUMN concord.registry_entities.status IS 'active or archived.';
COMMENT ON COLUMN concord.registry_entities.created_by IS
'The principal (or operator) that created it.';
COMMENT ON COLUMN concord.registry_entities.created_at IS 'When it was created.';
COMMENT ON COLUMN concord.registry_entities.updated_at IS 'When its row last changed.';
COMMENT ON CONSTRAINT registry_entity_name_is_an_identifier ON concord.registry_entities IS
'An entity name starts with a letter, holds letters, digits and _ . : - only, at most 128.';
COMMENT ON CONSTRAINT registry_entity_display_name_is_not_blank ON concord.registry_entities IS
'A display name is not blank and at most 200 characters.';
COMMENT ON CONSTRAINT registry_entity_owner_is_not_blank ON concord.registry_entities IS
'An owner is not blank and at most 200 characters.';
COMMENT ON CONSTRAINT registry_entity_status_is_known ON concord.registry_entities IS
'An entity is active or archived.';
COMMENT ON CONSTRAINT registry_entity_name_is_unique_in_its_type ON concord.registry_entities IS
'One entity per type and name.';

CREATE TABLE concord.registry_versions (
    version_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    entity_id uuid NOT NULL REFERENCES concord.registry_entities (entity_id),
    version semver.semver NOT NULL,
    version_major integer GENERATED ALWAYS AS (semver.get_semver_major(version)) STORED,
    version_minor integer GENERATED ALWAYS AS (semver.get_semver_minor(version)) STORED,
    version_patch integer GENERATED ALWAYS AS (semver.get_semver_patch(version)) STORED,
    status text NOT NULL DEFAULT 'draft' REFERENCES concord.registry_version_statuses (status),
    risk_level text NOT NULL DEFAULT 'low'
    CONSTRAINT registry_version_risk_level_is_known CHECK (
        risk_level IN ('low', 'medium', 'high', 'critical')
    ),
    manifest jsonb NOT NULL
    CONSTRAINT registry_manifest_is_an_object CHECK (jsonb_typeof(manifest) = 'object'),
    -- sha256 of the manifest's canonical JSON (sql/registry/checksums.sql)
    checksum text NOT NULL
    CONSTRAINT registry_checksum_is_a_sha256 CHECK (checksum ~ '^sha256:[0-9a-f]{64}$'),
    -- the published version this one was compared with (NULL: the first)
    previous_version_id uuid NULL REFERENCES concord.registry_versions (version_id),
    change_class text NOT NULL DEFAULT 'initial'
    CONSTRAINT registry_change_class_is_known CHECK (
        change_class IN ('initial', 'doc', 'additive', 'breaking')
    ),
    change_reasons jsonb NOT NULL DEFAULT '[]'
    CONSTRAINT registry_change_reasons_is_an_array CHECK (jsonb_typeof(change_reasons) = 'array'),
    high_risk_changes jsonb NOT NULL DEFAULT '[]'
    CONSTRAINT registry_high_risk_changes_is_an_array
    CHECK (jsonb_typeof(high_risk_changes) = 'array'),
    approval_required boolean NOT NULL DEFAULT false,
    -- the governed command whose approval gated the publication
    approval_command_id uuid NULL REFERENCES concord.commands (command_id),
    created_by text NOT NULL,
    approved_by text NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    validated_at timestamptz NULL,
    approved_at timestamptz NULL,
    published_at timestamptz NULL,
    deprecated_at timestamptz NULL,
    retired_at timestamptz NULL,
    rejected_at timestamptz NULL,
    retirement_reason text NULL,
    emergency_retirement boolean NOT NULL DEFAULT false,
    CONSTRAINT registry_version_is_unique_in_its_entity UNIQUE (entity_id, version),
    CONSTRAINT registry_version_belongs_to_one_entity UNIQUE (version_id, entity_id),
    CONSTRAINT a_published_version_has_its_publication_time CHECK (
        status NOT IN ('published', 'deprecated') OR published_at IS NOT null
    ),
    CONSTRAINT a_retired_version_has_its_retirement CHECK (
        status <> 'retired' OR (retired_at IS NOT null AND retirement_reason IS NOT null)
    ),
    CONSTRAINT an_approved_version_names_its_approver CHECK (
        status NOT IN ('approved') OR (approved_by IS NOT null AND approved_at IS NOT null)
    )
);

CREATE INDEX registry_versions_status_idx ON concord.registry_versions (entity_id, status);

COMMENT ON TABLE concord.registry_versions IS
'The versions of every registry entity (spec 109.2). A version past draft is frozen: its manifest, '
'checksum, relationships and artifacts never change; its status moves only along '
'registry_version_transitions.';
COMMENT ON COLUMN concord.registry_versions.version_id IS 'The version''s id.';
COMMENT ON COLUMN concord.registry_versions.entity_id IS 'The entity it is a version of.';
COMMENT ON COLUMN concord.registry_versions.version IS
'Its semantic version (semver.org ordering: 1.10.0 > 1.9.0, pre-releases before their release).';
COMMENT ON COLUMN concord.registry_versions.version_major IS 'The major part of the version.';
COMMENT ON COLUMN concord.registry_versions.version_minor IS 'The minor part of the version.';
COMMENT ON COLUMN concord.registry_versions.version_patch IS 'The patch part of the version.';
COMMENT ON COLUMN concord.registry_versions.status IS
'draft, validated, pending_approval, approved, published, deprecated, retired or rejected.';
COMMENT ON COLUMN concord.registry_versions.risk_level IS
'low, medium, high or critical: the manifest''s risk_level, else low.';
COMMENT ON COLUMN concord.registry_versions.manifest IS
'The contract: a JSON document valid against its type''s manifest_schema.';
COMMENT ON COLUMN concord.registry_versions.checksum IS
'sha256:<hex> of the manifest''s canonical JSON, computed in SQL (concord.registry_checksum).';
COMMENT ON COLUMN concord.registry_versions.previous_version_id IS
'The highest published (or deprecated) version of the entity below this one when it was created: '
'what its change was classified against. NULL for the first.';
COMMENT ON COLUMN concord.registry_versions.change_class IS
'initial, doc, additive or breaking: the change from previous_version_id (spec 110).';
COMMENT ON COLUMN concord.registry_versions.change_reasons IS
'Why the change has its class: a JSON array of {kind, path, message}.';
COMMENT ON COLUMN concord.registry_versions.high_risk_changes IS
'The high-risk changes of spec 111.3 the version makes, as a JSON array of names.';
COMMENT ON COLUMN concord.registry_versions.approval_required IS
'Whether publication needs an approval by an owner of the entity''s organisation.';
COMMENT ON COLUMN concord.registry_versions.approval_command_id IS
'The concord.registry.publish_version command whose approval gated its publication.';
COMMENT ON COLUMN concord.registry_versions.created_by IS 'Who created it.';
COMMENT ON COLUMN concord.registry_versions.approved_by IS 'Who approved its publication.';
COMMENT ON COLUMN concord.registry_versions.created_at IS 'When it was created.';
COMMENT ON COLUMN concord.registry_versions.validated_at IS 'When it was validated.';
COMMENT ON COLUMN concord.registry_versions.approved_at IS 'When its publication was approved.';
COMMENT ON COLUMN concord.registry_versions.published_at IS 'When it was published.';
COMMENT ON COLUMN concord.registry_versions.deprecated_at IS 'When it was deprecated.';
COMMENT ON COLUMN concord.registry_versions.retired_at IS 'When it was retired.';
COMMENT ON COLUMN concord.registry_versions.rejected_at IS 'When it was rejected.';
COMMENT ON COLUMN concord.registry_versions.retirement_reason IS 'Why it was retired.';
COMMENT ON COLUMN concord.registry_versions.emergency_retirement IS
'Whether it was retired in an emergency (spec 111.4).';
COMMENT ON CONSTRAINT registry_version_risk_level_is_known ON concord.registry_versions IS
'A risk level is low, medium, high or critical.';
COMMENT ON CONSTRAINT registry_manifest_is_an_object ON concord.registry_versions IS
'A manifest is a JSON object.';
COMMENT ON CONSTRAINT registry_checksum_is_a_sha256 ON concord.registry_versions IS
'A checksum is sha256: followed by 64 hex digits.';
COMMENT ON CONSTRAINT registry_change_class_is_known ON concord.registry_versions IS
'A change is initial, doc, additive or breaking.';
COMMENT ON CONSTRAINT registry_change_reasons_is_an_array ON concord.registry_versions IS
'change_reasons is a JSON array.';
COMMENT ON CONSTRAINT registry_high_risk_changes_is_an_array ON concord.registry_versions IS
'high_risk_changes is a JSON array.';
COMMENT ON CONSTRAINT registry_version_is_unique_in_its_entity ON concord.registry_versions IS
'An entity has each version once.';
COMMENT ON CONSTRAINT registry_version_belongs_to_one_entity ON concord.registry_versions IS
'Lets bindings name a version together with its entity.';
COMMENT ON CONSTRAINT a_published_version_has_its_publication_time ON concord.registry_versions IS
'A published or deprecated version records when it was published.';
COMMENT ON CONSTRAINT a_retired_version_has_its_retirement ON concord.registry_versions IS
'A retired version records when and why.';
COMMENT ON CONSTRAINT an_approved_version_names_its_approver ON concord.registry_versions IS
'An approved version names who approved it and when.';

CREATE TABLE concord.registry_artifacts (
    registry_artifact_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    version_id uuid NOT NULL REFERENCES concord.registry_versions (version_id),
    artifact_type text NOT NULL
    CONSTRAINT registry_artifact_type_is_known CHECK (
        artifact_type IN (
            'manifest_yaml', 'manifest_json', 'skill_md', 'tool_schema', 'connector_schema',
            'policy_bundle', 'prompt_template', 'eval_suite', 'example_bundle', 'package_archive'
        )
    ),
    artifact_uri text NOT NULL
    CONSTRAINT registry_artifact_uri_is_not_blank CHECK (btrim(artifact_uri) <> ''),
    checksum text NOT NULL
    CONSTRAINT registry_artifact_checksum_is_a_sha256 CHECK (checksum ~ '^sha256:[0-9a-f]{64}$'),
    metadata jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT registry_artifact_metadata_is_an_object CHECK (jsonb_typeof(metadata) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX registry_artifacts_version_idx ON concord.registry_artifacts (version_id);

COMMENT ON TABLE concord.registry_artifacts IS
'Files a version refers to (spec 109.3): SKILL.md, schemas, prompt templates, bundles; by URI and '
'checksum, frozen with their version.';
COMMENT ON COLUMN concord.registry_artifacts.registry_artifact_id IS
'The artifact reference''s id.';
COMMENT ON COLUMN concord.registry_artifacts.version_id IS 'The version it belongs to.';
COMMENT ON COLUMN concord.registry_artifacts.artifact_type IS
'manifest_yaml, manifest_json, skill_md, tool_schema, connector_schema, policy_bundle, '
'prompt_template, eval_suite, example_bundle or package_archive.';
COMMENT ON COLUMN concord.registry_artifacts.artifact_uri IS 'Where the artifact lives.';
COMMENT ON COLUMN concord.registry_artifacts.checksum IS 'sha256:<hex> of the artifact''s bytes.';
COMMENT ON COLUMN concord.registry_artifacts.metadata IS 'Anything else about it.';
COMMENT ON COLUMN concord.registry_artifacts.created_at IS 'When it was recorded.';
COMMENT ON CONSTRAINT registry_artifact_type_is_known ON concord.registry_artifacts IS
'An artifact is one of the artifact types of spec 109.3.';
COMMENT ON CONSTRAINT registry_artifact_uri_is_not_blank ON concord.registry_artifacts IS
'An artifact has a URI.';
COMMENT ON CONSTRAINT registry_artifact_checksum_is_a_sha256 ON concord.registry_artifacts IS
'An artifact checksum is sha256: followed by 64 hex digits.';
COMMENT ON CONSTRAINT registry_artifact_metadata_is_an_object ON concord.registry_artifacts IS
'Artifact metadata is a JSON object.';

CREATE TABLE concord.registry_relationships (
    registry_relationship_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    source_version_id uuid NOT NULL REFERENCES concord.registry_versions (version_id),
    relationship_type text NOT NULL,
    target_entity_type text NOT NULL REFERENCES concord.registry_entity_types (entity_type),
    target_entity_name text NOT NULL,
    -- as written (">=1.2 <2", "^1.4", "1.0.0"); NULL: any version
    target_version_constraint text NULL,
    -- the constraint as a range of versions
    target_versions semver.semverrange NOT NULL,
    required boolean NOT NULL DEFAULT true,
    metadata jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT registry_relationship_metadata_is_an_object
    CHECK (jsonb_typeof(metadata) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT registry_relationship_is_recorded_once UNIQUE NULLS NOT DISTINCT (
        source_version_id, relationship_type, target_entity_type, target_entity_name, metadata
    )
);

CREATE INDEX registry_relationships_target_idx
ON concord.registry_relationships (target_entity_type, target_entity_name);

COMMENT ON TABLE concord.registry_relationships IS
'The capability graph (spec 108.2, 109.4): what a version uses, creates, requires, produces, '
'reads, writes or spawns, by target type, name and version constraint. Derived from the manifest '
'when the version is created; frozen with it.';
COMMENT ON COLUMN concord.registry_relationships.registry_relationship_id IS 'The edge''s id.';
COMMENT ON COLUMN concord.registry_relationships.source_version_id IS
'The version the edge starts at.';
COMMENT ON COLUMN concord.registry_relationships.relationship_type IS
'What the source does with the target (see concord.registry_relationship_types()).';
COMMENT ON COLUMN concord.registry_relationships.target_entity_type IS
'The target''s registry type.';
COMMENT ON COLUMN concord.registry_relationships.target_entity_name IS 'The target entity''s name.';
COMMENT ON COLUMN concord.registry_relationships.target_version_constraint IS
'The constraint as written (">=1.2 <2", "^1.4", "~1.4", "1.0.0", "*"); NULL: any version.';
COMMENT ON COLUMN concord.registry_relationships.target_versions IS
'The constraint as a semverrange.';
COMMENT ON COLUMN concord.registry_relationships.required IS
'Whether the source cannot work without the target.';
COMMENT ON COLUMN concord.registry_relationships.metadata IS
'Details of the edge: a connector operation''s name, a tool''s mode.';
COMMENT ON COLUMN concord.registry_relationships.created_at IS 'When the edge was recorded.';
COMMENT ON CONSTRAINT registry_relationship_metadata_is_an_object
ON concord.registry_relationships IS
'Relationship metadata is a JSON object.';
COMMENT ON CONSTRAINT registry_relationship_is_recorded_once ON concord.registry_relationships IS
'A version records each edge once.';

CREATE TABLE concord.registry_bindings (
    registry_binding_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    entity_id uuid NOT NULL,
    version_id uuid NOT NULL,
    binding_scope text NOT NULL
    CONSTRAINT registry_binding_scope_is_known CHECK (
        binding_scope IN (
            'user', 'team', 'tenant', 'workflow_type', 'command_type', 'agent_role',
            'agent_name', 'app', 'environment', 'global'
        )
    ),
    binding_target text NOT NULL
    CONSTRAINT registry_binding_target_is_not_blank CHECK (
        btrim(binding_target) <> '' AND length(binding_target) <= 200
    ),
    environment text NOT NULL DEFAULT 'prod'
    CONSTRAINT registry_binding_environment_is_a_name CHECK (
        environment ~ '^[a-z][a-z0-9_-]{0,62}$'
    ),
    status text NOT NULL DEFAULT 'active'
    CONSTRAINT registry_binding_status_is_known CHECK (status IN ('active', 'disabled')),
    rollout_strategy text NOT NULL DEFAULT 'pinned'
    CONSTRAINT registry_rollout_strategy_is_known CHECK (rollout_strategy IN ('pinned', 'canary')),
    rollout_config jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT registry_rollout_config_is_an_object CHECK (jsonb_typeof(rollout_config) = 'object'),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    disabled_reason text NULL,
    CONSTRAINT a_binding_names_a_version_of_its_entity FOREIGN KEY (version_id, entity_id)
    REFERENCES concord.registry_versions (version_id, entity_id),
    CONSTRAINT a_global_binding_targets_everyone CHECK (
        binding_scope <> 'global' OR binding_target = '*'
    ),
    CONSTRAINT a_disabled_binding_says_why
    CHECK (status <> 'disabled' OR disabled_reason IS NOT null)
);

CREATE UNIQUE INDEX one_active_binding_per_scope_target_and_strategy
ON concord.registry_bindings (
    entity_id, environment, binding_scope, binding_target, rollout_strategy
)
WHERE status = 'active';
CREATE INDEX registry_bindings_version_idx ON concord.registry_bindings (version_id);
-- resolution reads every binding of one entity, active or disabled by a
-- retirement, which the partial unique index above cannot serve
CREATE INDEX registry_bindings_entity_idx ON concord.registry_bindings (entity_id);

COMMENT ON TABLE concord.registry_bindings IS
'Which version of an entity is in force where (spec 109.3, 112): by scope and target, per '
'environment, pinned or canary. A binding''s version changes only through rebinding or rollback, '
'each written as a lifecycle event.';
COMMENT ON COLUMN concord.registry_bindings.registry_binding_id IS 'The binding''s id.';
COMMENT ON COLUMN concord.registry_bindings.entity_id IS 'The entity bound.';
COMMENT ON COLUMN concord.registry_bindings.version_id IS
'The version in force through the binding.';
COMMENT ON COLUMN concord.registry_bindings.binding_scope IS
'user, team, tenant, workflow_type, command_type, agent_role, agent_name, app, environment or '
'global: the precedence of spec 106.4, most specific first.';
COMMENT ON COLUMN concord.registry_bindings.binding_target IS
'Who or what the scope names: a principal (user), organisation/team (team), organisation '
'(tenant), organisation/project (app), a type, role or agent name; * for global.';
COMMENT ON COLUMN concord.registry_bindings.environment IS
'The environment the binding applies in.';
COMMENT ON COLUMN concord.registry_bindings.status IS 'active or disabled.';
COMMENT ON COLUMN concord.registry_bindings.rollout_strategy IS
'pinned (everyone in scope) or canary (a share of subjects chosen by a deterministic hash).';
COMMENT ON COLUMN concord.registry_bindings.rollout_config IS
'For a canary: {"percent": 0-100, "subject": "user" | "tenant" | "app"}.';
COMMENT ON COLUMN concord.registry_bindings.created_by IS 'Who created the binding.';
COMMENT ON COLUMN concord.registry_bindings.created_at IS 'When it was created.';
COMMENT ON COLUMN concord.registry_bindings.updated_at IS 'When it last changed.';
COMMENT ON COLUMN concord.registry_bindings.disabled_reason IS 'Why it was disabled.';
COMMENT ON CONSTRAINT registry_binding_scope_is_known ON concord.registry_bindings IS
'A binding scope is one of the ten scopes of spec 106.4.';
COMMENT ON CONSTRAINT registry_binding_target_is_not_blank ON concord.registry_bindings IS
'A binding target is not blank and at most 200 characters.';
COMMENT ON CONSTRAINT registry_binding_environment_is_a_name ON concord.registry_bindings IS
'An environment is a lowercase name.';
COMMENT ON CONSTRAINT registry_binding_status_is_known ON concord.registry_bindings IS
'A binding is active or disabled.';
COMMENT ON CONSTRAINT registry_rollout_strategy_is_known ON concord.registry_bindings IS
'A rollout is pinned or canary.';
COMMENT ON CONSTRAINT registry_rollout_config_is_an_object ON concord.registry_bindings IS
'A rollout configuration is a JSON object.';
COMMENT ON CONSTRAINT a_binding_names_a_version_of_its_entity ON concord.registry_bindings IS
'A binding''s version is a version of the binding''s entity.';
COMMENT ON CONSTRAINT a_global_binding_targets_everyone ON concord.registry_bindings IS
'A global binding''s target is *.';
COMMENT ON CONSTRAINT a_disabled_binding_says_why ON concord.registry_bindings IS
'A disabled binding records why.';
COMMENT ON INDEX concord.one_active_binding_per_scope_target_and_strategy IS
'At most one active pinned and one active canary binding per entity, environment, scope '
'and target.';

CREATE TABLE concord.registry_lifecycle_events (
    registry_lifecycle_event_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    entity_id uuid NOT NULL REFERENCES concord.registry_entities (entity_id),
    version_id uuid NULL REFERENCES concord.registry_versions (version_id),
    binding_id uuid NULL REFERENCES concord.registry_bindings (registry_binding_id),
    -- the governed command that made the change
    command_id uuid NULL REFERENCES concord.commands (command_id),
    event_type text NOT NULL
    CONSTRAINT registry_event_type_is_an_identifier CHECK (event_type ~ '^[a-z][a-z0-9_]*$'),
    actor text NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT registry_event_payload_is_an_object CHECK (jsonb_typeof(payload) = 'object'),
    trace_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX registry_lifecycle_events_entity_idx
ON concord.registry_lifecycle_events (entity_id, created_at);
CREATE INDEX registry_lifecycle_events_version_idx
ON concord.registry_lifecycle_events (version_id);

COMMENT ON TABLE concord.registry_lifecycle_events IS
'Every change of the registry, append-only (spec 109.3): created, validated, approval requested, '
'approved, published, bound, rebound, rolled back, deprecated, retired, emergency retirement.';
COMMENT ON COLUMN concord.registry_lifecycle_events.registry_lifecycle_event_id IS
'The event''s id.';
COMMENT ON COLUMN concord.registry_lifecycle_events.entity_id IS 'The entity concerned.';
COMMENT ON COLUMN concord.registry_lifecycle_events.version_id IS 'The version concerned, if any.';
COMMENT ON COLUMN concord.registry_lifecycle_events.binding_id IS 'The binding concerned, if any.';
COMMENT ON COLUMN concord.registry_lifecycle_events.command_id IS
'The governed concord.registry.* command that made the change.';
COMMENT ON COLUMN concord.registry_lifecycle_events.event_type IS 'What happened.';
COMMENT ON COLUMN concord.registry_lifecycle_events.actor IS 'Who did it.';
COMMENT ON COLUMN concord.registry_lifecycle_events.payload IS 'The details.';
COMMENT ON COLUMN concord.registry_lifecycle_events.trace_id IS 'The trace it belongs to.';
COMMENT ON COLUMN concord.registry_lifecycle_events.created_at IS 'When it happened.';
COMMENT ON CONSTRAINT registry_event_type_is_an_identifier ON concord.registry_lifecycle_events IS
'An event type is a lowercase identifier.';
COMMENT ON CONSTRAINT registry_event_payload_is_an_object ON concord.registry_lifecycle_events IS
'An event payload is a JSON object.';

CREATE TABLE concord.registry_evaluations (
    registry_evaluation_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    version_id uuid NOT NULL REFERENCES concord.registry_versions (version_id),
    evaluation_type text NOT NULL
    CONSTRAINT registry_evaluation_type_is_not_blank CHECK (btrim(evaluation_type) <> ''),
    status text NOT NULL
    CONSTRAINT registry_evaluation_status_is_known CHECK (status IN ('passed', 'failed', 'error')),
    result jsonb NOT NULL DEFAULT '{}',
    error text NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz NULL
);

CREATE INDEX registry_evaluations_version_idx ON concord.registry_evaluations (version_id);

COMMENT ON TABLE concord.registry_evaluations IS
'The checks run on a version before it may publish (spec 109.4): manifest, relationships, '
'compatibility, and evaluation suites; append-only.';
COMMENT ON COLUMN concord.registry_evaluations.registry_evaluation_id IS 'The evaluation''s id.';
COMMENT ON COLUMN concord.registry_evaluations.version_id IS 'The version evaluated.';
COMMENT ON COLUMN concord.registry_evaluations.evaluation_type IS
'manifest, relationships, compatibility, or an evaluation suite''s name.';
COMMENT ON COLUMN concord.registry_evaluations.status IS 'passed, failed or error.';
COMMENT ON COLUMN concord.registry_evaluations.result IS 'What it found.';
COMMENT ON COLUMN concord.registry_evaluations.error IS
'The error of an evaluation that could not run.';
COMMENT ON COLUMN concord.registry_evaluations.created_at IS 'When it started.';
COMMENT ON COLUMN concord.registry_evaluations.completed_at IS 'When it ended.';
COMMENT ON CONSTRAINT registry_evaluation_type_is_not_blank ON concord.registry_evaluations IS
'An evaluation has a type.';
COMMENT ON CONSTRAINT registry_evaluation_status_is_known ON concord.registry_evaluations IS
'An evaluation passed, failed or could not run (error).';

CREATE TABLE concord.registry_usage (
    registry_usage_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- NULL for a refused resolution that found no version
    version_id uuid NULL REFERENCES concord.registry_versions (version_id),
    entity_id uuid NOT NULL REFERENCES concord.registry_entities (entity_id),
    agent_run_id uuid NULL,
    swarm_run_id uuid NULL,
    command_id uuid NULL,
    workflow_run_id text NULL,
    usage_type text NOT NULL
    CONSTRAINT registry_usage_type_is_known CHECK (
        usage_type IN (
            'resolved_for_agent_run', 'tool_enabled', 'command_proposed',
            'connector_operation_enabled', 'memory_read_enabled', 'memory_write_proposed',
            'artifact_created', 'subagent_spawn_enabled', 'policy_applied', 'approval_type_used',
            'contract_resolved', 'deprecated_version_resolved', 'retired_version_refused'
        )
    ),
    payload jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT registry_usage_payload_is_an_object CHECK (jsonb_typeof(payload) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX registry_usage_version_idx ON concord.registry_usage (version_id, usage_type);
CREATE INDEX registry_usage_entity_idx ON concord.registry_usage (entity_id, usage_type);

COMMENT ON TABLE concord.registry_usage IS
'What used which version, append-only (spec 109.4, 117): resolutions, enabled tools, applied '
'policies, deprecated versions resolved, retired versions refused.';
COMMENT ON COLUMN concord.registry_usage.registry_usage_id IS 'The usage row''s id.';
COMMENT ON COLUMN concord.registry_usage.version_id IS
'The version used (NULL: refused before one was found).';
COMMENT ON COLUMN concord.registry_usage.entity_id IS 'The entity used.';
COMMENT ON COLUMN concord.registry_usage.agent_run_id IS 'The agent run that used it.';
COMMENT ON COLUMN concord.registry_usage.swarm_run_id IS 'The swarm run that used it.';
COMMENT ON COLUMN concord.registry_usage.command_id IS 'The command that used it.';
COMMENT ON COLUMN concord.registry_usage.workflow_run_id IS 'The DBOS workflow that used it.';
COMMENT ON COLUMN concord.registry_usage.usage_type IS 'How it was used.';
COMMENT ON COLUMN concord.registry_usage.payload IS 'The details.';
COMMENT ON COLUMN concord.registry_usage.created_at IS 'When.';
COMMENT ON CONSTRAINT registry_usage_type_is_known ON concord.registry_usage IS
'A usage is one of the usage types of spec 109.4, or a resolution, a deprecated version resolved, '
'a retired version refused.';
COMMENT ON CONSTRAINT registry_usage_payload_is_an_object ON concord.registry_usage IS
'A usage payload is a JSON object.';

-- The environment this database serves (bindings are per environment):
-- one row, kept by operators, never a caller's session setting.
CREATE TABLE concord.registry_environment (
    singleton boolean PRIMARY KEY DEFAULT true
    CONSTRAINT registry_environment_is_one_row CHECK (singleton),
    environment text NOT NULL DEFAULT 'prod'
    CONSTRAINT registry_current_environment_is_a_name CHECK (
        environment ~ '^[a-z][a-z0-9_-]{0,62}$'
    )
);

INSERT INTO concord.registry_environment (singleton, environment) VALUES (true, 'prod');

COMMENT ON TABLE concord.registry_environment IS
'The environment this database serves: resolution uses the bindings of this environment.';
COMMENT ON COLUMN concord.registry_environment.singleton IS 'Always true: the table has one row.';
COMMENT ON COLUMN concord.registry_environment.environment IS 'The environment''s name.';
COMMENT ON CONSTRAINT registry_environment_is_one_row ON concord.registry_environment IS
'The environment table has exactly one row.';
COMMENT ON CONSTRAINT registry_current_environment_is_a_name ON concord.registry_environment IS
'An environment is a lowercase name.';

-- == contracts_on_commands ==
-- Every command records the command type contract version it was judged
-- under (issue 14 section 3); commands from before 0008 are given the
-- version 1.0.0 that the catalogs are adopted as (sql/registry/adoption.sql).
ALTER TABLE concord.commands
ADD COLUMN contract_version_id uuid NULL REFERENCES concord.registry_versions (version_id);

CREATE INDEX commands_contract_version_idx ON concord.commands (contract_version_id);

COMMENT ON COLUMN concord.commands.contract_version_id IS
'The command type contract version (registry_versions) the command was judged under: resolved '
'at submission, never changed after.';

-- The minimized runtime manifest an agent run was started with (spec 112.4).
ALTER TABLE concord.agent_runs
ADD COLUMN runtime_manifest jsonb NOT NULL DEFAULT '{}'
CONSTRAINT runtime_manifest_is_an_object CHECK (jsonb_typeof(runtime_manifest) = 'object');

COMMENT ON COLUMN concord.agent_runs.runtime_manifest IS
'The minimized runtime manifest resolved when the run started (spec 112.4): the skills, tools, '
'memory and artifact scopes it may use; {} for a run started before 0008.';
COMMENT ON CONSTRAINT runtime_manifest_is_an_object ON concord.agent_runs IS
'A runtime manifest is a JSON object.';

-- == registry_commands ==
-- The catalogs' guards (sql/, installed on an upgraded database) refuse new
-- built-in rows: they are off for these inserts, which bring the registry's
-- own command types, policy and approval type with this release.
ALTER TABLE concord.policies DISABLE TRIGGER USER;
ALTER TABLE concord.approval_types DISABLE TRIGGER USER;
ALTER TABLE concord.command_types DISABLE TRIGGER USER;

-- A command whose contract was retired under it, or a capability that no
-- longer resolves (spec 111.4): not retryable, a new version must be bound.
INSERT INTO concord.error_classes (error_class, retryable, description) VALUES
(
    'contract_unavailable', false,
    'the contract or capability the command relies on was retired or unbound'
)
ON CONFLICT (error_class) DO NOTHING;

-- Every registry mutation is a governed command (spec 114): recorded,
-- judged by its policies, audited, approval-gated. Publication, binding,
-- rollback and retirement run as DBOS workflows (spec 113) on any worker.
INSERT INTO concord.approval_types (
    name, description, risk_level, approver_path, decision_values, default_expiry_minutes, spec
) VALUES (
    'concord.registry_high_risk_change',
    'An owner of the entity''s organisation, other than the version''s creator and the '
    'requester, approves the publication of a high-risk registry version (spec 111.3).',
    'high', '$."payload"."approvers"[*]', '{approved,rejected}', 10080,
    '{"name": "concord.registry_high_risk_change", "approver": {"path": "$.payload.approvers[*]"}, '
    '"risk_level": "high"}'
)
ON CONFLICT (name) DO NOTHING;

INSERT INTO concord.policies (name, kind, description, config, spec) VALUES (
    'registry_high_risk', 'builtin',
    'A registry version that needs approval (a high-risk object or change of an '
    'organisation, spec 111.3) is published only after an owner of its organisation approves.',
    '{}', '{"name": "registry_high_risk"}'
)
ON CONFLICT (name) DO NOTHING;

INSERT INTO concord.command_types (
    command_type, name, description, sync_allowed, async_required, approval_required, policy_checks,
    risk_level, max_attempts
) VALUES
(
    'concord.registry.create_entity', 'Create a registry entity',
    'A new capability in the Domain Registry (spec 114).',
    true, false, false, '{}', 'low', 1
),
(
    'concord.registry.create_version', 'Create a registry version',
    'A draft version of a registry entity, its change classified (spec 110, 114).',
    true, false, false, '{}', 'low', 1
),
(
    'concord.registry.validate_version', 'Validate a registry version',
    'A draft''s manifest, relationships and compatibility checked (spec 111.1).',
    true, false, false, '{}', 'low', 1
),
(
    'concord.registry.publish_version', 'Publish a registry version',
    'A version made immutable and bindable, after an owner''s approval when high-risk '
    '(spec 111, 113).',
    false, true, false, '{registry_high_risk}', 'medium', 3
),
(
    'concord.registry.bind_version', 'Bind a registry version',
    'A published version put in force at a scope (spec 112, 113).',
    false, true, false, '{}', 'medium', 3
),
(
    'concord.registry.rollback_binding', 'Roll a registry binding back',
    'A binding pointed back at a prior version (spec 113).',
    false, true, false, '{}', 'medium', 3
),
(
    'concord.registry.deprecate_version', 'Deprecate a registry version',
    'A version that still resolves, with a warning, and takes no new binding.',
    true, false, false, '{}', 'low', 1
),
(
    'concord.registry.retire_version', 'Retire a registry version',
    'A version that never resolves again; an emergency blocks it at once (spec 111.4, 113).',
    false, true, false, '{}', 'high', 3
),
(
    'concord.registry.reject_version', 'Reject a registry version',
    'A draft or a version waiting for publication, withdrawn for good.',
    true, false, false, '{}', 'low', 1
)
ON CONFLICT (command_type) DO NOTHING;

ALTER TABLE concord.policies ENABLE TRIGGER USER;
ALTER TABLE concord.approval_types ENABLE TRIGGER USER;
ALTER TABLE concord.command_types ENABLE TRIGGER USER;
