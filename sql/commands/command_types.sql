-- The task catalog (spec 13.2): what a command type declares, and its
-- registration.

-- Every problem with a payload for a command type: not an object, a missing
-- required input (absent, null or blank), or a JSON Schema violation.
CREATE OR REPLACE FUNCTION concord._payload_problems(
    required_inputs text[], payload_schema jsonb, payload jsonb
)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    problems jsonb := '[]'::jsonb;
    input text;
BEGIN
    IF jsonb_typeof(payload) <> 'object' THEN
        RETURN jsonb_build_array(jsonb_build_object(
            'path', '$', 'message', format('payload must be a JSON object, not %s', jsonb_typeof(payload)),
            'kind', 'type'));
    END IF;
    FOREACH input IN ARRAY required_inputs LOOP
        IF payload -> input IS NULL
           OR jsonb_typeof(payload -> input) = 'null'
           OR (jsonb_typeof(payload -> input) = 'string' AND btrim(payload ->> input) = '') THEN
            problems := problems || jsonb_build_object(
                'path', '$.' || input,
                'message', format('required input %s is missing', input),
                'kind', 'required_input');
        END IF;
    END LOOP;
    -- Python is asked only when the PL/pgSQL check cannot say "valid": its
    -- problems (and their wording) stay the ones reported.
    IF payload_schema <> '{}'::jsonb AND payload_schema <> 'true'::jsonb THEN
        IF concord._json_schema_accepts(payload_schema, payload) IS NOT TRUE THEN
            problems := problems || concord._json_schema_errors(payload_schema, payload);
        END IF;
    END IF;
    RETURN problems;
END
$$;

-- Problems with a register_command_type spec, as text[] (empty when valid).
CREATE OR REPLACE FUNCTION concord._command_type_spec_problems(spec jsonb)
RETURNS text[]
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    problems text[] := '{}'::text[];
    field text;
    value jsonb;
    kind text;
    allowed constant text[] := ARRAY[
        'command_type', 'name', 'description', 'function_name', 'ingress_types',
        'required_inputs', 'payload_schema', 'sync_allowed', 'async_required',
        'approval_required', 'memory_write_possible', 'artifact_output_possible',
        'notification_required', 'policy_checks', 'connector_requirements',
        'risk_level', 'max_attempts', 'default_cancellation_mode', 'metadata',
        'approval_type', 'cost_budget', 'over_budget'];
    list_fields constant text[] := ARRAY[
        'ingress_types', 'required_inputs', 'policy_checks', 'connector_requirements'];
    flag_fields constant text[] := ARRAY[
        'sync_allowed', 'async_required', 'approval_required', 'memory_write_possible',
        'artifact_output_possible', 'notification_required'];
    text_fields constant text[] := ARRAY['command_type', 'name', 'description', 'function_name'];
