-- A partition of the audit trail covers a month in UTC, whatever the session's
-- TimeZone and DateStyle: its bounds are written and read back as text, and
-- a zone abbreviation (IST is India's, Israel's and Ireland's) read back in
-- another zone moved them by hours: the upkeep then skipped a month, created
-- a partition off its month, and a drop's age was checked against a wrong end.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(4);

SET LOCAL TimeZone = 'Asia/Kolkata';
SET LOCAL DateStyle = 'SQL, DMY';

SELECT is(
    (SELECT count(*) FROM concord._audit_partitions() AS p
     WHERE NOT p.is_default AND p.partition_name <> 'domain_events_initial'
       AND (p.range_from <> date_trunc('month', p.range_from AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
            OR p.range_to <> (date_trunc('month', p.range_from AT TIME ZONE 'UTC') + interval '1 month')
                             AT TIME ZONE 'UTC')),
    0::bigint, 'every month partition is read as a month in UTC');

SELECT is(concord.maintain_audit_partitions(3), 1, 'the upkeep creates the month three ahead');

SET LOCAL ROLE concord_owner;
INSERT INTO concord.domain_events (purpose, event_type, actor, trace_id, created_at)
VALUES ('event', 'far_ahead', 'tester', 'trace_utc', '2031-05-10 00:00:00+00');
RESET ROLE;
SELECT lives_ok($$SELECT concord.maintain_audit_partitions()$$,
    'and the month of a row the default partition caught');
SELECT results_eq(
    $$SELECT range_from, range_to FROM concord._audit_partitions()
      WHERE partition_name = 'domain_events_2031_05'$$,
    $$VALUES ('2031-05-01 00:00:00+00'::timestamptz, '2031-06-01 00:00:00+00'::timestamptz)$$,
    'which covers its month in UTC');

SELECT * FROM finish();
ROLLBACK;
