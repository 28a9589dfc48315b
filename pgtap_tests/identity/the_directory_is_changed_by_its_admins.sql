-- The directory (spec 22, 46): organisations, projects, memberships, act-as
-- grants and login mappings. An organisation's owners and admins change it
-- (owners and admins only by an owner), a superuser maps logins, names are
-- slugs and unique, the last owner stays, a service never administers, and
-- the table owner cannot rewrite what was recorded.
BEGIN;
SELECT plan(33);

\ir ../lib/identity_fixtures.sql

DO $$ BEGIN
    PERFORM concord.create_principal('iso-a-owner');
    PERFORM concord.grant_act_as('iso-a-svc', 'iso-a/main', 'iso-a-alice');
    PERFORM concord.add_member('iso-a', 'iso-a-owner', 'owner');
    PERFORM concord.add_member('iso-a', 'iso-a-admin', 'admin');
    PERFORM pg_temp.make_login('owner', ARRAY['concord_admin'], 'iso-a-owner');
    PERFORM pg_temp.make_login('admin', ARRAY['concord_admin'], 'iso-a-admin');
    PERFORM pg_temp.make_login('member', ARRAY['concord_admin'], 'iso-a-alice');
    PERFORM pg_temp.make_login('bob', ARRAY['concord_admin'], 'iso-b-bob');
END $$;

-- ===========================================================================
-- Who changes the directory
-- ===========================================================================
SELECT is(pg_temp.value_as_login('owner', $$SELECT concord.create_project('iso-a', 'Side') IS NOT NULL$$), 'true',
          'an owner creates a project');
SELECT is((SELECT count(*) FROM concord.projects WHERE name = 'side'), 1::bigint, '... under its lower-case name');
SELECT is(pg_temp.value_as_login('admin', $$SELECT concord.add_member('iso-a', 'iso-b-bob', 'member', 'side')$$),
          'true', 'an admin adds a member to one project');
SELECT is(pg_temp.as_login('admin', $$SELECT concord.add_member('iso-a', 'iso-b-bob', 'admin')$$),
          pg_temp.refused('CN012', 'the_directory_is_changed_by_an_organisation_admin'),
          'an admin cannot make an admin: only an owner can');
SELECT is(pg_temp.as_login('member', $$SELECT concord.create_project('iso-a', 'mine')$$),
          pg_temp.refused('CN012', 'the_directory_is_changed_by_an_organisation_admin'),
          'a member cannot create a project');
SELECT is(pg_temp.as_login('member', $$SELECT concord.grant_act_as('iso-a-svc', 'iso-a/main')$$),
          pg_temp.refused('CN012', 'the_directory_is_changed_by_an_organisation_admin'),
          'a member cannot grant act-as');
SELECT is(pg_temp.as_login('member', $$SELECT concord.create_principal('iso-a-new')$$),
          pg_temp.refused('CN012', 'the_directory_is_changed_by_an_organisation_admin'),
          'a member cannot register principals');
SELECT is(pg_temp.as_login('owner', $$SELECT concord.add_member('iso-a', 'iso-a-alice', 'root')$$),
          pg_temp.refused('CN008', 'membership_role_is_known'), 'an unknown role is refused');
SELECT is(pg_temp.as_login('owner', $$SELECT concord.add_member('iso-a', 'iso-a-svc', 'admin')$$),
          pg_temp.refused('CN008', 'a_service_does_not_administer'), 'a service is never an admin');
SELECT is(pg_temp.as_login('owner', $$SELECT concord.grant_act_as('iso-a-alice', 'iso-a/main')$$),
          pg_temp.refused('CN008', 'only_a_service_acts_as_another'), 'only a service gets act-as grants');
SELECT is(pg_temp.as_login('owner', $$SELECT concord.add_member('iso-a', 'nobody-at-all', 'member')$$),
          pg_temp.refused('CN006', 'the_principal_exists'), 'an unregistered principal cannot be added');
SELECT is(pg_temp.as_login('owner', $$SELECT concord.remove_member('iso-a', 'iso-a-owner', 'owner')$$),
          pg_temp.refused('CN011', 'an_organisation_keeps_an_owner'), 'the last owner stays');
SELECT is(pg_temp.value_as_login('owner', $$SELECT concord.remove_member('iso-a', 'iso-b-bob', 'member', 'side')$$),
          'true', 'an owner removes a member');
-- bob, no longer a member of iso-a, meets it as a stranger
SELECT is(pg_temp.as_login('bob', $$SELECT concord.add_member('iso-a', 'iso-b-bob', 'owner')$$),
          pg_temp.refused('CN006', 'the_organisation_exists'),
          'a principal of another organisation cannot add itself: the organisation does not exist for it');
