-- Every Concord object belongs to concord_owner, a NOLOGIN role granted to no
-- application role: no login owns a table, so none can disable a trigger,
-- drop a policy or switch row-level security off. (A superuser still can do
-- anything; see docs/reference/roles.md.) Loaded before the grants, on every
-- install, so objects added later change hands too.
DO $owner$
DECLARE
    object record;
BEGIN
    EXECUTE 'ALTER SCHEMA concord OWNER TO concord_owner';
    FOR object IN
        SELECT c.oid::regclass AS name, c.relkind
        FROM pg_catalog.pg_class AS c
        WHERE c.relnamespace = 'concord'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p')
          AND c.relowner <> 'concord_owner'::regrole
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO concord_owner',
                       CASE object.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, object.name);
    END LOOP;
    FOR object IN
        SELECT p.oid::regprocedure AS name
        FROM pg_catalog.pg_proc AS p
        WHERE p.pronamespace = 'concord'::regnamespace AND p.proowner <> 'concord_owner'::regrole
    LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO concord_owner', object.name);
    END LOOP;
    FOR object IN
        SELECT t.oid::regtype AS name
        FROM pg_catalog.pg_type AS t
        WHERE t.typnamespace = 'concord'::regnamespace AND t.typtype IN ('c', 'd', 'e')
          AND t.typrelid = 0 AND t.typowner <> 'concord_owner'::regrole
    LOOP
        EXECUTE format('ALTER TYPE %s OWNER TO concord_owner', object.name);
    END LOOP;
END
$owner$;
