-- Every Concord SQLSTATE (class CN, README "Error codes") is raised where the
-- table says, with a message a person understands. CN012-CN014 are the
-- approvals', CN015 the runtime's, CN004 and CN010 the agents' (the files under
-- pgtap_tests/agents/ raise them where they apply).
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(37);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_codes", "sync_allowed": true,
        "required_inputs": ["who"]}');
    PERFORM concord.register_command_type('{"command_type": "t_codes_gated", "approval_required": true}');
    PERFORM concord.add_team_member('team:approvers', 'approver1');
END $$;

INSERT INTO concord_test.fixture
SELECT 'validated', s.command_id FROM concord.submit_command('t_codes', '{"who": "x"}', 'alice') AS s;
INSERT INTO concord_test.fixture
SELECT 'parent', s.command_id FROM concord.submit_command('t_codes', '{"who": "x"}', 'alice') AS s;
INSERT INTO concord_test.fixture
SELECT 'other', s.command_id FROM concord.submit_command('t_codes', '{"who": "x"}', 'alice',
                                                         idempotency_key => 'codes-1') AS s;
SELECT concord_test.run('other') IS NOT NULL AS fixture \gset
INSERT INTO concord_test.fixture
SELECT 'other_effect', concord.plan_effect(concord_test.id('other'), 'email.send', '{}');

-- Every CN code any concord function raises is one the README documents.
SELECT is_empty(
    $$SELECT DISTINCT m[1] FROM pg_catalog.pg_proc AS p,
             regexp_matches(p.prosrc, 'ERRCODE\s*=\s*''(CN[0-9A-Z]{3})''', 'g') AS m
      WHERE p.pronamespace = 'concord'::regnamespace
        AND m[1] NOT IN ('CN001', 'CN002', 'CN003', 'CN004', 'CN005', 'CN006', 'CN007', 'CN008',
                         'CN009', 'CN010', 'CN011', 'CN012', 'CN013', 'CN014', 'CN015', 'CN016', 'CN017')$$,
    'the functions raise no CN code outside the documented table'
);

SELECT set_eq(
    $$SELECT DISTINCT m[1] FROM pg_catalog.pg_proc AS p,
             regexp_matches(p.prosrc, 'ERRCODE\s*=\s*''(CN[0-9A-Z]{3})''', 'g') AS m
      WHERE p.pronamespace = 'concord'::regnamespace$$,
    ARRAY['CN001', 'CN002', 'CN003', 'CN004', 'CN005', 'CN006', 'CN007', 'CN008', 'CN009', 'CN010',
          'CN011', 'CN012', 'CN013', 'CN014', 'CN015', 'CN016', 'CN017'],
    'every documented code is raised somewhere'
);

-- CN016 a capability that resolves to nothing usable; CN017 a version
-- number that does not match its change (the registry)
SELECT concord_test.throws_rule(
    $$SELECT concord.resolve_registry_entity('tool', 'no_such_tool_anywhere')$$,
    'CN016', 'a_capability_resolves_to_a_usable_version', 'CN016: a tool the registry does not know resolves to nothing');
DO $$ BEGIN
    PERFORM concord.create_registry_entity('tool', 'codes_tool', 'Codes tool', 'platform');
    PERFORM concord._registry_publish(concord.create_registry_version('tool', 'codes_tool', '1.0.0', '{"mode": "sync"}'));
END $$;
SELECT concord_test.throws_rule(
    $$SELECT concord.create_registry_version('tool', 'codes_tool', '1.0.1', '{"mode": "async"}')$$,
    'CN017', 'a_version_number_matches_its_change', 'CN017: a changed execution mode (breaking) in a patch version');

-- CN001 illegal transition
SELECT concord_test.throws_rule(
    format($$SELECT concord_test.move_as_run(%L, 'succeeded', 'alice')$$, concord_test.id('validated')),
    'CN001', 'a_status_change_follows_the_state_machine',
    'CN001: transition_command validated -> succeeded'
);