SELECT is(pg_temp.as_login('bob', $$SELECT concord.grant_act_as('iso-b-svc', 'iso-a/main')$$),
          pg_temp.refused('CN006', 'the_project_exists'),
          'nor grant its service act-as in a project of another organisation');

-- ===========================================================================
-- Names
-- ===========================================================================
SELECT is(pg_temp.value_as_login('bob', $$SELECT concord.create_organisation('bobs-own') IS NOT NULL$$), 'true',
          'an authenticated principal creates an organisation of its own');
SELECT is((SELECT array_agg(m.role) FROM concord.memberships AS m JOIN concord.organisations AS o USING (org_id)
           JOIN concord.principals AS p USING (principal_id) WHERE o.name = 'bobs-own' AND p.name = 'iso-b-bob'),
          ARRAY['owner'], '... and becomes its owner');
SELECT is(pg_temp.as_login('bob', $$SELECT concord.create_organisation('iso-a')$$),
          pg_temp.refused('CN011', 'organisation_name_is_unique'), 'an organisation name is taken once');
SELECT is(pg_temp.as_login('owner', $$SELECT concord.create_project('iso-a', 'main')$$),
          pg_temp.refused('CN011', 'project_name_is_unique_in_its_organisation'),
          'a project name is taken once per organisation');
SELECT concord_test.throws_rule($$INSERT INTO concord.organisations (name, created_by) VALUES ('Not A Slug', 't')$$,
    '23514', 'organisation_name_is_a_slug', 'an organisation name is a slug');
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.projects (org_id, name, created_by)
      SELECT org_id, '-x', 't' FROM concord.organisations WHERE name = 'iso-a'$$,
    '23514', 'project_name_is_a_slug', 'a project name is a slug');
SELECT concord_test.throws_rule($$SELECT concord.create_principal('iso-a-robot', 'robot')$$,
    'CN008', 'principal_kind_is_known', 'a principal is a user or a service');
SELECT concord_test.throws_rule($$INSERT INTO concord.principals (name, kind, created_by) VALUES ('x', 'robot', 't')$$,
    '23514', 'principal_kind_is_known', 'the table refuses another kind too');

-- ===========================================================================
-- Login mappings
-- ===========================================================================
SELECT is(pg_temp.as_login('owner', format($$SELECT concord.map_login(%L, 'iso-a-owner')$$, pg_temp.login('member'))),
          pg_temp.refused('CN012', 'a_login_is_mapped_by_a_superuser'), 'only a superuser maps a login');
SELECT is(concord.map_login(pg_temp.login('member'), 'iso-a-alice'), false, 'mapping a login again changes nothing');
SELECT concord_test.throws_rule(format($$SELECT concord.map_login(%L, 'iso-a-ann')$$, pg_temp.login('member')),
    'CN011', 'a_login_speaks_for_one_principal', 'a login speaks for one principal');

-- ===========================================================================
-- The table owner cannot rewrite the directory
-- ===========================================================================
SELECT concord_test.throws_rule($$UPDATE concord.organisations SET name = 'renamed' WHERE name = 'iso-a'$$,
    'CN007', 'organisations_are_not_rewritten', 'an organisation is not renamed');
SELECT concord_test.throws_rule($$DELETE FROM concord.projects WHERE name = 'side'$$,
    'CN007', 'projects_are_not_rewritten', 'a project is not deleted');
SELECT concord_test.throws_rule($$UPDATE concord.memberships SET role = 'owner'$$,
    'CN007', 'memberships_are_not_updated', 'a membership is not rewritten into another role');
SELECT concord_test.throws_rule($$UPDATE concord.principal_logins SET login = 'someone_else'$$,
    'CN007', 'principal_logins_are_not_updated', 'a login mapping is not rewritten');
SELECT concord_test.throws_rule($$UPDATE concord.act_as_grants SET on_behalf_of_id = NULL$$,
    'CN007', 'act_as_grants_are_not_updated', 'an act-as grant is not widened by a rewrite');
SELECT col_has_check('concord', 'principals', 'name',
    'the CHECK principal_name_is_not_blank stands behind the canonical-form trigger on principals.name');
SELECT is((SELECT count(*) FROM pg_constraint WHERE conname = 'principal_name_is_not_blank'), 1::bigint,
          'principal_name_is_not_blank is a constraint of the table');

SELECT * FROM finish();
ROLLBACK;
