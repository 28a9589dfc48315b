-- Every row of the runtime tables keeps its shape (spec 18, 34, 84; DESIGN
-- "The bridge to DBOS"): each CHECK constraint of runtime_queues,
-- runtime_operations, runtime_compensations, connectors, connector_invocations, notifications and
-- schedules refuses a value outside it (23514), written with the triggers off
-- as a migration may, since the API refuses most of these first. With the
-- triggers on, connectors hold no null capability, the record of calls and
-- notifications is never truncated, a connector spec's capabilities are
-- strings, and nothing is handed to a runtime whose schema is missing.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(38);

-- Run sql with the triggers off (session_replication_role replica); a
-- refusal rolls the setting back with the statement.
CREATE FUNCTION pg_temp.without_triggers(sql text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM set_config('session_replication_role', 'replica', true);
    EXECUTE sql;
    PERFORM set_config('session_replication_role', 'origin', true);
END
$$;

CREATE FUNCTION pg_temp.attack(sql text, rule text)
RETURNS text
LANGUAGE sql
AS $$ SELECT concord_test.throws_rule(format('SELECT pg_temp.without_triggers(%L)', sql), '23514', rule) $$;

-- Hide DBOS's schema for the statement: a refusal rolls the rename back with it.
CREATE FUNCTION pg_temp.submit_without_dbos(command_type text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    ALTER SCHEMA dbos RENAME TO dbos_hidden_by_runtime_rows;
    PERFORM concord.submit_command(command_type, '{}', 'req');
END
$$;

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "rs_t"}');
    PERFORM concord.register_command_type(
        '{"command_type": "rs_sync", "sync_allowed": true, "connector_requirements": ["rs_crm"]}');
    PERFORM concord.register_queue('{"name": "rs_q", "worker_concurrency": 2, "rate_limit": 5, "rate_period_sec": 1}');
    PERFORM concord.register_operations(
        '[{"command_type": "rs_t", "queue": "rs_q", "function_name": "app.rs_t", "produces": ["rs.do"],
           "compensation": "rs_undo"},
          {"name": "rs_undo", "of": "rs_t", "function_name": "app.rs_undo",
           "produces": [{"effect_type": "rs.undo", "inverse_of": "rs.do"}]}]', 'ex1', 'v1');
    PERFORM concord.register_connector('{"name": "rs_crm", "connector_type": "http", "capabilities": ["read"]}');
    PERFORM concord.register_schedule('{"name": "rs_nightly", "cron": "0 3 * * *", "command_type": "rs_t"}');
    PERFORM concord.store_notification('ann', 'hello', 'body');
END $$;

SELECT is(concord_test.submit('c', 'rs_sync'), 'validated', 'fixture: c is a synchronous command');
SELECT lives_ok(
    format($$SELECT concord.record_connector_invocation(jsonb_build_object(
        'command_id', %L, 'connector_name', 'rs_crm', 'capability', 'read'))$$, concord_test.id('c')),
    'fixture: a connector invocation of c is recorded'
);

-- runtime_compensations
SELECT pg_temp.attack($$UPDATE concord.runtime_compensations SET compensates = ' ' WHERE compensation_name = 'rs_undo'$$,
                      'compensates_is_not_blank');
SELECT pg_temp.attack(
    $$UPDATE concord.runtime_compensations SET function_name = '' WHERE compensation_name = 'rs_undo'$$,
    'compensation_function_name_is_not_blank');
SELECT pg_temp.attack($$UPDATE concord.runtime_compensations SET compensation_name = ' ' WHERE compensation_name = 'rs_undo'$$,
                      'compensation_name_is_not_blank');
SELECT pg_temp.attack($$UPDATE concord.runtime_compensations SET produces = '{}' WHERE compensation_name = 'rs_undo'$$,
                      'compensation_produces_is_an_array');
SELECT pg_temp.attack($$UPDATE concord.runtime_compensations SET retry_policy = '[]' WHERE compensation_name = 'rs_undo'$$,
                      'compensation_retry_policy_is_an_object');

-- runtime_queues
SELECT pg_temp.attack($$UPDATE concord.runtime_queues SET global_concurrency = 0 WHERE queue_name = 'rs_q'$$,
                      'global_concurrency_is_positive');
SELECT pg_temp.attack($$UPDATE concord.runtime_queues SET polling_interval_sec = 61 WHERE queue_name = 'rs_q'$$,
                      'polling_interval_is_sane');
SELECT pg_temp.attack($$UPDATE concord.runtime_queues SET queue_name = 'Bad-Queue' WHERE queue_name = 'rs_q'$$,
                      'queue_name_is_an_identifier');
SELECT pg_temp.attack($$UPDATE concord.runtime_queues SET rate_period_sec = NULL WHERE queue_name = 'rs_q'$$,
                      'rate_limit_has_a_period');
SELECT pg_temp.attack($$UPDATE concord.runtime_queues SET rate_limit = 0 WHERE queue_name = 'rs_q'$$,
                      'rate_limit_is_positive');
