"""A worker starts only when it can do its work, and says why when it cannot; retries
keep the effect's key:

1. A second worker under a live worker's executor id does not run that worker's
   commands again ("two workers sharing the queues: each command runs once").
2. A worker that is not DBOS's latest application version (a rollback) says it would
   dequeue nothing instead of "ready".
3. ``concord worker`` on a database ``concord migrate`` never prepared says to run
   migrate.
4. ``RetryPolicy`` takes spec 33's own backoff schedule, (30, 120, 600).
5. A command retried after a transient failure calls the peer under the effect's own
   idempotency key, so a peer that executed the first call (its answer lost) does not
   execute it twice (spec 33).
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from concord.migrate import migrate
from concord.runtime import RetryPolicy
from support.databases import temporary_database
from support.workers import (
    CONCORD,
    Vendor,
    WorkerProcess,
    register_test_types,
    status,
    submit,
    wait_status,
)

TERMINAL = {"succeeded", "failed", "cancelled"}


@pytest.fixture
def rt_dsn(server_dsn: str) -> Iterator[str]:
    with temporary_database(server_dsn, "concord_review3") as dsn:
        migrate(dsn)
        register_test_types(dsn)
        yield dsn


def _worker(dsn: str, executor_id: str, vendor: Vendor, version: str = "concord-test"):
    w = WorkerProcess(dsn, executor_id=executor_id, vendor_url=vendor.url)
    # WorkerProcess passes --application-version concord-test; a later flag wins
    w.args = ("--application-version", version)
    return w


def _stop(*workers: WorkerProcess) -> None:
    for w in workers:
        if w.proc is not None and w.proc.poll() is None:
            try:
                w.terminate(20)
            except subprocess.TimeoutExpired:
                w.kill()


# ---------------------------------------------------------------------------
# 1. Same executor id twice
# ---------------------------------------------------------------------------


def test_a_second_worker_under_a_live_workers_executor_id_does_not_run_its_commands_again(
    rt_dsn: str,
) -> None:
    v = Vendor()
    v.delay["/effect/0"] = 4.0  # the first worker is mid-call when the second one starts
    a = _worker(rt_dsn, "same-host", v)
    b = _worker(rt_dsn, "same-host", v)
    try:
        with psycopg.connect(rt_dsn, autocommit=True) as conn:
            a.start()
            command_id = submit(conn, "rt.http", {"effects": 1})
            deadline = time.time() + 10
            while status(conn, command_id) != "running" and time.time() < deadline:
                time.sleep(0.02)
            time.sleep(0.5)
            try:
                b.start()
            except RuntimeError:
                # Refusing to start is a fine answer, if it says why.
                assert b.proc is not None and b.proc.wait(10) == 2, b.log()
                assert "same-host" in b.log() and "executor" in b.log().lower(), b.log()
            assert wait_status(conn, command_id, TERMINAL, timeout=40) == "succeeded"
            time.sleep(1.0)
            invocations = conn.execute(
                "SELECT count(*) FROM concord.connector_invocations WHERE command_id = %s",
                (command_id,),
            ).fetchone()[0]
            key = f"{command_id}:1"
            assert v.by_key[key] == 1, (
                f"the vendor got {key} {v.by_key[key]} times: a second worker with the same "
                "executor id re-ran the in-flight workflow"
            )
            assert invocations == 1
    finally:
        _stop(a, b)
        v.close()


# ---------------------------------------------------------------------------
# 2. A worker that is not DBOS's latest application version
# ---------------------------------------------------------------------------


def test_a_worker_that_would_dequeue_nothing_says_so_instead_of_ready(rt_dsn: str) -> None:
    v = Vendor()
    try:
        _worker(rt_dsn, "w-old", v, "app-v1").start().terminate(20)
        _worker(rt_dsn, "w-new", v, "app-v2").start().terminate(20)
        old = _worker(rt_dsn, "w-old", v, "app-v1")  # a rollback
        try:
            old.start()
        except RuntimeError:
            assert old.proc is not None and old.proc.wait(10) == 2, old.log()
            assert "app-v1" in old.log() and "app-v2" in old.log(), old.log()
            return
        try:
            with psycopg.connect(rt_dsn, autocommit=True) as conn:
                command_id = submit(conn, "rt.echo", {})
                # a worker that says "ready" runs what is handed off to it
                assert wait_status(conn, command_id, TERMINAL, timeout=15) == "succeeded"
        finally:
            _stop(old)
    finally:
        v.close()


# ---------------------------------------------------------------------------
# 3. An unprepared database
# ---------------------------------------------------------------------------


def test_worker_on_a_database_without_concord_says_to_run_migrate(server_dsn: str) -> None:
    with temporary_database(server_dsn, "concord_review3_empty") as dsn:
        out = subprocess.run(
            [str(CONCORD), "worker", "--dsn", dsn, "--executor-id", "r3-empty"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert "concord migrate" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


# ---------------------------------------------------------------------------
# 4. Spec 33's own backoff schedule
# ---------------------------------------------------------------------------


def test_retry_policy_takes_the_spec_33_backoff_schedule() -> None:
    policy = RetryPolicy(
        retryable={"transient_connector_error"},
        max_attempts=4,
        backoff_seconds=(30, 120, 600),
    )
    assert [policy.delay(n) for n in (1, 2, 3)] == [30.0, 120.0, 600.0]


# ---------------------------------------------------------------------------
# 5. A retried command keeps the effect's idempotency key
# ---------------------------------------------------------------------------


class LostAnswerVendor(Vendor):
    """On /flaky, while ``lose`` is set: executes the first request of a key, then answers
    503 to every request (the answer is lost, the effect happened)."""

    def __init__(self) -> None:
        self.lose = True
        super().__init__()

    def _handle(self, path: str, key: str | None, body: Any, headers: Any):
        if path == "/flaky" and self.lose:
            with self.lock:
                self.requests.append({"path": path, "key": key, "body": body, "at": time.time(),
                                      "trace": None})
                if key is not None:
                    self.by_key[key] += 1
                    if key not in self.executed:
                        self.executions_by_path[path] += 1
                        self.executed[key] = {"ok": True, "id": uuid.uuid4().hex, "key": key}
            return 503, {"error": "gateway lost the answer"}, {}
        return super()._handle(path, key, body, headers)


def test_a_command_retried_after_a_transient_failure_reuses_the_effects_key(
    rt_dsn: str,
) -> None:
    v = LostAnswerVendor()
    w = _worker(rt_dsn, "r3-retry", v)
    try:
        w.start()
        with psycopg.connect(rt_dsn, autocommit=True) as conn:
            command_id = submit(conn, "rt.flaky", {})
            assert wait_status(conn, command_id, TERMINAL, timeout=30) == "failed"
            row = conn.execute(
                "SELECT error_class FROM concord.commands WHERE command_id = %s", (command_id,)
            ).fetchone()
            assert row[0] == "transient_connector_error"
            assert v.executions_by_path["/flaky"] == 1  # the peer did it; the answer was lost
            v.lose = False
            conn.execute(
                "SELECT concord.transition_command(%s, 'queued', 'ops', 'retry after outage')",
                (command_id,),
            )
            assert wait_status(conn, command_id, TERMINAL, timeout=30) == "succeeded"
            keys = {r["key"] for r in v.requests if r["path"] == "/flaky"}
            assert keys == {f"{command_id}:1"}, f"the peer saw the effect under {sorted(keys)}"
            assert v.executions_by_path["/flaky"] == 1, "the retried command booked twice"
    finally:
        _stop(w)
        v.close()
