-- The directory (spec 22, 46): organisations, projects, principals, logins,
-- memberships, act-as grants and API tokens. Who may change what:
--   * a superuser: everything (it could write the rows itself);
--   * an organisation's owner: its projects and memberships, owners included;
--   * an organisation's admin: the same, but not owners;
--   * anyone authenticated: a new organisation (of which it becomes owner), its
--     own API tokens.
-- Mapping a database login to a principal is a superuser's: it decides who a
-- connection is.

-- The authenticated principal, CN012 when nobody is (a superuser gets NULL).
CREATE OR REPLACE FUNCTION concord._directory_caller()
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    who text := concord._principal();
BEGIN
    IF who IS NULL AND NOT concord._session_is_superuser() THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'the_caller_is_authenticated',
            MESSAGE = format('session login %s is not a Concord principal', session_user),
            HINT = 'Authenticate with concord.authenticate(token), or have an operator map the login to '
                   'a principal (concord.map_login).';
    END IF;
    RETURN who;
END
$$;

CREATE OR REPLACE FUNCTION concord._organisation(organisation text)
RETURNS uuid
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    found uuid;
BEGIN
    PERFORM concord._require('organisation', organisation);
    SELECT o.org_id INTO found FROM concord.organisations AS o
    WHERE o.name = lower(organisation) OR o.org_id::text = lower(organisation);
    IF found IS NULL OR NOT (concord._session_is_superuser() OR EXISTS (
        SELECT 1 FROM concord.memberships AS m
        INNER JOIN concord.principals AS p ON m.principal_id = p.principal_id
        WHERE m.org_id = found AND p.name = concord._principal())) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_organisation_exists',
            MESSAGE = format('organisation %s not found', organisation),
            HINT = 'Name an organisation you are a member of.';
    END IF;
    RETURN found;
END
$$;

-- CN012 unless the caller administers org_id: an owner, or (unless owners_only)
-- an admin of the whole organisation; a superuser always does.
CREATE OR REPLACE FUNCTION concord._require_org_admin(
    org_id uuid, owners_only boolean DEFAULT false
)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    who text := concord._directory_caller();
    scopes text [] := (concord._authenticated()).scopes;
    roles text [] := CASE WHEN owners_only THEN ARRAY['owner'] ELSE ARRAY['owner', 'admin'] END;
BEGIN
    IF who IS NULL THEN
        RETURN;
    END IF;
    IF scopes IS NOT NULL THEN
        roles := ARRAY(SELECT unnest(roles) INTERSECT SELECT unnest(scopes));
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM concord.memberships AS m
        INNER JOIN concord.principals AS p ON m.principal_id = p.principal_id
        WHERE m.org_id = _require_org_admin.org_id AND m.project_id IS NULL
          AND p.name = who AND m.role = ANY (roles)) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'the_directory_is_changed_by_an_organisation_admin',
            MESSAGE = format('%s is not %s of organisation %s', who, array_to_string(roles, ' or '),
                             (SELECT o.name FROM concord.organisations AS o
                              WHERE o.org_id = _require_org_admin.org_id)),
            HINT = 'Only an owner adds or removes owners and admins; owners and admins manage the rest.';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION concord._principal_id(principal text)
RETURNS uuid
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    found uuid;
BEGIN
    SELECT p.principal_id INTO found FROM concord.principals AS p
    WHERE p.name = concord.canonical_name(principal);
    IF found IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_principal_exists',
            MESSAGE = format('principal %s not found', principal),
            HINT = 'Register it with concord.create_principal(name, kind).';
    END IF;
    RETURN found;
END
$$;

CREATE OR REPLACE FUNCTION concord.create_organisation(name text)
RETURNS uuid
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
#variable_conflict use_variable
DECLARE
    who text := concord._directory_caller();
    new_id uuid;
BEGIN
    PERFORM concord._require_name('name', name);
    INSERT INTO concord.organisations AS o (name, created_by)
    VALUES (lower(name), coalesce(who, session_user::text))
    ON CONFLICT ON CONSTRAINT organisation_name_is_unique DO NOTHING
    RETURNING o.org_id INTO new_id;
    IF new_id IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'organisation_name_is_unique',
            MESSAGE = format('an organisation named %s exists already', lower(name));
    END IF;
    IF who IS NOT NULL THEN
        INSERT INTO concord.memberships (org_id, principal_id, role, created_by)
        VALUES (new_id, concord._principal_id(who), 'owner', who);
    END IF;
    RETURN new_id;
