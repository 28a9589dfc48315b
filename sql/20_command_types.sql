-- The task catalog (spec 13.2): registration, JSON Schema checks inside
-- Postgres (plpython3u + Debian's python3-jsonschema), and the primitive
-- mapping of spec 14.

-- The JSON Schema machinery, set up once per session in GD and shared by
-- the two functions below. Patterns (pattern, patternProperties, and the
-- property matching of additionalProperties) are matched by PostgreSQL's own
-- regex engine: it honours statement_timeout and query cancellation, where
-- Python's re can backtrack for hours in C code nothing can interrupt. Every
-- remote reference is refused: only "#..." references inside the schema.
CREATE OR REPLACE FUNCTION concord._jsonschema_setup()
RETURNS void
LANGUAGE plpython3u
VOLATILE
AS $$
import re
import sys

import jsonschema
from jsonschema import exceptions, validators

match_plan = plpy.prepare("SELECT $2 ~ $1 AS matched", ["text", "text"])
compile_plan = plpy.prepare("SELECT '' ~ $1", ["text"])


class PostgresRegex:
    """Stands in for the re module inside jsonschema."""

    def search(self, pattern, string, flags=0):
        return plpy.execute(match_plan, [pattern, string])[0]["matched"] or None

    def __getattr__(self, name):
        return getattr(re, name)


shim = PostgresRegex()
for name, module in list(sys.modules.items()):
    if (name == "jsonschema" or name.startswith("jsonschema.")) and getattr(module, "re", None) is re:
        module.re = shim


def refuse(uri):
    raise exceptions.RefResolutionError(
        "remote reference %r refused: only local references are allowed" % uri
    )


handlers = {scheme: refuse for scheme in ("", "file", "http", "https", "ftp", "data", "urn")}


def validator_class(document):
    return validators.validator_for(document, default=jsonschema.Draft202012Validator)


def make_validator(document):
    cls = validator_class(document)
    resolver = jsonschema.RefResolver.from_schema(document, id_of=cls.ID_OF, handlers=handlers)
    return cls(document, resolver=resolver)


def pattern_problem(pattern):
    try:
        with plpy.subtransaction():
            plpy.execute(compile_plan, [pattern])
    except plpy.SPIError as error:
        return str(error).splitlines()[0]
    return None


def json_path(prefix, path):
    return prefix + "".join("[%d]" % p if isinstance(p, int) else "." + str(p) for p in path)


GD["concord.jsonschema"] = {
    "exceptions": exceptions,
    "validators": validators,
    "validator_class": validator_class,
    "make_validator": make_validator,
    "pattern_problem": pattern_problem,
    "json_path": json_path,
}
$$;

-- Problems with a JSON Schema document, as a jsonb array of strings (empty
-- when usable): not a valid schema for its draft (2020-12 unless $schema names
-- another), an unknown $schema, a $ref that is not local or does not resolve,
-- a pattern PostgreSQL cannot compile, nesting too deep, or a $ref loop.
CREATE OR REPLACE FUNCTION concord._json_schema_problems(schema jsonb)
RETURNS jsonb
LANGUAGE plpython3u
IMMUTABLE
AS $$
import json

if "concord.jsonschema" not in GD:
    plpy.execute("SELECT concord._jsonschema_setup()")
js = GD["concord.jsonschema"]
where = js["json_path"]
problems = []


def add(problem):
    if problem not in problems:
        problems.append(problem)


try:
    document = json.loads(schema)
except RecursionError:
    return json.dumps(["payload_schema is nested too deeply"])
if not isinstance(document, (dict, bool)):
    return json.dumps(["payload_schema must be a JSON object or a boolean"])

validator_class = js["validator_class"](document)
if isinstance(document, dict) and "$schema" in document:
    if js["validators"].validator_for(document, default=None) is None:
        add("payload_schema: unknown $schema %r" % document["$schema"])

try:
    meta = validator_class(validator_class.META_SCHEMA)
    for error in sorted(meta.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path]):
        add("%s: %s" % (where("payload_schema", error.absolute_path), error.message))
except RecursionError:
    return json.dumps(["payload_schema is nested too deeply"])

