-- Memberships (who belongs where, with which role) and act-as grants (which
-- service may speak for whom, in which project).

CREATE OR REPLACE FUNCTION concord._require_membership_role(role text)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF role IS NULL OR role NOT IN ('owner', 'admin', 'approver', 'member', 'reader') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'membership_role_is_known',
            MESSAGE = format('unknown role %L: use owner, admin, approver, member or reader', role);
    END IF;
END
$$;

-- The project of the organisation named by project ('org/project' or a bare
-- project name inside org); NULL for none.
CREATE OR REPLACE FUNCTION concord._project_in(org_id uuid, project text)
RETURNS uuid
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    found uuid;
BEGIN
    IF project IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT p.project_id INTO found FROM concord.projects AS p
    WHERE p.org_id = _project_in.org_id
      AND (p.name = lower(project) OR p.project_id::text = lower(project)
           OR (SELECT o.name FROM concord.organisations AS o WHERE o.org_id = p.org_id) || '/' || p.name
              = lower(project));
    IF found IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_project_exists',
            MESSAGE = format('project %s not found in this organisation', project);
    END IF;
    RETURN found;
END
$$;

CREATE OR REPLACE FUNCTION concord.add_member(
    organisation text, principal text, role text, project text DEFAULT NULL
)
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
    org uuid := concord._organisation(organisation);
    target uuid := concord._principal_id(principal);
    scope uuid;
BEGIN
    PERFORM concord._require_membership_role(role);
    PERFORM concord._require_org_admin(org, role IN ('owner', 'admin'));
    scope := concord._project_in(org, project);
    IF (SELECT p.kind FROM concord.principals AS p WHERE p.principal_id = target) = 'service'
       AND role IN ('owner', 'admin') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_service_does_not_administer',
            MESSAGE = format('service %s cannot be %s of an organisation', principal, role),
            HINT = 'Give a service member or reader, and act-as grants for what it does for others.';
    END IF;
    INSERT INTO concord.memberships AS m (org_id, project_id, principal_id, role, created_by)
    VALUES (org, scope, target, role, coalesce(concord._principal(), session_user::text))
    ON CONFLICT ON CONSTRAINT a_membership_is_recorded_once DO NOTHING;
    RETURN FOUND;
END
$$;

COMMENT ON FUNCTION concord.add_member(text, text, text, text) IS
'Give principal role (owner, admin, approver, member or reader) in organisation, or only in '
'one of its projects; true when added, false when it was already. Owners and admins of the '
'organisation may (only an owner grants owner or admin), CN012 otherwise.';

CREATE OR REPLACE FUNCTION concord.remove_member(
    organisation text, principal text, role text, project text DEFAULT NULL
)
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
    org uuid := concord._organisation(organisation);
    target uuid := concord._principal_id(principal);
    scope uuid;
BEGIN
    PERFORM concord._require_membership_role(role);
    PERFORM concord._require_org_admin(org, role IN ('owner', 'admin'));
    scope := concord._project_in(org, project);
    IF role = 'owner' AND scope IS NULL AND NOT EXISTS (
        SELECT 1 FROM concord.memberships AS m
        WHERE m.org_id = org AND m.project_id IS NULL AND m.role = 'owner' AND m.principal_id <> target) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'an_organisation_keeps_an_owner',
            MESSAGE = format('%s is the last owner of %s', principal, organisation),
            HINT = 'Add another owner first.';
    END IF;
    DELETE FROM concord.memberships AS m
    WHERE m.org_id = org AND m.project_id IS NOT DISTINCT FROM scope
      AND m.principal_id = target AND m.role = remove_member.role;
    RETURN FOUND;
END
$$;

COMMENT ON FUNCTION concord.remove_member(text, text, text, text) IS
'Withdraw principal''s role in organisation (or one project of it); true when removed. The last '
'owner stays (CN011). Who may: as for add_member.';

CREATE OR REPLACE FUNCTION concord.grant_act_as(
    service text, project text, on_behalf_of text DEFAULT NULL
)
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
    target_project uuid := concord._project(project);
    svc uuid := concord._principal_id(service);
    whom uuid := CASE WHEN on_behalf_of IS NULL THEN NULL ELSE concord._principal_id(on_behalf_of) END;
BEGIN
    PERFORM concord._require_org_admin(
        (SELECT p.org_id FROM concord.projects AS p WHERE p.project_id = target_project));
    IF (SELECT p.kind FROM concord.principals AS p WHERE p.principal_id = svc) <> 'service' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'only_a_service_acts_as_another',
            MESSAGE = format('%s is not a service principal', service),
            HINT = 'Register the gateway, webhook receiver or scheduler with kind => ''service''.';
    END IF;
    INSERT INTO concord.act_as_grants AS g (service_principal_id, project_id, on_behalf_of_id, created_by)
    VALUES (svc, target_project, whom, coalesce(concord._principal(), session_user::text))
    ON CONFLICT ON CONSTRAINT an_act_as_grant_is_recorded_once DO NOTHING;
    RETURN FOUND;
END
$$;

COMMENT ON FUNCTION concord.grant_act_as(text, text, text) IS
'Let service (a service principal) name on_behalf_of (NULL: any member) as the actor of its '
'calls in project; the actor still needs its own role there, and the audit records both. An '
'owner or admin of the project''s organisation may (CN012 otherwise).';

CREATE OR REPLACE FUNCTION concord.revoke_act_as(
    service text, project text, on_behalf_of text DEFAULT NULL
)
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
    target_project uuid := concord._project(project);
    svc uuid := concord._principal_id(service);
    whom uuid := CASE WHEN on_behalf_of IS NULL THEN NULL ELSE concord._principal_id(on_behalf_of) END;
BEGIN
    PERFORM concord._require_org_admin(
        (SELECT p.org_id FROM concord.projects AS p WHERE p.project_id = target_project));
    DELETE FROM concord.act_as_grants AS g
    WHERE g.service_principal_id = svc AND g.project_id = target_project
      AND g.on_behalf_of_id IS NOT DISTINCT FROM whom;
    RETURN FOUND;
END
$$;

COMMENT ON FUNCTION concord.revoke_act_as(text, text, text) IS
'Withdraw an act-as grant; true when there was one. Who may: as for grant_act_as.';
