-- Cancellation (spec 30): a command that has not started is cancelled at once;
-- a running one moves to cancelling with the request (who, when, mode)
-- recorded; graceful never compensates; compensate_then_stop goes through
-- compensating -> compensated -> cancelled; cancelling an ended command is a
-- no-op; cancellation propagates to dependents (spec 13.4).
BEGIN;
SELECT plan(39);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_cancel", "sync_allowed": true}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_cancel_ctc", "sync_allowed": true, "default_cancellation_mode": "compensate_then_stop"}');
END $$;

-- ---------------------------------------------------------------------------
-- Not started: cancelled at once
-- ---------------------------------------------------------------------------
CREATE FUNCTION pg_temp.not_started_not_cancelled()
RETURNS SETOF text
LANGUAGE plpgsql
AS $$
DECLARE
    s text;
    got text;
BEGIN
    FOREACH s IN ARRAY ARRAY['created', 'validated', 'waiting_for_input', 'waiting_for_approval',
                             'approved', 'queued'] LOOP
        got := concord.cancel_command(concord_test.command_at('t_cancel', s, 'not_started_' || s),
                                      'operator', 'not needed');
        IF got IS DISTINCT FROM 'cancelled' OR concord_test.status('not_started_' || s) <> 'cancelled' THEN
            RETURN NEXT format('%s: cancel_command returned %s, row is %s', s, got,
                               concord_test.status('not_started_' || s));
        END IF;
    END LOOP;
END
$$;

SELECT is_empty(
    'SELECT * FROM pg_temp.not_started_not_cancelled()',
    'a command that has not started (created, validated, waiting, approved, queued) is cancelled at once'
);

SELECT row_eq(
    $$SELECT cancellation_requested_by, cancellation_requested_at IS NOT NULL, completed_at IS NOT NULL
      FROM concord.commands WHERE command_id = concord_test.id('not_started_queued')$$,
    ROW('operator'::text, true, true),
    'an immediate cancellation records who asked and when, and completes the command'
);

SELECT row_eq(
    $$SELECT from_status, to_status, actor, reason FROM concord.domain_events
      WHERE command_id = concord_test.id('not_started_queued') ORDER BY event_seq DESC LIMIT 1$$,
    ROW('queued'::text, 'cancelled'::text, 'operator'::text, 'not needed'::text),
    'the immediate cancellation is audited queued -> cancelled with actor and reason'
);

-- ---------------------------------------------------------------------------
-- Running: cancelling, request recorded
-- ---------------------------------------------------------------------------
SELECT concord_test.command_at('t_cancel', 'running', 'graceful') IS NOT NULL AS fixture \gset

SELECT is(
    concord.cancel_command(concord_test.id('graceful'), 'operator', 'stop please'),
    'cancelling',
    'cancel_command of a running command returns cancelling'
);

SELECT row_eq(
    $$SELECT status, cancellation_mode, cancellation_requested_by, cancellation_requested_at IS NOT NULL,
             completed_at IS NULL
      FROM concord.commands WHERE command_id = concord_test.id('graceful')$$,
    ROW('cancelling'::text, 'graceful'::text, 'operator'::text, true, true),
    'the running command is cancelling with cancellation_requested_at/by set, mode graceful, not completed'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord_test.move_as_run(%L, 'compensating', 'worker')$$, concord_test.id('graceful')),
    'CN001', 'graceful_cancellation_does_not_compensate',
    'CN001: graceful cancellation cannot go cancelling -> compensating (transition_command)'
);

SELECT throws_ok(
    format($$UPDATE concord.commands SET status = 'compensating' WHERE command_id = %L$$,
           concord_test.id('graceful')),
    'CN001', NULL,
    'CN001: graceful cancellation cannot go cancelling -> compensating (direct UPDATE)'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.cancel_command(%L, 'someone_else', 'again', 'compensate_then_stop')$$,
           concord_test.id('graceful')),
    'CN011', 'a_cancellation_keeps_its_mode',
    'CN011: a second cancellation cannot switch the mode of the first'
);

SELECT is(
    concord.cancel_command(concord_test.id('graceful'), 'someone_else', 'again'),
    'cancelling',
    'cancelling a command that is already cancelling returns cancelling'
);

SELECT row_eq(
    $$SELECT cancellation_mode, cancellation_requested_by FROM concord.commands
      WHERE command_id = concord_test.id('graceful')$$,
    ROW('graceful'::text, 'operator'::text),
    'a second cancel_command changes neither the mode nor who asked first'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET cancellation_mode = 'compensate_then_stop' WHERE command_id = %L$$,
           concord_test.id('graceful')),
    'CN007', 'a_cancellation_request_is_immutable',
    'CN007: a cancellation request and its mode cannot be rewritten once made'
);

