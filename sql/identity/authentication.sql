-- Who is speaking (DESIGN "Who is speaking", spec 45): the authenticated
-- principal of the current transaction, and the projects it may see.
--
-- Two ways in, both verified here:
--   * a credential handed to concord.authenticate() for the transaction: an
--     API token ('cct_...') or an agent run's secret ('car_...'). Only its
--     SHA-256 is stored; the setting concord.credential holds the credential
--     itself, so setting it by hand proves nothing that holding it does not;
--   * else the session's login (session_user, which only a superuser can
--     change, with SET SESSION AUTHORIZATION) mapped to a principal.
-- A superuser session, and a login holding concord_worker (the runtime acts
-- for every project), see every project while no credential is set.

-- Several checks of one submit ask it: PL/pgSQL keeps its query's plan for
-- the session (a SQL function with a subquery is planned at every call), and
-- no SET clause (its callers pin search_path; its names are schema-qualified)
-- spares a configuration save and restore per call.
CREATE OR REPLACE FUNCTION concord._session_is_superuser()
RETURNS boolean
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    RETURN coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles AS r WHERE r.rolname = session_user), false);
END
$$;

CREATE OR REPLACE FUNCTION concord._credential_sha256(credential text)
RETURNS bytea
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN sha256(convert_to(credential, 'UTF8'));
END
$$;

-- The authenticated principal: name NULL when nobody is. agent_run_id is set
-- for an agent run's secret, project_id to the one project it may see; scopes
-- are the membership roles a token may use (NULL: all).
CREATE OR REPLACE FUNCTION concord._authenticated(
    OUT principal_id uuid, OUT name text, OUT kind text, OUT scopes text[],
    OUT agent_run_id uuid, OUT project_id uuid
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
AS $$
DECLARE
    credential text := coalesce(current_setting('concord.credential', true), '');
BEGIN
    IF credential LIKE 'cct\_%' THEN
        SELECT p.principal_id, p.name, p.kind, t.scopes
        INTO principal_id, name, kind, scopes
        FROM concord.api_tokens AS t
        INNER JOIN concord.principals AS p ON t.principal_id = p.principal_id
        WHERE t.token_sha256 = concord._credential_sha256(credential)
          AND t.revoked_at IS NULL AND t.expires_at > now() AND p.disabled_at IS NULL;
    ELSIF credential LIKE 'car\_%' THEN
        SELECT s.agent_run_id, 'agent:' || s.agent_run_id, 'agent', ARRAY['member'], s.project_id
        INTO agent_run_id, name, kind, scopes, project_id
        FROM concord.agent_run_secrets AS s
        WHERE s.secret_sha256 = concord._credential_sha256(credential);
    ELSIF credential = '' THEN
        SELECT p.principal_id, p.name, p.kind
        INTO principal_id, name, kind
        FROM concord.principal_logins AS l
        INNER JOIN concord.principals AS p ON l.principal_id = p.principal_id
        WHERE l.login = session_user AND p.disabled_at IS NULL;
    END IF;
END
$$;

-- True for a session that acts for every project: a superuser's, or a
-- worker's (a login holding concord_worker), while no credential is set.
CREATE OR REPLACE FUNCTION concord._sees_all()
RETURNS boolean
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF coalesce(current_setting('concord.credential', true), '') <> '' THEN
        RETURN false;
    END IF;
    RETURN concord._session_is_superuser()
        OR pg_catalog.pg_has_role(session_user, 'concord_worker', 'USAGE');
END
$$;

-- The projects in which the authenticated principal holds one of roles (any
-- role when roles is NULL), through its memberships and, for a service, the
-- projects it may act in.
CREATE OR REPLACE FUNCTION concord._projects_with_roles(roles text[] DEFAULT NULL)
RETURNS uuid[]
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
AS $$
DECLARE
    who record := concord._authenticated();
    usable text [];
BEGIN
    IF who.name IS NULL THEN
        RETURN '{}'::uuid [];
    END IF;
    IF who.agent_run_id IS NOT NULL THEN
        RETURN CASE WHEN roles IS NULL OR 'member' = ANY (roles) THEN ARRAY[who.project_id] ELSE '{}'::uuid [] END;
    END IF;
    -- Scopes narrow what a token may do, not what it may read: every token
    -- reads the projects of its principal (roles NULL).
    usable := CASE WHEN who.scopes IS NULL OR roles IS NULL THEN roles
                   ELSE ARRAY(SELECT unnest(roles) INTERSECT SELECT unnest(who.scopes)) END;
    RETURN ARRAY(
        SELECT p.project_id
        FROM concord.memberships AS m
        INNER JOIN concord.projects AS p
            ON m.org_id = p.org_id AND (m.project_id IS NULL OR m.project_id = p.project_id)
        WHERE m.principal_id = who.principal_id AND (usable IS NULL OR m.role = ANY (usable))
        UNION
        SELECT g.project_id FROM concord.act_as_grants AS g
        WHERE g.service_principal_id = who.principal_id
    );
END
$$;

CREATE OR REPLACE FUNCTION concord._visible_projects()
RETURNS uuid[]
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN concord._projects_with_roles(NULL);
END
$$;

-- The name of the authenticated principal, or NULL.
CREATE OR REPLACE FUNCTION concord._principal()
RETURNS text
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN (concord._authenticated()).name;
END
$$;

CREATE OR REPLACE FUNCTION concord.current_principal()
RETURNS text
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
BEGIN
    RETURN concord._principal();
END
$$;

COMMENT ON FUNCTION concord.current_principal() IS
'The authenticated principal of this transaction: the principal of the credential given to '
'concord.authenticate(), else the one the session''s login is mapped to; NULL when nobody is '
'(a superuser or worker session without a mapping acts for the kernel and sees every project).';

-- Verify credential and act as its principal until the transaction ends.
-- Deliberately no SET clause for concord.credential: the setting must outlive
-- this call.
CREATE OR REPLACE FUNCTION concord.authenticate(credential text)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
DECLARE
    who text;
BEGIN
    PERFORM set_config('concord.credential', coalesce(credential, ''), true);
    who := concord._principal();
    IF credential IS NULL OR credential = '' OR who IS NULL THEN
        PERFORM set_config('concord.credential', 'refused', true);
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'a_credential_is_valid',
            MESSAGE = 'the credential is unknown, expired or revoked',
            HINT = 'Ask for a new token (concord.create_api_token); an agent uses the secret its run was '
                   'issued.';
    END IF;
    RETURN who;
END
$$;

COMMENT ON FUNCTION concord.authenticate(text) IS
'Act as the principal of credential (an API token, or an agent run''s secret) for the rest '
'of the transaction; returns its name. CN012 (a_credential_is_valid) for an unknown, expired '
'or revoked credential: the transaction then acts as nobody until it ends.';
