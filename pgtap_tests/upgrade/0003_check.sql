-- After `concord migrate` (0003 runtime, the DBOS schema and the sql/ files) on
-- the 0002-era data of 0003_fixture.sql: nothing lost, old commands get run 0
-- and no queue, the seeded runtime configuration exists, and the upgrade
-- enqueues nothing.
--
-- Observed: a command queued before the upgrade stays queued with no workflow
-- (run 0). The upgrade does not hand it off, and nothing else will on its own:
-- its workflow (were one started under its id) is told stale. It runs once it
-- is handed off explicitly: concord.hand_off_queued() (concord_admin) does it
-- for every such command whose dependencies are met, by the move the binding
-- guard allows (or it is cancelled and submitted again). A queued child waiting for an old
-- running parent is handed off when the parent finishes; a workflow id bound
-- before the upgrade (wf-legacy-32) keeps acting for its command.
BEGIN;
SELECT plan(28);

SELECT ok(
    EXISTS (SELECT FROM concord.schema_migrations WHERE version = 3),
    'concord.schema_migrations lists version 3'
);

SELECT results_eq(
    $$SELECT command_id::text, status, payload, dbos_workflow_id, result, error, error_class
      FROM concord.commands ORDER BY command_id$$,
    $$VALUES
        ('00000000-0000-0000-0000-000000000031', 'queued', '{"n": 31}'::jsonb, null::text, null::jsonb, null::text,
         null::text),
        ('00000000-0000-0000-0000-000000000032', 'running', '{"n": 32}', 'wf-legacy-32', null, null, null),
        ('00000000-0000-0000-0000-000000000033', 'queued', '{"n": 33}', null, null, null, null),
        ('00000000-0000-0000-0000-000000000034', 'failed', '{"n": 34}', 'wf-legacy-34', null, 'connector timed out',
         'timeout'),
        ('00000000-0000-0000-0000-000000000035', 'succeeded', '{"n": 35}', 'wf-legacy-35', '{"done": true}', null,
         null)$$,
    'every command survived with its status, payload, workflow, result and error'
);

SELECT is(
    (SELECT count(*) FROM concord.commands WHERE run_seq <> 0 OR queue_name IS NOT null),
    0::bigint,
    'old commands get run_seq 0 and no queue'
);

SELECT is((SELECT count(*)::integer FROM concord.domain_events WHERE payload = '{"legacy": 3}'), 5,
          'every audit row survived');

SELECT row_eq(
    $$SELECT status, executed_by_dbos_workflow_id, idempotency_key FROM concord.domain_effects
      WHERE domain_effect_id = '00000000-0000-0000-0000-0000000003e2'$$,
    ROW('executing'::text, 'wf-legacy-32'::text, 'legacy-effect-32'::text),
    'the effect survived'
);

SELECT set_eq(
    'SELECT queue_name FROM concord.runtime_queues',
    ARRAY['concord_default', 'connector_calls', 'agent_runs', 'swarm_children', 'notifications',
          'scheduled_maintenance'],
    'the seeded queues exist'
);

SELECT row_eq(
    $$SELECT cron, command_type, queue_name, enabled FROM concord.schedules WHERE schedule_name = 'expire_approvals'$$,
    ROW('0 * * * * *'::text, 'concord.expire_approvals'::text, 'scheduled_maintenance'::text, true),
    'the seeded schedule expire_approvals exists'
);

SELECT is(
    (SELECT async_required FROM concord.command_types WHERE command_type = 'concord.expire_approvals'),
    true,
    'the seeded command type concord.expire_approvals exists'
);

SELECT is(
    (SELECT count(*) FROM concord.error_classes WHERE error_class IN ('internal_error', 'compensation_failed')),
    2::bigint,
    'the runtime''s error classes exist'
);

SELECT isnt(to_regclass('dbos.workflow_status'), NULL, 'concord migrate installed the DBOS schema');

SELECT is((SELECT count(*) FROM dbos.workflow_status), 0::bigint,
          'the upgrade enqueued nothing: no DBOS workflow for any old command');

-- The queued command from before the upgrade is not picked up on its own.
SELECT is(
    concord.runtime_claim('00000000-0000-0000-0000-000000000031', '00000000-0000-0000-0000-000000000031', 'ex1')
    ->> 'action',
    'stale',
    'a workflow named after the old queued command cannot claim it: it has no workflow'
);

SELECT throws_ok(
    $$UPDATE concord.commands SET dbos_workflow_id = 'wf-forged'
      WHERE command_id = '00000000-0000-0000-0000-000000000031'$$,
    'CN007', NULL,
    'CN007: it cannot be bound to an arbitrary workflow'
);

