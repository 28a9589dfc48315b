-- Domain effects (spec 9, 13.5): planned -> executing -> succeeded | failed,
-- for every writer; plan_effect is idempotent by key (CN002 for a different
-- effect under the same key); start/complete/fail are no-ops on replay (a DBOS
-- step may run twice); a terminal effect never changes (CN007).
BEGIN;
SELECT plan(41);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_effect", "sync_allowed": true}');
END $$;

CREATE FUNCTION pg_temp.effect(label text)
RETURNS concord.domain_effects
LANGUAGE sql
AS $$ SELECT e.* FROM concord.domain_effects AS e WHERE e.domain_effect_id = concord_test.id(effect.label) $$;

CREATE FUNCTION pg_temp.events(label text)
RETURNS bigint
LANGUAGE sql
AS $$ SELECT count(*) FROM concord.domain_events AS e WHERE e.target_id = concord_test.id(events.label)::text $$;

INSERT INTO concord_test.fixture
SELECT 'cmd', s.command_id FROM concord.submit_command('t_effect', '{}', 'alice') AS s;
-- effects belong to a run: the command runs as a worker runs it (its workflow: workflow_of('cmd'))
SELECT concord_test.run('cmd') IS NOT NULL AS fixture \gset

-- ---------------------------------------------------------------------------
-- plan_effect
-- ---------------------------------------------------------------------------
INSERT INTO concord_test.fixture
SELECT 'e1', concord.plan_effect(concord_test.id('cmd'), 'email.send', '{"to": "a@b.c"}', 'effect-key-1',
                                 'email.send_correction');

SELECT row_eq(
    $$SELECT command_id, status, effect_type, effect_payload, declared_compensation,
             started_at IS NULL, completed_at IS NULL
      FROM pg_temp.effect('e1')$$,
    ROW(concord_test.id('cmd'), 'planned'::text, 'email.send'::text, '{"to": "a@b.c"}'::jsonb,
        'email.send_correction'::text, true, true),
    'plan_effect records a planned effect with its type, payload and declared compensation'
);

SELECT is(
    concord.plan_effect(concord_test.id('cmd'), 'email.send', '{"to": "a@b.c"}', 'effect-key-1',
                        'email.send_correction'),
    concord_test.id('e1'),
    'plan_effect with the same key and the same effect returns the first effect''s id'
);

SELECT is(
    (SELECT count(*) FROM concord.domain_effects WHERE idempotency_key = 'effect-key-1'),
    1::bigint,
    'a replayed plan_effect stores one effect'
);

SELECT is(
    pg_temp.events('e1'),
    1::bigint,
    'a replayed plan_effect writes no second event'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.plan_effect(%L, 'email.send', '{"to": "x@y.z"}', 'effect-key-1',
                                        'email.send_correction')$$, concord_test.id('cmd')),
    'CN002', 'an_effect_idempotency_key_names_one_effect',
    'CN002: the same effect key for a different payload'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.plan_effect(%L, 'sms.send', '{"to": "a@b.c"}', 'effect-key-1',
                                        'email.send_correction')$$, concord_test.id('cmd')),
    'CN002', 'an_effect_idempotency_key_names_one_effect',
    'CN002: the same effect key for a different effect type'
);

SELECT isnt(
    concord.plan_effect(concord_test.id('cmd'), 'email.send', '{"to": "a@b.c"}'),
    concord.plan_effect(concord_test.id('cmd'), 'email.send', '{"to": "a@b.c"}'),
    'without a key every plan_effect records a new effect'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.plan_effect('00000000-0000-0000-0000-000000000000', 'email.send', '{}')$$,
    'CN006', 'the_command_exists',
    'CN006: plan_effect for an unknown command'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.plan_effect(%L, ' ', '{}')$$, concord_test.id('cmd')),
    'CN008', 'required_argument_is_not_blank',
    'CN008: plan_effect with a blank effect_type'
);

