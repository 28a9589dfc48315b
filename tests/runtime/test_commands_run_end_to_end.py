"""End-to-end tests of the DBOS runtime (issue 4): a real ``concord worker`` subprocess on a
database of its own, commands submitted through SQL, side effects sent over HTTP to a local
vendor that executes each Idempotency-Key once. Nothing of Postgres or DBOS is mocked.

One worker serves the whole module, restarted only where a test needs it stopped (a queued
command cancelled before any worker runs; SIGTERM, the last test). Schedules run first, in a
database of their own, so that their ticks reach no other test.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

import concord
from concord.errors import InvalidPayload, from_psycopg
from concord.migrate import migrate
from concord.runtime.schema import sqlalchemy_url
from support.audit import status_edges, workflows_handed_off
from support.databases import temporary_database
from support.workers import (
    CONCORD,
    OPS_DIR,
    RecordingVendor,
    WorkerProcess,
    register_test_types,
    submit,
    wait_for,
    wait_status,
)

SECRET = "s3cr3t-" + uuid.uuid4().hex  # the value behind env://VENDOR_TOKEN
TERMINAL = {"succeeded", "failed", "cancelled"}
# Where the worker imports Concord from (the same install as this process's).
PACKAGE_DIR = Path(concord.__file__).resolve().parent

# A second operations module, written to a temporary folder on the worker's PYTHONPATH:
# rt.secure calls the connector secure_vendor, which is configured in the database with an
# Authorization header that references the secret (env://VENDOR_TOKEN).
SECRET_OPS = """
from concord.runtime import operation


@operation("rt.secure", produces=["connector.secure_vendor.request"])
def secure(ctx, payload):
    out = ctx.call("secure_vendor", "request",
                   {"method": "POST", "path": "/echo_headers", "json": {"note": "hello"}})
    return {"answer": out["json"]}
"""

# A module whose catalog has four problems the worker must all report before it starts.
BAD_OPS = """
from concord.runtime import ExternalCall, RuntimeCapability, compensation, operation


@operation("rt.echo", requires_compensation=True)
def needs_compensation(ctx, payload):
    return {}


@operation("rt.http", produces=["connector.vendor.request"])
def http(ctx, payload):
    return {}


@compensation(of=http, produces=[ExternalCall("vendor.refund")])
def not_an_inverse(ctx, effect):
    return None


@operation("rt.no_such_type")
def unregistered(ctx, payload):
    return {}


@operation("rt.slow", requires=[RuntimeCapability.SAGA_COMPENSATION_NATIVE])
def native_saga(ctx, payload):
    return {}
"""


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------


@dataclass
class Runtime:
    """The module's database, vendor and (restartable) worker."""

    dsn: str
    vendor: RecordingVendor
    conn: psycopg.Connection
    pythonpath: str
    executor_id: str = field(default_factory=lambda: f"rt-main-{uuid.uuid4().hex[:8]}")
    worker: WorkerProcess | None = None
    logs: list[WorkerProcess] = field(default_factory=list)

    def new_worker(self, executor_id: str | None = None) -> WorkerProcess:
        return WorkerProcess(
            self.dsn,
            executor_id=executor_id or self.executor_id,
            vendor_url=self.vendor.url,
            extra_env={"PYTHONPATH": self.pythonpath, "VENDOR_TOKEN": SECRET},
            modules=("concord_test_ops", "concord_secret_ops"),
        )

    def ensure_worker(self) -> WorkerProcess:
        if self.worker is None or self.worker.proc is None or self.worker.proc.poll() is not None:
            self.worker = self.new_worker().start()
            self.logs.append(self.worker)
        return self.worker

    def stop_worker(self) -> int:
        assert self.worker is not None
        rc = self.worker.terminate(30)
        return rc

    def full_log(self) -> str:
        return "".join("".join(w.output) for w in self.logs)


