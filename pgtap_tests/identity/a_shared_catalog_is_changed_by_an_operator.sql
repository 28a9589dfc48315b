-- The shared catalogs (command types, approval types, tools, shared policies
-- and the built-ins' config) are what every organisation relies on: they are
-- changed by an operator only — a superuser, or a login holding concord_admin
-- that speaks for no principal (no mapping, no credential). A principal holding
-- concord_admin, even an organisation's owner, runs its organisations and
-- keeps its own policies, never the shared catalogs; a token does not make an
-- operator's login one either, nor does disabling the principal a login is
-- mapped to.
BEGIN;
SELECT plan(25);

\ir ../lib/identity_fixtures.sql

DO $$ BEGIN
    PERFORM concord.create_principal('iso-a-owner');
    PERFORM concord.add_member('iso-a', 'iso-a-owner', 'owner');
    PERFORM pg_temp.make_login('owner', ARRAY['concord_admin'], 'iso-a-owner');
    PERFORM pg_temp.make_login('ops', ARRAY['concord_admin']);
    PERFORM pg_temp.make_login('app', ARRAY['concord_app']);
    PERFORM concord.register_command_type('{"command_type": "op_t", "async_required": true}');
    PERFORM concord.register_policy('{"name": "op_shared", "predicate": "true", "decision": "deny"}');
END $$;

SELECT token AS owner_token FROM concord.create_api_token('iso-a-owner', '1 day') \gset

-- ===========================================================================
-- An organisation's owner (a mapped principal holding concord_admin)
-- ===========================================================================
SELECT is(pg_temp.as_login('owner', $$SELECT concord.register_command_type(
              '{"command_type": "owner_t", "async_required": true}')$$),
          pg_temp.refused('CN012', 'a_shared_catalog_is_changed_by_an_operator'),
          'an organisation owner cannot register a command type');
SELECT is(pg_temp.as_login('owner', $$SELECT concord.register_command_type(
              '{"command_type": "op_t", "async_required": true, "description": "mine now"}')$$),
          pg_temp.refused('CN012', 'a_shared_catalog_is_changed_by_an_operator'), '... nor change one');
SELECT is(pg_temp.as_login('owner', $$SELECT concord.register_approval_type(
              '{"name": "owner_at", "approvers": ["iso-a-ann"]}')$$),
          pg_temp.refused('CN012', 'a_shared_catalog_is_changed_by_an_operator'), '... nor an approval type');
SELECT is(pg_temp.as_login('owner', $$SELECT concord.register_tool(
              '{"name": "owner_tool", "command_type": "op_t"}')$$),
          pg_temp.refused('CN012', 'a_shared_catalog_is_changed_by_an_operator'), '... nor a tool');
SELECT is(pg_temp.as_login('owner', $$SELECT concord.register_policy(
              '{"name": "risk", "config": {"levels": ["critical"]}}')$$),
          pg_temp.refused('CN012', 'a_shared_catalog_is_changed_by_an_operator'),
          '... nor configure a built-in policy');
SELECT is(pg_temp.as_login('owner', $$SELECT concord.register_policy(
              '{"name": "op_shared", "predicate": "false", "decision": "deny"}')$$),
          pg_temp.refused('CN012', 'a_policy_is_changed_by_its_organisation'), '... nor change a shared policy');
SELECT is(pg_temp.value_as_login('owner', $$SELECT concord.register_policy(
              '{"name": "owner_rule", "predicate": "true", "decision": "deny"}')$$), 'owner_rule',
          'a policy it registers is its organisation''s ...');
SELECT is((SELECT o.name FROM concord.policies AS p JOIN concord.organisations AS o USING (org_id)
           WHERE p.name = 'owner_rule'), 'iso-a', '... never a shared one');
SELECT is((SELECT count(*) FROM concord.command_types WHERE command_type = 'owner_t'), 0::bigint,
          'nothing of the refused registrations was written');

-- ===========================================================================
-- An operator's login (concord_admin, mapped to no principal)
-- ===========================================================================
SELECT is(pg_temp.value_as_login('ops', $$SELECT concord.register_command_type(
              '{"command_type": "ops_t", "async_required": true}')$$), 'ops_t',
          'an operator''s login registers a command type');
SELECT is(pg_temp.value_as_login('ops', $$SELECT concord.register_approval_type(
              '{"name": "ops_at", "approvers": ["iso-a-ann"]}')$$), 'ops_at', '... an approval type');
SELECT is(pg_temp.value_as_login('ops', $$SELECT concord.register_tool(
              '{"name": "ops_tool", "command_type": "ops_t"}')$$), 'ops_tool', '... a tool');
SELECT is(pg_temp.value_as_login('ops', $$SELECT concord.register_policy(
              '{"name": "ops_rule", "predicate": "true", "decision": "deny", "command_types": ["ops_t"]}')$$),
          'ops_rule', '... a shared policy');
SELECT is((SELECT org_id FROM concord.policies WHERE name = 'ops_rule'), NULL, '... which is shared');
SELECT is(pg_temp.value_as_login('ops', $$SELECT concord.register_policy(
              '{"name": "risk", "config": {"levels": ["critical"]}}')$$), 'risk', '... a built-in''s config');
SELECT is((SELECT array_agg(DISTINCT actor) FROM concord.domain_events
           WHERE target_type IN ('command_type', 'approval_type', 'tool', 'policy')
             AND target_id IN ('ops_t', 'ops_at', 'ops_tool', 'ops_rule')),
          ARRAY[pg_temp.login('ops')::text], 'and each change is audited as its login''s');
SELECT is(pg_temp.as_login('ops', $$SELECT concord.register_policy(
              '{"name": "owner_rule", "predicate": "false", "decision": "deny"}')$$),
          pg_temp.refused('CN012', 'a_policy_is_changed_by_its_organisation'),
          'its shared registration does not take an organisation''s policy over');
SELECT is(pg_temp.as_login('ops', format($$SELECT concord.authenticate(%L), concord.register_command_type(
              '{"command_type": "ops_t2", "async_required": true}')$$, :'owner_token')),
          pg_temp.refused('CN012', 'a_shared_catalog_is_changed_by_an_operator'),
          'authenticated with a principal''s token, the operator''s login speaks for that principal: no operator');
SELECT set_config('concord.credential', '', true) AS fixture \gset
-- Disabling the owner makes its login speak for nobody: not an operator.
UPDATE concord.principals SET disabled_at = now() WHERE name = 'iso-a-owner';
SELECT is(pg_temp.value_as_login('owner', $$SELECT coalesce(concord.current_principal(), 'nobody')$$), 'nobody',
          'fixture: the disabled owner''s login speaks for nobody');
SELECT is(pg_temp.as_login('owner', $$SELECT concord.register_command_type(
              '{"command_type": "disabled_t", "async_required": true}')$$),
          pg_temp.refused('CN012', 'a_shared_catalog_is_changed_by_an_operator'),
          'a login mapped to a disabled principal is no operator: it registers no command type');
SELECT is(pg_temp.as_login('owner', $$SELECT concord.register_policy(
              '{"name": "disabled_rule", "predicate": "true", "decision": "deny"}')$$),
          pg_temp.refused('CN012', 'the_caller_is_authenticated'),
          '... nor a shared policy (it is nobody)');
UPDATE concord.principals SET disabled_at = NULL WHERE name = 'iso-a-owner';
SELECT is(pg_temp.as_login('app', $$SELECT concord.register_command_type(
              '{"command_type": "app_t", "async_required": true}')$$),
          '42501', 'a login mapped to nobody without concord_admin may not call it at all');

-- ===========================================================================
-- A superuser
-- ===========================================================================
SELECT is(concord.register_command_type('{"command_type": "su_t", "async_required": true}'), 'su_t',
          'a superuser registers a command type');
SELECT is(concord.register_policy('{"name": "su_rule", "predicate": "true", "decision": "deny"}'), 'su_rule',
          '... and a shared policy');
SELECT is(concord.register_policy(
              '{"name": "owner_rule", "predicate": "false", "decision": "deny", "organisation": "iso-a"}'),
          'owner_rule', '... and changes an organisation''s policy by naming its organisation');

SELECT * FROM finish();
ROLLBACK;
