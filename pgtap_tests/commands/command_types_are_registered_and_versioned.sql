-- The task catalog (spec 13.2): register_command_type inserts, replaces with a
-- version bump, ignores an identical spec, and refuses a bad spec with CN005
-- listing every problem; map_task_to_primitives follows spec 14.
BEGIN;
SELECT plan(31);

-- The spec's example (section 14) names data_access, which is no built-in
-- policy: register it (policy_checks_name_registered_policies).
DO $$ BEGIN
    PERFORM concord.register_policy('{"name": "data_access",
        "predicate": "$.payload.report_type == \"payroll\"", "decision": "deny",
        "reasons": ["payroll reports are restricted"]}');
END $$;

-- The spec's example (section 14).
CREATE TEMP TABLE generate_report_spec AS
SELECT '{
    "name": "Generate Report",
    "description": "Generate a report asynchronously.",
    "command_type": "generate_report",
    "function_name": "generate_report",
    "ingress_types": ["user_request", "scheduled_trigger"],
    "required_inputs": ["report_type", "date_range"],
    "async_required": true,
    "artifact_output_possible": true,
    "notification_required": true,
    "policy_checks": ["permission", "cost", "data_access"],
    "risk_level": "medium"
}'::jsonb AS spec;

-- ---------------------------------------------------------------------------
-- Insert, replace, no-op
-- ---------------------------------------------------------------------------
SELECT is(
    concord.register_command_type((SELECT spec FROM generate_report_spec)),
    'generate_report',
    'register_command_type inserts a new type and returns its command_type'
);

SELECT row_eq(
    $$SELECT name, required_inputs, async_required, sync_allowed, artifact_output_possible,
             notification_required, policy_checks, risk_level, max_attempts, version
      FROM concord.command_types WHERE command_type = 'generate_report'$$,
    ROW('Generate Report'::text, ARRAY['report_type', 'date_range'], true, false, true, true,
        ARRAY['permission', 'cost', 'data_access'], 'medium'::text, 3, 1),
    'the stored type holds every field of the spec, defaults for the rest, at version 1'
);

SELECT is(
    (SELECT count(*) FROM concord.domain_events
     WHERE event_type = 'command_type_registered' AND target_id = 'generate_report'
       AND purpose = 'audit' AND (payload ->> 'version')::int = 1),
    1::bigint,
    'registering a type writes one audit event carrying its version'
);

SELECT is(
    concord.register_command_type((SELECT spec FROM generate_report_spec)),
    'generate_report',
    'registering an identical spec again returns the command_type'
);

SELECT is(
    (SELECT version FROM concord.command_types WHERE command_type = 'generate_report'),
    1,
    'an identical re-register is a no-op: the version stays 1'
);

SELECT is(
    (SELECT count(*) FROM concord.domain_events
     WHERE event_type = 'command_type_registered' AND target_id = 'generate_report'),
    1::bigint,
    'an identical re-register writes no audit event'
);

SELECT is(
    concord.register_command_type((SELECT spec || '{"description": "Monthly figures."}'
                                   FROM generate_report_spec)),
    'generate_report',
    'registering a changed spec returns the command_type'
);

SELECT row_eq(
    $$SELECT description, version FROM concord.command_types WHERE command_type = 'generate_report'$$,
    ROW('Monthly figures.'::text, 2),
    'a changed spec replaces the definition and bumps the version to 2'
);

SELECT is(
    (SELECT count(*) FROM concord.domain_events
     WHERE event_type = 'command_type_registered' AND target_id = 'generate_report'),
    2::bigint,
    'the update writes a second audit event'
);

DO $$ BEGIN
    PERFORM concord.register_command_type(
        '{"command_type": "t_replace", "approval_required": true, "policy_checks": ["cost"]}');
    PERFORM concord.register_command_type('{"command_type": "t_replace"}');
END $$;

SELECT row_eq(
    $$SELECT approval_required, policy_checks, version FROM concord.command_types
      WHERE command_type = 't_replace'$$,
    ROW(false, '{}'::text[], 2),
    'a re-register replaces the whole definition: fields it omits return to their defaults'
);

-- ---------------------------------------------------------------------------
-- CN005: every problem, listed
-- ---------------------------------------------------------------------------
SELECT concord_test.throws_rule(
    $$SELECT concord.register_command_type('{"command_type": "t_bad", "colour": "blue"}')$$,
    'CN005', 'command_type_spec_is_valid',
    'CN005: an unknown field is refused'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_command_type('{"command_type": "t_bad", "sync_allowed": "yes"}')$$,
    'CN005', 'command_type_spec_is_valid',
    'CN005: a field of the wrong type (a string for a boolean) is refused'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_command_type('{"command_type": "t_bad", "required_inputs": "a,b"}')$$,
    'CN005', 'command_type_spec_is_valid',
    'CN005: a list field given as a string is refused'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_command_type(
        '{"command_type": "t_bad", "payload_schema": {"type": "no_such_type"}}')$$,
    'CN005', 'command_type_spec_is_valid',
    'CN005: a payload_schema that is not a valid JSON Schema is refused'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_command_type(
        '{"command_type": "t_bad", "payload_schema": {"properties": {"a": {"$ref": "https://example.com/a.json"}}}}')$$,
    'CN005', 'command_type_spec_is_valid',
    'CN005: a payload_schema with a non-local $ref is refused'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_command_type('{"name": "no type"}')$$,
    'CN005', 'command_type_spec_is_valid',
    'CN005: a spec without command_type is refused'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_command_type('["generate_report"]')$$,
    'CN005', 'command_type_spec_is_valid',
    'CN005: a spec that is not a JSON object is refused'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_command_type(
        '{"command_type": "t_bad", "policy_checks": ["no_such_policy"]}')$$,
    'CN005', 'command_type_spec_is_valid',
    'CN005: policy_checks naming a policy that is not registered is refused'
);

