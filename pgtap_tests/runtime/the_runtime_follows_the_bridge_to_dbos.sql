-- The runtime (spec 10, 18-19, 30-35, 74-95; DESIGN "The bridge to DBOS"):
-- a command that becomes runnable (submitted into queued, approved, its last
-- dependency met, retried) has its DBOS workflow enqueued in the same
-- transaction, with a workflow id derived from the command id; nothing else
-- binds one, and the binding (dbos_workflow_id, run_seq, queue_name) moves only
-- by a hand-off or a release, whoever writes. The worker-facing functions
-- (runtime_claim, runtime_begin_effect, runtime_finish, runtime_compensations,
-- runtime_audit, record_connector_invocation) are idempotent on replay and act
-- only for the workflow that runs the command. Connectors hold no raw secrets;
-- queues, operations and schedules are validated; scheduled ticks submit once;
-- notifications are idempotent by key; concord_worker has the runtime functions
-- and writes no table.
BEGIN;
SELECT plan(222);

-- ===========================================================================
-- Fixtures and helpers
-- ===========================================================================
DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "rt_async"}');
    PERFORM concord.register_command_type('{"command_type": "rt_ops"}');
    PERFORM concord.register_command_type('{"command_type": "rt_ops2"}');
    PERFORM concord.register_command_type('{"command_type": "rt_sync", "sync_allowed": true}');
    PERFORM concord.register_command_type(
        '{"command_type": "rt_comp", "default_cancellation_mode": "compensate_then_stop"}');
    PERFORM concord.register_approval_type('{"name": "rt_at", "approver": {"principals": ["ann"]}}');
    PERFORM concord.register_policy(
        '{"name": "rt_gate", "predicate": "$.payload.gate == true", "decision": "require_approval",
          "approval_type": "rt_at"}');
    PERFORM concord.register_policy(
        '{"name": "rt_deny", "predicate": "$.payload.deny == true", "decision": "deny", "reasons": ["no"]}');
    PERFORM concord.register_policy(
        '{"name": "rt_ask", "predicate": "$.payload.ask == true", "decision": "require_input",
          "missing_fields": ["more"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "rt_gov", "policy_checks": ["rt_gate", "rt_deny", "rt_ask"],
          "payload_schema": {"type": "object", "properties": {"n": {"type": "integer"}}}}');
END $$;

-- The workflow id of run n of the command remembered as label (written out
-- here, not taken from the code under test).
CREATE FUNCTION pg_temp.wf(label text, run integer DEFAULT 1)
RETURNS text
LANGUAGE sql
AS $$
    SELECT CASE WHEN run = 1 THEN concord_test.id(label)::text ELSE concord_test.id(label)::text || '/' || run END
$$;

-- DBOS's status of a workflow (NULL when DBOS has no such workflow).
CREATE FUNCTION pg_temp.dbos_status(workflow_id text)
RETURNS text
LANGUAGE sql
AS $$ SELECT w.status FROM dbos.workflow_status AS w WHERE w.workflow_uuid = workflow_id $$;

-- How many DBOS workflows exist for the command remembered as label (every run).
CREATE FUNCTION pg_temp.dbos_rows(label text)
RETURNS bigint
LANGUAGE sql
AS $$
    SELECT count(*) FROM dbos.workflow_status AS w
    WHERE w.workflow_uuid = concord_test.id(label)::text
       OR w.workflow_uuid LIKE concord_test.id(label)::text || '/%'
$$;

-- How many audit events of event_type the command remembered as label has.
CREATE FUNCTION pg_temp.events(label text, event_type text)
RETURNS bigint
LANGUAGE sql
AS $$
    SELECT count(*) FROM concord.domain_events AS e
    WHERE e.command_id = concord_test.id(label) AND e.event_type = events.event_type
$$;

-- The binding of the command remembered as label.
CREATE FUNCTION pg_temp.binding(label text)
RETURNS TABLE (dbos_workflow_id text, run_seq integer, queue_name text)
LANGUAGE sql
AS $$
    SELECT c.dbos_workflow_id, c.run_seq, c.queue_name FROM concord.commands AS c
    WHERE c.command_id = concord_test.id(label)
$$;

-- runtime_claim by run n of the command remembered as label.
CREATE FUNCTION pg_temp.claim(label text, run integer DEFAULT 1, executor text DEFAULT 'ex1')
RETURNS jsonb
LANGUAGE sql
AS $$ SELECT concord.runtime_claim(concord_test.id(label), pg_temp.wf(label, run), executor) $$;

-- Remember an id under a label (for commands not made by concord_test.submit).
CREATE FUNCTION pg_temp.remember(label text, id uuid)
RETURNS uuid
LANGUAGE sql
AS $$ INSERT INTO concord_test.fixture (label, id) VALUES (label, id) RETURNING id $$;

-- Run sql as role; 'ok' or the SQLSTATE it raised.
CREATE FUNCTION pg_temp.as_role(role name, sql text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    outcome text;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', role);
    BEGIN
        EXECUTE sql;
        outcome := 'ok';
    EXCEPTION WHEN OTHERS THEN
        outcome := SQLSTATE;
    END;
    RESET ROLE;
    RETURN outcome;
END
$$;

-- Run sql while the dbos schema is hidden; 'ok' or the SQLSTATE it raised.
CREATE FUNCTION pg_temp.without_dbos(sql text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    outcome text;
BEGIN
    ALTER SCHEMA dbos RENAME TO dbos_hidden_by_16_runtime;
    BEGIN
        EXECUTE sql;
        outcome := 'ok';
    EXCEPTION WHEN OTHERS THEN
        outcome := SQLSTATE;
    END;
    ALTER SCHEMA dbos_hidden_by_16_runtime RENAME TO dbos;
    RETURN outcome;
END
$$;

-- ===========================================================================
-- 1. The hand-off at submission
-- ===========================================================================
SELECT is(concord_test.submit('a', 'rt_async'), 'queued', 'fixture: an asynchronous command is submitted into queued');

SELECT row_eq(
    $$SELECT * FROM pg_temp.binding('a')$$,
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
    (SELECT i.inputs::jsonb -> 'positionalArgs' FROM dbos.workflow_input AS i WHERE i.workflow_uuid = pg_temp.wf('a')),
    jsonb_build_array(concord_test.id('a')::text),
    'the workflow''s input is the command id'
);

SELECT row_eq(
    format($$SELECT target_type, target_id, actor, from_status, to_status, payload FROM concord.domain_events
             WHERE command_id = %L AND event_type = 'workflow_enqueued'$$, concord_test.id('a')),
    ROW('workflow'::text, pg_temp.wf('a'), 'req'::text, 'queued'::text, 'queued'::text,
        jsonb_build_object('workflow_id', pg_temp.wf('a'), 'queue', 'concord_default', 'run', 1)),
    'the hand-off is audited once: workflow_enqueued with the workflow, queue and run, by the requester'
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
    PERFORM pg_temp.remember('idem', s.command_id)
    FROM concord.submit_command('rt_async', '{"x": 1}', 'req', 'api', '{}', 'rt-idem-1') AS s;
END $$;

SELECT row_eq(
    $$SELECT command_id, created FROM concord.submit_command('rt_async', '{"x": 1}', 'req', 'api', '{}', 'rt-idem-1')$$,
    ROW(concord_test.id('idem'), false),
    'a replayed submission returns the original command'
);

SELECT is(
    ARRAY[pg_temp.dbos_rows('idem'), pg_temp.events('idem', 'workflow_enqueued')],
    ARRAY[1, 1]::bigint[],
    'the replay enqueues nothing new: one DBOS workflow, one workflow_enqueued event'
);

SELECT is(
    (SELECT dbos.enqueue_workflow(workflow_name => 'concord.run_command', queue_name => 'concord_default',
                                  positional_args => ARRAY[to_json(concord_test.id('idem')::text)]::json [],
                                  workflow_id => pg_temp.wf('idem')))
    || '|' || pg_temp.dbos_rows('idem') || '|' || pg_temp.dbos_status(pg_temp.wf('idem')),
    pg_temp.wf('idem') || '|1|ENQUEUED',
    'enqueuing the same workflow id again in DBOS leaves one ENQUEUED row'
);

SELECT is(
    pg_temp.without_dbos($$SELECT concord.submit_command('rt_async', '{}', 'req')$$),
    'CN015',
    'CN015: without the DBOS schema an asynchronous command cannot be handed off'
);

SELECT is(
    pg_temp.without_dbos($$SELECT concord.submit_command('rt_sync', '{}', 'req')$$),
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
    pg_temp.dbos_rows('gated') + pg_temp.dbos_rows('denied') + pg_temp.dbos_rows('asked')
    + pg_temp.dbos_rows('invalid') + pg_temp.dbos_rows('sync')
    + pg_temp.events('gated', 'workflow_enqueued') + pg_temp.events('denied', 'workflow_enqueued')
    + pg_temp.events('asked', 'workflow_enqueued') + pg_temp.events('invalid', 'workflow_enqueued')
    + pg_temp.events('sync', 'workflow_enqueued'),
    0::bigint,
    'none of them has a DBOS workflow or a workflow_enqueued event'
);

-- An approval rolled back enqueues nothing either.
CREATE TEMP TABLE approval_rolled_back (enqueued_inside boolean);
DO $$
DECLARE
    inside boolean;
BEGIN
    BEGIN
        PERFORM concord.resolve_approval(concord_test.approval_id('gated'), 'approved', 'ann');
        inside := pg_temp.dbos_status(pg_temp.wf('gated')) = 'ENQUEUED';
        RAISE EXCEPTION 'roll the approval back';
    EXCEPTION WHEN raise_exception THEN
        INSERT INTO approval_rolled_back VALUES (inside);
    END;
END
$$;

SELECT is(
    (SELECT enqueued_inside FROM approval_rolled_back)::text || '|' || concord_test.status('gated') || '|'
    || pg_temp.dbos_rows('gated'),
    'true|waiting_for_approval|0',
    'an approval enqueues in its own transaction: rolled back, the command waits and DBOS has nothing'
);

SELECT is(
    concord.resolve_approval(concord_test.approval_id('gated'), 'approved', 'ann') ->> 'command_status',
    'queued',
    'approving the command queues it'
);

SELECT row_eq(
    $$SELECT b.*, pg_temp.dbos_status(b.dbos_workflow_id), pg_temp.dbos_rows('gated')
      FROM pg_temp.binding('gated') AS b$$,
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
    pg_temp.dbos_status((concord_test.command('asked')).dbos_workflow_id) || '|'
    || (concord_test.command('asked')).run_seq,
    'ENQUEUED|1',
    'the command queued after input is enqueued (run 1)'
);

SELECT is(
    concord.transition_command(concord_test.id('sync'), 'queued', 'op') || '|'
    || pg_temp.dbos_status(pg_temp.wf('sync')) || '|' || (concord_test.command('sync')).run_seq,
    'queued|ENQUEUED|1',
    'a synchronous command moved to queued by transition_command is enqueued too'
);

-- ===========================================================================
-- 3. Dependencies: release and hand-off
-- ===========================================================================
SELECT is(concord_test.submit('p', 'rt_async') || concord_test.submit('c', 'rt_async'), 'queuedqueued',
          'fixture: parent p and child c, both queued and enqueued');

SELECT lives_ok(
    format($$SELECT concord.add_dependency(%L, %L)$$, concord_test.id('c'), concord_test.id('p')),
    'fixture: c now waits for p to succeed'
);

SELECT is(
    pg_temp.claim('c') ->> 'action',
    'released',
    'runtime_claim by the child''s workflow while p is unfinished answers released'
);

SELECT row_eq(
    $$SELECT b.*, concord_test.status('c') FROM pg_temp.binding('c') AS b$$,
    ROW(NULL::text, 1, 'concord_default'::text, 'queued'::text),
    'the release clears the workflow and keeps the run and queue; c stays queued'
);

SELECT row_eq(
    format($$SELECT target_id, actor, payload FROM concord.domain_events
             WHERE command_id = %L AND event_type = 'workflow_released'$$, concord_test.id('c')),
    ROW(pg_temp.wf('c'), 'worker:ex1'::text, jsonb_build_object('workflow_id', pg_temp.wf('c'), 'run', 1)),
    'the release is audited once: workflow_released by worker:<executor>'
);

SELECT is(
    pg_temp.claim('c') ->> 'action',
    'stale',
    'the released workflow claiming again is stale'
);

SELECT is(
    (pg_temp.claim('p') ->> 'action')
    || concord.runtime_finish(concord_test.id('p'), pg_temp.wf('p'), 'succeeded', '{"ok": true}'),
    'runsucceeded',
    'fixture: p is claimed and succeeds'
);

SELECT row_eq(
    $$SELECT * FROM pg_temp.binding('c')$$,
    ROW(pg_temp.wf('c', 2), 2, 'concord_default'::text),
    'p''s success hands c off again: run 2, workflow <command id>/2'
);

SELECT results_eq(
    format($$SELECT workflow_uuid, status, queue_name FROM dbos.workflow_status
             WHERE workflow_uuid = %1$L OR workflow_uuid LIKE %1$L || '/%%' ORDER BY workflow_uuid$$,
           concord_test.id('c')),
    format($$VALUES (%L, 'ENQUEUED', 'concord_default'), (%L, 'ENQUEUED', 'concord_default')$$,
           pg_temp.wf('c'), pg_temp.wf('c', 2)),
    'a new DBOS workflow <command id>/2 is enqueued next to the released one'
);

SELECT row_eq(
    format($$SELECT actor, payload FROM concord.domain_events
             WHERE command_id = %L AND event_type = 'workflow_enqueued' AND target_id = %L$$,
           concord_test.id('c'), pg_temp.wf('c', 2)),
    ROW('workflow:' || pg_temp.wf('p'), jsonb_build_object('workflow_id', pg_temp.wf('c', 2),
                                                           'queue', 'concord_default', 'run', 2)),
    'the second hand-off is audited (by the workflow that finished the parent)'
);

SELECT is(
    (pg_temp.claim('c', 2) ->> 'action') || '|' || (concord_test.command('c')).status,
    'run|running',
    'the run-2 workflow claims the child: run, running'
);

SELECT is(
    pg_temp.claim('c', 1) ->> 'action',
    'stale',
    'the run-1 workflow is stale once run 2 holds the command'
);

-- A child whose dependency is already met claims normally.
SELECT is(concord_test.submit('p2', 'rt_async'), 'queued', 'fixture: parent p2 queued');

SELECT is(
    (pg_temp.claim('p2') ->> 'action') || concord.runtime_finish(concord_test.id('p2'), pg_temp.wf('p2'), 'succeeded'),
    'runsucceeded',
    'fixture: p2 ran and succeeded'
);

SELECT lives_ok(
    format($$SELECT concord_test.command_at('rt_async', 'validated', 'c2');
             SELECT concord.add_dependency(concord_test.id('c2'), %L);
             SELECT concord.transition_command(concord_test.id('c2'), 'queued', 'op')$$,
           concord_test.id('p2')),
    'fixture: c2 depends on the finished p2 and is queued'
);

SELECT is(
    (pg_temp.claim('c2') ->> 'action') || '|' || (concord_test.command('c2')).status || '|'
    || (concord_test.command('c2')).run_seq,
    'run|running|1',
    'a child whose dependencies are met is bound at once (run 1) and claims normally'
);

-- A child that enters queued while a dependency is unmet is not bound yet.
SELECT lives_ok(
    $$SELECT concord_test.submit('p3', 'rt_async');
      SELECT concord_test.command_at('rt_async', 'validated', 'c3');
      SELECT concord.add_dependency(concord_test.id('c3'), concord_test.id('p3'));
      SELECT concord.transition_command(concord_test.id('c3'), 'queued', 'op')$$,
    'fixture: c3 waits for p3 and is queued'
);

SELECT row_eq(
    $$SELECT b.*, pg_temp.dbos_rows('c3'), pg_temp.events('c3', 'workflow_enqueued')
      FROM pg_temp.binding('c3') AS b$$,
    ROW(NULL::text, 0, 'concord_default'::text, 0::bigint, 0::bigint),
    'a command queued while a dependency is unmet has no workflow (run 0) and nothing in DBOS'
);

SELECT is(
    (pg_temp.claim('p3') ->> 'action') || concord.runtime_finish(concord_test.id('p3'), pg_temp.wf('p3'), 'succeeded')
    || '|' || (concord_test.command('c3')).dbos_workflow_id || '|' || pg_temp.dbos_status(pg_temp.wf('c3')),
    'runsucceeded|' || pg_temp.wf('c3') || '|ENQUEUED',
    'when p3 succeeds, c3 is handed off as run 1 (workflow = command id) and enqueued'
);

-- A queued child cancelled by its parent's cancellation: its workflow is cancelled too.
SELECT lives_ok(
    $$SELECT concord_test.submit('p4', 'rt_async'), concord_test.submit('c4', 'rt_async');
      SELECT concord.add_dependency(concord_test.id('c4'), concord_test.id('p4'));
      SELECT concord.cancel_command(concord_test.id('p4'), 'ann')$$,
    'fixture: c4 depends on p4, which is cancelled'
);

SELECT is(
    concord_test.status('c4') || '|' || pg_temp.dbos_status(pg_temp.wf('c4')),
    'cancelled|CANCELLED',
    'the cascade cancels the queued child and its DBOS workflow'
);

-- ===========================================================================
-- 4. The binding guard (as the table owner)
-- ===========================================================================
SELECT is(concord_test.submit('g', 'rt_async'), 'queued', 'fixture: g is queued and bound');

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET dbos_workflow_id = 'x' WHERE command_id = %L$$, concord_test.id('g')),
    'CN007', 'a_workflow_binding_changes_only_while_queued',
    'CN007: the owner cannot point a queued command at another workflow'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET run_seq = 2 WHERE command_id = %L$$, concord_test.id('g')),
    'CN007', 'a_workflow_binding_changes_only_while_queued',
    'CN007: nor change its run'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET queue_name = 'agent_runs' WHERE command_id = %L$$, concord_test.id('g')),
    'CN007', 'a_workflow_binding_changes_only_while_queued',
    'CN007: nor its queue'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET dbos_workflow_id = null WHERE command_id = %L$$, concord_test.id('g')),
    'CN007', 'a_workflow_binding_changes_only_while_queued',
    'CN007: nor release it while nothing is unmet'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET run_seq = 2, dbos_workflow_id = %L WHERE command_id = %L$$,
           pg_temp.wf('g', 2), concord_test.id('g')),
    'CN007', 'a_workflow_binding_changes_only_while_queued',
    'CN007: nor hand it off to the next run while it is bound'
);

