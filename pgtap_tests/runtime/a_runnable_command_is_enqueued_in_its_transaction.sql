-- A command that becomes runnable (submitted into queued, approved, given its
-- input, moved to queued) has its DBOS workflow enqueued in the same
-- transaction, with a workflow id derived from the command id, on its
-- operation's queue; a rollback leaves nothing in DBOS; a command that does
-- not land in queued has no workflow (spec 18-19; DESIGN "The bridge to DBOS").
BEGIN;
SELECT plan(26);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

-- ===========================================================================
-- 1. The hand-off at submission
-- ===========================================================================
SELECT is(concord_test.submit('a', 'rt_async'), 'queued', 'fixture: an asynchronous command is submitted into queued');

SELECT row_eq(
    $$SELECT * FROM concord_test.binding('a')$$,
    ROW(concord_test.id('a')::text, 1, 'concord_default'::text),
    'a submission into queued binds run 1: workflow id = command id, queue concord_default'
);

SELECT results_eq(
    format($$SELECT workflow_uuid, status, name, queue_name FROM dbos.workflow_status
             WHERE workflow_uuid = %1$L OR workflow_uuid LIKE %1$L || '/%%'$$, concord_test.id('a')),
    format($$VALUES (%L, 'ENQUEUED', 'concord.run_command', 'concord_default')$$, concord_test.id('a')),
    'exactly one DBOS workflow is enqueued: ENQUEUED, concord.run_command, on concord_default'
);

SELECT is(
    (SELECT i.inputs::jsonb -> 'positionalArgs' FROM dbos.workflow_input AS i WHERE i.workflow_uuid = concord_test.workflow_of('a')),
    jsonb_build_array(concord_test.id('a')::text),
    'the workflow''s input is the command id'
);

-- a submission's hand-off is named by its one creation row (issue 16)
SELECT row_eq(
    format($$SELECT count(*) FILTER (WHERE event_type = 'workflow_enqueued'),
                    count(*) FILTER (WHERE payload ? 'workflow'),
                    max(actor) FILTER (WHERE event_type = 'command_created'),
                    max(to_status) FILTER (WHERE event_type = 'command_created'),
                    (array_agg(payload -> 'workflow') FILTER (WHERE event_type = 'command_created'))[1]
             FROM concord.domain_events WHERE command_id = %L$$, concord_test.id('a')),
    ROW(0::bigint, 1::bigint, 'req'::text, 'queued'::text,
        jsonb_build_object('workflow_id', concord_test.workflow_of('a'), 'queue', 'concord_default', 'run', 1)),
    'the hand-off is audited once, by the requester: the creation row (-> queued) names the workflow, queue and run'
);

SELECT is(
    concord.register_operations(
        '[{"command_type": "rt_ops", "queue": "connector_calls", "function_name": "app.rt_ops"}]', 'ex1', 'v1'),
    1,
    'register_operations records the queue of rt_ops'
);

SELECT is(concord_test.submit('ops', 'rt_ops'), 'queued', 'fixture: a command of a type with a registered operation');

SELECT is(
    (SELECT c.queue_name || '|' || w.queue_name FROM concord.commands AS c
     INNER JOIN dbos.workflow_status AS w ON w.workflow_uuid = c.dbos_workflow_id
     WHERE c.command_id = concord_test.id('ops')),
    'connector_calls|connector_calls',
    'the hand-off uses the queue register_operations recorded, on the command and in DBOS'
);

-- A submission rolled back (a subtransaction here) leaves no workflow behind.
CREATE TEMP TABLE rolled_back (command_id uuid, enqueued_inside boolean);
DO $$
DECLARE
    id uuid;
    inside boolean;
BEGIN
    BEGIN
        SELECT s.command_id INTO id FROM concord.submit_command('rt_async', '{}', 'req') AS s;
        inside := EXISTS (SELECT 1 FROM dbos.workflow_status AS w WHERE w.workflow_uuid = id::text);
        RAISE EXCEPTION 'roll the submission back';
    EXCEPTION WHEN raise_exception THEN
        INSERT INTO rolled_back VALUES (id, inside);
    END;
