-- Who may submit what (spec 4.3, 7.3): team membership and command-type grants.
-- Both belong to an organisation: the one of the chosen project (use_project),
-- changed by its owners and admins.

CREATE OR REPLACE FUNCTION concord.add_team_member(team text, principal text)
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
    added integer;
    org uuid := concord._chosen_org();
BEGIN
    PERFORM concord._require_org_admin(org);
    PERFORM concord._require_name('team', team);
    principal := concord.canonical_name(principal);
    IF team = principal THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_team_is_not_its_own_member',
            MESSAGE = format('%s cannot be a member of itself', team);
    END IF;
    INSERT INTO concord.team_members AS m (org_id, team, principal, added_by)
    VALUES (org, team, principal, concord._actor(concord._principal()))
    ON CONFLICT ON CONSTRAINT team_members_pkey DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;
    RETURN added > 0;
END
$$;

COMMENT ON FUNCTION concord.add_team_member(text, text) IS
'Make principal a member of team (a team or role name) in the organisation of the chosen '
'project; true when added, false when it already was. An owner or admin of that organisation '
'may (CN012 otherwise).';

CREATE OR REPLACE FUNCTION concord.remove_team_member(team text, principal text)
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
    removed integer;
    org uuid := concord._chosen_org();
BEGIN
    PERFORM concord._require_org_admin(org);
    PERFORM concord._require_name('team', team);
    principal := concord.canonical_name(principal);
    DELETE FROM concord.team_members AS m WHERE m.org_id = org AND m.team = team AND m.principal = principal;
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed > 0;
END
$$;

COMMENT ON FUNCTION concord.remove_team_member(text, text) IS
'Remove principal from team; true when removed, false when it was not a member.';

CREATE OR REPLACE FUNCTION concord._require_command_type(command_type text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._require('command_type', command_type);
    IF NOT EXISTS (SELECT 1 FROM concord.command_types AS ct
                   WHERE ct.command_type = _require_command_type.command_type) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN009',
            CONSTRAINT = 'command_type_is_registered',
            MESSAGE = format('unknown command type %L', command_type),
            HINT = 'Register it first with concord.register_command_type(spec).';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION concord.grant_command_type(command_type text, principal text)
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
    added integer;
    org uuid := concord._chosen_org();
BEGIN
    PERFORM concord._require_org_admin(org);
    PERFORM concord._require_command_type(command_type);
    PERFORM concord._require_name('principal', principal);
    principal := concord.canonical_name(principal);
    INSERT INTO concord.command_type_grants AS g (org_id, command_type, principal, granted_by)
    VALUES (org, command_type, principal, concord._actor(concord._principal()))
    ON CONFLICT ON CONSTRAINT command_type_grants_pkey DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;
    RETURN added > 0;
END
$$;

COMMENT ON FUNCTION concord.grant_command_type(text, text) IS
'Let principal (a user, or a team or role whose members then may) submit command_type under '
'the permission policy, in the organisation of the chosen project; true when granted, false '
'when it already was. An owner or admin of that organisation may (CN012 otherwise).';

CREATE OR REPLACE FUNCTION concord.revoke_command_type(command_type text, principal text)
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
    removed integer;
    org uuid := concord._chosen_org();
BEGIN
    PERFORM concord._require_org_admin(org);
    PERFORM concord._require_command_type(command_type);
    PERFORM concord._require_name('principal', principal);
    principal := concord.canonical_name(principal);
    DELETE FROM concord.command_type_grants AS g
    WHERE g.org_id = org AND g.command_type = command_type AND g.principal = principal;
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed > 0;
END
$$;

COMMENT ON FUNCTION concord.revoke_command_type(text, text) IS
'Withdraw principal''s grant on command_type; true when revoked, false when there was none. '
'Commands already submitted keep their decisions.';
