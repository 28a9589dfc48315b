"""Webhook ingress (issue 15 section 1): a delivery signed with its source's secret becomes
one command, submitted as the source's principal with ingress ``webhook`` and the delivery
id as its idempotency key; an unsigned, mis-signed, anonymous or non-JSON delivery is
refused with a problem document, and the sources file holds references, never secrets."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from concord import Client
from concord.api.webhooks import signature
from support.api_server import assert_problem, organisation, running_api, token_for

SECRET = "s3cr3t-" + uuid.uuid4().hex


@dataclass(frozen=True)
class Hooks:
    base: str
    command_type: str
    principal: str
    project: str


@pytest.fixture(scope="module")
def hooks(concord_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hooks]:
    suffix = uuid.uuid4().hex[:10]
    folder = tmp_path_factory.mktemp("webhooks")
    with organisation(concord_dsn, ("member",)) as org, Client(concord_dsn) as admin:
        command_type = admin.register_command_type(
            {
                "command_type": f"test.hook_{suffix}",
                "async_required": True,
                "ingress_types": ["webhook"],
                "payload_schema": {"type": "object", "required": ["ref"]},
            }
        )
        (folder / "token").write_text(token_for(concord_dsn, org.members["member"]))
        (folder / "sources.yaml").write_text(
            f"""
sources:
  repo:
    command_type: {command_type}
    secret: env://TEST_HOOK_SECRET
    token: file://{folder / "token"}
    project: {org.project}
  github:
    command_type: {command_type}
    secret: env://TEST_HOOK_SECRET
    token: file://{folder / "token"}
    signature_header: X-Hub-Signature-256
    delivery_header: X-GitHub-Delivery
  broken:
    command_type: {command_type}
    secret: env://TEST_HOOK_UNSET
    token: file://{folder / "token"}
"""
        )
        with running_api(
            org.login_dsn,
            args=("--webhooks", str(folder / "sources.yaml")),
            env={"TEST_HOOK_SECRET": SECRET},
        ) as base:
            yield Hooks(base, command_type, org.members["member"], org.project)


def deliver(
    hooks: Hooks, source: str, body: bytes, *, sign: str | None = SECRET, delivery: str | None
) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if sign is not None:
        headers["X-Concord-Signature"] = signature(sign, body)
    if delivery is not None:
        headers["X-Concord-Delivery"] = delivery
    return httpx.post(f"{hooks.base}/webhooks/{source}", content=body, headers=headers, timeout=30)


def test_a_signed_delivery_is_one_command_of_the_sources_principal(
    hooks: Hooks, db: psycopg.Connection
) -> None:
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    delivery = str(uuid.uuid4())
    first = deliver(hooks, "repo", body, delivery=delivery)
    assert first.status_code == 202, first.text
    again = deliver(hooks, "repo", body, delivery=delivery)
    assert again.status_code == 200, again.text
    assert again.json()["command_id"] == first.json()["command_id"]
    assert again.json()["created"] is False
    row = db.execute(
        "SELECT c.requested_by, c.ingress, c.idempotency_key, c.payload, c.context, c.status, "
        "o.name || '/' || p.name FROM concord.commands AS c "
        "JOIN concord.projects AS p USING (project_id) "
        "JOIN concord.organisations AS o USING (org_id) WHERE c.command_id = %s",
        (first.json()["command_id"],),
    ).fetchone()
    assert row == (
        hooks.principal,
        "webhook",
        f"webhook:repo:{delivery}",
        {"ref": "refs/heads/main"},
        {"webhook": {"source": "repo", "delivery": delivery}},
        "queued",
        hooks.project,
    )


def test_a_source_names_its_own_headers(hooks: Hooks) -> None:
    body = b'{"ref": "v1"}'
    answer = httpx.post(
        f"{hooks.base}/webhooks/github",
        content=body,
        headers={"X-Hub-Signature-256": signature(SECRET, body), "X-GitHub-Delivery": "d-1"},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text


def test_unsigned_or_mis_signed_deliveries_are_401_and_submit_nothing(
    hooks: Hooks, db: psycopg.Connection
) -> None:
    body = b'{"ref": "x"}'
    delivery = str(uuid.uuid4())
    assert_problem(
        deliver(hooks, "repo", body, sign=None, delivery=delivery),
        401,
        None,
        "a_webhook_is_signed_by_its_source",
    )
    assert_problem(
        deliver(hooks, "repo", body, sign="wrong", delivery=delivery),
        401,
        None,
        "a_webhook_is_signed_by_its_source",
    )
    # a signature of another body does not sign this one
    forged = httpx.post(
        f"{hooks.base}/webhooks/repo",
        content=b'{"ref": "y"}',
        headers={"X-Concord-Signature": signature(SECRET, body), "X-Concord-Delivery": delivery},
        timeout=30,
    )
    assert_problem(forged, 401, None, "a_webhook_is_signed_by_its_source")
    (count,) = db.execute(
        "SELECT count(*) FROM concord.commands WHERE idempotency_key = %s",
        (f"webhook:repo:{delivery}",),
    ).fetchone()
    assert count == 0


def test_bad_deliveries_are_refused_with_their_rule(hooks: Hooks) -> None:
    body = b'{"ref": "x"}'
    assert_problem(
        deliver(hooks, "nowhere", body, delivery="d"), 404, None, "the_webhook_source_exists"
    )
    assert_problem(
        deliver(hooks, "repo", body, delivery=None), 422, None, "a_webhook_names_its_delivery"
    )
    assert_problem(
        deliver(hooks, "repo", b"not json", delivery="d"), 422, None, "a_webhook_body_is_json"
    )
    too_big = b'{"ref": "' + b"x" * (1024 * 1024) + b'"}'
    assert_problem(deliver(hooks, "repo", too_big, delivery="d"), 413, None, None)
    # the payload schema still decides: an event without "ref" is a failed command
    refused = deliver(hooks, "repo", b"{}", delivery=str(uuid.uuid4()))
    assert refused.status_code == 202 and refused.json()["status"] == "failed"
    assert_problem(deliver(hooks, "broken", body, delivery="d"), 503, None, None)


def test_a_sources_file_with_a_raw_secret_refuses_to_start(
    tmp_path: Path, concord_dsn: str
) -> None:
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  repo:\n    command_type: x\n    secret: hunter2\n    token: env://T\n"
        "    colour: blue\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "concord",
            "api",
            "--dsn",
            concord_dsn,
            "--port",
            "1",
            "--webhooks",
            str(tmp_path / "sources.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "sources.repo.secret" in done.stderr and "sources.repo.colour" in done.stderr
    assert "hunter2" not in done.stderr