-- ---------------------------------------------------------------------------
-- start / complete, with replays
-- ---------------------------------------------------------------------------
SELECT concord_test.throws_rule(
    format($$SELECT concord.complete_effect(%L, '{}')$$, concord_test.id('e1')),
    'CN001', 'an_effect_status_change_follows_the_state_machine',
    'CN001: an effect cannot complete before it starts (planned -> succeeded)'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.fail_effect(%L, 'never ran', 'cancelled')$$, concord_test.id('e1')),
    'CN001', 'an_effect_status_change_follows_the_state_machine',
    'CN001: an effect cannot fail before it starts (planned -> failed)'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.domain_effects SET status = 'succeeded', executed_by_dbos_workflow_id = 'wf-x'
             WHERE domain_effect_id = %L$$, concord_test.id('e1')),
    'CN001', 'an_effect_status_change_follows_the_state_machine',
    'CN001: a direct UPDATE planned -> succeeded by the owner is refused'
);

SELECT is(
    concord.start_effect(concord_test.id('e1'), concord_test.workflow_of('cmd')),
    'executing',
    'start_effect moves a planned effect to executing'
);

SELECT row_eq(
    $$SELECT status, executed_by_dbos_workflow_id, started_at IS NOT NULL FROM pg_temp.effect('e1')$$,
    ROW('executing'::text, concord_test.workflow_of('cmd')::text, true),
    'the executing effect is bound to its workflow and has started_at'
);

SELECT ok(
    EXISTS (SELECT 1 FROM concord.effects_in_flight WHERE domain_effect_id = concord_test.id('e1')
            AND executed_by_dbos_workflow_id = concord_test.workflow_of('cmd')),
    'the executing effect shows in effects_in_flight'
);

CREATE TEMP TABLE before AS SELECT pg_temp.events('e1') AS n, (pg_temp.effect('e1')).started_at AS started_at;

SELECT is(
    concord.start_effect(concord_test.id('e1'), concord_test.workflow_of('cmd')),
    'executing',
    'a replayed start_effect by the same workflow returns executing'
);

SELECT row_eq(
    $$SELECT pg_temp.events('e1'), (pg_temp.effect('e1')).started_at$$,
    (SELECT ROW(n, started_at) FROM before),
    'a replayed start_effect writes no event and keeps started_at'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.start_effect(%L, 'wf-2')$$, concord_test.id('e1')),
    'CN007', 'an_effect_keeps_its_workflow',
    'CN007: an executing effect cannot be taken over by another workflow'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.domain_effects SET status = 'planned' WHERE domain_effect_id = %L$$,
           concord_test.id('e1')),
    'CN001', 'an_effect_status_change_follows_the_state_machine',
    'CN001: an effect cannot go back from executing to planned'
);

SELECT is(
    concord.complete_effect(concord_test.id('e1'), '{"message_id": "m-1"}'),
    'succeeded',
    'complete_effect moves an executing effect to succeeded'
);

SELECT row_eq(
    $$SELECT status, result, completed_at IS NOT NULL FROM pg_temp.effect('e1')$$,
    ROW('succeeded'::text, '{"message_id": "m-1"}'::jsonb, true),
    'the succeeded effect keeps its result and completed_at'
);

TRUNCATE before;
INSERT INTO before SELECT pg_temp.events('e1'), (pg_temp.effect('e1')).completed_at;

SELECT is(
    concord.complete_effect(concord_test.id('e1'), '{"message_id": "m-1"}'),
    'succeeded',
    'a replayed complete_effect with the same result returns succeeded'
);

SELECT row_eq(
    $$SELECT pg_temp.events('e1'), (pg_temp.effect('e1')).completed_at$$,
    (SELECT ROW(n, started_at) FROM before),
    'a replayed complete_effect writes no event and keeps completed_at'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.complete_effect(%L, '{"message_id": "m-2"}')$$, concord_test.id('e1')),
    'CN002', 'a_finished_effect_keeps_its_outcome',
    'CN002: completing a succeeded effect again with a different result'
);

-- ---------------------------------------------------------------------------
-- Terminal effects are immutable
-- ---------------------------------------------------------------------------
SELECT concord_test.throws_rule(
    format($$SELECT concord.fail_effect(%L, 'late', 'timeout')$$, concord_test.id('e1')),
    'CN001', 'an_effect_status_change_follows_the_state_machine',
    'CN001: a succeeded effect cannot fail'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.start_effect(%L, concord_test.workflow_of('cmd'))$$, concord_test.id('e1')),
    'CN001', 'an_effect_status_change_follows_the_state_machine',
    'CN001: a succeeded effect cannot start again'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.domain_effects SET result = '{"forged": true}' WHERE domain_effect_id = %L$$,
           concord_test.id('e1')),
    'CN007', 'a_finished_effect_never_changes',
    'CN007: a succeeded effect''s result cannot be rewritten'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.domain_effects SET status = 'succeeded' WHERE domain_effect_id = %L$$,
           concord_test.id('e1')),
    'CN007', 'a_finished_effect_never_changes',
    'CN007: a succeeded effect cannot be touched even without a status change'
);

