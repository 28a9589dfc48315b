-- A retention age longer than PostgreSQL's calendar (now() minus it is out of
-- range) keeps everything: concord.audit_partitions still lists the
-- partitions, none due, and a drop is refused by its rule
-- (an_audit_partition_is_dropped_only_past_its_retention), not by an overflow.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(4);

SELECT lives_ok($$SELECT concord.set_audit_retention('200000 years')$$,
    'a retention of 200000 years is set');
SELECT lives_ok($$SELECT * FROM concord.audit_partitions()$$, 'the partitions are listed');
SELECT is((SELECT count(*) FROM concord.audit_partitions() WHERE is_due), 0::bigint,
    'none is due');
SELECT throws_ok(
    $$SELECT concord.drop_audit_partition('domain_events_initial', 0, repeat('a', 64), 'f.csv')$$,
    'CN011', NULL, 'a drop is refused by the retention rule');

SELECT * FROM finish();
ROLLBACK;
