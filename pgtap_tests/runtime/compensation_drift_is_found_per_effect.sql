-- The drift detector (spec 31.3) works per effect, in the database: when a
-- command becomes compensated (runtime_finish), each effect whose compensation
-- did not begin the counter-effect it declares, or began effects it does not
-- declare, gets its own compensation_drift audit row and a notification to
-- the command type's owner (metadata.owner, else the requester). A worker
-- cannot skip it; a replay adds nothing.
BEGIN;
SELECT plan(12);

DO $$ BEGIN
    PERFORM concord.register_command_type(
        '{"command_type": "dr_t", "default_cancellation_mode": "compensate_then_stop", "metadata": {"owner": "ops-lead"}}');
    PERFORM concord.register_command_type('{"command_type": "dr_u", "default_cancellation_mode": "compensate_then_stop"}');
    PERFORM concord.register_operations(
        '[{"command_type": "dr_t", "queue": "connector_calls", "function_name": "app.book", "produces": ["h.book"],
           "requires_compensation": true, "compensation": "undo_book"},
          {"command_type": "dr_u", "queue": "connector_calls", "function_name": "app.book_u", "produces": ["h.book"],
           "compensation": "undo_u"},
          {"name": "undo_book", "of": "dr_t", "function_name": "app.undo",
           "produces": [{"effect_type": "h.cancel", "inverse_of": "h.book"}]},
          {"name": "undo_u", "of": "dr_u", "function_name": "app.undo_u",
           "produces": [{"effect_type": "h.cancel", "inverse_of": "h.book"}]}]', 'ex1', 'v1');
END $$;

-- An effect of the command remembered as label, succeeded; remembered as key.
CREATE FUNCTION pg_temp.booked(label text, key text, compensation text)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    id uuid := (concord.runtime_begin_effect(concord_test.id(label), concord_test.workflow_of(label), 'h.book', '{}',
                                             key, compensation) ->> 'effect_id')::uuid;
BEGIN
    PERFORM concord.complete_effect(id, '{}');
    RETURN concord_test.remember(key, id);
END
$$;

-- A compensation's effect of type effect_type for the effect remembered as of, succeeded.
CREATE FUNCTION pg_temp.countered(label text, of text, effect_type text, key text)
RETURNS text
LANGUAGE sql
AS $$
    SELECT concord.complete_effect(
        (concord.runtime_begin_effect(concord_test.id(label), concord_test.workflow_of(label), effect_type, '{}', key,
                                      null, concord_test.id(of)) ->> 'effect_id')::uuid, '{}')
$$;

CREATE FUNCTION pg_temp.drift(label text)
RETURNS TABLE (effect text, missing jsonb, undeclared jsonb, no_counter_effect boolean, notified text)
LANGUAGE sql
AS $$
    SELECT e.target_id, e.payload -> 'missing', e.payload -> 'undeclared', (e.payload ->> 'no_counter_effect')::boolean,
           e.payload ->> 'notified'
    FROM concord.domain_events AS e
    WHERE e.command_id = concord_test.id(label) AND e.event_type = 'compensation_drift'
    ORDER BY e.target_id
$$;

SELECT is(concord_test.submit('d', 'dr_t'), 'queued', 'fixture: d queued');
SELECT is(concord_test.claim('d') ->> 'action', 'run', 'fixture: d is running');
SELECT ok(pg_temp.booked('d', 'd-1', 'undo_book') IS NOT NULL AND pg_temp.booked('d', 'd-2', 'undo_book') IS NOT NULL
          AND pg_temp.booked('d', 'd-3', 'undo_book') IS NOT NULL,
          'fixture: d booked three rooms, each compensated by undo_book');
SELECT is(concord.cancel_command(concord_test.id('d'), 'ann')
          || concord.runtime_finish(concord_test.id('d'), concord_test.workflow_of('d'), 'compensating'),
          'cancellingcompensating', 'fixture: d is compensating');
SELECT is(pg_temp.countered('d', 'd-1', 'h.cancel', 'd-1-undo') || pg_temp.countered('d', 'd-2', 'h.refund', 'd-2-undo'),
          'succeededsucceeded',
          'fixture: d-1 is cancelled as declared; d-2''s compensation refunds instead; d-3''s does nothing');
SELECT is(concord.runtime_finish(concord_test.id('d'), concord_test.workflow_of('d'), 'compensated'), 'compensated',
          'd ends compensated');

SELECT is(
    (SELECT array_agg(effect ORDER BY effect) FROM pg_temp.drift('d')),
    ARRAY(SELECT x::text FROM unnest(ARRAY[concord_test.id('d-2'), concord_test.id('d-3')]) AS x ORDER BY 1),
    'one compensation_drift row per drifting effect (d-2, d-3), none for d-1, countered as declared'
);
SELECT is(
    (SELECT jsonb_agg(jsonb_build_array(missing, undeclared, no_counter_effect, notified) ORDER BY effect = concord_test.id('d-3')::text)
     FROM pg_temp.drift('d')),
    '[[["h.cancel"], ["h.refund"], true, "ops-lead"], [["h.cancel"], [], true, "ops-lead"]]'::jsonb,
    'each row says which counter-effect is missing and what was begun undeclared'
);
SELECT is(
    (SELECT count(*) FROM concord.notifications AS n
     WHERE n.command_id = concord_test.id('d') AND n.recipient = 'ops-lead' AND n.metadata ->> 'kind' = 'compensation_drift'),
    2::bigint,
    'the command type''s owner is notified of each drifting effect'
);
SELECT is(
    concord.runtime_finish(concord_test.id('d'), concord_test.workflow_of('d'), 'compensated')
    || (SELECT count(*) FROM pg_temp.drift('d')),
    'compensated2',
    'a replay of the step adds no row'
);

-- a type with no owner recorded: the requester is told
SELECT concord_test.submit('u', 'dr_u') AS fixture \gset
SELECT concord_test.claim('u') AS fixture \gset
SELECT pg_temp.booked('u', 'u-1', 'undo_u') AS fixture \gset
SELECT concord.cancel_command(concord_test.id('u'), 'ann') AS fixture \gset
SELECT is(concord.runtime_finish(concord_test.id('u'), concord_test.workflow_of('u'), 'compensating')
          || concord.runtime_finish(concord_test.id('u'), concord_test.workflow_of('u'), 'compensated'),
          'compensatingcompensated',
          'fixture: u''s compensation countered nothing');
SELECT is(
    (SELECT array_agg(n.recipient) FROM concord.notifications AS n WHERE n.command_id = concord_test.id('u')),
    ARRAY['req'],
    'without an owner on the type, the requester is notified'
);

SELECT * FROM finish();
ROLLBACK;
