-- Acting: the principal a change is made by (and, when a service speaks for
-- someone, on whose behalf), and the project it is made in.
--
-- A principal argument of the API (requested_by, actor) is an assertion: it
-- must name the authenticated principal, or someone that principal holds an
-- act-as grant for in the project concerned. A superuser may assert anyone (a
-- superuser can do anything); a session that sees every project without being
-- a superuser (a worker) may not.

CREATE OR REPLACE FUNCTION concord._project_name(project_id uuid)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN (SELECT o.name || '/' || p.name FROM concord.projects AS p
            INNER JOIN concord.organisations AS o ON p.org_id = o.org_id
            WHERE p.project_id = _project_name.project_id);
END
$$;

-- The project named 'org/project' (or by its id), CN006 when there is none or the
-- caller may not see it: another organisation's project does not exist for it.
CREATE OR REPLACE FUNCTION concord._project(project text)
RETURNS uuid
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    found uuid;
BEGIN
    PERFORM concord._require('project', project);
    IF project ~ '^[0-9a-fA-F-]{36}$' THEN
        SELECT p.project_id INTO found FROM concord.projects AS p WHERE p.project_id = project::uuid;
    ELSE
        SELECT p.project_id INTO found
        FROM concord.projects AS p
        INNER JOIN concord.organisations AS o ON p.org_id = o.org_id
        WHERE o.name || '/' || p.name = lower(project);
    END IF;
    IF found IS NULL OR NOT (concord._sees_all() OR found = ANY (concord._visible_projects())) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_project_exists',
            MESSAGE = format('project %s not found', project),
            HINT = 'Name a project as organisation/project, one you are a member of.';
    END IF;
    RETURN found;
END
$$;

-- The project new rows go to: the one chosen with concord.use_project(), else
-- the caller's only project where it may write, else (a superuser or worker
-- session) the default project.
CREATE OR REPLACE FUNCTION concord._chosen_project()
RETURNS uuid
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    chosen text := nullif(current_setting('concord.project', true), '');
    writable uuid [];
BEGIN
    IF chosen IS NOT NULL THEN
        RETURN concord._project(chosen);
    END IF;
    IF concord._sees_all() THEN
        RETURN '00000000-0000-4000-8000-00000000000b'::uuid;
    END IF;
    IF concord._principal() IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'the_caller_is_authenticated',
            MESSAGE = format('session login %s is not a Concord principal', session_user),
            HINT = 'Authenticate with concord.authenticate(token), or have an operator map the login to '
                   'a principal (concord.map_login).';
    END IF;
    writable := concord._projects_with_roles(ARRAY['owner', 'admin', 'member']);
    IF cardinality(writable) = 1 THEN
        RETURN writable[1];
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'CN008',
        CONSTRAINT = 'a_project_is_chosen',
        MESSAGE = CASE WHEN cardinality(writable) = 0
                       THEN concord._principal() || ' may write in no project'
                       ELSE format('%s may write in %s projects: choose one', concord._principal(),
                                   cardinality(writable)) END,
        HINT = 'Call concord.use_project(''organisation/project'') first in the session.';
END
$$;

CREATE OR REPLACE FUNCTION concord.use_project(project text)
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
    found uuid := concord._project(project);
BEGIN
    PERFORM set_config('concord.project', found::text, false);
    RETURN concord._project_name(found);
END
$$;

COMMENT ON FUNCTION concord.use_project(text) IS
'Choose the project (''organisation/project'' or its id) that the rest of the session '
'creates commands, schedules, notifications and memories in; returns its full name. CN006 '
'(the_project_exists) for a project that does not exist or that the caller is no member of. '
'Choosing grants nothing: every write still needs a role in the project.';

