-- Creating and moving registry versions (spec 110, 111, 115): an entity of a
-- known type and a name taken once; a version is a semantic version with a
-- manifest valid against its type (every problem listed), its artifact
-- references well formed, its number used for one manifest only and bumped
-- as its change requires (breaking: major; additive: minor; doc: patch);
-- validation records its evaluations; deprecation, rejection, retirement,
-- binding and rollback refuse what does not fit, with named rules.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(35);

\ir ../lib/identity_fixtures.sql

SELECT concord.create_registry_entity('tool', 'vc_tool', 'Versioned tool', 'platform') AS e \gset
SELECT concord.create_registry_version('tool', 'vc_tool', '1.0.0',
    '{"mode": "sync", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}') AS v1 \gset

SELECT concord_test.throws_rule(
    $$SELECT concord.create_registry_entity('gadget', 'vc_x', 'x', 'x')$$,
    'CN008', 'a_registry_entity_has_a_known_type', 'an entity has one of the twelve types');
SELECT concord_test.throws_rule(
    $$SELECT concord.create_registry_entity('tool', 'vc_tool', 'x', 'x', organisation => 'iso-a')$$,
    'CN011', 'a_registry_entity_name_is_taken_once', 'a name is taken once in its type, across organisations');
SELECT is(concord.create_registry_entity('tool', 'vc_tool', 'Versioned tool', 'platform'), :'e'::uuid,
          'creating the same entity again answers its id');
SELECT concord_test.throws_rule(
    $$SELECT concord.create_registry_version('tool', 'vc_tool', '1.0', '{}')$$,
    'CN005', 'a_registry_version_is_a_semantic_version', '1.0 is not a semantic version');
SELECT concord_test.throws_rule(
    $$SELECT concord.create_registry_version('tool', 'vc_tool', '1.0.1', '{"mode": "sometimes", "colour": "red"}')$$,
    'CN005', 'a_manifest_satisfies_its_type_schema', 'a manifest is checked against its type''s schema');
SELECT ok(concord_test.error_detail(
              $$SELECT concord.create_registry_version('tool', 'vc_tool', '1.0.1', '{"mode": "sometimes", "colour": "red"}')$$)
          ~ 'mode' AND concord_test.error_detail(
              $$SELECT concord.create_registry_version('tool', 'vc_tool', '1.0.1', '{"mode": "sometimes", "colour": "red"}')$$)
          ~ 'colour',
          'every problem is listed: the bad mode and the unknown field');
SELECT concord_test.throws_rule(
    $$SELECT concord.create_registry_version('tool', 'vc_tool', '1.0.1', '{"mode": "sync"}',
                                             '[{"artifact_type": "movie", "artifact_uri": "", "checksum": "md5"}]')$$,
    'CN005', 'artifact_refs_are_well_formed', 'artifact references are well formed');
SELECT is(concord.create_registry_version('tool', 'vc_tool', '1.0.0',
    '{"mode": "sync", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}'), :'v1'::uuid,
    'the same version with the same manifest answers the first');
SELECT concord_test.throws_rule(
    $$SELECT concord.create_registry_version('tool', 'vc_tool', '1.0.0', '{"mode": "async"}')$$,
    'CN011', 'a_version_number_is_used_once', 'a version number names one manifest forever');

SELECT concord._registry_publish(:'v1') ->> 'status' AS fixture \gset
-- breaking: a new required input
SELECT concord_test.throws_rule(
    $$SELECT concord.create_registry_version('tool', 'vc_tool', '1.1.0',
        '{"mode": "sync", "input_schema": {"type": "object", "required": ["city"],
          "properties": {"city": {"type": "string"}}}}')$$,
    'CN017', 'a_version_number_matches_its_change', 'a breaking change needs a major bump');
SELECT ok(concord_test.error_detail(
    $$SELECT concord.create_registry_version('tool', 'vc_tool', '1.1.0',
        '{"mode": "sync", "input_schema": {"type": "object", "required": ["city"],
          "properties": {"city": {"type": "string"}}}}')$$) ~ 'breaking',
    'the refusal lists the breaking reasons');