BEGIN
    IF spec IS NULL OR jsonb_typeof(spec) <> 'object' THEN
        RETURN ARRAY[format('the spec must be a JSON object, not %s', coalesce(jsonb_typeof(spec), 'NULL'))];
    END IF;
    IF NOT spec ? 'command_type' THEN
        problems := problems || 'command_type is required'::text;
    END IF;
    FOR field, value IN SELECT e.key, e.value FROM jsonb_each(spec) AS e ORDER BY e.key LOOP
        kind := jsonb_typeof(value);
        IF NOT field = ANY (allowed) THEN
            problems := problems || format('unknown field %s (known fields: %s)', field, array_to_string(allowed, ', '));
        ELSIF field = ANY (text_fields) THEN
            IF kind <> 'string' THEN
                problems := problems || format('%s must be a string, not %s', field, kind);
            ELSIF field = 'command_type' AND NOT (value #>> '{}' ~ '^[a-z][a-z0-9_.:-]*$' AND length(value #>> '{}') <= 128) THEN
                problems := problems || format(
                    'command_type %s must start with a lowercase letter and hold only a-z, 0-9, _ . : - (at most 128 characters)',
                    value);
            ELSIF field IN ('command_type', 'name') AND btrim(value #>> '{}') = '' THEN
                problems := problems || format('%s must not be blank', field);
            END IF;
        ELSIF field = ANY (list_fields) THEN
            IF kind <> 'array' THEN
                problems := problems || format('%s must be an array of strings, not %s', field, kind);
            ELSIF EXISTS (SELECT 1 FROM jsonb_array_elements(value) AS x (item)
                          WHERE jsonb_typeof(x.item) <> 'string' OR btrim(x.item #>> '{}') = '') THEN
                problems := problems || format('%s must hold only non-blank strings', field);
            ELSIF (SELECT count(*) <> count(DISTINCT x.item) FROM jsonb_array_elements(value) AS x (item)) THEN
                problems := problems || format('%s lists a value twice', field);
            END IF;
        ELSIF field = ANY (flag_fields) THEN
            IF kind <> 'boolean' THEN
                problems := problems || format('%s must be true or false, not %s', field, kind);
            END IF;
        ELSIF field = 'risk_level' THEN
            IF kind <> 'string' OR NOT value #>> '{}' IN ('low', 'medium', 'high', 'critical') THEN
                problems := problems || format('risk_level must be one of low, medium, high, critical, not %s', value);
            END IF;
        ELSIF field = 'default_cancellation_mode' THEN
            IF kind <> 'string' OR NOT value #>> '{}' IN ('graceful', 'compensate_then_stop') THEN
                problems := problems || format(
                    'default_cancellation_mode must be graceful or compensate_then_stop, not %s', value);
            END IF;
        ELSIF field = 'max_attempts' THEN
            IF kind <> 'number' OR (value #>> '{}')::numeric <> trunc((value #>> '{}')::numeric)
               OR (value #>> '{}')::numeric NOT BETWEEN 1 AND 100 THEN
                problems := problems || format('max_attempts must be a whole number from 1 to 100, not %s', value);
            END IF;
        ELSIF field = 'metadata' THEN
            IF kind <> 'object' THEN
                problems := problems || format('metadata must be a JSON object, not %s', kind);
            END IF;
        ELSIF field = 'payload_schema' THEN
            problems := problems || ARRAY(
                SELECT jsonb_array_elements_text(concord._json_schema_problems(value)));
        ELSIF field = 'approval_type' THEN
            IF kind <> 'string' OR NOT EXISTS (SELECT 1 FROM concord.approval_types AS t WHERE t.name = value #>> '{}') THEN
                problems := problems || format(
                    'approval_type %s is not a registered approval type (register_approval_type first)', value);
            END IF;
        ELSIF field = 'cost_budget' THEN
            IF kind <> 'number' OR (value #>> '{}')::numeric < 0 THEN
                problems := problems || format('cost_budget must be a number >= 0, not %s', value);
            END IF;
        ELSIF field = 'over_budget' THEN
            IF kind <> 'string' OR NOT value #>> '{}' IN ('require_approval', 'deny') THEN
                problems := problems || format('over_budget must be require_approval or deny, not %s', value);
            END IF;
        END IF;
    END LOOP;
    IF jsonb_typeof(spec -> 'policy_checks') = 'array' THEN
        problems := problems || ARRAY(
            SELECT format('policy_checks names %s, which is not a registered policy (register_policy first)', x.name)
            FROM jsonb_array_elements_text(spec -> 'policy_checks') AS x (name)
            WHERE NOT EXISTS (SELECT 1 FROM concord.policies AS p WHERE p.name = x.name)
            ORDER BY x.name);
    END IF;
    RETURN problems;
END
$$;

-- A command type from a spec 13.2 document plus payload_schema and
-- default_cancellation_mode: a shorthand of the registry
-- (sql/registry/shorthands.sql). The spec replaces the whole previous
-- definition (absent fields take their defaults) in a new version;
-- registering an identical spec again changes nothing.
CREATE OR REPLACE FUNCTION concord.register_command_type(spec jsonb)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
SET "concord.catalog_projection" = ''
AS $$
DECLARE
    problems text[] := concord._command_type_spec_problems(spec);
    wanted concord.command_types%ROWTYPE;
BEGIN
    PERFORM concord._require_catalog_operator('command types');
    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            CONSTRAINT = 'command_type_spec_is_valid',
            MESSAGE = format('invalid command type spec: %s problem(s)', cardinality(problems)),
            DETAIL = '- ' || array_to_string(problems, E'\n- '),
            HINT = 'Fix every listed problem and register again.';
    END IF;

    wanted.command_type := spec ->> 'command_type';
    wanted.name := coalesce(spec ->> 'name', wanted.command_type);
    wanted.description := coalesce(spec ->> 'description', '');
    wanted.function_name := spec ->> 'function_name';
    wanted.ingress_types := concord._text_array(spec -> 'ingress_types');
    wanted.required_inputs := concord._text_array(spec -> 'required_inputs');
    wanted.payload_schema := coalesce(spec -> 'payload_schema', '{}');
    wanted.sync_allowed := coalesce((spec ->> 'sync_allowed')::boolean, false);
    wanted.async_required := coalesce((spec ->> 'async_required')::boolean, false);
    wanted.approval_required := coalesce((spec ->> 'approval_required')::boolean, false);
    wanted.memory_write_possible := coalesce((spec ->> 'memory_write_possible')::boolean, false);
    wanted.artifact_output_possible := coalesce((spec ->> 'artifact_output_possible')::boolean, false);
    wanted.notification_required := coalesce((spec ->> 'notification_required')::boolean, false);
    wanted.policy_checks := concord._text_array(spec -> 'policy_checks');
    wanted.connector_requirements := concord._text_array(spec -> 'connector_requirements');
    wanted.risk_level := coalesce(spec ->> 'risk_level', 'low');
    wanted.max_attempts := coalesce((spec ->> 'max_attempts')::integer, 3);
    wanted.default_cancellation_mode := coalesce(spec ->> 'default_cancellation_mode', 'graceful');
    wanted.metadata := coalesce(spec -> 'metadata', '{}');
    wanted.approval_type := spec ->> 'approval_type';
    wanted.cost_budget := (spec ->> 'cost_budget')::numeric;
    wanted.over_budget := coalesce(spec ->> 'over_budget', 'require_approval');

    -- a new version of the registry entity when the spec changed, published
    -- and bound globally; its binding projects the catalog row
    PERFORM concord._registry_shorthand('command_type', wanted.command_type,
                                        concord._command_type_manifest(wanted), NULL, concord._actor());
    RETURN wanted.command_type;
END
$$;

COMMENT ON FUNCTION concord.register_command_type(jsonb) IS
'Register a command type from a spec 13.2 document; returns its command_type. CN005 lists every '
'problem. A shorthand of the registry: a changed spec becomes the next version of platform '
'entity command_type (1.0.0 first; a doc change a patch, an additive one a minor, a breaking one a '
'major step), published and bound globally, each step a concord.registry.* command; the catalog '
'row is its projection. An identical spec changes nothing.';
