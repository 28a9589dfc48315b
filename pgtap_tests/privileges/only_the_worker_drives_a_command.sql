-- Only the worker drives a command, and only for the run it owns
-- (only_the_current_run_drives_a_command, only_the_current_run_drives_its_effects):
-- moving it into running, recording its outcome, walking its cancellation,
-- planning, starting and finishing its effects. concord_app may not call
-- transition_command or an effect function; concord_admin keeps
-- transition_command for an operator's moves, which the guard holds to them;
-- a run the command no longer has is refused; no session setting names a run.
BEGIN;
SELECT plan(20);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

-- ---------------------------------------------------------------------------
-- Grants
-- ---------------------------------------------------------------------------
SELECT is_empty(
    $$SELECT f FROM unnest(ARRAY[
          'concord.transition_command(uuid, text, text, text, jsonb, text, text)',
          'concord.plan_effect(uuid, text, jsonb, text, text, uuid)', 'concord.start_effect(uuid, text)',
          'concord.complete_effect(uuid, jsonb)', 'concord.fail_effect(uuid, text, text)']) AS f
      WHERE has_function_privilege('concord_app', f::regprocedure, 'EXECUTE')$$,
    'concord_app may call neither transition_command nor an effect function'
);

SELECT is_empty(
    $$SELECT f FROM unnest(ARRAY[
          'concord.runtime_claim(uuid, text, text)', 'concord.runtime_finish(uuid, text, text, jsonb, text, text, text)',
          'concord.runtime_begin_effect(uuid, text, text, jsonb, text, text, uuid)',
          'concord.runtime_audit(uuid, text, text, jsonb)', 'concord.runtime_workflow_cancelled(uuid, text, text)',
          'concord.runtime_agentic_command(uuid, text)', 'concord.plan_effect(uuid, text, jsonb, text, text, uuid)',
          'concord.start_effect(uuid, text)', 'concord.complete_effect(uuid, jsonb)',
          'concord.fail_effect(uuid, text, text)']) AS f
      WHERE has_function_privilege('concord_admin', f::regprocedure, 'EXECUTE')$$,
    'concord_admin may call none of the functions that drive a run (a workflow id is no secret)'
);

SELECT ok(
    has_function_privilege('concord_admin', 'concord.transition_command(uuid, text, text, text, jsonb, text, text)',
                           'EXECUTE')
    AND has_function_privilege('concord_worker', 'concord.runtime_claim(uuid, text, text)', 'EXECUTE')
    AND has_function_privilege('concord_worker', 'concord.complete_effect(uuid, jsonb)', 'EXECUTE'),
    'concord_admin keeps transition_command; concord_worker claims runs and finishes effects'
);

SELECT concord_test.submit('q', 'rt_async') AS fixture \gset

SELECT is(
    concord_test.outcome_as('concord_app',
        format($$SELECT concord.transition_command(%L, 'running', 'app')$$, concord_test.id('q'))),
    '42501',
    '42501: concord_app cannot call transition_command'
);

-- ---------------------------------------------------------------------------
-- The guard: whoever calls
-- ---------------------------------------------------------------------------
SET concord.worker_run = 'forged';
SELECT concord_test.throws_rule(
    format($$SET LOCAL ROLE concord_admin; SELECT concord.transition_command(%L, 'running', 'oscar')$$,
           concord_test.id('q')),
    'CN012', 'only_the_current_run_drives_a_command',
    'CN012: an admin''s transition_command cannot move a queued command into running'
);
SELECT set_config('concord.worker_run', concord_test.workflow_of('q'), false) IS NOT NULL AS fixture \gset
SELECT concord_test.throws_rule(
    format($$SET LOCAL ROLE concord_admin; SELECT concord.transition_command(%L, 'running', 'oscar')$$,
           concord_test.id('q')),
    'CN012', 'only_the_current_run_drives_a_command',
    'CN012: nor when its session names the command''s run (every function resets concord.worker_run)'
);
RESET concord.worker_run;

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET status = 'running' WHERE command_id = %L$$, concord_test.id('q')),
    'CN012', 'only_the_current_run_drives_a_command',
    'CN012: the table owner''s bare UPDATE into running is refused when no run acts'
);