SELECT lives_ok(
    $$SELECT concord_test.submit('p5', 'rt_async');
      SELECT concord_test.command_at('rt_async', 'validated', 'c5');
      SELECT concord.add_dependency(concord_test.id('c5'), concord_test.id('p5'));
      SELECT concord.transition_command(concord_test.id('c5'), 'queued', 'op')$$,
    'fixture: c5 is queued, unbound, waiting for p5'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET run_seq = 1, dbos_workflow_id = %L WHERE command_id = %L$$,
           pg_temp.wf('c5'), concord_test.id('c5')),
    'CN007', 'a_workflow_binding_changes_only_while_queued',
    'CN007: the owner cannot hand off a command with the correct next workflow while a dependency is unmet'
);

SELECT is(pg_temp.dbos_rows('c5'), 0::bigint, 'and nothing reached DBOS');

SELECT is(
    (pg_temp.claim('c2') ->> 'action'),
    'run',
    'fixture: c2 is running'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET dbos_workflow_id = null WHERE command_id = %L$$, concord_test.id('c2')),
    'CN007', 'a_workflow_binding_changes_only_while_queued',
    'CN007: the owner cannot release a running command''s workflow'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET dbos_workflow_id = 'x', run_seq = 9 WHERE command_id = %L$$,
           concord_test.id('p2')),
    'CN007', 'a_terminal_command_never_changes',
    'CN007: nor rebind a terminal one'
);

