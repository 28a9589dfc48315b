-- 0002 governance: the error taxonomy, policies and their decisions, grants
-- and teams, approval types and approvals, and the plan of a command.
-- Spec sections 4.3, 7.3-7.4, 13.3, 14, 21, 22, 29, 32, 81.2, 86, 95, 107.3.
--
-- Forward-only: once released this file is never edited; change = new file.

DO $roles$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['concord_approver', 'concord_admin'] LOOP
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

-- request_changes sends a command waiting for approval back for input. The
-- state machine refuses writes outside migrations (sql/10_state_machine.sql):
-- this one switches the guard off around its change.
ALTER TABLE concord.command_transitions DISABLE TRIGGER USER;
INSERT INTO concord.command_transitions (from_status, to_status, reopens)
VALUES ('waiting_for_approval', 'waiting_for_input', false);
ALTER TABLE concord.command_transitions ENABLE TRIGGER USER;

-- ---------------------------------------------------------------------------
-- Error taxonomy (spec 32): every error_class written on a command or an
-- effect is one of these.
-- ---------------------------------------------------------------------------
CREATE TABLE concord.error_classes (
    error_class text PRIMARY KEY
    CONSTRAINT error_class_is_not_blank CHECK (btrim(error_class) <> ''),
    retryable boolean NOT NULL,
    description text NOT NULL
);

INSERT INTO concord.error_classes (error_class, retryable, description) VALUES
('transient_connector_error', true, 'a connector failed in a way that may pass'),
('rate_limited', true, 'the outside system asked us to slow down'),
('timeout', true, 'no answer in time'),
('temporary_database_error', true, 'a serialization failure, deadlock or lost connection'),
('validation_error', false, 'the input is not valid for the command type'),
('policy_denied', false, 'a policy denied the command'),
('approval_rejected', false, 'an approver rejected the command'),
('approval_expired', false, 'nobody decided the approval before it expired'),
('permission_denied', false, 'the caller may not do this'),
('malformed_payload', false, 'the payload cannot be read'),
('dependency_failed', false, 'a command this one depends on can no longer succeed'),
('cancelled', false, 'someone cancelled the command');

-- Classes written before the taxonomy existed are kept (not retryable), so
-- the foreign keys below hold without losing history.
INSERT INTO concord.error_classes (error_class, retryable, description)
SELECT DISTINCT
    x.error_class,
    false AS retryable,
    'recorded before the error taxonomy (migration 0002)' AS description
FROM (
    SELECT c.error_class FROM concord.commands AS c
    WHERE c.error_class IS NOT null
    UNION
    SELECT e.error_class FROM concord.domain_effects AS e
    WHERE e.error_class IS NOT null
) AS x
WHERE btrim(x.error_class) <> '' AND length(x.error_class) <= 200
ON CONFLICT (error_class) DO NOTHING;

-- A blank (or absurdly long) class cannot be a key: a command keeps it in
-- error_detail and loses the class; an effect (whose failure must be
-- classified) becomes malformed_payload. The tables' own triggers forbid outcome changes without
-- a status change, so user triggers are off for these two statements.
ALTER TABLE concord.commands DISABLE TRIGGER USER;
UPDATE concord.commands AS c SET
    error_detail = coalesce(c.error_detail, '{}'::jsonb)
    || jsonb_build_object('legacy_error_class', c.error_class),
    error_class = null
WHERE btrim(c.error_class) = '' OR length(c.error_class) > 200;
ALTER TABLE concord.commands ENABLE TRIGGER USER;
ALTER TABLE concord.domain_effects DISABLE TRIGGER USER;
UPDATE concord.domain_effects AS e SET error_class = 'malformed_payload'
WHERE btrim(e.error_class) = '' OR length(e.error_class) > 200;
ALTER TABLE concord.domain_effects ENABLE TRIGGER USER;

ALTER TABLE concord.commands
ADD CONSTRAINT commands_error_class_is_known
FOREIGN KEY (error_class) REFERENCES concord.error_classes (error_class);

ALTER TABLE concord.domain_effects
ADD CONSTRAINT domain_effects_error_class_is_known
FOREIGN KEY (error_class) REFERENCES concord.error_classes (error_class);

