-- A retention age is longer than zero (NULL keeps everything); there is one
-- retention setting.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(6);

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

SELECT concord_test.throws_rule(
    $$SELECT concord.set_audit_retention('1 month -29 days')$$,
    '23514', 'audit_retention_is_positive',
    'as is one longer than zero with a negative part (a month less 29 days)'
);

SELECT is(concord.set_audit_retention('1 year 2 mons 3 days 04:00'), '1 year 2 mons 3 days 04:00'::interval,
          'an age whose every part is positive is kept');

SELECT is(concord.set_audit_retention(null), null::interval, 'NULL keeps everything');

SELECT concord_test.throws_rule(
    $$INSERT INTO concord.audit_retention (singleton, retain_for) VALUES (false, '1 day')$$,
    '23514', 'audit_retention_is_one_row',
    'there is one retention setting'
);

SELECT * FROM finish();
ROLLBACK;
