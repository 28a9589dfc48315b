-- A partition is dropped only when it holds exactly the rows its export holds,
-- counted under a lock: a row that arrived after the export keeps the
-- partition (and nothing of the drop is recorded).
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(5);

INSERT INTO concord.domain_events (purpose, event_type, actor, trace_id, created_at)
VALUES ('event', 'old_note', 'tester', 'trace_exported', '2019-02-01'),
       ('event', 'old_note', 'tester', 'trace_exported', '2019-02-02');
SELECT concord.set_audit_retention('1 second') IS NOT NULL AS fixture \gset

SELECT count(*) AS exported FROM concord_audit.domain_events_initial \gset
-- a row arrives after the export
INSERT INTO concord.domain_events (purpose, event_type, actor, trace_id, created_at)
VALUES ('event', 'late_note', 'tester', 'trace_exported', '2019-02-03');

SELECT concord_test.throws_rule(
    format($$SELECT concord.drop_audit_partition('domain_events_initial', %s, %L, 'initial.csv')$$,
           :exported, repeat('c', 64)),
    'CN011', 'an_audit_partition_is_dropped_only_as_exported',
    'CN011: a partition holding a row its export lacks is not dropped'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.drop_audit_partition('domain_events_initial', null, %L, 'initial.csv')$$,
           repeat('c', 64)),
    'CN011', 'an_audit_partition_is_dropped_only_as_exported',
    'CN011: nor one whose export names no row count'
);

SELECT ok(to_regclass('concord_audit.domain_events_initial') IS NOT NULL, 'the partition stays');

SELECT is(
    (SELECT count(*) FROM concord.domain_events WHERE trace_id = 'trace_exported'), 3::bigint,
    '... with every row'
);

SELECT is_empty(
    $$SELECT 1 FROM concord.domain_events WHERE event_type = 'audit_partition_dropped'$$,
    'and no drop is recorded'
);

SELECT * FROM finish();
ROLLBACK;
