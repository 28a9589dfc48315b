-- What a policy may know of who asked (spec 21, 46): the requester's
-- organisation, project, teams and membership roles, as the directory holds
-- them when the policy is evaluated.
CREATE OR REPLACE FUNCTION concord._requester_profile(c concord.commands)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    org uuid;
    profile jsonb;
BEGIN
    SELECT p.org_id, jsonb_build_object('name', c.requested_by, 'organisation', o.name, 'project', p.name)
    INTO org, profile
    FROM concord.projects AS p
    INNER JOIN concord.organisations AS o ON p.org_id = o.org_id
    WHERE p.project_id = c.project_id;
    RETURN profile || jsonb_build_object(
        'teams', coalesce((SELECT jsonb_agg(DISTINCT m.team ORDER BY m.team) FROM concord.team_members AS m
                           WHERE m.org_id = org AND m.principal = c.requested_by), '[]'),
        'roles', coalesce((SELECT jsonb_agg(DISTINCT ms.role ORDER BY ms.role)
                           FROM concord.memberships AS ms
                           INNER JOIN concord.principals AS pr ON ms.principal_id = pr.principal_id
                           WHERE pr.name = c.requested_by AND ms.org_id = org
                             AND (ms.project_id IS NULL OR ms.project_id = c.project_id)), '[]'));
END
$$;
