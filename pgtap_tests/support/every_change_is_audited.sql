-- Every state change and every effect change writes its audit row in
-- concord.domain_events (purpose 'audit', actor, trace_id, from_status,
-- to_status, reason) in the same transaction -- through the API or through a
-- direct UPDATE by the table owner (actor = the session user). Spec 25, 35.
BEGIN;
SELECT plan(30);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_audit", "sync_allowed": true}');
END $$;

-- A validated command (sync type).
CREATE FUNCTION pg_temp.new_command(label text)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    id uuid;
BEGIN
    SELECT s.command_id INTO id FROM concord.submit_command('t_audit', '{}', 'submitter') AS s;
    INSERT INTO concord_test.fixture VALUES (label, id);
    RETURN id;
END
$$;

CREATE FUNCTION pg_temp.events(label text)
RETURNS bigint
LANGUAGE sql
AS $$ SELECT count(*) FROM concord.domain_events AS e WHERE e.command_id = concord_test.id(events.label) $$;

-- The latest event of a command.
CREATE FUNCTION pg_temp.last_event(label text)
RETURNS concord.domain_events
LANGUAGE sql
AS $$
    SELECT e.* FROM concord.domain_events AS e
    WHERE e.command_id = concord_test.id(last_event.label)
    ORDER BY e.event_seq DESC LIMIT 1
$$;

-- ---------------------------------------------------------------------------
-- transition_command
-- ---------------------------------------------------------------------------
SELECT pg_temp.new_command('api') IS NOT NULL AS fixture \gset
CREATE TEMP TABLE before AS SELECT pg_temp.events('api') AS n;

SELECT is(
    concord_test.move_as_run(concord_test.id('api'), 'running', 'alice', 'picked up by worker 7'),
    'running',
    'transition_command returns the new status'
);

SELECT is(
    pg_temp.events('api'),
    (SELECT n + 1 FROM before),
    'one state change writes exactly one event'
);

SELECT row_eq(
    $$SELECT purpose, event_type, actor, reason, from_status, to_status, target_type, target_id
      FROM pg_temp.last_event('api')$$,
    ROW('audit'::text, 'command_status_changed'::text, 'alice'::text, 'picked up by worker 7'::text,
        'validated'::text, 'running'::text, 'command'::text, concord_test.id('api')::text),
    'the audit row records purpose audit, actor, reason, from_status and to_status'
);

SELECT is(
    (SELECT trace_id FROM pg_temp.last_event('api')),
    (SELECT trace_id FROM concord.commands WHERE command_id = concord_test.id('api')),
    'the audit row carries the command''s trace_id'
);

SELECT ok(
    (SELECT e.xmin FROM concord.domain_events AS e WHERE e.event_id = (pg_temp.last_event('api')).event_id) = pg_current_xact_id()::xid
    AND (SELECT xmin FROM concord.commands WHERE command_id = concord_test.id('api')) = pg_current_xact_id()::xid,
    'the audit row is written by the same transaction as the state change'
);

SELECT is(
    concord_test.move_as_run(concord_test.id('api'), 'succeeded', 'alice', result => '{"rows": 3}'),
    'succeeded',
    'fixture: running -> succeeded with a result'
);

SELECT row_eq(
    $$SELECT from_status, to_status, payload -> 'result' FROM pg_temp.last_event('api')$$,
    ROW('running'::text, 'succeeded'::text, '{"rows": 3}'::jsonb),
    'the audit row of a success carries the result'
);

SELECT row_eq(
    $$SELECT result, completed_at IS NOT NULL FROM concord.commands WHERE command_id = concord_test.id('api')$$,
    ROW('{"rows": 3}'::jsonb, true),
    'the succeeded command stores its result and completed_at'
);

SELECT pg_temp.new_command('failing') IS NOT NULL AS fixture \gset
SELECT is(
    concord_test.move_as_run(concord_test.id('failing'), 'failed', 'worker', 'gave up',
                               error => 'timeout talking to crm', error_class => 'timeout'),
    'failed',
    'fixture: validated -> failed with an error'
);

SELECT row_eq(
    $$SELECT from_status, to_status, reason, payload ->> 'error', payload ->> 'error_class'
      FROM pg_temp.last_event('failing')$$,
    ROW('validated'::text, 'failed'::text, 'gave up'::text, 'timeout talking to crm'::text,
        'timeout'::text),
    'the audit row of a failure carries error and error_class'
);

