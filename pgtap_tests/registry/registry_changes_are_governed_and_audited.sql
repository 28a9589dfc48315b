-- Every registry mutation is a governed command (spec 114) and every
-- registry write is audited (spec 119.2): each API call records a
-- concord.registry.* command in the organisation's project, requested by the
-- authenticated principal, and each row change writes its lifecycle event in
-- the same transaction — the owner's bare UPDATE of a binding included. Who
-- may change an entity: an owner or admin of its organisation (a member may
-- not; another organisation does not see it; a platform entity is the
-- operators'). A high-risk publication waits for another owner's approval
-- and then runs as the command's workflow step.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(42);

\ir ../lib/identity_fixtures.sql

DO $$
BEGIN
    PERFORM concord.create_principal('gv-owner-1');
    PERFORM concord.add_member('iso-a', 'gv-owner-1', 'owner');
    PERFORM concord.create_principal('gv-owner-2');
    PERFORM concord.add_member('iso-a', 'gv-owner-2', 'owner');
    PERFORM pg_temp.make_login('o1', ARRAY['concord_app', 'concord_approver'], 'gv-owner-1');
    PERFORM pg_temp.make_login('o2', ARRAY['concord_approver', 'concord_app'], 'gv-owner-2');
    PERFORM pg_temp.make_login('alice', ARRAY['concord_app'], 'iso-a-alice');
    PERFORM pg_temp.make_login('bob', ARRAY['concord_app'], 'iso-b-bob');
    -- an owner of iso-a who also works in iso-b
    PERFORM concord.create_principal('gv-two-hats');
    PERFORM concord.add_member('iso-a', 'gv-two-hats', 'owner');
    PERFORM concord.add_member('iso-b', 'gv-two-hats', 'member');
    PERFORM pg_temp.make_login('hats', ARRAY['concord_app'], 'gv-two-hats');
    -- iso-b's sole owner
    PERFORM concord.create_principal('gv-solo');
    PERFORM concord.add_member('iso-b', 'gv-solo', 'owner');
    PERFORM pg_temp.make_login('solo', ARRAY['concord_app'], 'gv-solo');
    PERFORM concord.register_command_type('{"command_type": "gv_other", "sync_allowed": true}');
END $$;

SELECT pg_temp.value_as_login('o1', $$SELECT concord.create_registry_entity(
    'tool', 'gv_tool', 'Governed tool', 'travel', organisation => 'iso-a')$$) AS e \gset
SELECT pg_temp.value_as_login('o1', $$SELECT concord.create_registry_version(
    'tool', 'gv_tool', '1.0.0', '{"mode": "sync", "risk_level": "high"}')$$) AS v \gset
SELECT pg_temp.value_as_login('o1', format($$SELECT concord.validate_registry_version(%L) ->> 'status'$$, :'v'))
    AS validated \gset

SELECT results_eq(
    $$SELECT c.command_type, c.status, c.requested_by, p.name
      FROM concord.commands AS c INNER JOIN concord.projects AS p ON c.project_id = p.project_id
      WHERE c.command_type LIKE 'concord.registry.%' AND c.payload ->> 'name' = 'gv_tool'
      -- in the order recorded: created_at is the one transaction's now() for all three
      ORDER BY (SELECT min(e.event_seq) FROM concord.domain_events AS e WHERE e.command_id = c.command_id)$$,
    $$VALUES ('concord.registry.create_entity', 'succeeded', 'gv-owner-1', 'main'),
             ('concord.registry.create_version', 'succeeded', 'gv-owner-1', 'main'),
             ('concord.registry.validate_version', 'succeeded', 'gv-owner-1', 'main')$$,
    'each change is a governed command of the organisation''s project, requested by the authenticated owner');
SELECT results_eq(
    format($$SELECT event_type, actor FROM concord.registry_lifecycle_events WHERE entity_id = %L
             ORDER BY created_at, event_type$$, :'e'),
    $$VALUES ('entity_created', 'gv-owner-1'), ('version_created', 'gv-owner-1'), ('version_validated', 'gv-owner-1')$$,
    'each row change wrote its lifecycle event, attributed to the principal');
SELECT ok((SELECT count(DISTINCT command_id) = 3 FROM concord.registry_lifecycle_events WHERE entity_id = :'e'),
          'each event names the command that made it');
SELECT is((SELECT count(*)::int FROM concord.registry_evaluations WHERE version_id = :'v'), 3,
          'validation recorded its three evaluations (manifest, relationships, compatibility)');

-- who may change it
SELECT is(pg_temp.as_login('alice', $$SELECT concord.create_registry_version('tool', 'gv_tool', '1.1.0', '{}')$$),
          pg_temp.refused('CN012', 'a_registry_entity_is_kept_by_its_organisation'),
          'a member who is no owner or admin may not change the organisation''s entity');
SELECT is(pg_temp.as_login('bob', $$SELECT concord.create_registry_version('tool', 'gv_tool', '1.1.0', '{}')$$),
          pg_temp.refused('CN006', 'the_registry_entity_exists'),
          'another organisation does not even see it');
SELECT is(pg_temp.as_login('bob', format($$SELECT concord.publish_registry_version(%L)$$, :'v')),
          pg_temp.refused('CN006', 'the_registry_version_exists'),
          'nor publish it by id');
SELECT concord.create_registry_entity('tool', 'gv_platform', 'Platform tool', 'platform') AS pe \gset
SELECT is(pg_temp.as_login('o1', $$SELECT concord.create_registry_version('tool', 'gv_platform', '1.0.0', '{}')$$),
          pg_temp.refused('CN012', 'a_registry_entity_is_kept_by_its_organisation'),
          'a platform entity is the operators''');
SELECT is(pg_temp.as_login('o1', $$SELECT concord.create_registry_entity('tool', 'gv_mine', 'x', 'x', organisation => 'iso-b')$$),
          pg_temp.refused('CN006', 'the_organisation_exists'),
          'an owner of iso-a creates nothing in iso-b');

-- a high-risk publication waits for another owner
SELECT pg_temp.value_as_login('o1', format($$SELECT concord.publish_registry_version(%L) ->> 'command_id'$$, :'v'))
    AS pub \gset
INSERT INTO concord_test.fixture (label, id) VALUES ('pub', :'pub');
SELECT results_eq(
    format($$SELECT c.status, v.status, v.approval_command_id = c.command_id
             FROM concord.commands AS c, concord.registry_versions AS v
             WHERE c.command_id = %L AND v.version_id = %L$$, :'pub', :'v'),
    $$VALUES ('waiting_for_approval', 'pending_approval', true)$$,
    'the publication command waits for approval and the version is pending approval');
SELECT approval_id AS ap FROM concord.approvals WHERE command_id = :'pub' \gset
SELECT is((SELECT eligible_approvers FROM concord.approvals WHERE approval_id = :'ap'), ARRAY['gv-owner-2', 'gv-two-hats'],
          'the eligible approvers are the other owners of the organisation');
SELECT is(pg_temp.as_login('o1', format($$SELECT concord.resolve_approval(%L, 'approved', NULL)$$, :'ap')),
          pg_temp.refused('CN012', 'approver_is_not_the_requester'), 'the requester and creator does not approve it');
SELECT is(pg_temp.as_login('o2', format($$SELECT concord.resolve_approval(%L, 'approved', NULL)$$, :'ap')), 'ok',
          'another owner approves it');
SELECT is(concord_test.status('pub'), 'queued', 'approved, the publication is queued for its workflow');
SELECT concord_test.run('pub') AS wf \gset
SELECT is(concord.runtime_registry_command(:'pub', :'wf') ->> 'status', 'published',
          'the workflow step publishes it');
SELECT is(concord.runtime_registry_command(:'pub', :'wf') ->> 'status', 'published',
          'the step run again changes nothing and answers the same');
SELECT results_eq(
    format($$SELECT status, approved_by FROM concord.registry_versions WHERE version_id = %L$$, :'v'),
    $$VALUES ('published', 'gv-owner-2')$$, 'approved_by names the owner who approved');
SELECT is((SELECT count(*)::int FROM concord.registry_lifecycle_events
           WHERE version_id = :'v' AND event_type = 'version_published'), 1,
          'a replayed step writes no second publication event');
SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_registry_command(%L, 'someone-elses-run')$$, :'pub'),
    'CN011', 'only_the_current_workflow_acts_for_its_command', 'only the command''s own run takes the step');

