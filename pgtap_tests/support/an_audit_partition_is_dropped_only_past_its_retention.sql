-- A month of the audit trail is dropped only when its whole range is older
-- than the retention age (concord.audit_retention; NULL keeps everything), and
-- the drop is itself recorded in the audit trail, in a partition that stays.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(12);

-- rows from long ago: the initial partition holds them (a fresh install's
-- initial partition ends where this month's starts)
INSERT INTO concord.domain_events (purpose, event_type, actor, trace_id, created_at)
SELECT 'event', 'old_note', 'tester', 'trace_retention', timestamptz '2020-05-01' + g * interval '1 day'
FROM generate_series(1, 3) AS g;

SELECT is(
    (SELECT DISTINCT tableoid::regclass::text FROM concord.domain_events WHERE trace_id = 'trace_retention'),
    'concord_audit.domain_events_initial',
    'fixture: the old rows are in the initial partition'
);

SELECT ok(
    (SELECT retain_for IS NULL FROM concord.audit_retention),
    'by default the audit trail is kept for ever'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.drop_audit_partition('domain_events_initial', 3, repeat('a', 64), 'initial.csv')$$,
    'CN011', 'an_audit_partition_is_dropped_only_past_its_retention',
    'CN011: with no retention age nothing is dropped'
);

SELECT is(concord.set_audit_retention('1 second'), interval '1 second', 'an operator sets a retention age');

SELECT is(
    (SELECT payload ->> 'retain_for' FROM concord.domain_events
     WHERE event_type = 'audit_retention_set' ORDER BY event_seq DESC LIMIT 1),
    '00:00:01',
    'setting it is audited'
);

SELECT is(
    (SELECT array_agg(partition_name ORDER BY range_to) FROM concord.audit_partitions() WHERE is_due),
    ARRAY['domain_events_initial'],
    'only the initial partition is due: every other one ends after now - 1 second'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.drop_audit_partition(%L, 0, %L, 'month.csv')$$,
           'domain_events_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM'), repeat('a', 64)),
    'CN011', 'an_audit_partition_is_dropped_only_past_its_retention',
    'CN011: this month''s partition is not wholly older than the retention age'
);

SELECT count(*) AS exported FROM concord_audit.domain_events_initial \gset
SELECT is(
    concord.drop_audit_partition('domain_events_initial', :exported, repeat('b', 64), 'initial.csv') ->> 'rows',
    :'exported',
    'a partition past the age, with the rows its export holds, is dropped'
);

SELECT ok(to_regclass('concord_audit.domain_events_initial') IS NULL, '... it is gone');

SELECT is(
    (SELECT count(*) FROM concord.domain_events WHERE trace_id = 'trace_retention'), 0::bigint,
    '... with its rows'
);

SELECT is(
    (SELECT concat_ws(' | ', actor, target_id, payload ->> 'sha256', payload ->> 'file', payload ->> 'rows',
                      tableoid::regclass::text)
     FROM concord.domain_events WHERE event_type = 'audit_partition_dropped'),
    concat_ws(' | ', session_user, 'domain_events_initial', repeat('b', 64), 'initial.csv', '3',
              'concord_audit.domain_events_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM')),
    'the drop is audited: who, which partition, its sha256, file and rows, recorded in this month''s partition'
);

SELECT ok(
    (SELECT NOT is_due FROM concord.audit_partitions() WHERE partition_name = 'domain_events_default'),
    'the default partition is never due'
);

SELECT * FROM finish();
ROLLBACK;
