-- A payload is checked against its schema without Python when it can be:
-- concord._json_schema_accepts decides the keywords it handles with
-- jsonschema's own semantics (true: valid, false: invalid, NULL: not decided),
-- and _payload_problems asks Python (concord._json_schema_errors) only when
-- the answer is not true, so the problems reported are Python's, unchanged.
-- The property-based comparison with Python is
-- tests/commands/test_the_payload_fast_path_agrees_with_jsonschema.py.
BEGIN;
SELECT plan(35);

CREATE TEMP TABLE fast_cases (schema jsonb, instance jsonb, expected boolean, why text);
INSERT INTO fast_cases VALUES
    ('{"type":"object","properties":{"n":{"type":"integer","minimum":0}},"required":["n"],"additionalProperties":false}',
     '{"n": 1}', true, 'the simple schema: a valid payload'),
    ('{"type":"object","properties":{"n":{"type":"integer","minimum":0}},"required":["n"],"additionalProperties":false}',
     '{"n": 1.0}', true, '1.0 is an integer (a float with no fractional part, as jsonschema says)'),
    ('{"type":"integer"}', '1.5', false, '1.5 is no integer'),
    ('{"type":"integer"}', '1.00000000000000000001', true,
     '1.00000000000000000001 is an integer: Python reads it as the float 1.0'),
    ('{"type":"integer"}', 'true', false, 'true is no integer'),
    ('{"type":"number"}', 'true', false, 'true is no number'),
    ('{"type":["string","number"]}', '2', true, 'a list of types: any one will do'),
    ('{"type":"object","properties":{"n":{"type":"integer","minimum":0}},"required":["n"],"additionalProperties":false}',
     '{"n": 1, "x": 2}', false, 'additionalProperties false refuses an extra member'),
    ('{"properties":{"n":{}},"additionalProperties":{"type":"string"}}',
     '{"n": 1, "x": "y"}', true, 'additionalProperties as a schema applies to the extra members only'),
    ('{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}',
     '{}', false, 'a required member is missing'),
    ('{"properties":{"a":{"type":"object","required":["b"]}}}',
     '{"a": {}}', false, 'a nested required member is missing'),
    ('{"properties":{"a":{"type":"object","required":["b"]}}}',
     '{"a": {"b": null}}', true, 'a nested required member is there (null counts)'),
    ('{"type":"string","maxLength":1}', '"😀"', true,
     'maxLength counts code points as Python len() does: one emoji (four bytes) is one'),
    ('{"type":"string","maxLength":1}', '"e\u0301"', false,
     'e and a combining accent are two code points'),
    ('{"type":"string","minLength":3}', '"ß😀é"', true, 'three code points meet minLength 3'),
    ('{"maximum":1}', '1.00000000000000000001', true, 'compared as Python does, after rounding to a float'),
    ('{"exclusiveMinimum":0}', '0', false, 'exclusiveMinimum excludes the bound'),
    ('{"exclusiveMaximum":9007199254740993}', '9007199254740992', true,
     'two ints compare exactly, past 2**53 too'),
    ('{"items":{"type":"integer"},"minItems":1,"maxItems":2}', '[1, 2]', true, 'items and counts'),
    ('{"items":{"type":"integer"}}', '[1, "2"]', false, 'items: one item of the wrong type'),
    ('{"enum":[[1]]}', '[true]', true, 'enum compares a nested true to 1 as Python''s `in` does'),
    ('{"const":[1]}', '[true]', false, 'const keeps booleans and numbers apart at every depth'),
    ('{"enum":["a", 1]}', 'true', false, 'a top-level true is not 1 to enum'),
    ('{"minProperties":2,"title":"t","description":"d","$comment":"c","default":{}}', '{"a": 1, "b": 2}', true,
     'annotations do not affect validity'),
    ('{"properties":{"s":{"type":"string","pattern":"^a"}}}', '{"s": "abc"}', NULL,
     'a pattern the instance reaches is left to Python (NULL)'),
    ('{"properties":{"s":{"type":"string","pattern":"^a"}}}', '{"t": "xyz"}', true,
     'a pattern the instance does not reach costs no Python call'),
    ('{"$ref":"#/$defs/n","$defs":{"n":{"type":"integer"}}}', '1', NULL, '$ref is left to Python'),
    ('{"maxItems":[5]}', '[1]', NULL, 'a bound that is no number is left to Python (where it raises)'),
    ('{"$schema":"http://json-schema.org/draft-07/schema#","type":"integer"}', '1', NULL,
     'another draft is left to Python'),
    ('{"type":"object"}', (repeat('{"a":', 40) || '1' || repeat('}', 40))::jsonb, NULL,
     'an instance nested 40 deep is left to Python, which says how deep is too deep'),
    ('{"type":"object"}', ('{"a": 1' || repeat('0', 5000) || '}')::jsonb, NULL,
     'an int json.loads refuses (over 4300 digits) is left to Python'),
    ('{"type":"object"}', jsonb_build_object('a', (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 40) AS g)), NULL,
     'an instance over 1 kB is left to Python, cheaper than a PL/pgSQL call per value there');

SELECT is(concord._json_schema_accepts(c.schema, c.instance), c.expected, c.why)
FROM fast_cases AS c;

SELECT is_empty(
    $$SELECT c.why FROM fast_cases AS c
      WHERE c.expected IS NOT NULL
        AND c.expected <> (concord._json_schema_errors(c.schema, c.instance) = '[]'::jsonb)$$,
    'every decided verdict above is the one jsonschema gives'
);

-- Python is not called when the check can say valid, and gives the problems
-- when it cannot (function call counts of this transaction).
SET LOCAL track_functions = 'pl';
SELECT is(
    concord._payload_problems('{}',
        '{"type":"object","properties":{"n":{"type":"integer","minimum":0}},"required":["n"]}', '{"n": 7}')
    || concord._payload_problems('{}',
        '{"type":"object","properties":{"n":{"type":"integer","minimum":0}},"required":["n"]}', '{"n": -1}')
    || concord._payload_problems('{}',
        '{"type":"object","properties":{"s":{"pattern":"^a"}}}', '{"s": "abc"}'),
    '[{"kind": "schema", "path": "$.n", "keyword": "minimum", "message": "-1 is less than the minimum of 0"}]'::jsonb,
    '_payload_problems reports Python''s problem for an invalid payload, none for the valid ones'
);
SELECT is(
    pg_stat_get_xact_function_calls('concord._json_schema_errors(jsonb,jsonb)'::regprocedure),
    2::bigint,
    'Python was asked twice: for the invalid payload and for the undecided pattern, not for the valid one'
);

SELECT * FROM finish();
ROLLBACK;