@pytest.fixture(scope="module")
def rt(server_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    ops = tmp_path_factory.mktemp("rt_ops")
    (ops / "concord_secret_ops.py").write_text(SECRET_OPS)
    vendor = RecordingVendor()
    with temporary_database(server_dsn, "rt") as dsn:
        migrate(dsn)
        register_test_types(dsn)
        conn = psycopg.connect(dsn, autocommit=True)
        conn.execute(
            "SELECT concord.register_command_type(%s)",
            (
                json.dumps(
                    {
                        "command_type": "rt.secure",
                        "name": "rt.secure",
                        "async_required": True,
                        "connector_requirements": ["secure_vendor"],
                    }
                ),
            ),
        )
        conn.execute(
            "SELECT concord.register_connector(%s)",
            (
                json.dumps(
                    {
                        "name": "secure_vendor",
                        "connector_type": "http",
                        "capabilities": ["request"],
                        "config": {
                            "base_url": vendor.url,
                            "headers": {"Authorization": "env://VENDOR_TOKEN"},
                        },
                    }
                ),
            ),
        )
        conn.execute("SELECT concord.add_team_member('team:approvers', 'carol')")
        runtime = Runtime(
            dsn=dsn,
            vendor=vendor,
            conn=conn,
            pythonpath=os.pathsep.join([str(OPS_DIR), str(ops), os.environ.get("PYTHONPATH", "")]),
        )
        try:
            runtime.ensure_worker()
            yield runtime
        finally:
            if runtime.worker is not None:
                try:
                    runtime.worker.terminate(20)
                except subprocess.TimeoutExpired:
                    runtime.worker.kill()
            conn.close()
            vendor.close()


@pytest.fixture
def db(rt: Runtime) -> psycopg.Connection:
    rt.ensure_worker()
    return rt.conn


# ---------------------------------------------------------------------------
# Reading what happened
# ---------------------------------------------------------------------------


def one(conn: psycopg.Connection, query: str, *params: Any) -> Any:
    row = conn.execute(query, params).fetchone()
    return row[0] if row is not None else None


def command(conn: psycopg.Connection, command_id: str) -> dict[str, Any]:
    cur = conn.execute("SELECT * FROM concord.commands WHERE command_id = %s", (command_id,))
    names = [d.name for d in cur.description]
    return dict(zip(names, cur.fetchone(), strict=True))


def events(conn: psycopg.Connection, command_id: str) -> list[dict[str, Any]]:
    cur = conn.execute(
        "SELECT event_seq, event_type, target_id, from_status, to_status, reason, payload, actor,"
        " created_at FROM concord.domain_events WHERE command_id = %s ORDER BY event_seq",
        (command_id,),
    )
    names = [d.name for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def status_path(conn: psycopg.Connection, command_id: str) -> list[str]:
    """created, then every status the command moved to, in order."""
    return ["created"] + [to_status for _, to_status in status_edges(conn, command_id)]


def transition(conn: psycopg.Connection, command_id: str, to_status: str) -> dict[str, Any]:
    found = [
        e
        for e in events(conn, command_id)
        if e["event_type"] == "command_status_changed" and e["to_status"] == to_status
    ]
    assert len(found) == 1, f"{command_id} entered {to_status} {len(found)} times"
    return found[0]


def effects(conn: psycopg.Connection, command_id: str) -> list[dict[str, Any]]:
    cur = conn.execute(
        "SELECT * FROM concord.domain_effects WHERE command_id = %s ORDER BY created_at, "
        "started_at",
        (command_id,),
    )
    names = [d.name for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def invocations(conn: psycopg.Connection, command_id: str) -> list[dict[str, Any]]:
    cur = conn.execute(
        "SELECT * FROM concord.connector_invocations WHERE command_id = %s ORDER BY created_at",
        (command_id,),
    )
    names = [d.name for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def workflows(conn: psycopg.Connection, command_id: str) -> dict[str, str]:
    """The command's DBOS workflows (its runs and follow-ups): id -> status."""
    rows = conn.execute(
        "SELECT workflow_uuid, status FROM dbos.workflow_status WHERE workflow_uuid = %s "
        "OR workflow_uuid LIKE %s",
        (command_id, command_id + "/%"),
    ).fetchall()
    return dict(rows)


def wait_workflows(conn: psycopg.Connection, command_id: str, expected: dict[str, str]) -> None:
    """Wait until the command's workflows are ``expected`` (DBOS records a workflow's outcome
    just after its last step, so a command may be terminal a moment before)."""
    wait_for(
        lambda: workflows(conn, command_id) == expected,
        timeout=10,
        message=f"workflows {expected}, have {workflows(conn, command_id)}",
    )


def vendor_requests(vendor: RecordingVendor, command_id: str) -> list[dict[str, Any]]:
    with vendor.lock:
        return [r for r in vendor.requests if (r["key"] or "").startswith(command_id)]


def submit_with(conn: psycopg.Connection, command_type: str, payload: dict, **kw: Any) -> str:
    """submit_command with named arguments (cancellation_mode, idempotency_key, ...)."""
    names = ", ".join(f"{k} => %s" for k in kw)
    row = conn.execute(
        f"SELECT command_id FROM concord.submit_command(%s, %s, %s{', ' + names if kw else ''})",
        (command_type, json.dumps(payload), "alice", *kw.values()),
    ).fetchone()
    return str(row[0])


def sleep_steps(conn: psycopg.Connection, workflow_id: str) -> list[tuple[int, int]]:
    """(started, completed) epoch ms of the workflow's ``sleep`` steps."""
    return conn.execute(
        "SELECT started_at_epoch_ms, completed_at_epoch_ms FROM dbos.operation_outputs "
        "WHERE workflow_uuid = %s AND function_name = 'sleep' ORDER BY function_id",
        (workflow_id,),
    ).fetchall()


def psql(dsn: str, query: str) -> str:
    done = subprocess.run(
        ["psql", dsn, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", query],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


# ---------------------------------------------------------------------------
# 9. Schedules (first: its two workers run before the module's worker starts, so that
#    the three never hold their connection pools at the same time)
# ---------------------------------------------------------------------------


EVERY_SECOND = {
    "name": "every_second",
    "cron": "* * * * * *",
    "command_type": "rt.echo",
    "payload_template": {"tick": "{{tick}}"},
}


@pytest.fixture(scope="module")
def sched_dsn(server_dsn: str) -> Iterator[str]:
    """A database of its own for schedules, with the every_second schedule registered."""
    with temporary_database(server_dsn, "rt_sched") as dsn:
        migrate(dsn)
        register_test_types(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT concord.register_schedule(%s)", (json.dumps(EVERY_SECOND),))
        yield dsn


def start_together(*workers: WorkerProcess) -> None:
    """Start workers side by side (each start is a process launch)."""
    with ThreadPoolExecutor(len(workers)) as pool:
        for future in [pool.submit(w.start) for w in workers]:
            future.result()


def scheduled(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        "SELECT idempotency_key, payload, requested_by, context ->> 'tick' "
        "FROM concord.commands WHERE requested_by LIKE 'schedule:%' "
        "AND command_type = 'rt.echo' ORDER BY created_at"
    ).fetchall()


def test_schedule_ticks_submit_one_command_each_even_with_two_workers(sched_dsn: str) -> None:
    with psycopg.connect(sched_dsn, autocommit=True) as conn:
        first = WorkerProcess(sched_dsn, executor_id=f"rt-sched-a-{uuid.uuid4().hex[:6]}")
        second = WorkerProcess(sched_dsn, executor_id=f"rt-sched-b-{uuid.uuid4().hex[:6]}")
        try:
            start_together(first, second)
            both_up = one(conn, "SELECT now()")
            wait_for(
                lambda: (
                    one(
                        conn,
                        "SELECT count(*) FROM concord.commands WHERE requested_by"
                        " = 'schedule:every_second' AND created_at > %s",
                        both_up,
                    )
                    >= 3
                ),
                timeout=20,
                message="three ticks while both workers run",
            )
        finally:
            first.__exit__()
            second.__exit__()
        rows = scheduled(conn)
        assert len(rows) >= 3
        keys = [key for key, *_ in rows]
        assert len(set(keys)) == len(keys), "a tick was submitted twice"
        per_key = dict(
            conn.execute(
                "SELECT idempotency_key, count(*) FROM concord.commands "
                "WHERE idempotency_key LIKE 'schedule:every_second:%' "
                "GROUP BY idempotency_key"
            ).fetchall()
        )
        assert set(per_key.values()) == {1}
        ticks = []
        for key, payload, requested_by, tick in rows:
            assert requested_by == "schedule:every_second"
            assert key == f"schedule:every_second:{tick}"
            assert payload == {"tick": tick}
            ticks.append(datetime.fromisoformat(tick.replace("Z", "+00:00")))
        assert all(t.microsecond == 0 for t in ticks), "ticks fall on whole seconds"
        # each command was created once, and every tick workflow ended without an error
        # (a second submission of a tick would have clashed or been recorded)
        created = one(
            conn,
            "SELECT count(*) FROM concord.domain_events AS e JOIN "
            "concord.commands AS c USING (command_id) WHERE "
            "c.requested_by = 'schedule:every_second' "
            "AND e.event_type = 'command_created'",
        )
        assert created == len(rows)
        tick_statuses = {
            s
            for (s,) in conn.execute(
                "SELECT DISTINCT status FROM dbos.workflow_status "
                "WHERE name = 'concord.schedule_tick'"
            ).fetchall()
        }
        assert tick_statuses <= {"SUCCESS", "ENQUEUED", "PENDING"}, tick_statuses
        # the workers applied the schedules of concord.schedules, expire_approvals too
        applied = dict(
            conn.execute(
                "SELECT schedule_name, schedule FROM dbos.workflow_schedules "
                "WHERE status = 'ACTIVE'"
            ).fetchall()
        )
        assert applied == {
            "concord.every_second": "* * * * * *",
            "concord.expire_approvals": "0 * * * * *",
            # the reconciler of commands whose workflow was cancelled in DBOS
            "concord-internal.reconcile": "*/10 * * * * *",
        }


def test_a_disabled_schedule_stops_firing(sched_dsn: str) -> None:
    with psycopg.connect(sched_dsn, autocommit=True) as conn:
        if not scheduled(conn):  # run alone: let a worker apply the schedule first
            with WorkerProcess(sched_dsn, executor_id=f"rt-sched-c-{uuid.uuid4().hex[:6]}"):
                wait_for(lambda: scheduled(conn), message="a first tick")
        conn.execute(
            "SELECT concord.register_schedule(%s)",
            (json.dumps({**EVERY_SECOND, "enabled": False}),),
        )
        restarted = one(conn, "SELECT now()")
        with WorkerProcess(sched_dsn, executor_id=f"rt-sched-d-{uuid.uuid4().hex[:6]}"):
            time.sleep(3)  # three ticks' worth
        later = [
            key
            for key, _, _, tick in scheduled(conn)
            if datetime.fromisoformat(tick.replace("Z", "+00:00")) > restarted
        ]
        assert later == [], "the disabled schedule kept submitting commands"


# ---------------------------------------------------------------------------
# 1. A command submitted from psql runs to succeeded with its effects and audit trail
# ---------------------------------------------------------------------------


def test_command_submitted_from_psql_runs_with_effects_invocations_and_audit(
    rt: Runtime, db: psycopg.Connection
) -> None:
    out = psql(
        rt.dsn,
        "SELECT command_id FROM concord.submit_command('rt.http', '{\"effects\": 2}', 'alice')",
    )
    command_id = str(uuid.UUID(out))
    assert wait_status(db, command_id, TERMINAL) == "succeeded"
    cmd = command(db, command_id)
    assert cmd["dbos_workflow_id"] == command_id and cmd["run_seq"] == 1

    effs = effects(db, command_id)
    assert [e["status"] for e in effs] == ["succeeded", "succeeded"]
    assert {e["executed_by_dbos_workflow_id"] for e in effs} == {cmd["dbos_workflow_id"]}
    keys = [e["idempotency_key"] for e in effs]
    assert len(set(keys)) == 2 and all(keys)

    invs = invocations(db, command_id)
    assert len(invs) == 2
    for inv, eff in zip(invs, effs, strict=True):
        assert inv["status"] == "succeeded"
        assert inv["domain_effect_id"] == eff["domain_effect_id"]
        assert inv["idempotency_key"] == eff["idempotency_key"]
        assert inv["trace_id"] == cmd["trace_id"]
        assert inv["connector_name"] == "vendor" and inv["capability"] == "request"
        assert inv["dbos_workflow_id"] == cmd["dbos_workflow_id"]

    seen = vendor_requests(rt.vendor, command_id)
    assert sorted(r["key"] for r in seen) == sorted(keys), "each key reached the vendor once"
    assert {r["trace"] for r in seen} == {cmd["trace_id"]}
    assert all(rt.vendor.by_key[k] == 1 for k in keys)
    assert cmd["result"]["ids"] == [e["result"]["json"]["id"] for e in effs]

    trail = []
    for e in events(db, command_id):
        if e["event_type"] == "command_created":
            # one row for the submission: its whole path, then the hand-off it names
            trail.extend(e["payload"]["path"])
            if "workflow" in e["payload"]:
                trail.append("workflow_enqueued")
        elif e["event_type"] == "command_status_changed":
            trail.append(e["to_status"])
        elif e["event_type"] == "workflow_enqueued":
            trail.append("workflow_enqueued")
        elif e["event_type"].startswith("effect_"):
            trail.append(f"effect:{e['to_status']}")
        else:
            trail.append(e["event_type"])
    effect_story = ["effect:planned", "effect:executing", "effect:succeeded"]
    # every effect event, planning included, is the workflow's own
    assert {
        e["actor"] for e in events(db, command_id) if e["event_type"].startswith("effect_")
    } == {f"workflow:{cmd['dbos_workflow_id']}"}
    assert trail == [
        "created",
        "validated",
        "queued",
        "workflow_enqueued",
        "running",
        *effect_story,
        *effect_story,
        "succeeded",
    ]


# ---------------------------------------------------------------------------
# 2. An approval-gated command runs only after approval, within a second of it
# ---------------------------------------------------------------------------


def test_approval_gated_command_runs_only_after_approval_within_a_second(
    rt: Runtime, db: psycopg.Connection
) -> None:
    command_id = submit(db, "rt.gated", {"title": "press release"})
    assert command(db, command_id)["status"] == "waiting_for_approval"
    # a later command runs to its end: the worker is busy with the queues, yet it does
    # not see the gated one
    barrier = submit(db, "rt.echo", {"barrier": True})
    assert wait_status(db, barrier, TERMINAL) == "succeeded"
    cmd = command(db, command_id)
    assert cmd["status"] == "waiting_for_approval"
    assert cmd["dbos_workflow_id"] is None
    assert workflows(db, command_id) == {}
    assert vendor_requests(rt.vendor, command_id) == []
    assert rt.vendor.executions_by_path["/publish"] == 0

    approval_id = one(
        db,
        "SELECT approval_id FROM concord.approvals WHERE command_id = %s AND status = 'pending'",
        command_id,
    )
    resolution = one(db, "SELECT concord.resolve_approval(%s, 'approved', 'carol')", approval_id)
    assert resolution["command_status"] == "queued"
    decided_at = one(
        db, "SELECT decided_at FROM concord.approvals WHERE approval_id = %s", approval_id
    )
    assert wait_status(db, command_id, TERMINAL) == "succeeded"
    running = transition(db, command_id, "running")
    # decided_at is the approving transaction's start, before its commit: the gap measured
    # is at least the real one
    assert (running["created_at"] - decided_at).total_seconds() <= 1.0
    assert status_path(db, command_id) == [
        "created",
        "validated",
        "waiting_for_approval",
        "approved",
        "queued",
        "running",
        "succeeded",
    ]
    assert rt.vendor.executions_by_path["/publish"] == 1
    assert len(vendor_requests(rt.vendor, command_id)) == 1


# ---------------------------------------------------------------------------
# 3. Retries by error class
# ---------------------------------------------------------------------------


def test_transient_failures_are_retried_on_the_declared_schedule(
    rt: Runtime, db: psycopg.Connection
) -> None:
    rt.vendor.plan["/flaky"] = [503, 503]
    command_id = submit(db, "rt.flaky")
    assert wait_status(db, command_id, TERMINAL) == "succeeded"
    invs = invocations(db, command_id)
    assert [i["attempt"] for i in invs] == [1, 2, 3]
    assert [i["error_class"] for i in invs] == [
        "transient_connector_error",
        "transient_connector_error",
        None,
    ]
    assert [i["status"] for i in invs] == ["failed", "failed", "succeeded"]
    assert len({i["idempotency_key"] for i in invs}) == 1, "every attempt carries the same key"
    seen = vendor_requests(rt.vendor, command_id)
    assert len(seen) == 3
    gaps = [b["at"] - a["at"] for a, b in zip(seen, seen[1:], strict=False)]
    # FAST = RetryPolicy(backoff_seconds=(0.05, 0.1, 0.2))
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1, gaps
    effect = effects(db, command_id)
    assert [e["status"] for e in effect] == ["succeeded"]


def test_rate_limited_retry_waits_for_retry_after(rt: Runtime, db: psycopg.Connection) -> None:
    rt.vendor.plan["/flaky"] = [429]
    rt.vendor.headers["/flaky"] = {"Retry-After": "1"}
    try:
        command_id = submit(db, "rt.flaky")
        assert wait_status(db, command_id, TERMINAL) == "succeeded"
    finally:
        rt.vendor.headers.pop("/flaky", None)
    invs = invocations(db, command_id)
    assert [(i["attempt"], i["error_class"]) for i in invs] == [(1, "rate_limited"), (2, None)]
    seen = vendor_requests(rt.vendor, command_id)
    assert len(seen) == 2
    assert seen[1]["at"] - seen[0]["at"] >= 1.0, "the retry came before Retry-After: 1"


def test_validation_error_is_attempted_once_whatever_max_attempts(
    rt: Runtime, db: psycopg.Connection
) -> None:
    rt.vendor.always["/invalid"] = 422
    command_id = submit(db, "rt.invalid")
    assert wait_status(db, command_id, TERMINAL) == "failed"
    cmd = command(db, command_id)
    assert cmd["error_class"] == "validation_error"
    invs = invocations(db, command_id)
    assert [(i["attempt"], i["status"], i["error_class"]) for i in invs] == [
        (1, "failed", "validation_error")
    ]
    assert len(vendor_requests(rt.vendor, command_id)) == 1
    assert [(e["status"], e["error_class"]) for e in effects(db, command_id)] == [
        ("failed", "validation_error")
    ]


# ---------------------------------------------------------------------------
# 4. Compensation
# ---------------------------------------------------------------------------


def _book_then_cancel(rt: Runtime, db: psycopg.Connection, command_type: str) -> str:
    command_id = submit(db, command_type, {"room": 12})
    wait_for(
        lambda: (
            any(r["path"] == "/book" for r in vendor_requests(rt.vendor, command_id))
            and effects(db, command_id)[0]["status"] == "succeeded"
        ),
        message="the booking to be executed",
    )
    assert command(db, command_id)["status"] == "running"
    assert (
        one(db, "SELECT concord.cancel_command(%s, 'bob', 'changed plans')", command_id)
        == "cancelling"
    )
    wait_status(db, command_id, TERMINAL)
    return command_id


def test_cancel_after_booking_compensates_then_stops(rt: Runtime, db: psycopg.Connection) -> None:
    command_id = _book_then_cancel(rt, db, "hotel.book")
    assert command(db, command_id)["status"] == "cancelled"
    assert status_path(db, command_id) == [
        "created",
        "validated",
        "queued",
        "running",
        "cancelling",
        "compensating",
        "compensated",
        "cancelled",
    ]
    book, cancel = effects(db, command_id)
    assert (book["effect_type"], book["status"]) == ("hotel_booking.book", "succeeded")
    assert (cancel["effect_type"], cancel["status"]) == ("hotel_booking.cancel", "succeeded")
    assert cancel["compensates_effect_id"] == book["domain_effect_id"]
    booking_id = book["result"]["json"]["id"]
    cancels = [r for r in vendor_requests(rt.vendor, command_id) if r["path"] == "/cancel"]
    assert len(cancels) == 1
    assert cancels[0]["body"] == {"booking_id": booking_id}
    kinds = [e["event_type"] for e in events(db, command_id)]
    assert kinds.count("compensation_started") == 1
    assert kinds.count("compensation_completed") == 1
    assert kinds.index("compensation_started") < kinds.index("compensation_completed")
    started = next(e for e in events(db, command_id) if e["event_type"] == "compensation_started")
    assert started["payload"]["effects"] == [str(book["domain_effect_id"])]
    assert "compensation_drift" not in kinds


def test_only_the_effects_a_compensation_counters_are_compensated(
    rt: Runtime, db: psycopg.Connection
) -> None:
    command_id = _book_then_cancel(rt, db, "hotel.book_notify")
    assert command(db, command_id)["status"] == "cancelled"
    by_type = {e["effect_type"]: e for e in effects(db, command_id)}
    assert by_type["notification.booked"]["declared_compensation"] is None
    assert by_type["hotel_booking.book"]["declared_compensation"] is not None
    assert (
        by_type["hotel_booking.cancel"]["compensates_effect_id"]
        == (by_type["hotel_booking.book"]["domain_effect_id"])
    )
    paths = [r["path"] for r in vendor_requests(rt.vendor, command_id)]
    assert paths.count("/cancel") == 1 and paths.count("/notify") == 1
    kinds = [e["event_type"] for e in events(db, command_id)]
    assert "compensation_drift" not in kinds


def test_compensation_emitting_undeclared_effects_is_audited_as_drift(
    rt: Runtime, db: psycopg.Connection
) -> None:
    command_id = _book_then_cancel(rt, db, "hotel.book_drift")
    assert command(db, command_id)["status"] == "cancelled"
    drift = [e for e in events(db, command_id) if e["event_type"] == "compensation_drift"]
    assert len(drift) == 1
    assert drift[0]["payload"]["undeclared"] == ["notification.apology"]
    assert drift[0]["payload"]["missing"] == []
    book = effects(db, command_id)[0]
    assert drift[0]["payload"]["effect_id"] == str(book["domain_effect_id"])
    # the owner (no owner on the type: the requester) is told, by the database
    notified = db.execute(
        "SELECT recipient FROM concord.notifications WHERE command_id = %s "
        "AND metadata ->> 'kind' = 'compensation_drift'",
        (command_id,),
    ).fetchall()
    assert notified == [(command(db, command_id)["requested_by"],)]


def test_compensation_that_keeps_failing_halts_with_an_audit_row(
    rt: Runtime, db: psycopg.Connection
) -> None:
    rt.vendor.always["/cancel_fails"] = 500
    command_id = _book_then_cancel(rt, db, "hotel.book_stuck")
    cmd = command(db, command_id)
    assert (cmd["status"], cmd["error_class"]) == ("failed", "compensation_failed")
    assert status_path(db, command_id) == [
        "created",
        "validated",
        "queued",
        "running",
        "cancelling",
        "compensating",
        "failed",
    ]
    book = next(e for e in effects(db, command_id) if e["effect_type"] == "hotel_booking.book")
    halted = [e for e in events(db, command_id) if e["event_type"] == "compensation_halted"]
    assert len(halted) == 1
    payload = halted[0]["payload"]
    assert (payload["compensated"], payload["of"]) == (0, 1)
    assert payload["failed_effect_id"] == str(book["domain_effect_id"])
    assert payload["remaining"] == [str(book["domain_effect_id"])]
    assert book["status"] == "succeeded", "the booking stays: nothing countered it"
    # FAST allows 4 attempts of the failing cancel, then the chain halts
    fails = [r for r in vendor_requests(rt.vendor, command_id) if r["path"] == "/cancel_fails"]
    assert len(fails) == 4
    assert "compensation_completed" not in [e["event_type"] for e in events(db, command_id)]


# ---------------------------------------------------------------------------
# 5-7. Cancellation: graceful, before any worker ran it, from DBOS's side
# ---------------------------------------------------------------------------


def test_graceful_cancel_finishes_the_current_step_and_skips_the_rest(
    rt: Runtime, db: psycopg.Connection
) -> None:
    command_id = submit_with(
        db, "rt.slow", {"steps": 50, "seconds": 0.1}, cancellation_mode="graceful"
    )
    wait_for(lambda: len(sleep_steps(db, command_id)) >= 2, message="two sleep steps")
    assert one(db, "SELECT concord.cancel_command(%s, 'bob', 'enough')", command_id) == "cancelling"
    assert wait_status(db, command_id, TERMINAL) == "cancelled"
    assert status_path(db, command_id) == [
        "created",
        "validated",
        "queued",
        "running",
        "cancelling",
        "cancelled",
    ]
    requested = command(db, command_id)["cancellation_requested_at"].timestamp() * 1000
    steps = sleep_steps(db, command_id)
    assert len(steps) < 50
    started_after = [s for s in steps if s[0] > requested]
    assert len(started_after) <= 1, "steps kept starting after the cancellation request"
    wait_workflows(db, command_id, {command_id: "SUCCESS"})


def test_command_cancelled_while_queued_never_runs(rt: Runtime, db: psycopg.Connection) -> None:
    assert rt.stop_worker() == 0
    command_id = submit(db, "rt.http", {"effects": 1})
    assert command(db, command_id)["status"] == "queued"
    assert workflows(db, command_id) == {command_id: "ENQUEUED"}
    assert (
        one(db, "SELECT concord.cancel_command(%s, 'bob', 'not needed')", command_id) == "cancelled"
    )
    assert workflows(db, command_id) == {command_id: "CANCELLED"}
    rt.ensure_worker()
    later = submit(db, "rt.http", {"effects": 1})
    assert wait_status(db, later, TERMINAL) == "succeeded"
    assert command(db, command_id)["status"] == "cancelled"
    assert workflows(db, command_id) == {command_id: "CANCELLED"}
    assert vendor_requests(rt.vendor, command_id) == []
    assert effects(db, command_id) == []
    assert "running" not in status_path(db, command_id)


def test_workflow_cancelled_in_dbos_cancels_its_command(
    rt: Runtime, db: psycopg.Connection
) -> None:
    from dbos import DBOSClient

    worker = rt.ensure_worker()
    log_from = len(worker.output)
    command_id = submit(db, "rt.slow", {"steps": 50, "seconds": 0.1})
    wait_for(lambda: len(sleep_steps(db, command_id)) >= 2, message="two sleep steps")
    client = DBOSClient(system_database_url=sqlalchemy_url(rt.dsn))
    try:
        client.cancel_workflow(command_id)
    finally:
        client.destroy()
    assert wait_status(db, command_id, TERMINAL, timeout=15) == "cancelled"
    assert status_path(db, command_id) == [
        "created",
        "validated",
        "queued",
        "running",
        "cancelling",
        "cancelled",
    ]
    cancelling = transition(db, command_id, "cancelling")
    assert "cancelled in DBOS" in cancelling["reason"]
    wait_workflows(db, command_id, {command_id: "CANCELLED", f"{command_id}/cancel": "SUCCESS"})
    assert len(sleep_steps(db, command_id)) < 50
    log = "".join(worker.output[log_from:])
    assert "recording the DBOS cancellation" not in log, log
    # DBOS logs the cancellation of a workflow it was running (its own frames only); no
    # traceback may pass through Concord's code. The package's own folder, not any path
    # holding "/concord/": a checkout under .../concord/... has DBOS's frames there too.
    ours = [
        block for block in log.split("Traceback")[1:] if f'File "{PACKAGE_DIR}{os.sep}' in block
    ]
    assert ours == [], log


# ---------------------------------------------------------------------------
# 8. Dependencies
# ---------------------------------------------------------------------------


def test_child_runs_only_after_its_parent_succeeded(rt: Runtime, db: psycopg.Connection) -> None:
    with db.transaction():
        parent = submit(db, "rt.slow", {"steps": 5, "seconds": 0.1})
        child = submit(db, "rt.echo", {"child": True})
        db.execute("SELECT concord.add_dependency(%s, %s)", (child, parent))
    assert wait_status(db, parent, TERMINAL) == "succeeded"
    assert wait_status(db, child, TERMINAL) == "succeeded"
    parent_done = transition(db, parent, "succeeded")
    child_running = transition(db, child, "running")
    assert child_running["event_seq"] > parent_done["event_seq"]
    assert child_running["created_at"] >= parent_done["created_at"]
    cmd = command(db, child)
    # bound at submit, released when its run found the dependency unmet, handed off again
    # by the parent's completion
    assert (cmd["run_seq"], cmd["dbos_workflow_id"]) == (2, f"{child}/2")
    kinds = [e["event_type"] for e in events(db, child)]
    assert workflows_handed_off(db, child) == [child, f"{child}/2"]
    assert kinds.count("workflow_released") == 1
    wait_workflows(db, child, {child: "SUCCESS", f"{child}/2": "SUCCESS"})


# ---------------------------------------------------------------------------
# 10. Worker start and stop
# ---------------------------------------------------------------------------


def test_worker_refuses_to_start_listing_every_catalog_problem(rt: Runtime, tmp_path: Path) -> None:
    (tmp_path / "concord_bad_ops.py").write_text(BAD_OPS)
    done = subprocess.run(
        [
            str(CONCORD),
            "worker",
            "--dsn",
            rt.dsn,
            "--executor-id",
            "rt-bad",
            "--module",
            "concord_bad_ops",
        ],
        env={**WorkerProcess(rt.dsn, executor_id="x").env, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "4 problem(s)" in output, output
    for problem in (
        "operation rt.echo requires compensation but none is registered",
        "compensation concord_bad_ops.not_an_inverse declares counter_effects=True but "
        "vendor.refund is not the inverse of an effect of rt.http",
        "operation rt.no_such_type: no such command type in the database",
        "operation rt.slow needs runtime capabilities the runtime lacks: saga_compensation_native",
    ):
        assert problem in output, output
    assert "ready" not in output


# ---------------------------------------------------------------------------
# 11. Secrets
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        {"base_url": "http://127.0.0.1:9", "headers": {"Authorization": "Bearer raw-token-1"}},
        {"base_url": "http://127.0.0.1:9", "api_key": "raw-token-2"},
        {"base_url": "http://127.0.0.1:9", "bearer_token": "raw-token-3"},
    ],
)
def test_connector_config_with_a_raw_secret_is_refused(rt: Runtime, config: dict) -> None:
    spec = {"name": "leaky", "connector_type": "http", "config": config}
    with psycopg.connect(rt.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as caught:
            conn.execute("SELECT concord.register_connector(%s)", (json.dumps(spec),))
        assert caught.value.sqlstate == "CN005"
        assert isinstance(from_psycopg(caught.value), InvalidPayload)
        assert (
            one(conn, "SELECT count(*) FROM concord.connectors WHERE connector_name = 'leaky'") == 0
        )


def test_secret_reference_reaches_the_vendor_but_no_record_or_log(
    rt: Runtime, db: psycopg.Connection
) -> None:
    command_id = submit(db, "rt.secure", {"purpose": "secret test"})
    assert wait_status(db, command_id, TERMINAL) == "succeeded"
    seen = [a for path, a in rt.vendor.authorization if path == "/echo_headers"]
    assert seen == [SECRET], "the env:// reference was resolved and sent"
    # the vendor echoed the credential back: the connector redacted it
    assert command(db, command_id)["result"]["answer"]["seen_authorization"] == "[redacted]"
    assert invocations(db, command_id)[0]["status"] == "succeeded"
    leaks = []
    for schema, table in db.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('concord', 'dbos') AND table_type = 'BASE TABLE'"
    ).fetchall():
        n = one(
            db,
            f'SELECT count(*) FROM "{schema}"."{table}" AS t WHERE t::text LIKE %s',
            f"%{SECRET}%",
        )
        if n:
            leaks.append(f"{schema}.{table}: {n}")
    assert leaks == [], "the secret reached a table of concord or dbos"
    assert SECRET not in rt.full_log()


# last: it leaves the module's worker stopped
def test_sigterm_stops_the_worker_cleanly(rt: Runtime) -> None:
    worker = rt.ensure_worker()
    assert rt.stop_worker() == 0
    assert f"concord worker {worker.executor_id} stopped" in worker.log()
