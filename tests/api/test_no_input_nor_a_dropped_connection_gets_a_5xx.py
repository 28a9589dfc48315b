"""The REST API answers hostile input and a database that dropped its connections without a
5xx, and every status it answers is one its OpenAPI document lists for the route: JSON nested
deeper than Python parses (a webhook's body, a command's), a signature header with a character
outside ASCII, the API login's backends terminated (as a database restart does), and a probe
of each route's refusals checked against the served document."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest

from concord import Client
from concord.api.webhooks import signature
from support.api_server import Org, assert_problem, organisation, running_api, token_for

SECRET = "s3cr3t-" + uuid.uuid4().hex
DEEP = b"[" * 5000 + b"]" * 5000


@dataclass(frozen=True)
class Api:
    base: str
    org: Org
    command_type: str
    member: str  # a member's token
    reader: str  # a reader's token


@pytest.fixture(scope="module")
def api(concord_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    suffix = uuid.uuid4().hex[:10]
    folder = tmp_path_factory.mktemp("hostile")
    with organisation(concord_dsn, ("member", "reader")) as org, Client(concord_dsn) as admin:
        command_type = admin.register_command_type(
            {
                "command_type": f"test.hostile_{suffix}",
                "async_required": True,
                "ingress_types": ["api", "webhook"],
            }
        )
        member = token_for(concord_dsn, org.members["member"])
        (folder / "token").write_text(member)
        (folder / "sources.yaml").write_text(
            f"""
sources:
  repo:
    command_type: {command_type}
    secret: env://TEST_HOSTILE_SECRET
    token: file://{folder / "token"}
    project: {org.project}
