-- The version lifecycle of spec 111 is data (registry_version_transitions)
-- plus a guard trigger: a version starts as a draft and moves only along the
-- table, for every role, the owner's bare UPDATE included. An
-- organisation's high-risk version is published only after an owner of the
-- organisation other than its creator approved it; a version with active
-- bindings is not retired under them; a version relying on something
-- unpublished is not published.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(26);

\ir ../lib/identity_fixtures.sql

DO $$
BEGIN
    PERFORM concord.create_principal('rl-owner-1');
    PERFORM concord.add_member('iso-a', 'rl-owner-1', 'owner');
    PERFORM concord.create_principal('rl-owner-2');
    PERFORM concord.add_member('iso-a', 'rl-owner-2', 'owner');
    PERFORM pg_temp.make_login('o1', ARRAY['concord_app'], 'rl-owner-1');
    PERFORM pg_temp.make_login('o2', ARRAY['concord_approver'], 'rl-owner-2');
END $$;

-- owner 1 makes an organisation skill, high risk: its publication needs approval
SELECT pg_temp.value_as_login('o1', $$SELECT concord.create_registry_entity(
    'skill', 'rl_skill', 'Lifecycle skill', 'travel', organisation => 'iso-a')$$) AS e \gset
SELECT pg_temp.value_as_login('o1', $$SELECT concord.create_registry_version(
    'skill', 'rl_skill', '1.0.0', '{"risk_level": "high"}')$$) AS hv \gset
-- and a platform tool (this superuser session is an operator)
SELECT concord.create_registry_entity('tool', 'rl_tool', 'Lifecycle tool', 'platform') AS te \gset
SELECT concord.create_registry_version('tool', 'rl_tool', '1.0.0', '{"mode": "sync"}') AS tv \gset

SELECT is((SELECT approval_required FROM concord.registry_versions WHERE version_id = :'hv'), true,
          'fixture: an organisation''s high-risk version needs approval');
SELECT is((SELECT created_by FROM concord.registry_versions WHERE version_id = :'hv'), 'rl-owner-1',
          'its creator is the principal who created it');

SET LOCAL ROLE concord_owner;
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.registry_versions (entity_id, version, status, manifest, checksum, created_by)
             VALUES (%L, '2.0.0', 'published', '{"name": "rl_tool", "version": "2.0.0"}', 'sha256:' || repeat('0', 64),
                     'mallory')$$, :'te'),
    'CN001', 'a_new_registry_version_starts_as_a_draft', 'a version cannot be inserted published');
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.registry_versions (entity_id, version, manifest, checksum, created_by)
             VALUES (%L, '2.0.0', '{"name": "someone_else", "version": "2.0.0"}', 'sha256:' || repeat('0', 64),
                     'mallory')$$, :'te'),
    'CN005', 'a_manifest_names_its_entity_and_version', 'a manifest names its own entity and version');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET status = 'published' WHERE version_id = %L$$, :'tv'),
    'CN001', 'a_registry_version_moves_only_along_its_lifecycle', 'a draft does not jump to published');
UPDATE concord.registry_versions SET status = 'validated' WHERE version_id = :'hv';
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET status = 'published' WHERE version_id = %L$$, :'hv'),
    'CN001', 'a_high_risk_version_is_published_only_after_approval',
    'a validated high-risk version is not published without approval');
RESET ROLE;
-- its creator asks for its publication: the command waits for an owner's approval
SELECT pg_temp.value_as_login('o1', format($$SELECT concord.publish_registry_version(%L)$$, :'hv')) AS asked \gset
SELECT a.approval_id AS approval FROM concord.approvals AS a
INNER JOIN concord.registry_versions AS v ON a.command_id = v.approval_command_id
WHERE v.version_id = :'hv' \gset
SET LOCAL ROLE concord_owner;
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET status = 'published' WHERE version_id = %L$$, :'hv'),
    'CN001', 'a_registry_version_moves_only_along_its_lifecycle', 'pending approval is not published');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET status = 'approved', approved_by = 'rl-owner-1'
             WHERE version_id = %L$$, :'hv'),
    'CN012', 'a_high_risk_version_is_approved_by_another_owner', 'its creator does not approve it');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET status = 'approved', approved_by = 'iso-a-alice'
             WHERE version_id = %L$$, :'hv'),
    'CN012', 'a_high_risk_version_is_approved_by_another_owner', 'a member who is no owner does not approve it');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET status = 'approved' WHERE version_id = %L$$, :'hv'),
    'CN012', 'a_high_risk_version_is_approved_by_another_owner', 'an approval names its approver');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET status = 'approved', approved_by = 'rl-owner-2'
             WHERE version_id = %L$$, :'hv'),
    'CN012', 'a_high_risk_version_is_approved_by_another_owner',
    'a bare UPDATE naming another owner is no approval: none of the publication is recorded');
