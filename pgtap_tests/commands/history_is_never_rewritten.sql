-- History is never rewritten (spec 25): commands, effects and dependencies are
-- never deleted nor truncated; a command's identity columns and bound facts
-- never change; the state-machine tables change only through a migration
-- (state_machine_is_read_only). All of it holds for the table owner too (this
-- file runs as the owner).
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(29);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_history", "sync_allowed": true}');
END $$;

-- Before any command is submitted: a validated command leaves a deferred
-- hand-off pending (an_allowed_command_is_handed_to_the_worker_at_commit),
-- and PostgreSQL refuses to TRUNCATE a table with pending trigger events
-- (55006) before the guard could speak. The registration's own registry
-- commands left theirs: settle them now.
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SELECT concord_test.throws_rule(
    'TRUNCATE concord.commands CASCADE',
    'CN007', 'commands_are_not_truncated',
    'CN007: TRUNCATE of commands (with everything that references them) is refused'
);

INSERT INTO concord_test.fixture
SELECT 'cmd', s.command_id FROM concord.submit_command('t_history', '{"a": 1}', 'alice',
                                                       idempotency_key => 'history-1') AS s;
INSERT INTO concord_test.fixture
SELECT 'parent', s.command_id FROM concord.submit_command('t_history', '{}', 'alice') AS s;
-- an effect belongs to a running command's run
INSERT INTO concord_test.fixture
SELECT 'runner', s.command_id FROM concord.submit_command('t_history', '{}', 'alice') AS s;
SELECT concord_test.run('runner') IS NOT NULL AS fixture \gset
INSERT INTO concord_test.fixture
SELECT 'effect', concord.plan_effect(concord_test.id('runner'), 'email.send', '{}');
DO $$ BEGIN
    PERFORM concord.add_dependency(concord_test.id('cmd'), concord_test.id('parent'));
END $$;

SELECT cmp_ok(
    (SELECT count(*) FROM concord.domain_events WHERE command_id = concord_test.id('cmd')),
    '>=', 2::bigint,
    'fixture: the command has audit events'
);

-- ---------------------------------------------------------------------------
-- Commands, effects and dependencies are never deleted
-- ---------------------------------------------------------------------------
SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.commands WHERE command_id = %L$$, concord_test.id('parent')),
    'CN007', 'commands_are_not_deleted',
    'CN007: DELETE of a command is refused'
);

SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.domain_effects WHERE domain_effect_id = %L$$, concord_test.id('effect')),
    'CN007', 'effects_are_not_deleted',
    'CN007: DELETE of an effect is refused'
);

SELECT concord_test.throws_rule(
    'TRUNCATE concord.domain_effects CASCADE',
    'CN007', 'effects_are_not_truncated',
    'CN007: TRUNCATE of domain_effects (with the invocations that reference them) is refused'
);

SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.command_dependencies WHERE child_command_id = %L$$, concord_test.id('cmd')),
    'CN007', 'dependencies_are_immutable',
    'CN007: DELETE of a dependency is refused'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.command_dependencies SET required_status = 'running'
             WHERE child_command_id = %L$$, concord_test.id('cmd')),
    'CN007', 'dependencies_are_immutable',
    'CN007: UPDATE of a dependency is refused'
);

SELECT concord_test.throws_rule(
    'TRUNCATE concord.command_dependencies',
    'CN007', 'dependencies_are_not_truncated',
    'CN007: TRUNCATE of command_dependencies is refused'
);

-- ---------------------------------------------------------------------------
-- Identity columns and bound facts never change
-- ---------------------------------------------------------------------------
CREATE FUNCTION pg_temp.identity_changes_not_refused()
RETURNS SETOF text
LANGUAGE plpgsql
AS $$
DECLARE
    change text;
    state text;
BEGIN
    FOREACH change IN ARRAY ARRAY[
        'command_id = gen_random_uuid()',
        'command_type = ''t_other''',
        'requested_by = ''mallory''',
        'ingress = ''forged''',
        'idempotency_key = ''history-2''',
        'idempotency_key = NULL',
        'trace_id = ''trace_forged''',
        'created_at = created_at - interval ''1 day'''
    ] LOOP
        BEGIN
            EXECUTE format('UPDATE concord.commands SET %s WHERE command_id = %L', change, concord_test.id('cmd'));
            RETURN NEXT format('SET %s was allowed', change);
        EXCEPTION
            WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
                IF state <> 'CN007' THEN
                    RETURN NEXT format('SET %s raised %s, not CN007', change, state);
                END IF;
        END;
    END LOOP;
END
$$;

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_other"}');
END $$;

SELECT is_empty(
    'SELECT * FROM pg_temp.identity_changes_not_refused()',
    'CN007: command_id, command_type, requested_by, ingress, idempotency_key, trace_id and created_at never change'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET payload = '{"a": 2}' WHERE command_id = %L$$, concord_test.id('cmd')),
    'CN007', 'payload_and_context_change_only_while_awaiting_input',
    'CN007: the payload of a validated command cannot change'
);

