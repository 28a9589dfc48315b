-- A command waits only on commands of its own project
-- (a_dependency_stays_in_its_project): not through the API, not by the table
-- owner's raw insert; a member of another organisation does not even find the
-- other command (CN006), and a reader may not make a command wait.
BEGIN;
SELECT plan(5);

\ir ../lib/identity_fixtures.sql

DO $$
BEGIN
    PERFORM concord.register_command_type('{"command_type": "dep_iso", "async_required": true}');
    PERFORM pg_temp.make_login('b_app', ARRAY['concord_app'], 'iso-b-app');
    PERFORM concord.create_principal('iso-b-viewer');
    PERFORM concord.add_member('iso-b', 'iso-b-viewer', 'reader');
    PERFORM pg_temp.make_login('b_reader', ARRAY['concord_app'], 'iso-b-viewer');
END $$;

SELECT concord.use_project('iso-a/main') AS fixture \gset
SELECT command_id AS a_parent FROM concord.submit_command('dep_iso', '{}', 'iso-a-alice') \gset
SELECT concord.use_project('iso-b/main') AS fixture \gset
SELECT command_id AS b_child FROM concord.submit_command('dep_iso', '{}', 'iso-b-bob') \gset
SELECT command_id AS b_parent FROM concord.submit_command('dep_iso', '{}', 'iso-b-bob') \gset
RESET concord.project;

SELECT concord_test.throws_rule(
    format('SELECT concord.add_dependency(%L, %L)', :'b_child', :'a_parent'),
    'CN008', 'a_dependency_stays_in_its_project',
    'a superuser''s add_dependency across projects is refused'
);

SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.command_dependencies (child_command_id, parent_command_id, required_status)
             VALUES (%L, %L, 'succeeded')$$, :'b_child', :'a_parent'),
    'CN008', 'a_dependency_stays_in_its_project',
    'so is the table owner''s raw insert'
);

SELECT is(
    pg_temp.as_login('b_app', format('SELECT concord.add_dependency(%L, %L)', :'b_child', :'a_parent')),
    pg_temp.refused('CN006', 'the_command_exists'),
    'for a member of the other organisation the parent does not exist'
);

SELECT is(
    pg_temp.as_login('b_reader', format('SELECT concord.add_dependency(%L, %L)', :'b_child', :'b_parent')),
    pg_temp.refused('CN012', 'the_actor_holds_a_role_in_the_project'),
    'a reader may not make a command wait'
);

SELECT is(
    pg_temp.as_login('b_app', format('SELECT concord.add_dependency(%L, %L)', :'b_child', :'b_parent')),
    'ok',
    'within one project a member may'
);

SELECT * FROM finish();
ROLLBACK;