-- bindings: every change an event, the owner's bare writes refused or audited
SELECT concord._registry_bind(:'v', 'tenant', 'iso-a', NULL, 'pinned', '{}', 'gv-owner-1') ->> 'binding_id' AS b \gset
SELECT pg_temp.value_as_login('o1', $$SELECT concord.create_registry_version(
    'tool', 'gv_tool', '1.0.1', '{"mode": "sync", "risk_level": "high", "description": "typo"}')$$) AS v2 \gset
SET LOCAL ROLE concord_owner;
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_bindings SET version_id = %L WHERE registry_binding_id = %L$$, :'v2', :'b'),
    'CN011', 'a_binding_points_at_a_resolvable_version', 'a binding is never pointed at a draft');
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.registry_bindings (entity_id, version_id, binding_scope, binding_target, created_by)
             VALUES (%L, %L, 'user', 'gv-owner-1', 'x')$$, :'e', :'v2'),
    'CN011', 'a_new_binding_is_active_on_a_published_version', 'nor made on one');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_bindings SET binding_scope = 'global', binding_target = '*'
             WHERE registry_binding_id = %L$$, :'b'),
    'CN007', 'a_binding_keeps_its_scope', 'a binding keeps its scope and target');
SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.registry_bindings WHERE registry_binding_id = %L$$, :'b'),
    'CN007', 'registry_bindings_are_never_deleted', 'a binding is never deleted');
