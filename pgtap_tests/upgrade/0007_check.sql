-- After `concord migrate` (0007 policy scopes and the sql/ files) on the
-- 0006-era data of 0007_fixture.sql: the old policy is shared by every
-- organisation, attached to nothing more, and still decides.
BEGIN;
SELECT plan(4);

SELECT ok(
    EXISTS (SELECT FROM concord.schema_migrations WHERE version = 7),
    'concord.schema_migrations lists version 7'
);

SELECT results_eq(
    $$SELECT org_id, project_id, command_types FROM concord.policies WHERE name = 'scoped_probe'$$,
    $$VALUES (null::uuid, null::uuid, '{}'::text[])$$,
    'a policy from before scopes is shared and attached to nothing'
);

SELECT is(
    (SELECT s.status FROM concord.submit_command('scoped_probe_type', '{"n": 9}', 'alice') AS s),
    'failed',
    'it still governs the type that names it: too many is denied'
);

SELECT is(
    (SELECT s.status FROM concord.submit_command('scoped_probe_type', '{"n": 1}', 'alice') AS s),
    'validated',
    'and allows what it allows'
);

SELECT * FROM finish();
ROLLBACK;