"""
        )
        with running_api(
            org.login_dsn,
            args=("--webhooks", str(folder / "sources.yaml")),
            env={"TEST_HOSTILE_SECRET": SECRET},
        ) as base:
            yield Api(
                base, org, command_type, member, token_for(concord_dsn, org.members["reader"])
            )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def deliver(api: Api, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    headers = {
        "X-Concord-Signature": signature(SECRET, body),
        "X-Concord-Delivery": str(uuid.uuid4()),
        **(headers or {}),
    }
    return httpx.post(f"{api.base}/webhooks/repo", content=body, headers=headers, timeout=30)


def test_json_nested_too_deep_is_invalid_input(api: Api) -> None:
    hook = deliver(api, DEEP)
    assert_problem(hook, 422, "CN008", "a_webhook_body_is_json")
    body = b'{"command_type": "x", "payload": ' + DEEP + b"}"
    submitted = httpx.post(
        f"{api.base}/commands",
        content=body,
        headers={**bearer(api.member), "content-type": "application/json"},
        timeout=30,
    )
    assert_problem(submitted, 422, "CN008", "a_request_matches_its_route")


@pytest.mark.parametrize(
    "payload", ['{"a": "x\\u0000y"}', '{"a": NaN}', '{"a": 1e400}'], ids=["nul", "nan", "huge"]
)
def test_a_value_postgresql_cannot_store_is_invalid_input_with_a_concord_code(
    api: Api, payload: str
) -> None:
    body = f'{{"command_type": "{api.command_type}", "payload": {payload}}}'
    answer = httpx.post(
        f"{api.base}/commands",
        content=body,
        headers={
            **bearer(api.member),
            "content-type": "application/json",
            "Concord-Project": api.org.project,
        },
        timeout=30,
    )
    problem = assert_problem(answer, 422, "CN008", "a_value_is_one_postgresql_can_store")
    assert problem["hint"] and problem["sqlstate"].startswith("22")


def test_a_signature_outside_ascii_is_a_wrong_signature(api: Api) -> None:
    answer = deliver(api, b"{}", {"X-Concord-Signature": "sha256=\xe9".encode("latin-1")})
    assert_problem(answer, 401, "CN012", "a_webhook_is_signed_by_its_source")


def test_connections_the_database_dropped_are_replaced_not_failed_on(
    api: Api, concord_dsn: str
) -> None:
    for _ in range(3):  # the pool holds several: each is dropped in turn
        with psycopg.connect(concord_dsn, autocommit=True) as db:
            db.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (api.org.login,),
            )
        assert httpx.get(f"{api.base}/ready", timeout=30).status_code == 200
        listed = httpx.get(f"{api.base}/commands", headers=bearer(api.member), timeout=30)
        assert listed.status_code == 200, listed.text


def test_every_answer_is_a_status_its_route_documents(api: Api) -> None:
    document = httpx.get(f"{api.base}/openapi.json", timeout=10).json()
    nobody = str(uuid.uuid4())
    key = str(uuid.uuid4())
    submit = {"command_type": api.command_type, "payload": {}}
    probes: list[tuple[str, str, str, dict]] = [
        ("get", "/ready", "/ready", {}),
        ("post", "/commands", "/commands", {"json": submit}),
        ("post", "/commands", "/commands", {"json": submit, "headers": bearer(api.member)}),
        ("post", "/commands", "/commands", {"json": submit, "headers": bearer(api.reader)}),
        ("post", "/commands", "/commands", {"json": {}, "headers": bearer(api.member)}),
        ("get", "/commands", "/commands", {"headers": bearer(api.member)}),
        (
            "get",
            "/commands",
            "/commands",
            {"headers": {**bearer(api.member), "Concord-Project": "nowhere/none"}},
        ),
        ("get", "/approvals", "/approvals", {"headers": bearer(api.member)}),
        ("get", "/registry/entities", "/registry/entities", {"headers": bearer(api.member)}),
        ("post", "/agent-actions", "/agent-actions", {"json": {"agent_run_id": nobody}}),
        (
            "post",
            "/agent-actions",
            "/agent-actions",
            {"json": {"agent_run_id": nobody, "tool_name": "x"}, "headers": bearer(api.member)},
        ),
    ]
    for suffix, method, body in [
        ("", "get", None),
        ("/timeline", "get", None),
        ("/explain", "get", None),
        ("/cancel", "post", {}),
        ("/retry", "post", {}),
        ("/input", "post", {"payload_patch": {}}),
    ]:
        for token in (None, api.member):
            options: dict = {"headers": bearer(token)} if token else {}
            if body is not None:
                options["json"] = body
            path = "/commands/{command_id}" + suffix
            probes.append((method, path, f"/commands/{nobody}{suffix}", options))
    resolve = "/approvals/{approval_id}/resolve"
    decision = {"decision": "approved"}
    probes.append(("post", resolve, f"/approvals/{nobody}/resolve", {"json": decision}))
    probes.append(
        (
            "post",
            resolve,
            f"/approvals/{nobody}/resolve",
            {"json": decision, "headers": bearer(api.member)},
        )
    )
    answered: list[tuple[str, str, int]] = []
    for method, route, url, options in probes:
        answer = httpx.request(method, api.base + url, timeout=30, **options)
        answered.append((method, route, answer.status_code))
    # an idempotency key replayed (200), then reused for another request (409)
    for payload in ({}, {}, {"other": 1}):
        answer = httpx.post(
            f"{api.base}/commands",
            json={**submit, "payload": payload},
            headers={**bearer(api.member), "Idempotency-Key": key},
            timeout=30,
        )
        answered.append(("post", "/commands", answer.status_code))
    delivery = str(uuid.uuid4())
    for body, headers in [
        (b"{}", {"X-Concord-Delivery": delivery}),
        (b"{}", {"X-Concord-Delivery": delivery}),
        (b'{"other": 1}', {"X-Concord-Delivery": delivery}),
        (b"{}", {"X-Concord-Signature": "sha256=0"}),
        (b"not json", {}),
        (b"x" * (1024 * 1024 + 1), {}),
    ]:
        answered.append(("post", "/webhooks/{source}", deliver(api, body, headers).status_code))
    nowhere = httpx.post(f"{api.base}/webhooks/nowhere", content=b"{}", timeout=30)
    answered.append(("post", "/webhooks/{source}", nowhere.status_code))

    undocumented = [
        (method.upper(), route, status)
        for method, route, status in answered
        if str(status) not in document["paths"][route][method]["responses"]
    ]
    assert not undocumented, undocumented
    seen = {status for _, _, status in answered}
    assert {200, 201, 202, 401, 403, 404, 409, 413, 422} <= seen, seen