RESET ROLE;
-- owner 2 approves the publication command; its workflow's step then publishes
SELECT pg_temp.value_as_login('o2', format($$SELECT concord.resolve_approval(%L, 'approved', NULL)$$, :'approval'))
    AS decided \gset
SELECT concord._registry_publish(:'hv', 'rl-owner-2') ->> 'status' AS hv_status \gset
SELECT results_eq(
    format($$SELECT status, approved_by, approved_at IS NOT NULL, published_at IS NOT NULL
             FROM concord.registry_versions WHERE version_id = %L$$, :'hv'),
    $$VALUES ('published', 'rl-owner-2', true, true)$$,
    'approved by another owner of the organisation, it is published, with its times set by the guard');

SET LOCAL ROLE concord_owner;
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET status = 'draft' WHERE version_id = %L$$, :'hv'),
    'CN001', 'a_registry_version_moves_only_along_its_lifecycle', 'a published version never goes back to draft');
RESET ROLE;
SELECT concord._registry_publish(:'tv') ->> 'status' AS tv_status \gset
SELECT concord._registry_bind(:'tv', 'global', '*', NULL, 'pinned', '{}', 'operator') ->> 'binding_id' AS b \gset
SET LOCAL ROLE concord_owner;
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET status = 'retired', retirement_reason = 'x' WHERE version_id = %L$$,
           :'tv'),
    'CN011', 'a_retired_version_has_no_active_binding', 'a version is not retired under an active binding');
RESET ROLE;
SELECT is(concord._registry_retire(:'tv', 'superseded') ->> 'status', 'retired',
          'the retirement disables its bindings first, then retires it');
SET LOCAL ROLE concord_owner;
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET status = 'published' WHERE version_id = %L$$, :'tv'),
    'CN001', 'a_registry_version_moves_only_along_its_lifecycle', 'a retired version is never published again');
RESET ROLE;

-- relying on something unpublished
SELECT concord.create_registry_entity('tool', 'rl_needy', 'Needy tool', 'platform') AS ne \gset
SELECT concord.create_registry_version('tool', 'rl_needy', '1.0.0',
    '{"relationships": [{"type": "uses_connector", "target_type": "connector", "target_name": "rl_nowhere"}]}') AS nv \gset
SELECT concord_test.throws_rule(
    format($$SELECT concord._registry_publish(%L)$$, :'nv'),
    'CN011', 'a_version_is_published_only_when_valid', 'a version whose relationship resolves nowhere is not published');
UPDATE concord.registry_versions SET status = 'validated' WHERE version_id = :'nv';
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET status = 'published' WHERE version_id = %L$$, :'nv'),
    'CN011', 'a_published_version_relies_only_on_published_versions',
    'nor by a bare UPDATE past its validation');

-- A draft's risk and approval follow its manifest, however it was written:
-- the owner's bare INSERT or UPDATE cannot publish a high-risk manifest
-- without an owner's approval.
SELECT pg_temp.value_as_login('o1', $$SELECT concord.create_registry_version(
    'skill', 'rl_skill', '2.0.0', '{"risk_level": "low"}')$$) AS lv \gset
SELECT concord.create_registry_entity('skill', 'rl_quiet', 'Quiet skill', 'travel', organisation => 'iso-a') AS qe \gset
SET LOCAL ROLE concord_owner;
UPDATE concord.registry_versions
SET manifest = manifest || '{"risk_level": "critical", "capabilities": [{"type": "payment"}]}'
WHERE version_id = :'lv';
INSERT INTO concord.registry_versions (
    entity_id, version, manifest, checksum, risk_level, change_class, high_risk_changes, approval_required, created_by
) VALUES (:'qe', '1.0.0', '{"name": "rl_quiet", "version": "1.0.0", "risk_level": "high"}',
          'sha256:' || repeat('0', 64), 'low', 'doc', '[]', false, 'rl-owner-1')
