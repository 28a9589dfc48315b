-- Canary subjects land on the same side (spec 112.1; Unleash-style sticky
-- rollouts): a canary takes a subject when its bucket, sha256 of the binding
-- and the subject's name modulo 10000, is below percent * 100. The same
-- subject always gets the same answer; about percent of many subjects land
-- in the canary; 0 takes nobody and 100 everybody; the subject may be the
-- user, the tenant or the app; a subject without that name falls to the
-- pinned binding of the scope.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(11);

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

SELECT concord.create_registry_entity('tool', 'cn_tool', 'Canary tool', 'platform-team') IS NOT NULL AS e \gset
SELECT pg_temp.published('tool', 'cn_tool', '1.0.0', '{"mode": "sync"}') AS v1 \gset
SELECT pg_temp.published('tool', 'cn_tool', '1.1.0', '{"mode": "sync", "description": "new"}') AS v2 \gset
SELECT concord._registry_bind(:'v1', 'global', '*', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS pinned \gset
SELECT concord._registry_bind(:'v2', 'global', '*', NULL, 'canary', '{"percent": 25}', 'tester') ->> 'binding_id'
    AS canary \gset

CREATE TEMP TABLE answers AS
SELECT i, concord._registry_resolve('tool', 'cn_tool', jsonb_build_object('user', 'user-' || i), 'prod', false)
    ->> 'version' AS version
FROM generate_series(1, 1000) AS i;

SELECT cmp_ok((SELECT count(*) FROM answers WHERE version = '1.1.0')::int, '>=', 200,
              'about 25% of 1000 users land in the canary (at least 200)');
SELECT cmp_ok((SELECT count(*) FROM answers WHERE version = '1.1.0')::int, '<=', 300, '(and at most 300)');
SELECT is_empty(
    $$SELECT a.i FROM answers AS a
      WHERE concord._registry_resolve('tool', 'cn_tool', jsonb_build_object('user', 'user-' || a.i), 'prod', false)
            ->> 'version' IS DISTINCT FROM a.version$$,
    'each user gets the same answer again');
SELECT is_empty(
    format($$SELECT a.i FROM answers AS a
             WHERE (concord.registry_subject_bucket(%L, 'user-' || a.i) < 2500) <> (a.version = '1.1.0')$$, :'canary'),
    'the answer is the bucket''s: below 2500 in the canary, else the pinned version');
SELECT ok(concord.registry_subject_bucket(:'canary', 'x') BETWEEN 0 AND 9999
          AND concord.registry_subject_bucket(:'canary', 'x') = concord.registry_subject_bucket(:'canary', 'x'),
          'a bucket is 0-9999 and always the same');
SELECT cmp_ok((SELECT count(*)::int FROM generate_series(1, 100) AS i
               WHERE concord.registry_subject_bucket(:'canary', 'u' || i)
                     <> concord.registry_subject_bucket('00000000-0000-4000-8000-000000000001', 'u' || i)), '>', 90,
              'the bucket depends on the binding: another canary splits the same subjects differently');

SELECT concord._registry_bind(:'v2', 'global', '*', NULL, 'canary', '{"percent": 0}', 'tester') IS NOT NULL AS zero \gset
SELECT is((SELECT count(*)::int FROM generate_series(1, 200) AS i
           WHERE concord._registry_resolve('tool', 'cn_tool', jsonb_build_object('user', 'u' || i), 'prod', false)
                 ->> 'version' = '1.1.0'), 0, 'a canary of 0% takes nobody');
SELECT concord._registry_bind(:'v2', 'global', '*', NULL, 'canary', '{"percent": 100}', 'tester') IS NOT NULL AS all \gset
SELECT is((SELECT count(*)::int FROM generate_series(1, 200) AS i
           WHERE concord._registry_resolve('tool', 'cn_tool', jsonb_build_object('user', 'u' || i), 'prod', false)
                 ->> 'version' = '1.1.0'), 200, 'a canary of 100% takes everybody');
SELECT is(concord._registry_resolve('tool', 'cn_tool', '{}', 'prod', false) ->> 'version', '1.0.0',
          'a subject with no user falls to the pinned binding');
SELECT is(concord._registry_resolve('tool', 'cn_tool', '{}', 'prod', false) #>> '{explanation,0,why}',
          'canary by user, and the subject names no user', 'and the explanation says why');

SELECT concord._registry_bind(:'v2', 'global', '*', NULL, 'canary', '{"percent": 50, "subject": "tenant"}', 'tester')
    IS NOT NULL AS by_tenant \gset
SELECT is((SELECT count(DISTINCT concord._registry_resolve(
               'tool', 'cn_tool', jsonb_build_object('user', 'u' || i, 'tenant', 'acme'), 'prod', false) ->> 'version')
           FROM generate_series(1, 100) AS i)::int, 1,
          'a canary by tenant puts every user of one tenant on the same side');

SELECT * FROM finish();
ROLLBACK;