SELECT throws_like(
    format($$SELECT concord_test.move_as_run(%L, 'succeeded', 'alice')$$, concord_test.id('validated')),
    '%cannot go from validated to succeeded%',
    'CN001 message names both statuses'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET status = 'expired' WHERE command_id = %L$$, concord_test.id('validated')),
    'CN001', 'a_status_change_follows_the_state_machine',
    'CN001: direct UPDATE validated -> expired by the owner'
);

SELECT concord_test.throws_rule(
    $$INSERT INTO concord.commands (command_type, requested_by, ingress, status)
      VALUES ('t_codes', 'alice', 'sql', 'running')$$,
    'CN001', 'a_new_command_starts_created',
    'CN001: direct INSERT of a running command'
);

-- CN002 idempotency conflict
SELECT concord_test.throws_rule(
    $$SELECT * FROM concord.submit_command('t_codes', '{"who": "y"}', 'alice', idempotency_key => 'codes-1')$$,
    'CN002', 'an_idempotency_key_names_one_request',
    'CN002: same idempotency key, different payload'
);

SELECT lives_ok(
    $$SELECT concord.plan_effect(id, 'email.send', '{}', 'codes-effect')
      FROM concord_test.fixture WHERE label = 'other'$$,
    'fixture: an effect with key codes-effect'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.plan_effect(%L, 'email.send', '{}', 'codes-effect')$$, concord_test.id('parent')),
    'CN002', 'an_effect_idempotency_key_names_one_effect',
    'CN002: same effect key for an effect of another command'
);

-- CN003 dependency cycle / self-edge
SELECT concord_test.throws_rule(
    format($$SELECT concord.add_dependency(%1$L, %1$L)$$, concord_test.id('parent')),
    'CN003', 'dependency_graph_has_no_cycle',
    'CN003: self-dependency'
);

SELECT lives_ok(
    format($$SELECT concord.add_dependency(%L, %L)$$, concord_test.id('validated'), concord_test.id('parent')),
    'fixture: validated depends on parent'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.add_dependency(%L, %L)$$, concord_test.id('parent'), concord_test.id('validated')),
    'CN003', 'dependency_graph_has_no_cycle',
    'CN003: dependency cycle'
);

-- CN005 invalid payload or spec
SELECT concord_test.throws_rule(
    $$SELECT * FROM concord.submit_command('t_codes', NULL, 'alice')$$,
    'CN005', 'payload_is_not_null',
    'CN005: NULL payload'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_command_type('{"command_type": "t_codes2", "risk_level": "extreme"}')$$,
    'CN005', 'command_type_spec_is_valid',
    'CN005: register_command_type with an unknown risk_level'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_command_type(NULL)$$,
    'CN005', 'command_type_spec_is_valid',
    'CN005: register_command_type with a NULL spec'
);

-- CN006 not found
SELECT concord_test.throws_rule(
    $$SELECT concord.get_command('00000000-0000-0000-0000-000000000000')$$,
    'CN006', 'the_command_exists',
    'CN006: get_command of an unknown command'
);

SELECT concord_test.throws_rule(
    $$SELECT * FROM concord.command_timeline('00000000-0000-0000-0000-000000000000')$$,
    'CN006', 'the_command_exists',
    'CN006: command_timeline of an unknown command'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.transition_command('00000000-0000-0000-0000-000000000000', 'validated', 'alice')$$,
    'CN006', 'the_command_exists',
    'CN006: transition_command of an unknown command'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.complete_effect('00000000-0000-0000-0000-000000000000', '{}')$$,
    'CN006', 'the_effect_exists',
    'CN006: complete_effect of an unknown effect'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.plan_effect(%L, 'email.undo', '{}', compensates_effect_id => '00000000-0000-0000-0000-000000000000')$$,
           concord_test.id('parent')),
    'CN006', 'the_compensated_effect_exists',
    'CN006: plan_effect compensating an unknown effect'
);