RETURNING version_id AS qv \gset
RESET ROLE;
SELECT results_eq(
    format($$SELECT risk_level, approval_required FROM concord.registry_versions WHERE version_id IN (%L, %L)
             ORDER BY version_id = %L$$, :'lv', :'qv', :'qv'),
    $$VALUES ('critical', true), ('high', true)$$,
    'a draft''s risk and approval are derived from its manifest, on a replaced manifest and a bare INSERT alike');
SELECT concord_test.throws_rule(
    format($$SELECT concord._registry_publish(%L)$$, :'lv'),
    'CN001', 'a_high_risk_version_is_published_only_after_approval',
    'a low-risk draft replaced by a critical manifest is not published without approval');
SET LOCAL ROLE concord_owner;
UPDATE concord.registry_versions SET approval_required = false, risk_level = 'low' WHERE version_id = :'qv';
UPDATE concord.registry_versions SET status = 'validated' WHERE version_id = :'qv';
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET status = 'published' WHERE version_id = %L$$, :'qv'),
    'CN001', 'a_high_risk_version_is_published_only_after_approval',
    'a high-risk draft whose approval requirement was switched off by a bare UPDATE still needs approval');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET status = 'validated', manifest = manifest || '{"risk_level": "low"}'
             WHERE version_id = %L$$, :'lv'),
    'CN007', 'a_frozen_registry_version_never_changes', 'a draft''s manifest is not replaced as it leaves draft');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET manifest = manifest || '{"name": "rl_quiet"}' WHERE version_id = %L$$,
           :'lv'),
    'CN005', 'a_manifest_names_its_entity_and_version', 'a replaced manifest still names its own entity');
RESET ROLE;
-- the relationships of a replaced draft are its new manifest's
SELECT concord.create_registry_entity('tool', 'rl_later', 'Later tool', 'platform') AS le \gset
SELECT concord.create_registry_version('tool', 'rl_later', '1.0.0', '{"mode": "sync"}') AS lt \gset
SET LOCAL ROLE concord_owner;
UPDATE concord.registry_versions
SET manifest = manifest || '{"relationships": [{"type": "uses_connector", "target_type": "connector",
                                                "target_name": "rl_nowhere"}]}'
WHERE version_id = :'lt';
RESET ROLE;
SELECT concord_test.throws_rule(
    format($$SELECT concord._registry_publish(%L)$$, :'lt'),
    'CN011', 'a_version_is_published_only_when_valid',
    'a draft replaced by a manifest relying on something unpublished is not published');

-- a bare UPDATE to validated checks what validation checks
SELECT concord.create_registry_entity('tool', 'rl_valid', 'Valid tool', 'platform') AS ve \gset
SELECT concord.create_registry_version('tool', 'rl_valid', '1.0.0', '{"mode": "sync"}') AS va \gset
SELECT concord._registry_publish(:'va') ->> 'status' AS va_status \gset
SELECT concord.create_registry_version('tool', 'rl_valid', '1.1.0', '{"mode": "sync", "description": "b"}') AS vb \gset
SELECT concord.create_registry_version('tool', 'rl_valid', '1.0.1', '{"mode": "sync", "description": "c"}') AS vc \gset
SET LOCAL ROLE concord_owner;
UPDATE concord.registry_versions SET manifest = manifest || '{"description": 42}' WHERE version_id = :'vc';
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET status = 'validated' WHERE version_id = %L$$, :'vc'),
    'CN011', 'a_draft_is_validated_only_when_valid',
    'a draft whose manifest does not fit its type is not validated by a bare UPDATE');
UPDATE concord.registry_versions SET manifest = manifest || '{"description": "c"}' WHERE version_id = :'vc';
UPDATE concord.registry_versions SET status = 'validated' WHERE version_id = :'vc';
UPDATE concord.registry_versions SET status = 'published' WHERE version_id = :'vc';
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_versions SET status = 'validated' WHERE version_id = %L$$, :'vb'),
    'CN011', 'a_draft_is_validated_only_when_valid',
    'nor a draft classified against a version older than the latest published one');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