-- ---------------------------------------------------------------------------
-- A refused change leaves no trace; a rolled-back change takes its row along
-- ---------------------------------------------------------------------------
SELECT pg_temp.new_command('refused') IS NOT NULL AS fixture \gset
TRUNCATE before;
INSERT INTO before SELECT pg_temp.events('refused');

SELECT concord_test.throws_rule(
    format($$SELECT concord_test.move_as_run(%L, 'succeeded', 'alice')$$, concord_test.id('refused')),
    'CN001', 'a_status_change_follows_the_state_machine',
    'CN001: validated -> succeeded is refused'
);

SELECT is(
    pg_temp.events('refused'),
    (SELECT n FROM before),
    'a refused transition writes no event'
);

SAVEPOINT before_change;
SELECT concord.transition_command(concord_test.id('refused'), 'queued', 'alice') AS changed \gset
ROLLBACK TO SAVEPOINT before_change;
RELEASE SAVEPOINT before_change;

SELECT row_eq(
    format($$SELECT c.status, (SELECT count(*) FROM concord.domain_events AS e WHERE e.command_id = %1$L)
             FROM concord.commands AS c WHERE c.command_id = %1$L$$, concord_test.id('refused')),
    ROW('validated'::text, (SELECT n FROM before)),
    'a rolled-back change takes its audit row with it (status and events as before)'
);

-- ---------------------------------------------------------------------------
-- Direct UPDATE by the owner: still checked, still audited
-- ---------------------------------------------------------------------------
SELECT pg_temp.new_command('direct') IS NOT NULL AS fixture \gset
TRUNCATE before;
INSERT INTO before SELECT pg_temp.events('direct');

UPDATE concord.commands SET status = 'queued' WHERE command_id = concord_test.id('direct');

SELECT is(
    pg_temp.events('direct'),
    (SELECT n + 2 FROM before),
    'a direct UPDATE into queued writes exactly two events: the status change and the hand-off to the runtime'
);

SELECT results_eq(
    format($$SELECT purpose, event_type, actor, from_status, to_status, reason FROM concord.domain_events
             WHERE command_id = %L ORDER BY event_seq DESC LIMIT 2$$, concord_test.id('direct')),
    $$VALUES ('audit'::text, 'workflow_enqueued'::text, session_user::text COLLATE "default", 'queued'::text,
              'queued'::text, NULL::text),
             ('audit'::text, 'command_status_changed'::text, session_user::text COLLATE "default",
              'validated'::text, 'queued'::text, NULL::text)$$,
    'a direct UPDATE is audited with the session user as actor (status change, then workflow_enqueued)'
);

SELECT ok(
    (SELECT trace_id FROM pg_temp.last_event('direct'))
        = (SELECT trace_id FROM concord.commands WHERE command_id = concord_test.id('direct'))
    AND (SELECT e.xmin FROM concord.domain_events AS e WHERE e.event_id = (pg_temp.last_event('direct')).event_id) = pg_current_xact_id()::xid,
    'a direct UPDATE''s audit row carries the trace_id and is written in the same transaction'
);

-- the moves a run makes: the owner names the command's run, as only the owner can
SELECT set_config('concord.worker_run', concord_test.workflow_of('direct'), true) IS NOT NULL AS fixture \gset
UPDATE concord.commands SET status = 'running' WHERE command_id = concord_test.id('direct');
UPDATE concord.commands SET status = 'blocked' WHERE command_id = concord_test.id('direct');
UPDATE concord.commands SET status = 'running' WHERE command_id = concord_test.id('direct');
UPDATE concord.commands SET status = 'succeeded' WHERE command_id = concord_test.id('direct');
SELECT set_config('concord.worker_run', '', true) IS NOT NULL AS fixture \gset

-- the creation row names the path its insert took (created -> validated),
-- each later change has its own row
SELECT is(
    (SELECT array_agg(edges.edge ORDER BY e.event_seq, edges.step)
     FROM concord.domain_events AS e,
          LATERAL (SELECT p.step, (e.payload -> 'path' ->> (p.step - 1)) || '>' || (e.payload -> 'path' ->> p.step)
                   FROM generate_series(1, jsonb_array_length(e.payload -> 'path') - 1) AS p (step)
                   WHERE e.event_type = 'command_created'
                   UNION ALL
                   SELECT 0, e.from_status || '>' || e.to_status
                   WHERE e.event_type = 'command_status_changed') AS edges (step, edge)
     WHERE e.command_id = concord_test.id('direct')),
    ARRAY['created>validated', 'validated>queued', 'queued>running', 'running>blocked',
          'blocked>running', 'running>succeeded'],
    'the status events of a command form an unbroken chain, one per change, in order'
);