SELECT is(
    concord_test.move_as_run(concord_test.id('graceful'), 'cancelled', 'worker', 'step finished'),
    'cancelled',
    'graceful: cancelling -> cancelled'
);

SELECT is(
    (SELECT array_agg(e.from_status || '>' || e.to_status ORDER BY e.event_seq)
     FROM concord.domain_events AS e
     WHERE e.command_id = concord_test.id('graceful') AND e.event_type = 'command_status_changed'),
    ARRAY['created>validated', 'validated>queued', 'queued>running', 'running>cancelling', 'cancelling>cancelled'],
    'graceful cancellation path: running -> cancelling -> cancelled'
);

-- ---------------------------------------------------------------------------
-- compensate_then_stop
-- ---------------------------------------------------------------------------
SELECT concord_test.command_at('t_cancel', 'running', 'ctc') IS NOT NULL AS fixture \gset

SELECT is(
    concord.cancel_command(concord_test.id('ctc'), 'operator', 'undo it all', 'compensate_then_stop'),
    'cancelling',
    'cancel_command with mode compensate_then_stop of a running command returns cancelling'
);

SELECT is(
    (SELECT cancellation_mode FROM concord.commands WHERE command_id = concord_test.id('ctc')),
    'compensate_then_stop',
    'the requested mode is recorded on the command'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord_test.move_as_run(%L, 'cancelled', 'worker')$$, concord_test.id('ctc')),
    'CN001', 'compensate_then_stop_compensates_before_cancelled',
    'CN001: compensate_then_stop cannot go cancelling -> cancelled without compensating'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET status = 'cancelled' WHERE command_id = %L$$, concord_test.id('ctc')),
    'CN001', 'compensate_then_stop_compensates_before_cancelled',
    'CN001: compensate_then_stop cannot skip compensation with a direct UPDATE either'
);

SELECT is(
    concord_test.move_as_run(concord_test.id('ctc'), 'compensating', 'worker'),
    'compensating',
    'compensate_then_stop: cancelling -> compensating'
);

SELECT is(
    concord.cancel_command(concord_test.id('ctc'), 'operator'),
    'compensating',
    'cancelling a command that is compensating for a cancellation is a no-op'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord_test.move_as_run(%L, 'cancelled', 'worker')$$, concord_test.id('ctc')),
    'CN001', 'a_status_change_follows_the_state_machine',
    'CN001: compensating -> cancelled skips compensated'
);

SELECT is(
    concord_test.move_as_run(concord_test.id('ctc'), 'compensated', 'worker'),
    'compensated',
    'compensate_then_stop: compensating -> compensated'
);

SELECT is(
    concord_test.move_as_run(concord_test.id('ctc'), 'cancelled', 'worker'),
    'cancelled',
    'compensate_then_stop: compensated -> cancelled'
);

SELECT is(
    (SELECT array_agg(e.to_status ORDER BY e.event_seq)
     FROM concord.domain_events AS e
     WHERE e.command_id = concord_test.id('ctc') AND e.event_type = 'command_status_changed'
       AND e.event_seq > (SELECT min(x.event_seq) FROM concord.domain_events AS x
                          WHERE x.command_id = concord_test.id('ctc') AND x.to_status = 'running')),
    ARRAY['cancelling', 'compensating', 'compensated', 'cancelled'],
    'compensate_then_stop path: running -> cancelling -> compensating -> compensated -> cancelled'
);

SELECT concord_test.command_at('t_cancel_ctc', 'running', 'ctc_default') IS NOT NULL AS fixture \gset
SELECT concord.cancel_command(concord_test.id('ctc_default'), 'operator') AS fixture \gset

SELECT concord_test.throws_rule(
    format($$SELECT concord_test.move_as_run(%L, 'cancelled', 'worker')$$, concord_test.id('ctc_default')),
    'CN001', 'compensate_then_stop_compensates_before_cancelled',
    'CN001: a type whose default mode is compensate_then_stop must compensate before cancelled'
);

-- A compensation after a failure is not a cancellation: compensated is final for it.
SELECT concord_test.command_at('t_cancel', 'compensated', 'failed_compensated') IS NOT NULL AS fixture \gset

SELECT concord_test.throws_rule(
    format($$SELECT concord_test.move_as_run(%L, 'cancelled', 'worker')$$,
           concord_test.id('failed_compensated')),
    'CN001', 'compensation_after_a_failure_is_final',
    'CN001: compensated -> cancelled is refused when no cancellation was requested'
);

-- ---------------------------------------------------------------------------
-- Ended commands: no-op
-- ---------------------------------------------------------------------------
SELECT concord_test.command_at('t_cancel', 'succeeded', 'done') IS NOT NULL AS fixture \gset
SELECT concord_test.command_at('t_cancel', 'expired', 'expired') IS NOT NULL AS fixture \gset
CREATE TEMP TABLE before AS
SELECT (SELECT count(*) FROM concord.domain_events) AS events,
       (SELECT row(c.*)::text FROM concord.commands AS c WHERE c.command_id = concord_test.id('done')) AS done_row;

