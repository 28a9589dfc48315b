-- The worker's steps (runtime_claim, runtime_begin_effect, runtime_finish)
-- are idempotent on replay and act only for the workflow that runs the
-- command (only_the_current_workflow_acts_for_its_command); their arguments
-- are checked.
BEGIN;
SELECT plan(43);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

SELECT is(concord_test.submit('p', 'rt_async'), 'queued', 'fixture: p queued');
SELECT is(
    (concord_test.claim('p') ->> 'action') || concord.runtime_finish(concord_test.id('p'), concord_test.workflow_of('p'), 'succeeded'),
    'runsucceeded',
    'fixture: p ran and succeeded'
);

SELECT lives_ok(
    $$SELECT concord_test.submit('p5', 'rt_async');
      SELECT concord_test.command_at('rt_async', 'validated', 'c5');
      SELECT concord.add_dependency(concord_test.id('c5'), concord_test.id('p5'));
      SELECT concord.transition_command(concord_test.id('c5'), 'queued', 'op')$$,
    'fixture: c5 is queued, unbound, waiting for p5'
);

-- ===========================================================================
-- 6. runtime_claim
-- ===========================================================================
SELECT is(concord_test.submit('cl', 'rt_async'), 'queued', 'fixture: cl queued');

CREATE TEMP TABLE cl_before AS
SELECT (SELECT count(*) FROM concord.domain_events WHERE command_id = concord_test.id('cl')) AS events,
       (SELECT updated_at FROM concord.commands WHERE command_id = concord_test.id('cl')) AS updated_at;

SELECT is(
    concord.runtime_claim(concord_test.id('cl'), 'someone-else', 'ex1'),
    jsonb_build_object('action', 'stale', 'status', 'queued', 'current_workflow_id', concord_test.workflow_of('cl')),
    'a workflow that is not the command''s current one gets stale (with the current workflow)'
);

SELECT row_eq(
    format($$SELECT status, (SELECT count(*) FROM concord.domain_events WHERE command_id = %1$L), updated_at
             FROM concord.commands WHERE command_id = %1$L$$, concord_test.id('cl')),
    (SELECT ROW('queued'::text, events, updated_at) FROM cl_before),
    'a stale claim changes nothing'
);

SELECT is(
    (concord_test.claim('cl', 1, 'ex7') -> 'command') - 'trace_id',
    jsonb_build_object('command_id', concord_test.id('cl'), 'command_type', 'rt_async', 'status', 'running',
                       'payload', '{}'::jsonb, 'context', '{}'::jsonb, 'requested_by', 'req',
                       'idempotency_key', null, 'cancellation_mode', 'graceful',
                       'cancellation_requested', false, 'run_seq', 1, 'attempts', 1, 'workflow_id', concord_test.workflow_of('cl')),
    'the claim answers with the command, now running'
);

SELECT row_eq(
    format($$SELECT actor, from_status, to_status FROM concord.domain_events
             WHERE command_id = %L AND event_type = 'command_status_changed' AND to_status = 'running'$$,
           concord_test.id('cl')),
    ROW('worker:ex7'::text, 'queued'::text, 'running'::text),
    'queued -> running is audited under worker:<executor>'
);

SELECT is(
    (concord_test.claim('cl', 1, 'ex8') ->> 'action')
    || (SELECT count(*) FROM concord.domain_events
        WHERE command_id = concord_test.id('cl') AND event_type = 'command_status_changed' AND to_status = 'running'),
    'run1',
    'a replayed claim answers run again and writes no second transition'
);

SELECT is(concord_test.claim('p') ->> 'action', 'skip', 'a terminal command''s workflow is told to skip');

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_claim(%L, %L, ' ')$$, concord_test.id('cl'), concord_test.workflow_of('cl')),
    'CN008', 'required_argument_is_not_blank',
    'CN008: a blank executor_id'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_claim(%L, null, 'ex1')$$, concord_test.id('cl')),
    'CN008', 'required_argument_is_not_blank',
    'CN008: a missing workflow_id'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.runtime_claim(gen_random_uuid(), 'wf', 'ex1')$$,
    'CN006', 'the_command_exists',
    'CN006: an unknown command'
);

-- ===========================================================================
-- 7. runtime_begin_effect
-- ===========================================================================
SELECT is(concord_test.submit('e', 'rt_async'), 'queued', 'fixture: e queued');

SELECT is(concord_test.claim('e') ->> 'action', 'run', 'fixture: e is running');

