-- compensate_then_stop on a swarm's command (spec 64.1, 65): the effects to
-- counter (runtime_compensations) are the command's own and those of the
-- finished commands its swarm's agents asked for, newest first; the
-- command's run may plan their compensations on itself, and on nothing else
-- (a_compensation_belongs_to_the_same_command): not an effect of a command
-- still running its own cancellation, not one of another command. The drift
-- detector (spec 31.3) checks those agents' effects too when the command
-- becomes compensated, each against the compensation it declared. A
-- compensation of an agent's effect calls connectors under the contract of
-- the command whose effect it counters (its type, its agent's scope), not the
-- swarm's command's.
BEGIN;
SELECT plan(16);

\ir ../lib/agent_fixtures.sql

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
    PERFORM concord.register_command_type('{"command_type": "t.booking", "policy_checks": ["agent_tool"],
                                            "default_cancellation_mode": "compensate_then_stop",
                                            "connector_requirements": ["vendor"]}');
    PERFORM concord.register_tool('{"name": "book", "command_type": "t.booking"}');
    PERFORM concord.register_operations(
        '[{"command_type": "t.booking", "queue": "concord_default", "function_name": "app.book",
           "produces": ["booking.book"], "compensation": "unbook"},
          {"name": "unbook", "of": "t.booking", "function_name": "app.unbook",
           "produces": [{"effect_type": "booking.unbook", "inverse_of": "booking.book"}]}]', 'ex1', 'v1');
END $$;

-- A succeeded effect (declared compensation unbook) begun by the current run
-- of the command remembered as label, remembered as key; its completion is
-- stamped minutes_ago (one transaction stamps every completion alike).
CREATE FUNCTION pg_temp.booked(label text, key text, minutes_ago integer)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    id uuid := (concord.runtime_begin_effect(concord_test.id(label), concord_test.workflow_of(label), 'booking.book',
                                             jsonb_build_object('room', key), key, 'unbook') ->> 'effect_id')::uuid;
BEGIN
    PERFORM concord.complete_effect(id, jsonb_build_object('booking', key));
    PERFORM set_config('session_replication_role', 'replica', true);
    UPDATE concord.domain_effects SET completed_at = now() - make_interval(mins => minutes_ago)
    WHERE domain_effect_id = id;
    PERFORM set_config('session_replication_role', 'origin', true);
    RETURN concord_test.remember(key, id);
END
$$;

-- An agent's booking tool command, run by a worker (its workflow id is its
-- command id), remembered as label.
CREATE FUNCTION pg_temp.agent_booking(agent text, label text)
RETURNS uuid
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM concord_test.remember(label, (pg_temp.act(agent, jsonb_build_object(
        'tool_name', 'book', 'payload', jsonb_build_object('room', label))) ->> 'command_id')::uuid);
    PERFORM concord_test.claim(label);
    RETURN concord_test.id(label);
END
$$;

-- The parent (compensate_then_stop) runs and books; its swarm's coordinator
-- and child book through their own commands: one finished, one still
-- running; another command books too.
SELECT concord_test.submit('sp', 'rt_comp') AS fixture;
SELECT concord_test.claim('sp') ->> 'action' AS fixture;
SELECT pg_temp.booked('sp', 'sp-own', 40) IS NOT NULL AS fixture;
SELECT concord_test.remember('S', concord.start_swarm(concord_test.id('sp'),
    '{"name": "booker", "objective": "book rooms", "coordinator": {"agent_name": "sc",
      "allowed_tools": ["book", "spawn_subagent"], "allowed_connectors": ["vendor"]}}')) IS NOT NULL AS fixture;
SELECT concord_test.remember('sc', (pg_temp.swarm('S')).coordinator_agent_run_id) IS NOT NULL AS fixture;
SELECT concord_test.remember('sk', (pg_temp.spawn('sc', '{"agent_name": "kid", "agent_role": "worker",
    "delegated_goal": "book", "allowed_tools": ["book"], "allowed_connectors": ["vendor"]}')
    ->> 'child_agent_run_id')::uuid) IS NOT NULL AS fixture;
