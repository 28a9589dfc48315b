-- The upkeep creates the coming months' partitions, at most 24 ahead (each one
-- more is another index every lookup by command probes); run again it has
-- nothing to do.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(5);

SELECT concord_test.throws_rule(
    'SELECT concord.maintain_audit_partitions(25)',
    'CN008', 'audit_partitions_are_made_at_most_24_months_ahead',
    'CN008: 25 months ahead is refused'
);

SELECT concord_test.throws_rule(
    'SELECT concord.maintain_audit_partitions(-1)',
    'CN008', 'audit_partitions_are_made_at_most_24_months_ahead',
    'CN008: as is a negative number'
);

SELECT is(concord.maintain_audit_partitions(4), 2, 'four months ahead: two more than the install made');
SELECT is(concord.maintain_audit_partitions(4), 0, 'run again, it creates nothing');

SELECT is(
    (SELECT count(*) FROM concord._audit_partitions() WHERE range_to > now() AND NOT is_default),
    5::bigint,
    'this month and four ahead have their partitions'
);

SELECT * FROM finish();
ROLLBACK;
