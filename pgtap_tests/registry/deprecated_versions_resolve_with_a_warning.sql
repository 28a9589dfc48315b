-- Deprecated versions resolve with a warning (spec 111.2, 117): a binding on
-- a deprecated version still resolves, with deprecated = true, a usage row
-- deprecated_version_resolved besides the resolution's own, counted in
-- registry_deprecated_usage; a draft never resolves even if named.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(7);

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

SELECT concord.create_registry_entity('policy', 'dp_policy', 'Deprecated policy', 'platform-team') IS NOT NULL AS e \gset
SELECT pg_temp.published('policy', 'dp_policy', '1.0.0', '{}') AS v1 \gset
SELECT concord._registry_bind(:'v1', 'app', 'acme/travel', NULL, 'pinned', '{}', 'tester') IS NOT NULL AS b \gset
SELECT concord._registry_deprecate(:'v1') IS NOT NULL AS deprecated \gset

SELECT concord._registry_resolve('policy', 'dp_policy', '{"app": "acme/travel"}', NULL, true,
                                 '{"usage_type": "policy_applied"}') AS answer \gset
SELECT is(:'answer'::jsonb ->> 'resolved', 'true', 'a deprecated version still resolves');
SELECT is(:'answer'::jsonb ->> 'deprecated', 'true', 'flagged deprecated');
SELECT is(:'answer'::jsonb ->> 'status', 'deprecated', 'with its status');
SELECT matches(:'answer'::jsonb #>> '{explanation,0,why}', 'deprecated', 'the explanation warns');
SELECT results_eq(
    format($$SELECT usage_type FROM concord.registry_usage WHERE version_id = %L ORDER BY usage_type$$, :'v1'),
    $$VALUES ('deprecated_version_resolved'), ('policy_applied')$$,
    'the resolution''s own usage row and a deprecated_version_resolved row');
SELECT results_eq(
    format($$SELECT resolutions::int, version FROM concord.registry_deprecated_usage WHERE version_id = %L$$, :'v1'),
    $$VALUES (1, '1.0.0')$$,
    'registry_deprecated_usage counts it');
SELECT is(concord._registry_resolve('policy', 'dp_policy', '{"app": "acme/travel"}', NULL, false, '{}')
              -> 'deprecated', 'true'::jsonb, 'without recording, the answer is the same');

SELECT * FROM finish();
ROLLBACK;