UPDATE concord.registry_bindings SET status = 'disabled' WHERE registry_binding_id = :'b';
SELECT concord_test.throws_rule(
    format($$UPDATE concord.registry_bindings SET status = 'active' WHERE registry_binding_id = %L$$, :'b'),
    'CN011', 'a_disabled_binding_stays_disabled', 'a disabled binding stays disabled');
RESET ROLE;
SELECT results_eq(
    format($$SELECT event_type, payload ->> 'disabled_reason' FROM concord.registry_lifecycle_events
             WHERE binding_id = %L ORDER BY created_at, event_type$$, :'b'),
    $$VALUES ('binding_created', NULL), ('binding_disabled', 'disabled')$$,
    'the owner''s bare disable is audited too, with the reason the guard filled in');
SELECT concord_test.throws_rule(
    'SET LOCAL ROLE concord_owner; TRUNCATE concord.registry_lifecycle_events',
    'CN007', 'registry_lifecycle_events_are_not_truncated', 'the lifecycle history is never truncated');
SELECT concord_test.throws_rule(
    'SET LOCAL ROLE concord_owner; TRUNCATE concord.registry_usage',
    'CN007', 'registry_usage_is_not_truncated', 'usage is never truncated');
SELECT concord_test.throws_rule(
    'SET LOCAL ROLE concord_owner; TRUNCATE concord.registry_evaluations',
    'CN007', 'registry_evaluations_are_not_truncated', 'evaluations are never truncated');

-- a registry change is recorded in a project of the entity's organisation
SELECT is(pg_temp.as_login('hats', $$SELECT concord.use_project('iso-b/main');
                                     SELECT concord.create_registry_version('tool', 'gv_tool', '1.2.0', '{}')$$),
          pg_temp.refused('CN008', 'a_registry_command_is_recorded_in_its_organisation'),
          'an owner working in another organisation''s project records no change of iso-a there');
-- a sole owner's high-risk version: nobody may approve it, so the publication is refused
SELECT pg_temp.value_as_login('solo', $$SELECT concord.create_registry_entity(
    'skill', 'gv_solo_skill', 'Solo skill', 'solo', organisation => 'iso-b')$$) AS se \gset
SELECT pg_temp.value_as_login('solo', $$SELECT concord.create_registry_version(
    'skill', 'gv_solo_skill', '1.0.0', '{"risk_level": "critical"}')$$) AS sv \gset
SELECT is(pg_temp.as_login('solo', format($$SELECT concord.publish_registry_version(%L)$$, :'sv')),
          pg_temp.refused('CN012', 'a_registry_change_is_allowed_by_its_policies'),
          'a high-risk version with no other owner to approve it is refused, not left waiting for nobody');
