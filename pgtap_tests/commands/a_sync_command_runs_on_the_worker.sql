-- A sync command runs on the worker (spec 29): an allowed command a worker
-- has the operation of is not left validated when its transaction commits
-- (an_allowed_command_is_handed_to_the_worker_at_commit, a deferred
-- constraint trigger: SET CONSTRAINTS ... IMMEDIATE stands for the commit
-- here), first on its queue; a command its policies have not allowed, or that
-- nothing could run, stays validated; a worker registering the operation
-- takes those waiting; a caller waits a bounded time
-- (a_caller_waits_between_0_and_3600_seconds) for a committed command only
-- (a_caller_waits_only_for_a_committed_command), and is answered at once
-- when a person must act or the command is refused.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(21);

SELECT concord_test.runtime_fixtures();
DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "sy_run", "sync_allowed": true}');
    PERFORM concord.register_command_type('{"command_type": "sy_late", "sync_allowed": true}');
    PERFORM concord.register_command_type(
        '{"command_type": "sy_gov", "sync_allowed": true, "policy_checks": ["rt_gate", "rt_deny", "rt_ask"]}');
    PERFORM concord.register_operations(
        '[{"command_type": "sy_run", "queue": "concord_default", "function_name": "app.sy_run"},
          {"command_type": "sy_gov", "queue": "concord_default", "function_name": "app.sy_gov"},
          {"command_type": "rt_async", "queue": "concord_default", "function_name": "app.rt_async"}]',
        'ex1', 'v1');
END $$;

SELECT is(concord_test.submit('run', 'sy_run'), 'validated', 'a sync command is validated in its transaction');
SELECT is(concord_test.submit('nobody', 'rt_sync'), 'validated',
          'fixture: a sync command of a type no worker has an operation for');
SELECT is(concord_test.submit('late', 'sy_late'), 'validated', 'fixture: a sync command whose worker comes later');
SELECT is(concord_test.submit('async', 'rt_async'), 'queued', 'fixture: an async command is queued at once');
SELECT is(concord_test.submit('gated', 'sy_gov', '{"gate": true}'), 'waiting_for_approval',
          'fixture: a governed sync command waits for approval');
SELECT is(concord_test.submit('asked', 'sy_gov', '{"ask": true}'), 'waiting_for_input',
          'fixture: a governed sync command waits for input');
SELECT is(concord_test.submit('denied', 'sy_gov', '{"deny": true}'), 'failed', 'fixture: a denied sync command');

-- a caller cannot wait for what its own transaction has not committed
SELECT concord_test.throws_rule(
    format('SELECT concord.await_command(%L, 1)', concord_test.id('run')),
    'CN011', 'a_caller_waits_only_for_a_committed_command',
    'CN011: waiting for a command this transaction wrote is refused'
);
SAVEPOINT in_a_savepoint;
SELECT is(concord_test.submit('saved', 'rt_async'), 'queued', 'fixture: a command written in a savepoint');
RELEASE SAVEPOINT in_a_savepoint;
SELECT concord_test.throws_rule(
    format('SELECT concord.await_command(%L, 3)', concord_test.id('saved')),
    'CN011', 'a_caller_waits_only_for_a_committed_command',
    'CN011: so is one a subtransaction of it wrote (a savepoint, psql''s ON_ERROR_ROLLBACK)'
);

SELECT concord_test.throws_rule(
    format('SELECT concord.await_command(%L, 3601)', concord_test.id('run')),
    'CN008', 'a_caller_waits_between_0_and_3600_seconds',
    'CN008: a wait longer than an hour is refused'
);

SELECT concord_test.throws_rule(
    format('SELECT concord.await_command(%L, -1)', concord_test.id('run')),
    'CN008', 'a_caller_waits_between_0_and_3600_seconds',
    'CN008: a negative wait is refused'
);

SELECT is(
    (SELECT jsonb_build_object('s', o ->> 'status', 'a', o -> 'answered', 'f', o -> 'finished', 't', o -> 'timed_out',
                               'approval', o ->> 'approval_id' IS NOT NULL)
     FROM concord.await_command(concord_test.id('gated'), 5) AS o),
    '{"s": "waiting_for_approval", "a": true, "f": false, "t": false, "approval": true}'::jsonb,
    'a caller of a command waiting for approval is answered at once, with the approval'
);

SELECT is(
    (SELECT jsonb_build_object('s', o ->> 'status', 'kind', o #>> '{errors,0,kind}')
     FROM concord.await_command(concord_test.id('asked'), 5) AS o),
    '{"s": "waiting_for_input", "kind": "missing_input"}'::jsonb,
    'a caller of a command waiting for input is answered at once, with the inputs it needs'
);

SELECT is(
    (SELECT jsonb_build_object('s', o ->> 'status', 'f', o -> 'finished', 'class', o ->> 'error_class')
     FROM concord.await_command(concord_test.id('denied'), 5) AS o),
    '{"s": "failed", "f": true, "class": "policy_denied"}'::jsonb,
    'a caller of a denied command is answered at once'
);

-- the commit
SET CONSTRAINTS concord.an_allowed_command_is_handed_to_the_worker_at_commit IMMEDIATE;

SELECT is(
    (SELECT c.status || '|' || w.status || '|' || w.priority FROM concord.commands AS c
     INNER JOIN dbos.workflow_status AS w ON w.workflow_uuid = c.dbos_workflow_id
     WHERE c.command_id = concord_test.id('run')),
    'queued|ENQUEUED|0',
    'at commit, an allowed sync command is queued and enqueued in DBOS first on its queue (priority 0)'
);

SELECT is(
    (SELECT w.priority FROM dbos.workflow_status AS w WHERE w.workflow_uuid = concord_test.workflow_of('async')),
    1,
    'an async command waits behind sync ones (priority 1)'
);

SELECT is(
    (SELECT e.actor || '|' || e.reason FROM concord.domain_events AS e
     WHERE e.command_id = concord_test.id('run') AND e.to_status = 'queued' AND e.event_type = 'command_status_changed'),
    'req|allowed: handed to the worker that runs its type',
    'the hand-off is audited in the requester''s name'
);

SELECT is(concord_test.status('nobody'), 'validated',
          'a sync command no worker has an operation for stays validated (the caller''s to run)');

-- a raw move back to validated, whoever makes it, is judged again at commit
UPDATE concord.commands SET status = 'validated'
WHERE command_id = concord_test.id('asked');
SET CONSTRAINTS concord.an_allowed_command_is_handed_to_the_worker_at_commit IMMEDIATE;
SELECT is(concord_test.status('asked'), 'validated',
          'a command moved back to validated by hand, its policies not having allowed it, stays validated');

SELECT concord.register_operations(
    '[{"command_type": "sy_late", "queue": "concord_default", "function_name": "app.sy_late"}]', 'ex1', 'v1')
    AS fixture \gset
SELECT is(concord_test.status('late'), 'queued',
          'a worker registering the operation of a type takes its allowed commands left validated');

SELECT * FROM finish();
ROLLBACK;
