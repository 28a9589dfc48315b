-- A payload check that stays in PL/pgSQL when the schema needs no Python.
--
-- concord._json_schema_errors (json_schema.sql) is the authority: plpython3u
-- with Debian's python3-jsonschema (4.10.3, Draft 2020-12 unless $schema says
-- otherwise). Crossing into Python and back (json dumps and loads on both
-- sides) costs more than the whole check for the usual small schema, so
-- _json_schema_accepts answers first for a subset of the keywords, with
-- jsonschema's exact semantics (Python numbers and len(), its equality and
-- type checker). It answers true only where Python finds no error, false only
-- where Python finds one, and NULL ("ask Python") everywhere else: the caller
-- asks Python on false too, so the problems it reports stay Python's own.

-- The sign of left - right as Python compares the values json.loads makes of
-- them: an int where the text has no '.', else a float rounded from the
-- decimal exactly as strtod does (numeric -> float8 goes through float8in).
-- NULL where PostgreSQL cannot reproduce Python's value or comparison: floats
-- outside the normal range (Python gets inf or a subnormal, float8 raises),
-- an int too big to mix exactly with a float, an int json.loads refuses
-- (over 4300 digits).
CREATE OR REPLACE FUNCTION concord._json_number_order(left_number jsonb, right_number jsonb)
RETURNS integer
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
AS $$
DECLARE
    left_text text;
    right_text text;
    left_value numeric;
    right_value numeric;
    left_float boolean;
    right_float boolean;
    left_double double precision;
    right_double double precision;
BEGIN
    IF jsonb_typeof(left_number) IS DISTINCT FROM 'number'
       OR jsonb_typeof(right_number) IS DISTINCT FROM 'number' THEN
        RETURN NULL;
    END IF;
    left_text := left_number #>> '{}';
    right_text := right_number #>> '{}';
    left_value := left_text::numeric;
    right_value := right_text::numeric;
    left_float := strpos(left_text, '.') > 0;
    right_float := strpos(right_text, '.') > 0;
    IF NOT left_float AND NOT right_float THEN
        IF abs(left_value) >= 1e4000 OR abs(right_value) >= 1e4000 THEN
            RETURN NULL;
        END IF;
        RETURN sign(left_value - right_value)::integer;
    END IF;
    IF (left_float AND (abs(left_value) >= 1e308 OR (left_value <> 0 AND abs(left_value) < 1e-300)))
       OR (right_float AND (abs(right_value) >= 1e308 OR (right_value <> 0 AND abs(right_value) < 1e-300)))
       OR (NOT left_float AND abs(left_value) > 9007199254740992)
       OR (NOT right_float AND abs(right_value) > 9007199254740992) THEN
        RETURN NULL;
    END IF;
    left_double := left_text::double precision;
    right_double := right_text::double precision;
    RETURN CASE WHEN left_double < right_double THEN -1 WHEN left_double > right_double THEN 1 ELSE 0 END;
END
$$;

-- Whether Python finds the two JSON values equal: jsonschema's equal() for
-- const (booleans are never numbers, at any depth), or Python's == for what
-- enum compares with `in` (nested True == 1 and False == 0.0), when
-- booleans_are_numbers. NULL when a number comparison is undecided.
CREATE OR REPLACE FUNCTION concord._json_values_equal(
    left_value jsonb, right_value jsonb, booleans_are_numbers boolean
)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
AS $$
DECLARE
    left_kind constant text := jsonb_typeof(left_value);
    right_kind constant text := jsonb_typeof(right_value);
    verdict boolean := true;
    left_keys jsonb;
    member_key text;
