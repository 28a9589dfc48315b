-- The operators: who keeps what every organisation shares (command types,
-- approval types, tools, connectors, queues, operations, shared policies).
-- A superuser session, or a login holding concord_admin that speaks for no
-- principal (no mapping, no credential): a platform account, as a worker's
-- login is. A principal with concord_admin runs its organisations (projects,
-- members, teams, grants, its own policies), never what others rely on.
-- A login mapped to a principal is never an operator, even while that
-- principal is disabled (it then speaks for nobody: disabling it must not
-- hand its login the shared catalogs).
CREATE OR REPLACE FUNCTION concord._is_operator()
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN concord._session_is_superuser()
        OR (concord._principal() IS NULL
            AND coalesce(current_setting('concord.credential', true), '') = ''
            AND NOT EXISTS (SELECT 1 FROM concord.principal_logins AS l WHERE l.login = session_user)
            AND pg_catalog.pg_has_role(session_user, 'concord_admin', 'USAGE'));
END
$$;

CREATE OR REPLACE FUNCTION concord._require_catalog_operator(catalog text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF NOT concord._is_operator() THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'a_shared_catalog_is_changed_by_an_operator',
            MESSAGE = format('%s may not change the shared %s: every organisation relies on it',
                             coalesce(concord._principal(), session_user::text), catalog),
            HINT = 'Operators (a superuser, or a concord_admin login mapped to no principal) keep the '
                   'shared catalogs; an organisation governs its commands with its own policies '
                   '(register_policy with organisation or project, and command_types).';
    END IF;
END
$$;
