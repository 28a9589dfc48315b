"""The REST API (issue 15 section 1) against the real server on 127.0.0.1: every route acts
as the principal of the caller's token, refusals come back as RFC 9457 problem details with
the Concord code, rule and a matching HTTP status, and a person can submit a command, see
why it waits, have it approved by someone else and see it move, without SQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from concord import Client
from support.api_server import Org, assert_problem, organisation, running_api, token_for
from support.workers import fail_as_the_worker

LIMIT = 500
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Setup:
    base: str
    org: Org
    other: Org
    command_type: str
    tokens: dict[str, str]  # who -> token


@pytest.fixture(scope="module")
def api(concord_dsn: str) -> Iterator[Setup]:
    """One API server for the module; an organisation with a member (the requester), an
    approver and an owner; another organisation's owner; a booking type whose policy asks
    the approver above LIMIT."""
    suffix = uuid.uuid4().hex[:10]
    with (
        organisation(concord_dsn, ("member", "approver", "owner")) as org,
        organisation(concord_dsn, ("owner",)) as other,
        Client(concord_dsn) as admin,
    ):
        approval_type = admin.register_approval_type(
            {
                "name": f"api_approval_{suffix}",
                "required_fields": ["hotel_name"],
                "decision_values": ["approved", "rejected"],
                "expiration": {"default_minutes": 30},
                "approver": {"principals": [org.members["approver"]]},
                "resume": {"on_approved": "continue_workflow", "on_rejected": "fail"},
            }
        )
        policy = admin.register_policy(
            {
                "name": f"api_limit_{suffix}",
                "predicate": "$.payload.total_price > $limit",
                "vars": {"limit": LIMIT},
                "decision": "require_approval",
                "reasons": [f"Bookings above {LIMIT} need approval"],
                "approval_type": approval_type,
            }
        )
        command_type = admin.register_command_type(
            {
                "command_type": f"test.api_{suffix}",
                "async_required": True,
                "policy_checks": [policy],
                "payload_schema": {
                    "type": "object",
                    "properties": {
                        "hotel_name": {"type": "string"},
                        "total_price": {"type": "number"},
                    },
                    "required": ["total_price"],
                },
            }
        )
        tokens = {who: token_for(concord_dsn, principal) for who, principal in org.members.items()}
        tokens["outsider"] = token_for(concord_dsn, other.members["owner"])
        with running_api(org.login_dsn) as base:
            yield Setup(base, org, other, command_type, tokens)


def call(api: Setup, who: str | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = dict(kwargs.pop("headers", {}))
    if who is not None:
        headers["Authorization"] = f"Bearer {api.tokens[who]}"
    return httpx.request(method, f"{api.base}{path}", headers=headers, timeout=30, **kwargs)


def submit(api: Setup, who: str = "member", **payload: Any) -> dict[str, Any]:
    answer = call(
        api, who, "POST", "/commands", json={"command_type": api.command_type, "payload": payload}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_health_and_readiness_answer_without_a_token(api: Setup) -> None:
    assert call(api, None, "GET", "/health").json() == {"status": "ok"}
    assert call(api, None, "GET", "/ready").json() == {"status": "ready"}


def test_a_call_without_a_valid_token_is_401(api: Setup) -> None:
    answer = call(api, None, "GET", "/commands")
    assert_problem(answer, 401, "CN012", "the_caller_is_authenticated")
    assert answer.headers["www-authenticate"].startswith("Bearer")
    forged = call(
        api, None, "GET", "/commands", headers={"Authorization": "Bearer cct_" + "0" * 64}
    )
    assert_problem(forged, 401, "CN012", "a_credential_is_valid")


def test_a_submitted_command_is_the_callers_in_its_project(api: Setup) -> None:
    created = submit(api, hotel_name="Ritz", total_price=100)
    assert created["status"] == created["state"] == "queued"
    assert created["created"] is True
    shown = call(api, "member", "GET", f"/commands/{created['command_id']}").json()
    assert shown["requested_by"] == api.org.members["member"]
    assert shown["ingress"] == "api"
    listed = call(api, "member", "GET", "/commands", params={"project": api.org.project}).json()
    assert created["command_id"] in [c["command_id"] for c in listed["commands"]]
    by_a_person = call(
        api,
        "member",
        "POST",
        "/commands",
        json={
            "command_type": api.command_type,
            "payload": {"total_price": 1},
            "ingress": "user_request",
        },
    )
    assert by_a_person.status_code == 201, by_a_person.text
    shown = call(api, "member", "GET", f"/commands/{by_a_person.json()['command_id']}").json()
    assert shown["ingress"] == "user_request"
    claimed = call(
        api,
        "member",
        "POST",
        "/commands",
        json={"command_type": api.command_type, "payload": {}, "ingress": "webhook"},
    )
    assert_problem(claimed, 422, "CN008", "a_request_matches_its_route")


def test_an_idempotency_key_replays_and_a_different_request_under_it_is_409(api: Setup) -> None:
    key = f"booking-{uuid.uuid4()}"
    body = {"command_type": api.command_type, "payload": {"total_price": 10}}
    first = call(api, "member", "POST", "/commands", json=body, headers={"Idempotency-Key": key})
    again = call(api, "member", "POST", "/commands", json=body, headers={"Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["command_id"] == again.json()["command_id"]
    assert again.json()["created"] is False
    assert first.headers["location"] == f"/commands/{first.json()['command_id']}"
    changed = {"command_type": api.command_type, "payload": {"total_price": 11}}
    conflict = call(
        api, "member", "POST", "/commands", json=changed, headers={"Idempotency-Key": key}
    )
    assert_problem(conflict, 409, "CN002", None)
    both = call(
        api,
        "member",
        "POST",
        "/commands",
        json=body | {"idempotency_key": "another"},
        headers={"Idempotency-Key": key},
    )
    assert_problem(both, 422, "CN008", "one_idempotency_key_per_request")


def test_a_batch_answers_each_command_and_all_or_nothing_submits_none_of_a_refused_one(
    api: Setup,
) -> None:
    key = f"batch-{uuid.uuid4()}"
    item = {"command_type": api.command_type, "payload": {"total_price": 10}}
    answer = call(
        api,
        "member",
        "POST",
        "/commands/batch",
        json={
            "commands": [
                item | {"idempotency_key": key},
                {"command_type": api.command_type, "payload": {"total_price": "ten"}},
                {"command_type": "no.such_type", "payload": {}},
                item | {"idempotency_key": key},
                {
                    "command_type": api.command_type,
                    "payload": {"hotel_name": "Ritz", "total_price": 900},
                },
            ]
        },
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["ordinal"] for r in results] == [1, 2, 3, 4, 5]
    assert [r["status"] for r in results] == [
        "queued", "failed", None, "queued", "waiting_for_approval"
    ]
    assert results[2]["refusal"]["code"] == "CN009"
    assert results[2]["refusal"]["rule"] == "command_type_is_registered"
    assert results[3]["command_id"] == results[0]["command_id"] and not results[3]["created"]
    for made in (results[0], results[4]):
        shown = call(api, "member", "GET", f"/commands/{made['command_id']}").json()
        assert shown["requested_by"] == api.org.members["member"]
    # another organisation does not see what the batch made
    hidden = call(api, "outsider", "GET", f"/commands/{results[0]['command_id']}")
    assert_problem(hidden, 404, "CN006", None)

    keys = [f"aon-{uuid.uuid4()}", f"aon-{uuid.uuid4()}"]
    refused = call(
        api,
        "member",
        "POST",
        "/commands/batch",
        json={
            "all_or_nothing": True,
            "commands": [
                item | {"idempotency_key": keys[0]},
                {"command_type": "no.such_type", "payload": {}, "idempotency_key": keys[1]},
            ],
        },
    )
    assert_problem(refused, 422, "CN009", "command_type_is_registered")
    listed = call(api, "member", "GET", "/commands", params={"project": api.org.project}).json()
    assert not {c.get("idempotency_key") for c in listed["commands"]} & set(keys)
    replay = call(
        api, "member", "POST", "/commands", json=item, headers={"Idempotency-Key": keys[0]}
    )
    assert replay.status_code == 201, "the refused batch submitted its first command"
    empty = call(api, "member", "POST", "/commands/batch", json={"commands": []})
    assert_problem(empty, 422, "CN008", "a_batch_holds_1_to_1000_commands")


def test_bad_input_is_422_with_every_problem(api: Setup) -> None:
    unknown = call(
        api, "member", "POST", "/commands", json={"command_type": "no.such", "payload": {}}
    )
    assert_problem(unknown, 422, "CN009", None)
    malformed = call(api, "member", "POST", "/commands", json={"payload": [], "extra": 1})
    body = assert_problem(malformed, 422, "CN008", "a_request_matches_its_route")
    assert len(body["errors"]) == 2  # command_type missing, extra not allowed
    not_json = call(
        api,
        "member",
        "POST",
        "/commands",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert_problem(not_json, 422, "CN008", "a_request_matches_its_route")
    # a payload its schema refuses is recorded as a failed command, with every problem
    refused = submit(api, total_price="cheap")
    assert refused["status"] == "failed" and refused["errors"]
    bad_page = call(api, "member", "GET", "/commands", params={"cursor": "garbage"})
    assert_problem(bad_page, 422, "CN008", "a_cursor_is_one_a_listing_gave")
    bad_status = call(api, "member", "GET", "/commands", params={"status": "sleeping"})
    assert_problem(bad_status, 422, "CN008", "command_status_is_known")


def test_a_person_submits_sees_why_it_waits_and_another_approves_it(api: Setup) -> None:
    created = submit(api, hotel_name="Ritz", total_price=900)
    command_id = created["command_id"]
    assert created["status"] == "waiting_for_approval"

    why = call(api, "member", "GET", f"/commands/{command_id}/explain").json()
    assert [h["reason"] for h in why["held_by"]] == ["approval_pending"]
    assert why["approvals"][0]["may_decide"] == [api.org.members["approver"]]

    inbox = call(api, "approver", "GET", "/approvals").json()
    (mine,) = [a for a in inbox if a["command_id"] == command_id]
    assert call(api, "member", "GET", "/approvals").json() == []  # never one's own

    path = f"/approvals/{mine['approval_id']}/resolve"
    self_approval = call(api, "member", "POST", path, json={"decision": "approved"})
    assert_problem(self_approval, 403, "CN012", None)
    decided = call(api, "approver", "POST", path, json={"decision": "approved", "reason": "ok"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["command_status"] == "queued"
    again = call(api, "approver", "POST", path, json={"decision": "approved"})
    assert_problem(again, 409, "CN013", None)

    events = call(api, "member", "GET", f"/commands/{command_id}/timeline").json()
    assert [e["to_status"] for e in events if e["event_type"] == "command_status_changed"][-1] == (
        "queued"
    )
    why = call(api, "member", "GET", f"/commands/{command_id}/explain").json()
    assert [h["reason"] for h in why["held_by"]] == ["no_live_worker"]


def test_input_is_given_by_the_requester_only(api: Setup) -> None:
    command_id = submit(api, total_price=900)["command_id"]
    path = f"/commands/{command_id}/input"
    by_owner = call(api, "owner", "POST", path, json={"payload_patch": {"hotel_name": "Ritz"}})
    assert_problem(by_owner, 403, "CN012", "only_the_requester_provides_input")
    given = call(api, "member", "POST", path, json={"payload_patch": {"hotel_name": "Ritz"}})
    assert given.status_code == 200, given.text
    assert given.json()["status"] == "waiting_for_approval"


def test_an_owner_retries_a_failed_command_and_nobody_retries_another(
    api: Setup, concord_dsn: str
) -> None:
    command_id = submit(api, total_price=10)["command_id"]
    not_failed = call(api, "owner", "POST", f"/commands/{command_id}/retry")
    assert_problem(not_failed, 409, "CN011", "only_a_failed_command_is_retried")
    with psycopg.connect(concord_dsn, autocommit=True) as db:
        fail_as_the_worker(db, command_id, "timeout")
    by_member = call(api, "member", "POST", f"/commands/{command_id}/retry")
    assert_problem(by_member, 403, "CN012", None)
    retried = call(api, "owner", "POST", f"/commands/{command_id}/retry", json={"reason": "back"})
    assert retried.status_code == 200, retried.text
    assert retried.json() == {"command_id": command_id, "status": "queued"}
    events = call(api, "owner", "GET", f"/commands/{command_id}/timeline").json()
    assert events[-1]["actor"] == api.org.members["owner"]

    logical = submit(api, total_price=10)["command_id"]
    with psycopg.connect(concord_dsn, autocommit=True) as db:
        fail_as_the_worker(db, logical, "validation_error")
    refused = call(api, "owner", "POST", f"/commands/{logical}/retry")
    assert_problem(refused, 409, "CN001", "a_logical_failure_is_not_retried")


def test_the_requester_cancels_a_queued_command(api: Setup) -> None:
    command_id = submit(api, total_price=10)["command_id"]
    cancelled = call(api, "member", "POST", f"/commands/{command_id}/cancel", json={"reason": "x"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    shown = call(api, "member", "GET", f"/commands/{command_id}").json()
    assert shown["status"] == "cancelled"


def test_another_organisation_sees_nothing_of_it(api: Setup) -> None:
    command_id = submit(api, total_price=10)["command_id"]
    for path in ("", "/explain", "/timeline"):
        answer = call(api, "outsider", "GET", f"/commands/{command_id}{path}")
        assert_problem(answer, 404, "CN006", "the_command_exists")
    cancel = call(api, "outsider", "POST", f"/commands/{command_id}/cancel")
    assert_problem(cancel, 404, "CN006", None)
    listed = call(api, "outsider", "GET", "/commands", params={"command_type": api.command_type})
    assert listed.json()["commands"] == []


def test_the_listing_pages_with_a_cursor(api: Setup) -> None:
    made = [submit(api, total_price=i)["command_id"] for i in range(3)]
    seen: list[str] = []
    params: dict[str, Any] = {"command_type": api.command_type, "limit": 2, "status": "queued"}
    while True:
        page = call(api, "member", "GET", "/commands", params=params).json()
        assert len(page["commands"]) <= 2
        seen += [c["command_id"] for c in page["commands"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert len(seen) == len(set(seen))
    # newest first: the three just made lead, in reverse order of creation
    assert seen[:3] == list(reversed(made))


def test_the_served_openapi_document_is_the_committed_one(api: Setup) -> None:
    committed = json.loads((ROOT / "docs" / "reference" / "openapi.json").read_text())
    served = httpx.get(f"{api.base}/openapi.json", timeout=10).json()
    assert served == committed, "docs/reference/openapi.json is stale: run `make docs`"
    for path, item in served["paths"].items():
        for method, operation in item.items():
            assert operation.get("description"), f"{method.upper()} {path} is not documented"
