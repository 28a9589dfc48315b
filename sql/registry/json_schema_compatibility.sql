-- Structural comparison of two JSON Schemas (spec 110): which changes narrow
-- what a schema accepts, which widen it, which only reword it. Confluent's
-- Schema Registry answers yes/no per compatibility mode; we name every change,
-- so a refused version says what made it breaking.
--
-- A change has an effect on the set of accepted documents: narrowed (the new
-- schema accepts less), widened (it accepts more), changed (neither: both
-- ways), additive or doc (decided by the caller). The direction says whom it
-- hurts: for an input schema (callers send it) narrowing is breaking; for an
-- output schema (producers emit it) widening is; for a durable schema read and
-- written across versions ('full': artifacts, memories) both are.

-- The finding for one change: its kind follows from its effect and direction.
CREATE OR REPLACE FUNCTION concord._registry_schema_finding(
    effect text, direction text, path text, message text
)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT jsonb_build_object(
        'kind',
        CASE
            WHEN effect IN ('doc', 'additive', 'breaking') THEN effect
            WHEN effect = 'narrowed' AND direction = 'output' THEN 'additive'
            WHEN effect = 'widened' AND direction = 'input' THEN 'additive'
            ELSE 'breaking'
        END,
        'path', CASE WHEN path = '' THEN '/' ELSE path END,
        'message', message
    )
$$;

