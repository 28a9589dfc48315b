-- 0006 identity: principals that cannot be forged, organisations and projects,
-- memberships with roles, API tokens, "act as" grants, and the NOLOGIN role that
-- owns every table. Spec 22, 45, 46; DESIGN "Who is speaking".
--
-- Existing data moves into the default organisation and its default project
-- (fixed ids, so a fresh install and an upgraded one hold the same rows).
--
-- Forward-only: once released this file is never edited; change = new file.

-- The owner of every Concord table, view and function. NOLOGIN and granted to
-- no application role: no login can disable a trigger or bypass row security.
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'concord_owner') THEN
        BEGIN
            CREATE ROLE concord_owner NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END
$roles$;

CREATE TABLE concord.organisations (
    org_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL
    CONSTRAINT organisation_name_is_a_slug CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organisation_name_is_unique UNIQUE (name)
);

CREATE TABLE concord.projects (
    project_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES concord.organisations (org_id),
    name text NOT NULL
    CONSTRAINT project_name_is_a_slug CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT project_name_is_unique_in_its_organisation UNIQUE (org_id, name)
);

CREATE TABLE concord.principals (
    principal_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- canonical form (sql/identity/names.sql): NFKC, case-folded, no
    -- invisible, control or separator characters; checked by trigger
    name text NOT NULL
    CONSTRAINT principal_name_is_not_blank CHECK (btrim(name) <> '' AND length(name) <= 128),
    kind text NOT NULL
    CONSTRAINT principal_kind_is_known CHECK (kind IN ('user', 'service', 'agent')),
    display_name text NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz NULL,
    CONSTRAINT principal_name_is_unique UNIQUE (name)
);

