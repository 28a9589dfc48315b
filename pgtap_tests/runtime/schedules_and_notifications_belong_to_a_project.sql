-- Schedules and notifications belong to a project (spec 46): a schedule is
-- registered in its admin's project and its name is one project's
-- (a_schedule_name_is_one_projects); a notification goes to its command's
-- project, else the caller's, and its idempotency key is that project's; the
-- shared runtime catalogs (connectors, queues, operations) are the operators'
-- (a_shared_catalog_is_changed_by_an_operator).
BEGIN;
SELECT plan(11);

\ir ../lib/identity_fixtures.sql

DO $$
BEGIN
    PERFORM concord.register_command_type('{"command_type": "iso_sched", "async_required": true}');
    PERFORM concord.add_member('iso-a', 'iso-a-admin', 'admin');
    PERFORM concord.add_member('iso-b', 'iso-b-admin', 'admin');
    PERFORM pg_temp.make_login('a_admin', ARRAY['concord_admin'], 'iso-a-admin');
    PERFORM pg_temp.make_login('b_admin', ARRAY['concord_admin'], 'iso-b-admin');
    PERFORM pg_temp.make_login('a_member_admin', ARRAY['concord_admin'], 'iso-a-alice');
    PERFORM pg_temp.make_login('a_app', ARRAY['concord_app'], 'iso-a-app');
    PERFORM pg_temp.make_login('b_app', ARRAY['concord_app'], 'iso-b-app');
END $$;

SELECT is(
    pg_temp.as_login('a_admin', $$SELECT concord.register_schedule(
        '{"name": "iso_nightly", "cron": "0 3 * * *", "command_type": "iso_sched"}')$$),
    'ok',
    'an admin of iso-a registers a schedule'
);

SELECT is(
    (SELECT concord._project_name(s.project_id) FROM concord.schedules AS s WHERE s.schedule_name = 'iso_nightly'),
    'iso-a/main',
    'the schedule belongs to its admin''s project, where its commands will be submitted'
);

SELECT is(
    pg_temp.as_login('b_admin', $$SELECT concord.register_schedule(
        '{"name": "iso_nightly", "cron": "0 4 * * *", "command_type": "iso_sched"}')$$),
    pg_temp.refused('CN011', 'a_schedule_name_is_one_projects'),
    'another organisation''s admin cannot take over the schedule by its name'
);

SELECT is(
    (SELECT s.cron FROM concord.schedules AS s WHERE s.schedule_name = 'iso_nightly'),
    '0 3 * * *',
    'the schedule is unchanged'
);

SELECT is(
    pg_temp.as_login('a_member_admin', $$SELECT concord.register_schedule(
        '{"name": "iso_hourly", "cron": "0 * * * *", "command_type": "iso_sched"}')$$),
    pg_temp.refused('CN012', 'the_actor_holds_a_role_in_the_project'),
    'a member (holding concord_admin) is no admin of the project: no schedule'
);

SELECT is(
    pg_temp.as_login('a_admin', $$SELECT concord.register_queue('{"name": "iso_queue"}')$$),
    pg_temp.refused('CN012', 'a_shared_catalog_is_changed_by_an_operator'),
    'an organisation admin changes no shared queue'
);

SELECT is(
    pg_temp.as_login('a_admin', $$SELECT concord.register_connector(
        '{"name": "iso_conn", "kind": "http", "config": {"base_url": "http://127.0.0.1:9"}}')$$),
    pg_temp.refused('CN012', 'a_shared_catalog_is_changed_by_an_operator'),
    'an organisation admin changes no shared connector'
);

SELECT is(
    pg_temp.as_login('a_admin', $$SELECT concord.register_operations('[]', 'iso-executor', 'v1')$$),
    pg_temp.refused('CN012', 'a_shared_catalog_is_changed_by_an_operator'),
    'an organisation admin registers no operations (a worker or an operator does)'
);

SELECT pg_temp.value_as_login('a_app', $$SELECT concord.store_notification('iso-a-alice', 'hello', 'from a',
    'app', null, 'iso-key')$$) AS a_note \gset
SELECT pg_temp.value_as_login('b_app', $$SELECT concord.store_notification('iso-b-bob', 'hello', 'from b',
    'app', null, 'iso-key')$$) AS b_note \gset

SELECT is(
    (SELECT array_agg(concord._project_name(n.project_id) ORDER BY n.body) FROM concord.notifications AS n
     WHERE n.notification_id IN (:'a_note'::uuid, :'b_note'::uuid)),
    ARRAY['iso-a/main', 'iso-b/main'],
    'the same idempotency key in two projects: two notifications, each in its sender''s project'
);

SELECT concord.use_project('iso-a/main') AS fixture \gset
SELECT command_id AS a_command FROM concord.submit_command('iso_sched', '{}', 'iso-a-alice') \gset
RESET concord.project;

SELECT is(
    pg_temp.as_login('b_app', format($$SELECT concord.store_notification('iso-b-bob', 's', 'b',
        'app', %L)$$, :'a_command')),
    pg_temp.refused('CN006', 'the_command_exists'),
    'a notification about another organisation''s command: that command does not exist for the caller'
);

SELECT is(
    pg_temp.as_login('a_app', format($$SELECT concord.store_notification('iso-a-alice', 's', 'a',
        'app', %L)$$, :'a_command')),
    'ok',
    'its own organisation''s member may'
);

SELECT * FROM finish();
ROLLBACK;