SELECT ok(
    NOT EXISTS (SELECT 1 FROM concord.command_types WHERE command_type = 't_bad'),
    'no refused spec left a command type behind'
);

SELECT lives_ok(
    $$SELECT concord.register_command_type('{"command_type": "t_local_ref", "payload_schema": {
        "$defs": {"day": {"type": "string"}},
        "type": "object", "properties": {"from": {"$ref": "#/$defs/day"}}}}')$$,
    'a payload_schema with a local $ref ("#/...") is accepted'
);

CREATE TEMP TABLE three_problems AS
SELECT concord_test.error_detail($$SELECT concord.register_command_type('{
    "command_type": "t_three",
    "colour": "blue",
    "async_required": "yes",
    "payload_schema": {"type": "object", "properties": {"a": {"$ref": "file:///etc/passwd"}}}
}')$$) AS detail;

SELECT matches(
    (SELECT detail FROM three_problems), 'unknown field colour',
    'CN005 DETAIL of a spec with 3 problems names the unknown field'
);

SELECT matches(
    (SELECT detail FROM three_problems), 'async_required must be true or false',
    'CN005 DETAIL of a spec with 3 problems names the wrongly typed field'
);

SELECT matches(
    (SELECT detail FROM three_problems), 'file:///etc/passwd.*not local',
    'CN005 DETAIL of a spec with 3 problems names the non-local $ref'
);

SELECT throws_ok(
    $$SELECT concord.register_command_type('{
        "command_type": "t_three", "colour": "blue", "async_required": "yes",
        "payload_schema": {"type": "object", "properties": {"a": {"$ref": "file:///etc/passwd"}}}}')$$,
    'CN005', 'invalid command type spec: 3 problem(s)',
    'CN005 message counts the 3 problems'
);

SELECT matches(
    concord_test.error_detail($$SELECT concord.register_command_type(
        '{"command_type": "t_bad", "payload_schema": {"type": "no_such_type"}}')$$),
    'payload_schema\.type',
    'CN005 DETAIL points at the invalid part of the JSON Schema'
);

-- ---------------------------------------------------------------------------
-- Spec 14: primitives
-- ---------------------------------------------------------------------------
SELECT is(
    concord.map_task_to_primitives('generate_report'),
    ARRAY['ingress', 'command', 'context', 'policy', 'plan', 'queue', 'async_task',
          'artifact_write', 'notification', 'state_transition', 'audit'],
    'spec 14: generate_report maps to exactly the documented primitives, in order'
);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_sync", "sync_allowed": true}');
    PERFORM concord.register_command_type('{"command_type": "t_approval", "approval_required": true,
        "connector_requirements": ["crm"], "memory_write_possible": true}');
    PERFORM concord.register_command_type('{"command_type": "t_plain"}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_both", "sync_allowed": true, "async_required": true}');
END $$;

SELECT is(
    concord.map_task_to_primitives('t_sync'),
    ARRAY['ingress', 'command', 'context', 'policy', 'plan', 'sync_function',
          'state_transition', 'audit'],
    'spec 14: a sync-allowed type maps to sync_function, not queue/async_task'
);

SELECT is(
    concord.map_task_to_primitives('t_approval'),
    ARRAY['ingress', 'command', 'context', 'policy', 'plan', 'human_approval', 'queue',
          'async_task', 'connector_call', 'memory_write', 'state_transition', 'audit'],
    'spec 14: an approval type maps to human_approval after plan, then its connector and memory primitives'
);

SELECT is(
    concord.map_task_to_primitives('t_plain'),
    ARRAY['ingress', 'command', 'context', 'policy', 'plan', 'queue', 'async_task',
          'state_transition', 'audit'],
    'spec 14: a type neither sync-allowed nor async-required is queued'
);

SELECT is(
    concord.map_task_to_primitives('t_both'),
    ARRAY['ingress', 'command', 'context', 'policy', 'plan', 'queue', 'async_task',
          'state_transition', 'audit'],
    'spec 14: async_required wins over sync_allowed'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.map_task_to_primitives('no_such_type')$$,
    'CN009', 'command_type_is_registered',
    'CN009: map_task_to_primitives of an unknown type'
);

SELECT * FROM finish();
ROLLBACK;
