-- Which policies govern a command (spec 21, 46): those its type names in
-- policy_checks, and those that attach themselves to its type (command_types)
-- within their scope; a policy of one organisation or project governs only
-- that organisation's or project's commands.

-- Does policy p govern commands of project_id? Never NULL: a caller that
-- asks NOT _policy_covers(...) must not read unknown as covered.
CREATE OR REPLACE FUNCTION concord._policy_covers(p concord.policies, project_id uuid)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN coalesce(
        p.org_id IS NULL
        OR p.project_id = _policy_covers.project_id
        OR (p.project_id IS NULL AND p.org_id = (
            SELECT x.org_id FROM concord.projects AS x WHERE x.project_id = _policy_covers.project_id)),
        false);
END
$$;

-- The names of the policies that govern command c of type ct, in order: the
-- type's own, then the attached ones by name.
CREATE OR REPLACE FUNCTION concord._policies_for(c concord.commands, ct concord.command_types)
RETURNS text[]
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    named text[] := concord._effective_policies(ct);
BEGIN
    RETURN named || ARRAY(
        SELECT p.name FROM concord.policies AS p
        WHERE p.command_types @> ARRAY[ct.command_type] AND NOT p.name = ANY (named)
          AND concord._policy_covers(p, c.project_id)
        ORDER BY p.name);
END
$$;