# Walk without recursion: references, nested ids and patterns.
references = []
nested_ids = False
stack = [(document, [])]
while stack:
    node, path = stack.pop()
    if isinstance(node, dict):
        for keyword in ("$ref", "$dynamicRef", "$recursiveRef"):
            target = node.get(keyword)
            if isinstance(target, str):
                if target.startswith("#"):
                    references.append((where("payload_schema", path + [keyword]), target))
                else:
                    add("%s: %s %r is not local; only references inside the schema (\"#...\") are allowed"
                        % (where("payload_schema", path + [keyword]), keyword, target))
        if path and any(isinstance(node.get(k), str) for k in ("$id", "id")):
            nested_ids = True
        patterns = []
        if isinstance(node.get("pattern"), str):
            patterns.append((path + ["pattern"], node["pattern"]))
        if isinstance(node.get("patternProperties"), dict):
            patterns.extend((path + ["patternProperties", p], p) for p in node["patternProperties"])
        for at, pattern in patterns:
            problem = js["pattern_problem"](pattern)
            if problem:
                add("%s: %r is not a regular expression PostgreSQL can use (%s)"
                    % (where("payload_schema", at), pattern, problem))
        stack.extend((value, path + [key]) for key, value in node.items())
    elif isinstance(node, list):
        stack.extend((value, path + [index]) for index, value in enumerate(node))

if not problems:
    validator = js["make_validator"](document)
    if not nested_ids:  # with nested ids, resolution depends on scope: the trial below decides
        for at, target in references:
            try:
                validator.resolver.resolve(target)
            except Exception as error:
                add("%s: reference %r does not resolve (%s)" % (at, target, error))
    for sample in ({}, [], "", 0, None, True):
        if problems:
            break
        try:
            for _error in validator.iter_errors(sample):
                pass
        except RecursionError:
            add("payload_schema: its references loop without end")
        except js["exceptions"].RefResolutionError as error:
            add("payload_schema: %s" % error)
return json.dumps(problems)
$$;

-- Every way instance breaks schema, as a jsonb array of
-- {"path", "message", "kind": "schema", "keyword"} objects, ordered by path.
-- Validators are compiled once per session and schema (SD cache).
CREATE OR REPLACE FUNCTION concord._json_schema_errors(schema jsonb, instance jsonb)
RETURNS jsonb
LANGUAGE plpython3u
IMMUTABLE
AS $$
import json

if "concord.jsonschema" not in GD:
    plpy.execute("SELECT concord._jsonschema_setup()")
js = GD["concord.jsonschema"]
cache = SD.setdefault("validators", {})
validator = cache.get(schema)
if validator is None:
    validator = js["make_validator"](json.loads(schema))
    if len(cache) >= 256:
        cache.clear()
    cache[schema] = validator


def failure(message, keyword):
    return json.dumps([{"path": "$", "message": message, "kind": "schema", "keyword": keyword}])


try:
    found = sorted(
        validator.iter_errors(json.loads(instance)),
        key=lambda e: ([str(p) for p in e.absolute_path], e.message),
    )
except RecursionError:
    return failure("payload is nested too deeply to validate", "depth")
except js["exceptions"].RefResolutionError as error:
    return failure("payload_schema cannot be applied: %s" % error, "$ref")
return json.dumps([
    {
        "path": js["json_path"]("$", error.absolute_path),
        "message": error.message,
        "kind": "schema",
        "keyword": error.validator,
    }
    for error in found
])
$$;

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
    IF payload_schema <> '{}'::jsonb AND payload_schema <> 'true'::jsonb THEN
        problems := problems || concord._json_schema_errors(payload_schema, payload);
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

CREATE OR REPLACE FUNCTION concord._text_array(value jsonb)
RETURNS text[]
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT coalesce(ARRAY(SELECT jsonb_array_elements_text(value)), '{}')
$$;

