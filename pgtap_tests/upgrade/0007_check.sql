-- After `concord migrate` (0007 and the sql/ files) on the 0006-era data of
-- 0007_fixture.sql. Each part of 0007 adds its checks (no_plan: parts append).
BEGIN;
SELECT * FROM no_plan();

SELECT ok(EXISTS (SELECT FROM concord.schema_migrations WHERE version = 7),
          'concord.schema_migrations lists version 7');

SELECT results_eq(
    $$SELECT command_id::text, status FROM concord.commands
      WHERE command_id = '00000000-0000-0000-0000-000000000071'$$,
    $$VALUES ('00000000-0000-0000-0000-000000000071', 'succeeded')$$,
    'the command from before 0007 survived as it was'
);

-- == workers ==
SELECT results_eq(
    $$SELECT command_id::text, attempts FROM concord.commands ORDER BY command_id$$,
    $$VALUES ('00000000-0000-0000-0000-000000000071', 0), ('00000000-0000-0000-0000-000000000072', 2)$$,
    'attempts counts the runs that began before 0007 (a blocked command resuming is not one)'
);
SELECT is_empty($$SELECT * FROM concord.workers$$, 'no worker is registered yet');

SELECT * FROM finish();
ROLLBACK;