SELECT concord.create_registry_version('tool', 'vc_tool', '2.0.0',
    '{"mode": "sync", "input_schema": {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}}')
    AS v2 \gset
SELECT results_eq(
    format($$SELECT change_class, previous_version_id FROM concord.registry_versions WHERE version_id = %L$$, :'v2'),
    format($$VALUES ('breaking', %L::uuid)$$, :'v1'),
    'with a major bump it is created, classified breaking against the published 1.0.0');
-- additive: a new optional input
SELECT concord_test.throws_rule(
    $$SELECT concord.create_registry_version('tool', 'vc_tool', '1.0.1',
        '{"mode": "sync", "input_schema": {"type": "object",
          "properties": {"city": {"type": "string"}, "stars": {"type": "integer"}}}}')$$,
    'CN017', 'a_version_number_matches_its_change', 'an additive change needs at least a minor bump');
SELECT is(concord._registry_version_answer(concord._registry_version(concord.create_registry_version('tool', 'vc_tool', '1.1.0',
        '{"mode": "sync", "input_schema": {"type": "object",
          "properties": {"city": {"type": "string"}, "stars": {"type": "integer"}}}}'))) ->> 'change_class',
    'additive', 'with a minor bump it is created, classified additive');
SELECT is(concord._registry_version_answer(concord._registry_version(concord.create_registry_version('tool', 'vc_tool', '1.0.1',
        '{"mode": "sync", "description": "Finds hotels.",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}'))) ->> 'change_class',
    'doc', 'a documentation change takes a patch bump, classified doc');
SELECT concord_test.throws_rule(
    $$SELECT concord.create_registry_version('tool', 'vc_tool', '0.9.0', '{"mode": "sync",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}')$$,
    'CN017', 'a_version_number_matches_its_change', 'a version below the latest published one is refused');

-- validation: evaluations, and a draft overtaken by a newer publication
SELECT concord.create_registry_version('tool', 'vc_tool', '1.0.2',
    '{"mode": "sync", "description": "Finds hotels fast.",
      "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}') AS v102 \gset
SELECT concord._registry_publish(concord.create_registry_version('tool', 'vc_tool', '1.2.0',
    '{"mode": "sync", "input_schema": {"type": "object",
      "properties": {"city": {"type": "string"}, "stars": {"type": "integer"}, "pets": {"type": "boolean"}}}}'))
    ->> 'status' AS fixture \gset
SELECT results_eq(
    format($$SELECT (a ->> 'valid')::boolean, a ->> 'status', jsonb_array_length(a -> 'problems') > 0
             FROM concord.validate_registry_version(%L) AS a$$, :'v102'),
    $$VALUES (false, 'draft', true)$$,
    'a draft created before a newer version was published is not validated: its change must be classified again');
SELECT is((SELECT status FROM concord.registry_evaluations WHERE version_id = :'v102' AND evaluation_type = 'compatibility'),
          'failed', 'the failed compatibility check is recorded as an evaluation');

-- lifecycle refusals
SELECT concord_test.throws_rule(
    format($$SELECT concord.deprecate_registry_version(%L, 'old')$$, :'v102'),
    'CN001', 'a_registry_version_moves_only_along_its_lifecycle', 'only a published version is deprecated');
SELECT is(concord.deprecate_registry_version(:'v1', 'use 1.2') ->> 'status', 'deprecated', 'a published version is deprecated');
SELECT concord_test.throws_rule(
    format($$SELECT concord._registry_bind(%L, 'global', '*', NULL, 'pinned', '{}', 'op')$$, :'v1'),
    'CN011', 'a_new_binding_is_active_on_a_published_version', 'a deprecated version takes no new binding');
SELECT is(concord.reject_registry_version(:'v102', 'overtaken') ->> 'status', 'rejected', 'a draft is rejected');
SELECT concord_test.throws_rule(
    format($$SELECT concord.publish_registry_version(%L)$$, :'v102'),
    'CN001', 'a_registry_version_moves_only_along_its_lifecycle', 'a rejected version is never published');

SELECT concord.create_registry_entity('tool', 'vc_other', 'Other tool', 'platform') AS oe \gset
SELECT concord._registry_publish(concord.create_registry_version('tool', 'vc_other', '1.0.0', '{"mode": "sync"}'))
    ->> 'version_id' AS ov \gset
SELECT (SELECT v.version_id FROM concord.registry_versions AS v WHERE v.entity_id = :'e' AND v.version::text = '1.2.0')
    AS v120 \gset
SELECT concord._registry_bind(:'v120', 'global', '*', NULL, 'pinned', '{}', 'op') ->> 'binding_id' AS b \gset
SELECT concord_test.throws_rule(
    format($$SELECT concord.retire_registry_version(%L, 'bad', false, %L)$$, :'v120', :'ov'),
    'CN011', 'bindings_migrate_to_a_published_version_of_their_entity', 'bindings migrate only within their entity');
SELECT concord_test.throws_rule(
    format($$SELECT concord.rollback_registry_binding(%L, %L, 'oops')$$, :'b', :'ov'),
    'CN011', 'a_binding_rolls_back_to_a_version_of_its_entity', 'a binding rolls back only within its entity');
SELECT concord_test.throws_rule(
    format($$SELECT concord.rollback_registry_binding(%L, %L, 'oops')$$, gen_random_uuid(), :'v1'),
    'CN006', 'the_registry_binding_exists', 'an unknown binding is not found');
SELECT concord_test.throws_rule(
    format($$SELECT concord.bind_registry_version(%L, 'galaxy', 'x')$$, :'v120'),
    'CN008', 'a_binding_scope_is_known', 'a binding scope is one of the ten');
SELECT concord_test.throws_rule(
    format($$SELECT concord.bind_registry_version(%L, 'tenant', 'iso-a', NULL, 'canary', '{"share": 5}')$$, :'v120'),
    'CN005', 'a_rollout_config_fits_its_strategy', 'a canary names its percent');
SELECT concord_test.throws_rule(
    format($$SELECT concord.bind_registry_version(%L, 'tenant', 'iso-a', 'Prod!')$$, :'v120'),
    'CN008', 'a_binding_environment_is_a_name', 'an environment is a lowercase name');
SELECT concord_test.throws_rule(
    format($$SELECT concord.validate_registry_version(%L)$$, gen_random_uuid()),
    'CN006', 'the_registry_version_exists', 'an unknown version is not found');
SELECT concord_test.throws_rule(
    $$SELECT concord.create_registry_version('tool', 'vc_nothing', '1.0.0', '{}')$$,
    'CN006', 'the_registry_entity_exists', 'an unknown entity is not found');
SELECT concord_test.throws_rule(
    $$SELECT concord.runtime_registry_command(gen_random_uuid(), 'wf')$$,
    'CN006', 'the_command_exists', 'the registry step needs a command');

-- an emergency retirement blocks at once and writes an incident
SELECT concord.retire_registry_version(:'v120', 'approval bypass found', true) -> 'version' ->> 'status' AS retired \gset
SELECT is(:'retired'::text, 'retired', 'an emergency retirement retires the version in the caller''s transaction');
SELECT results_eq(
    format($$SELECT status, disabled_reason IS NOT NULL FROM concord.registry_bindings WHERE registry_binding_id = %L$$, :'b'),
    $$VALUES ('disabled', true)$$, 'its active binding is disabled at once, with the reason');
SELECT is((SELECT count(*)::int FROM concord.domain_events WHERE event_type = 'registry_incident' AND target_id = :'v120'),
          1, 'an incident is written to the audit trail');

SELECT * FROM finish();
ROLLBACK;
