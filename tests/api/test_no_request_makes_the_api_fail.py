"""Whatever a caller sends, the REST API answers it: a property-based run over every route of
its own OpenAPI document (hypothesis: hostile path segments, query values, JSON bodies and
headers, with and without a valid token) finds no 5xx, and every refusal is a problem
details document."""

from __future__ import annotations

import string
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.api_server import organisation, running_api, token_for


@pytest.fixture(scope="module")
def server(concord_dsn: str) -> Iterator[tuple[str, str, list[tuple[str, str, dict]]]]:
    """The API, a member's token, and its routes (method, path, operation) as it serves
    them in /openapi.json."""
    with organisation(concord_dsn, ("owner",)) as org, running_api(org.login_dsn) as base:
        token = token_for(concord_dsn, org.members["owner"])
        document = httpx.get(f"{base}/openapi.json", timeout=10).json()
        routes = [
            (method.upper(), path, operation)
            for path, item in document["paths"].items()
            for method, operation in item.items()
        ]
        yield base, token, routes


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
segments = st.one_of(
    st.uuids().map(str),
    st.text(min_size=1, max_size=40),
    st.sampled_from(["0", "-1", "null", "%00", "..", "a" * 300]),
)
header_values = st.text(alphabet=string.printable.strip() + " ", max_size=60).map(str.strip)


@st.composite
def requests(draw: st.DrawFn, routes: list[tuple[str, str, dict]], token: str) -> dict[str, Any]:
    method, path, operation = draw(st.sampled_from(routes))
    url = path
    query: dict[str, str] = {}
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            url = url.replace("{" + parameter["name"] + "}", quote(draw(segments), safe=""))
        elif parameter["in"] == "query" and draw(st.booleans()):
            query[parameter["name"]] = draw(st.text(max_size=40))
    headers = {}
    credential = draw(st.sampled_from(["valid", "none", "junk"]))
    if credential == "valid":
        headers["Authorization"] = f"Bearer {token}"
    elif credential == "junk":
        headers["Authorization"] = draw(header_values)
    if draw(st.booleans()):
        headers["Idempotency-Key"] = draw(header_values)
    if draw(st.booleans()):
        headers["Concord-Project"] = draw(header_values)
    body = None
    if "requestBody" in operation and draw(st.booleans()):
        schema_ref = next(iter(operation["requestBody"]["content"].values()))["schema"]
        names = ["command_type", "payload", "context", "decision", "reason", "mode"]
        names += ["payload_patch", "idempotency_key", "cancellation_mode"]
        fields = draw(st.lists(st.sampled_from(names), unique=True, max_size=4))
        body = {name: draw(json_values) for name in fields} if schema_ref else draw(json_values)
    return {"method": method, "url": url, "params": query, "headers": headers, "json": body}


def test_no_request_gets_a_server_error(
    server: tuple[str, str, list[tuple[str, str, dict]]],
) -> None:
    base, token, routes = server

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        derandomize=True,
    )
    @given(request=requests(routes, token))
    def no_server_error(request: dict[str, Any]) -> None:
        answer = httpx.request(
            request["method"],
            base + request["url"],
            params=request["params"],
            headers=request["headers"],
            json=request["json"],
            timeout=30,
        )
        assert answer.status_code < 500, (request, answer.status_code, answer.text)
        if answer.status_code >= 400:
            problem = answer.json()
            assert problem["status"] == answer.status_code, (request, answer.text)
            assert problem["detail"], (request, answer.text)

    no_server_error()


def test_a_valid_token_with_a_new_key_each_time_still_never_fails(
    server: tuple[str, str, list[tuple[str, str, dict]]],
) -> None:
    """The submit route with plausible bodies: unknown types, odd payloads and contexts."""
    base, token, _ = server

    @settings(max_examples=100, deadline=None, derandomize=True)
    @given(
        command_type=st.text(max_size=40),
        payload=json_values,
        context=st.dictionaries(st.text(max_size=10), json_values, max_size=3),
    )
    def submit(command_type: str, payload: Any, context: dict) -> None:
        answer = httpx.post(
            f"{base}/commands",
            json={"command_type": command_type, "payload": payload, "context": context},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
            timeout=30,
        )
        assert answer.status_code < 500, (command_type, payload, context, answer.text)

    submit()
