"""The PL/pgSQL payload check (concord._json_schema_accepts) agrees with the Python one
(concord._json_schema_errors, python3-jsonschema) wherever it answers: a property-based run
over schemas built from the keywords it handles (type, enum, const, bounds, lengths,
properties, required, additionalProperties, items, counts, annotations) and instances built
near them, so that valid and invalid ones are both frequent. Numbers are written as raw JSON
tokens (1.0, 1.00000000000000000001, 2**53 + 1, 1e-400 ...) because the disagreements that
matter live in how Python reads them: int or float, rounded, compared exactly.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


class Num(str):
    """A JSON number written exactly as given (json.dumps would normalise it)."""


def to_json(value: Any) -> str:
    if isinstance(value, Num):
        return str(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    return "{" + ",".join(f"{json.dumps(k)}:{to_json(v)}" for k, v in value.items()) + "}"


TYPES = ["null", "boolean", "integer", "number", "string", "array", "object"]
KEYS = ["a", "b", "c", "é", "😀"]
TOKENS = [
    "0",
    "1",
    "-1",
    "2",
    "3",
    "0.0",
    "-0.0",
    "1.0",
    "-1.0",
    "2.0",
    "0.5",
    "1.5",
    "2.5",
    "1.00000000000000000001",
    "0.99999999999999999999",
    "2.0000000000000001",
    "9007199254740992",
    "9007199254740993",
    "9007199254740992.0",
    "9007199254740993.0",
    "0.1",
    "0.30000000000000004",
    "123456789012345678901234567890",
    "1e-400",
    "1e400",
    "1.5e400",
    "1e308",
    "1.7976931348623157e308",
    "5e-324",
]
numbers = st.one_of(
    st.integers(min_value=-3, max_value=3),
    st.sampled_from(TOKENS).map(Num),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
)
strings = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=5,
)
scalars = st.one_of(st.none(), st.booleans(), numbers, strings, st.sampled_from(KEYS))
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
    ),
    max_leaves=6,
)
counts = st.one_of(
    st.integers(min_value=0, max_value=4), st.sampled_from(["1.0", "2.0", "0.5"]).map(Num)
)
ANNOTATIONS = {"title": "t", "description": "d", "default": 1, "examples": [1], "$comment": "c"}


@st.composite
def schemas(draw: st.DrawFn, depth: int = 0) -> Any:
    if draw(st.integers(min_value=0, max_value=15)) == 0:
        return draw(st.booleans())
    schema: dict[str, Any] = {}
    kind = draw(st.sampled_from([*TYPES, "several", "none"]))
    if kind == "several":
        schema["type"] = draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=3, unique=True))
    elif kind != "none":
        schema["type"] = kind
    maybe = st.integers(min_value=0, max_value=3).map(lambda n: n == 0)  # one in four
    if draw(maybe):
        schema["enum"] = draw(st.lists(json_values, min_size=1, max_size=4))
    if draw(maybe) and draw(maybe):
        schema["const"] = draw(json_values)
    for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if draw(maybe):
            schema[keyword] = draw(numbers)
    for keyword in (
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
    ):
        if draw(maybe):
            schema[keyword] = draw(counts)
    if depth < 3:
        if draw(maybe) or kind == "array":
            schema["items"] = draw(schemas(depth + 1))
        if draw(st.booleans()) or kind == "object":
            names = draw(st.lists(st.sampled_from(KEYS), max_size=3, unique=True))
            schema["properties"] = {name: draw(schemas(depth + 1)) for name in names}
            if draw(st.booleans()):
                schema["required"] = draw(st.lists(st.sampled_from([*names, "z"]), max_size=3))
            if draw(st.booleans()):
                schema["additionalProperties"] = draw(st.booleans() | schemas(depth + 1))
    for name, value in ANNOTATIONS.items():
        if draw(maybe) and draw(maybe):
            schema[name] = value
    if depth == 0 and draw(maybe):
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def bounds_of(schema: dict[str, Any]) -> list[Any]:
    return [
        schema[k]
        for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
        if k in schema
    ]


@st.composite
def instances_near(draw: st.DrawFn, schema: Any, depth: int = 0) -> Any:
    """Mostly what the schema asks for, at its edges; sometimes anything."""
    if (
        not isinstance(schema, dict)
        or depth > 4
        or draw(st.integers(min_value=0, max_value=7)) == 0
    ):
        return draw(json_values)
    if "const" in schema and draw(st.booleans()):
        return schema["const"]
    if "enum" in schema and draw(st.booleans()):
        return draw(st.sampled_from(schema["enum"]))
    declared = schema.get("type", draw(st.sampled_from(TYPES)))
    kind = draw(st.sampled_from(declared)) if isinstance(declared, list) else declared
    if kind == "null":
        return None
    if kind == "boolean":
        return draw(st.booleans())
    if kind in ("integer", "number"):
        edges = bounds_of(schema)
        return draw(st.sampled_from(edges) | numbers if edges else numbers)
    if kind == "string":
        return draw(strings)
    if kind == "array":
        items = schema.get("items", {})
        return draw(st.lists(instances_near(items, depth + 1), max_size=4))
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    instance: dict[str, Any] = {}
    for name, subschema in properties.items():
        if name in required or draw(st.booleans()):
            instance[name] = draw(instances_near(subschema, depth + 1))
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        extra = draw(st.sampled_from([*KEYS, "x"]))
        additional = schema.get("additionalProperties", {})
        instance.setdefault(extra, draw(instances_near(additional, depth + 1)))
    return instance


@st.composite
def cases(draw: st.DrawFn) -> tuple[Any, Any]:
    schema = draw(schemas())
    return schema, draw(instances_near(schema))


def test_the_fast_verdict_is_the_python_verdict_wherever_it_answers(concord_dsn: str) -> None:
    """Rule: concord._json_schema_accepts answers true only where jsonschema finds no
    error and false only where it finds one (NULL: not decided, Python is asked)."""
    verdicts: Counter[str] = Counter()
    with psycopg.connect(concord_dsn, autocommit=True) as conn:

        @settings(
            max_examples=200,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(cases())
        def agree(case: tuple[Any, Any]) -> None:
            schema, instance = (to_json(part) for part in case)
            fast, errors = conn.execute(
                "SELECT concord._json_schema_accepts(%s::jsonb, %s::jsonb),"
                " concord._json_schema_errors(%s::jsonb, %s::jsonb)",
                (schema, instance, schema, instance),
            ).fetchone()
            verdicts[str(fast)] += 1
            if fast is not None:
                assert fast == (errors == []), (
                    f"fast path says {fast}, jsonschema says {errors} for schema {schema} "
                    f"and instance {instance}"
                )

        agree()
    # the run looked at both answers, often: a generator that drifted to one side would
    # leave the rule untested
    assert verdicts["True"] >= 30 and verdicts["False"] >= 30, verdicts