SELECT pg_temp.agent_booking('sc', 'lead_cmd') IS NOT NULL AS fixture;
SELECT pg_temp.booked('lead_cmd', 'lead-room', 30) IS NOT NULL AS fixture;
SELECT concord.runtime_finish(concord_test.id('lead_cmd'), concord_test.workflow_of('lead_cmd'), 'succeeded')
       AS fixture;
SELECT pg_temp.agent_booking('sk', 'kid_cmd') IS NOT NULL AS fixture;
SELECT pg_temp.booked('kid_cmd', 'kid-room', 20) IS NOT NULL AS fixture;
SELECT concord.runtime_finish(concord_test.id('kid_cmd'), concord_test.workflow_of('kid_cmd'), 'succeeded')
       AS fixture;
SELECT pg_temp.agent_booking('sk', 'kid_live') IS NOT NULL AS fixture;
SELECT pg_temp.booked('kid_live', 'kid-live-room', 10) IS NOT NULL AS fixture;
SELECT concord_test.submit('other', 'rt_comp') AS fixture;
SELECT concord_test.claim('other') ->> 'action' AS fixture;
SELECT pg_temp.booked('other', 'other-room', 5) IS NOT NULL AS fixture;

SELECT is(
    (SELECT array_agg((x ->> 'effect_id') || '@' || (x ->> 'command_id') ORDER BY n)
     FROM jsonb_array_elements(concord.runtime_compensations(concord_test.id('sp'))) WITH ORDINALITY AS a (x, n)),
    ARRAY[concord_test.id('kid-room') || '@' || concord_test.id('kid_cmd'),
          concord_test.id('lead-room') || '@' || concord_test.id('lead_cmd'),
          concord_test.id('sp-own') || '@' || concord_test.id('sp')],
    'runtime_compensations: the agents'' finished commands'' effects and the command''s own, newest first, each '
    'naming its command (not a command still running, nor another command''s)'
);
SELECT is(
    (SELECT array_agg(x ->> 'effect_id') FROM jsonb_array_elements(concord.runtime_compensations(concord_test.id('kid_cmd'))) AS a (x)),
    ARRAY[concord_test.id('kid-room')::text],
    'an agent''s command still lists only its own effects'
);

-- The parent is cancelled compensate_then_stop: its swarm, agents and the
-- live tool command are cancelled with it; its run compensates.
SELECT is(concord.cancel_command(concord_test.id('sp'), 'ann', 'stop', 'compensate_then_stop'), 'cancelling',
          'the parent is cancelling');
SELECT is(concord_test.status('kid_live'), 'cancelling', 'the agent''s running command is cancelling, on its own');
SELECT is(concord.runtime_finish(concord_test.id('sp'), concord_test.workflow_of('sp'), 'compensating'), 'compensating',
          'fixture: the parent''s run compensates');

CREATE FUNCTION pg_temp.counter(effect_label text)
RETURNS text
LANGUAGE sql
AS $$
    SELECT format($f$SELECT concord.runtime_begin_effect(%L, %L, 'booking.unbook', '{}', %L, null, %L)$f$,
                  concord_test.id('sp'), concord_test.workflow_of('sp'), 'undo-' || effect_label,
                  concord_test.id(effect_label))
$$;

SELECT is((SELECT concord.complete_effect((x ->> 'effect_id')::uuid, '{}')
           FROM concord.runtime_begin_effect(concord_test.id('sp'), concord_test.workflow_of('sp'), 'booking.unbook',
                                             '{"connector": "vendor", "capability": "request"}', 'undo-kid-room', null,
                                             concord_test.id('kid-room')) AS x),
          'succeeded', 'the parent''s run counters the child''s finished booking, on the parent, through the vendor '
          'the child''s command declares (the parent''s type declares no connector)');
SELECT is((SELECT concord.complete_effect((x ->> 'effect_id')::uuid, '{}')
           FROM concord.runtime_begin_effect(concord_test.id('sp'), concord_test.workflow_of('sp'), 'booking.rebook',
                                             '{"connector": "vendor", "capability": "request"}', 'redo-kid-room', null,
                                             (SELECT e.domain_effect_id FROM concord.domain_effects AS e
                                              WHERE e.command_id = concord_test.id('sp')
                                                AND e.idempotency_key = 'undo-kid-room')) AS x),
          'succeeded', 'and a compensation of that compensation (a cascade) too: the chain began with the child''s effect');
