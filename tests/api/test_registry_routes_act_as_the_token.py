"""The Domain Registry's REST routes and the agent gateway's route (spec 36, 115, 116)
against the real server on 127.0.0.1: an owner creates, publishes and binds an entity over
HTTP (the worker's step of each governed command played by hand), reads it back and
resolves it; a member of another organisation sees nothing of it (404, empty lists); a
reader is refused every change with a 403 problem carrying the code and rule; an agent acts
through POST /agent-actions with its run's secret, and nobody else may act as it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest

from concord import Client
from support.api_server import Org, assert_problem, organisation, running_api, token_for
from support.hand_swarms import hand_swarm
from support.workers import run_registry_command_as_the_worker


@dataclass(frozen=True)
class Setup:
    base: str
    org: Org
    dsn: str
    tokens: dict[str, str]  # who -> credential


@pytest.fixture(scope="module")
def api(concord_dsn: str) -> Iterator[Setup]:
    """One API server; an organisation with an owner and a reader; another organisation's
    owner (the outsider)."""
    with (
        organisation(concord_dsn, ("owner", "reader")) as org,
        organisation(concord_dsn, ("owner",)) as other,
    ):
        tokens = {who: token_for(concord_dsn, principal) for who, principal in org.members.items()}
        tokens["outsider"] = token_for(concord_dsn, other.members["owner"])
        with running_api(org.login_dsn) as base:
            yield Setup(base, org, concord_dsn, tokens)


def call(api: Setup, who: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """As ``who`` (a member, in the organisation's project; the outsider; or a credential
    given as it is, an agent's secret)."""
    headers = {"Authorization": f"Bearer {api.tokens.get(who, who)}"}
    if who in api.org.members:
        headers["Concord-Project"] = api.org.project
    return httpx.request(method, f"{api.base}{path}", headers=headers, timeout=30, **kwargs)


def ran(api: Setup, answer: httpx.Response) -> Any:
    """The worker's step of the governed command an answer names, played by hand."""
    assert answer.status_code == 200, answer.text
    command_id = answer.json()["command_id"]
    assert answer.json()["command_status"] == "queued", answer.text
    with psycopg.connect(api.dsn, autocommit=True) as db:
        return run_registry_command_as_the_worker(db, command_id)


@pytest.fixture(scope="module")
def tool(api: Setup) -> dict[str, Any]:
    """A tool of the organisation, created, published and bound to its tenant over HTTP."""
    name = f"api_tool_{uuid.uuid4().hex[:10]}"
    created = call(
        api,
        "owner",
        "POST",
        "/registry/entities",
        json={"entity_type": "tool", "name": name, "display_name": "API tool", "owner": "team"},
    )
    assert created.status_code == 201, created.text
    drafted = call(
        api,
        "owner",
        "POST",
        f"/registry/entities/tool/{name}/versions",
        json={"version": "1.0.0", "manifest": {"mode": "sync", "description": "first"}},
    )
    assert drafted.status_code == 201, drafted.text
    version_id = drafted.json()["version_id"]
    published = ran(api, call(api, "owner", "POST", f"/registry/versions/{version_id}/publish"))
    assert published["status"] == "published"
    bound = ran(
        api,
        call(
            api,
            "owner",
            "POST",
            f"/registry/versions/{version_id}/bind",
            json={"binding_scope": "tenant", "binding_target": api.org.name},
        ),
    )
    return {"name": name, "version_id": version_id, "binding_id": bound["binding_id"]}


def test_an_owner_reads_back_and_resolves_what_it_published(api: Setup, tool: dict) -> None:
    listed = call(api, "reader", "GET", "/registry/entities", params={"type": "tool"}).json()
    (mine,) = [e for e in listed if e["name"] == tool["name"]]
    assert (mine["organisation"], mine["versions"], mine["published_versions"]) == (
        api.org.name,
        1,
        ["1.0.0"],
    )
    shown = call(api, "reader", "GET", f"/registry/entities/tool/{tool['name']}").json()
    (version,) = shown["versions"]
    assert (version["status"], version["change_class"]) == ("published", "initial")
    assert version["checksum"].startswith("sha256:")
    assert [b["binding_id"] for b in shown["bindings"]] == [tool["binding_id"]]
    one = call(api, "reader", "GET", f"/registry/versions/{tool['version_id']}").json()
    assert one["manifest"]["description"] == "first" and one["manifest"]["name"] == tool["name"]
    assert one["relationships"] == [] and one["status"] == "published"

    resolved = call(
        api,
        "owner",
        "GET",
        "/registry/resolve",
        params={"entity_type": "tool", "name": tool["name"]},
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["resolved"] is True
    assert resolved.json()["version_id"] == tool["version_id"]
    impact = call(
        api,
        "owner",
        "GET",
        "/registry/impact",
        params={"entity_type": "tool", "name": tool["name"]},
    )
    assert impact.status_code == 200 and impact.json() == []
    unbound = call(
        api, "owner", "GET", "/registry/resolve", params={"entity_type": "tool", "name": "no_such"}
    )
    assert_problem(unbound, 409, "CN016", "a_capability_resolves_to_a_usable_version")


def test_another_organisation_sees_nothing_of_it(api: Setup, tool: dict) -> None:
    listed = call(api, "outsider", "GET", "/registry/entities", params={"name": tool["name"]})
    assert listed.status_code == 200 and listed.json() == []
    entity = call(api, "outsider", "GET", f"/registry/entities/tool/{tool['name']}")
    assert_problem(entity, 404, "CN006", "the_registry_entity_exists")
    version = call(api, "outsider", "GET", f"/registry/versions/{tool['version_id']}")
    assert_problem(version, 404, "CN006", "the_registry_version_exists")
    publish = call(api, "outsider", "POST", f"/registry/versions/{tool['version_id']}/publish")
    assert_problem(publish, 404, "CN006", "the_registry_version_exists")
    rollback = call(
        api,
        "outsider",
        "POST",
        f"/registry/bindings/{tool['binding_id']}/rollback",
        json={"target_version_id": tool["version_id"], "reason": "x"},
    )
    assert_problem(rollback, 404, "CN006", None)


def test_a_reader_is_refused_every_change(api: Setup, tool: dict) -> None:
    version = f"/registry/versions/{tool['version_id']}"
    refused = [
        call(
            api,
            "reader",
            "POST",
            "/registry/entities",
            json={
                "entity_type": "tool",
                "name": f"r_{uuid.uuid4().hex[:8]}",
                "display_name": "R",
                "owner": "team",
            },
        ),
        call(
            api,
            "reader",
            "POST",
            f"/registry/entities/tool/{tool['name']}/versions",
            json={"version": "1.1.0", "manifest": {"mode": "sync", "description": "more"}},
        ),
        call(api, "reader", "POST", f"{version}/publish"),
        call(api, "reader", "POST", f"{version}/bind", json={"binding_scope": "global"}),
        call(api, "reader", "POST", f"{version}/deprecate", json={"reason": "x"}),
        call(api, "reader", "POST", f"{version}/retire", json={"reason": "x"}),
        call(api, "reader", "POST", f"{version}/reject", json={"reason": "x"}),
        call(
            api,
            "reader",
            "POST",
            f"/registry/bindings/{tool['binding_id']}/rollback",
            json={"target_version_id": tool["version_id"], "reason": "x"},
        ),
    ]
    for answer in refused:
        body = assert_problem(answer, 403, "CN012", None)
        assert body["rule"], body
    bad = call(api, "owner", "POST", f"{version}/bind", json={"binding_scope": "x", "extra": 1})
    assert_problem(bad, 422, "CN008", "a_request_matches_its_route")
    # nothing changed
    shown = call(api, "owner", "GET", f"/registry/entities/tool/{tool['name']}").json()
    assert [v["status"] for v in shown["versions"]] == ["published"]


def test_an_agent_acts_with_its_runs_secret_and_nobody_else_may(api: Setup) -> None:
    with Client(api.dsn) as admin, psycopg.connect(api.dsn, autocommit=True) as db:
        swarm = hand_swarm(admin, db)
        secret = admin.begin_agent_run(swarm.coordinator)["secret"]
    action = {
        "agent_run_id": swarm.coordinator,
        "tool_name": swarm.tool,
        "payload": {"q": "revenue"},
        "reason": "need the figures",
    }
    done = call(api, secret, "POST", "/agent-actions", json=action)
    assert done.status_code == 200, done.text
    answer = done.json()
    assert answer["decision"] == "allowed" and answer["command_id"], answer
    assert answer["step_index"] == 1
    with Client(api.dsn) as admin:
        command = admin.get_command(answer["command_id"])
    assert command.requested_by == f"agent:{swarm.coordinator}"
    assert command.ingress == "agent"

    outside = call(api, secret, "POST", "/agent-actions", json={**action, "tool_name": "nope"})
    assert outside.status_code == 200 and outside.json()["decision"] == "denied"
    as_a_person = call(api, "owner", "POST", "/agent-actions", json=action)
    assert_problem(as_a_person, 403, "CN012", "an_agent_acts_with_its_run_secret")
    forged = call(api, "car_" + "0" * 64, "POST", "/agent-actions", json=action)
    assert_problem(forged, 401, "CN012", "a_credential_is_valid")