BEGIN
    IF left_kind = 'number' AND right_kind = 'number' THEN
        RETURN concord._json_number_order(left_value, right_value) = 0;
    END IF;
    IF booleans_are_numbers AND left_kind IN ('number', 'boolean') AND right_kind IN ('number', 'boolean') THEN
        RETURN concord._json_number_order(
            CASE left_kind WHEN 'boolean' THEN to_jsonb((left_value = 'true'::jsonb)::integer) ELSE left_value END,
            CASE right_kind WHEN 'boolean' THEN to_jsonb((right_value = 'true'::jsonb)::integer) ELSE right_value END
        ) = 0;
    END IF;
    IF left_kind IS DISTINCT FROM right_kind THEN
        RETURN false;
    END IF;
    IF left_kind = 'array' THEN
        IF jsonb_array_length(left_value) <> jsonb_array_length(right_value) THEN
            RETURN false;
        END IF;
        FOR position IN 0 .. jsonb_array_length(left_value) - 1 LOOP
            verdict := verdict AND concord._json_values_equal(
                left_value -> position, right_value -> position, booleans_are_numbers);
            IF verdict IS FALSE THEN
                RETURN false;
            END IF;
        END LOOP;
        RETURN verdict;
    END IF;
    IF left_kind = 'object' THEN
        left_keys := jsonb_path_query_array(left_value, 'strict $.keyvalue().key');
        IF jsonb_array_length(left_keys)
           <> jsonb_array_length(jsonb_path_query_array(right_value, 'strict $.keyvalue().key')) THEN
            RETURN false;
        END IF;
        FOR position IN 0 .. jsonb_array_length(left_keys) - 1 LOOP
            member_key := left_keys ->> position;
            IF NOT right_value ? member_key THEN
                RETURN false;
            END IF;
            verdict := verdict AND concord._json_values_equal(
                left_value -> member_key, right_value -> member_key, booleans_are_numbers);
            IF verdict IS FALSE THEN
                RETURN false;
            END IF;
        END LOOP;
        RETURN verdict;
    END IF;
    -- strings, booleans and null: jsonb equality is Python's here
    RETURN left_value = right_value;
END
$$;

-- jsonschema's type checker for one type name: "integer" also takes a float
-- with no fractional part (1.0, and 1.00000000000000000001, which Python
-- reads as 1.0); booleans are neither integers nor numbers. NULL for a name
-- Python does not know (it raises) or a float out of the normal range.
CREATE OR REPLACE FUNCTION concord._json_is_type(instance jsonb, type_name text)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
AS $$
DECLARE
    number_text text;
    value numeric;
    double_value double precision;
BEGIN
    CASE type_name
        WHEN 'integer' THEN
            IF jsonb_typeof(instance) <> 'number' THEN
                RETURN false;
            END IF;
            number_text := instance #>> '{}';
            IF strpos(number_text, '.') = 0 THEN
                RETURN true;
            END IF;
            value := number_text::numeric;
            IF abs(value) >= 1e308 OR (value <> 0 AND abs(value) < 1e-300) THEN
                RETURN NULL;
            END IF;
            double_value := number_text::double precision;
            RETURN double_value = trunc(double_value);
        WHEN 'number', 'string', 'object', 'array', 'boolean', 'null' THEN
            RETURN jsonb_typeof(instance) = type_name;
        ELSE
            RETURN NULL;
    END CASE;
END
$$;

-- The "type" keyword: one name or a list, tried in order as Python's any()
-- does (a name it does not know raises only if reached).
CREATE OR REPLACE FUNCTION concord._json_type_accepts(types jsonb, instance jsonb)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
AS $$
DECLARE
    type_name jsonb;
    matched boolean;
    undecided boolean := false;