-- CN012 unless principal holds one of roles in project (the membership of an
-- agent run is its run's project, as a member).
CREATE OR REPLACE FUNCTION concord._holds_role(principal text, project_id uuid, roles text[])
RETURNS boolean
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN EXISTS (
        SELECT 1
        FROM concord.memberships AS m
        INNER JOIN concord.principals AS pr ON m.principal_id = pr.principal_id
        INNER JOIN concord.projects AS p ON m.org_id = p.org_id
        WHERE pr.name = _holds_role.principal AND pr.disabled_at IS NULL
          AND p.project_id = _holds_role.project_id
          AND (m.project_id IS NULL OR m.project_id = p.project_id)
          AND m.role = ANY (roles)
    );
END
$$;

-- Who acts: the asserted principal, if the caller may assert it in project
-- (NULL asserted: the caller itself), holding one of roles there; CN012 with a
-- named rule otherwise. asserted_by is the service that spoke for actor, NULL
-- when the actor speaks for itself.
CREATE OR REPLACE FUNCTION concord._acting_principal(
    asserted text, project_id uuid, roles text[], argument_name text DEFAULT 'actor',
    OUT actor text, OUT asserted_by text
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
AS $$
DECLARE
    who record := concord._authenticated();
    claimed text;
BEGIN
    claimed := CASE WHEN asserted IS NULL OR btrim(asserted) = '' THEN NULL
                    ELSE concord.canonical_name(asserted) END;
    IF who.name IS NULL THEN
        IF concord._session_is_superuser() THEN
            -- a superuser plays whoever it names (it could write the rows itself)
            PERFORM concord._require(argument_name, asserted);
            actor := claimed;
            RETURN;
        END IF;
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'the_caller_is_authenticated',
            MESSAGE = format('session login %s is not a Concord principal', session_user),
            HINT = 'Authenticate with concord.authenticate(token), or have an operator map the login to '
                   'a principal (concord.map_login).';
    END IF;
    -- An agent's secret opens its gateway (submit_agent_action, write_memory,
    -- ...), which governs what an agent may do; through the rest of the API
    -- it would act as a member of its project, ungoverned.
    IF who.agent_run_id IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'an_agent_acts_through_its_gateway',
            MESSAGE = format('%s may not act here: an agent acts only through the agent gateway', who.name),
            HINT = 'An agent submits commands with submit_agent_action and spawns with spawn_subagent; '
                   'authenticate as a principal to call the rest of the API.';
    END IF;
    IF claimed IS NULL OR claimed = who.name THEN
        actor := who.name;
        IF NOT concord._holds_role_as(who.name, who.scopes, project_id, roles) THEN
            PERFORM concord._refuse_role(who.name, project_id, roles);
        END IF;
        RETURN;
    END IF;
    -- a token's scopes narrow what it may do for others too
    IF who.scopes IS NOT NULL AND NOT (who.scopes && roles) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'the_actor_holds_a_role_in_the_project',
            MESSAGE = format('%s''s token is scoped to %s: it may not act as %s there', who.name,
                             array_to_string(who.scopes, ', '), array_to_string(roles, ' or ')),
            HINT = 'Use a token whose scopes include the role the act needs.';
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM concord.act_as_grants AS g
        LEFT JOIN concord.principals AS p ON g.on_behalf_of_id = p.principal_id
        WHERE g.service_principal_id = who.principal_id
          AND g.project_id = _acting_principal.project_id
          AND (g.on_behalf_of_id IS NULL OR p.name = claimed)
    ) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'acting_for_another_needs_a_grant',
            MESSAGE = format('%s may not act as %s in project %s', who.name, claimed,
                             coalesce(concord._project_name(project_id), project_id::text)),
            DETAIL = 'A principal argument names who acts: it must be the authenticated principal, '
                     'unless an act-as grant lets the caller speak for that principal in this project.',
            HINT = 'Pass your own name (or NULL), or ask an admin for concord.grant_act_as(...).';
    END IF;
    IF NOT concord._holds_role(claimed, project_id, roles) THEN
        PERFORM concord._refuse_role(claimed, project_id, roles);
    END IF;
    actor := claimed;
    asserted_by := who.name;
END
$$;

-- The authenticated principal's own role check: its token's scopes narrow
-- its memberships.
CREATE OR REPLACE FUNCTION concord._holds_role_as(
    principal text, scopes text[], project_id uuid, roles text[]
)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF scopes IS NOT NULL THEN
        roles := ARRAY(SELECT unnest(roles) INTERSECT SELECT unnest(scopes));
    END IF;
    RETURN concord._holds_role(principal, project_id, roles);
END
$$;

CREATE OR REPLACE FUNCTION concord._refuse_role(principal text, project_id uuid, roles text[])
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'CN012',
        CONSTRAINT = 'the_actor_holds_a_role_in_the_project',
        MESSAGE = format('%s is not %s of project %s', principal, array_to_string(roles, ' or '),
                         coalesce(concord._project_name(project_id), project_id::text)),
        HINT = 'An owner or admin of the organisation adds members with concord.add_member(...); '
               'a token''s scopes can narrow what its principal may do.';
END
$$;

-- Who acts on command_id (see _acting_principal), in the command's project; a
-- command the caller cannot see does not exist for it (CN006). Records the
-- asserting service for the audit rows of this call.
CREATE OR REPLACE FUNCTION concord._acting_on_command(
    asserted text, command_id uuid, roles text[], argument_name text DEFAULT 'actor'
)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    project uuid;
    who record;
BEGIN
    SELECT c.project_id INTO project FROM concord.commands AS c WHERE c.command_id = _acting_on_command.command_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_command_exists',
            TABLE = 'commands',
            MESSAGE = format('command %s not found', command_id);
    END IF;
    SELECT * INTO who FROM concord._acting_principal(asserted, project, roles, argument_name);
    PERFORM concord._assert_on_behalf(who.asserted_by);
    RETURN who.actor;
END
$$;

-- The organisation a command belongs to (through its project).
CREATE OR REPLACE FUNCTION concord._org_of_command(command_id uuid)
RETURNS uuid
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN (SELECT p.org_id FROM concord.commands AS c
            INNER JOIN concord.projects AS p ON c.project_id = p.project_id
            WHERE c.command_id = _org_of_command.command_id);
END
$$;

-- The organisation of the chosen project: where teams and grants are changed.
CREATE OR REPLACE FUNCTION concord._chosen_org()
RETURNS uuid
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN (SELECT p.org_id FROM concord.projects AS p WHERE p.project_id = concord._chosen_project());
END
$$;