SELECT lives_ok(
    $$WITH c AS (
          INSERT INTO concord.commands (command_type, requested_by, ingress, dbos_workflow_id, run_seq, queue_name)
          VALUES ('rt_async', 'owner', 'sql', 'evil-wf', 7, 'agent_runs') RETURNING command_id)
      INSERT INTO concord_test.fixture (label, id) SELECT 'raw', c.command_id FROM c$$,
    'fixture: the owner inserts a command naming a workflow, run and queue'
);

SELECT row_eq(
    $$SELECT b.*, (SELECT count(*) FROM dbos.workflow_status WHERE workflow_uuid = 'evil-wf')
      FROM pg_temp.binding('raw') AS b$$,
    ROW(NULL::text, 0, NULL::text, 0::bigint),
    'a raw insert binds nothing: no workflow, run 0, no queue, nothing in DBOS'
);

SELECT is(
    (pg_temp.claim('raw') ->> 'action') || '|' || (concord_test.command('raw')).status,
    'stale|created',
    'a workflow named after the raw command cannot claim it'
);

SELECT is(concord_test.submit('blk', 'rt_async'), 'queued', 'fixture: blk queued');

SELECT is(
    (pg_temp.claim('blk') ->> 'action') || concord.runtime_finish(concord_test.id('blk'), pg_temp.wf('blk'), 'blocked'),
    'runblocked',
    'fixture: blk ran and is blocked'
);

SELECT row_eq(
    format($$WITH u AS (UPDATE concord.commands SET status = 'queued', dbos_workflow_id = 'evil-wf', run_seq = 40
                        WHERE command_id = %L RETURNING dbos_workflow_id, run_seq, queue_name)
             SELECT * FROM u$$, concord_test.id('blk')),
    ROW(pg_temp.wf('blk', 2), 2, 'concord_default'::text),
    'a raw move into queued gets the next run''s workflow whatever binding the UPDATE names'
);

SELECT is(
    pg_temp.dbos_status(pg_temp.wf('blk', 2)) || '|'
    || (SELECT count(*) FROM dbos.workflow_status WHERE workflow_uuid = 'evil-wf'),
    'ENQUEUED|0',
    'that run is enqueued, the named one is not'
);

SELECT is(concord_test.submit('p6', 'rt_async') || concord_test.submit('c6', 'rt_async'), 'queuedqueued',
          'fixture: p6 and c6 queued');

SELECT lives_ok(
    format($$SELECT concord.add_dependency(%1$L, %2$L);
             UPDATE concord.commands SET dbos_workflow_id = null WHERE command_id = %1$L$$,
           concord_test.id('c6'), concord_test.id('p6')),
    'the owner may release a queued command whose dependency is unmet'
);

SELECT is(
    (SELECT actor FROM concord.domain_events WHERE command_id = concord_test.id('c6') AND event_type = 'workflow_released'),
    session_user::text,
    'that release is audited under the session user'
);

-- A retry starts a new run.
SELECT is(concord_test.submit('r', 'rt_async'), 'queued', 'fixture: r queued');

SELECT is(
    (pg_temp.claim('r') ->> 'action')
    || concord.runtime_finish(concord_test.id('r'), pg_temp.wf('r'), 'failed', null, 'timed out', 'timeout'),
    'runfailed',
    'fixture: r ran and failed with the retryable class timeout'
);

SELECT is(
    concord.transition_command(concord_test.id('r'), 'queued', 'operator'),
    'queued',
    'r is retried (failed -> queued)'
);

SELECT row_eq(
    $$SELECT b.*, pg_temp.dbos_status(pg_temp.wf('r', 2)), pg_temp.dbos_rows('r')
      FROM pg_temp.binding('r') AS b$$,
    ROW(pg_temp.wf('r', 2), 2, 'concord_default'::text, 'ENQUEUED'::text, 2::bigint),
    'the retry starts run 2 with a new workflow <command id>/2, enqueued in DBOS'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_finish(%L, %L, 'succeeded')$$, concord_test.id('r'), pg_temp.wf('r')),
    'CN011', 'only_the_current_workflow_acts_for_its_command',
    'CN011: the run-1 workflow can no longer finish the retried command'
);