-- ---------------------------------------------------------------------------
-- Teams (or roles) and grants: who may submit which command type.
-- ---------------------------------------------------------------------------
CREATE TABLE concord.team_members (
    team text NOT NULL CONSTRAINT team_is_a_name CHECK (btrim(team) <> '' AND length(team) <= 256),
    principal text NOT NULL
    CONSTRAINT principal_is_a_name CHECK (btrim(principal) <> '' AND length(principal) <= 256),
    added_by text NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team, principal),
    CONSTRAINT a_team_is_not_its_own_member CHECK (team <> principal)
);

CREATE INDEX team_members_principal_idx ON concord.team_members (principal);

CREATE TABLE concord.command_type_grants (
    command_type text NOT NULL REFERENCES concord.command_types (command_type),
    principal text NOT NULL
    CONSTRAINT principal_is_a_name CHECK (btrim(principal) <> '' AND length(principal) <= 256),
    granted_by text NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (command_type, principal)
);

-- ---------------------------------------------------------------------------
-- Approval types (spec 107.3).
-- ---------------------------------------------------------------------------
CREATE TABLE concord.approval_types (
    name text PRIMARY KEY
    CONSTRAINT approval_type_is_an_identifier
    CHECK (name ~ '^[a-z][a-z0-9_.:-]*$' AND length(name) <= 128),
    version text NOT NULL DEFAULT '1.0.0',
    description text NOT NULL DEFAULT '',
    risk_level text NOT NULL DEFAULT 'medium'
    CONSTRAINT risk_level_is_known CHECK (risk_level IN ('low', 'medium', 'high', 'critical')),
    required_fields text[] NOT NULL DEFAULT '{}'
    CONSTRAINT required_fields_hold_no_nulls CHECK (array_position(required_fields, null) IS null),
    decision_values text[] NOT NULL DEFAULT '{approved,rejected,request_changes}'
    CONSTRAINT decision_values_are_known CHECK (
        decision_values <@ ARRAY['approved', 'rejected', 'request_changes']
        AND decision_values @> ARRAY['approved', 'rejected']
    ),
    default_expiry_minutes integer NOT NULL DEFAULT 1440
    CONSTRAINT default_expiry_is_positive CHECK (default_expiry_minutes > 0),
    -- exactly one way to find the approver: principals, a team, or a path
    approver_principals text[] NULL,
    approver_team text NULL,
    approver_path jsonpath NULL,
    on_approved text NOT NULL DEFAULT 'continue_workflow'
    CONSTRAINT on_approved_is_known CHECK (on_approved IN ('continue_workflow')),
    on_rejected text NOT NULL DEFAULT 'fail'
    CONSTRAINT on_rejected_is_known CHECK (on_rejected IN ('fail', 'fail_or_replan', 'cancel')),
    on_request_changes text NOT NULL DEFAULT 'request_input'
    CONSTRAINT on_request_changes_is_known CHECK (on_request_changes IN ('request_input')),
    ui jsonb NOT NULL DEFAULT '{}',
    spec jsonb NOT NULL DEFAULT '{}',
    revision integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT one_approver_resolution CHECK (
        num_nonnulls(approver_principals, approver_team, approver_path) = 1
    ),
    CONSTRAINT approver_principals_are_not_empty CHECK (
        cardinality(approver_principals) > 0 AND array_position(approver_principals, null) IS null
    )
);

INSERT INTO concord.approval_types (
    name, description, risk_level, approver_team, approver_path, spec
) VALUES
(
    'standard', 'An approval by any member of team:approvers', 'medium', 'team:approvers', null,
    '{"name": "standard", "approver": {"team": "team:approvers"}}'
),
(
    'data_owner', 'An approval by a data owner: any member of team:data_owners (spec 21)',
    'high', 'team:data_owners', null,
    '{"name": "data_owner", "approver": {"team": "team:data_owners"}, "risk_level": "high"}'
);

