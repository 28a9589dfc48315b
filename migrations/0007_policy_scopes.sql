-- 0007 policy scopes (and notification keys per project): a policy belongs to
-- every organisation (shared, kept by the operators) or to one organisation, or
-- one project of it, whose admins keep it; and a policy may attach itself to
-- command types, so an organisation governs
-- shared command types with its own rules (spec 21, 46).
--
-- Forward-only: once released this file is never edited; change = new file.

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
