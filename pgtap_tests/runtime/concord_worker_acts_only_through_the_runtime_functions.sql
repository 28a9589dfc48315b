-- concord_worker has the runtime functions and writes no table; concord_app
-- cannot run them; concord_admin registers connectors (spec 74-95).
BEGIN;
SELECT plan(18);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

SELECT concord.register_queue('{"name": "rt_q", "worker_concurrency": 2, "rate_limit": 5, "rate_period_sec": 1.5}') AS fixture \gset

SELECT concord.register_schedule(
    '{"name": "rt_s", "cron": "*/5 * * * *", "command_type": "rt_async", "queue": "rt_q",
      "payload_template": {"at": "{{tick}}", "by": "{{schedule_name}}", "n": 1}}') AS fixture \gset

SELECT lives_ok(
    $$SELECT concord_test.submit('p5', 'rt_async');
      SELECT concord_test.command_at('rt_async', 'validated', 'c5');
      SELECT concord.add_dependency(concord_test.id('c5'), concord_test.id('p5'));
      SELECT concord.transition_command(concord_test.id('c5'), 'queued', 'op')$$,
    'fixture: c5 is queued, unbound, waiting for p5'
);

SELECT is(concord_test.submit('cl', 'rt_async'), 'queued', 'fixture: cl queued');
SELECT is(concord_test.claim('cl') ->> 'action', 'run', 'fixture: cl is running');

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
    16::bigint,
    'there are sixteen runtime_* functions (the check above is not vacuous)'
);

SELECT is_empty(
    $$SELECT c.oid::regclass FROM pg_catalog.pg_class AS c
      WHERE c.relnamespace = 'concord'::regnamespace AND c.relkind IN ('r', 'p', 'v')
        AND has_table_privilege('concord_worker', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')$$,
    'concord_worker may write no concord table or view'
);

SELECT is(concord_test.submit('wk', 'rt_async'), 'queued', 'fixture: wk queued');

SELECT is(
    concord_test.outcome_as('concord_worker', format($$SELECT concord.runtime_claim(%L, %L, 'exw')$$,
                                            concord_test.id('wk'), concord_test.workflow_of('wk')))
    || '|' || (concord_test.command('wk')).status,
    'ok|running',
    'as concord_worker, runtime_claim runs and claims the command'
);

SELECT is(
    concord_test.outcome_as('concord_worker', format($$SELECT concord.runtime_finish(%L, %L, 'succeeded', '{}')$$,
                                            concord_test.id('wk'), concord_test.workflow_of('wk')))
    || '|' || (concord_test.command('wk')).status,
    'ok|succeeded',
    'as concord_worker, runtime_finish finishes it'
);

SELECT is(
    concord_test.outcome_as('concord_worker', $$SELECT concord.submit_scheduled('rt_s', '2027-01-01 00:00:00+00')$$),
    'ok',
    'as concord_worker, submit_scheduled submits (and hands off) a scheduled command'
);

SELECT is(
    concord_test.outcome_as('concord_worker', format($$UPDATE concord.commands SET status = 'running' WHERE command_id = %L$$,
                                            concord_test.id('cl'))),
    '42501',
    'concord_worker cannot UPDATE commands directly'
);

SELECT is(
    concord_test.outcome_as('concord_worker',
                    $$INSERT INTO concord.notifications (recipient, subject) VALUES ('ann', 'forged')$$),
    '42501',
    'concord_worker cannot INSERT notifications directly'
);

SELECT is(
    concord_test.outcome_as('concord_worker',
                    $$SELECT (SELECT count(*) FROM concord.runtime_queue_config) + (SELECT count(*) FROM concord.connector_catalog)
                             + (SELECT count(*) FROM concord.schedule_catalog) + (SELECT count(*) FROM concord.operation_catalog)$$),
    'ok',
    'concord_worker reads the runtime configuration through its views'
);

SELECT is(
    concord_test.outcome_as('concord_worker', $$SELECT count(*) FROM concord.connectors$$),
    '42501',
    'concord_worker cannot read the connectors table itself'
);

SELECT is(
    concord_test.outcome_as('concord_app', format($$SELECT concord.runtime_claim(%L, %L, 'x')$$,
                                         concord_test.id('p5'), concord_test.workflow_of('p5'))),
    '42501',
    'concord_app cannot execute runtime_claim'
);

SELECT is(
    concord_test.outcome_as('concord_app', format($$SELECT concord.runtime_finish(%L, %L, 'succeeded')$$,
                                         concord_test.id('cl'), concord_test.workflow_of('cl'))),
    '42501',
    'concord_app cannot execute runtime_finish'
);

SELECT is(
    concord_test.outcome_as('concord_app', $$SELECT concord.register_connector('{"name": "c_app", "connector_type": "http"}')$$),
    '42501',
    'concord_app cannot register a connector'
);

SELECT is(
    concord_test.outcome_as('concord_admin', $$SELECT concord.register_connector('{"name": "c_admin", "connector_type": "http"}')$$),
    'ok',
    'concord_admin registers a connector'
);

SELECT * FROM finish();
ROLLBACK;
