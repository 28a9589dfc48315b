-- runtime_compensations lists the succeeded effects with a declared
-- compensation, newest first, until a compensation counters them;
-- runtime_audit writes the runtime's own event types once per replay, for the
-- current workflow only (runtime_event_type_is_known).
BEGIN;
SELECT plan(13);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

-- ===========================================================================
-- 9. runtime_compensations
-- ===========================================================================
SELECT is(concord_test.submit('m', 'rt_comp'), 'queued', 'fixture: m (compensate_then_stop) queued');

SELECT is(concord_test.claim('m') ->> 'action', 'run', 'fixture: m is running');

CREATE FUNCTION pg_temp.m_effect(key text, declared text, outcome text)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    id uuid := (concord.runtime_begin_effect(concord_test.id('m'), concord_test.workflow_of('m'), 'connector.x',
                                             jsonb_build_object('key', key), key, declared) ->> 'effect_id')::uuid;
BEGIN
    IF outcome = 'succeeded' THEN
        PERFORM concord.complete_effect(id, jsonb_build_object('done', key));
    ELSIF outcome = 'failed' THEN
        PERFORM concord.fail_effect(id, 'no', 'timeout');
    END IF;
    RETURN concord_test.remember(key, id);
END
$$;

SELECT ok(
    pg_temp.m_effect('m-old', 'undo', 'succeeded') IS NOT NULL
    AND pg_temp.m_effect('m-new', 'undo', 'succeeded') IS NOT NULL
    AND pg_temp.m_effect('m-plain', null, 'succeeded') IS NOT NULL
    AND pg_temp.m_effect('m-failed', 'undo', 'failed') IS NOT NULL
    AND pg_temp.m_effect('m-open', 'undo', 'executing') IS NOT NULL,
    'fixture: m has two succeeded effects with a compensation, one without, one failed, one executing'
);

-- One transaction stamps every completion alike: tell them apart (triggers off).
DO $$ BEGIN
    PERFORM set_config('session_replication_role', 'replica', true);
    UPDATE concord.domain_effects SET completed_at = now() - interval '2 minutes'
    WHERE domain_effect_id = concord_test.id('m-old');
    UPDATE concord.domain_effects SET completed_at = now() - interval '1 minute'
    WHERE domain_effect_id = concord_test.id('m-new');
    PERFORM set_config('session_replication_role', 'origin', true);
END $$;

SELECT is(
    concord.runtime_compensations(concord_test.id('m')),
    jsonb_build_array(
        jsonb_build_object('effect_id', concord_test.id('m-new'), 'command_id', concord_test.id('m'),
                           'effect_type', 'connector.x',
                           'payload', '{"key": "m-new"}'::jsonb, 'result', '{"done": "m-new"}'::jsonb,
                           'idempotency_key', 'm-new', 'declared_compensation', 'undo'),
        jsonb_build_object('effect_id', concord_test.id('m-old'), 'command_id', concord_test.id('m'),
                           'effect_type', 'connector.x',
                           'payload', '{"key": "m-old"}'::jsonb, 'result', '{"done": "m-old"}'::jsonb,
                           'idempotency_key', 'm-old', 'declared_compensation', 'undo')),
    'runtime_compensations lists the succeeded effects with a declared compensation, newest first'
);

SELECT is(
    concord.cancel_command(concord_test.id('m'), 'ann')
    || concord.runtime_finish(concord_test.id('m'), concord_test.workflow_of('m'), 'compensating'),
    'cancellingcompensating',
    'fixture: m is compensating'
);

CREATE FUNCTION pg_temp.m_compensate(label text, key text, outcome text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    id uuid := (concord.runtime_begin_effect(concord_test.id('m'), concord_test.workflow_of('m'), 'undo', '{}', key, null,
                                             concord_test.id(label)) ->> 'effect_id')::uuid;
BEGIN
    IF outcome = 'succeeded' THEN
        RETURN concord.complete_effect(id, '{}');
    END IF;
    RETURN concord.fail_effect(id, 'no', 'timeout');
END
$$;

SELECT is(
    pg_temp.m_compensate('m-new', 'm-new-undo', 'succeeded') || pg_temp.m_compensate('m-old', 'm-old-undo', 'failed'),
    'succeededfailed',
    'fixture: m-new is countered by a succeeded compensation, m-old''s compensation failed'
);

SELECT is(
    (SELECT array_agg(x ->> 'effect_id' ORDER BY n)
     FROM jsonb_array_elements(concord.runtime_compensations(concord_test.id('m'))) WITH ORDINALITY AS a (x, n)),
    ARRAY[concord_test.id('m-old')::text],
    'an effect countered by a succeeded compensation is no longer listed; one whose compensation failed still is'
);

-- ===========================================================================
-- 10. runtime_audit
-- ===========================================================================
SELECT lives_ok(
    format($$SELECT concord.runtime_audit(%1$L, %2$L, t, '{"step": 1}')
             FROM unnest(ARRAY['compensation_started', 'compensation_completed', 'compensation_drift',
                               'compensation_halted', 'operation_cancelled']) AS t$$,
           concord_test.id('m'), concord_test.workflow_of('m')),
    'runtime_audit writes each of the runtime''s event types'
);

SELECT lives_ok(
    format($$SELECT concord.runtime_audit(%L, %L, 'compensation_started', '{"step": 1}')$$,
           concord_test.id('m'), concord_test.workflow_of('m')),
    'a replayed runtime_audit is accepted'
);

SELECT row_eq(
    format($$SELECT count(*), min(actor), min(target_id) FROM concord.domain_events
             WHERE command_id = %L AND event_type = 'compensation_started'$$, concord_test.id('m')),
    ROW(1::bigint, 'workflow:' || concord_test.workflow_of('m'), concord_test.id('m')::text),
    'the replay wrote nothing more: one row, under workflow:<id>'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_audit(%L, %L, 'command_status_changed', '{}')$$,
           concord_test.id('m'), concord_test.workflow_of('m')),
    'CN008', 'runtime_event_type_is_known',
    'CN008: runtime_audit refuses an event type it does not own (command_status_changed)'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_audit(%L, %L, null, '{}')$$, concord_test.id('m'), concord_test.workflow_of('m')),
    'CN008', 'runtime_event_type_is_known',
    'CN008: runtime_audit refuses a missing event type'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_audit(%L, 'not-my-workflow', 'compensation_started', '{}')$$,
           concord_test.id('m')),
    'CN011', 'only_the_current_workflow_acts_for_its_command',
    'CN011: runtime_audit for a command the workflow does not run'
);

SELECT * FROM finish();
ROLLBACK;
