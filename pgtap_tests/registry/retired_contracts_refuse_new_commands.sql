-- Retired contracts refuse new commands (issue 14 section 3, spec 111.4): a
-- command type whose version is retired without a migration, or whose global
-- binding is gone, takes no new command
-- (a_command_type_resolves_to_a_usable_contract, CN016, naming the type and
-- why); its catalog row stays for what names it, and a command recorded
-- before keeps its contract. A retirement that migrates the binding projects
-- the new version. A deprecated contract still judges, with a warning on the
-- command's trail (contract_deprecated) and in the registry's usage.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(13);

-- The global version of command type name.
CREATE FUNCTION pg_temp.bound(name text)
RETURNS uuid
LANGUAGE sql
AS $$
    SELECT (concord._registry_global_version(e.entity_id)).version_id FROM concord.registry_entities AS e
    WHERE e.entity_type = 'command_type' AND e.name = bound.name
$$;

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "kr_gone", "sync_allowed": true, "max_attempts": 4}');
    PERFORM concord.register_command_type('{"command_type": "kr_unbound", "sync_allowed": true}');
    PERFORM concord.register_command_type('{"command_type": "kr_moved", "sync_allowed": true}');
    PERFORM concord.register_command_type('{"command_type": "kr_old", "sync_allowed": true}');
END $$;

-- ===========================================================================
-- Retired without a migration
-- ===========================================================================
SELECT is(concord_test.submit('before', 'kr_gone'), 'validated', 'fixture: a command of kr_gone before');
SELECT pg_temp.bound('kr_gone') AS gone_v1 \gset
SELECT concord._registry_retire(:'gone_v1', 'withdrawn') IS NOT NULL AS retired \gset
SELECT concord_test.throws_rule(
    $$SELECT concord_test.submit('after', 'kr_gone')$$,
    'CN016', 'a_command_type_resolves_to_a_usable_contract',
    'CN016: a command type whose version is retired takes no new command');
SELECT throws_like(
    $$SELECT concord_test.submit('after', 'kr_gone')$$,
    '%kr_gone%version 1.0.0 is retired%', '... and the refusal names the type and why');
SELECT is((SELECT count(*)::int FROM concord.command_types WHERE command_type = 'kr_gone'), 1,
          'its catalog row stays');
SELECT results_eq(
    $$SELECT ct.max_attempts FROM concord.commands AS c, concord._command_contract_of(c) AS ct
      WHERE c.command_id = concord_test.id('before')$$,
    $$VALUES (4)$$,
    'a command recorded before keeps its contract');

-- ===========================================================================
-- No binding left
-- ===========================================================================
SELECT concord._registry_unbind(b.registry_binding_id, 'taken out') IS NOT NULL AS unbound
FROM concord.registry_bindings AS b INNER JOIN concord.registry_entities AS e ON b.entity_id = e.entity_id
WHERE e.entity_type = 'command_type' AND e.name = 'kr_unbound' \gset
SELECT concord_test.throws_rule(
    $$SELECT concord_test.submit('nothing', 'kr_unbound')$$,
    'CN016', 'a_command_type_resolves_to_a_usable_contract', 'CN016: a command type bound nowhere takes no command');
SELECT concord_test.throws_rule(
    $$SELECT concord_test.submit('unknown', 'kr_no_such_type')$$,
    'CN009', 'command_type_is_registered', 'CN009: an unknown type is still unknown');

-- ===========================================================================
-- Retired with a migration
-- ===========================================================================
SELECT pg_temp.bound('kr_moved') AS moved_v1 \gset
SELECT concord_test.new_catalog_version('command_type', 'kr_moved', '{"max_attempts": 7}', 'tenant', 'nobody')
       AS moved_v2 \gset
SELECT concord._registry_retire(:'moved_v1', 'superseded', false, :'moved_v2') IS NOT NULL AS retired \gset
SELECT is((SELECT max_attempts FROM concord.command_types WHERE command_type = 'kr_moved'), 7,
          'a retirement that migrates its global binding projects the new version');
SELECT is(concord_test.submit('moved', 'kr_moved'), 'validated', 'new commands go on');
SELECT is((SELECT contract_version_id FROM concord.commands WHERE command_id = concord_test.id('moved')),
          :'moved_v2'::uuid, '... judged under the version the binding moved to');

-- ===========================================================================
-- Deprecated: resolves, with a warning
-- ===========================================================================
SELECT concord._registry_deprecate(pg_temp.bound('kr_old')) IS NOT NULL AS deprecated \gset
SELECT is(concord_test.submit('old', 'kr_old'), 'validated', 'a deprecated contract still judges');
SELECT results_eq(
    $$SELECT e.payload ->> 'version' FROM concord.domain_events AS e
      WHERE e.command_id = concord_test.id('old') AND e.event_type = 'contract_deprecated'$$,
    $$VALUES ('1.0.0')$$,
    'its command carries a contract_deprecated event');
SELECT ok(EXISTS (SELECT FROM concord.registry_usage AS u
                  WHERE u.command_id = concord_test.id('old') AND u.usage_type = 'deprecated_version_resolved'),
          'and the registry records the deprecated version''s use');

SELECT * FROM finish();
ROLLBACK;