END
$$;

COMMENT ON FUNCTION concord.create_organisation(text) IS
'Create an organisation (a lower-case slug); the authenticated caller becomes its owner. '
'CN011 when the name is taken, CN012 for an unauthenticated non-superuser session.';

CREATE OR REPLACE FUNCTION concord.create_project(organisation text, name text)
RETURNS uuid
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
#variable_conflict use_variable
DECLARE
    org uuid := concord._organisation(organisation);
    new_id uuid;
BEGIN
    PERFORM concord._require_org_admin(org);
    PERFORM concord._require_name('name', name);
    INSERT INTO concord.projects AS p (org_id, name, created_by)
    VALUES (org, lower(name), coalesce(concord._principal(), session_user::text))
    ON CONFLICT ON CONSTRAINT project_name_is_unique_in_its_organisation DO NOTHING
    RETURNING p.project_id INTO new_id;
    IF new_id IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'project_name_is_unique_in_its_organisation',
            MESSAGE = format('organisation %s has a project named %s already', organisation, lower(name));
    END IF;
    RETURN new_id;
END
$$;

COMMENT ON FUNCTION concord.create_project(text, text) IS
'Create a project (a lower-case slug) in organisation; the caller must be its owner or admin '
'(CN012). Members of the whole organisation see it at once.';

CREATE OR REPLACE FUNCTION concord.create_principal(
    name text, kind text DEFAULT 'user', display_name text DEFAULT null
)
RETURNS uuid
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
#variable_conflict use_variable
DECLARE
    who text := concord._directory_caller();
    new_id uuid;
BEGIN
    IF who IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM concord.memberships AS m
        INNER JOIN concord.principals AS p ON m.principal_id = p.principal_id
        WHERE p.name = who AND m.project_id IS NULL AND m.role IN ('owner', 'admin')) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'the_directory_is_changed_by_an_organisation_admin',
            MESSAGE = format('%s administers no organisation and may not register principals', who);
    END IF;
    IF kind NOT IN ('user', 'service') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'principal_kind_is_known',
            MESSAGE = format('unknown principal kind %L: use user or service', kind),
            HINT = 'Agents are principals through their runs; they are not registered.';
    END IF;
    INSERT INTO concord.principals AS p (name, kind, display_name, created_by)
    VALUES (concord.canonical_name(name), kind, display_name, coalesce(who, session_user::text))
    ON CONFLICT ON CONSTRAINT principal_name_is_unique DO NOTHING
    RETURNING p.principal_id INTO new_id;
    IF new_id IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'principal_name_is_unique',
            MESSAGE = format('a principal named %s exists already', concord.canonical_name(name));
    END IF;
    RETURN new_id;
END
$$;

COMMENT ON FUNCTION concord.create_principal(text, text, text) IS
'Register a principal (kind user or service) under the canonical form of name (see '
'canonical_name); a superuser or an owner or admin of some organisation may. CN011 when the '
'canonical name is taken (ALICE and alice are one name).';

CREATE OR REPLACE FUNCTION concord.map_login(login name, principal text)
RETURNS boolean
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
#variable_conflict use_variable
DECLARE
    target uuid := concord._principal_id(principal);
BEGIN
    IF NOT concord._session_is_superuser() THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'a_login_is_mapped_by_a_superuser',
            MESSAGE = 'only a superuser maps a database login to a principal',
            HINT = 'Whoever maps a login decides who that connection is; services authenticate with '
                   'tokens instead.';
    END IF;
    INSERT INTO concord.principal_logins AS l (login, principal_id, created_by)
    VALUES (login, target, session_user::text)
    ON CONFLICT ON CONSTRAINT principal_logins_pkey DO NOTHING;
    IF NOT FOUND AND NOT EXISTS (SELECT 1 FROM concord.principal_logins AS l
                                 WHERE l.login = map_login.login AND l.principal_id = target) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_login_speaks_for_one_principal',
            MESSAGE = format('login %s is mapped to another principal already', login);
    END IF;
    RETURN FOUND;
END
$$;

COMMENT ON FUNCTION concord.map_login(name, text) IS
'Let database login speak as principal (a superuser''s call, CN012 otherwise); true when '
'mapped, false when it already was; CN011 when the login speaks for another principal.';
