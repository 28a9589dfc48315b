-- A version's number is checked against its change from the latest published
-- version when it is created and validated; two drafts validated against the
-- same version must not both be published: once one is, the other's change
-- from it was never checked (CN011), however it is published.
BEGIN;
SELECT plan(4);

SELECT concord._registry_create_entity('tool', 'lp_tool', 'Latest-published tool', 'platform', NULL, NULL, NULL,
                                       'operator') AS e \gset
CREATE FUNCTION pg_temp.version(number text, properties jsonb)
RETURNS uuid
LANGUAGE sql
AS $$
    SELECT concord._registry_create_version(
        concord._registry_entity('tool', 'lp_tool', true), number,
        jsonb_build_object('name', 'lp_tool', 'version', number, 'mode', 'sync', 'input_schema',
                           jsonb_build_object('type', 'object', 'additionalProperties', false,
                                              'properties', properties)),
        '[]', 'operator')
$$;
SELECT pg_temp.version('1.0.0', '{"a": {"type": "string"}}') AS v1 \gset
SELECT concord._registry_validate(:'v1') ->> 'status' AS s1 \gset
SELECT concord._registry_publish(:'v1', NULL) ->> 'status' AS p1 \gset

-- two drafts made from 1.0.0: 1.1.0 adds b, 1.2.0 adds c (each additive from 1.0.0)
SELECT pg_temp.version('1.1.0', '{"a": {"type": "string"}, "b": {"type": "string"}}') AS va \gset
SELECT pg_temp.version('1.2.0', '{"a": {"type": "string"}, "c": {"type": "integer"}}') AS vb \gset
SELECT is(concord._registry_validate(:'va') ->> 'status', 'validated', '1.1.0 is validated');
SELECT is(concord._registry_validate(:'vb') ->> 'status', 'validated', '1.2.0 is validated');
SELECT is(concord._registry_publish(:'va', NULL) ->> 'status', 'published', '1.1.0 is published');
-- from 1.1.0, 1.2.0 removes b under additionalProperties false: breaking, and a minor bump
SET LOCAL ROLE concord_owner;
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET status = 'published' WHERE version_id = %L$$, :'vb'),
    'CN011', 'a_version_is_published_against_the_latest_published',
    'a version classified against 1.0.0 is not published once 1.1.0 is, not even by the owner''s bare UPDATE');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
