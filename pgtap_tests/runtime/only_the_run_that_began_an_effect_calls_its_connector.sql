-- DBOS's own tools (a fork, a resume) cannot make a workflow call a connector
-- or begin work Concord did not hand it: runtime_call_effect answers only the
-- run that began the effect while its command runs
-- (a_connector_is_called_only_by_the_run_that_began_its_effect), and the
-- cancellation follow-up <id>/cancel begins only compensations
-- (a_cancellation_follow_up_begins_only_compensations).
BEGIN;
SELECT plan(9);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
    PERFORM concord.register_command_type('{"command_type": "ce.call", "connector_requirements": ["x"]}');
END $$;

SELECT is(concord_test.submit('ce', 'ce.call'), 'queued', 'fixture: ce queued');
SELECT is(concord_test.claim('ce') ->> 'action', 'run', 'fixture: ce claimed by its run');

CREATE TEMP TABLE ce_effect AS
SELECT (concord.runtime_begin_effect(
    concord_test.id('ce'), concord_test.workflow_of('ce'), 'connector.x', '{"connector": "x", "capability": "do"}',
    'ce-1'
) ->> 'effect_id')::uuid AS id;

SELECT is(
    concord.runtime_call_effect((SELECT id FROM ce_effect), concord_test.workflow_of('ce'))
    ->> 'action',
    'call',
    'the run that began the effect may call its connector'
);

SELECT concord_test.throws_rule(
    format('SELECT concord.runtime_call_effect(%L, %L)', (SELECT id FROM ce_effect), 'fork-of-ce'),
    'CN011', 'only_the_current_workflow_acts_for_its_command',
    'a fork of the run (another workflow id) may not call the connector'
);

SELECT concord_test.throws_rule(
    format(
        'SELECT concord.runtime_call_effect(%L, %L)', (SELECT id FROM ce_effect),
        concord_test.workflow_of('ce') || '/cancel'
    ),
    'CN011', 'a_connector_is_called_only_by_the_run_that_began_its_effect',
    'the cancellation follow-up may not call the connector of an effect it did not begin'
);

SELECT concord_test.throws_rule(
    format(
        $$SELECT concord.runtime_begin_effect(%L, %L, 'connector.y', '{}', 'ce-2')$$,
        concord_test.id('ce'), concord_test.workflow_of('ce') || '/cancel'
    ),
    'CN011', 'a_cancellation_follow_up_begins_only_compensations',
    'a workflow named <id>/cancel begins no effect of the operation'
);

-- the command ends (an operator blocks it): its run calls no connector any more
SELECT lives_ok(
    format(
        $$SELECT concord.transition_command(%L, 'blocked', 'op', 'stuck')$$, concord_test.id('ce')
    ),
    'fixture: an operator blocks ce'
);

SELECT concord_test.throws_rule(
    format(
        'SELECT concord.runtime_call_effect(%L, %L)',
        (SELECT id FROM ce_effect),
        concord_test.workflow_of('ce')
    ),
    'CN011', 'a_connector_is_called_only_by_the_run_that_began_its_effect',
    'a run whose command no longer runs (blocked, finished; a resumed workflow) calls no connector'
);

SELECT is(
    (
        SELECT status FROM concord.domain_effects
        WHERE domain_effect_id = (SELECT ce.id FROM ce_effect AS ce)
    ),
    'executing',
    'a refused call changes nothing'
);

SELECT * FROM finish();
ROLLBACK;