SELECT is(
    (SELECT count(*) FROM concord.command_audit WHERE command_id = concord_test.id('direct')),
    pg_temp.events('direct'),
    'command_audit shows every audit event of the command'
);

-- ---------------------------------------------------------------------------
-- Replays (DESIGN: a function the worker calls may run twice after a crash;
-- the second call must change nothing and return the same answer)
-- ---------------------------------------------------------------------------
-- The value sql returns, or 'raised <SQLSTATE>: <message>'.
CREATE FUNCTION pg_temp.outcome(sql text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    answer text;
    state text;
    msg text;
BEGIN
    EXECUTE sql INTO answer;
    RETURN answer;
EXCEPTION
    WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        RETURN format('raised %s: %s', state, msg);
END
$$;

SELECT pg_temp.new_command('replay') IS NOT NULL AS fixture \gset
SELECT concord_test.move_as_run(concord_test.id('replay'), 'running', 'worker') AS fixture \gset
SELECT concord_test.move_as_run(concord_test.id('replay'), 'succeeded', 'worker',
                                  result => '{"rows": 1}') AS fixture \gset
TRUNCATE before;
INSERT INTO before SELECT pg_temp.events('replay');

SELECT is(
    pg_temp.outcome(format($$SELECT concord_test.move_as_run(%L, 'succeeded', 'worker', result => '{"rows": 1}')$$,
                           concord_test.id('replay'))),
    'succeeded',
    'replaying the call that made a command succeeded returns succeeded (no CN007 on a replay)'
);

SELECT is(
    pg_temp.events('replay'),
    (SELECT n FROM before),
    'the replayed transition writes no event'
);

SELECT pg_temp.new_command('refail') IS NOT NULL AS fixture \gset
SELECT concord_test.move_as_run(concord_test.id('refail'), 'failed', 'worker',
                                  error => 'first error', error_class => 'timeout') AS fixture \gset
TRUNCATE before;
INSERT INTO before SELECT pg_temp.events('refail');
SELECT pg_temp.outcome(format(
    $$SELECT concord_test.move_as_run(%L, 'failed', 'someone', error => 'other error', error_class => 'rate_limited')$$,
    concord_test.id('refail'))) AS fixture \gset

SELECT ok(
    (SELECT ARRAY[error, error_class] FROM concord.commands WHERE command_id = concord_test.id('refail'))
        = ARRAY['first error', 'timeout']
    OR pg_temp.events('refail') > (SELECT n FROM before),
    'transition_command to the status a command is already in does not rewrite its recorded error unaudited'
);

-- ---------------------------------------------------------------------------
-- Cancellation requests and dependencies are audited too
-- ---------------------------------------------------------------------------
SELECT pg_temp.new_command('cancel') IS NOT NULL AS fixture \gset
SELECT concord_test.move_as_run(concord_test.id('cancel'), 'running', 'worker') AS fixture \gset
SELECT concord.cancel_command(concord_test.id('cancel'), 'operator', 'customer asked',
                              'compensate_then_stop') AS fixture \gset

SELECT row_eq(
    $$SELECT actor, from_status, to_status, reason, payload ->> 'cancellation_mode'
      FROM pg_temp.last_event('cancel')$$,
    ROW('operator'::text, 'running'::text, 'cancelling'::text, 'customer asked'::text,
        'compensate_then_stop'::text),
    'a cancellation request is audited with its actor, reason and mode'
);

SELECT pg_temp.new_command('child') IS NOT NULL AS fixture \gset
SELECT pg_temp.new_command('parent') IS NOT NULL AS fixture \gset
SELECT concord.add_dependency(concord_test.id('child'), concord_test.id('parent')) IS NULL AS fixture \gset

SELECT row_eq(
    $$SELECT purpose, event_type, target_id, payload ->> 'required_status'
      FROM pg_temp.last_event('child')$$,
    ROW('audit'::text, 'dependency_added'::text, concord_test.id('parent')::text, 'succeeded'::text),
    'adding a dependency writes an audit event on the child'
);

-- ---------------------------------------------------------------------------
-- Effect changes
-- ---------------------------------------------------------------------------
SELECT pg_temp.new_command('effects') IS NOT NULL AS fixture \gset
SELECT concord_test.run('effects') AS effects_wf \gset
INSERT INTO concord_test.fixture
SELECT 'ok_effect', concord.plan_effect(concord_test.id('effects'), 'email.send', '{"to": "a@b.c"}');
INSERT INTO concord_test.fixture
SELECT 'bad_effect', concord.plan_effect(concord_test.id('effects'), 'crm.update', '{}');

SELECT row_eq(
    $$SELECT purpose, event_type, target_type, target_id, from_status, to_status
      FROM concord.domain_events WHERE command_id = concord_test.id('effects') AND event_type = 'effect_planned'
      ORDER BY event_seq LIMIT 1$$,
    ROW('audit'::text, 'effect_planned'::text, 'effect'::text, concord_test.id('ok_effect')::text,
        NULL::text, 'planned'::text),
    'planning an effect writes an audit event (to_status planned) on its command'
);

SELECT concord.start_effect(concord_test.id('ok_effect'), :'effects_wf') AS fixture \gset
SELECT concord.complete_effect(concord_test.id('ok_effect'), '{"message_id": "m-1"}') AS fixture \gset
SELECT concord.start_effect(concord_test.id('bad_effect'), :'effects_wf') AS fixture \gset
SELECT concord.fail_effect(concord_test.id('bad_effect'), 'crm said 500', 'transient_connector_error') AS fixture \gset

SELECT is(
    (SELECT array_agg(coalesce(e.from_status, '') || '>' || e.to_status ORDER BY e.event_seq)
     FROM concord.domain_events AS e
     WHERE e.target_type = 'effect' AND e.target_id = concord_test.id('ok_effect')::text),
    ARRAY['>planned', 'planned>executing', 'executing>succeeded'],
    'every change of an effect writes one audit event: planned, executing, succeeded'
);

SELECT is(
    (SELECT array_agg(DISTINCT e.purpose || '/' || e.trace_id) FROM concord.domain_events AS e
     WHERE e.target_type = 'effect' AND e.command_id = concord_test.id('effects')),
    (SELECT ARRAY['audit/' || trace_id] FROM concord.commands WHERE command_id = concord_test.id('effects')),
    'effect audit events have purpose audit and the command''s trace_id'
);

SELECT row_eq(
    $$SELECT actor, from_status, to_status, payload ->> 'error_class'
      FROM concord.domain_events
      WHERE target_type = 'effect' AND target_id = concord_test.id('bad_effect')::text
      ORDER BY event_seq DESC LIMIT 1$$,
    ROW('workflow:' || :'effects_wf', 'executing'::text, 'failed'::text, 'transient_connector_error'::text),
    'a failed effect is audited with its workflow as actor and its error_class'
);

INSERT INTO concord_test.fixture
SELECT 'direct_effect', concord.plan_effect(concord_test.id('effects'), 'sms.send', '{}');
-- the owner, naming the command's current run, as only the owner can
SELECT set_config('concord.worker_run', :'effects_wf', true) IS NOT NULL AS fixture \gset
UPDATE concord.domain_effects SET status = 'executing', executed_by_dbos_workflow_id = :'effects_wf'
WHERE domain_effect_id = concord_test.id('direct_effect');
SELECT set_config('concord.worker_run', '', true) IS NOT NULL AS fixture \gset

SELECT row_eq(
    $$SELECT purpose, from_status, to_status, actor FROM concord.domain_events
      WHERE command_id = concord_test.id('effects') ORDER BY event_seq DESC LIMIT 1$$,
    ROW('audit'::text, 'planned'::text, 'executing'::text, 'workflow:' || :'effects_wf'),
    'a direct UPDATE of an effect''s status is audited too'
);

SELECT ok(
    (SELECT bool_and(e.xmin = pg_current_xact_id()::xid) FROM concord.domain_events AS e
     WHERE e.command_id = concord_test.id('effects')),
    'effect audit rows are written by the transaction that changed the effect'
);

SELECT is_empty(
    $$SELECT event_seq FROM concord.domain_events
      WHERE purpose = 'audit' AND (btrim(actor) = '' OR trace_id IS NULL OR trace_id = '')$$,
    'no audit row lacks an actor or a trace_id'
);

SELECT * FROM finish();
ROLLBACK;
