"""Contracts hold while a command runs (spec 18-20, 24, 37), on a real worker:

1. An operation that calls a connector its command type does not declare fails with
   ``permission_denied`` and a message naming the rule; no request reaches the peer and
   no effect or invocation is recorded. The same call from a type that declares the
   connector goes through.
2. ``ctx.artifact`` creates an artifact owned by the command (lineage to it); the step
   run again after the worker is SIGKILLed, and a call repeated with the same key,
   create no second one. A NUL in its name, location, content or key is cleaned
   (U+FFFD) like a result, not a database error that fails the command.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from support.databases import temporary_database
from support.workers import Vendor, WorkerProcess, stop_workers, submit, wait_for, wait_status

TERMINAL = {"succeeded", "failed", "cancelled"}

OPS = """
import os
import time

from concord.runtime import RetryPolicy, operation, register_connector
from concord.runtime.connectors import HttpConnector

register_connector(HttpConnector("vendor", {"base_url": os.environ["CONCORD_TEST_VENDOR_URL"],
                                            "timeout_seconds": 5}))
ONCE = RetryPolicy(max_attempts=1, backoff_seconds=(0.05,))


@operation("ct.undeclared", produces=["connector.vendor.request"], retry=ONCE)
def undeclared(ctx, payload):
    ctx.call("vendor", "request", {"method": "POST", "path": "/undeclared"})
    return {"called": True}


@operation("ct.declared", produces=["connector.vendor.request"], retry=ONCE)
def declared(ctx, payload):
    out = ctx.call("vendor", "request", {"method": "POST", "path": "/declared"})
    return {"id": out["json"]["id"]}


@operation("ct.report")
def report(ctx, payload):
    made = ctx.artifact("report", f"report-{payload['month']}.json",
                        content={"month": payload["month"], "total": 42}, metadata={"pages": 1})
    again = ctx.artifact("report", f"report-{payload['month']}.json",
                         content={"month": payload["month"]},
                         idempotency_key=f"{ctx.command_id}:artifact:1")
    for _ in range(int(payload.get("wait_steps", 0))):
        ctx.step(time.sleep, 0.1, name="wait")
    return {"artifact_id": made["artifact_id"], "again": again["artifact_id"]}


@operation("ct.report_nul")
def report_nul(ctx, payload):
    made = ctx.artifact("report", "q1\\x00.json", location="s3://bucket/q1\\x00.json",
                        content={"note": "a\\x00b"}, idempotency_key=f"{ctx.command_id}:k\\x00")
    return {"artifact_id": made["artifact_id"]}