END
$$;

SELECT is((SELECT enqueued_inside FROM rolled_back), true,
          'inside the submitting transaction the workflow is enqueued');

SELECT is(
    (SELECT count(*) FROM dbos.workflow_status AS w, rolled_back AS r WHERE w.workflow_uuid LIKE r.command_id::text || '%')
    + (SELECT count(*) FROM concord.commands AS c, rolled_back AS r WHERE c.command_id = r.command_id),
    0::bigint,
    'a rolled-back submission leaves neither a command nor a DBOS workflow'
);

DO $$ BEGIN
    PERFORM concord_test.remember('idem', s.command_id)
    FROM concord.submit_command('rt_async', '{"x": 1}', 'req', 'api', '{}', 'rt-idem-1') AS s;
END $$;

SELECT row_eq(
    $$SELECT command_id, created FROM concord.submit_command('rt_async', '{"x": 1}', 'req', 'api', '{}', 'rt-idem-1')$$,
    ROW(concord_test.id('idem'), false),
    'a replayed submission returns the original command'
);

SELECT is(
    ARRAY[concord_test.dbos_rows('idem'), concord_test.event_count('idem', 'workflow_enqueued'),
          concord_test.event_count('idem', 'command_created'),
          (SELECT count(*) FROM concord.domain_events
           WHERE command_id = concord_test.id('idem') AND payload ? 'workflow')],
    ARRAY[1, 0, 1, 1]::bigint[],
    'the replay enqueues nothing new: one DBOS workflow, one creation row naming it'
);

SELECT is(
    (SELECT dbos.enqueue_workflow(workflow_name => 'concord.run_command', queue_name => 'concord_default',
                                  positional_args => ARRAY[to_json(concord_test.id('idem')::text)]::json [],
                                  workflow_id => concord_test.workflow_of('idem')))
    || '|' || concord_test.dbos_rows('idem') || '|' || concord_test.dbos_status(concord_test.workflow_of('idem')),
    concord_test.workflow_of('idem') || '|1|ENQUEUED',
    'enqueuing the same workflow id again in DBOS leaves one ENQUEUED row'
);

SELECT is(
    concord_test.without_dbos($$SELECT concord.submit_command('rt_async', '{}', 'req')$$),
    'CN015',
    'CN015: without the DBOS schema an asynchronous command cannot be handed off'
);

SELECT is(
    concord_test.without_dbos($$SELECT concord.submit_command('rt_sync', '{}', 'req')$$),
    'ok',
    'without the DBOS schema a synchronous command is still submitted (it needs no hand-off)'
);

CREATE FUNCTION pg_temp.dbos_function_droppable(name text)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    BEGIN
        EXECUTE format('DROP FUNCTION dbos.%I', name);
        RAISE EXCEPTION 'undo the drop';
    EXCEPTION WHEN raise_exception THEN
        RETURN true;
    WHEN dependent_objects_still_exist THEN
        RETURN false;
    END;
END
$$;

SELECT ok(
    pg_temp.dbos_function_droppable('enqueue_workflow') AND pg_temp.dbos_function_droppable('send_message'),
    'nothing in concord depends on dbos.enqueue_workflow or dbos.send_message (DBOS may drop and recreate them)'
);

-- ===========================================================================
-- 2. Commands that do not land in queued have no workflow; approval enqueues
-- ===========================================================================
SELECT is(
    ARRAY[concord_test.submit('gated', 'rt_gov', '{"gate": true}'),
          concord_test.submit('denied', 'rt_gov', '{"deny": true}'),
          concord_test.submit('asked', 'rt_gov', '{"ask": true}'),
          concord_test.submit('invalid', 'rt_gov', '{"n": "x"}'),
          concord_test.submit('sync', 'rt_sync')],
    ARRAY['waiting_for_approval', 'failed', 'waiting_for_input', 'failed', 'validated'],
    'fixture: commands waiting for approval or input, denied, invalid, and synchronous'
);

