-- submit_command (spec 4.1, 11, 14): a valid asynchronous command is recorded
-- and moved created -> validated -> queued, a synchronous one stays validated,
-- an invalid one is still recorded -- failed, with every problem -- and an
-- idempotency key returns the original request or refuses a different one.
BEGIN;
SELECT plan(36);

-- The spec 14 example type keeps its policy checks: data_access is
-- registered as a declarative policy, and alice -- the requester of every
-- command here that passes validation -- holds a grant, so permission allows;
-- the type has no cost_budget, so cost allows.
DO $$ BEGIN
    PERFORM concord.register_policy('{"name": "data_access",
        "predicate": "$.payload.report_type == \"payroll\"", "decision": "deny",
        "reasons": ["payroll reports are restricted"]}');
    PERFORM concord.register_command_type('{
        "command_type": "generate_report",
        "name": "Generate Report",
        "required_inputs": ["report_type", "date_range"],
        "async_required": true,
        "artifact_output_possible": true,
        "notification_required": true,
        "policy_checks": ["permission", "cost", "data_access"],
        "risk_level": "medium",
        "payload_schema": {
            "type": "object",
            "properties": {
                "report_type": {"type": "string", "enum": ["sales", "usage"]},
                "date_range": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1}
            }
        }
    }');
    PERFORM concord.register_command_type(
        '{"command_type": "lookup_price", "sync_allowed": true, "async_required": false}');
    PERFORM concord.grant_command_type('generate_report', 'alice');
END $$;

CREATE TEMP TABLE submitted (label text PRIMARY KEY, command_id uuid, status text, trace_id text,
                             created boolean, errors jsonb);

CREATE FUNCTION pg_temp.timeline(label text)
RETURNS text[]
LANGUAGE sql
AS $$
    SELECT array_agg(t.event_type || ':' || coalesce(t.from_status, '') || '>' || coalesce(t.to_status, '')
                     ORDER BY t.event_seq)
    FROM concord.command_timeline((SELECT s.command_id FROM submitted AS s WHERE s.label = timeline.label)) AS t
$$;

-- ---------------------------------------------------------------------------
-- Valid commands
-- ---------------------------------------------------------------------------
INSERT INTO submitted
SELECT 'async', * FROM concord.submit_command(
    'generate_report', '{"report_type": "sales", "date_range": "2024-01"}', 'alice',
    'user_request', '{"trace_id": "trace_from_caller"}');

SELECT row_eq(
    $$SELECT status, created, errors FROM submitted WHERE label = 'async'$$,
    ROW('queued'::text, true, '[]'::jsonb),
    'submit_command of a valid async type returns status queued, created, no errors'
);

SELECT is(
    (SELECT c.status FROM concord.commands AS c INNER JOIN submitted AS s USING (command_id)
     WHERE s.label = 'async'),
    'queued',
    'the async command''s row is queued'
);

SELECT is(
    pg_temp.timeline('async'),
    ARRAY['command_created:>queued', 'policies_evaluated:>'],
    'the async command''s timeline: one creation row that lands queued, then its policies'' evaluation'
);

SELECT is(
    (SELECT e.payload -> 'path' FROM concord.domain_events AS e INNER JOIN submitted AS s USING (command_id)
     WHERE s.label = 'async' AND e.event_type = 'command_created'),
    '["created", "validated", "queued"]'::jsonb,
    'the creation row names the whole path: created -> validated -> queued'
);

SELECT is(
    (SELECT c.policy_evaluation ->> 'decision' FROM concord.commands AS c
     INNER JOIN submitted AS s USING (command_id) WHERE s.label = 'async'),
    'allow',
    'the async command was queued because its policies (permission, cost, data_access) allowed it'
);

SELECT is(
    (SELECT array_agg(DISTINCT e.actor || '/' || e.trace_id) FROM concord.domain_events AS e
     INNER JOIN submitted AS s USING (command_id) WHERE s.label = 'async'),
    ARRAY['alice/trace_from_caller'],
    'every event of the submission names requested_by as actor and the caller''s trace_id'
);

INSERT INTO submitted
SELECT 'sync', * FROM concord.submit_command('lookup_price', '{"sku": "A-1"}', 'bob');

SELECT is(
    (SELECT status FROM submitted WHERE label = 'sync'),
    'validated',
    'submit_command of a sync type (sync_allowed, not async_required) returns validated'
);

SELECT is(
    pg_temp.timeline('sync'),
    ARRAY['command_created:>validated'],
    'the sync command stays validated: one creation row, created -> validated and nothing more'
);

SELECT is(
    (SELECT e.payload -> 'path' FROM concord.domain_events AS e INNER JOIN submitted AS s USING (command_id)
     WHERE s.label = 'sync' AND e.event_type = 'command_created'),
    '["created", "validated"]'::jsonb,
    'the sync command''s creation row names created -> validated'
);

