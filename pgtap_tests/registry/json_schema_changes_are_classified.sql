-- A JSON Schema change is compared structurally (spec 110), keyword by
-- keyword and through nested properties, items and $defs: narrowing breaks an
-- input schema, widening breaks an output schema, wording is doc, and a
-- keyword Concord cannot compare counts as breaking.
BEGIN;
SELECT plan(44);

-- "kind path" of every finding, in the function's order
CREATE FUNCTION pg_temp.kinds(old_schema jsonb, new_schema jsonb, direction text DEFAULT 'input')
RETURNS text
LANGUAGE sql
AS $$
    SELECT coalesce(string_agg((f.value ->> 'kind') || ' ' || (f.value ->> 'path'), '; ' ORDER BY f.ordinality), '')
    FROM jsonb_array_elements(concord.registry_json_schema_change(old_schema, new_schema, direction))
        WITH ORDINALITY AS f (value, ordinality)
$$;

-- identical
SELECT is(concord.registry_json_schema_change(
    '{"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}',
    '{"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}'), '[]',
    'identical schemas: no finding');
SELECT is(concord.registry_json_schema_change('{"type": "number"}', '{"type": ["integer", "number"]}'),
    '[]', 'the same types spelt differently: no finding');

-- properties
SELECT is(pg_temp.kinds('{"properties": {}}', '{"properties": {"b": {"type": "string"}}}', 'input'),
    'additive /properties/b', 'input: a new optional property is additive');
SELECT is(pg_temp.kinds('{"properties": {}}', '{"properties": {"b": {"type": "string"}}}', 'output'),
    'additive /properties/b', 'output: a new property old readers accept is additive');
SELECT is(pg_temp.kinds('{"additionalProperties": false}',
    '{"additionalProperties": false, "properties": {"b": {}}}', 'output'),
    'breaking /properties/b', 'output: a new property old readers refuse (additionalProperties false) breaks');
SELECT is(pg_temp.kinds('{"properties": {}}', '{"required": ["b"], "properties": {"b": {}}}', 'input'),
    'additive /properties/b; breaking /required', 'input: a new required property breaks');
SELECT is(pg_temp.kinds('{"properties": {"b": {}}, "additionalProperties": false}',
    '{"properties": {}, "additionalProperties": false}', 'input'),
    'breaking /properties/b', 'input: a property removed under additionalProperties false breaks');
SELECT is(pg_temp.kinds('{"properties": {"b": {}}}', '{"properties": {}}', 'input'),
    'additive /properties/b', 'input: a property removed from an open object is additive');
SELECT is(pg_temp.kinds('{"properties": {"b": {}}}', '{"properties": {}}', 'output'),
    'breaking /properties/b', 'output: a property removed from an open object (now unconstrained) breaks');

-- required
SELECT is(pg_temp.kinds('{"required": []}', '{"required": ["a"]}', 'input'), 'breaking /required',
    'input: required added breaks');
SELECT is(pg_temp.kinds('{"required": []}', '{"required": ["a"]}', 'output'), 'additive /required',
    'output: required added is additive');
SELECT is(pg_temp.kinds('{"required": ["a"]}', '{}', 'input'), 'additive /required',
    'input: required removed is additive');
SELECT is(pg_temp.kinds('{"required": ["a"]}', '{}', 'output'), 'breaking /required',
    'output: required removed breaks');

-- type
SELECT is(pg_temp.kinds('{"type": ["string", "null"]}', '{"type": "string"}', 'input'), 'breaking /type',
    'input: type narrowed breaks');
SELECT is(pg_temp.kinds('{"type": ["string", "null"]}', '{"type": "string"}', 'output'), 'additive /type',
    'output: type narrowed is additive');
SELECT is(pg_temp.kinds('{"type": "integer"}', '{"type": "number"}', 'input'), 'additive /type',
    'input: type widened (integer -> number) is additive');
SELECT is(pg_temp.kinds('{"type": "integer"}', '{"type": "number"}', 'output'), 'breaking /type',
    'output: type widened breaks');
SELECT is(pg_temp.kinds('{"type": "string"}', '{"type": "boolean"}', 'input')
    || ' | ' || pg_temp.kinds('{"type": "string"}', '{"type": "boolean"}', 'output'),
    'breaking /type | breaking /type', 'a type changed to another breaks both ways');

-- enum and const
SELECT is(pg_temp.kinds('{"enum": ["a", "b"]}', '{"enum": ["a", "b", "c"]}', 'input')
    || ' | ' || pg_temp.kinds('{"enum": ["a", "b"]}', '{"enum": ["a", "b", "c"]}', 'output'),
    'additive /enum | breaking /enum', 'enum values added: widened');
SELECT is(pg_temp.kinds('{"enum": ["a", "b"]}', '{"enum": ["a"]}', 'input')
    || ' | ' || pg_temp.kinds('{"enum": ["a", "b"]}', '{"enum": ["a"]}', 'output'),
    'breaking /enum | additive /enum', 'enum values removed: narrowed');
SELECT is(pg_temp.kinds('{"type": "string"}', '{"type": "string", "enum": ["a"]}', 'input'), 'breaking /enum',
    'input: an enum introduced narrows');
SELECT is(pg_temp.kinds('{"const": 1}', '{"const": 2}', 'output'), 'breaking /const', 'const changed breaks');
SELECT is(pg_temp.kinds('{"const": 1}', '{}', 'input') || ' | ' || pg_temp.kinds('{"const": 1}', '{}', 'output'),
    'additive /const | breaking /const', 'const removed: widened');