SELECT cmp_ok(
    concord.hand_off_queued(), '>=', 1,
    'hand_off_queued hands the old queued commands off explicitly'
);

SELECT row_eq(
    $$SELECT run_seq, dbos_workflow_id FROM concord.commands
      WHERE command_id = '00000000-0000-0000-0000-000000000031'$$,
    ROW(1, '00000000-0000-0000-0000-000000000031'::text),
    'run 1, workflow = command id'
);

SELECT is(concord.hand_off_queued(), 0, 'a second hand_off_queued finds nothing more to hand off');

SELECT row_eq(
    $$SELECT c.queue_name, w.status, w.queue_name, w.name FROM concord.commands AS c
      INNER JOIN dbos.workflow_status AS w ON w.workflow_uuid = c.dbos_workflow_id
      WHERE c.command_id = '00000000-0000-0000-0000-000000000031'$$,
    ROW('concord_default'::text, 'ENQUEUED'::text, 'concord_default'::text, 'concord.run_command'::text),
    'the hand-off enqueues its workflow on its queue'
);

SELECT is(
    (SELECT count(*) FROM concord.domain_events
     WHERE command_id = '00000000-0000-0000-0000-000000000031' AND event_type = 'workflow_enqueued'),
    1::bigint,
    'and is audited'
);

SELECT is(
    concord.runtime_claim('00000000-0000-0000-0000-000000000031', '00000000-0000-0000-0000-000000000031', 'ex1')
    ->> 'action',
    'run',
    'then its workflow claims it'
);

-- The old running command and its waiting child.
SELECT throws_ok(
    $$UPDATE concord.commands SET dbos_workflow_id = 'wf-other'
      WHERE command_id = '00000000-0000-0000-0000-000000000032'$$,
    'CN007', NULL,
    'CN007: the workflow bound before the upgrade cannot be replaced'
);

SELECT is(
    concord.runtime_claim('00000000-0000-0000-0000-000000000032', 'wf-legacy-32', 'ex1') ->> 'action',
    'run',
    'the workflow bound before the upgrade still claims its running command'
);

SELECT is(
    concord.complete_effect('00000000-0000-0000-0000-0000000003e2', '{"ok": true}')
    || concord.runtime_finish('00000000-0000-0000-0000-000000000032', 'wf-legacy-32', 'succeeded', '{"n": 32}'),
    'succeededsucceeded',
    'and finishes it'
);

SELECT row_eq(
    $$SELECT c.dbos_workflow_id, c.run_seq, c.queue_name, w.status FROM concord.commands AS c
      LEFT JOIN dbos.workflow_status AS w ON w.workflow_uuid = c.dbos_workflow_id
      WHERE c.command_id = '00000000-0000-0000-0000-000000000033'$$,
    ROW('00000000-0000-0000-0000-000000000033'::text, 1, 'concord_default'::text, 'ENQUEUED'::text),
    'the old queued child is handed off (run 1) when its parent succeeds'
);

-- The old failed command is retried into the new era.
SELECT is(
    concord.transition_command('00000000-0000-0000-0000-000000000034', 'queued', 'operator'),
    'queued',
    'the old failed command (timeout) is retried'
);

SELECT row_eq(
    $$SELECT c.dbos_workflow_id, c.run_seq, w.status FROM concord.commands AS c
      LEFT JOIN dbos.workflow_status AS w ON w.workflow_uuid = c.dbos_workflow_id
      WHERE c.command_id = '00000000-0000-0000-0000-000000000034'$$,
    ROW('00000000-0000-0000-0000-000000000034'::text, 1, 'ENQUEUED'::text),
    'its retry is run 1 with workflow = command id (the old workflow is let go), enqueued'
);

SELECT throws_ok(
    $$UPDATE concord.commands SET dbos_workflow_id = null
      WHERE command_id = '00000000-0000-0000-0000-000000000035'$$,
    'CN007', NULL,
    'CN007: a finished old command keeps its workflow'
);

-- New submissions are handed off.
CREATE TEMP TABLE new_submit AS
SELECT * FROM concord.submit_command('legacy_job', '{"n": 36}', 'ann');

SELECT row_eq(
    $$SELECT c.status, c.run_seq, c.dbos_workflow_id = c.command_id::text FROM new_submit AS s
      INNER JOIN concord.commands AS c ON c.command_id = s.command_id$$,
    ROW('queued'::text, 1, true),
    'a new command of the old type is queued as run 1'
);

SELECT is(
    (SELECT w.status FROM new_submit AS s INNER JOIN dbos.workflow_status AS w ON w.workflow_uuid = s.command_id::text),
    'ENQUEUED',
    'and enqueued in DBOS'
);

SELECT * FROM finish();
ROLLBACK;
