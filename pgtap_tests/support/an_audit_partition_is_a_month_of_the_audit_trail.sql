-- Export and drop name a partition of the audit trail with a range: the
-- default partition, another table or a made-up name is refused (CN006).
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(5);

SELECT concord.set_audit_retention('1 second') IS NOT NULL AS fixture \gset

SELECT concord_test.throws_rule(
    format($$SELECT concord.drop_audit_partition('domain_events_default', 0, %L, 'd.csv')$$, repeat('d', 64)),
    'CN006', 'an_audit_partition_is_a_month_of_the_audit_trail',
    'CN006: the default partition is never dropped'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.drop_audit_partition('commands', 0, %L, 'c.csv')$$, repeat('d', 64)),
    'CN006', 'an_audit_partition_is_a_month_of_the_audit_trail',
    'CN006: nor a table that is no partition of the audit trail'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.drop_audit_partition('x"; DROP TABLE concord.commands; --', 0, %L, 'c.csv')$$,
           repeat('d', 64)),
    'CN006', 'an_audit_partition_is_a_month_of_the_audit_trail',
    'CN006: nor a made-up name'
);

SELECT concord_test.throws_rule(
    $$SELECT count(*) FROM concord.audit_partition_rows('domain_events_default')$$,
    'CN006', 'an_audit_partition_is_a_month_of_the_audit_trail',
    'CN006: the export reads only a partition with a range'
);

SELECT ok(to_regclass('concord.commands') IS NOT NULL, 'nothing was dropped');

SELECT * FROM finish();
ROLLBACK;
