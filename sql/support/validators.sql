-- Generic checks of arguments and JSON input, shared by every domain: each
-- answers a problem (text, NULL when fine) or raises CN008 for a blank argument.

-- Is value the text of a uuid (any case)? For input checked before a cast.
CREATE OR REPLACE FUNCTION concord._is_uuid(value text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = concord, pg_temp
AS $$
    SELECT value ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
$$;

-- Refuses a blank required argument with CN008.
CREATE OR REPLACE FUNCTION concord._require(argument_name text, argument_value text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF argument_value IS NULL OR btrim(argument_value) = '' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'required_argument_is_not_blank',
            MESSAGE = format('%s is required and must not be blank', argument_name);
    END IF;
    RETURN argument_value;
END
$$;

-- A principal or team name: required, not blank, at most 256 characters
-- (CN008).
CREATE OR REPLACE FUNCTION concord._require_name(argument_name text, argument_value text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._require(argument_name, argument_value);
    IF length(argument_value) > 256 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_name_has_at_most_256_characters',
            MESSAGE = format('%s is %s characters long; a name has at most 256', argument_name,
                             length(argument_value));
    END IF;
    RETURN argument_value;
END
$$;

-- Several calls per submit: PL/pgSQL keeps the query's plan for the session
-- (a SQL function with a subquery is planned at every call), and no SET
-- clause (its callers pin search_path) spares a configuration save and
-- restore per call.
CREATE OR REPLACE FUNCTION concord._text_array(value jsonb)
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE
AS $$
BEGIN
    RETURN coalesce(ARRAY(SELECT pg_catalog.jsonb_array_elements_text(value)), '{}');
END
$$;

-- True when value is a JSON array of distinct non-blank strings.
CREATE OR REPLACE FUNCTION concord._is_string_list(value jsonb)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN jsonb_typeof(value) = 'array'
        AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(value) AS x (item)
                        WHERE jsonb_typeof(x.item) <> 'string' OR btrim(x.item #>> '{}') = '')
        AND (SELECT count(*) = count(DISTINCT x.item) FROM jsonb_array_elements(value) AS x (item));
END
$$;

-- NULL when path is a valid SQL/JSON path, else what is wrong with it.
CREATE OR REPLACE FUNCTION concord._jsonpath_problem(path text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM path::jsonpath;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN format('%s is not a valid SQL/JSON path: %s', path, SQLERRM);
END
$$;

-- text in Unicode NFKC form where the database is UTF-8 (normalize() needs
-- it), else as it is.
CREATE OR REPLACE FUNCTION concord._nfkc(value text)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF current_setting('server_encoding') = 'UTF8' THEN
        RETURN normalize(value, NFKC);
    END IF;
    RETURN value;
END
$$;

-- text without the characters that do not show: Unicode white space beyond
-- ASCII and format characters (zero-width spaces and joiners, soft hyphen,
-- byte order mark, bidirectional marks), wherever they stand.
CREATE OR REPLACE FUNCTION concord._visible(value text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF current_setting('server_encoding') <> 'UTF8' THEN
        RETURN value;
    END IF;
    RETURN regexp_replace(value, '[' || U&'\0085\00A0\00AD\061C\1680\180E\2000-\200F\2028-\202F\205F-\206F\3000\FEFF'
                          || ']', '', 'g');
END
$$;

-- text as a timestamptz, or NULL when it is not one.
CREATE OR REPLACE FUNCTION concord._try_timestamptz(value text)
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN value::timestamptz;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END
$$;

-- RFC 7396 JSON merge patch: objects merge recursively, null removes a key,
-- anything else replaces.
CREATE OR REPLACE FUNCTION concord._json_merge_patch(target jsonb, patch jsonb)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    merged jsonb;
    key text;
    value jsonb;
BEGIN
    IF jsonb_typeof(patch) IS DISTINCT FROM 'object' THEN
        RETURN patch;
    END IF;
    merged := CASE WHEN jsonb_typeof(target) = 'object' THEN target ELSE '{}'::jsonb END;
    FOR key, value IN SELECT p.key, p.value FROM jsonb_each(patch) AS p LOOP
        IF jsonb_typeof(value) = 'null' THEN
            merged := merged - key;
        ELSE
            merged := jsonb_set(merged, ARRAY[key], concord._json_merge_patch(merged -> key, value), true);
        END IF;
    END LOOP;
    RETURN merged;
END
$$;

-- Why value is not a JSON array of names (see _is_name_list), or NULL.
CREATE OR REPLACE FUNCTION concord._name_list_problem(value jsonb, what text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF value IS NULL THEN
        RETURN NULL;
    END IF;
    IF NOT concord._is_string_list(value) OR NOT concord._is_name_list(concord._text_array(value)) THEN
        RETURN format('%s must be an array of distinct names (letters, digits, _ . : -), not %s', what, value);
    END IF;
    RETURN NULL;
END
$$;

-- Why value is not an integer within lo..hi, or NULL (absent passes).
CREATE OR REPLACE FUNCTION concord._int_problem(value jsonb, what text, lo integer, hi integer)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF value IS NULL THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(value) <> 'number' OR (value #>> '{}')::numeric <> floor((value #>> '{}')::numeric)
       OR (value #>> '{}')::numeric NOT BETWEEN lo AND hi THEN
        RETURN format('%s must be an integer from %s to %s, not %s', what, lo, hi, value);
    END IF;
    RETURN NULL;
END
$$;

-- Why value is not a JSON object, or NULL (absent passes).
CREATE OR REPLACE FUNCTION concord._object_problem(value jsonb, what text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF value IS NOT NULL AND jsonb_typeof(value) <> 'object' THEN
        RETURN format('%s must be a JSON object, not %s', what, jsonb_typeof(value));
    END IF;
    RETURN NULL;
END
$$;

-- Why value is not a non-blank string (matching pattern when given), or NULL.
CREATE OR REPLACE FUNCTION concord._string_problem(
    value jsonb, what text, pattern text DEFAULT NULL
)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF value IS NULL THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(value) <> 'string' OR btrim(value #>> '{}') = ''
       OR (pattern IS NOT NULL AND (value #>> '{}') !~ pattern) THEN
        RETURN format('%s must be a non-blank string%s, not %s', what,
                      CASE WHEN pattern IS NOT NULL THEN ' matching ' || pattern ELSE '' END, value);
    END IF;
    RETURN NULL;
END
$$;

-- Raise CN005 listing every problem (NULLs are no problem). The rule is named
-- after what was checked: 'swarm spec' -> swarm_spec_is_valid.
CREATE OR REPLACE FUNCTION concord._refuse_spec(what text, problems text[])
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    found text[] := array_remove(problems, NULL);
BEGIN
    IF cardinality(found) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            CONSTRAINT = replace(what, ' ', '_') || '_is_valid',
            MESSAGE = format('invalid %s: %s', what, array_to_string(found, '; ')),
            DETAIL = array_to_string(found, E'\n');
    END IF;
END
$$;

-- A runtime spec (connector, queue, schedule) is an object with known keys
-- only (CN005 otherwise).
CREATE OR REPLACE FUNCTION concord._require_spec(kind text, spec jsonb, known text[])
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    unknown text[];
BEGIN
    IF spec IS null OR jsonb_typeof(spec) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', CONSTRAINT = 'a_spec_is_a_json_object',
            MESSAGE = format('a %s spec must be a JSON object, not %s', kind, coalesce(jsonb_typeof(spec), 'NULL'));
    END IF;
    unknown := ARRAY(SELECT k FROM jsonb_object_keys(spec) AS k WHERE k <> ALL (known) ORDER BY k);
    IF cardinality(unknown) > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', CONSTRAINT = 'a_spec_has_only_known_keys',
            MESSAGE = format('unknown %s spec keys: %s', kind, array_to_string(unknown, ', ')),
            HINT = format('Known keys: %s.', array_to_string(known, ', '));
    END IF;
END
$$;