-- A JSON Pointer token: '~' and '/' escaped (RFC 6901).
CREATE OR REPLACE FUNCTION concord._registry_pointer_token(token text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT replace(replace(token, '~', '~0'), '/', '~1')
$$;

-- The types a schema allows: NULL when it says none (every type).
CREATE OR REPLACE FUNCTION concord._registry_schema_types(schema jsonb)
RETURNS text[]
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT CASE jsonb_typeof(schema -> 'type')
        WHEN 'string' THEN ARRAY[schema ->> 'type']
        WHEN 'array' THEN ARRAY(
            SELECT t.value FROM jsonb_array_elements_text(schema -> 'type') AS t (value) ORDER BY 1
        )
    END
$$;

-- True when every type of inner is accepted by outer (an integer is a number).
CREATE OR REPLACE FUNCTION concord._registry_types_within(inner_types text[], outer_types text[])
RETURNS boolean
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT outer_types IS NULL
        OR (inner_types IS NOT NULL AND NOT EXISTS (
            SELECT 1
            FROM unnest(inner_types) AS t (name)
            WHERE NOT (t.name = ANY(outer_types) OR (t.name = 'integer' AND 'number' = ANY(outer_types)))
        ))
$$;

-- A bound (minimum, maxLength, ...) added, removed, tightened or loosened.
-- lower: a larger value accepts less (minimum); else a smaller one does.
CREATE OR REPLACE FUNCTION concord._registry_schema_bound_change(
    keyword text, old_value jsonb, new_value jsonb, lower boolean, direction text, path text
)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    at text := path || '/' || keyword;
BEGIN
    IF old_value IS NOT DISTINCT FROM new_value THEN
        RETURN '[]'::jsonb;
    ELSIF old_value IS NULL THEN
        RETURN jsonb_build_array(_registry_schema_finding(
            'narrowed', direction, at, format('%s %s added: narrowed', keyword, new_value)));
    ELSIF new_value IS NULL THEN
        RETURN jsonb_build_array(_registry_schema_finding(
            'widened', direction, at, format('%s %s removed: widened', keyword, old_value)));
    ELSIF jsonb_typeof(old_value) <> 'number' OR jsonb_typeof(new_value) <> 'number' THEN
        RETURN jsonb_build_array(_registry_schema_finding(
            'changed', direction, at, format('%s changed from %s to %s', keyword, old_value, new_value)));
    ELSIF ((new_value::text)::numeric > (old_value::text)::numeric) = lower THEN
        RETURN jsonb_build_array(_registry_schema_finding(
            'narrowed', direction, at,
            format('%s tightened from %s to %s: narrowed', keyword, old_value, new_value)));
    END IF;
    RETURN jsonb_build_array(_registry_schema_finding(
        'widened', direction, at,
        format('%s loosened from %s to %s: widened', keyword, old_value, new_value)));
END
$$;

-- A keyword whose mere presence narrows (pattern, format, multipleOf, $ref):
-- added narrows, removed widens, a different value changes both ways.
CREATE OR REPLACE FUNCTION concord._registry_schema_constraint_change(
    keyword text, old_value jsonb, new_value jsonb, direction text, path text
)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT CASE
        WHEN old_value IS NOT DISTINCT FROM new_value THEN '[]'::jsonb
        WHEN old_value IS NULL THEN jsonb_build_array(_registry_schema_finding(
            'narrowed', direction, path || '/' || keyword,
            format('%s %s added: narrowed', keyword, new_value)))
        WHEN new_value IS NULL THEN jsonb_build_array(_registry_schema_finding(
            'widened', direction, path || '/' || keyword,
            format('%s %s removed: widened', keyword, old_value)))
        ELSE jsonb_build_array(_registry_schema_finding(
            'changed', direction, path || '/' || keyword,
            format('%s changed from %s to %s', keyword, old_value, new_value)))
    END
$$;

-- A set of values (enum, const as a one-value set) gaining or losing members.
CREATE OR REPLACE FUNCTION concord._registry_schema_values_change(
    keyword text, old_values jsonb, new_values jsonb, direction text, path text
)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    at text := path || '/' || keyword;
    added jsonb;
    removed jsonb;
BEGIN
    IF old_values IS NOT DISTINCT FROM new_values THEN
        RETURN '[]'::jsonb;
    ELSIF old_values IS NULL THEN
        RETURN jsonb_build_array(_registry_schema_finding(
            'narrowed', direction, at, format('%s %s added: narrowed', keyword, new_values)));
    ELSIF new_values IS NULL THEN
        RETURN jsonb_build_array(_registry_schema_finding(
            'widened', direction, at, format('%s %s removed: widened', keyword, old_values)));
    END IF;
    SELECT
        coalesce(jsonb_agg(n.value) FILTER (WHERE NOT old_values @> jsonb_build_array(n.value)), '[]')
    INTO added
    FROM jsonb_array_elements(new_values) AS n (value);
    SELECT
        coalesce(jsonb_agg(o.value) FILTER (WHERE NOT new_values @> jsonb_build_array(o.value)), '[]')
    INTO removed
    FROM jsonb_array_elements(old_values) AS o (value);
    IF added = '[]' AND removed = '[]' THEN
        RETURN '[]'::jsonb;
    ELSIF added = '[]' THEN
        RETURN jsonb_build_array(_registry_schema_finding(
            'narrowed', direction, at, format('%s values removed %s: narrowed', keyword, removed)));
    ELSIF removed = '[]' THEN
        RETURN jsonb_build_array(_registry_schema_finding(
            'widened', direction, at, format('%s values added %s: widened', keyword, added)));
    END IF;
    RETURN jsonb_build_array(_registry_schema_finding(
        'changed', direction, at, format('%s values added %s and removed %s', keyword, added, removed)));
END
$$;

-- The keywords the comparison understands; any other keyword that changes is
-- breaking, since nothing says which way it moved.
CREATE OR REPLACE FUNCTION concord._registry_schema_known_keywords()
RETURNS text[]
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT ARRAY[
        'description', 'title', 'examples', '$comment', 'default', 'deprecated', 'readOnly',
        'writeOnly', 'type', 'enum', 'const', 'required', 'properties', 'additionalProperties',
        'items', '$defs', 'definitions', 'minimum', 'exclusiveMinimum', 'minLength', 'minItems',
        'minProperties', 'maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties',
        'pattern', 'format', 'multipleOf', 'uniqueItems', '$ref'
    ]
$$;

-- Two schemas of which one at least is not an object: absent, true and {}
-- accept everything, false accepts nothing.
CREATE OR REPLACE FUNCTION concord._registry_schema_whole_change(
    old_schema jsonb, new_schema jsonb, direction text, path text
)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    WITH accepts AS (
        SELECT
            (old_schema IS NULL OR old_schema IN ('true', '{}')) AS old_all,
            old_schema = 'false' AS old_none,
            (new_schema IS NULL OR new_schema IN ('true', '{}')) AS new_all,
            new_schema = 'false' AS new_none
    )
    SELECT CASE
        WHEN a.old_all AND a.new_all THEN '[]'::jsonb
        WHEN a.new_all OR a.old_none THEN jsonb_build_array(_registry_schema_finding(
            'widened', direction, path, 'schema now accepts more (was ' || coalesce(old_schema::text, 'absent')
            || ', now ' || coalesce(new_schema::text, 'absent') || '): widened'))
        WHEN a.old_all OR a.new_none THEN jsonb_build_array(_registry_schema_finding(
            'narrowed', direction, path, 'schema now accepts less (was ' || coalesce(old_schema::text, 'absent')
            || ', now ' || coalesce(new_schema::text, 'absent') || '): narrowed'))
        ELSE jsonb_build_array(_registry_schema_finding(
            'changed', direction, path, 'schema replaced: ' || old_schema::text || ' -> ' || new_schema::text))
    END
    FROM accepts AS a
$$;

-- additionalProperties: absent means true; false refuses unknown properties;
-- a schema constrains them (compared recursively when both are schemas).
CREATE OR REPLACE FUNCTION concord._registry_schema_additional_change(
    old_value jsonb, new_value jsonb, direction text, path text
)
RETURNS jsonb
-- plpgsql, not sql: it and _registry_schema_diff call each other
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN CASE
        WHEN coalesce(old_value, 'true') = coalesce(new_value, 'true') THEN '[]'::jsonb
        WHEN jsonb_typeof(old_value) = 'object' AND jsonb_typeof(new_value) = 'object'
            THEN _registry_schema_diff(old_value, new_value, direction, path || '/additionalProperties')
        WHEN coalesce(new_value, 'true') = 'true' OR old_value = 'false'
            THEN jsonb_build_array(_registry_schema_finding(
                'widened', direction, path || '/additionalProperties',
                format('additionalProperties %s -> %s: widened', coalesce(old_value, 'true'),
                    coalesce(new_value, 'true'))))
        ELSE jsonb_build_array(_registry_schema_finding(
            'narrowed', direction, path || '/additionalProperties',
            format('additionalProperties %s -> %s: narrowed', coalesce(old_value, 'true'), new_value)))
    END;
END
$$;

-- Every change from old_schema to new_schema below path, keyword by keyword,
-- recursing through properties, items, additionalProperties and local $defs.
CREATE OR REPLACE FUNCTION concord._registry_schema_diff(
    old_schema jsonb, new_schema jsonb, direction text, path text
)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    findings jsonb := '[]'::jsonb;
    keyword text;
    name text;
    at text;
    old_types text[];
    new_types text[];
    old_props jsonb := coalesce(old_schema -> 'properties', '{}');
    new_props jsonb := coalesce(new_schema -> 'properties', '{}');
BEGIN
    IF old_schema IS NOT DISTINCT FROM new_schema THEN
        RETURN findings;
    ELSIF jsonb_typeof(old_schema) IS DISTINCT FROM 'object'
        OR jsonb_typeof(new_schema) IS DISTINCT FROM 'object' THEN
        RETURN _registry_schema_whole_change(old_schema, new_schema, direction, path);
    END IF;

    FOREACH keyword IN ARRAY ARRAY[
        'description', 'title', 'examples', '$comment', 'default', 'deprecated', 'readOnly', 'writeOnly'
    ] LOOP
        IF old_schema -> keyword IS DISTINCT FROM new_schema -> keyword THEN
            findings := findings || jsonb_build_array(_registry_schema_finding(
                'doc', direction, path || '/' || keyword, keyword || ' changed'));
        END IF;
    END LOOP;

    old_types := _registry_schema_types(old_schema);
    new_types := _registry_schema_types(new_schema);
    IF old_schema -> 'type' IS DISTINCT FROM new_schema -> 'type' THEN
        at := path || '/type';
        IF _registry_types_within(old_types, new_types) AND _registry_types_within(new_types, old_types) THEN
            NULL;  -- the same types spelt differently (["integer","number"] = "number")
        ELSIF _registry_types_within(old_types, new_types) THEN
            findings := findings || jsonb_build_array(_registry_schema_finding('widened', direction, at,
                format('type widened from %s to %s', coalesce(old_schema -> 'type', '"any"'),
                    coalesce(new_schema -> 'type', '"any"'))));
        ELSIF _registry_types_within(new_types, old_types) THEN
            findings := findings || jsonb_build_array(_registry_schema_finding('narrowed', direction, at,
                format('type narrowed from %s to %s', coalesce(old_schema -> 'type', '"any"'),
                    coalesce(new_schema -> 'type', '"any"'))));
        ELSE
            findings := findings || jsonb_build_array(_registry_schema_finding('changed', direction, at,
                format('type changed from %s to %s', old_schema -> 'type', new_schema -> 'type')));
        END IF;
    END IF;

    findings := findings
        || _registry_schema_values_change('enum', old_schema -> 'enum', new_schema -> 'enum', direction, path)
        || _registry_schema_values_change('const',
            CASE WHEN old_schema ? 'const' THEN jsonb_build_array(old_schema -> 'const') END,
            CASE WHEN new_schema ? 'const' THEN jsonb_build_array(new_schema -> 'const') END, direction, path);

    -- required: each name added narrows, each removed widens
    FOR name IN
        SELECT n.value FROM jsonb_array_elements_text(coalesce(new_schema -> 'required', '[]')) AS n (value)
        EXCEPT
        SELECT o.value FROM jsonb_array_elements_text(coalesce(old_schema -> 'required', '[]')) AS o (value)
        ORDER BY 1
    LOOP
        findings := findings || jsonb_build_array(_registry_schema_finding('narrowed', direction,
            path || '/required', format('property %s is now required: narrowed', name)));
    END LOOP;
    FOR name IN
        SELECT o.value FROM jsonb_array_elements_text(coalesce(old_schema -> 'required', '[]')) AS o (value)
        EXCEPT
        SELECT n.value FROM jsonb_array_elements_text(coalesce(new_schema -> 'required', '[]')) AS n (value)
        ORDER BY 1
    LOOP
        findings := findings || jsonb_build_array(_registry_schema_finding('widened', direction,
            path || '/required', format('property %s is no longer required: widened', name)));
    END LOOP;

    FOR name IN
        SELECT k.key FROM jsonb_object_keys(old_props || new_props) AS k (key) ORDER BY 1
    LOOP
        at := path || '/properties/' || _registry_pointer_token(name);
        IF NOT old_props ? name THEN
            -- a property the old schema refused is a widening; else a new optional field
            findings := findings || jsonb_build_array(_registry_schema_finding(
                CASE WHEN old_schema -> 'additionalProperties' = 'false' THEN 'widened' ELSE 'additive' END,
                direction, at, format('property %s added', name)));
        ELSIF NOT new_props ? name THEN
            -- gone: refused from now on when additionalProperties is false, else unconstrained
            findings := findings || jsonb_build_array(_registry_schema_finding(
                CASE WHEN new_schema -> 'additionalProperties' = 'false' THEN 'narrowed' ELSE 'widened' END,
                direction, at, format('property %s removed (%s)', name,
                    CASE WHEN new_schema -> 'additionalProperties' = 'false'
                        THEN 'now refused: narrowed' ELSE 'now unconstrained: widened' END)));
        ELSE
            findings := findings || _registry_schema_diff(old_props -> name, new_props -> name, direction, at);
        END IF;
    END LOOP;

    findings := findings || _registry_schema_additional_change(
        old_schema -> 'additionalProperties', new_schema -> 'additionalProperties', direction, path);
    IF old_schema -> 'items' IS DISTINCT FROM new_schema -> 'items' THEN
        findings := findings || _registry_schema_diff(
            old_schema -> 'items', new_schema -> 'items', direction, path || '/items');
    END IF;

    FOREACH keyword IN ARRAY ARRAY['$defs', 'definitions'] LOOP
        FOR name IN
            SELECT k.key
            FROM jsonb_object_keys(coalesce(old_schema -> keyword, '{}') || coalesce(new_schema -> keyword, '{}'))
                AS k (key)
            ORDER BY 1
        LOOP
            at := path || '/' || keyword || '/' || _registry_pointer_token(name);
            IF NOT coalesce(old_schema -> keyword, '{}') ? name THEN
                findings := findings || jsonb_build_array(_registry_schema_finding(
                    'additive', direction, at, format('definition %s added', name)));
            ELSIF NOT coalesce(new_schema -> keyword, '{}') ? name THEN
                findings := findings || jsonb_build_array(_registry_schema_finding(
                    'breaking', direction, at, format('definition %s removed', name)));
            ELSE
                findings := findings || _registry_schema_diff(
                    old_schema -> keyword -> name, new_schema -> keyword -> name, direction, at);
            END IF;
        END LOOP;
    END LOOP;

    FOREACH keyword IN ARRAY ARRAY['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties'] LOOP
        findings := findings || _registry_schema_bound_change(
            keyword, old_schema -> keyword, new_schema -> keyword, true, direction, path);
    END LOOP;
    FOREACH keyword IN ARRAY ARRAY['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties'] LOOP
        findings := findings || _registry_schema_bound_change(
            keyword, old_schema -> keyword, new_schema -> keyword, false, direction, path);
    END LOOP;
    FOREACH keyword IN ARRAY ARRAY['pattern', 'format', 'multipleOf', '$ref'] LOOP
        findings := findings || _registry_schema_constraint_change(
            keyword, old_schema -> keyword, new_schema -> keyword, direction, path);
    END LOOP;
    IF coalesce(old_schema -> 'uniqueItems', 'false') <> coalesce(new_schema -> 'uniqueItems', 'false') THEN
        findings := findings || jsonb_build_array(_registry_schema_finding(
            CASE WHEN new_schema -> 'uniqueItems' = 'true' THEN 'narrowed' ELSE 'widened' END,
            direction, path || '/uniqueItems',
            format('uniqueItems %s -> %s', coalesce(old_schema -> 'uniqueItems', 'false'),
                coalesce(new_schema -> 'uniqueItems', 'false'))));
    END IF;

    FOR keyword IN
        SELECT k.key FROM jsonb_object_keys(old_schema || new_schema) AS k (key)
        WHERE k.key <> ALL(_registry_schema_known_keywords())
        ORDER BY 1
    LOOP
        IF old_schema -> keyword IS DISTINCT FROM new_schema -> keyword THEN
            findings := findings || jsonb_build_array(_registry_schema_finding('breaking', direction,
                path || '/' || _registry_pointer_token(keyword),
                format('keyword %s changed: Concord cannot compare it, so it counts as breaking', keyword)));
        END IF;
    END LOOP;
    RETURN findings;
END
$$;

CREATE OR REPLACE FUNCTION concord.registry_json_schema_change(
    old_schema jsonb, new_schema jsonb, direction text DEFAULT 'input'
)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
BEGIN
    IF direction IS NULL OR direction NOT IN ('input', 'output', 'full') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_schema_change_direction_is_input_output_or_full',
            MESSAGE = format('direction %L is not input, output or full', direction),
            HINT = 'input: callers send documents of the schema; output: producers emit them; '
            'full: both (durable data read and written across versions).';
    END IF;
    RETURN coalesce((
        SELECT jsonb_agg(f.finding ORDER BY f.finding ->> 'path', f.finding ->> 'message')
        FROM jsonb_array_elements(_registry_schema_diff(old_schema, new_schema, direction, '')) AS f (finding)
    ), '[]');
END
$$;

COMMENT ON FUNCTION concord.registry_json_schema_change(jsonb, jsonb, text) IS
'Every change from old_schema to new_schema as findings {kind: breaking|additive|doc, path (a JSON '
'Pointer into the schema), message}, compared structurally (spec 110): properties, required, type, '
'enum, const, additionalProperties, bounds, pattern, format, items and local $defs, recursively. '
'direction input: the new schema must accept all the old accepted (narrowing breaks); output: '
'it must emit nothing old readers refuse (widening breaks); full: both. A changed keyword it '
'cannot compare (anyOf, if, ...) is breaking. Identical schemas: [].';