-- The workflow binding belongs to the runtime hand-off
-- (runtime/the_binding_moves_only_by_a_hand_off_or_a_release.sql).
SELECT throws_ok(
    format($$UPDATE concord.commands SET dbos_workflow_id = 'wf-other' WHERE command_id = %L$$,
           concord_test.id('cmd')),
    'CN007', NULL,
    'CN007: nobody binds a workflow to a command outside the hand-off'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.domain_effects SET effect_payload = '{"to": "mallory"}' WHERE domain_effect_id = %L$$,
           concord_test.id('effect')),
    'CN007', 'effect_identity_is_immutable',
    'CN007: an effect''s payload never changes, even while planned'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.domain_effects SET command_id = %L WHERE domain_effect_id = %L$$,
           concord_test.id('parent'), concord_test.id('effect')),
    'CN007', 'effect_identity_is_immutable',
    'CN007: an effect cannot move to another command'
);

-- ---------------------------------------------------------------------------
-- The state machine changes only through a migration
-- ---------------------------------------------------------------------------
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.command_transitions (from_status, to_status) VALUES ('succeeded', 'queued')$$,
    'CN007', 'state_machine_is_read_only',
    'CN007: INSERT into command_transitions (reopening a terminal status) is refused'
);

SELECT concord_test.throws_rule(
    $$UPDATE concord.command_transitions SET to_status = 'succeeded'
      WHERE from_status = 'created' AND to_status = 'validated'$$,
    'CN007', 'state_machine_is_read_only',
    'CN007: UPDATE of command_transitions is refused'
);

SELECT concord_test.throws_rule(
    $$DELETE FROM concord.command_transitions WHERE from_status = 'running' AND to_status = 'cancelling'$$,
    'CN007', 'state_machine_is_read_only',
    'CN007: DELETE from command_transitions is refused'
);

SELECT concord_test.throws_rule(
    'TRUNCATE concord.command_transitions',
    'CN007', 'state_machine_is_not_truncated',
    'CN007: TRUNCATE of command_transitions is refused'
);

SELECT concord_test.throws_rule(
    $$UPDATE concord.command_statuses SET terminal = false WHERE status = 'succeeded'$$,
    'CN007', 'state_machine_is_read_only',
    'CN007: UPDATE of command_statuses (un-terminating succeeded) is refused'
);

SELECT concord_test.throws_rule(
    $$INSERT INTO concord.command_statuses (status, terminal, completes, description)
      VALUES ('paused', false, false, 'forged')$$,
    'CN007', 'state_machine_is_read_only',
    'CN007: INSERT into command_statuses is refused'
);

SELECT concord_test.throws_rule(
    $$DELETE FROM concord.command_statuses WHERE status = 'expired'$$,
    'CN007', 'state_machine_is_read_only',
    'CN007: DELETE from command_statuses is refused'
);

SELECT concord_test.throws_rule(
    'TRUNCATE concord.command_statuses CASCADE',
    'CN007', 'state_machine_is_not_truncated',
    'CN007: TRUNCATE of command_statuses is refused'
);

SELECT concord_test.throws_rule(
    $$INSERT INTO concord.effect_transitions (from_status, to_status) VALUES ('planned', 'succeeded')$$,
    'CN007', 'state_machine_is_read_only',
    'CN007: INSERT into effect_transitions (planned -> succeeded) is refused'
);

SELECT concord_test.throws_rule(
    $$DELETE FROM concord.effect_transitions$$,
    'CN007', 'state_machine_is_read_only',
    'CN007: DELETE from effect_transitions is refused'
);

SELECT concord_test.throws_rule(
    'TRUNCATE concord.effect_transitions',
    'CN007', 'state_machine_is_not_truncated',
    'CN007: TRUNCATE of effect_transitions is refused'
);

SELECT concord_test.throws_rule(
    $$UPDATE concord.effect_statuses SET terminal = false WHERE status = 'failed'$$,
    'CN007', 'state_machine_is_read_only',
    'CN007: UPDATE of effect_statuses is refused'
);

SELECT concord_test.throws_rule(
    'TRUNCATE concord.effect_statuses CASCADE',
    'CN007', 'state_machine_is_not_truncated',
    'CN007: TRUNCATE of effect_statuses is refused'
);

SELECT is(
    (SELECT count(*) FROM concord.command_transitions),
    41::bigint,
    'command_transitions still holds its 41 edges'
);

SELECT set_eq(
    'SELECT from_status, to_status FROM concord.effect_transitions',
    $$VALUES ('planned', 'executing'), ('executing', 'succeeded'), ('executing', 'failed')$$,
    'effect_transitions is planned -> executing -> succeeded | failed, nothing else'
);

SELECT set_eq(
    'SELECT status FROM concord.effect_statuses WHERE terminal',
    ARRAY['succeeded', 'failed'],
    'the terminal effect statuses are succeeded and failed'
);

SELECT * FROM finish();
ROLLBACK;
