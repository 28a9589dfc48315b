"""The operator CLI (issue 15 section 2), run as a person would run it: each subcommand is
one call of the client as the principal of $CONCORD_TOKEN; tables by default, --json for
scripts, exit codes that say what happened, and ``watch`` follows a command live."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from concord import Client
from support.api_server import Org, organisation, token_for


@dataclass(frozen=True)
class Setup:
    org: Org
    command_type: str
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def setup(concord_dsn: str) -> Iterator[Setup]:
    suffix = uuid.uuid4().hex[:10]
    with (
        organisation(concord_dsn, ("member", "approver", "owner")) as org,
        Client(concord_dsn) as admin,
    ):
        approval_type = admin.register_approval_type(
            {
                "name": f"cli_approval_{suffix}",
                "decision_values": ["approved", "rejected"],
                "expiration": {"default_minutes": 30},
                "approver": {"principals": [org.members["approver"]]},
                "resume": {"on_approved": "continue_workflow", "on_rejected": "fail"},
            }
        )
        policy = admin.register_policy(
            {
                "name": f"cli_limit_{suffix}",
                "predicate": "$.payload.total_price > 500",
                "decision": "require_approval",
                "reasons": ["Bookings above 500 need approval"],
                "approval_type": approval_type,
            }
        )
        command_type = admin.register_command_type(
            {
                "command_type": f"test.cli_{suffix}",
                "async_required": True,
                "policy_checks": [policy],
                "payload_schema": {"type": "object", "required": ["total_price"]},
            }
        )
        tokens = {who: token_for(concord_dsn, p) for who, p in org.members.items()}
        yield Setup(org, command_type, tokens)


def concord(setup: Setup, who: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONCORD_DSN": setup.org.login_dsn, "CONCORD_TOKEN": ""}
    if who is not None:
        env["CONCORD_TOKEN"] = setup.tokens[who]
    return subprocess.run(
        [sys.executable, "-m", "concord", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return done.stdout


def test_submit_explain_approve_and_list_without_sql(setup: Setup) -> None:
    submitted = json.loads(
        ok(concord(setup, "member", "submit", setup.command_type, '{"total_price": 900}', "--json"))
    )
    command_id = submitted["command_id"]
    assert submitted["status"] == "waiting_for_approval"

    why = ok(concord(setup, "member", "explain", command_id))
    assert "held by approval_pending" in why and setup.org.members["approver"] in why

    inbox = json.loads(ok(concord(setup, "approver", "approvals", "--json")))
    (approval,) = [a for a in inbox if a["command_id"] == command_id]
    table = ok(concord(setup, "approver", "approvals"))
    assert approval["approval_id"] in table and "approval_id" in table.splitlines()[0]

    refused = concord(setup, "member", "approve", approval["approval_id"])
    assert refused.returncode == 4, refused.stderr  # one's own request
    assert "rule:" in refused.stderr
    approved = ok(concord(setup, "approver", "approve", approval["approval_id"], "--reason", "ok"))
    assert "queued" in approved

    listed = json.loads(
        ok(concord(setup, "member", "list", "--type", setup.command_type, "--json"))
    )
    assert command_id in [c["command_id"] for c in listed["commands"]]
    shown = json.loads(ok(concord(setup, "member", "show", command_id, "--json")))
    assert shown["status"] == "queued"


def test_watch_follows_a_command_live_until_it_ends(setup: Setup) -> None:
    command_id = json.loads(
        ok(concord(setup, "member", "submit", setup.command_type, '{"total_price": 1}', "--json"))
    )["command_id"]
    env = {
        **os.environ,
        "CONCORD_DSN": setup.org.login_dsn,
        "CONCORD_TOKEN": setup.tokens["member"],
    }
    watcher = subprocess.Popen(
        [sys.executable, "-m", "concord", "watch", command_id, "--timeout", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        time.sleep(2)  # the watcher is listening; what happens next reaches it by NOTIFY
        ok(concord(setup, "member", "cancel", command_id, "--reason", "changed my mind"))
        out, err = watcher.communicate(timeout=30)
    finally:
        watcher.kill()
    assert watcher.returncode == 6, (out, err)  # finished, not succeeded
    assert "command_created" in out and "-> cancelled" in out and "changed my mind" in out


def test_exit_codes_say_what_happened(setup: Setup) -> None:
    missing = concord(setup, "member", "show", str(uuid.uuid4()))
    assert missing.returncode == 3 and "the_command_exists" in missing.stderr
    anonymous = concord(setup, None, "submit", setup.command_type, '{"total_price": 1}')
    assert anonymous.returncode == 4 and "the_caller_is_authenticated" in anonymous.stderr
    bad_json = concord(setup, "member", "submit", setup.command_type, "{not json")
    assert bad_json.returncode == 2 and "not JSON" in bad_json.stderr
    not_failed = concord(
        setup,
        "owner",
        "retry",
        json.loads(
            ok(
                concord(
                    setup, "member", "submit", setup.command_type, '{"total_price": 2}', "--json"
                )
            )
        )["command_id"],
    )
    assert not_failed.returncode == 1 and "only_a_failed_command_is_retried" in not_failed.stderr
    timed_out = concord(
        setup, "member", "submit", setup.command_type, '{"total_price": 3}', "--wait", "1"
    )
    assert timed_out.returncode == 5, (timed_out.stdout, timed_out.stderr)


def test_tokens_are_created_listed_and_revoked(setup: Setup) -> None:
    made = json.loads(
        ok(concord(setup, "member", "token", "create", "--days", "1", "--label", "ci", "--json"))
    )
    assert made["token"].startswith("cct_")
    listed = json.loads(ok(concord(setup, "member", "token", "list", "--json")))
    assert made["token_id"] in [t["token_id"] for t in listed]
    assert all("token" not in t for t in listed)
    assert "revoked" == ok(concord(setup, "member", "token", "revoke", made["token_id"])).strip()
    again = ok(concord(setup, "member", "token", "revoke", made["token_id"])).strip()
    assert again == "already revoked"


def test_every_subcommand_has_help_with_an_example(setup: Setup) -> None:
    names = ["submit", "list", "show", "watch", "explain", "approve", "reject", "approvals"]
    names += ["cancel", "retry", "input", "workers"]
    for name in names:
        text = ok(concord(setup, None, name, "--help"))
        assert "Example:" in text and f"concord {name}" in text, name
    for name in ("create", "list", "revoke"):
        assert "Example:" in ok(concord(setup, None, "token", name, "--help"))
    completion = subprocess.run(
        [sys.executable, "-m", "concord"],
        env={**os.environ, "_CONCORD_COMPLETE": "bash_source"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "complete" in completion.stdout