-- Insert or replace a command type from a spec 13.2 document plus
-- payload_schema and default_cancellation_mode. The spec replaces the whole
-- previous definition (absent fields take their defaults); registering an
-- identical spec again changes nothing.
CREATE OR REPLACE FUNCTION concord.register_command_type(spec jsonb)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
DECLARE
    problems text[] := concord._command_type_spec_problems(spec);
    wanted concord.command_types%ROWTYPE;
    existing concord.command_types%ROWTYPE;
BEGIN
    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
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

    SELECT * INTO existing FROM concord.command_types AS ct
    WHERE ct.command_type = wanted.command_type
    FOR UPDATE;

    IF FOUND AND (
        existing.name, existing.description, existing.function_name, existing.ingress_types,
        existing.required_inputs, existing.payload_schema, existing.sync_allowed,
        existing.async_required, existing.approval_required, existing.memory_write_possible,
        existing.artifact_output_possible, existing.notification_required, existing.policy_checks,
        existing.connector_requirements, existing.risk_level, existing.max_attempts,
        existing.default_cancellation_mode, existing.metadata, existing.approval_type,
        existing.cost_budget, existing.over_budget
    ) IS NOT DISTINCT FROM (
        wanted.name, wanted.description, wanted.function_name, wanted.ingress_types,
        wanted.required_inputs, wanted.payload_schema, wanted.sync_allowed,
        wanted.async_required, wanted.approval_required, wanted.memory_write_possible,
        wanted.artifact_output_possible, wanted.notification_required, wanted.policy_checks,
        wanted.connector_requirements, wanted.risk_level, wanted.max_attempts,
        wanted.default_cancellation_mode, wanted.metadata, wanted.approval_type,
        wanted.cost_budget, wanted.over_budget
    ) THEN
        RETURN existing.command_type;
    END IF;

    INSERT INTO concord.command_types AS ct (
        command_type, name, description, function_name, ingress_types, required_inputs,
        payload_schema, sync_allowed, async_required, approval_required,
        memory_write_possible, artifact_output_possible, notification_required,
        policy_checks, connector_requirements, risk_level, max_attempts,
        default_cancellation_mode, metadata, approval_type, cost_budget, over_budget
    ) VALUES (
        wanted.command_type, wanted.name, wanted.description, wanted.function_name,
        wanted.ingress_types, wanted.required_inputs, wanted.payload_schema,
        wanted.sync_allowed, wanted.async_required, wanted.approval_required,
        wanted.memory_write_possible, wanted.artifact_output_possible,
        wanted.notification_required, wanted.policy_checks, wanted.connector_requirements,
        wanted.risk_level, wanted.max_attempts, wanted.default_cancellation_mode, wanted.metadata,
        wanted.approval_type, wanted.cost_budget, wanted.over_budget
    )
    ON CONFLICT (command_type) DO UPDATE SET
        name = excluded.name,
        description = excluded.description,
        function_name = excluded.function_name,
        ingress_types = excluded.ingress_types,
        required_inputs = excluded.required_inputs,
        payload_schema = excluded.payload_schema,
        sync_allowed = excluded.sync_allowed,
        async_required = excluded.async_required,
        approval_required = excluded.approval_required,
        memory_write_possible = excluded.memory_write_possible,
        artifact_output_possible = excluded.artifact_output_possible,
        notification_required = excluded.notification_required,
        policy_checks = excluded.policy_checks,
        connector_requirements = excluded.connector_requirements,
        risk_level = excluded.risk_level,
        max_attempts = excluded.max_attempts,
        default_cancellation_mode = excluded.default_cancellation_mode,
        metadata = excluded.metadata,
        approval_type = excluded.approval_type,
        cost_budget = excluded.cost_budget,
        over_budget = excluded.over_budget;

    RETURN wanted.command_type;
END
$$;

