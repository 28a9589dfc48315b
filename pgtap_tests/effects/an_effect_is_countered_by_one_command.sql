-- An effect is countered by one command only (an_effect_is_countered_by_one_command,
-- CN011): an agent's booking cancelled compensate_then_stop counters its own
-- effect; when the swarm's command is then cancelled compensate_then_stop,
-- its run (which may counter its agents' finished commands' effects, spec 65)
-- cannot plan a second compensation of that effect, whatever list it works
-- from. A compensation that failed is tried again by the other command; one
-- command's compensation may emit several effects.
BEGIN;
SELECT plan(5);

\ir ../lib/agent_fixtures.sql

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
    PERFORM concord.register_command_type('{"command_type": "t.obook", "policy_checks": ["agent_tool"],
                                            "default_cancellation_mode": "compensate_then_stop"}');
    PERFORM concord.register_tool('{"name": "obook", "command_type": "t.obook"}');
END $$;

-- A succeeded booking of the current run of the command remembered as label,
-- remembered as key.
CREATE FUNCTION pg_temp.booked(label text, key text)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    id uuid := (concord.runtime_begin_effect(concord_test.id(label), concord_test.workflow_of(label), 'booking.book',
                                             jsonb_build_object('room', key), key, 'unbook') ->> 'effect_id')::uuid;
BEGIN
    PERFORM concord.complete_effect(id, jsonb_build_object('booking', key));
    RETURN concord_test.remember(key, id);
END
$$;

-- The statement by which the current run of the command remembered as label
-- plans a compensation (key) of the effect remembered as effect.
CREATE FUNCTION pg_temp.counter_sql(label text, effect text, key text)
RETURNS text
LANGUAGE sql
AS $$
    SELECT format($f$SELECT concord.runtime_begin_effect(%L, %L, 'booking.unbook', '{}', %L, null, %L)$f$,
                  concord_test.id(label), concord_test.workflow_of(label), key, concord_test.id(effect))
$$;

-- The compensation the current run of label plans for effect, finished as status.
CREATE FUNCTION pg_temp.countered(label text, effect text, key text, status text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    answer jsonb;
    id uuid;
BEGIN
    EXECUTE pg_temp.counter_sql(label, effect, key) INTO answer;
    id := (answer ->> 'effect_id')::uuid;
    RETURN CASE WHEN status = 'succeeded' THEN concord.complete_effect(id, '{}')
                ELSE concord.fail_effect(id, 'the vendor said no', 'validation_error') END;
END
$$;

-- The parent O runs; its swarm's coordinator books through A (run by a
-- worker) and through F; both bookings succeed.
SELECT concord_test.submit('O', 'rt_comp') AS fixture;
SELECT concord_test.claim('O') ->> 'action' AS fixture;
SELECT concord_test.remember('OS', concord.start_swarm(concord_test.id('O'),
    '{"name": "once", "objective": "book", "coordinator": {"agent_name": "oc", "allowed_tools": ["obook"]}}'))
       IS NOT NULL AS fixture;
SELECT concord_test.remember('oc', (pg_temp.swarm('OS')).coordinator_agent_run_id) IS NOT NULL AS fixture;
SELECT concord_test.remember('A', (pg_temp.act('oc', '{"tool_name": "obook", "payload": {"n": "A"}}')
                                   ->> 'command_id')::uuid) IS NOT NULL AS fixture;
SELECT concord_test.claim('A') ->> 'action' AS fixture;
SELECT pg_temp.booked('A', 'a-room') IS NOT NULL AS fixture;
SELECT concord_test.remember('F', (pg_temp.act('oc', '{"tool_name": "obook", "payload": {"n": "F"}}')
                                   ->> 'command_id')::uuid) IS NOT NULL AS fixture;
SELECT concord_test.claim('F') ->> 'action' AS fixture;
SELECT pg_temp.booked('F', 'f-room') IS NOT NULL AS fixture;

-- A and F are cancelled compensate_then_stop: A counters its booking (in
-- two effects), F's compensation fails.
SELECT concord.cancel_command(concord_test.id('A'), 'ann', 'stop') AS fixture;
SELECT concord.runtime_finish(concord_test.id('A'), concord_test.workflow_of('A'), 'compensating') AS fixture;
SELECT is(pg_temp.countered('A', 'a-room', 'undo-a-1', 'succeeded') || '/'
          || pg_temp.countered('A', 'a-room', 'undo-a-2', 'succeeded'), 'succeeded/succeeded',
          'a command''s compensation counters its own effect, in as many effects as it emits');
SELECT concord.runtime_finish(concord_test.id('A'), concord_test.workflow_of('A'), 'compensated') AS fixture;
SELECT concord.runtime_finish(concord_test.id('A'), concord_test.workflow_of('A'), 'cancelled') AS fixture;
SELECT concord.cancel_command(concord_test.id('F'), 'ann', 'stop') AS fixture;
SELECT concord.runtime_finish(concord_test.id('F'), concord_test.workflow_of('F'), 'compensating') AS fixture;
SELECT pg_temp.countered('F', 'f-room', 'undo-f', 'failed') AS fixture;
SELECT concord.runtime_finish(concord_test.id('F'), concord_test.workflow_of('F'), 'failed', null,
                              'the unbooking failed', 'compensation_failed') AS fixture;

-- The parent is cancelled compensate_then_stop; its run compensates.
SELECT concord.cancel_command(concord_test.id('O'), 'ann', 'stop', 'compensate_then_stop') AS fixture;
SELECT concord.runtime_finish(concord_test.id('O'), concord_test.workflow_of('O'), 'compensating') AS fixture;
SELECT is(concord_test.status('A') || '/' || concord_test.status('F') || '/' || concord_test.status('O'),
          'cancelled/failed/compensating', 'fixture: A cancelled, F failed, the parent compensating');
SELECT concord_test.throws_rule(pg_temp.counter_sql('O', 'a-room', 'undo-a-again'), 'CN011',
                                'an_effect_is_countered_by_one_command',
                                'CN011: the parent''s run does not counter the booking A already countered');
SELECT is((SELECT count(*)::integer FROM concord.domain_effects
           WHERE compensates_effect_id = concord_test.id('a-room') AND command_id = concord_test.id('O')), 0,
          'nothing of the parent''s counters it');
SELECT is(pg_temp.countered('O', 'f-room', 'undo-f-again', 'succeeded'), 'succeeded',
          'the parent''s run counters F''s booking, whose own compensation failed');

SELECT * FROM finish();
ROLLBACK;
