"""``concord registry list|show|resolve|impact`` run as a person would run them: each is one
client call as the principal of $CONCORD_TOKEN, a table by default and JSON with --json;
an entity of another organisation is not found (exit 3), a resolution of nothing usable is
refused (exit 1, with its rule), and ``validate`` still reaches its own parser."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from concord import Client
from support.api_server import Org, organisation, token_for
from support.workers import run_registry_command_as_the_worker


@dataclass(frozen=True)
class Setup:
    org: Org
    tokens: dict[str, str]
    name: str
    version_id: str


@pytest.fixture(scope="module")
def setup(concord_dsn: str) -> Iterator[Setup]:
    """An organisation's tool, published and bound to the organisation by its owner; the
    owner of another organisation (the outsider)."""
    name = f"cli_tool_{uuid.uuid4().hex[:10]}"
    with (
        organisation(concord_dsn, ("owner", "reader")) as org,
        organisation(concord_dsn, ("owner",)) as other,
    ):
        tokens = {who: token_for(concord_dsn, p) for who, p in org.members.items()}
        tokens["outsider"] = token_for(concord_dsn, other.members["owner"])
        with (
            Client(org.login_dsn, token=tokens["owner"], project=org.project) as owner,
            psycopg.connect(concord_dsn, autocommit=True) as db,
        ):
            owner.create_registry_entity("tool", name, "CLI tool", "team")
            version_id = str(
                owner.create_registry_version("tool", name, "1.0.0", {"mode": "sync"})
            )
            published = owner.publish_registry_version(version_id)
            run_registry_command_as_the_worker(db, published["command_id"])
            bound = owner.bind_registry_version(version_id, "tenant", org.name)
            run_registry_command_as_the_worker(db, bound["command_id"])
        yield Setup(org, tokens, name, version_id)


def concord(setup: Setup, who: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONCORD_DSN": setup.org.login_dsn, "CONCORD_TOKEN": setup.tokens[who]}
    env["CONCORD_PROJECT"] = "" if who == "outsider" else setup.org.project
    return subprocess.run(
        [sys.executable, "-m", "concord", "registry", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return done.stdout


def test_list_and_show_read_what_the_caller_may_see(setup: Setup) -> None:
    listed = ok(concord(setup, "reader", "list", "--type", "tool"))
    (line,) = [row for row in listed.splitlines() if setup.name in row]
    assert "1.0.0" in line and setup.org.name in line
    rows = json.loads(ok(concord(setup, "reader", "list", "--name", setup.name, "--json")))
    assert [(r["name"], r["published_versions"]) for r in rows] == [(setup.name, ["1.0.0"])]
    shown = ok(concord(setup, "reader", "show", "tool", setup.name))
    assert "published" in shown and setup.version_id in shown and "tenant" in shown

    outsider = concord(setup, "outsider", "show", "tool", setup.name)
    assert outsider.returncode == 3, (outsider.stdout, outsider.stderr)
    assert "the_registry_entity_exists" in outsider.stderr
    nothing = json.loads(ok(concord(setup, "outsider", "list", "--name", setup.name, "--json")))
    assert nothing == []


def test_resolve_and_impact(setup: Setup) -> None:
    resolved = json.loads(ok(concord(setup, "owner", "resolve", "tool", setup.name, "--json")))
    assert resolved["resolved"] is True and resolved["version_id"] == setup.version_id
    human = ok(concord(setup, "owner", "resolve", "tool", setup.name))
    assert f"tool {setup.name} -> 1.0.0 (published)" in human
    refused = concord(setup, "owner", "resolve", "tool", f"{setup.name}_none")
    assert refused.returncode == 1, (refused.stdout, refused.stderr)
    assert "a_capability_resolves_to_a_usable_version" in refused.stderr
    assert json.loads(ok(concord(setup, "owner", "impact", "tool", setup.name, "--json"))) == []


def test_validate_still_reaches_its_own_parser(setup: Setup) -> None:
    done = concord(setup, "owner", "validate", "--help")
    assert done.returncode == 0 and "usage: concord registry validate" in done.stdout
    missing = concord(setup, "owner", "validate", "/no/such/path")
    assert missing.returncode == 2, (missing.stdout, missing.stderr)