-- ---------------------------------------------------------------------------
-- fail, with replays
-- ---------------------------------------------------------------------------
INSERT INTO concord_test.fixture
SELECT 'e2', concord.plan_effect(concord_test.id('cmd'), 'crm.update', '{"id": 7}');
SELECT concord.start_effect(concord_test.id('e2'), concord_test.workflow_of('cmd')) AS fixture \gset

SELECT concord_test.throws_rule(
    format($$SELECT concord.fail_effect(%L, 'crm said 500', ' ')$$, concord_test.id('e2')),
    'CN008', 'required_argument_is_not_blank',
    'CN008: fail_effect needs an error_class'
);

SELECT is(
    concord.fail_effect(concord_test.id('e2'), 'crm said 500', 'transient_connector_error'),
    'failed',
    'fail_effect moves an executing effect to failed'
);

SELECT row_eq(
    $$SELECT status, error, error_class, completed_at IS NOT NULL FROM pg_temp.effect('e2')$$,
    ROW('failed'::text, 'crm said 500'::text, 'transient_connector_error'::text, true),
    'the failed effect keeps its error and error_class'
);

TRUNCATE before;
INSERT INTO before SELECT pg_temp.events('e2'), NULL;

SELECT is(
    concord.fail_effect(concord_test.id('e2'), 'crm said 500', 'transient_connector_error'),
    'failed',
    'a replayed fail_effect with the same error returns failed'
);

SELECT is(
    pg_temp.events('e2'),
    (SELECT n FROM before),
    'a replayed fail_effect writes no event'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.fail_effect(%L, 'crm said 503', 'transient_connector_error')$$, concord_test.id('e2')),
    'CN002', 'a_finished_effect_keeps_its_outcome',
    'CN002: failing a failed effect again with a different error'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.complete_effect(%L, '{}')$$, concord_test.id('e2')),
    'CN001', 'an_effect_status_change_follows_the_state_machine',
    'CN001: a failed effect cannot succeed'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.domain_effects SET error_class = 'rate_limited' WHERE domain_effect_id = %L$$,
           concord_test.id('e2')),
    'CN007', 'a_finished_effect_never_changes',
    'CN007: a failed effect''s error cannot be rewritten'
);

-- ---------------------------------------------------------------------------
-- Effects are born planned, and only for live commands
-- ---------------------------------------------------------------------------
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.domain_effects (command_id, effect_type, status, executed_by_dbos_workflow_id)
             VALUES (%L, 'email.send', 'executing', concord_test.workflow_of('cmd'))$$, concord_test.id('cmd')),
    'CN001', 'a_new_effect_starts_planned',
    'CN001: a direct INSERT of an effect that is not planned'
);

INSERT INTO concord_test.fixture SELECT 'e3', concord.plan_effect(concord_test.id('cmd'), 'file.write', '{}');
SELECT concord_test.move_as_run(concord_test.id('cmd'), 'succeeded', 'worker') AS fixture \gset

SELECT is(
    concord.plan_effect(concord_test.id('cmd'), 'email.send', '{"to": "a@b.c"}', 'effect-key-1',
                        'email.send_correction'),
    concord_test.id('e1'),
    'a replayed plan_effect still returns its effect after the command ended'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.plan_effect(%L, 'email.send', '{}')$$, concord_test.id('cmd')),
    'CN011', 'effects_are_planned_only_for_a_running_command',
    'CN011: no effect can be planned for a terminal (succeeded) command'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.start_effect(%L, concord_test.workflow_of('cmd'))$$, concord_test.id('e3')),
    'CN011', 'effects_start_only_for_a_running_command',
    'CN011: a planned effect of a terminal command can no longer start'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.start_effect('00000000-0000-0000-0000-000000000000', concord_test.workflow_of('cmd'))$$,
    'CN006', 'the_effect_exists',
    'CN006: start_effect of an unknown effect'
);

SELECT * FROM finish();
ROLLBACK;
