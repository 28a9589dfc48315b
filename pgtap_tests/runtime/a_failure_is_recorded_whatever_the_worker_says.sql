-- A failure the worker reports is recorded whatever it says about it
-- (issue 13 §1, "nothing is ever stuck"): runtime_finish to failed never
-- refuses a missing message, a missing class or a class outside the taxonomy
-- (refusing would leave the command running with nothing to move it again).
-- The message says what was missing; the class becomes internal_error.
BEGIN;
SELECT plan(7);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

SELECT is(
    concord_test.submit('nm', 'rt_async') || concord_test.submit('nc', 'rt_async')
    || concord_test.submit('uc', 'rt_async') || concord_test.submit('bl', 'rt_async'),
    'queuedqueuedqueuedqueued',
    'fixture: four commands queued'
);

SELECT is(
    (concord_test.claim('nm') ->> 'action') || (concord_test.claim('nc') ->> 'action')
    || (concord_test.claim('uc') ->> 'action') || (concord_test.claim('bl') ->> 'action'),
    'runrunrunrun',
    'fixture: the four are running'
);

SELECT is(
    concord.runtime_finish(concord_test.id('nm'), concord_test.workflow_of('nm'), 'failed', null, null, 'timeout')
    || concord.runtime_finish(concord_test.id('nc'), concord_test.workflow_of('nc'), 'failed', null, 'boom')
    || concord.runtime_finish(concord_test.id('uc'), concord_test.workflow_of('uc'), 'failed', null, 'boom',
                              'made_up_class')
    || concord.runtime_finish(concord_test.id('bl'), concord_test.workflow_of('bl'), 'failed', null, '  ', null),
    'failedfailedfailedfailed',
    'runtime_finish to failed records every one of them'
);

SELECT row_eq(
    $$SELECT status, error, error_class FROM concord.commands WHERE command_id = concord_test.id('nm')$$,
    ROW('failed'::text, 'the operation failed without a message'::text, 'timeout'::text),
    'a failure without a message is recorded with one, its class kept'
);

SELECT row_eq(
    $$SELECT status, error, error_class FROM concord.commands WHERE command_id = concord_test.id('nc')$$,
    ROW('failed'::text, 'boom (no error class given)'::text, 'internal_error'::text),
    'a failure without a class is recorded as internal_error, the message saying so'
);

SELECT row_eq(
    $$SELECT status, error, error_class FROM concord.commands WHERE command_id = concord_test.id('uc')$$,
    ROW('failed'::text, 'boom (unknown error class ''made_up_class'')'::text, 'internal_error'::text),
    'a failure with an unknown class is recorded as internal_error naming the class'
);

SELECT row_eq(
    $$SELECT status, error, error_class FROM concord.commands WHERE command_id = concord_test.id('bl')$$,
    ROW('failed'::text, '(no error class given)'::text, 'internal_error'::text),
    'a blank message and no class: internal_error, the message saying what was missing'
);

SELECT * FROM finish();
ROLLBACK;