-- ===========================================================================
-- 5. Cancellation
-- ===========================================================================
SELECT is(concord_test.submit('q', 'rt_async'), 'queued', 'fixture: q queued');

SELECT is(concord.cancel_command(concord_test.id('q'), 'ann'), 'cancelled', 'a queued command is cancelled at once');

SELECT row_eq(
    format($$SELECT status, queue_name FROM dbos.workflow_status WHERE workflow_uuid = %L$$, pg_temp.wf('q')),
    ROW('CANCELLED'::text, NULL::text),
    'its DBOS workflow is CANCELLED in the same transaction (and off its queue)'
);

SELECT is(pg_temp.claim('q') ->> 'action', 'skip', 'its workflow, if it runs anyway, is told to skip');

SELECT is(concord_test.submit('rc', 'rt_async'), 'queued', 'fixture: rc queued');

SELECT is(pg_temp.claim('rc') ->> 'action', 'run', 'fixture: rc is running');

CREATE TEMP TABLE rc_before AS
SELECT w.* FROM dbos.workflow_status AS w WHERE w.workflow_uuid = pg_temp.wf('rc');

SELECT is(concord.cancel_command(concord_test.id('rc'), 'ann'), 'cancelling',
          'a running command moves to cancelling');

SELECT set_eq(
    format($$SELECT status, queue_name, updated_at, completed_at FROM dbos.workflow_status
             WHERE workflow_uuid = %L$$, pg_temp.wf('rc')),
    $$SELECT status, queue_name, updated_at, completed_at FROM rc_before$$,
    'cancelling a running command leaves its DBOS workflow as it was'
);

SELECT is(pg_temp.claim('rc') ->> 'action', 'cancel',
          'runtime_claim on a command whose cancellation was requested answers cancel');

-- ===========================================================================
-- 6. runtime_claim
-- ===========================================================================
SELECT is(concord_test.submit('cl', 'rt_async'), 'queued', 'fixture: cl queued');

CREATE TEMP TABLE cl_before AS
SELECT (SELECT count(*) FROM concord.domain_events WHERE command_id = concord_test.id('cl')) AS events,
       (SELECT updated_at FROM concord.commands WHERE command_id = concord_test.id('cl')) AS updated_at;

SELECT is(
    concord.runtime_claim(concord_test.id('cl'), 'someone-else', 'ex1'),
    jsonb_build_object('action', 'stale', 'status', 'queued', 'current_workflow_id', pg_temp.wf('cl')),
    'a workflow that is not the command''s current one gets stale (with the current workflow)'
);

SELECT row_eq(
    format($$SELECT status, (SELECT count(*) FROM concord.domain_events WHERE command_id = %1$L), updated_at
             FROM concord.commands WHERE command_id = %1$L$$, concord_test.id('cl')),
    (SELECT ROW('queued'::text, events, updated_at) FROM cl_before),
    'a stale claim changes nothing'
);

SELECT is(
    (pg_temp.claim('cl', 1, 'ex7') -> 'command') - 'trace_id',
    jsonb_build_object('command_id', concord_test.id('cl'), 'command_type', 'rt_async', 'status', 'running',
                       'payload', '{}'::jsonb, 'context', '{}'::jsonb, 'requested_by', 'req',
                       'idempotency_key', null, 'cancellation_mode', 'graceful',
                       'cancellation_requested', false, 'run_seq', 1, 'workflow_id', pg_temp.wf('cl')),
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
    (pg_temp.claim('cl', 1, 'ex8') ->> 'action')
    || (SELECT count(*) FROM concord.domain_events
        WHERE command_id = concord_test.id('cl') AND event_type = 'command_status_changed' AND to_status = 'running'),
    'run1',
    'a replayed claim answers run again and writes no second transition'
);

SELECT is(pg_temp.claim('p') ->> 'action', 'skip', 'a terminal command''s workflow is told to skip');

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_claim(%L, %L, ' ')$$, concord_test.id('cl'), pg_temp.wf('cl')),
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

SELECT is(pg_temp.claim('e') ->> 'action', 'run', 'fixture: e is running');

DO $$ BEGIN
    PERFORM pg_temp.remember(
        'e_eff',
        (concord.runtime_begin_effect(concord_test.id('e'), pg_temp.wf('e'), 'connector.x', '{"a": 1}', 'rt-e-1',
                                      'undo_x') ->> 'effect_id')::uuid);
END $$;

SELECT row_eq(
    $$SELECT status, executed_by_dbos_workflow_id, effect_type, effect_payload, declared_compensation
      FROM concord.domain_effects WHERE domain_effect_id = concord_test.id('e_eff')$$,
    ROW('executing'::text, pg_temp.wf('e'), 'connector.x'::text, '{"a": 1}'::jsonb, 'undo_x'::text),
    'runtime_begin_effect plans and starts the effect, executed by the command''s workflow'
);

SELECT is(
    concord.runtime_begin_effect(concord_test.id('e'), pg_temp.wf('e'), 'connector.x', '{"a": 1}', 'rt-e-1', 'undo_x')
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
    || (concord.runtime_begin_effect(concord_test.id('e'), pg_temp.wf('e'), 'connector.x', '{"a": 1}', 'rt-e-1',
                                     'undo_x') - 'effect_type' - 'idempotency_key' - 'error' - 'error_class')::text,
    'succeeded' || jsonb_build_object('action', 'done', 'effect_id', concord_test.id('e_eff'), 'status', 'succeeded',
                                      'result', '{"sent": true}'::jsonb, 'connector_key', 'rt-e-1')::text,
    'once completed, a replay answers done with the result'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_begin_effect(%L, %L, 'connector.x', '{"a": 2}', 'rt-e-1', 'undo_x')$$,
           concord_test.id('e'), pg_temp.wf('e')),
    'CN002', 'an_effect_idempotency_key_names_one_effect',
    'CN002: the same key with a different payload'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_begin_effect(%L, %L, 'connector.x', '{"a": 1}', 'rt-e-1', 'undo_y')$$,
           concord_test.id('e'), pg_temp.wf('e')),
    'CN002', 'an_effect_idempotency_key_names_one_effect',
    'CN002: the same key with a different declared compensation'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_begin_effect(%L, %L, 'connector.x', '{"a": 1}', 'rt-e-1', 'undo_x')$$,
           concord_test.id('cl'), pg_temp.wf('cl')),
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
           concord_test.id('p5'), pg_temp.wf('p5')),
    'CN011', 'only_a_running_command_starts_effects',
    'CN011: a queued command (not claimed) starts no effect'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_begin_effect(%L, %L, 'undo_x', '{}', 'rt-e-comp', null, %L)$$,
           concord_test.id('e'), pg_temp.wf('e'), concord_test.id('e_eff')),
    'CN011', 'compensations_run_only_while_compensating',
    'CN011: a compensation is refused while the command is running (not compensating)'
);

SELECT is(concord.cancel_command(concord_test.id('e'), 'ann'), 'cancelling', 'fixture: e is being cancelled');