BEGIN
    IF jsonb_typeof(types) = 'string' THEN
        RETURN concord._json_is_type(instance, types #>> '{}');
    END IF;
    IF jsonb_typeof(types) IS DISTINCT FROM 'array' THEN
        RETURN NULL;
    END IF;
    FOR position IN 0 .. jsonb_array_length(types) - 1 LOOP
        type_name := types -> position;
        IF jsonb_typeof(type_name) <> 'string'
           OR NOT (type_name #>> '{}') = ANY (ARRAY['integer', 'number', 'string', 'object', 'array', 'boolean', 'null']) THEN
            RETURN NULL;
        END IF;
        matched := concord._json_is_type(instance, type_name #>> '{}');
        IF matched THEN
            RETURN true;
        END IF;
        undecided := undecided OR matched IS NULL;
    END LOOP;
    RETURN CASE WHEN undecided THEN NULL ELSE false END;
END
$$;

-- The "enum" keyword as jsonschema 4.10.3 applies it: 0, 1 and booleans
-- compared with booleans kept apart, anything else with Python's `in`.
CREATE OR REPLACE FUNCTION concord._json_enum_accepts(choices jsonb, instance jsonb)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
AS $$
DECLARE
    kind constant text := jsonb_typeof(instance);
    choice jsonb;
    matched boolean;
    undecided boolean := false;
BEGIN
    IF jsonb_typeof(choices) IS DISTINCT FROM 'array' THEN
        RETURN NULL;
    END IF;
    FOR position IN 0 .. jsonb_array_length(choices) - 1 LOOP
        choice := choices -> position;
        IF kind IN ('string', 'boolean', 'null') THEN
            -- jsonb equality is Python's for these: same kind and same value
            matched := choice = instance;
        ELSE
            matched := concord._json_values_equal(instance, choice, kind IN ('array', 'object'));
        END IF;
        IF matched THEN
            RETURN true;
        END IF;
        undecided := undecided OR matched IS NULL;
    END LOOP;
    RETURN CASE WHEN undecided THEN NULL ELSE false END;
END
$$;

-- Whether measured (a number, a length or a count) meets the bounds of
-- schema named by the arguments, compared as Python compares them (see
-- _json_number_order). The slow path of _json_schema_accepts_at's bounds.
CREATE OR REPLACE FUNCTION concord._json_bounds_hold(
    measured jsonb, schema jsonb, lower_name text, upper_name text,
    exclusive_lower_name text DEFAULT NULL, exclusive_upper_name text DEFAULT NULL
)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
AS $$
BEGIN
    RETURN (NOT schema ? lower_name OR concord._json_number_order(measured, schema -> lower_name) >= 0)
        AND (NOT schema ? upper_name OR concord._json_number_order(measured, schema -> upper_name) <= 0)
        AND (exclusive_lower_name IS NULL OR NOT schema ? exclusive_lower_name
             OR concord._json_number_order(measured, schema -> exclusive_lower_name) > 0)
        AND (exclusive_upper_name IS NULL OR NOT schema ? exclusive_upper_name
             OR concord._json_number_order(measured, schema -> exclusive_upper_name) < 0);
END
$$;

-- One schema against one instance, recursively (see _json_schema_accepts).
-- Keywords the 2020-12 validator acts on but this function does not handle
-- make it answer NULL; keywords the validator ignores are ignored here too.
-- Like jsonschema, a keyword is looked at only where it applies: a "pattern"
-- under a property the instance does not have costs no Python call.
--
-- Written for a submit's single call in a fresh transaction, where PL/pgSQL
-- initialises every expression it evaluates once per transaction: few
-- expressions, no SPI query (arrays walked by index, an object's keys from one
-- jsonpath call), and bounds compared by one jsonpath call that holds only
-- when every bound is an int or an integral float within 2**53 (and the
-- instance no float), where numeric's comparison is Python's; when it does
-- not hold, _json_bounds_hold decides as Python would.
CREATE OR REPLACE FUNCTION concord._json_schema_accepts_at(schema jsonb, instance jsonb)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
AS $$
DECLARE
    kind constant text := jsonb_typeof(instance);
    verdict boolean;
    named jsonb;
    additional jsonb;
    subschema jsonb;
    member_keys jsonb;
    measured integer;
BEGIN
    IF jsonb_typeof(schema) IS DISTINCT FROM 'object'
       OR schema ?| ARRAY[
           '$ref', '$dynamicRef', '$recursiveRef', '$schema', 'additionalItems', 'allOf', 'anyOf',
           'contains', 'dependentRequired', 'dependentSchemas', 'dependencies', 'else', 'format',
           'if', 'maxContains', 'minContains', 'multipleOf', 'not', 'oneOf', 'pattern',
           'patternProperties', 'prefixItems', 'propertyNames', 'then', 'unevaluatedItems',
           'unevaluatedProperties', 'uniqueItems']
       -- a $id that is no string makes the validator raise while pushing its scope
       OR jsonb_typeof(schema -> '$id') <> 'string' THEN
        RETURN CASE WHEN schema = 'true'::jsonb THEN true WHEN schema = 'false'::jsonb THEN false END;
    END IF;

    verdict := CASE
        WHEN NOT schema ? 'type' OR schema -> 'type' = to_jsonb(kind) THEN true
        WHEN schema -> 'type' = '"integer"'::jsonb AND kind = 'number'
            THEN strpos(instance::text, '.') = 0 OR concord._json_is_type(instance, 'integer')
        ELSE concord._json_type_accepts(schema -> 'type', instance)
    END;
    IF verdict IS FALSE THEN
        RETURN false;
    END IF;
    IF schema ?| ARRAY['enum', 'const'] THEN
        IF schema ? 'enum' THEN
            verdict := verdict AND concord._json_enum_accepts(schema -> 'enum', instance);
        END IF;
        IF schema ? 'const' THEN
            verdict := verdict AND concord._json_values_equal(instance, schema -> 'const', false);
        END IF;
        IF verdict IS FALSE THEN
            RETURN false;
        END IF;
    END IF;

    IF kind = 'number' THEN
        IF schema ?| ARRAY['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'] THEN
            verdict := verdict AND (
                (strpos(instance::text, '.') = 0 AND jsonb_path_match(schema, 'lax (!exists($.minimum) || $.minimum.type() == "number" && $.minimum.floor() == $.minimum && $.minimum.abs() <= 9007199254740992 && $v >= $.minimum)
                    && (!exists($.maximum) || $.maximum.type() == "number" && $.maximum.floor() == $.maximum && $.maximum.abs() <= 9007199254740992 && $v <= $.maximum)
                    && (!exists($.exclusiveMinimum) || $.exclusiveMinimum.type() == "number" && $.exclusiveMinimum.floor() == $.exclusiveMinimum && $.exclusiveMinimum.abs() <= 9007199254740992 && $v > $.exclusiveMinimum)
                    && (!exists($.exclusiveMaximum) || $.exclusiveMaximum.type() == "number" && $.exclusiveMaximum.floor() == $.exclusiveMaximum && $.exclusiveMaximum.abs() <= 9007199254740992 && $v < $.exclusiveMaximum)', jsonb_build_object('v', instance)))
                OR concord._json_bounds_hold(instance, schema, 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'));
        END IF;
    ELSIF kind = 'string' THEN
        IF schema ?| ARRAY['minLength', 'maxLength'] THEN
            -- length() counts code points in a UTF8 database, as Python's len() does
            measured := CASE WHEN getdatabaseencoding() = 'UTF8' THEN length(instance #>> '{}') END;
            verdict := verdict AND (
                jsonb_path_match(schema, 'lax (!exists($.minLength) || $.minLength.type() == "number" && $.minLength.floor() == $.minLength && $.minLength.abs() <= 9007199254740992 && $v >= $.minLength)
                    && (!exists($.maxLength) || $.maxLength.type() == "number" && $.maxLength.floor() == $.maxLength && $.maxLength.abs() <= 9007199254740992 && $v <= $.maxLength)', jsonb_build_object('v', measured))
                OR concord._json_bounds_hold(to_jsonb(measured), schema, 'minLength', 'maxLength'));
        END IF;
    ELSIF kind = 'object' THEN
        named := schema -> 'properties';
        additional := schema -> 'additionalProperties';
        IF jsonb_typeof(named) <> 'object' OR jsonb_typeof(additional) NOT IN ('object', 'boolean')
           OR jsonb_typeof(schema -> 'required') <> 'array'
           -- a name that is no string: Python may raise on it (an unhashable one)
           OR jsonb_path_exists(schema, 'lax $.required[*] ? (@.type() != "string")') THEN
            RETURN NULL;
        END IF;
        member_keys := jsonb_path_query_array(instance, 'strict $.keyvalue().key');
        IF jsonb_path_exists(schema, 'lax $.required[*] ? (!(@ == $keys[*]))', jsonb_build_object('keys', member_keys)) THEN
            RETURN false;
        END IF;
        IF additional IN ('true'::jsonb, '{}'::jsonb) THEN
            additional := NULL;
        END IF;
        IF named IS NOT NULL OR additional IS NOT NULL THEN
            FOR position IN 0 .. jsonb_array_length(member_keys) - 1 LOOP
                -- a member named in properties meets its schema, any other additionalProperties
                subschema := coalesce(named -> (member_keys ->> position), additional);
                IF subschema IS NOT NULL THEN
                    verdict := verdict
                        AND concord._json_schema_accepts_at(subschema, instance -> (member_keys ->> position));
                    IF verdict IS FALSE THEN
                        RETURN false;
                    END IF;
                END IF;
            END LOOP;
        END IF;
        IF schema ?| ARRAY['minProperties', 'maxProperties'] THEN
            measured := jsonb_array_length(member_keys);
            verdict := verdict AND (
                jsonb_path_match(schema, 'lax (!exists($.minProperties) || $.minProperties.type() == "number" && $.minProperties.floor() == $.minProperties && $.minProperties.abs() <= 9007199254740992 && $v >= $.minProperties)
                    && (!exists($.maxProperties) || $.maxProperties.type() == "number" && $.maxProperties.floor() == $.maxProperties && $.maxProperties.abs() <= 9007199254740992 && $v <= $.maxProperties)', jsonb_build_object('v', measured))
                OR concord._json_bounds_hold(to_jsonb(measured), schema, 'minProperties', 'maxProperties'));
        END IF;
    ELSIF kind = 'array' THEN
        subschema := schema -> 'items';
        IF jsonb_typeof(subschema) NOT IN ('object', 'boolean') THEN
            RETURN NULL;
        END IF;
        IF subschema NOT IN ('true'::jsonb, '{}'::jsonb) THEN
            FOR position IN 0 .. jsonb_array_length(instance) - 1 LOOP
                verdict := verdict AND concord._json_schema_accepts_at(subschema, instance -> position);
                IF verdict IS FALSE THEN
                    RETURN false;
                END IF;
            END LOOP;
        END IF;
        IF schema ?| ARRAY['minItems', 'maxItems'] THEN
            measured := jsonb_array_length(instance);
            verdict := verdict AND (
                jsonb_path_match(schema, 'lax (!exists($.minItems) || $.minItems.type() == "number" && $.minItems.floor() == $.minItems && $.minItems.abs() <= 9007199254740992 && $v >= $.minItems)
                    && (!exists($.maxItems) || $.maxItems.type() == "number" && $.maxItems.floor() == $.maxItems && $.maxItems.abs() <= 9007199254740992 && $v <= $.maxItems)', jsonb_build_object('v', measured))
                OR concord._json_bounds_hold(to_jsonb(measured), schema, 'minItems', 'maxItems'));
        END IF;
    END IF;
    RETURN verdict;
END
$$;

-- Whether instance is valid against schema, decided without Python: true
-- (valid: no need to ask Python), false (invalid: ask Python for the
-- problems), NULL (not decided here: ask Python). Decides only for Draft
-- 2020-12 (no $schema, or 2020-12's), for instances of at most 1 kB (each
-- value checked costs a PL/pgSQL call: past some fifty of them, one call
-- into Python is cheaper), nested at most 32 deep (Python answers "nested
-- too deeply" somewhere past that), holding no int json.loads refuses (over
-- 4300 digits), and the keywords _json_schema_accepts_at handles.
CREATE OR REPLACE FUNCTION concord._json_schema_accepts(schema jsonb, instance jsonb)
RETURNS boolean
LANGUAGE sql
STABLE
PARALLEL SAFE
-- SQL, and stable rather than immutable as pg_column_size is, so that it is
-- inlined into the caller's expression: one function call fewer per submit.
AS $$
    SELECT CASE
        WHEN pg_column_size(instance) > 1024
             OR jsonb_path_exists(instance, 'strict $.**{33}')
             OR jsonb_path_exists(
                 instance, 'strict $.** ? (@.type() == "number" && (@ >= 1e4000 || @ <= -1e4000))')
            THEN NULL
        WHEN NOT schema ? '$schema'
            THEN concord._json_schema_accepts_at(schema, instance)
        WHEN schema -> '$schema' = '"https://json-schema.org/draft/2020-12/schema"'::jsonb
            THEN concord._json_schema_accepts_at(schema - '$schema', instance)
    END
$$;
