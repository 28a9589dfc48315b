-- A payload_schema is a JSON Schema the kernel can use
-- (payload_schema_is_a_usable_json_schema): its patterns (pattern,
-- patternProperties, and the property matching of additionalProperties) run on
-- PostgreSQL's regex engine, and it must compile, resolve and terminate -- a
-- refusal is CN005 with a DETAIL naming the problem. (A pattern that would hang
-- Python's re is tested in tests/, where a thread and a timeout catch a hang.)
BEGIN;
SELECT plan(16);

\ir ../lib/kernel_fixtures.sql

-- ===========================================================================
-- 1. Patterns run on PostgreSQL's regex engine (pattern, patternProperties,
--    and the property matching of additionalProperties)
-- ===========================================================================
SELECT row_eq(
    $$SELECT * FROM pg_temp.submit('t_hard_pattern', '{"code": "abc"}')$$,
    ROW('validated'::text, '[]'::jsonb),
    'pattern is matched by PostgreSQL''s engine: "abc" matches ^[[:alpha:]]+$'
);

SELECT is(
    (SELECT e.errors -> 0 ->> 'keyword' || ' at ' || (e.errors -> 0 ->> 'path')
     FROM pg_temp.submit('t_hard_pattern', '{"code": "ab1"}') AS e),
    'pattern at $.code',
    'pattern is matched by PostgreSQL''s engine: "ab1" fails ^[[:alpha:]]+$ with a pattern error'
);

SELECT row_eq(
    $$SELECT * FROM pg_temp.submit('t_hard_pattern_properties', '{"x_12": 1, "x_3": 2}')$$,
    ROW('validated'::text, '[]'::jsonb),
    'patternProperties keys and additionalProperties are matched by PostgreSQL''s engine: x_12 is no '
    'additional property'
);

SELECT is(
    (SELECT array_agg(e.problem ->> 'keyword' || ' at ' || (e.problem ->> 'path') ORDER BY e.problem ->> 'path',
                      e.problem ->> 'keyword')
     FROM pg_temp.submit('t_hard_pattern_properties', '{"x_12": "twelve", "y": 1}') AS s,
          jsonb_array_elements(s.errors) AS e (problem)),
    ARRAY['additionalProperties at $', 'type at $.x_12'],
    'an invalid payload: patternProperties applies its schema to x_12, additionalProperties refuses y only'
);

SELECT is(
    (SELECT e.problem ->> 'message' LIKE '%''y''%' AND e.problem ->> 'message' NOT LIKE '%x\_12%'
     FROM pg_temp.submit('t_hard_pattern_properties', '{"x_12": "twelve", "y": 1}') AS s,
          jsonb_array_elements(s.errors) AS e (problem)
     WHERE e.problem ->> 'keyword' = 'additionalProperties'),
    true,
    'additionalProperties honours patternProperties: its error names y and not x_12'
);

-- ===========================================================================
-- 2. A payload_schema must compile, resolve and terminate (CN005, DETAIL
--    names the problem)
-- ===========================================================================
SELECT matches(
    pg_temp.refusal(pg_temp.register_sql('{"type": "object", "properties": {"s": {"pattern": "("}}}')),
    '^CN005: .*payload_schema\.properties\.s\.pattern: ''\('' is not a regular expression PostgreSQL can use',
    'CN005: a pattern PostgreSQL cannot compile ("(") is refused at registration, named in DETAIL'
);

SELECT matches(
    pg_temp.refusal(pg_temp.register_sql('{"patternProperties": {"(?P<n>a)": {}}}')),
    '^CN005: .*patternProperties.*is not a regular expression PostgreSQL can use',
    'CN005: a patternProperties key Python could compile but PostgreSQL cannot is refused'
);

SELECT matches(
    pg_temp.refusal(pg_temp.register_sql('{"type": "object", "properties": {"a": {"$ref": "#/nope"}}}')),
    '^CN005: .*reference ''#/nope'' does not resolve',
    'CN005: an unresolvable local $ref (#/nope) is refused at registration'
);

SELECT matches(
    pg_temp.refusal(pg_temp.register_sql('{"$ref": "#"}')),
    '^CN005: .*loop',
    'CN005: a $ref loop ({"$ref": "#"}) is refused at registration'
);

SELECT matches(
    pg_temp.refusal(pg_temp.register_sql(pg_temp.deep(3000))),
    '^CN005: .*nested too deeply',
    'CN005: a schema nested 3000 levels deep is refused at registration (no raw Python error)'
);

SELECT is(
    (SELECT count(*) FROM concord.command_types WHERE command_type LIKE 't\_hard\_bad\_%'),
    0::bigint,
    'no refused schema was registered'
);

SELECT lives_ok(
    $$SELECT concord.register_command_type('{
        "command_type": "t_hard_draft4", "sync_allowed": true,
        "payload_schema": {"$schema": "http://json-schema.org/draft-04/schema#", "id": "http://x/",
                           "type": "object", "properties": {"n": {"$ref": "#/definitions/z"}},
                           "definitions": {"z": {"type": "integer"}}}}')$$,
    'a draft-04 schema with "id": "http://x/" and a local $ref #/definitions/z is accepted'
);

SELECT row_eq(
    $$SELECT * FROM pg_temp.submit('t_hard_draft4', '{"n": 1}')$$,
    ROW('validated'::text, '[]'::jsonb),
    'the draft-04 schema validates a valid payload, its $ref resolved inside the schema (no remote fetch)'
);

SELECT is(
    (SELECT s.status || ' / ' || (s.errors -> 0 ->> 'keyword') || ' at ' || (s.errors -> 0 ->> 'path')
     FROM pg_temp.submit('t_hard_draft4', '{"n": "one"}') AS s),
    'failed / type at $.n',
    'the draft-04 schema refuses an invalid payload through its $ref'
);

SELECT lives_ok(
    $$SELECT concord.submit_command('t_hard_object', jsonb_build_object('a', pg_temp.deep(3000)),
                                    'deep-payload')$$,
    'submit_command of a payload nested 3000 levels deep raises no error (no raw 38000 error)'
);

SELECT row_eq(
    $$SELECT status, error_class, jsonb_array_length(error_detail -> 'errors') > 0
      FROM concord.commands WHERE command_type = 't_hard_object' AND requested_by = 'deep-payload'$$,
    ROW('failed'::text, 'validation_error'::text, true),
    'the payload nested 3000 levels deep is recorded as failed with a validation error'
);

SELECT * FROM finish();
ROLLBACK;