SELECT is_empty(
    $$SELECT c.command_id FROM concord.commands AS c
      WHERE c.command_id IN (concord_test.id('gated'), concord_test.id('denied'), concord_test.id('asked'),
                             concord_test.id('invalid'), concord_test.id('sync'))
        AND (c.dbos_workflow_id IS NOT null OR c.run_seq <> 0 OR c.queue_name IS NOT null)$$,
    'none of them is bound: no workflow, run 0, no queue'
);

SELECT is(
    concord_test.dbos_rows('gated') + concord_test.dbos_rows('denied') + concord_test.dbos_rows('asked')
    + concord_test.dbos_rows('invalid') + concord_test.dbos_rows('sync')
    + concord_test.event_count('gated', 'workflow_enqueued') + concord_test.event_count('denied', 'workflow_enqueued')
    + concord_test.event_count('asked', 'workflow_enqueued') + concord_test.event_count('invalid', 'workflow_enqueued')
    + concord_test.event_count('sync', 'workflow_enqueued')
    + (SELECT count(*) FROM concord.domain_events
       WHERE command_id IN (concord_test.id('gated'), concord_test.id('denied'), concord_test.id('asked'),
                            concord_test.id('invalid'), concord_test.id('sync'))
         AND payload ? 'workflow'),
    0::bigint,
    'none of them has a DBOS workflow, a workflow_enqueued event or a creation row naming a workflow'
);

-- An approval rolled back enqueues nothing either.
CREATE TEMP TABLE approval_rolled_back (enqueued_inside boolean);
DO $$
DECLARE
    inside boolean;
BEGIN
    BEGIN
        PERFORM concord.resolve_approval(concord_test.approval_id('gated'), 'approved', 'ann');
        inside := concord_test.dbos_status(concord_test.workflow_of('gated')) = 'ENQUEUED';
        RAISE EXCEPTION 'roll the approval back';
    EXCEPTION WHEN raise_exception THEN
        INSERT INTO approval_rolled_back VALUES (inside);
    END;
END
$$;

SELECT is(
    (SELECT enqueued_inside FROM approval_rolled_back)::text || '|' || concord_test.status('gated') || '|'
    || concord_test.dbos_rows('gated'),
    'true|waiting_for_approval|0',
    'an approval enqueues in its own transaction: rolled back, the command waits and DBOS has nothing'
);

SELECT is(
    concord.resolve_approval(concord_test.approval_id('gated'), 'approved', 'ann') ->> 'command_status',
    'queued',
    'approving the command queues it'
);

SELECT row_eq(
    $$SELECT b.*, concord_test.dbos_status(b.dbos_workflow_id), concord_test.dbos_rows('gated')
      FROM concord_test.binding('gated') AS b$$,
    ROW(concord_test.id('gated')::text, 1, 'concord_default'::text, 'ENQUEUED'::text, 1::bigint),
    'the approved command is bound to run 1 and its workflow is ENQUEUED in DBOS'
);

SELECT is(
    (SELECT actor FROM concord.domain_events
     WHERE command_id = concord_test.id('gated') AND event_type = 'workflow_enqueued'),
    'ann',
    'the hand-off after approval is audited under the approver'
);

SELECT is(
    concord.provide_input(concord_test.id('asked'), '{"ask": false, "more": 1}', 'req') ->> 'status',
    'queued',
    'input provided: the command is queued'
);

SELECT is(
    concord_test.dbos_status((concord_test.command('asked')).dbos_workflow_id) || '|'
    || (concord_test.command('asked')).run_seq,
    'ENQUEUED|1',
    'the command queued after input is enqueued (run 1)'
);

SELECT is(
    concord.transition_command(concord_test.id('sync'), 'queued', 'op') || '|'
    || concord_test.dbos_status(concord_test.workflow_of('sync')) || '|' || (concord_test.command('sync')).run_seq,
    'queued|ENQUEUED|1',
    'a synchronous command moved to queued by transition_command is enqueued too'
);

SELECT * FROM finish();
ROLLBACK;