SELECT is(
    concord.runtime_begin_effect(concord_test.id('e'), pg_temp.wf('e'), 'connector.x', '{}', 'rt-e-3'),
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

SELECT is(pg_temp.claim('k') ->> 'action', 'run', 'fixture: k is running');

DO $$ BEGIN
    PERFORM pg_temp.remember(
        'k_eff',
        (concord.runtime_begin_effect(concord_test.id('k'), pg_temp.wf('k'), 'connector.x', '{"a": 1}', 'rt-k-1',
                                      'undo_x') ->> 'effect_id')::uuid);
END $$;

SELECT is(
    concord.complete_effect(concord_test.id('k_eff'), '{}') || concord.cancel_command(concord_test.id('k'), 'ann')
    || concord.runtime_finish(concord_test.id('k'), pg_temp.wf('k'), 'compensating'),
    'succeededcancellingcompensating',
    'fixture: k''s effect succeeded, k was cancelled and its workflow moved it to compensating'
);

SELECT is(
    concord.runtime_begin_effect(concord_test.id('k'), pg_temp.wf('k'), 'undo_x', '{"a": 1}', 'rt-k-c1', null,
                                 concord_test.id('k_eff')) ->> 'action',
    'execute',
    'a compensation effect is accepted while the command is compensating'
);

SELECT row_eq(
    $$SELECT compensates_effect_id, status, executed_by_dbos_workflow_id FROM concord.domain_effects
      WHERE idempotency_key = 'rt-k-c1'$$,
    ROW(concord_test.id('k_eff'), 'executing'::text, pg_temp.wf('k')),
    'the compensation names the effect it counters and runs under the workflow'
);

SELECT is(
    concord.runtime_begin_effect(concord_test.id('k'), pg_temp.wf('k'), 'connector.y', '{}', 'rt-k-2') ->> 'action',
    'cancelled',
    'an ordinary effect while compensating a cancellation is answered cancelled'
);

-- ===========================================================================
-- 8. runtime_finish
-- ===========================================================================
SELECT is(concord_test.submit('f', 'rt_async') || concord_test.submit('f2', 'rt_async'), 'queuedqueued',
          'fixture: f and f2 queued');

SELECT is((pg_temp.claim('f') ->> 'action') || (pg_temp.claim('f2') ->> 'action'), 'runrun',
          'fixture: f and f2 are running');

SELECT is(
    concord.runtime_finish(concord_test.id('f'), pg_temp.wf('f'), 'succeeded', '{"n": 1}')
    || concord.runtime_finish(concord_test.id('f'), pg_temp.wf('f'), 'succeeded', '{"n": 1}'),
    'succeededsucceeded',
    'runtime_finish returns the status, and again on replay'
);

SELECT row_eq(
    format($$SELECT c.result, (SELECT count(*) FROM concord.domain_events AS e
                               WHERE e.command_id = c.command_id AND e.to_status = 'succeeded'),
                    (SELECT e.actor FROM concord.domain_events AS e
                     WHERE e.command_id = c.command_id AND e.to_status = 'succeeded')
             FROM concord.commands AS c WHERE c.command_id = %L$$, concord_test.id('f')),
    ROW('{"n": 1}'::jsonb, 1::bigint, 'workflow:' || pg_temp.wf('f')),
    'the result is stored and the transition audited once, under workflow:<id>'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_finish(%L, %L, 'failed', null, null, 'timeout')$$,
           concord_test.id('f2'), pg_temp.wf('f2')),
    'CN008', 'required_argument_is_not_blank',
    'CN008: failed without an error'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_finish(%L, %L, 'failed', null, 'boom')$$, concord_test.id('f2'), pg_temp.wf('f2')),
    'CN008', 'required_argument_is_not_blank',
    'CN008: failed without an error class'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_finish(%L, %L, 'failed', null, 'boom', 'no_such_class')$$,
           concord_test.id('f2'), pg_temp.wf('f2')),
    'CN008', 'error_class_is_known',
    'CN008: failed with an unknown error class'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_finish(%L, %L, 'done')$$, concord_test.id('f2'), pg_temp.wf('f2')),
    'CN008', 'command_status_is_known',
    'CN008: an unknown status'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_finish(%L, %L, 'succeeded')$$, concord_test.id('f2'), pg_temp.wf('f')),
    'CN011', 'only_the_current_workflow_acts_for_its_command',
    'CN011: another command''s workflow cannot finish it'
);

SELECT is(
    concord.runtime_finish(concord_test.id('f2'), pg_temp.wf('f2'), 'failed', null, 'boom', 'internal_error'),
    'failed',
    'runtime_finish to failed with an error and the runtime''s class internal_error'
);

SELECT row_eq(
    $$SELECT status, error, error_class FROM concord.commands WHERE command_id = concord_test.id('f2')$$,
    ROW('failed'::text, 'boom'::text, 'internal_error'::text),
    'the failure is recorded with its error and class'
);

-- ===========================================================================
-- 9. runtime_compensations
-- ===========================================================================
SELECT is(concord_test.submit('m', 'rt_comp'), 'queued', 'fixture: m (compensate_then_stop) queued');

SELECT is(pg_temp.claim('m') ->> 'action', 'run', 'fixture: m is running');

CREATE FUNCTION pg_temp.m_effect(key text, declared text, outcome text)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    id uuid := (concord.runtime_begin_effect(concord_test.id('m'), pg_temp.wf('m'), 'connector.x',
                                             jsonb_build_object('key', key), key, declared) ->> 'effect_id')::uuid;
BEGIN
    IF outcome = 'succeeded' THEN
        PERFORM concord.complete_effect(id, jsonb_build_object('done', key));
    ELSIF outcome = 'failed' THEN
        PERFORM concord.fail_effect(id, 'no', 'timeout');
    END IF;
    RETURN pg_temp.remember(key, id);
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
        jsonb_build_object('effect_id', concord_test.id('m-new'), 'effect_type', 'connector.x',
                           'payload', '{"key": "m-new"}'::jsonb, 'result', '{"done": "m-new"}'::jsonb,
                           'idempotency_key', 'm-new', 'declared_compensation', 'undo'),
        jsonb_build_object('effect_id', concord_test.id('m-old'), 'effect_type', 'connector.x',
                           'payload', '{"key": "m-old"}'::jsonb, 'result', '{"done": "m-old"}'::jsonb,
                           'idempotency_key', 'm-old', 'declared_compensation', 'undo')),
    'runtime_compensations lists the succeeded effects with a declared compensation, newest first'
);

SELECT is(
    concord.cancel_command(concord_test.id('m'), 'ann')
    || concord.runtime_finish(concord_test.id('m'), pg_temp.wf('m'), 'compensating'),
    'cancellingcompensating',
    'fixture: m is compensating'
);

CREATE FUNCTION pg_temp.m_compensate(label text, key text, outcome text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    id uuid := (concord.runtime_begin_effect(concord_test.id('m'), pg_temp.wf('m'), 'undo', '{}', key, null,
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
           concord_test.id('m'), pg_temp.wf('m')),
    'runtime_audit writes each of the runtime''s event types'
);

SELECT lives_ok(
    format($$SELECT concord.runtime_audit(%L, %L, 'compensation_started', '{"step": 1}')$$,
           concord_test.id('m'), pg_temp.wf('m')),
    'a replayed runtime_audit is accepted'
);

SELECT row_eq(
    format($$SELECT count(*), min(actor), min(target_id) FROM concord.domain_events
             WHERE command_id = %L AND event_type = 'compensation_started'$$, concord_test.id('m')),
    ROW(1::bigint, 'workflow:' || pg_temp.wf('m'), concord_test.id('m')::text),
    'the replay wrote nothing more: one row, under workflow:<id>'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_audit(%L, %L, 'command_status_changed', '{}')$$,
           concord_test.id('m'), pg_temp.wf('m')),
    'CN008', 'runtime_event_type_is_known',
    'CN008: runtime_audit refuses an event type it does not own (command_status_changed)'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_audit(%L, %L, null, '{}')$$, concord_test.id('m'), pg_temp.wf('m')),
    'CN008', 'runtime_event_type_is_known',
    'CN008: runtime_audit refuses a missing event type'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_audit(%L, 'not-my-workflow', 'compensation_started', '{}')$$,
           concord_test.id('m')),
    'CN011', 'only_the_current_workflow_acts_for_its_command',
    'CN011: runtime_audit for a command the workflow does not run'
);