-- the registry step runs registry commands only
INSERT INTO concord_test.fixture (label, id)
SELECT 'other', s.command_id FROM concord.submit_command('gv_other', '{}', 'postgres') AS s;
SELECT concord_test.run('other') AS other_wf \gset
SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_registry_command(%L, %L)$$, concord_test.id('other'), :'other_wf'),
    'CN008', 'the_command_is_a_registry_workflow', 'the registry step runs registry commands only');

-- another organisation's version or binding, named by id, reads exactly as an
-- id that names nothing: no entity name, version or status in the refusal
CREATE FUNCTION pg_temp.message_as(label text, statement text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    message text;
BEGIN
    EXECUTE format('SET SESSION AUTHORIZATION %I', pg_temp.login(label));
    BEGIN
        EXECUTE statement;
        message := 'ok';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS message = MESSAGE_TEXT;
    END;
    RESET SESSION AUTHORIZATION;
    RETURN message;
END
$$;
SELECT pg_temp.value_as_login('solo', $$SELECT concord.create_registry_entity(
    'tool', 'gv_solo_tool', 'Solo tool', 'solo', organisation => 'iso-b')$$) AS ste \gset
SELECT pg_temp.value_as_login('solo', $$SELECT concord.create_registry_version(
    'tool', 'gv_solo_tool', '1.0.0', '{"mode": "sync"}')$$) AS stv \gset
SELECT concord._registry_publish(:'stv') ->> 'status' AS stv_status \gset
SELECT concord._registry_bind(:'stv', 'tenant', 'iso-b', NULL, 'pinned', '{}', 'gv-solo') ->> 'binding_id' AS sb \gset
SELECT is(pg_temp.message_as('solo', a.statement), format('no registry version %s', :'v'),
          format('%s by id of another organisation''s version names nothing of it', a.what))
FROM (VALUES
    ('validating', format($$SELECT concord.validate_registry_version(%L)$$, :'v')),
    ('publishing', format($$SELECT concord.publish_registry_version(%L)$$, :'v')),
    ('binding', format($$SELECT concord.bind_registry_version(%L, 'global', '*')$$, :'v')),
    ('deprecating', format($$SELECT concord.deprecate_registry_version(%L, 'x')$$, :'v')),
    ('retiring', format($$SELECT concord.retire_registry_version(%L, 'x')$$, :'v')),
    ('rejecting', format($$SELECT concord.reject_registry_version(%L, 'x')$$, :'v')),
    ('rolling one''s own binding back to it', format($$SELECT concord.rollback_registry_binding(%L, %L, 'x')$$,
                                                     :'sb', :'v'))
) AS a (what, statement);
SELECT is(pg_temp.message_as('solo', format($$SELECT concord.rollback_registry_binding(%L, %L, 'x')$$, :'b', :'stv')),
          format('no registry binding %s', :'b'), 'another organisation''s binding reads as absent');

-- a refused publication rejects its version: it does not wait for an approval
-- that will never come
SELECT pg_temp.value_as_login('o1', $$SELECT concord.create_registry_version(
    'tool', 'gv_tool', '2.0.0', '{"mode": "async", "risk_level": "high"}')$$) AS rv \gset
SELECT pg_temp.value_as_login('o1', format($$SELECT concord.publish_registry_version(%L) ->> 'command_id'$$, :'rv'))
    AS rpub \gset
SELECT approval_id AS rap FROM concord.approvals WHERE command_id = :'rpub' \gset
SELECT is(pg_temp.as_login('o2', format($$SELECT concord.resolve_approval(%L, 'rejected', NULL, 'not this one')$$, :'rap')),
          'ok', 'another owner rejects the publication');
SELECT results_eq(
    format($$SELECT v.status, c.status FROM concord.registry_versions AS v, concord.commands AS c
             WHERE v.version_id = %L AND c.command_id = %L$$, :'rv', :'rpub'),
    $$VALUES ('rejected', 'failed')$$,
    'a rejected publication rejects its version (pending_approval -> rejected)');
SELECT results_eq(
    format($$SELECT event_type, command_id::text FROM concord.registry_lifecycle_events
             WHERE version_id = %L AND event_type = 'version_rejected'$$, :'rv'),
    format($$VALUES ('version_rejected', %L)$$, :'rpub'),
    'the rejection is a lifecycle event of the publication command');

SELECT * FROM finish();
ROLLBACK;