"""

TYPES = [
    {"command_type": "ct.undeclared", "name": "undeclared", "async_required": True},
    {
        "command_type": "ct.declared",
        "name": "declared",
        "async_required": True,
        "connector_requirements": ["vendor:request"],
    },
    {
        "command_type": "ct.report",
        "name": "report",
        "async_required": True,
        "artifact_output_possible": True,
    },
    {
        "command_type": "ct.report_nul",
        "name": "report with NULs",
        "async_required": True,
        "artifact_output_possible": True,
    },
]


@pytest.fixture(scope="module")
def env(server_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from concord.migrate import migrate

    vendor = Vendor()
    mods: Path = tmp_path_factory.mktemp("contract_ops")
    (mods / "contract_ops.py").write_text(OPS)
    with temporary_database(server_dsn, "concord_contracts") as dsn:
        migrate(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            for spec in TYPES:
                conn.execute(
                    "SELECT concord.register_command_type(%s::jsonb)",
                    (psycopg.types.json.Jsonb(spec),),
                )
        worker = WorkerProcess(
            dsn,
            executor_id=f"ct-{uuid.uuid4().hex[:8]}",
            vendor_url=vendor.url,
            extra_env={"PYTHONPATH": str(mods)},
            modules=("contract_ops",),
        )
        state = {"dsn": dsn, "vendor": vendor, "worker": worker, "mods": mods}
        try:
            worker.start()
            yield state
        finally:
            stop_workers(state["worker"])  # the one running now (a test may restart it)
            vendor.close()


@pytest.fixture
def db(env: dict) -> Iterator[psycopg.Connection]:
    with psycopg.connect(env["dsn"], autocommit=True) as conn:
        yield conn


def one(conn: psycopg.Connection, query: str, *params):
    row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def test_an_undeclared_connector_is_refused_before_the_call(
    env: dict, db: psycopg.Connection
) -> None:
    command_id = submit(db, "ct.undeclared")
    assert wait_status(db, command_id, TERMINAL, 60) == "failed", env["worker"].log()
    error, error_class = db.execute(
        "SELECT error, error_class FROM concord.commands WHERE command_id = %s", (command_id,)
    ).fetchone()
    assert error_class == "permission_denied"
    assert "may not call connector vendor.request" in error, error
    assert "an_operation_calls_only_the_connectors_its_command_type_declares" in error, error
    assert not [r for r in env["vendor"].requests if r.get("path") == "/undeclared"]
    assert (
        one(db, "SELECT count(*) FROM concord.domain_effects WHERE command_id = %s", command_id)
        == 0
    )
    assert (
        one(
            db,
            "SELECT count(*) FROM concord.connector_invocations WHERE command_id = %s",
            command_id,
        )
        == 0
    )


def test_a_declared_connector_capability_is_called(env: dict, db: psycopg.Connection) -> None:
    command_id = submit(db, "ct.declared")
    assert wait_status(db, command_id, TERMINAL, 60) == "succeeded", env["worker"].log()
    assert [r for r in env["vendor"].requests if r.get("path") == "/declared"]


def test_an_operation_creates_its_artifact_once(env: dict, db: psycopg.Connection) -> None:
    command_id = submit(db, "ct.report", {"month": "2026-05", "wait_steps": 40})
    wait_for(
        lambda: one(db, "SELECT count(*) FROM concord.artifacts WHERE command_id = %s", command_id),
        60,
        message="the report artifact",
    )
    env["worker"].kill()  # mid-way through the waiting steps: the workflow is recovered
    restarted = WorkerProcess(
        env["dsn"],
        executor_id=env["worker"].executor_id,
        vendor_url=env["vendor"].url,
        extra_env={"PYTHONPATH": str(env["mods"])},
        modules=("contract_ops",),
    )
    env["worker"] = restarted.start()
    assert wait_status(db, command_id, TERMINAL, 90) == "succeeded", restarted.log()
    rows = db.execute(
        "SELECT artifact_id::text, artifact_type, name, created_by, content FROM concord.artifacts "
        "WHERE command_id = %s",
        (command_id,),
    ).fetchall()
    assert len(rows) == 1, rows
    artifact_id, artifact_type, name, created_by, content = rows[0]
    assert (artifact_type, name, created_by) == (
        "report",
        "report-2026-05.json",
        f"command:{command_id}",
    )
    assert content == {"month": "2026-05", "total": 42}
    result = one(db, "SELECT result FROM concord.commands WHERE command_id = %s", command_id)
    assert result["artifact_id"] == result["again"] == artifact_id


def test_an_artifact_with_nul_bytes_is_cleaned_not_failed(
    env: dict, db: psycopg.Connection
) -> None:
    command_id = submit(db, "ct.report_nul")
    assert wait_status(db, command_id, TERMINAL, 60) == "succeeded", (
        one(db, "SELECT error FROM concord.commands WHERE command_id = %s", command_id),
        env["worker"].log(),
    )
    row = db.execute(
        "SELECT name, location, content FROM concord.artifacts WHERE command_id = %s",
        (command_id,),
    ).fetchone()
    assert row == ("q1\ufffd.json", "s3://bucket/q1\ufffd.json", {"note": "a\ufffdb"}), row
