-- JSON Schema checks inside Postgres (plpython3u + Debian's python3-jsonschema),
-- used by command types, tools and approval types.

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