-- ===========================================================================
-- 11. record_connector_invocation
-- ===========================================================================
DO $$ BEGIN
    PERFORM pg_temp.remember('inv', concord.record_connector_invocation(jsonb_build_object(
        'command_id', concord_test.id('cl'), 'connector_name', 'crm', 'capability', 'crm.update',
        'idempotency_key', 'rt-inv-1', 'attempt', 2, 'latency_ms', 12.5,
        'workflow_id', pg_temp.wf('cl'), 'executor_id', 'ex7',
        'input', '{"url": "https://crm", "password": "p4ss", "api_key": "k",
                   "headers": {"Authorization": "Bearer abc", "X-Trace": "Bearer zzz", "Accept": "json"},
                   "list": [{"Access_Token": "t"}, {"nested": {"client_secret": {"v": 1}}}],
                   "note": "bearer xyz", "keep": "Bearer"}'::jsonb,
        'output_summary', '{"id": 7, "session_cookie": "c", "auth": "Basic dXNlcjpwYXNz"}'::jsonb)));
END $$;

SELECT is(
    (SELECT request_payload FROM concord.connector_invocations WHERE connector_invocation_id = concord_test.id('inv')),
    '{"url": "https://crm", "password": "[redacted]", "api_key": "[redacted]",
      "headers": {"Authorization": "[redacted]", "X-Trace": "[redacted]", "Accept": "json"},
      "list": [{"Access_Token": "[redacted]"}, {"nested": {"client_secret": "[redacted]"}}],
      "note": "[redacted]", "keep": "Bearer"}'::jsonb,
    'the input is stored redacted: credential-like keys at any depth and Bearer strings'
);

SELECT is(
    (SELECT output_summary FROM concord.connector_invocations WHERE connector_invocation_id = concord_test.id('inv')),
    '{"id": 7, "session_cookie": "[redacted]", "auth": "[redacted]"}'::jsonb,
    'the output summary is redacted too (cookie key, Basic credential)'
);