SELECT is((SELECT string_agg(DISTINCT v.command_id::text, ',') FROM concord.domain_effects AS e
           INNER JOIN concord.domain_events AS v ON v.target_id = e.domain_effect_id::text
           WHERE e.compensates_effect_id = concord_test.id('kid-room') AND e.command_id = concord_test.id('sp')),
          concord_test.id('sp')::text, 'the compensating effect is the parent''s, audited with it');
SELECT is(
    (SELECT array_agg(x ->> 'effect_id' ORDER BY n)
     FROM jsonb_array_elements(concord.runtime_compensations(concord_test.id('sp'))) WITH ORDINALITY AS a (x, n)),
    ARRAY[concord_test.id('lead-room')::text, concord_test.id('sp-own')::text],
    'a countered effect is no longer listed'
);
SELECT concord_test.throws_rule(
    format($f$SELECT concord.runtime_begin_effect(%L, %L, 'booking.unbook', '{"connector": "mail", "capability": "send"}',
                                                 'undo-lead-mail', null, %L)$f$,
           concord_test.id('sp'), concord_test.workflow_of('sp'), concord_test.id('lead-room')),
    'CN012', 'an_operation_calls_only_the_connectors_its_command_type_declares',
    'CN012: but not through a connector the agent''s command does not declare'
);
SELECT is((SELECT count(*) FROM concord.domain_effects WHERE compensates_effect_id = concord_test.id('lead-room')),
          0::bigint, 'nothing was begun for it');
SELECT concord_test.throws_rule(pg_temp.counter('kid-live-room'), 'CN008', 'a_compensation_belongs_to_the_same_command',
                                'CN008: not the effect of an agent''s command still running its own cancellation');
SELECT concord_test.throws_rule(pg_temp.counter('other-room'), 'CN008', 'a_compensation_belongs_to_the_same_command',
                                'CN008: not the effect of a command outside the swarm');


-- the lead's booking is "countered" by a refund its compensation does not
-- declare; the parent's own by the declared unbook
SELECT is((SELECT concord.complete_effect((x ->> 'effect_id')::uuid, '{}')
           FROM concord.runtime_begin_effect(concord_test.id('sp'), concord_test.workflow_of('sp'), 'booking.refund',
                                             '{}', 'undo-lead-room', null, concord_test.id('lead-room')) AS x)
          || (SELECT concord.complete_effect((x ->> 'effect_id')::uuid, '{}')
              FROM concord.runtime_begin_effect(concord_test.id('sp'), concord_test.workflow_of('sp'), 'booking.unbook',
                                                '{}', 'undo-sp-own', null, concord_test.id('sp-own')) AS x)
          || concord.runtime_finish(concord_test.id('sp'), concord_test.workflow_of('sp'), 'compensated'),
          'succeededsucceededcompensated', 'fixture: the parent countered the rest and is compensated');
SELECT is(
    (SELECT array_agg(e.target_id || ':' || (e.payload ->> 'missing') || ':' || (e.payload ->> 'undeclared')
                      ORDER BY e.target_id)
     FROM concord.domain_events AS e
     WHERE e.command_id = concord_test.id('sp') AND e.event_type = 'compensation_drift'),
    ARRAY[concord_test.id('lead-room') || ':["booking.unbook"]:["booking.refund"]'],
    'the agent''s effect its compensation did not counter as declared drifted: one audit row on the parent, naming it'
);
SELECT is(
    (SELECT count(*) FROM concord.notifications AS n
     WHERE n.command_id = concord_test.id('sp') AND n.metadata ->> 'kind' = 'compensation_drift'
       AND n.recipient = (SELECT c.requested_by FROM concord.commands AS c WHERE c.command_id = concord_test.id('sp'))
       AND n.metadata ->> 'effect_id' = concord_test.id('lead-room')::text),
    1::bigint,
    'and the parent''s owner (its requester: the agent requested the booking) is notified'
);

SELECT * FROM finish();
ROLLBACK;