-- CN007 append-only or immutable
SELECT concord_test.throws_rule(
    'DELETE FROM concord.domain_events',
    'CN007', 'events_are_append_only',
    'CN007: DELETE from domain_events'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET requested_by = 'mallory' WHERE command_id = %L$$,
           concord_test.id('parent')),
    'CN007', 'command_identity_is_immutable',
    'CN007: changing an identity column of a command'
);

-- CN008 invalid argument
SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'queued', '   ')$$, concord_test.id('parent')),
    'CN008', 'required_argument_is_not_blank',
    'CN008: transition_command with a blank actor'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'done', 'alice')$$, concord_test.id('parent')),
    'CN008', 'command_status_is_known',
    'CN008: transition_command to an unknown status name'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.cancel_command(%L, 'alice', NULL, 'checkpoint_then_stop')$$,
           concord_test.id('parent')),
    'CN008', 'cancellation_mode_is_graceful_or_compensate_then_stop',
    'CN008: cancel_command with an unknown cancellation mode (checkpoint_then_stop is reserved)'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.plan_effect(%L, 'email.undo', '{}', compensates_effect_id => %L)$$,
           concord_test.id('parent'), concord_test.id('other_effect')),
    'CN008', 'a_compensation_belongs_to_the_same_command',
    'CN008: plan_effect compensating an effect of another command'
);

-- CN009 unknown command type
SELECT concord_test.throws_rule(
    $$SELECT * FROM concord.submit_command('t_nope', '{}', 'alice')$$,
    'CN009', 'command_type_is_registered',
    'CN009: submit_command of an unknown type'
);

SELECT throws_like(
    $$SELECT * FROM concord.submit_command('t_nope', '{}', 'alice')$$,
    '%unknown command type%t_nope%',
    'CN009 message names the unknown type'
);

-- CN011 state conflict
SELECT concord_test.throws_rule(
    format($$SELECT concord.add_dependency(%L, %L, 'running')$$,
           concord_test.id('validated'), concord_test.id('parent')),
    'CN011', 'a_repeated_dependency_matches_the_first',
    'CN011: redefining a dependency'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.add_dependency(%L, %L)$$, concord_test.id('other'), concord_test.id('parent')),
    'CN011', 'dependencies_are_added_before_the_child_runs',
    'CN011: a dependency on a started (running) child'
);

DO $$ BEGIN
    PERFORM concord_test.move_as_run(concord_test.id('other'), 'succeeded', 'w');
END $$;

SELECT concord_test.throws_rule(
    format($$SELECT concord.add_dependency(%L, %L, 'failed')$$,
           concord_test.id('parent'), concord_test.id('other')),
    'CN011', 'a_parent_can_still_reach_the_required_status',
    'CN011: a dependency on a parent that can never reach the required status'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.plan_effect(%L, 'email.send', '{}')$$, concord_test.id('other')),
    'CN011', 'effects_are_planned_only_for_a_running_command',
    'CN011: planning an effect on a terminal command'
);

-- CN012 not permitted, CN013 approval already resolved
INSERT INTO concord_test.fixture
SELECT 'gated', s.command_id FROM concord.submit_command('t_codes_gated', '{}', 'alice') AS s;
INSERT INTO concord_test.fixture
SELECT 'gated_approval', a.approval_id FROM concord.approvals AS a
WHERE a.command_id = concord_test.id('gated');

SELECT throws_ok(
    format($$SELECT concord.resolve_approval(%L, 'approved', 'alice')$$, concord_test.id('gated_approval')),
    'CN012', NULL,
    'CN012: the requester approving her own command'
);

SELECT lives_ok(
    format($$SELECT concord.resolve_approval(%L, 'approved', 'approver1')$$, concord_test.id('gated_approval')),
    'fixture: a member of team:approvers approves'
);

SELECT throws_ok(
    format($$SELECT concord.resolve_approval(%L, 'rejected', 'approver1')$$, concord_test.id('gated_approval')),
    'CN013', NULL,
    'CN013: resolving an approval a second time'
);

SELECT * FROM finish();
ROLLBACK;