-- A database login speaking as a principal (psql users, operators, services).
CREATE TABLE concord.principal_logins (
    login name PRIMARY KEY,
    principal_id uuid NOT NULL REFERENCES concord.principals (principal_id),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX principal_logins_principal_idx ON concord.principal_logins (principal_id);

CREATE TABLE concord.memberships (
    membership_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES concord.organisations (org_id),
    -- NULL: every project of the organisation
    project_id uuid NULL REFERENCES concord.projects (project_id),
    principal_id uuid NOT NULL REFERENCES concord.principals (principal_id),
    role text NOT NULL
    CONSTRAINT membership_role_is_known CHECK (
        role IN ('owner', 'admin', 'approver', 'member', 'reader')
    ),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT a_membership_is_recorded_once UNIQUE NULLS NOT DISTINCT (
        org_id, project_id, principal_id, role
    )
);

CREATE INDEX memberships_principal_idx ON concord.memberships (principal_id);

-- Only the hash of a token is kept; the token itself is shown once.
CREATE TABLE concord.api_tokens (
    token_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    principal_id uuid NOT NULL REFERENCES concord.principals (principal_id),
    token_sha256 bytea NOT NULL
    CONSTRAINT token_hash_is_a_sha256 CHECK (length(token_sha256) = 32),
    label text NULL,
    -- the membership roles the token may use (a subset of the principal's);
    -- NULL: all of them
    scopes text[] NULL
    CONSTRAINT token_scopes_are_roles CHECK (
        scopes <@ ARRAY['owner', 'admin', 'approver', 'member', 'reader']::text[]
    ),
    expires_at timestamptz NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz NULL,
    revoked_by text NULL,
    CONSTRAINT token_hash_is_unique UNIQUE (token_sha256),
    CONSTRAINT a_token_expires_after_it_is_created CHECK (expires_at > created_at),
    CONSTRAINT a_revocation_names_who_revoked CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);

CREATE INDEX api_tokens_principal_idx ON concord.api_tokens (principal_id);

-- A service principal (a gateway, a webhook receiver, the scheduler) may name
-- another principal as the one it acts for, inside one project: one principal
-- of it, or (on_behalf_of_id NULL) any of its members. Always per project, so a
-- grant made by one organisation's admin reaches nothing of another's.
CREATE TABLE concord.act_as_grants (
    act_as_grant_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    service_principal_id uuid NOT NULL REFERENCES concord.principals (principal_id),
    project_id uuid NOT NULL REFERENCES concord.projects (project_id),
    on_behalf_of_id uuid NULL REFERENCES concord.principals (principal_id),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT an_act_as_grant_is_recorded_once UNIQUE NULLS NOT DISTINCT (
        service_principal_id, on_behalf_of_id, project_id
    )
);

-- The secret an agent run acts with, issued when the run starts and handed
-- to its runtime once; only its hash is kept. The project is copied so that
-- authentication reads no row-secured table.
CREATE TABLE concord.agent_run_secrets (
    agent_run_id uuid PRIMARY KEY REFERENCES concord.agent_runs (agent_run_id),
    secret_sha256 bytea NOT NULL
    CONSTRAINT agent_secret_hash_is_a_sha256 CHECK (length(secret_sha256) = 32),
    project_id uuid NOT NULL REFERENCES concord.projects (project_id),
    issued_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT agent_secret_hash_is_unique UNIQUE (secret_sha256)
);

-- The default organisation and project: where existing data lives.
INSERT INTO concord.organisations (org_id, name, created_by)
VALUES ('00000000-0000-4000-8000-00000000000a', 'default', 'concord');

INSERT INTO concord.projects (project_id, org_id, name, created_by)
VALUES (
    '00000000-0000-4000-8000-00000000000b',
    '00000000-0000-4000-8000-00000000000a',
    'default',
    'concord'
);

-- Data belongs to a project. Children (approvals, effects, steps, ...) belong to
-- their command's project; these are the roots.
ALTER TABLE concord.commands
ADD COLUMN project_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-00000000000b'
REFERENCES concord.projects (project_id);

CREATE INDEX commands_project_idx ON concord.commands (project_id);

ALTER TABLE concord.notifications
ADD COLUMN project_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-00000000000b'
REFERENCES concord.projects (project_id);

ALTER TABLE concord.schedules
ADD COLUMN project_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-00000000000b'
REFERENCES concord.projects (project_id);

ALTER TABLE concord.memories
ADD COLUMN project_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-00000000000b'
REFERENCES concord.projects (project_id);

-- A memory key is one project's: another project's active memory under the
-- same key is neither visible nor in the way.
DROP INDEX concord.memories_one_active_per_key;
CREATE UNIQUE INDEX memories_one_active_per_key ON concord.memories (
    project_id, subject_type, subject_id, memory_type, memory_key
)
WHERE status = 'active' AND memory_key IS NOT NULL;

-- An idempotency key names one request within a project: another project's
-- key is neither visible nor in the way.
ALTER TABLE concord.commands DROP CONSTRAINT idempotency_key_is_unique;
ALTER TABLE concord.commands
ADD CONSTRAINT idempotency_key_is_unique UNIQUE (project_id, idempotency_key);

-- Teams and command-type grants belong to an organisation.
ALTER TABLE concord.team_members
ADD COLUMN org_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-00000000000a'
REFERENCES concord.organisations (org_id);
ALTER TABLE concord.team_members DROP CONSTRAINT team_members_pkey;
ALTER TABLE concord.team_members ADD CONSTRAINT team_members_pkey PRIMARY KEY (
    org_id, team, principal
);

ALTER TABLE concord.command_type_grants
ADD COLUMN org_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-00000000000a'
REFERENCES concord.organisations (org_id);
ALTER TABLE concord.command_type_grants DROP CONSTRAINT command_type_grants_pkey;
ALTER TABLE concord.command_type_grants
ADD CONSTRAINT command_type_grants_pkey PRIMARY KEY (org_id, command_type, principal);

-- Who asserted the actor, when a service acted on someone's behalf.
ALTER TABLE concord.domain_events ADD COLUMN asserted_by text NULL;

-- The people already named in the data become principals and members of the
-- default organisation; a name that is not in canonical form is left as
-- history (it can act again only once registered), and so is a name the
-- kernel gives its own actors (agent:<run id>, schedule:<name>, worker:...):
-- no principal may act as one.
INSERT INTO concord.principals (name, kind, created_by)
SELECT DISTINCT
    n.name,
    'user' AS kind,
    'concord' AS created_by
FROM (
    SELECT requested_by AS name FROM concord.commands
    UNION
    SELECT principal FROM concord.team_members
    UNION
    SELECT principal FROM concord.command_type_grants
    UNION
    SELECT decided_by FROM concord.approvals
    WHERE decided_by IS NOT NULL
) AS n
WHERE
    n.name ~ '^[a-z0-9][a-z0-9._@:+-]{0,127}$'
    AND n.name !~ '^(agent|schedule|worker|workflow|kernel|concord):'
    AND n.name <> 'concord'
ON CONFLICT ON CONSTRAINT principal_name_is_unique DO NOTHING;

INSERT INTO concord.memberships (org_id, principal_id, role, created_by)
SELECT
    '00000000-0000-4000-8000-00000000000a' AS org_id,
    p.principal_id,
    'member' AS role,
    'concord' AS created_by
FROM concord.principals AS p;

INSERT INTO concord.memberships (org_id, principal_id, role, created_by)
SELECT DISTINCT
    '00000000-0000-4000-8000-00000000000a'::uuid AS org_id,
    p.principal_id,
    'approver' AS role,
    'concord' AS created_by
FROM concord.principals AS p
INNER JOIN concord.team_members AS m ON p.name = m.principal;

-- What each new table and column means (as 0005 does for the older ones).
COMMENT ON TABLE concord.organisations IS
'An organisation: its projects hold the data, its members act in them by role.';
COMMENT ON COLUMN concord.organisations.org_id IS 'The organisation''s id.';
COMMENT ON COLUMN concord.organisations.name IS 'Its name: a lower-case slug, unique.';
COMMENT ON COLUMN concord.organisations.created_by IS
'Who created it (a principal, or a superuser''s login).';
COMMENT ON COLUMN concord.organisations.created_at IS 'When it was created.';

COMMENT ON TABLE concord.projects IS
'A project of an organisation: commands, schedules, notifications and memories belong to one.';
COMMENT ON COLUMN concord.projects.project_id IS 'The project''s id.';
COMMENT ON COLUMN concord.projects.org_id IS 'The organisation it belongs to.';
COMMENT ON COLUMN concord.projects.name IS
'Its name: a lower-case slug, unique within the organisation.';
COMMENT ON COLUMN concord.projects.created_by IS 'Who created it.';
COMMENT ON COLUMN concord.projects.created_at IS 'When it was created.';

COMMENT ON TABLE concord.principals IS
'Who may act: users and services, each under one canonical name (agents act through their runs).';
COMMENT ON COLUMN concord.principals.principal_id IS 'The principal''s id.';
COMMENT ON COLUMN concord.principals.name IS
'Its canonical name (NFKC, case-folded, no invisible, control or space character), unique.';
COMMENT ON COLUMN concord.principals.kind IS 'user or service (a service may be granted act-as).';
COMMENT ON COLUMN concord.principals.display_name IS 'A name for people to read; decides nothing.';
COMMENT ON COLUMN concord.principals.created_by IS 'Who registered it.';
COMMENT ON COLUMN concord.principals.created_at IS 'When it was registered.';
COMMENT ON COLUMN concord.principals.disabled_at IS
'When it was disabled: a disabled principal authenticates no more, by login or token.';

COMMENT ON TABLE concord.principal_logins IS
'Database logins that speak as a principal (mapped by a superuser).';
COMMENT ON COLUMN concord.principal_logins.login IS 'The login (session_user) that speaks.';
COMMENT ON COLUMN concord.principal_logins.principal_id IS 'The principal it speaks as.';
COMMENT ON COLUMN concord.principal_logins.created_by IS 'The superuser login that mapped it.';
COMMENT ON COLUMN concord.principal_logins.created_at IS 'When it was mapped.';

COMMENT ON TABLE concord.memberships IS
'Who belongs to an organisation (or one of its projects) with which role.';
COMMENT ON COLUMN concord.memberships.membership_id IS 'The membership''s id.';
COMMENT ON COLUMN concord.memberships.org_id IS 'The organisation.';
COMMENT ON COLUMN concord.memberships.project_id IS
'The one project it covers; NULL: every project of the organisation.';
COMMENT ON COLUMN concord.memberships.principal_id IS 'The member.';
COMMENT ON COLUMN concord.memberships.role IS
'owner, admin (run the organisation), approver (decide approvals), member (submit, cancel, '
'give input) or reader (read).';
COMMENT ON COLUMN concord.memberships.created_by IS 'Who added it.';
COMMENT ON COLUMN concord.memberships.created_at IS 'When it was added.';

COMMENT ON TABLE concord.api_tokens IS
'API tokens: shown once when created, kept only as a SHA-256, revocable, expiring.';
COMMENT ON COLUMN concord.api_tokens.token_id IS 'The token''s id (not its secret).';
COMMENT ON COLUMN concord.api_tokens.principal_id IS 'The principal the token authenticates.';
COMMENT ON COLUMN concord.api_tokens.token_sha256 IS
'SHA-256 of the token; the token itself is never stored.';
COMMENT ON COLUMN concord.api_tokens.label IS 'What the token is for, to tell tokens apart.';
COMMENT ON COLUMN concord.api_tokens.scopes IS
'The membership roles the token may use, a subset of its principal''s; NULL: all of them.';
COMMENT ON COLUMN concord.api_tokens.expires_at IS 'After this the token authenticates nothing.';
COMMENT ON COLUMN concord.api_tokens.created_by IS 'Who created it.';
COMMENT ON COLUMN concord.api_tokens.created_at IS 'When it was created.';
COMMENT ON COLUMN concord.api_tokens.revoked_at IS
'When it was revoked (it then authenticates nothing).';
COMMENT ON COLUMN concord.api_tokens.revoked_by IS 'Who revoked it.';

COMMENT ON TABLE concord.act_as_grants IS
'Which service may name someone else as the actor of its calls, in which project.';
COMMENT ON COLUMN concord.act_as_grants.act_as_grant_id IS 'The grant''s id.';
COMMENT ON COLUMN concord.act_as_grants.service_principal_id IS
'The service that may assert another actor.';
COMMENT ON COLUMN concord.act_as_grants.project_id IS
'The project the grant holds in, and only there.';
COMMENT ON COLUMN concord.act_as_grants.on_behalf_of_id IS
'The principal it may act as; NULL: any member.';
COMMENT ON COLUMN concord.act_as_grants.created_by IS 'Who granted it.';
COMMENT ON COLUMN concord.act_as_grants.created_at IS 'When it was granted.';

COMMENT ON TABLE concord.agent_run_secrets IS
'The secret each agent run acts with: issued when the run begins, kept only as a SHA-256.';
COMMENT ON COLUMN concord.agent_run_secrets.agent_run_id IS 'The run the secret speaks for.';
COMMENT ON COLUMN concord.agent_run_secrets.secret_sha256 IS 'SHA-256 of the secret.';
COMMENT ON COLUMN concord.agent_run_secrets.project_id IS
'The run''s project: the only one its agent sees.';
COMMENT ON COLUMN concord.agent_run_secrets.issued_at IS 'When the secret was issued.';

COMMENT ON COLUMN concord.commands.project_id IS
'The project the command belongs to; who may see it follows.';
COMMENT ON COLUMN concord.notifications.project_id IS 'The project the notification belongs to.';
COMMENT ON COLUMN concord.schedules.project_id IS 'The project its commands are submitted in.';
COMMENT ON COLUMN concord.memories.project_id IS 'The project the memory belongs to.';
COMMENT ON COLUMN concord.team_members.org_id IS 'The organisation the team belongs to.';
COMMENT ON COLUMN concord.command_type_grants.org_id IS 'The organisation the grant holds in.';
COMMENT ON COLUMN concord.domain_events.asserted_by IS
'The service that named the actor under an act-as grant; NULL when the actor spoke for itself.';

-- Policies belong to every organisation (shared, kept by the operators) or to
-- one organisation, or one project of it, whose admins keep it; and a policy
-- may attach itself to command types, so an organisation governs shared
-- command types with its own rules (spec 21, 46).
ALTER TABLE concord.policies
ADD COLUMN org_id uuid NULL REFERENCES concord.organisations (org_id),
ADD COLUMN project_id uuid NULL REFERENCES concord.projects (project_id),
ADD COLUMN command_types text[] NOT NULL DEFAULT '{}',
ADD CONSTRAINT a_project_policy_names_its_organisation CHECK (
    project_id IS NULL OR org_id IS NOT NULL
);

CREATE INDEX policies_command_types_idx ON concord.policies USING gin (command_types);

COMMENT ON COLUMN concord.policies.org_id IS
'The organisation the policy belongs to and governs; NULL: shared by every organisation.';
COMMENT ON COLUMN concord.policies.project_id IS
'The one project of org_id the policy governs; NULL: every project of its organisation.';
COMMENT ON COLUMN concord.policies.command_types IS
'Command types the policy governs besides those naming it in policy_checks (within its scope).';
COMMENT ON CONSTRAINT a_project_policy_names_its_organisation ON concord.policies IS
'A policy of one project also names that project''s organisation.';

-- A notification's idempotency key is one project's, as a command's is (0006).
ALTER TABLE concord.notifications DROP CONSTRAINT notification_idempotency_key_is_unique;
ALTER TABLE concord.notifications
ADD CONSTRAINT notification_idempotency_key_is_unique UNIQUE (project_id, idempotency_key);