-- ---------------------------------------------------------------------------
-- Policies (spec 21): built-in, declarative (a SQL/JSON path predicate) or
-- executable (a SQL function (command jsonb, context jsonb) returns jsonb).
-- ---------------------------------------------------------------------------
CREATE TABLE concord.policies (
    -- register_policy asks for an identifier; placeholders (below) keep
    -- whatever name a command type used before 0002
    name text PRIMARY KEY
    CONSTRAINT policy_name_is_not_blank CHECK (btrim(name) <> '' AND length(name) <= 128),
    kind text NOT NULL CONSTRAINT kind_is_known CHECK (
        kind IN ('builtin', 'declarative', 'executable')
    ),
    description text NOT NULL DEFAULT '',
    predicate jsonpath NULL,
    vars jsonb NOT NULL DEFAULT '{}' CONSTRAINT vars_is_an_object CHECK (
        jsonb_typeof(vars) = 'object'
    ),
    decision text NULL
    CONSTRAINT decision_is_not_allow
    CHECK (decision IN ('deny', 'require_input', 'require_approval')),
    on_unknown text NULL
    CONSTRAINT on_unknown_is_a_decision
    CHECK (on_unknown IN ('allow', 'deny', 'require_input', 'require_approval')),
    reasons text[] NOT NULL DEFAULT '{}',
    approval_type text NULL REFERENCES concord.approval_types (name),
    missing_fields text[] NOT NULL DEFAULT '{}',
    function_name text NULL,
    config jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT config_is_an_object CHECK (jsonb_typeof(config) = 'object'),
    spec jsonb NOT NULL DEFAULT '{}',
    version integer NOT NULL DEFAULT 1,
    checksum text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT declarative_policies_have_a_predicate CHECK (
        kind <> 'declarative' OR (predicate IS NOT null AND decision IS NOT null)
    ),
    CONSTRAINT executable_policies_name_a_function CHECK (
        (kind = 'executable') = (function_name IS NOT null)
    ),
    CONSTRAINT approval_decisions_name_an_approval_type CHECK (
        kind <> 'declarative' OR (decision = 'require_approval') = (approval_type IS NOT null)
    )
);

INSERT INTO concord.policies (name, kind, description, config, spec) VALUES
(
    'required_inputs', 'builtin',
    'The command type''s required inputs are present; otherwise wait for input.', '{}',
    '{"name": "required_inputs"}'
),
(
    'permission', 'builtin',
    'The requester holds a grant for the command type, directly or through a team.', '{}',
    '{"name": "permission"}'
),
(
    'external_sharing', 'builtin',
    'A destination with @ or starting with external: needs the data owner''s approval (spec 21).',
    '{"fields": ["destination"], "approval_type": "data_owner"}',
    '{"name": "external_sharing",
      "config": {"fields": ["destination"], "approval_type": "data_owner"}}'
),
(
    'risk', 'builtin', 'High-risk command types need approval.',
    '{"levels": ["high", "critical"], "approval_type": "standard"}',
    '{"name": "risk", "config": {"levels": ["high", "critical"], "approval_type": "standard"}}'
),
(
    'cost', 'builtin',
    'An estimated cost above the command type''s budget needs approval or is denied.', '{}',
    '{"name": "cost"}'
),
(
    'approval_required', 'builtin',
    'Command types marked approval_required need approval.', '{}',
    '{"name": "approval_required"}'
);

-- A policy a command type named before policies existed (the spec's own
-- data_access, say) becomes a placeholder that denies until it is registered
-- for real: fail closed, nothing lost.
INSERT INTO concord.policies (name, kind, description, predicate, decision, reasons, spec)
SELECT
    legacy.name,
    'declarative' AS kind,
    'placeholder created by migration 0002; register the real policy to replace it' AS description,
    'true'::jsonpath AS predicate,
    'deny' AS decision,
    ARRAY[
        format(
            'policy %s is not defined yet: register it with concord.register_policy', legacy.name
        )
    ] AS reasons,
    jsonb_build_object('name', legacy.name, 'placeholder', true) AS spec
FROM (
    SELECT DISTINCT pc.name
    FROM concord.command_types AS ct
    CROSS JOIN LATERAL unnest(ct.policy_checks) AS pc (name)
    WHERE btrim(pc.name) <> '' AND length(pc.name) <= 128
) AS legacy
ON CONFLICT (name) DO NOTHING;

