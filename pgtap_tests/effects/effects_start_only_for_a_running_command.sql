-- No effect is planned or started for a command that is not running (a
-- compensation: while it is compensating), whoever writes, the table owner
-- included (effects_are_planned_only_for_a_running_command,
-- effects_start_only_for_a_running_command).
BEGIN;
SELECT plan(11);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

-- A command at each status that comes before running or stops it.
SELECT concord_test.submit('waiting', 'rt_gov', '{"gate": true}') AS fixture \gset
SELECT concord_test.submit('queued', 'rt_async') AS fixture \gset
SELECT concord_test.submit('runs', 'rt_async') AS fixture \gset
SELECT concord_test.run('runs') IS NOT NULL AS fixture \gset

SELECT is(
    (SELECT array_agg(concord_test.status(l) ORDER BY l) FROM unnest(ARRAY['queued', 'runs', 'waiting']) AS l),
    ARRAY['queued', 'running', 'waiting_for_approval'],
    'fixture: a queued command, a running one and one waiting for approval'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.plan_effect(%L, 'email.send', '{}')$$, concord_test.id('waiting')),
    'CN011', 'effects_are_planned_only_for_a_running_command',
    'CN011: no effect is planned for a command waiting for approval'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.plan_effect(%L, 'email.send', '{}')$$, concord_test.id('queued')),
    'CN011', 'effects_are_planned_only_for_a_running_command',
    'CN011: nor for a queued one that no worker claimed yet'
);

SELECT concord_test.throws_rule(
    format($$SELECT set_config('concord.worker_run', %L, true);
             INSERT INTO concord.domain_effects (command_id, effect_type) VALUES (%L, 'email.send')$$,
           concord_test.workflow_of('queued'), concord_test.id('queued')),
    'CN011', 'effects_are_planned_only_for_a_running_command',
    'CN011: the table owner''s raw INSERT is refused too, even naming the command''s run'
);

-- An effect planned while the command ran does not start once it stopped.
INSERT INTO concord_test.fixture
SELECT 'planned', concord.plan_effect(concord_test.id('runs'), 'email.send', '{}');
SELECT concord.transition_command(concord_test.id('runs'), 'blocked', 'oscar', 'peer hangs') AS fixture \gset

SELECT concord_test.throws_rule(
    format($$SELECT concord.start_effect(%L, %L)$$, concord_test.id('planned'), concord_test.workflow_of('runs')),
    'CN011', 'effects_start_only_for_a_running_command',
    'CN011: an effect of a blocked command does not start, even for its run'
);

SELECT concord_test.throws_rule(
    format($$SELECT set_config('concord.worker_run', %L, true);
             UPDATE concord.domain_effects SET status = 'executing', executed_by_dbos_workflow_id = %L
             WHERE domain_effect_id = %L$$,
           concord_test.workflow_of('runs'), concord_test.workflow_of('runs'), concord_test.id('planned')),
    'CN011', 'effects_start_only_for_a_running_command',
    'CN011: nor by the table owner''s raw UPDATE'
);

SELECT is(
    (SELECT status FROM concord.domain_effects WHERE domain_effect_id = concord_test.id('planned')),
    'planned',
    'the effect is still planned'
);

-- The run's own API says the same: runtime_begin_effect on a blocked command.
SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_begin_effect(%L, %L, 'email.send', '{}', 'k-blocked')$$,
           concord_test.id('runs'), concord_test.workflow_of('runs')),
    'CN011', 'only_a_running_command_starts_effects',
    'CN011: runtime_begin_effect refuses a command that is not running'
);

-- A compensation is planned and started while its command compensates, and
-- only then.
SELECT concord_test.command_at('rt_comp', 'running', 'comp') IS NOT NULL AS fixture \gset
SELECT concord.runtime_begin_effect(concord_test.id('comp'), concord_test.workflow_of('comp'), 'email.send', '{}',
                                    'k-comp', 'email.unsend') ->> 'effect_id' AS done \gset
SELECT concord.complete_effect(:'done', '{}') AS fixture \gset

SELECT concord_test.throws_rule(
    format($$SELECT concord.plan_effect(%L, 'email.unsend', '{}', compensates_effect_id => %L)$$,
           concord_test.id('comp'), :'done'),
    'CN011', 'effects_are_planned_only_for_a_running_command',
    'CN011: a compensation is not planned while the command still runs'
);

SELECT concord.cancel_command(concord_test.id('comp'), 'req', 'stop') AS fixture \gset
SELECT concord.runtime_finish(concord_test.id('comp'), concord_test.workflow_of('comp'), 'compensating')
       AS fixture \gset

SELECT is(
    concord.runtime_begin_effect(concord_test.id('comp'), concord_test.workflow_of('comp'), 'email.unsend', '{}',
                                 'k-undo', null, :'done') ->> 'action',
    'execute',
    'a compensation is planned and started while the command compensates'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.plan_effect(%L, 'email.send', '{}')$$, concord_test.id('comp')),
    'CN011', 'effects_are_planned_only_for_a_running_command',
    'CN011: but no new (non-compensating) effect is planned while it compensates'
);

SELECT * FROM finish();
ROLLBACK;