SELECT isnt(
    (SELECT trace_id FROM submitted WHERE label = 'sync'),
    NULL,
    'a command submitted without a trace_id in its context gets one'
);

-- ---------------------------------------------------------------------------
-- Invalid payloads are recorded, failed, with every problem
-- ---------------------------------------------------------------------------
INSERT INTO submitted
SELECT 'invalid', * FROM concord.submit_command(
    'generate_report', '{"report_type": "weather", "limit": 0}', 'carol');

SELECT row_eq(
    $$SELECT status, created FROM submitted WHERE label = 'invalid'$$,
    ROW('failed'::text, true),
    'an invalid payload is still recorded (created) and returned as failed'
);

SELECT is(
    (SELECT array_agg(e ->> 'kind' || ' ' || (e ->> 'path') ORDER BY e ->> 'path', e ->> 'kind')
     FROM submitted AS s, jsonb_array_elements(s.errors) AS e WHERE s.label = 'invalid'),
    ARRAY['required_input $.date_range', 'schema $.limit', 'schema $.report_type'],
    'the errors returned list every problem: the missing required input and each schema violation'
);

SELECT row_eq(
    $$SELECT c.status, c.error_class, c.error_detail -> 'errors'
      FROM concord.commands AS c INNER JOIN submitted AS s USING (command_id) WHERE s.label = 'invalid'$$,
    ROW('failed'::text, 'validation_error'::text, (SELECT errors FROM submitted WHERE label = 'invalid')),
    'the failed row has error_class validation_error and keeps the errors in error_detail'
);

SELECT matches(
    (SELECT c.error FROM concord.commands AS c INNER JOIN submitted AS s USING (command_id)
     WHERE s.label = 'invalid'),
    'date_range.*(limit|report_type)',
    'the failed row''s error text names the problems'
);

SELECT is(
    pg_temp.timeline('invalid'),
    ARRAY['command_created:>failed'],
    'an invalid command goes created -> failed, in one creation row'
);

SELECT is(
    (SELECT e.payload -> 'path' FROM concord.domain_events AS e INNER JOIN submitted AS s USING (command_id)
     WHERE s.label = 'invalid' AND e.event_type = 'command_created'),
    '["created", "failed"]'::jsonb,
    'the invalid command''s creation row names created -> failed'
);

SELECT row_eq(
    $$SELECT e.purpose, e.reason, e.payload ->> 'error_class', e.payload -> 'error_detail' -> 'errors'
      FROM concord.domain_events AS e INNER JOIN submitted AS s USING (command_id)
      WHERE s.label = 'invalid' AND e.to_status = 'failed'$$,
    ROW('audit'::text, 'payload failed validation'::text, 'validation_error'::text,
        (SELECT errors FROM submitted WHERE label = 'invalid')),
    'the audit event of created -> failed explains why, with every problem'
);

SELECT ok(
    EXISTS (SELECT 1 FROM concord.recent_failures AS f INNER JOIN submitted AS s USING (command_id)
            WHERE s.label = 'invalid' AND f.error_class = 'validation_error'),
    'the rejected command shows in recent_failures with error_class validation_error'
);

INSERT INTO submitted
SELECT 'not_object', * FROM concord.submit_command('lookup_price', '[1, 2]', 'dave');

SELECT row_eq(
    $$SELECT status, errors -> 0 ->> 'kind' FROM submitted WHERE label = 'not_object'$$,
    ROW('failed'::text, 'type'::text),
    'a payload that is not a JSON object fails validation'
);

INSERT INTO submitted
SELECT 'blank_input', * FROM concord.submit_command(
    'generate_report', '{"report_type": "sales", "date_range": "  "}', 'erin');

SELECT is(
    (SELECT errors -> 0 ->> 'path' FROM submitted WHERE label = 'blank_input'),
    '$.date_range',
    'a blank required input counts as missing'
);

-- ---------------------------------------------------------------------------
-- Unknown type, NULL payload: refused, nothing written
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE counts AS
SELECT (SELECT count(*) FROM concord.commands) AS commands,
       (SELECT count(*) FROM concord.domain_events) AS events;

SELECT concord_test.throws_rule(
    $$SELECT * FROM concord.submit_command('no_such_type', '{}', 'alice')$$,
    'CN009', 'command_type_is_registered',
    'CN009: submit_command of an unknown command type'
);

SELECT concord_test.throws_rule(
    $$SELECT * FROM concord.submit_command('lookup_price', NULL, 'alice')$$,
    'CN005', 'payload_is_not_null',
    'CN005: submit_command with a NULL payload'
);

SELECT row_eq(
    $$SELECT (SELECT count(*) FROM concord.commands), (SELECT count(*) FROM concord.domain_events)$$,
    (SELECT ROW(commands, events) FROM counts),
    'a refused submission writes no command and no event'
);

-- ---------------------------------------------------------------------------
-- Idempotency (spec 11)
-- ---------------------------------------------------------------------------
INSERT INTO submitted
SELECT 'keyed', * FROM concord.submit_command(
    'generate_report', '{"report_type": "sales", "date_range": "2024-02"}', 'alice',
    idempotency_key => 'key-1');

