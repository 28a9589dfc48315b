-- After `concord migrate` (0006 identity and the sql/ files) on the 0005-era
-- data of 0006_fixture.sql: everything lands in the default organisation and
-- project, the people named in it are principals (canonical names only) and
-- members, and an idempotency key is unique per project.
BEGIN;
SELECT plan(15);

SELECT ok(EXISTS (SELECT FROM concord.schema_migrations WHERE version = 6),
          'concord.schema_migrations lists version 6');

SELECT results_eq(
    $$SELECT command_id::text, requested_by, project_id::text FROM concord.commands ORDER BY command_id$$,
    $$VALUES ('00000000-0000-0000-0000-000000000061', 'alice', '00000000-0000-4000-8000-00000000000b'),
             ('00000000-0000-0000-0000-000000000062', 'ALICE Smith', '00000000-0000-4000-8000-00000000000b'),
             ('00000000-0000-0000-0000-000000000063', 'bob', '00000000-0000-4000-8000-00000000000b'),
             ('00000000-0000-0000-0000-000000000064', 'schedule:nightly', '00000000-0000-4000-8000-00000000000b')$$,
    'every command survived, in the default project, with its requester as recorded'
);
SELECT is((SELECT o.name || '/' || p.name FROM concord.projects AS p JOIN concord.organisations AS o USING (org_id)
           WHERE p.project_id = '00000000-0000-4000-8000-00000000000b'),
          'default/default', 'the default project is default/default');
SELECT is((SELECT array_agg(DISTINCT project_id::text) FROM (
               SELECT project_id FROM concord.notifications
               UNION ALL SELECT project_id FROM concord.schedules WHERE schedule_name = 'identity_probe_hourly'
               UNION ALL SELECT project_id FROM concord.memories) AS x),
          ARRAY['00000000-0000-4000-8000-00000000000b'],
          'the notification, the schedule and the memory are in the default project');
SELECT is((SELECT array_agg(DISTINCT org_id::text) FROM (
               SELECT org_id FROM concord.team_members UNION ALL SELECT org_id FROM concord.command_type_grants) AS x),
          ARRAY['00000000-0000-4000-8000-00000000000a'],
          'the team and the grant belong to the default organisation');
SELECT results_eq(
    $$SELECT name, kind FROM concord.principals ORDER BY name$$,
    $$VALUES ('alice', 'user'), ('bob', 'user'), ('carol', 'user'), ('dave', 'user'), ('erin', 'user')$$,
    'the people named in the data are principals; ALICE Smith, not a canonical name, and schedule:nightly, '
    'the kernel''s, are left as history'
);
SELECT results_eq(
    $$SELECT p.name, array_agg(m.role ORDER BY m.role) FROM concord.memberships AS m
      JOIN concord.principals AS p USING (principal_id)
      WHERE m.org_id = '00000000-0000-4000-8000-00000000000a' AND m.project_id IS NULL
      GROUP BY p.name ORDER BY p.name$$,
    $$VALUES ('alice', ARRAY['member']), ('bob', ARRAY['member']), ('carol', ARRAY['approver', 'member']),
             ('dave', ARRAY['member']), ('erin', ARRAY['member'])$$,
    'each is a member of the default organisation; a team member is an approver too'
);
SELECT is((SELECT decided_by FROM concord.approvals WHERE approval_id = '00000000-0000-0000-0000-000000000064'),
          'erin', 'the decided approval survived');

-- An idempotency key names one request per project: the same key in another
-- project is another request.
SELECT concord.create_organisation('upgraded') IS NOT NULL AS fixture \gset
SELECT concord.create_project('upgraded', 'main') IS NOT NULL AS fixture \gset
SELECT concord.use_project('default/default') AS fixture \gset
SELECT is((SELECT command_id::text FROM concord.submit_command('identity_probe', '{"n": 1}', 'alice', 'api', '{}', 'key-1')),
          '00000000-0000-0000-0000-000000000061', 'in the default project key-1 still names the old command');
SELECT concord.use_project('upgraded/main') AS fixture \gset
SELECT isnt((SELECT command_id::text FROM concord.submit_command('identity_probe', '{"n": 1}', 'alice', 'api', '{}', 'key-1')),
            '00000000-0000-0000-0000-000000000061', 'in another project key-1 is a new command');
SELECT throws_ok(
    $$INSERT INTO concord.commands (command_type, requested_by, ingress, idempotency_key, project_id)
      VALUES ('identity_probe', 'alice', 'api', 'key-2', '00000000-0000-4000-8000-00000000000b')$$,
    '23505', NULL, 'within one project a key is still taken once');
SELECT is((SELECT count(*) FROM concord.principal_logins), 0::bigint, 'no login is mapped by the upgrade');

-- A policy from before scopes is shared, attached to nothing, and still decides.
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
