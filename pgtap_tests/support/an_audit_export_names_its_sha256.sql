-- A drop names the sha256 of the file the partition was exported to, and the
-- file: both are kept in the audit row that records the drop.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(4);

SELECT concord.set_audit_retention('1 second') IS NOT NULL AS fixture \gset

SELECT concord_test.throws_rule(
    $$SELECT concord.drop_audit_partition('domain_events_initial', 0, 'abc', 'initial.csv')$$,
    'CN008', 'an_audit_export_names_its_sha256',
    'CN008: a checksum that is no sha256 is refused'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.drop_audit_partition('domain_events_initial', 0, %L, 'initial.csv')$$, repeat('A', 64)),
    'CN008', 'an_audit_export_names_its_sha256',
    'CN008: as is one in upper case (sha256sum prints lower case)'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.drop_audit_partition('domain_events_initial', 0, %L, ' ')$$, repeat('a', 64)),
    'CN008', 'required_argument_is_not_blank',
    'CN008: a drop names the file'
);

SELECT ok(to_regclass('concord_audit.domain_events_initial') IS NOT NULL, 'the partition stays');

SELECT * FROM finish();
ROLLBACK;
