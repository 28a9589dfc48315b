-- The audit trail's partitions (schema concord_audit, migration 0009) belong
-- to concord_owner like every Concord object, and no role reads or writes one
-- directly: the audit trail is read through concord.domain_events, where
-- row-level security applies, and written only by the API. As no login holds
-- concord_owner, no login can TRUNCATE, DETACH or DROP a partition either; a
-- month is dropped only by concord.drop_audit_partition, after its export.
DO $owner$
DECLARE
    partition record;
BEGIN
    EXECUTE 'ALTER SCHEMA concord_audit OWNER TO concord_owner';
    FOR partition IN
        SELECT c.oid::regclass AS name
        FROM pg_catalog.pg_class AS c
        WHERE c.relnamespace = 'concord_audit'::regnamespace AND c.relkind IN ('r', 'p')
          AND c.relowner <> 'concord_owner'::regrole
    LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO concord_owner', partition.name);
    END LOOP;
END
$owner$;

REVOKE ALL ON SCHEMA concord_audit FROM PUBLIC;

REVOKE ALL ON ALL TABLES IN SCHEMA concord_audit
FROM
PUBLIC, concord_app, concord_reader, concord_approver, concord_admin, concord_worker,
concord_agent;

-- Retention is an operator's (the functions check it too); the upkeep of the
-- coming months is also the worker's.
GRANT EXECUTE ON FUNCTION
concord.set_audit_retention(interval),
concord.audit_partitions(),
concord.audit_partition_rows(text),
concord.drop_audit_partition(text, bigint, text, text)
TO concord_admin;

GRANT EXECUTE ON FUNCTION concord.maintain_audit_partitions(integer)
TO concord_worker, concord_admin;

-- The months ahead exist from the install on, created as concord_owner.
SELECT concord.maintain_audit_partitions();
