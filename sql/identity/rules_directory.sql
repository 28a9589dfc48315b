-- The directory's rules, whoever writes (the table owner included): names are
-- canonical, identities are never rewritten, a token changes only by being
-- revoked, and every change is audited (with no secret in the audit).

CREATE OR REPLACE FUNCTION concord._principals_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.name, NEW.kind, NEW.principal_id) IS DISTINCT FROM
                             (OLD.name, OLD.kind, OLD.principal_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'a_principal_keeps_its_name_and_kind',
            TABLE = 'principals',
            MESSAGE = format('principal %s keeps its id, name and kind', OLD.name),
            HINT = 'Disable it (disabled_at) and register a new one.';
    END IF;
    IF NEW.name IS DISTINCT FROM concord.canonical_name(NEW.name) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_principal_name_is_canonical',
            TABLE = 'principals',
            MESSAGE = format('%s is not in canonical form (%s)', to_json(NEW.name),
                             concord.canonical_name(NEW.name)),
            HINT = 'Register names through concord.create_principal, which folds them.';
    END IF;
    -- The kernel's own actors (an agent run, a schedule, a worker, a workflow)
    -- are named agent:<run id>, schedule:<name>, ...; a principal registered
    -- under such a name would act as one (an agent's child commands, say).
    IF TG_OP = 'INSERT' AND (NEW.name ~ '^(agent|schedule|worker|workflow|kernel|concord):' OR NEW.name = 'concord') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_principal_name_is_not_the_kernels',
            TABLE = 'principals',
            MESSAGE = format('%s is a name the kernel gives its own actors', NEW.name),
            DETAIL = 'Names starting with agent:, schedule:, worker:, workflow:, kernel: or concord: (and '
                     'concord itself) are the kernel''s.',
            HINT = 'Choose another name.';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER a_principal_name_is_canonical
BEFORE INSERT OR UPDATE ON concord.principals
FOR EACH ROW EXECUTE FUNCTION concord._principals_before_write();

CREATE OR REPLACE FUNCTION concord._api_tokens_before_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF OLD.revoked_at IS NOT NULL
       OR (to_jsonb(NEW) - 'revoked_at' - 'revoked_by') <> (to_jsonb(OLD) - 'revoked_at' - 'revoked_by') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'a_token_changes_only_by_revocation',
            TABLE = 'api_tokens',
            MESSAGE = format('token %s can only be revoked, once', OLD.token_id),
            HINT = 'Revoke it with concord.revoke_api_token and create a new one.';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER a_token_changes_only_by_revocation
BEFORE UPDATE ON concord.api_tokens
FOR EACH ROW EXECUTE FUNCTION concord._api_tokens_before_update();

CREATE OR REPLACE TRIGGER api_tokens_are_not_deleted
BEFORE DELETE ON concord.api_tokens
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('are kept (revoked, not deleted)');

CREATE OR REPLACE TRIGGER principals_are_not_deleted
BEFORE DELETE ON concord.principals
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write(
    'are kept: history names them', 'Set disabled_at instead.'
);

CREATE OR REPLACE TRIGGER organisations_are_not_rewritten
BEFORE UPDATE OR DELETE ON concord.organisations
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('are kept as created');

CREATE OR REPLACE TRIGGER projects_are_not_rewritten
BEFORE UPDATE OR DELETE ON concord.projects
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('are kept as created');

CREATE OR REPLACE TRIGGER memberships_are_not_updated
BEFORE UPDATE ON concord.memberships
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('change by adding and removing members');

CREATE OR REPLACE TRIGGER act_as_grants_are_not_updated
BEFORE UPDATE ON concord.act_as_grants
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('change by granting and revoking');

CREATE OR REPLACE TRIGGER principal_logins_are_not_updated
BEFORE UPDATE ON concord.principal_logins
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('change by mapping again');

CREATE OR REPLACE TRIGGER agent_run_secrets_are_not_rewritten
BEFORE UPDATE OR DELETE ON concord.agent_run_secrets
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('are issued once per run');

-- One audit row per directory change; TG_ARGV[0] is the target column.
CREATE OR REPLACE FUNCTION concord._directory_after_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    row_now jsonb := CASE TG_OP WHEN 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END - 'token_sha256'
                     - 'secret_sha256';
BEGIN
    PERFORM concord._audit(
        TG_TABLE_NAME || '_' || lower(TG_OP), null, null, TG_TABLE_NAME, row_now ->> TG_ARGV[0], null, null,
        CASE TG_OP WHEN 'UPDATE' THEN jsonb_build_object('old', to_jsonb(OLD) - 'token_sha256', 'new', row_now)
                   ELSE row_now END);
    RETURN null;
END
$$;

CREATE OR REPLACE TRIGGER organisations_are_audited
AFTER INSERT ON concord.organisations
FOR EACH ROW EXECUTE FUNCTION concord._directory_after_write('org_id');

CREATE OR REPLACE TRIGGER projects_are_audited
AFTER INSERT ON concord.projects
FOR EACH ROW EXECUTE FUNCTION concord._directory_after_write('project_id');

CREATE OR REPLACE TRIGGER principals_are_audited
AFTER INSERT OR UPDATE ON concord.principals
FOR EACH ROW EXECUTE FUNCTION concord._directory_after_write('principal_id');

CREATE OR REPLACE TRIGGER principal_logins_are_audited
AFTER INSERT OR DELETE ON concord.principal_logins
FOR EACH ROW EXECUTE FUNCTION concord._directory_after_write('login');

CREATE OR REPLACE TRIGGER memberships_are_audited
AFTER INSERT OR DELETE ON concord.memberships
FOR EACH ROW EXECUTE FUNCTION concord._directory_after_write('membership_id');

CREATE OR REPLACE TRIGGER act_as_grants_are_audited
AFTER INSERT OR DELETE ON concord.act_as_grants
FOR EACH ROW EXECUTE FUNCTION concord._directory_after_write('act_as_grant_id');

CREATE OR REPLACE TRIGGER api_tokens_are_audited
AFTER INSERT OR UPDATE ON concord.api_tokens
FOR EACH ROW EXECUTE FUNCTION concord._directory_after_write('token_id');

-- What the directory's CHECK constraints mean (concord.rules reads them here).
COMMENT ON CONSTRAINT organisation_name_is_a_slug ON concord.organisations IS
'An organisation name is a lower-case slug: a letter or digit, then letters, digits, _ and -, '
'at most 63.';
COMMENT ON CONSTRAINT project_name_is_a_slug ON concord.projects IS
'A project name is a lower-case slug: a letter or digit, then letters, digits, _ and -, at '
'most 63.';
COMMENT ON CONSTRAINT principal_name_is_not_blank ON concord.principals IS
'A principal name is not blank and has at most 128 characters (behind the canonical-form '
'trigger).';
COMMENT ON CONSTRAINT principal_kind_is_known ON concord.principals IS
'A principal is a user, a service or an agent.';
COMMENT ON CONSTRAINT membership_role_is_known ON concord.memberships IS
'A membership role is owner, admin, approver, member or reader.';
COMMENT ON CONSTRAINT token_hash_is_a_sha256 ON concord.api_tokens IS
'A token is kept as its SHA-256 (32 bytes), never as itself.';
COMMENT ON CONSTRAINT token_scopes_are_roles ON concord.api_tokens IS
'A token''s scopes are membership roles.';
COMMENT ON CONSTRAINT a_token_expires_after_it_is_created ON concord.api_tokens IS
'A token expires after it is created.';
COMMENT ON CONSTRAINT a_revocation_names_who_revoked ON concord.api_tokens IS
'A revoked token names who revoked it, and only a revoked one does.';
COMMENT ON CONSTRAINT agent_secret_hash_is_a_sha256 ON concord.agent_run_secrets IS
'An agent run''s secret is kept as its SHA-256 (32 bytes), never as itself.';
