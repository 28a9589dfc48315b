-- After `concord migrate` (0007 and the sql/ files) on the 0006-era data of
-- 0007_fixture.sql. Each part of 0007 adds its checks (no_plan: parts append).
BEGIN;
SELECT * FROM no_plan();

SELECT ok(EXISTS (SELECT FROM concord.schema_migrations WHERE version = 7),
          'concord.schema_migrations lists version 7');

SELECT results_eq(
    $$SELECT command_id::text, status FROM concord.commands ORDER BY command_id$$,
    $$VALUES ('00000000-0000-0000-0000-000000000071', 'succeeded')$$,
    'the command from before 0007 survived as it was'
);

SELECT * FROM finish();
ROLLBACK;