-- Whoever writes the catalog (register_command_type or a direct INSERT or
-- UPDATE), a payload_schema must be usable; every change bumps the version
-- and is audited.
CREATE OR REPLACE FUNCTION concord._command_types_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    problems text[];
BEGIN
    IF TG_OP = 'INSERT' OR NEW.payload_schema IS DISTINCT FROM OLD.payload_schema THEN
        problems := ARRAY(SELECT jsonb_array_elements_text(concord._json_schema_problems(NEW.payload_schema)));
        IF cardinality(problems) > 0 THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN005',
                MESSAGE = format('command type %s: invalid payload_schema: %s problem(s)',
                                 NEW.command_type, cardinality(problems)),
                DETAIL = '- ' || array_to_string(problems, E'\n- ');
        END IF;
    END IF;
    IF TG_OP = 'INSERT' OR NEW.policy_checks IS DISTINCT FROM OLD.policy_checks THEN
        problems := ARRAY(
            SELECT x.name FROM unnest(NEW.policy_checks) AS x (name)
            WHERE NOT EXISTS (SELECT 1 FROM concord.policies AS p WHERE p.name = x.name));
        IF cardinality(problems) > 0 THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN005',
                MESSAGE = format('command type %s: policy_checks names unregistered policies: %s',
                                 NEW.command_type, array_to_string(problems, ', ')),
                HINT = 'Register them first with concord.register_policy(spec).';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._command_types_after_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._audit(
        'command_type_registered', null, null, 'command_type', NEW.command_type, null, null,
        jsonb_build_object('version', NEW.version, 'definition', to_jsonb(NEW)));
    RETURN null;
END
$$;

CREATE OR REPLACE TRIGGER command_types_before_write
BEFORE INSERT OR UPDATE ON concord.command_types
FOR EACH ROW EXECUTE FUNCTION concord._command_types_before_write();

CREATE OR REPLACE TRIGGER command_types_versioned
BEFORE INSERT OR UPDATE ON concord.command_types
FOR EACH ROW EXECUTE FUNCTION concord._catalog_stamp('command_type', 'version');

CREATE OR REPLACE TRIGGER command_types_after_write
AFTER INSERT OR UPDATE ON concord.command_types
FOR EACH ROW EXECUTE FUNCTION concord._command_types_after_write();

COMMENT ON FUNCTION concord.register_command_type(jsonb) IS
'Insert or replace a command type from a spec 13.2 document; returns its command_type. '
'CN005 lists every problem.';

-- Spec 14, as a pure function of the type's flags.
CREATE OR REPLACE FUNCTION concord._primitives_for(
    approval_required boolean,
    async_required boolean,
    sync_allowed boolean,
    has_connectors boolean,
    artifact_output_possible boolean,
    memory_write_possible boolean,
    notification_required boolean
)
RETURNS text[]
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT ARRAY['ingress', 'command', 'context', 'policy', 'plan']
        || CASE WHEN approval_required THEN ARRAY['human_approval'] ELSE '{}'::text[] END
        || CASE
            WHEN async_required THEN ARRAY['queue', 'async_task']
            WHEN sync_allowed THEN ARRAY['sync_function']
            ELSE ARRAY['queue', 'async_task']
        END
        || CASE WHEN has_connectors THEN ARRAY['connector_call'] ELSE '{}'::text[] END
        || CASE WHEN artifact_output_possible THEN ARRAY['artifact_write'] ELSE '{}'::text[] END
        || CASE WHEN memory_write_possible THEN ARRAY['memory_write'] ELSE '{}'::text[] END
        || CASE WHEN notification_required THEN ARRAY['notification'] ELSE '{}'::text[] END
        || ARRAY['state_transition', 'audit']
$$;

CREATE OR REPLACE FUNCTION concord.map_task_to_primitives(command_type text)
RETURNS text[]
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
DECLARE
    t concord.command_types%ROWTYPE;
BEGIN
    PERFORM concord._require('command_type', command_type);
    SELECT * INTO t FROM concord.command_types AS ct WHERE ct.command_type = map_task_to_primitives.command_type;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN009',
            MESSAGE = format('unknown command type %L', command_type),
            HINT = 'Register it first with concord.register_command_type(spec).';
    END IF;
    RETURN concord._primitives_for(
        t.approval_required, t.async_required, t.sync_allowed,
        cardinality(t.connector_requirements) > 0, t.artifact_output_possible,
        t.memory_write_possible, t.notification_required);
END
$$;

COMMENT ON FUNCTION concord.map_task_to_primitives(text) IS
'The primitives a command type maps to (spec 14).';
