-- A registry usage row made by a command (a deprecated version resolved for
-- it, a retired one refused) is counted in registry_version_usage only for
-- whoever may see that command, as the command_proposed uses are (issue 16
-- counts those from the commands themselves, under their row security):
-- another organisation's principal learns nothing of them, not even how
-- many there were or when the last one was, even for a shared (global)
-- command type.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(6);

\ir ../lib/identity_fixtures.sql

DO $$
BEGIN
    PERFORM pg_temp.make_login('a_all', ARRAY['concord_app', 'concord_reader'], 'iso-a-alice');
    PERFORM pg_temp.make_login('b_all', ARRAY['concord_app', 'concord_reader'], 'iso-b-bob');
    PERFORM concord.register_command_type('{"command_type": "iso_usage_t", "sync_allowed": true}');
END $$;

SELECT v.version_id AS v1
FROM concord.registry_entities AS e
INNER JOIN concord.registry_versions AS v ON e.entity_id = v.entity_id
WHERE e.entity_type = 'command_type' AND e.name = 'iso_usage_t' \gset

SELECT concord.use_project('iso-a/main') AS fixture \gset
SELECT command_id AS a1 FROM concord.submit_command('iso_usage_t', '{}', 'iso-a-alice') \gset
SELECT concord._registry_deprecate(:'v1') IS NOT NULL AS fixture \gset
SELECT command_id AS a2 FROM concord.submit_command('iso_usage_t', '{}', 'iso-a-alice') \gset

SELECT ok((SELECT e.org_id IS NULL FROM concord.registry_entities AS e
           WHERE e.entity_type = 'command_type' AND e.name = 'iso_usage_t')
          AND (SELECT count(*) FROM concord.registry_usage AS u
               WHERE u.command_id = :'a2' AND u.usage_type = 'deprecated_version_resolved') = 1,
          'fixture: a shared command type, and iso-a''s second command resolved its deprecated version');

SELECT is(
    (SELECT string_agg(u.usage_type || '=' || u.uses, ',' ORDER BY u.usage_type)
     FROM concord.registry_version_usage AS u WHERE u.entity = 'iso_usage_t'),
    'command_proposed=2,deprecated_version_resolved=1',
    'a session that sees everything counts every use');

SELECT is(
    pg_temp.value_as_login('a_all', $q$
        SELECT string_agg(u.usage_type || '=' || u.uses, ',' ORDER BY u.usage_type)
        FROM concord.registry_version_usage AS u WHERE u.entity = 'iso_usage_t'$q$),
    'command_proposed=2,deprecated_version_resolved=1',
    'iso-a''s member counts the uses of its own commands');

SELECT is(
    pg_temp.value_as_login('b_all', $q$
        SELECT coalesce(string_agg(u.usage_type || '=' || u.uses, ',' ORDER BY u.usage_type), 'none')
        FROM concord.registry_version_usage AS u WHERE u.entity = 'iso_usage_t'$q$),
    'none',
    'iso-b''s member sees no use iso-a''s commands made of the shared type, deprecated ones included');

SELECT is(
    pg_temp.value_as_login('b_all', $q$
        SELECT count(*)::text FROM concord.registry_deprecated_usage AS u WHERE u.entity = 'iso_usage_t'$q$),
    '0',
    'nor does registry_deprecated_usage tell iso-b that iso-a still resolves the deprecated version');

SELECT is(
    pg_temp.value_as_login('a_all', $q$
        SELECT u.resolutions::text FROM concord.registry_deprecated_usage AS u WHERE u.entity = 'iso_usage_t'$q$),
    '1',
    'iso-a''s member still sees its own deprecated resolution there');

SELECT * FROM finish();
ROLLBACK;