SELECT is(concord_test.claim('q') ->> 'action', 'run', 'the worker claims its run: the command is running');

SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'succeeded', 'oscar')$$, concord_test.id('q')),
    'CN012', 'only_the_current_run_drives_a_command',
    'CN012: an operator cannot record its outcome'
);

SELECT concord_test.throws_rule(
    format($$SELECT set_config('concord.worker_run', 'someone-else', true);
             UPDATE concord.commands SET status = 'failed', error = 'x', error_class = 'timeout'
             WHERE command_id = %L$$, concord_test.id('q')),
    'CN012', 'only_the_current_run_drives_a_command',
    'CN012: nor can the owner naming a run that is not the command''s'
);

-- ---------------------------------------------------------------------------
-- A run the command no longer has
-- ---------------------------------------------------------------------------
SELECT concord.runtime_begin_effect(concord_test.id('q'), concord_test.workflow_of('q'), 'email.send', '{}', 'k1')
       ->> 'effect_id' AS old_effect \gset
SELECT concord.transition_command(concord_test.id('q'), 'blocked', 'oscar', 'peer hangs') AS fixture \gset
SELECT concord.transition_command(concord_test.id('q'), 'queued', 'oscar', 'peer fixed') AS fixture \gset

SELECT is((concord_test.command('q')).dbos_workflow_id, concord_test.workflow_of('q', 2),
          'fixture: an operator took the command off run 1 and queued run 2');

SELECT concord_test.throws_rule(
    format($$SELECT concord.complete_effect(%L, '{}')$$, :'old_effect'),
    'CN012', 'only_the_current_run_drives_its_effects',
    'CN012: run 1 can no longer finish the effect it started'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_finish(%L, %L, 'succeeded')$$, concord_test.id('q'), concord_test.workflow_of('q')),
    'CN011', 'only_the_current_workflow_acts_for_its_command',
    'CN011: nor record an outcome'
);

SELECT is(concord_test.claim('q', 2) ->> 'action', 'run', 'run 2 claims the command');

SELECT concord_test.throws_rule(
    format($$SELECT concord.start_effect(%L, %L)$$,
           concord.plan_effect(concord_test.id('q'), 'email.send', '{}'), concord_test.workflow_of('q')),
    'CN012', 'only_the_current_run_drives_its_effects',
    'CN012: run 1 cannot start an effect of the command'
);

SELECT is(
    (concord.runtime_begin_effect(concord_test.id('q'), concord_test.workflow_of('q', 2), 'email.send', '{}', 'k1')
     ->> 'effect_id') IS DISTINCT FROM :'old_effect',
    true,
    'run 2 takes over run 1''s unfinished effect: it begins it again as a new effect'
);

SELECT row_eq(
    format($$SELECT status, error_class, idempotency_key FROM concord.domain_effects WHERE domain_effect_id = %L$$,
           :'old_effect'),
    ROW('failed'::text, 'timeout'::text, 'k1'::text),
    'run 1''s effect is failed (timeout: the call may have happened) and the retry is <key>/retry-1'
);

SELECT is(
    (SELECT count(*) FROM concord.domain_effects WHERE command_id = concord_test.id('q')
       AND idempotency_key = 'k1/retry-1' AND status = 'executing' AND executed_by_dbos_workflow_id = concord_test.workflow_of('q', 2)),
    1::bigint,
    'the retry executes under run 2'
);

SELECT is(
    concord.runtime_finish(concord_test.id('q'), concord_test.workflow_of('q', 2), 'succeeded', '{"ok": true}'),
    'succeeded',
    'run 2 records the outcome'
);

-- The kernel runs its own command types inline (a memory write, a spawn) as
-- the command's run; nobody else names that run.
SELECT concord_test.command_at('rt_sync', 'validated', 'inline') IS NOT NULL AS fixture \gset
SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'running', 'oscar')$$, concord_test.id('inline')),
    'CN012', 'only_the_current_run_drives_a_command',
    'CN012: a validated (synchronous) command is not run by an operator: it is queued for a worker'
);

SELECT * FROM finish();
ROLLBACK;
