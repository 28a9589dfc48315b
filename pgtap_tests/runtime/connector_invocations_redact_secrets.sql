-- Connector invocations are stored redacted (credential-like keys at any
-- depth, Bearer and Basic strings), checked, and never rewritten or deleted
-- (connector_invocations_are_append_only).
BEGIN;
SELECT plan(12);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
    -- rt_async calls the crm connector (an_operation_calls_only_the_connectors_its_command_type_declares)
    PERFORM concord.register_command_type('{"command_type": "rt_async", "connector_requirements": ["crm"]}');
END $$;

SELECT is(concord_test.submit('cl', 'rt_async'), 'queued', 'fixture: cl queued');
SELECT is(concord_test.claim('cl') ->> 'action', 'run', 'fixture: cl is running');

-- ===========================================================================
-- 11. record_connector_invocation
-- ===========================================================================
DO $$ BEGIN
    PERFORM concord_test.remember('inv', concord.record_connector_invocation(jsonb_build_object(
        'command_id', concord_test.id('cl'), 'connector_name', 'crm', 'capability', 'crm.update',
        'idempotency_key', 'rt-inv-1', 'attempt', 2, 'latency_ms', 12.5,
        'workflow_id', concord_test.workflow_of('cl'), 'executor_id', 'ex7',
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
        'succeeded'::text, NULL::text, 2, 12.5::double precision, concord_test.workflow_of('cl'), 'ex7'::text,
        (concord_test.command('cl')).trace_id),
    'input_hash is the SHA-256 of the redacted input (it cannot test guesses of a secret); succeeded without an error class; the trace is the command''s'
);

DO $$ BEGIN
    PERFORM concord_test.remember('inv_failed', concord.record_connector_invocation(jsonb_build_object(
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

SELECT * FROM finish();
ROLLBACK;
