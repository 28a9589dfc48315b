-- Retired versions never resolve (spec 111.4, 113): retiring a version
-- disables its bindings, and a resolution that would have reached it is
-- refused as retired (recorded as retired_version_refused, shown in
-- registry_retired_resolution_attempts); a caller gets CN016. Retirement with
-- migration moves the binding to the new version, which resolves.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(9);

CREATE FUNCTION pg_temp.published(entity_type text, name text, version text, manifest jsonb)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    v uuid := concord.create_registry_version(entity_type, name, version, manifest);
BEGIN
    PERFORM concord._registry_publish(v);
    RETURN v;
END
$$;

SELECT concord.create_registry_entity('command_type', 'rt_cmd', 'Retired command', 'platform-team') IS NOT NULL AS e \gset
SELECT pg_temp.published('command_type', 'rt_cmd', '1.0.0', '{}') AS v1 \gset
SELECT concord._registry_bind(:'v1', 'global', '*', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS b \gset
SELECT is(concord._registry_resolve('command_type', 'rt_cmd', '{}') ->> 'version', '1.0.0', 'fixture: it resolves');
SELECT concord._registry_retire(:'v1', 'approval bypass', true) IS NOT NULL AS retired \gset

SELECT concord._registry_resolve('command_type', 'rt_cmd', '{"user": "ann"}', NULL, true,
                                 '{"command_id": null}') AS answer \gset
SELECT is(:'answer'::jsonb ->> 'resolved', 'false', 'a retired version does not resolve');
SELECT is(:'answer'::jsonb ->> 'reason', 'retired', 'the reason is its retirement');
SELECT is(:'answer'::jsonb ->> 'version_id', :'v1', 'and it names the version refused');
SELECT matches(:'answer'::jsonb #>> '{explanation,0,why}', '^disabled: version 1.0.0 retired',
               'the explanation shows the binding the retirement disabled');
SELECT is((SELECT attempts::int FROM concord.registry_retired_resolution_attempts WHERE version_id = :'v1'), 1,
          'the refusal is recorded and counted');
SELECT concord_test.throws_rule(
    $$SELECT concord.resolve_command_type_contract('rt_cmd')$$,
    'CN016', 'a_capability_resolves_to_a_usable_version', 'a caller asking for it is refused');

-- retirement that migrates the binding
SELECT concord.create_registry_entity('tool', 'rt_tool', 'Migrated tool', 'platform-team') IS NOT NULL AS e2 \gset
SELECT pg_temp.published('tool', 'rt_tool', '1.0.0', '{"mode": "sync"}') AS t1 \gset
SELECT pg_temp.published('tool', 'rt_tool', '1.0.1', '{"mode": "sync", "description": "fixed"}') AS t2 \gset
SELECT concord._registry_bind(:'t1', 'tenant', 'acme', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS b2 \gset
SELECT concord._registry_retire(:'t1', 'data leakage', true, :'t2') IS NOT NULL AS migrated \gset
SELECT is(concord._registry_resolve('tool', 'rt_tool', '{"tenant": "acme"}', NULL, false) ->> 'version', '1.0.1',
          'a binding migrated by the retirement resolves to the new version');
SELECT is(concord._registry_resolve('tool', 'rt_tool', '{"tenant": "other"}', NULL, false) ->> 'reason', 'no_binding',
          'a subject no binding names gets no version, not the retired one');

SELECT * FROM finish();
ROLLBACK;
