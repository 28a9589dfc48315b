-- A swarm's pending work includes that of the swarms working for the
-- commands its agents asked for (spec 64, 64.1 "then up the chain"): an
-- agent's tool command ran a sub-swarm, whose finished agent left a tool
-- command queued, and succeeded. Cancelling the outer swarm's command
-- cancels that queued command too, in the outer mode, and
-- compensate_then_stop counters the effects of the sub-swarm's finished
-- commands as well as those of the outer agents'.
BEGIN;
SELECT plan(9);

\ir ../lib/agent_fixtures.sql

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
    PERFORM concord.register_command_type('{"command_type": "t.nbook", "policy_checks": ["agent_tool"],
                                            "default_cancellation_mode": "compensate_then_stop"}');
    PERFORM concord.register_tool('{"name": "nbook", "command_type": "t.nbook"}');
END $$;

-- A succeeded effect (declared compensation unbook) of the current run of
-- the command remembered as label, remembered as key.
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

-- The agent remembered as agent asks for tool (with payload {"n": label}),
-- remembered as label.
CREATE FUNCTION pg_temp.asks(agent text, tool text, label text)
RETURNS uuid
LANGUAGE sql
AS $$
    SELECT concord_test.remember(label, (pg_temp.act(agent, jsonb_build_object(
        'tool_name', tool, 'payload', jsonb_build_object('n', label))) ->> 'command_id')::uuid)
$$;

-- The parent N runs (compensate_then_stop); its swarm NS's coordinator nc
-- books through its command A, which a worker runs; a sub-swarm NS2 works for
-- A: its coordinator n2 books through B (finished) and queues a job Bq, then
-- finishes, so NS2 succeeds; then A books and succeeds.
SELECT concord_test.submit('N', 'rt_comp') AS fixture;
SELECT concord_test.claim('N') ->> 'action' AS fixture;
SELECT concord_test.remember('NS', concord.start_swarm(concord_test.id('N'),
    '{"name": "outer", "objective": "book", "coordinator": {"agent_name": "nc", "allowed_tools": ["nbook"]}}'))
       IS NOT NULL AS fixture;
SELECT concord_test.remember('nc', (pg_temp.swarm('NS')).coordinator_agent_run_id) IS NOT NULL AS fixture;
SELECT pg_temp.asks('nc', 'nbook', 'A') IS NOT NULL AS fixture;
SELECT concord_test.claim('A') ->> 'action' AS fixture;
SELECT concord_test.remember('NS2', concord.start_swarm(concord_test.id('A'),
    '{"name": "inner", "objective": "book more", "coordinator": {"agent_name": "n2",
      "allowed_tools": ["nbook", "bg.job"]}}')) IS NOT NULL AS fixture;
SELECT concord_test.remember('n2', (pg_temp.swarm('NS2')).coordinator_agent_run_id) IS NOT NULL AS fixture;
SELECT pg_temp.asks('n2', 'nbook', 'B') IS NOT NULL AS fixture;
SELECT concord_test.claim('B') ->> 'action' AS fixture;
SELECT pg_temp.booked('B', 'b-room') IS NOT NULL AS fixture;
SELECT concord.runtime_finish(concord_test.id('B'), concord_test.workflow_of('B'), 'succeeded') AS fixture;
SELECT pg_temp.asks('n2', 'bg.job', 'Bq') IS NOT NULL AS fixture;
SELECT concord.finish_agent_run(concord_test.id('n2'), 'succeeded', '{"booked": 1}') AS fixture;
SELECT pg_temp.booked('A', 'a-room') IS NOT NULL AS fixture;
SELECT concord.runtime_finish(concord_test.id('A'), concord_test.workflow_of('A'), 'succeeded') AS fixture;

SELECT is(concord_test.status('A') || '/' || (pg_temp.swarm('NS2')).status || '/' || concord_test.status('Bq'),
          'succeeded/succeeded/queued',
          'fixture: the agent''s command and its sub-swarm succeeded, leaving a job queued');
SELECT is(
    ARRAY(SELECT x ->> 'effect_id' FROM jsonb_array_elements(concord.runtime_compensations(concord_test.id('N'))) AS x
          ORDER BY 1),
    ARRAY(SELECT unnest(ARRAY[concord_test.id('a-room')::text, concord_test.id('b-room')::text]) ORDER BY 1),
    'runtime_compensations: the sub-swarm''s finished command''s effect is countered with the outer agent''s'
);

SELECT is(concord.cancel_command(concord_test.id('N'), 'ann', 'stop', 'compensate_then_stop'), 'cancelling',
          'the outer command is cancelling');
SELECT is((pg_temp.swarm('NS')).status, 'cancelled', 'its swarm is cancelled');
SELECT is(concord_test.status('Bq'), 'cancelled', 'the job the sub-swarm left queued is cancelled: it never runs');
SELECT is((concord_test.command('Bq')).cancellation_requested_by, 'ann', 'in the name of who cancelled the outer one');
SELECT is((SELECT (payload -> 'commands' -> 0 ->> 'command_id') || '/' || (payload ->> 'cancellation_mode')
           FROM concord.domain_events
           WHERE swarm_run_id = concord_test.id('NS2') AND event_type = 'swarm_work_cancelled'),
          concord_test.id('Bq') || '/compensate_then_stop',
          'the sub-swarm''s swarm_work_cancelled names it, with the outer cancellation''s mode');

SELECT is(concord.runtime_finish(concord_test.id('N'), concord_test.workflow_of('N'), 'compensating'), 'compensating',
          'fixture: the outer command''s run compensates');
SELECT is((SELECT concord.complete_effect((x ->> 'effect_id')::uuid, '{}')
           FROM concord.runtime_begin_effect(concord_test.id('N'), concord_test.workflow_of('N'), 'booking.unbook',
                                             '{}', 'undo-b-room', null, concord_test.id('b-room')) AS x),
          'succeeded', 'its run counters the sub-swarm''s booking, on the outer command');

SELECT * FROM finish();
ROLLBACK;