-- additionalProperties
SELECT is(pg_temp.kinds('{}', '{"additionalProperties": false}', 'input')
    || ' | ' || pg_temp.kinds('{}', '{"additionalProperties": false}', 'output'),
    'breaking /additionalProperties | additive /additionalProperties', 'additionalProperties true -> false: narrowed');
SELECT is(pg_temp.kinds('{"additionalProperties": false}', '{"additionalProperties": true}', 'input')
    || ' | ' || pg_temp.kinds('{"additionalProperties": false}', '{"additionalProperties": true}', 'output'),
    'additive /additionalProperties | breaking /additionalProperties', 'additionalProperties false -> true: widened');
SELECT is(pg_temp.kinds('{"additionalProperties": {"type": "number"}}', '{"additionalProperties": {"type": "integer"}}'),
    'breaking /additionalProperties/type', 'an additionalProperties schema is compared recursively');

-- bounds
SELECT is(pg_temp.kinds('{"minimum": 1}', '{"minimum": 2}', 'input')
    || ' | ' || pg_temp.kinds('{"minimum": 1}', '{"minimum": 2}', 'output'),
    'breaking /minimum | additive /minimum', 'minimum raised: narrowed');
SELECT is(pg_temp.kinds('{"maximum": 10}', '{"maximum": 20}', 'input')
    || ' | ' || pg_temp.kinds('{"maximum": 10}', '{"maximum": 20}', 'output'),
    'additive /maximum | breaking /maximum', 'maximum raised: widened');
SELECT is(pg_temp.kinds('{"minLength": 3}', '{}', 'input'), 'additive /minLength', 'minLength removed: widened');
SELECT is(pg_temp.kinds('{}', '{"maxLength": 5}', 'input'), 'breaking /maxLength', 'maxLength added: narrowed');
SELECT is(pg_temp.kinds('{"minItems": 1}', '{"minItems": 0}', 'output'), 'breaking /minItems',
    'output: minItems loosened breaks');
SELECT is(pg_temp.kinds('{"maxItems": 5}', '{"maxItems": 3}', 'output'), 'additive /maxItems',
    'output: maxItems tightened is additive');
SELECT is(pg_temp.kinds('{"pattern": "^a"}', '{"pattern": "^b"}', 'input')
    || ' | ' || pg_temp.kinds('{"pattern": "^a"}', '{"pattern": "^b"}', 'output'),
    'breaking /pattern | breaking /pattern', 'pattern changed breaks both ways');
SELECT is(pg_temp.kinds('{}', '{"pattern": "^a"}', 'input'), 'breaking /pattern', 'input: pattern added narrows');
SELECT is(pg_temp.kinds('{"format": "date"}', '{"format": "date-time"}', 'output'), 'breaking /format',
    'format changed breaks');
SELECT is(pg_temp.kinds('{"format": "date"}', '{}', 'input'), 'additive /format', 'input: format removed widens');

-- nesting: properties, items, $defs
SELECT is(pg_temp.kinds(
    '{"properties": {"guest": {"type": "object", "properties": {"age": {"type": "number"}}}}}',
    '{"properties": {"guest": {"type": "object", "properties": {"age": {"type": "integer"}}}}}', 'input'),
    'breaking /properties/guest/properties/age/type', 'nested properties are compared, with their path');
SELECT is(pg_temp.kinds('{"type": "array", "items": {"type": "string"}}',
    '{"type": "array", "items": {"type": ["string", "number"]}}', 'output'),
    'breaking /items/type', 'items are compared');
SELECT is(pg_temp.kinds('{"$defs": {"money": {"type": "number", "minimum": 0}}}',
    '{"$defs": {"money": {"type": "number", "minimum": 1}}, "properties": {"a/b": {}}}', 'input'),
    'breaking /$defs/money/minimum; additive /properties/a~1b', 'local $defs are compared; pointer tokens are escaped');

-- doc and unknown keywords
SELECT is(pg_temp.kinds('{"type": "string", "description": "a", "title": "t"}',
    '{"type": "string", "description": "b", "title": "u", "examples": ["x"], "$comment": "c"}', 'input'),
    'doc /$comment; doc /description; doc /examples; doc /title', 'description, title, examples, $comment are doc');
SELECT is(pg_temp.kinds('{"anyOf": [{"type": "string"}]}', '{"anyOf": [{"type": "string"}, {"type": "null"}]}', 'input'),
    'breaking /anyOf', 'a keyword Concord cannot compare counts as breaking');
SELECT is((concord.registry_json_schema_change('{"anyOf": []}', '{}') -> 0 ->> 'message'),
    'keyword anyOf changed: Concord cannot compare it, so it counts as breaking', 'and says why');

-- full: durable data, both ways
SELECT is(pg_temp.kinds('{"type": "integer"}', '{"type": "number"}', 'full')
    || ' | ' || pg_temp.kinds('{"type": "number"}', '{"type": "integer"}', 'full'),
    'breaking /type | breaking /type', 'full: widening and narrowing both break');
SELECT concord_test.throws_rule(
    $$SELECT concord.registry_json_schema_change('{}', '{}', 'sideways')$$,
    'CN008', 'a_schema_change_direction_is_input_output_or_full', 'an unknown direction is refused');

SELECT * FROM finish();
ROLLBACK;