SELECT is(
    concord.cancel_command(concord_test.id('done'), 'operator', 'too late', 'compensate_then_stop'),
    'succeeded',
    'cancelling a succeeded command is a no-op returning succeeded'
);

SELECT is(
    concord.cancel_command(concord_test.id('expired'), 'operator'),
    'expired',
    'cancelling an expired command is a no-op returning expired'
);

SELECT is(
    concord.cancel_command(concord_test.id('graceful'), 'operator'),
    'cancelled',
    'cancelling a cancelled command is a no-op returning cancelled'
);

SELECT row_eq(
    $$SELECT (SELECT count(*) FROM concord.domain_events),
             (SELECT row(c.*)::text FROM concord.commands AS c WHERE c.command_id = concord_test.id('done'))$$,
    (SELECT ROW(events, done_row) FROM before),
    'a no-op cancellation changes no row and writes no event'
);

SELECT is(
    concord.cancel_command(concord_test.id('failed_compensated'), 'operator'),
    'compensated',
    'cancelling a command compensated after a failure is a no-op'
);

-- ---------------------------------------------------------------------------
-- Propagation to dependents (spec 13.4, 30)
-- ---------------------------------------------------------------------------
SELECT concord_test.command_at('t_cancel', 'queued', 'parent') IS NOT NULL AS fixture \gset
SELECT concord_test.command_at('t_cancel', 'queued', 'child_propagate') IS NOT NULL AS fixture \gset
SELECT concord_test.command_at('t_cancel', 'queued', 'child_keep') IS NOT NULL AS fixture \gset
SELECT concord.add_dependency(concord_test.id('child_propagate'), concord_test.id('parent'))
       IS NULL AS fixture \gset
SELECT concord.add_dependency(concord_test.id('child_keep'), concord_test.id('parent'),
                              propagate_cancellation => false) IS NULL AS fixture \gset

SELECT is(
    concord.cancel_command(concord_test.id('parent'), 'operator', 'plan changed'),
    'cancelled',
    'fixture: the queued parent is cancelled'
);

SELECT is(
    concord_test.status('child_propagate'),
    'cancelled',
    'cancelling a parent cancels a dependent whose edge propagates cancellation'
);

SELECT row_eq(
    $$SELECT status, error_class FROM concord.commands WHERE command_id = concord_test.id('child_keep')$$,
    ROW('failed'::text, 'dependency_failed'::text),
    'a dependent whose edge does not propagate cancellation fails with dependency_failed'
);

SELECT row_eq(
    $$SELECT actor, from_status, to_status FROM concord.domain_events
      WHERE command_id = concord_test.id('child_propagate') ORDER BY event_seq DESC LIMIT 1$$,
    ROW('operator'::text, 'queued'::text, 'cancelled'::text),
    'the propagated cancellation is audited on the child, attributed to who cancelled the parent'
);

SELECT concord_test.command_at('t_cancel', 'running', 'running_parent') IS NOT NULL AS fixture \gset
SELECT concord_test.command_at('t_cancel', 'queued', 'waiting_child') IS NOT NULL AS fixture \gset
SELECT concord.add_dependency(concord_test.id('waiting_child'), concord_test.id('running_parent'))
       IS NULL AS fixture \gset
SELECT concord.cancel_command(concord_test.id('running_parent'), 'operator') AS fixture \gset

SELECT is(
    concord_test.status('waiting_child'),
    'cancelled',
    'a parent that starts cancelling can no longer succeed: its propagating dependent is cancelled'
);

-- ---------------------------------------------------------------------------
-- Arguments
-- ---------------------------------------------------------------------------
SELECT concord_test.command_at('t_cancel', 'running', 'args') IS NOT NULL AS fixture \gset

SELECT concord_test.throws_rule(
    format($$SELECT concord.cancel_command(%L, 'operator', NULL, 'immediate')$$, concord_test.id('args')),
    'CN008', 'cancellation_mode_is_graceful_or_compensate_then_stop',
    'CN008: an unknown cancellation mode (immediate is reserved)'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.cancel_command(%L, '')$$, concord_test.id('args')),
    'CN008', 'required_argument_is_not_blank',
    'CN008: cancel_command with a blank actor'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.cancel_command('00000000-0000-0000-0000-000000000000', 'operator')$$,
    'CN006', 'the_command_exists',
    'CN006: cancel_command of an unknown command'
);

SELECT is(
    concord_test.status('args'),
    'running',
    'refused cancellations leave the command running'
);

SELECT * FROM finish();
ROLLBACK;