DO $$ BEGIN
    PERFORM concord_test.remember(
        'e_eff',
        (concord.runtime_begin_effect(concord_test.id('e'), concord_test.workflow_of('e'), 'connector.x', '{"a": 1}', 'rt-e-1',
                                      'undo_x') ->> 'effect_id')::uuid);
END $$;

SELECT row_eq(
    $$SELECT status, executed_by_dbos_workflow_id, effect_type, effect_payload, declared_compensation
      FROM concord.domain_effects WHERE domain_effect_id = concord_test.id('e_eff')$$,
    ROW('executing'::text, concord_test.workflow_of('e'), 'connector.x'::text, '{"a": 1}'::jsonb, 'undo_x'::text),
    'runtime_begin_effect plans and starts the effect, executed by the command''s workflow'
);

SELECT is(
    concord.runtime_begin_effect(concord_test.id('e'), concord_test.workflow_of('e'), 'connector.x', '{"a": 1}', 'rt-e-1', 'undo_x')
    - 'result' - 'error' - 'error_class',
    jsonb_build_object('action', 'execute', 'effect_id', concord_test.id('e_eff'), 'status', 'executing',
                       'effect_type', 'connector.x', 'idempotency_key', 'rt-e-1', 'connector_key', 'rt-e-1'),
    'a replay with the same key returns the same effect and action execute'
);

SELECT is(
    (SELECT count(*) FROM concord.domain_effects WHERE command_id = concord_test.id('e')),
    1::bigint,
    'the replay made no second effect'
);

SELECT is(
    concord.complete_effect(concord_test.id('e_eff'), '{"sent": true}')
    || (concord.runtime_begin_effect(concord_test.id('e'), concord_test.workflow_of('e'), 'connector.x', '{"a": 1}', 'rt-e-1',
                                     'undo_x') - 'effect_type' - 'idempotency_key' - 'error' - 'error_class')::text,
    'succeeded' || jsonb_build_object('action', 'done', 'effect_id', concord_test.id('e_eff'), 'status', 'succeeded',
                                      'result', '{"sent": true}'::jsonb, 'connector_key', 'rt-e-1')::text,
    'once completed, a replay answers done with the result'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_begin_effect(%L, %L, 'connector.x', '{"a": 2}', 'rt-e-1', 'undo_x')$$,
           concord_test.id('e'), concord_test.workflow_of('e')),
    'CN002', 'an_effect_idempotency_key_names_one_effect',
    'CN002: the same key with a different payload'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_begin_effect(%L, %L, 'connector.x', '{"a": 1}', 'rt-e-1', 'undo_y')$$,
           concord_test.id('e'), concord_test.workflow_of('e')),
    'CN002', 'an_effect_idempotency_key_names_one_effect',
    'CN002: the same key with a different declared compensation'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_begin_effect(%L, %L, 'connector.x', '{"a": 1}', 'rt-e-1', 'undo_x')$$,
           concord_test.id('cl'), concord_test.workflow_of('cl')),
    'CN002', 'an_effect_idempotency_key_names_one_effect',
    'CN002: another command''s workflow using the key of e''s effect'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_begin_effect(%L, 'not-my-workflow', 'connector.x', '{}', 'rt-e-2')$$,
           concord_test.id('e')),
    'CN011', 'only_the_current_workflow_acts_for_its_command',
    'CN011: a workflow that does not run the command'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_begin_effect(%L, %L, 'connector.x', '{}', 'rt-e-2')$$,
           concord_test.id('c5'), concord_test.id('c5')),
    'CN011', 'only_the_current_workflow_acts_for_its_command',
    'CN011: a command waiting unbound for a dependency has no workflow to act for it'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_begin_effect(%L, %L, 'connector.x', '{}', 'rt-e-2')$$,
           concord_test.id('p5'), concord_test.workflow_of('p5')),
    'CN011', 'only_a_running_command_starts_effects',
    'CN011: a queued command (not claimed) starts no effect'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_begin_effect(%L, %L, 'undo_x', '{}', 'rt-e-comp', null, %L)$$,
           concord_test.id('e'), concord_test.workflow_of('e'), concord_test.id('e_eff')),
    'CN011', 'compensations_run_only_while_compensating',
    'CN011: a compensation is refused while the command is running (not compensating)'
);

SELECT is(concord.cancel_command(concord_test.id('e'), 'ann'), 'cancelling', 'fixture: e is being cancelled');

SELECT is(
    concord.runtime_begin_effect(concord_test.id('e'), concord_test.workflow_of('e'), 'connector.x', '{}', 'rt-e-3'),
    '{"action": "cancelled", "mode": "graceful", "status": "cancelling"}'::jsonb,
    'after cancel_command, a new effect is answered cancelled'
);