SELECT pg_temp.attack($$UPDATE concord.runtime_queues SET rate_period_sec = 0 WHERE queue_name = 'rs_q'$$,
                      'rate_period_is_positive');
SELECT pg_temp.attack($$UPDATE concord.runtime_queues SET worker_concurrency = 0 WHERE queue_name = 'rs_q'$$,
                      'worker_concurrency_is_positive');

-- runtime_operations
SELECT pg_temp.attack($$UPDATE concord.runtime_operations SET function_name = ' ' WHERE command_type = 'rs_t'$$,
                      'function_name_is_not_blank');
SELECT pg_temp.attack($$UPDATE concord.runtime_operations SET retry_policy = '[]' WHERE command_type = 'rs_t'$$,
                      'retry_policy_is_an_object');

-- connectors
SELECT pg_temp.attack($$UPDATE concord.connectors SET config = '[]' WHERE connector_name = 'rs_crm'$$,
                      'config_is_an_object');
SELECT pg_temp.attack($$UPDATE concord.connectors SET connector_name = 'Bad Name' WHERE connector_name = 'rs_crm'$$,
                      'connector_name_is_an_identifier');
SELECT pg_temp.attack($$UPDATE concord.connectors SET connector_type = 'HTTP!' WHERE connector_name = 'rs_crm'$$,
                      'connector_type_is_an_identifier');
SELECT pg_temp.attack($$UPDATE concord.connectors SET risk_level = 'extreme' WHERE connector_name = 'rs_crm'$$,
                      'risk_level_is_known');
SELECT concord_test.throws_rule(
    $$UPDATE concord.connectors SET capabilities = ARRAY['read', NULL] WHERE connector_name = 'rs_crm'$$,
    'CN005', 'connector_capabilities_hold_no_null'
);
SELECT concord_test.throws_rule(
    $$SELECT concord.register_connector('{"name": "rs_bad", "connector_type": "http", "capabilities": ["read", 1]}')$$,
    'CN005', 'connector_capabilities_are_strings'
);

-- connector_invocations
SELECT pg_temp.attack($$UPDATE concord.connector_invocations SET attempt = 0 WHERE connector_name = 'rs_crm'$$,
                      'attempt_is_positive');
SELECT pg_temp.attack($$UPDATE concord.connector_invocations SET capability = ' ' WHERE connector_name = 'rs_crm'$$,
                      'capability_is_not_blank');
SELECT pg_temp.attack($$UPDATE concord.connector_invocations SET connector_name = ' ' WHERE connector_name = 'rs_crm'$$,
                      'connector_name_is_not_blank');
SELECT pg_temp.attack($$UPDATE concord.connector_invocations SET status = 'failed' WHERE connector_name = 'rs_crm'$$,
                      'failures_are_classified');
SELECT pg_temp.attack($$UPDATE concord.connector_invocations SET latency_ms = -1 WHERE connector_name = 'rs_crm'$$,
                      'latency_is_not_negative');
SELECT pg_temp.attack(
    $$UPDATE concord.connector_invocations SET status = 'lost', error_class = NULL WHERE connector_name = 'rs_crm'$$,
    'status_is_known');
SELECT concord_test.throws_rule(
    $$TRUNCATE concord.connector_invocations$$, 'CN007', 'connector_invocations_are_not_truncated'
);

-- notifications
SELECT pg_temp.attack($$UPDATE concord.notifications SET channel = 'pigeon' WHERE recipient = 'ann'$$,
                      'channel_is_known');
SELECT pg_temp.attack($$UPDATE concord.notifications SET idempotency_key = '' WHERE recipient = 'ann'$$,
                      'notification_idempotency_key_is_not_blank');
SELECT pg_temp.attack($$UPDATE concord.notifications SET recipient = ' ' WHERE recipient = 'ann'$$,
                      'recipient_is_not_blank');
SELECT pg_temp.attack($$UPDATE concord.notifications SET metadata = '[]' WHERE recipient = 'ann'$$,
                      'metadata_is_an_object');
SELECT concord_test.throws_rule(
    $$TRUNCATE concord.notifications$$, 'CN007', 'notifications_are_not_truncated'
);

-- schedules
SELECT pg_temp.attack($$UPDATE concord.schedules SET cron = '* * *' WHERE schedule_name = 'rs_nightly'$$,
                      'cron_has_five_or_six_fields_or_is_an_alias');
SELECT pg_temp.attack($$UPDATE concord.schedules SET payload_template = '[]' WHERE schedule_name = 'rs_nightly'$$,
                      'payload_template_is_an_object');
SELECT pg_temp.attack($$UPDATE concord.schedules SET schedule_name = 'Bad Name' WHERE schedule_name = 'rs_nightly'$$,
                      'schedule_name_is_an_identifier');

-- The hand-off needs DBOS's schema
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.submit_without_dbos('rs_t')$$, 'CN015', 'the_dbos_system_schema_is_installed'
);

SELECT * FROM finish();
ROLLBACK;
