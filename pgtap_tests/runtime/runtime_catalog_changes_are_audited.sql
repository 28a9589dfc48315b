-- Connector, queue and schedule registrations are audited like every other
-- catalog change (connectors_are_audited, runtime_queues_are_audited,
-- schedules_are_audited): who changed what (the authenticated principal, else
-- the login), what changed, and removals, whoever writes the row; no one
-- empties them at once without a trace (a TRUNCATE skips the row audit: it is
-- refused, the table owner's included).
BEGIN;
SELECT plan(17);

\ir ../lib/identity_fixtures.sql

DO $$
BEGIN
    PERFORM concord.register_command_type('{"command_type": "aud_sched", "async_required": true}');
    PERFORM concord.add_member('iso-a', 'iso-a-admin', 'admin');
    PERFORM pg_temp.make_login('op', ARRAY['concord_admin']);
    PERFORM pg_temp.make_login('a_admin', ARRAY['concord_admin'], 'iso-a-admin');
END $$;

-- The audit rows of a runtime catalog target, oldest first.
CREATE FUNCTION pg_temp.audit(target text, id text)
RETURNS TABLE (event_type text, actor text, payload jsonb)
LANGUAGE sql
AS $$
    SELECT e.event_type, e.actor, e.payload FROM concord.domain_events AS e
    WHERE e.target_type = target AND e.target_id = id ORDER BY e.created_at, e.event_id
$$;

-- connectors
SELECT is(pg_temp.as_login('op', $$SELECT concord.register_connector(
    '{"name": "aud_crm", "connector_type": "http", "capabilities": ["read"]}')$$), 'ok',
    'an operator registers a connector');
SELECT results_eq(
    $$SELECT event_type, actor, payload #>> '{definition,capabilities}' FROM pg_temp.audit('connector', 'aud_crm')$$,
    format($$VALUES ('connector_registered', %L, '["read"]')$$, pg_temp.login('op')),
    'the registration is audited, with its definition and who made it'
);
SELECT is(pg_temp.as_login('op', $$SELECT concord.register_connector(
    '{"name": "aud_crm", "connector_type": "http", "capabilities": ["read"]}')$$), 'ok',
    'the same registration again');
SELECT is((SELECT count(*) FROM pg_temp.audit('connector', 'aud_crm')), 1::bigint,
          'a registration that changes nothing writes no audit row');
SELECT is(pg_temp.as_login('op', $$SELECT concord.register_connector(
    '{"name": "aud_crm", "connector_type": "http", "capabilities": ["read", "write"]}')$$), 'ok',
    'the operator widens the connector');
SELECT is(
    (SELECT payload -> 'changed' -> 'capabilities' FROM pg_temp.audit('connector', 'aud_crm') OFFSET 1),
    '{"old": ["read"], "new": ["read", "write"]}'::jsonb,
    'the change is audited with what it was and what it became'
);
-- only the projection writes a connector row
-- (a_catalog_row_is_the_projection_of_its_bound_version); the owner's session
-- that forges its marker is still audited
-- past the projection's guard, as a migration would be
ALTER TABLE concord.connectors DISABLE TRIGGER connectors_written_only_by_projection;
UPDATE concord.connectors SET risk_level = 'high' WHERE connector_name = 'aud_crm';
DELETE FROM concord.connectors WHERE connector_name = 'aud_crm';
ALTER TABLE concord.connectors ENABLE TRIGGER connectors_written_only_by_projection;
SELECT results_eq(
    $$SELECT event_type, actor FROM pg_temp.audit('connector', 'aud_crm') OFFSET 2$$,
    format($$VALUES ('connector_registered', %1$L), ('connector_removed', %1$L)$$, session_user),
    'a direct UPDATE and DELETE by the table''s owner, past the projection''s guard, are audited too'
);

-- queues
SELECT is(pg_temp.as_login('op', $$SELECT concord.register_queue('{"name": "aud_q", "worker_concurrency": 2}')$$),
          'ok', 'an operator registers a queue');
SELECT results_eq(
    $$SELECT event_type, actor, (payload #>> '{definition,worker_concurrency}')::integer FROM pg_temp.audit('queue', 'aud_q')$$,
    format($$VALUES ('queue_registered', %L, 2)$$, pg_temp.login('op')),
    'the queue''s registration is audited'
);
SELECT is(pg_temp.as_login('op', $$SELECT concord.register_queue('{"name": "aud_q", "worker_concurrency": 4}')$$),
          'ok', 'the operator changes the queue''s concurrency');
SELECT is(
    (SELECT payload -> 'changed' -> 'worker_concurrency' FROM pg_temp.audit('queue', 'aud_q') OFFSET 1),
    '{"old": 2, "new": 4}'::jsonb,
    'the queue''s change is audited'
);

-- schedules
SELECT is(pg_temp.as_login('a_admin', $$SELECT concord.register_schedule(
    '{"name": "aud_nightly", "cron": "0 3 * * *", "command_type": "aud_sched"}')$$), 'ok',
    'an organisation admin registers a schedule');
SELECT is(pg_temp.as_login('a_admin', $$SELECT concord.register_schedule(
    '{"name": "aud_nightly", "cron": "0 3 * * *", "command_type": "aud_sched", "enabled": false}')$$), 'ok',
    'and disables it');
SELECT results_eq(
    $$SELECT event_type, actor, payload -> 'changed' -> 'enabled' FROM pg_temp.audit('schedule', 'aud_nightly')$$,
    $$VALUES ('schedule_registered', 'iso-a-admin', null::jsonb),
             ('schedule_registered', 'iso-a-admin', '{"old": true, "new": false}'::jsonb)$$,
    'both are audited as the admin''s principal, the disabling with what changed'
);


-- a TRUNCATE would remove every registration without one audit row
SET LOCAL ROLE concord_owner;
SELECT concord_test.throws_rule($$TRUNCATE concord.connectors CASCADE$$, 'CN007', 'connectors_are_not_truncated',
                                'CN007: the table owner does not empty connectors without a trace');
SELECT concord_test.throws_rule($$TRUNCATE concord.runtime_queues CASCADE$$, 'CN007',
                                'runtime_queues_are_not_truncated',
                                'CN007: nor runtime_queues (whose TRUNCATE would cascade to operations and schedules)');
SELECT concord_test.throws_rule($$TRUNCATE concord.schedules$$, 'CN007', 'schedules_are_not_truncated',
                                'CN007: nor schedules');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
