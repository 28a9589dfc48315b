-- An insert never fails for want of a partition, and the partition upkeep
-- never fails for a row it was given: a created_at of infinity, -infinity, the
-- last month PostgreSQL can hold (its month has no end to bound a partition)
-- or a year BC waits in the default partition or gets a month partition of its
-- own, and concord.maintain_audit_partitions still runs (it is run by concord
-- migrate and concord audit retain: one such row made both fail).
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(8);

-- The initial partition (from MINVALUE) is gone, as after a retention run:
-- rows dated before it now reach the default partition.
DROP TABLE concord_audit.domain_events_initial;

SET LOCAL ROLE concord_owner;
INSERT INTO concord.domain_events (purpose, event_type, actor, trace_id, created_at)
SELECT 'event', 'odd_date', 'tester', 'trace_upkeep', d
FROM unnest(ARRAY[
    'infinity', '-infinity', '294276-12-15 00:00:00+00', '0044-03-15 00:00:00+00 BC',
    '0044-03-15 00:00:00+00', '1999-12-31 23:00:00-05'
]::timestamptz[]) AS d;
RESET ROLE;

SELECT lives_ok($$SELECT concord.maintain_audit_partitions()$$,
    'the upkeep runs with rows of any created_at in the default partition');
SELECT lives_ok($$SELECT concord.maintain_audit_partitions()$$, 'and runs again');

SELECT is((SELECT count(*) FROM concord.domain_events WHERE trace_id = 'trace_upkeep'), 6::bigint,
    'no row is lost');
SELECT is(
    (SELECT array_agg(created_at ORDER BY created_at) FROM concord_audit.domain_events_default),
    ARRAY['-infinity', '294276-12-15 00:00:00+00', 'infinity']::timestamptz[],
    'rows no month partition can bound stay in the default partition');
SELECT isnt(
    (SELECT tableoid FROM concord.domain_events WHERE created_at = '0044-03-15 00:00:00+00 BC'),
    (SELECT tableoid FROM concord.domain_events WHERE created_at = '0044-03-15 00:00:00+00'),
    'a month BC and the same month AD are partitions of their own');
SELECT is(
    (SELECT tableoid::regclass::text FROM concord.domain_events WHERE created_at = '2000-01-01 04:00:00+00'),
    'concord_audit.domain_events_2000_01', 'a month is a month in UTC');
SELECT lives_ok($$
    SET LOCAL ROLE concord_owner;
    INSERT INTO concord.domain_events (purpose, event_type, actor, trace_id, created_at)
    VALUES ('event', 'odd_date', 'tester', 'trace_upkeep', 'infinity');
    RESET ROLE
$$, 'an insert still finds a partition');
SELECT ok(
    (SELECT count(*) FROM concord._audit_partitions() AS p
     WHERE NOT EXISTS (SELECT FROM pg_trigger AS t
                       WHERE t.tgrelid = format('concord_audit.%I', p.partition_name)::regclass
                         AND t.tgname = 'events_are_not_truncated')) = 0,
    'every partition, the new default one included, refuses TRUNCATE');

SELECT * FROM finish();
ROLLBACK;