SELECT is(
    (SELECT count(*) FROM concord.domain_effects WHERE idempotency_key = 'rt-e-3'),
    0::bigint,
    'and no effect row is created'
);

-- Compensations run while compensating.
SELECT is(concord_test.submit('k', 'rt_comp'), 'queued', 'fixture: k (compensate_then_stop) queued');

SELECT is(concord_test.claim('k') ->> 'action', 'run', 'fixture: k is running');

DO $$ BEGIN
    PERFORM concord_test.remember(
        'k_eff',
        (concord.runtime_begin_effect(concord_test.id('k'), concord_test.workflow_of('k'), 'connector.x', '{"a": 1}', 'rt-k-1',
                                      'undo_x') ->> 'effect_id')::uuid);
END $$;

SELECT is(
    concord.complete_effect(concord_test.id('k_eff'), '{}') || concord.cancel_command(concord_test.id('k'), 'ann')
    || concord.runtime_finish(concord_test.id('k'), concord_test.workflow_of('k'), 'compensating'),
    'succeededcancellingcompensating',
    'fixture: k''s effect succeeded, k was cancelled and its workflow moved it to compensating'
);

SELECT is(
    concord.runtime_begin_effect(concord_test.id('k'), concord_test.workflow_of('k'), 'undo_x', '{"a": 1}', 'rt-k-c1', null,
                                 concord_test.id('k_eff')) ->> 'action',
    'execute',
    'a compensation effect is accepted while the command is compensating'
);

SELECT row_eq(
    $$SELECT compensates_effect_id, status, executed_by_dbos_workflow_id FROM concord.domain_effects
      WHERE idempotency_key = 'rt-k-c1'$$,
    ROW(concord_test.id('k_eff'), 'executing'::text, concord_test.workflow_of('k')),
    'the compensation names the effect it counters and runs under the workflow'
);

SELECT is(
    concord.runtime_begin_effect(concord_test.id('k'), concord_test.workflow_of('k'), 'connector.y', '{}', 'rt-k-2') ->> 'action',
    'cancelled',
    'an ordinary effect while compensating a cancellation is answered cancelled'
);

-- ===========================================================================
-- 8. runtime_finish
-- ===========================================================================
SELECT is(concord_test.submit('f', 'rt_async') || concord_test.submit('f2', 'rt_async'), 'queuedqueued',
          'fixture: f and f2 queued');

SELECT is((concord_test.claim('f') ->> 'action') || (concord_test.claim('f2') ->> 'action'), 'runrun',
          'fixture: f and f2 are running');

SELECT is(
    concord.runtime_finish(concord_test.id('f'), concord_test.workflow_of('f'), 'succeeded', '{"n": 1}')
    || concord.runtime_finish(concord_test.id('f'), concord_test.workflow_of('f'), 'succeeded', '{"n": 1}'),
    'succeededsucceeded',
    'runtime_finish returns the status, and again on replay'
);

SELECT row_eq(
    format($$SELECT c.result, (SELECT count(*) FROM concord.domain_events AS e
                               WHERE e.command_id = c.command_id AND e.to_status = 'succeeded'),
                    (SELECT e.actor FROM concord.domain_events AS e
                     WHERE e.command_id = c.command_id AND e.to_status = 'succeeded')
             FROM concord.commands AS c WHERE c.command_id = %L$$, concord_test.id('f')),
    ROW('{"n": 1}'::jsonb, 1::bigint, 'workflow:' || concord_test.workflow_of('f')),
    'the result is stored and the transition audited once, under workflow:<id>'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_finish(%L, %L, 'done')$$, concord_test.id('f2'), concord_test.workflow_of('f2')),
    'CN008', 'command_status_is_known',
    'CN008: an unknown status'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_finish(%L, %L, 'succeeded')$$, concord_test.id('f2'), concord_test.workflow_of('f')),
    'CN011', 'only_the_current_workflow_acts_for_its_command',
    'CN011: another command''s workflow cannot finish it'
);

SELECT is(
    concord.runtime_finish(concord_test.id('f2'), concord_test.workflow_of('f2'), 'failed', null, 'boom', 'internal_error'),
    'failed',
    'runtime_finish to failed with an error and the runtime''s class internal_error'
);

SELECT row_eq(
    $$SELECT status, error, error_class FROM concord.commands WHERE command_id = concord_test.id('f2')$$,
    ROW('failed'::text, 'boom'::text, 'internal_error'::text),
    'the failure is recorded with its error and class'
);

SELECT * FROM finish();
ROLLBACK;