UPDATE concord.policies AS p SET checksum = md5(p.spec::text);

-- Command types name an approval type and a cost budget.
ALTER TABLE concord.command_types
ADD COLUMN approval_type text NULL REFERENCES concord.approval_types (name),
ADD COLUMN cost_budget numeric NULL
CONSTRAINT cost_budget_is_not_negative CHECK (cost_budget >= 0),
ADD COLUMN over_budget text NOT NULL DEFAULT 'require_approval'
CONSTRAINT over_budget_is_known CHECK (over_budget IN ('require_approval', 'deny'));

-- One row per policy per evaluation. Append-only.
-- policy is not a foreign key: a key share lock on the same few policy rows
-- from every concurrent submit would serialise them on MultiXacts. Policies
-- are never deleted (a trigger refuses it), so the name always resolves.
CREATE TABLE concord.policy_decisions (
    decision_id bigint GENERATED ALWAYS AS IDENTITY,
    evaluation_id uuid NOT NULL,
    command_id uuid NOT NULL REFERENCES concord.commands (command_id),
    policy text NOT NULL,
    policy_version integer NOT NULL,
    policy_checksum text NOT NULL,
    decision text NOT NULL
    CONSTRAINT decision_is_known
    CHECK (decision IN ('allow', 'deny', 'require_input', 'require_approval')),
    reasons jsonb NOT NULL DEFAULT '[]',
    approval_type text NULL,
    missing_fields jsonb NOT NULL DEFAULT '[]',
    inputs_digest text NOT NULL,
    actor text NOT NULL,
    decided_at timestamptz NOT NULL DEFAULT now(),
    -- one index serves both identity and the per-command history
    PRIMARY KEY (command_id, decision_id)
);

-- The latest combined evaluation and the plan live on the command.
ALTER TABLE concord.commands
ADD COLUMN policy_evaluation jsonb NULL,
ADD COLUMN plan jsonb NULL;

-- ---------------------------------------------------------------------------
-- Approvals (spec 22).
-- ---------------------------------------------------------------------------
CREATE TABLE concord.approvals (
    approval_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    command_id uuid NOT NULL REFERENCES concord.commands (command_id),
    evaluation_id uuid NOT NULL,
    approval_type text NOT NULL REFERENCES concord.approval_types (name),
    requested_by text NOT NULL,
    approver text NOT NULL,
    eligible_approvers text[] NOT NULL DEFAULT '{}',
    approver_team text NULL,
    request_payload jsonb NOT NULL DEFAULT '{}',
    review_packet jsonb NOT NULL DEFAULT '{}',
    status text NOT NULL DEFAULT 'pending'
    CONSTRAINT approval_status_is_known CHECK (
        status IN ('pending', 'approved', 'rejected', 'changes_requested', 'expired', 'cancelled')
    ),
    decision text NULL
    CONSTRAINT decision_is_known CHECK (decision IN ('approved', 'rejected', 'request_changes')),
    decided_by text NULL,
    reason text NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    decided_at timestamptz NULL,
    CONSTRAINT someone_can_decide CHECK (
        cardinality(eligible_approvers) > 0 OR approver_team IS NOT null
    ),
    CONSTRAINT a_decision_names_who_and_when CHECK (
        (decision IS null) = (decided_by IS null) AND (decision IS null) = (decided_at IS null)
    ),
    CONSTRAINT decided_approvals_carry_their_decision CHECK (
        (status IN ('approved', 'rejected', 'changes_requested')) = (decision IS NOT null)
    ),
    CONSTRAINT nobody_approves_their_own_command CHECK (decided_by IS DISTINCT FROM requested_by),
    CONSTRAINT one_approval_per_type_per_evaluation UNIQUE (evaluation_id, approval_type)
);

CREATE INDEX approvals_command_idx ON concord.approvals (command_id, created_at);
CREATE INDEX approvals_pending_expiry_idx ON concord.approvals (expires_at)
WHERE status = 'pending';
