-- A retention age is longer than zero (NULL keeps everything); there is one
-- retention setting.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(4);

SELECT concord_test.throws_rule(
    $$SELECT concord.set_audit_retention('0 seconds')$$,
    '23514', 'audit_retention_is_positive',
    'a retention of zero is refused'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.set_audit_retention('-3 days')$$,
    '23514', 'audit_retention_is_positive',
    'as is a negative one'
);

SELECT is(concord.set_audit_retention(null), null::interval, 'NULL keeps everything');

SELECT concord_test.throws_rule(
    $$INSERT INTO concord.audit_retention (singleton, retain_for) VALUES (false, '1 day')$$,
    '23514', 'audit_retention_is_one_row',
    'there is one retention setting'
);

SELECT * FROM finish();
ROLLBACK;