TRUNCATE counts;
INSERT INTO counts
SELECT (SELECT count(*) FROM concord.commands), (SELECT count(*) FROM concord.domain_events);

INSERT INTO submitted
SELECT 'keyed_again', * FROM concord.submit_command(
    'generate_report', '{"date_range": "2024-02", "report_type": "sales"}', 'alice',
    idempotency_key => 'key-1');

SELECT is(
    (SELECT command_id FROM submitted WHERE label = 'keyed_again'),
    (SELECT command_id FROM submitted WHERE label = 'keyed'),
    'the same key, type and payload returns the original command'
);

SELECT row_eq(
    $$SELECT status, trace_id, created FROM submitted WHERE label = 'keyed_again'$$,
    (SELECT ROW(status, trace_id, false) FROM submitted WHERE label = 'keyed'),
    'the replay returns the original status and trace_id, with created = false'
);

SELECT row_eq(
    $$SELECT (SELECT count(*) FROM concord.commands), (SELECT count(*) FROM concord.domain_events)$$,
    (SELECT ROW(commands, events) FROM counts),
    'the replay writes no command row and no event'
);

SELECT concord_test.throws_rule(
    $$SELECT * FROM concord.submit_command(
        'generate_report', '{"report_type": "usage", "date_range": "2024-02"}', 'alice',
        idempotency_key => 'key-1')$$,
    'CN002', 'an_idempotency_key_names_one_request',
    'CN002: the same key with a different payload'
);

SELECT concord_test.throws_rule(
    $$SELECT * FROM concord.submit_command(
        'lookup_price', '{"report_type": "sales", "date_range": "2024-02"}', 'alice',
        idempotency_key => 'key-1')$$,
    'CN002', 'an_idempotency_key_names_one_request',
    'CN002: the same key with a different command type (and the same payload)'
);

SELECT is(
    (SELECT count(*) FROM concord.commands WHERE idempotency_key = 'key-1'),
    1::bigint,
    'one row per idempotency key after replays and conflicts'
);

-- A replay after the command moved on returns where it is now.
DO $$ BEGIN
    PERFORM concord_test.move_as_run(
        (SELECT command_id FROM submitted WHERE label = 'keyed'), 'running', 'worker');
END $$;

SELECT row_eq(
    $$SELECT status, created FROM concord.submit_command(
        'generate_report', '{"report_type": "sales", "date_range": "2024-02"}', 'alice',
        idempotency_key => 'key-1')$$,
    ROW('running'::text, false),
    'a replay returns the original command''s current status'
);

-- An invalid keyed request is recorded once; its replay gives the same errors.
INSERT INTO submitted
SELECT 'keyed_invalid', * FROM concord.submit_command(
    'generate_report', '{"report_type": "sales"}', 'alice', idempotency_key => 'key-2');
INSERT INTO submitted
SELECT 'keyed_invalid_again', * FROM concord.submit_command(
    'generate_report', '{"report_type": "sales"}', 'alice', idempotency_key => 'key-2');

SELECT row_eq(
    $$SELECT command_id, status, created, errors FROM submitted WHERE label = 'keyed_invalid_again'$$,
    (SELECT ROW(command_id, 'failed'::text, false, errors) FROM submitted WHERE label = 'keyed_invalid'),
    'replaying a rejected keyed request returns the same failed command and the same errors'
);

SELECT is(
    jsonb_array_length((SELECT errors FROM submitted WHERE label = 'keyed_invalid')),
    1,
    'fixture: the rejected keyed request had one problem'
);

-- ---------------------------------------------------------------------------
-- Arguments
-- ---------------------------------------------------------------------------
SELECT concord_test.throws_rule(
    $$SELECT * FROM concord.submit_command('lookup_price', '{}', '  ')$$,
    'CN008', 'required_argument_is_not_blank',
    'CN008: submit_command with a blank requested_by'
);

SELECT concord_test.throws_rule(
    $$SELECT * FROM concord.submit_command('lookup_price', '{}', 'alice', idempotency_key => '')$$,
    'CN008', 'required_argument_is_not_blank',
    'CN008: submit_command with a blank idempotency key'
);

SELECT concord_test.throws_rule(
    $$SELECT * FROM concord.submit_command('lookup_price', '{}', 'alice', cancellation_mode => 'immediate')$$,
    'CN008', 'cancellation_mode_is_graceful_or_compensate_then_stop',
    'CN008: submit_command with an unknown cancellation mode (immediate is reserved)'
);

SELECT concord_test.throws_rule(
    $$SELECT * FROM concord.submit_command('lookup_price', '{}', 'alice', context => '[]')$$,
    'CN008', 'context_is_a_json_object',
    'CN008: submit_command with a context that is not an object'
);

SELECT * FROM finish();
ROLLBACK;
