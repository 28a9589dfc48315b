-- Fan-in dependencies (spec 13.4): whether a command's parents are where its
-- requirements want them.

-- NULL when every parent of command_id is in its required status, else a
-- readable list of the unmet ones.
CREATE OR REPLACE FUNCTION concord._unmet_dependencies(command_id uuid)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN (
        SELECT string_agg(
            format('%s is %s, needs %s', d.parent_command_id, p.status, d.required_status),
            '; ' ORDER BY d.parent_command_id)
        FROM concord.command_dependencies AS d
        INNER JOIN concord.commands AS p ON d.parent_command_id = p.command_id
        WHERE d.child_command_id = _unmet_dependencies.command_id
          AND p.status <> d.required_status
    );
END
$$;

CREATE OR REPLACE FUNCTION concord.dependencies_satisfied(command_id uuid)
RETURNS boolean
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
    PERFORM concord._require('command_id', command_id::text);
    IF NOT EXISTS (SELECT 1 FROM concord.commands AS c WHERE c.command_id = dependencies_satisfied.command_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_command_exists',
            MESSAGE = format('command %s not found', command_id);
    END IF;
    RETURN concord._unmet_dependencies(command_id) IS NULL;
END
$$;

COMMENT ON FUNCTION concord.dependencies_satisfied(uuid) IS
'True when every parent of the command is in the status the dependency requires '
'(true with no parents).';