SELECT row_eq(
    $$SELECT input_hash, status, error_class, attempt, latency_ms, dbos_workflow_id, executor_id, trace_id
      FROM concord.connector_invocations WHERE connector_invocation_id = concord_test.id('inv')$$,
    ROW(encode(sha256(convert_to(concord._redact(
            '{"url": "https://crm", "password": "p4ss", "api_key": "k",
              "headers": {"Authorization": "Bearer abc", "X-Trace": "Bearer zzz", "Accept": "json"},
              "list": [{"Access_Token": "t"}, {"nested": {"client_secret": {"v": 1}}}],
              "note": "bearer xyz", "keep": "Bearer"}'::jsonb)::text, 'UTF8')), 'hex'),
        'succeeded'::text, NULL::text, 2, 12.5::double precision, pg_temp.wf('cl'), 'ex7'::text,
        (concord_test.command('cl')).trace_id),
    'input_hash is the SHA-256 of the redacted input (it cannot test guesses of a secret); succeeded without an error class; the trace is the command''s'
);

DO $$ BEGIN
    PERFORM pg_temp.remember('inv_failed', concord.record_connector_invocation(jsonb_build_object(
        'command_id', concord_test.id('cl'), 'connector_name', 'crm', 'capability', 'crm.update',
        'input_hash', 'h-given', 'error', 'timed out', 'error_class', 'timeout')));
END $$;

SELECT is(
    (SELECT status || '|' || error || '|' || error_class || '|' || input_hash FROM concord.connector_invocations
     WHERE connector_invocation_id = concord_test.id('inv_failed')),
    'failed|timed out|timeout|h-given',
    'an invocation with an error class is failed; a given input_hash is kept'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.record_connector_invocation(jsonb_build_object(
        'command_id', %L, 'connector_name', 'crm', 'capability', 'x', 'error', 'e', 'error_class', 'flaky'))$$,
           concord_test.id('cl')),
    'CN008', 'error_class_is_known',
    'CN008: an unknown error class'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.record_connector_invocation(jsonb_build_object(
        'command_id', gen_random_uuid(), 'connector_name', 'crm', 'capability', 'x'))$$,
    'CN006', 'the_command_exists',
    'CN006: an unknown command'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.record_connector_invocation('{"connector_name": "crm", "capability": "x"}')$$,
    'CN006', 'the_command_exists',
    'CN006: no command at all'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.record_connector_invocation('[]')$$,
    'CN008', 'a_connector_invocation_is_a_json_object',
    'CN008: an invocation that is not an object'
);

-- ===========================================================================
-- 12. Connectors hold no raw secrets
-- ===========================================================================
SELECT is(
    concord.register_connector(
        '{"name": "crm", "connector_type": "http", "capabilities": ["crm.update"], "risk_level": "medium",
          "config": {"base_url": "https://crm", "headers": {"Authorization": "env://CRM_AUTH"},
                     "client_secret": "file:///run/secrets/crm", "password": "", "retries": 3}}'),
    'crm',
    'register_connector accepts env:// and file:// references'
);

SELECT row_eq(
    $$SELECT connector_type, capabilities, risk_level, config -> 'headers' FROM concord.connectors
      WHERE connector_name = 'crm'$$,
    ROW('http'::text, '{crm.update}'::text[], 'medium'::text, '{"Authorization": "env://CRM_AUTH"}'::jsonb),
    'the connector is stored as given'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_connector('{"name": "c_raw1", "connector_type": "http",
                                          "config": {"targets": [{"deep": {"password": "hunter2"}}]}}')$$,
    'CN005', 'connector_config_holds_no_raw_secret',
    'CN005: a raw password deep inside an array of objects'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_connector('{"name": "c_raw2", "connector_type": "http",
                                          "config": {"headers": {"Authorization": "Bearer abc"}}}')$$,
    'CN005', 'connector_config_holds_no_raw_secret',
    'CN005: a raw Authorization header'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_connector('{"name": "c_raw3", "connector_type": "http",
                                          "config": {"headers": {"X-Auth": "Basic dXNlcjpwYXNz"}}}')$$,
    'CN005', 'connector_config_holds_no_raw_secret',
    'CN005: a raw Basic credential under any key'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_connector('{"name": "c_raw4", "connector_type": "http", "config": {"api_key": 12345}}')$$,
    'CN005', 'connector_config_holds_no_raw_secret',
    'CN005: a raw secret that is a number'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_connector('{"name": "c_raw5", "connector_type": "http",
                                          "config": {"api_keys": ["sk-live-123"]}}')$$,
    'CN005', 'connector_config_holds_no_raw_secret',
    'CN005: raw secrets in an array under a credential key'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_connector('{"name": "c_raw6", "connector_type": "postgres",
                                          "config": {"dsn": "postgresql://app:hunter2@db.internal/app"}}')$$,
    'CN005', 'connector_config_holds_no_raw_secret',
    'CN005: a connection URI with an inline password'
);

SELECT concord_test.throws_rule(
    $$INSERT INTO concord.connectors (connector_name, connector_type, config)
      VALUES ('c_raw_insert', 'http', '{"a": {"token": "raw"}}')$$,
    'CN005', 'connector_config_holds_no_raw_secret',
    'CN005: the owner cannot INSERT a raw secret either'
);

SELECT concord_test.throws_rule(
    $$UPDATE concord.connectors SET config = '{"headers": {"Cookie": "sid=1"}}' WHERE connector_name = 'crm'$$,
    'CN005', 'connector_config_holds_no_raw_secret',
    'CN005: nor UPDATE one in'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_connector('{"name": "c_bad", "connector_type": "http", "colour": "red"}')$$,
    'CN005', 'a_spec_has_only_known_keys',
    'CN005: an unknown connector spec key'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_connector('{"name": "c_bad", "connector_type": "http", "risk_level": "extreme"}')$$,
    'CN005', 'connector_spec_is_valid',
    'CN005: an unknown risk level'
);

-- ===========================================================================
-- 13. Queues, operations, schedules
-- ===========================================================================
SELECT set_eq(
    'SELECT queue_name FROM concord.runtime_queues',
    ARRAY['concord_default', 'connector_calls', 'agent_runs', 'swarm_children', 'notifications',
          'scheduled_maintenance'],
    'the seeded queues exist'
);

SELECT is(
    concord.register_queue('{"name": "rt_q", "worker_concurrency": 2, "rate_limit": 5, "rate_period_sec": 1.5}'),
    'rt_q',
    'register_queue accepts a valid spec'
);

SELECT row_eq(
    $$SELECT worker_concurrency, global_concurrency, rate_limit, rate_period_sec, polling_interval_sec
      FROM concord.runtime_queues WHERE queue_name = 'rt_q'$$,
    ROW(2, NULL::integer, 5, 1.5::double precision, 0.05::double precision),
    'the queue is stored with its limits and the default polling interval'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_queue('{"name": "rt_q2", "concurrency": 2}')$$,
    'CN005', 'a_spec_has_only_known_keys',
    'CN005: an unknown queue spec key'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_queue('{"name": "rt_q2", "rate_limit": 5}')$$,
    'CN005', 'queue_spec_is_valid',
    'CN005: rate_limit without rate_period_sec'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_queue('{"name": "rt_q2", "worker_concurrency": "many"}')$$,
    'CN005', 'queue_spec_is_valid',
    'CN005: a concurrency that is not an integer'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_queue('{"name": "Bad Queue"}')$$,
    'CN005', 'queue_spec_is_valid',
    'CN005: a queue name that is not an identifier'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_operations('[{"command_type": "rt_nope", "queue": "rt_q", "function_name": "f"}]',
                                         'ex1', 'v1')$$,
    'CN009', 'command_type_is_registered',
    'CN009: an operation for an unknown command type'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_operations('[{"command_type": "rt_ops", "queue": "rt_nope", "function_name": "f"}]',
                                         'ex1', 'v1')$$,
    'CN009', 'the_queue_is_registered',
    'CN009: an operation on an unknown queue'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_operations('[{"command_type": "rt_ops", "function_name": "f"}]', 'ex1', 'v1')$$,
    'CN005', 'operation_catalog_is_valid',
    'CN005: an operation that names no queue is a malformed entry'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_operations(
        '[{"command_type": "rt_ops2", "queue": "rt_q", "function_name": "f", "requires_compensaton": true}]',
        'ex1', 'v1')$$,
    'CN005', 'operation_catalog_is_valid',
    'CN005: an operation with an unknown key'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_operations('[{"command_type": "rt_ops2", "queue": "rt_q"}]', 'ex1', 'v1')$$,
    'CN005', 'operation_catalog_is_valid',
    'CN005: an operation without a function_name'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_operations('{"command_type": "rt_ops"}', 'ex1', 'v1')$$,
    'CN005', 'the_operation_catalog_is_a_json_array',
    'CN005: a catalog that is not an array'
);

SELECT is(
    concord.register_operations(
        '[{"command_type": "rt_ops", "queue": "connector_calls", "function_name": "app.rt_ops"}]', 'ex2', 'v1'),
    0,
    'registering the same catalog again changes nothing (from another executor too)'
);

SELECT set_eq(
    $$SELECT schedule_name, cron, command_type, queue_name, enabled FROM concord.schedules$$,
    $$VALUES ('expire_approvals', '0 * * * * *', 'concord.expire_approvals', 'scheduled_maintenance', true)$$,
    'the seeded schedule expire_approvals exists'
);

SELECT row_eq(
    $$SELECT async_required, sync_allowed FROM concord.command_types WHERE command_type = 'concord.expire_approvals'$$,
    ROW(true, false),
    'the seeded command type concord.expire_approvals exists and is asynchronous'
);

SELECT is(
    concord.register_schedule(
        '{"name": "rt_s", "cron": "*/5 * * * *", "command_type": "rt_async", "queue": "rt_q",
          "payload_template": {"at": "{{tick}}", "by": "{{schedule_name}}", "n": 1}}'),
    'rt_s',
    'register_schedule accepts a valid spec'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_schedule('{"name": "rt_s2", "cron": "* * * * *", "command_type": "rt_async",
                                          "every": "minute"}')$$,
    'CN005', 'a_spec_has_only_known_keys',
    'CN005: an unknown schedule spec key'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_schedule('{"name": "rt_s2", "cron": "* * * * *", "command_type": "rt_nope"}')$$,
    'CN009', 'command_type_is_registered',
    'CN009: a schedule of an unknown command type'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_schedule('{"name": "rt_s2", "cron": "* * * * *", "command_type": "rt_async",
                                          "queue": "rt_nope"}')$$,
    'CN009', 'the_queue_is_registered',
    'CN009: a schedule on an unknown queue'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_schedule('{"name": "rt_s2", "cron": "* * *", "command_type": "rt_async"}')$$,
    'CN005', 'a_schedule_cron_is_valid',
    'CN005: a cron expression without 5 or 6 fields'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_schedule('{"name": "rt_s2", "cron": "* * * * *", "command_type": "rt_async",
                                          "payload_template": ["x"]}')$$,
    'CN005', 'schedule_spec_is_valid',
    'CN005: a payload template that is not an object'
);

DO $$ BEGIN
    PERFORM pg_temp.remember('tick1', concord.submit_scheduled('rt_s', '2026-01-02 03:04:05+00'));
END $$;

SELECT is(
    concord.submit_scheduled('rt_s', '2026-01-02 04:04:05+01'),
    concord_test.id('tick1'),
    'the same tick submitted again (another worker) returns the same command'
);

SELECT is(
    (SELECT count(*) FROM concord.commands WHERE idempotency_key LIKE 'schedule:rt_s:%'),
    1::bigint,
    'one command for the tick'
);

SELECT row_eq(
    $$SELECT command_type, payload, requested_by, ingress, context, status FROM concord.commands
      WHERE command_id = concord_test.id('tick1')$$,
    ROW('rt_async'::text, '{"at": "2026-01-02T03:04:05.000000Z", "by": "rt_s", "n": 1}'::jsonb, 'schedule:rt_s'::text,
        'schedule'::text, '{"schedule_name": "rt_s", "tick": "2026-01-02T03:04:05.000000Z"}'::jsonb, 'queued'::text),
    'the scheduled command has the template filled ({{tick}}, {{schedule_name}}), requested_by schedule:<name>, queued'
);

SELECT is(
    pg_temp.dbos_status(pg_temp.wf('tick1')),
    'ENQUEUED',
    'the scheduled command is handed off like any other'
);

SELECT isnt(
    concord.submit_scheduled('rt_s', '2026-01-02 03:09:05+00'),
    concord_test.id('tick1'),
    'another tick submits a new command'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.submit_scheduled('rt_nope', now())$$,
    'CN006', 'the_schedule_exists',
    'CN006: an unknown schedule'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.submit_scheduled('rt_s', null)$$,
    'CN008', 'the_schedule_tick_is_given',
    'CN008: a tick is required'
);

DO $$ BEGIN
    PERFORM pg_temp.remember('tick_expire', concord.submit_scheduled('expire_approvals', '2026-01-02 03:00:00+00'));
END $$;

SELECT is(
    (SELECT command_type || '|' || status || '|' || requested_by FROM concord.commands
     WHERE command_id = concord_test.id('tick_expire')),
    'concord.expire_approvals|queued|schedule:expire_approvals',
    'a tick of the seeded expire_approvals schedule queues a concord.expire_approvals command'
);

-- ===========================================================================
-- 14. store_notification
-- ===========================================================================
DO $$ BEGIN
    PERFORM pg_temp.remember('note', concord.store_notification('ann', 'Done', 'Your report is ready', 'app',
                                                               concord_test.id('f'), 'rt-note-1'));
END $$;

SELECT is(
    concord.store_notification('ann', 'Done', 'Your report is ready', 'app', concord_test.id('f'), 'rt-note-1')::text
    || '|' || (SELECT count(*) FROM concord.notifications WHERE idempotency_key = 'rt-note-1'),
    concord_test.id('note')::text || '|1',
    'store_notification is idempotent by key: the same id, one row'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.store_notification('ann', 'Done', 'Something else', 'app', %L, 'rt-note-1')$$,
           concord_test.id('f')),
    'CN002', 'a_notification_idempotency_key_names_one_notification',
    'CN002: the same key for a different notification'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.store_notification('ann', 'Done', 'x', 'sms')$$,
    'CN008', 'notification_channel_is_app_or_email',
    'CN008: an unknown channel'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.store_notification('ann', 'Done', 'x', 'app', gen_random_uuid())$$,
    'CN006', 'the_command_exists',
    'CN006: a notification about an unknown command'
);

-- ===========================================================================
-- 15. Cancellation from DBOS's side, late outcomes, append-only records
-- ===========================================================================
SELECT is(concord_test.submit('wc', 'rt_async') || concord_test.submit('wq', 'rt_async'), 'queuedqueued',
          'fixture: wc and wq queued');

SELECT is(pg_temp.claim('wc') ->> 'action', 'run', 'fixture: wc is running');

SELECT is(
    concord.runtime_workflow_cancelled(concord_test.id('wc'), pg_temp.wf('wc'), 'ex1')
    || concord.runtime_workflow_cancelled(concord_test.id('wc'), pg_temp.wf('wc'), 'ex1'),
    'cancellingcancelling',
    'runtime_workflow_cancelled moves a running command to cancelling, and again on replay'
);

SELECT results_eq(
    format($$SELECT workflow_uuid, status, name FROM dbos.workflow_status
             WHERE workflow_uuid LIKE %L || '/%%'$$, concord_test.id('wc')),
    format($$VALUES (%L, 'ENQUEUED', 'concord.finish_cancellation')$$, pg_temp.wf('wc') || '/cancel'),
    'one follow-up workflow <workflow id>/cancel (concord.finish_cancellation) is enqueued'
);

SELECT is(
    concord.runtime_claim(concord_test.id('wc'), pg_temp.wf('wc') || '/cancel', 'ex2') ->> 'action',
    'cancel',
    'the follow-up workflow''s claim answers cancel'
);

SELECT is(
    concord.runtime_finish(concord_test.id('wc'), pg_temp.wf('wc'), 'succeeded', '{"late": true}')
    || '|' || (concord_test.command('wc')).status,
    'cancelling|cancelling',
    'an outcome that arrives after the cancellation request does not end the command'
);

SELECT is(
    concord.runtime_finish(concord_test.id('wc'), pg_temp.wf('wc') || '/cancel', 'cancelled')
    || '|' || (concord.runtime_claim(concord_test.id('wc'), pg_temp.wf('wc') || '/cancel', 'ex2') ->> 'action'),
    'cancelled|skip',
    'the follow-up workflow finishes the cancellation; claiming again it is told to skip'
);

SELECT is(
    concord.runtime_workflow_cancelled(concord_test.id('wq'), pg_temp.wf('wq'), 'ex1') || '|'
    || pg_temp.dbos_status(pg_temp.wf('wq')) || '|' || pg_temp.dbos_rows('wq'),
    'cancelled|CANCELLED|1',
    'a workflow cancelled in DBOS before it started cancels its queued command, with no follow-up'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.connector_invocations SET status = 'failed', error_class = 'timeout'
             WHERE connector_invocation_id = %L$$, concord_test.id('inv')),
    'CN007', 'connector_invocations_are_append_only',
    'CN007: the owner cannot rewrite a connector invocation'
);

SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.connector_invocations WHERE connector_invocation_id = %L$$, concord_test.id('inv')),
    'CN007', 'connector_invocations_are_append_only',
    'CN007: nor delete one'
);

SELECT lives_ok(
    format($$UPDATE concord.notifications SET read_at = now() WHERE notification_id = %L$$, concord_test.id('note')),
    'a notification is marked read'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.notifications SET read_at = now() + interval '1 hour' WHERE notification_id = %L$$,
           concord_test.id('note')),
    'CN007', 'only_read_at_changes_and_only_once',
    'CN007: read_at is set once'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.notifications SET body = 'rewritten' WHERE notification_id = %L$$, concord_test.id('note')),
    'CN007', 'only_read_at_changes_and_only_once',
    'CN007: a notification''s content never changes'
);

SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.notifications WHERE notification_id = %L$$, concord_test.id('note')),
    'CN007', 'notifications_are_not_deleted',
    'CN007: notifications are kept'
);

-- ===========================================================================
-- 16. Privileges
-- ===========================================================================
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_catalog.pg_proc AS p
      WHERE p.pronamespace = 'concord'::regnamespace AND p.proname LIKE 'runtime\_%'
        AND NOT has_function_privilege('concord_worker', p.oid, 'EXECUTE')$$,
    'concord_worker may execute every runtime_* function'
);

SELECT is(
    (SELECT count(*) FROM pg_catalog.pg_proc AS p
     WHERE p.pronamespace = 'concord'::regnamespace AND p.proname LIKE 'runtime\_%'),
    10::bigint,
    'there are ten runtime_* functions (the check above is not vacuous)'
);

SELECT is_empty(
    $$SELECT c.oid::regclass FROM pg_catalog.pg_class AS c
      WHERE c.relnamespace = 'concord'::regnamespace AND c.relkind IN ('r', 'p', 'v')
        AND has_table_privilege('concord_worker', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')$$,
    'concord_worker may write no concord table or view'
);

SELECT is(concord_test.submit('wk', 'rt_async'), 'queued', 'fixture: wk queued');

SELECT is(
    pg_temp.as_role('concord_worker', format($$SELECT concord.runtime_claim(%L, %L, 'exw')$$,
                                            concord_test.id('wk'), pg_temp.wf('wk')))
    || '|' || (concord_test.command('wk')).status,
    'ok|running',
    'as concord_worker, runtime_claim runs and claims the command'
);

SELECT is(
    pg_temp.as_role('concord_worker', format($$SELECT concord.runtime_finish(%L, %L, 'succeeded', '{}')$$,
                                            concord_test.id('wk'), pg_temp.wf('wk')))
    || '|' || (concord_test.command('wk')).status,
    'ok|succeeded',
    'as concord_worker, runtime_finish finishes it'
);

SELECT is(
    pg_temp.as_role('concord_worker', $$SELECT concord.submit_scheduled('rt_s', '2027-01-01 00:00:00+00')$$),
    'ok',
    'as concord_worker, submit_scheduled submits (and hands off) a scheduled command'
);

SELECT is(
    pg_temp.as_role('concord_worker', format($$UPDATE concord.commands SET status = 'running' WHERE command_id = %L$$,
                                            concord_test.id('cl'))),
    '42501',
    'concord_worker cannot UPDATE commands directly'
);

SELECT is(
    pg_temp.as_role('concord_worker',
                    $$INSERT INTO concord.notifications (recipient, subject) VALUES ('ann', 'forged')$$),
    '42501',
    'concord_worker cannot INSERT notifications directly'
);

SELECT is(
    pg_temp.as_role('concord_worker',
                    $$SELECT (SELECT count(*) FROM concord.runtime_queue_config) + (SELECT count(*) FROM concord.connector_catalog)
                             + (SELECT count(*) FROM concord.schedule_catalog) + (SELECT count(*) FROM concord.operation_catalog)$$),
    'ok',
    'concord_worker reads the runtime configuration through its views'
);

SELECT is(
    pg_temp.as_role('concord_worker', $$SELECT count(*) FROM concord.connectors$$),
    '42501',
    'concord_worker cannot read the connectors table itself'
);

SELECT is(
    pg_temp.as_role('concord_app', format($$SELECT concord.runtime_claim(%L, %L, 'x')$$,
                                         concord_test.id('p5'), pg_temp.wf('p5'))),
    '42501',
    'concord_app cannot execute runtime_claim'
);

SELECT is(
    pg_temp.as_role('concord_app', format($$SELECT concord.runtime_finish(%L, %L, 'succeeded')$$,
                                         concord_test.id('cl'), pg_temp.wf('cl'))),
    '42501',
    'concord_app cannot execute runtime_finish'
);

SELECT is(
    pg_temp.as_role('concord_app', $$SELECT concord.register_connector('{"name": "c_app", "connector_type": "http"}')$$),
    '42501',
    'concord_app cannot register a connector'
);

SELECT is(
    pg_temp.as_role('concord_admin', $$SELECT concord.register_connector('{"name": "c_admin", "connector_type": "http"}')$$),
    'ok',
    'concord_admin registers a connector'
);

SELECT * FROM finish();
ROLLBACK;
