-- Queues, operations and schedules are validated at registration; a
-- scheduled tick submits once and is handed off like any other command.
BEGIN;
SELECT plan(30);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

SELECT concord.register_operations(
    '[{"command_type": "rt_ops", "queue": "connector_calls", "function_name": "app.rt_ops"}]', 'ex1', 'v1'
) AS fixture \gset

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
    PERFORM concord_test.remember('tick1', concord.submit_scheduled('rt_s', '2026-01-02 03:04:05+00'));
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
    concord_test.dbos_status(concord_test.workflow_of('tick1')),
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
    PERFORM concord_test.remember('tick_expire', concord.submit_scheduled('expire_approvals', '2026-01-02 03:00:00+00'));
END $$;

SELECT is(
    (SELECT command_type || '|' || status || '|' || requested_by FROM concord.commands
     WHERE command_id = concord_test.id('tick_expire')),
    'concord.expire_approvals|queued|schedule:expire_approvals',
    'a tick of the seeded expire_approvals schedule queues a concord.expire_approvals command'
);

SELECT * FROM finish();
ROLLBACK;
