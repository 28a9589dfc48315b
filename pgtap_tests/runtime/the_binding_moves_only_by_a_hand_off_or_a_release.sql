-- The binding (dbos_workflow_id, run_seq, queue_name) moves only by a
-- hand-off or a release, whoever writes
-- (a_workflow_binding_changes_only_while_queued); a raw insert binds nothing;
-- a retry starts a new run.
BEGIN;
SELECT plan(31);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

-- A child whose dependency is already met claims normally.
SELECT is(concord_test.submit('p2', 'rt_async'), 'queued', 'fixture: parent p2 queued');

SELECT is(
    (concord_test.claim('p2') ->> 'action') || concord.runtime_finish(concord_test.id('p2'), concord_test.workflow_of('p2'), 'succeeded'),
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
    (concord_test.claim('c2') ->> 'action') || '|' || (concord_test.command('c2')).status || '|'
    || (concord_test.command('c2')).run_seq,
    'run|running|1',
    'a child whose dependencies are met is bound at once (run 1) and claims normally'
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
           concord_test.workflow_of('g', 2), concord_test.id('g')),
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
           concord_test.workflow_of('c5'), concord_test.id('c5')),
    'CN007', 'a_workflow_binding_changes_only_while_queued',
    'CN007: the owner cannot hand off a command with the correct next workflow while a dependency is unmet'
);

SELECT is(concord_test.dbos_rows('c5'), 0::bigint, 'and nothing reached DBOS');

SELECT is(
    (concord_test.claim('c2') ->> 'action'),
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
      FROM concord_test.binding('raw') AS b$$,
    ROW(NULL::text, 0, NULL::text, 0::bigint),
    'a raw insert binds nothing: no workflow, run 0, no queue, nothing in DBOS'
);

SELECT is(
    (concord_test.claim('raw') ->> 'action') || '|' || (concord_test.command('raw')).status,
    'stale|created',
    'a workflow named after the raw command cannot claim it'
);

SELECT is(concord_test.submit('blk', 'rt_async'), 'queued', 'fixture: blk queued');

SELECT is(
    (concord_test.claim('blk') ->> 'action') || concord.runtime_finish(concord_test.id('blk'), concord_test.workflow_of('blk'), 'blocked'),
    'runblocked',
    'fixture: blk ran and is blocked'
);

SELECT row_eq(
    format($$WITH u AS (UPDATE concord.commands SET status = 'queued', dbos_workflow_id = 'evil-wf', run_seq = 40
                        WHERE command_id = %L RETURNING dbos_workflow_id, run_seq, queue_name)
             SELECT * FROM u$$, concord_test.id('blk')),
    ROW(concord_test.workflow_of('blk', 2), 2, 'concord_default'::text),
    'a raw move into queued gets the next run''s workflow whatever binding the UPDATE names'
);

SELECT is(
    concord_test.dbos_status(concord_test.workflow_of('blk', 2)) || '|'
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
    (concord_test.claim('r') ->> 'action')
    || concord.runtime_finish(concord_test.id('r'), concord_test.workflow_of('r'), 'failed', null, 'timed out', 'timeout'),
    'runfailed',
    'fixture: r ran and failed with the retryable class timeout'
);

SELECT is(
    concord.transition_command(concord_test.id('r'), 'queued', 'operator'),
    'queued',
    'r is retried (failed -> queued)'
);

SELECT row_eq(
    $$SELECT b.*, concord_test.dbos_status(concord_test.workflow_of('r', 2)), concord_test.dbos_rows('r')
      FROM concord_test.binding('r') AS b$$,
    ROW(concord_test.workflow_of('r', 2), 2, 'concord_default'::text, 'ENQUEUED'::text, 2::bigint),
    'the retry starts run 2 with a new workflow <command id>/2, enqueued in DBOS'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_finish(%L, %L, 'succeeded')$$, concord_test.id('r'), concord_test.workflow_of('r')),
    'CN011', 'only_the_current_workflow_acts_for_its_command',
    'CN011: the run-1 workflow can no longer finish the retried command'
);

SELECT * FROM finish();
ROLLBACK;
