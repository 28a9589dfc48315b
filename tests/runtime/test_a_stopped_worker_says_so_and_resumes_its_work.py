"""A worker you can watch (spec 48): ``concord worker`` logs one line per command start
and finish (id, type, status, duration, attempt) on ``concord.worker`` at INFO, as text or
as one JSON object per line; stopped by SIGTERM or Ctrl-C (SIGINT) with work in flight it
says so in a line, exits within seconds without a traceback, and a worker started again
with its executor id finishes that work.
"""

from __future__ import annotations

import json
import re
import signal
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from concord.migrate import migrate
from support.databases import temporary_database
from support.workers import (
    Vendor,
    WorkerProcess,
    register_test_types,
    stop_workers,
    submit,
    wait_for,
    wait_status,
)

MODULES = ("concord_test_ops", "concord_test_dbos_tools")
EXIT_SECONDS = 8.0


@pytest.fixture(scope="module")
def dsn(server_dsn: str) -> Iterator[str]:
    with temporary_database(server_dsn, "concord_stop") as d:
        migrate(d)
        register_test_types(d)
        with psycopg.connect(d, autocommit=True) as conn:
            for t in ("dt.steps", "dt.parked"):
                conn.execute("SELECT concord.register_command_type(%s::jsonb)",
                             (json.dumps({"command_type": t, "async_required": True}),))
            conn.execute("SELECT concord.register_queue('{\"name\": \"dt_parked\"}')")
        yield d


@pytest.fixture(scope="module")
def vendor() -> Iterator[Vendor]:
    v = Vendor()
    yield v
    v.close()


def statuses(conn: psycopg.Connection, ids: list[str]) -> list[str]:
    return [conn.execute("SELECT status FROM concord.commands WHERE command_id = %s",
                         (c,)).fetchone()[0] for c in ids]


def stop(worker: WorkerProcess, sig: int) -> tuple[float, list[str]]:
    """Send ``sig``; returns the seconds to exit and the lines printed after it."""
    assert worker.proc is not None
    seen = len(worker.output)
    started = time.monotonic()
    worker.proc.send_signal(sig)
    code = worker.proc.wait(60)
    elapsed = time.monotonic() - started
    time.sleep(0.3)  # the pump reads the last lines
    assert code == 0, worker.log()
    return elapsed, worker.output[seen:]


def finish_lines(worker: WorkerProcess, ids: list[str]) -> None:
    """Wait for the worker's finish line of each command (a line follows the recorded
    finish by a moment, and a count of lines could include another command's)."""
    for c in ids:
        wait_for(lambda c=c: any(f"command finished id={c}" in line for line in worker.output),
                 30, message=f"the finish line of {c}")


def in_flight(conn: psycopg.Connection, vendor: Vendor, n: int) -> list[str]:
    ids = [submit(conn, "dt.steps", {"n": 15, "sleep": 0.3}) for _ in range(n)]
    wait_for(lambda: statuses(conn, ids) == ["running"] * n, 40, message="the commands to run")
    wait_for(lambda: all(any(c in r["path"] for r in list(vendor.requests)) for c in ids), 40,
             message="a step of each command")
    return ids


def test_a_stopped_worker_exits_at_once_and_a_restart_finishes_its_work(
    dsn: str, vendor: Vendor
) -> None:
    executor = f"stop-{uuid.uuid4().hex[:6]}"
    first = WorkerProcess(dsn, executor_id=executor, vendor_url=vendor.url, modules=MODULES,
                          args=("--log-format", "json")).start()
    second = third = None
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            echo = submit(conn, "rt.echo", {"hello": 1})
            assert wait_status(conn, echo, "succeeded") == "succeeded"
            wait_for(lambda: any('"command_finished"' in line for line in first.output),
                     message="the finish line")
            # JSON: one object per line, every line
            lines = [json.loads(line) for line in first.output if line.startswith("{")]
            mine = [doc for doc in lines if doc.get("command_id") == echo]
            assert [d["event"] for d in mine] == ["command_started", "command_finished"], mine
            finished = mine[1]
            assert finished["logger"] == "concord.worker" and finished["level"] == "INFO"
            assert (finished["command_type"], finished["status"], finished["attempt"]) == (
                "rt.echo", "succeeded", 1)
            assert isinstance(finished["duration_ms"], (int, float))
            assert finished["duration_ms"] >= 0

            ids = in_flight(conn, vendor, 3)
            elapsed, after = stop(first, signal.SIGTERM)
            assert elapsed < EXIT_SECONDS, f"SIGTERM took {elapsed:.1f} s"
            assert not any("Traceback" in line for line in first.output), first.log()
            assert len(after) <= 4, "".join(after)
            said = [json.loads(line)["message"] for line in after if line.startswith("{")]
            assert any("stopping: 3 command(s) in flight will resume on restart" in m
                       for m in said), after
            assert statuses(conn, ids) == ["running"] * 3

            # the same executor id again (text lines): DBOS recovers the three, they finish
            second = WorkerProcess(dsn, executor_id=executor, vendor_url=vendor.url,
                                   modules=MODULES).start()
            for c in ids:
                assert wait_status(conn, c, {"succeeded", "failed"}, timeout=60) == "succeeded"
            finish_lines(second, ids)
            for c in ids:
                assert any(re.search(
                    rf"INFO concord\.worker command finished id={c} type=dt\.steps "
                    rf"status=succeeded duration_ms=[0-9.]+ attempt=1", line)
                    for line in second.output), second.log()

            # Ctrl-C with work in flight: the same
            ids = in_flight(conn, vendor, 2)
            elapsed, after = stop(second, signal.SIGINT)
            assert elapsed < EXIT_SECONDS, f"SIGINT took {elapsed:.1f} s"
            assert not any("Traceback" in line for line in second.output), second.log()
            assert len(after) <= 4, "".join(after)
            assert any("stopping: 2 command(s) in flight will resume on restart" in line
                       for line in after), after
            third = WorkerProcess(dsn, executor_id=executor, vendor_url=vendor.url,
                                  modules=MODULES).start()
            for c in ids:
                assert wait_status(conn, c, {"succeeded", "failed"}, timeout=60) == "succeeded"
            finish_lines(third, ids)
            # idle: a clean stop, as quick
            elapsed, after = stop(third, signal.SIGTERM)
            assert elapsed < EXIT_SECONDS and not any("Traceback" in x for x in third.output)
            assert not any("in flight" in line for line in after), after
    finally:
        stop_workers(*(w for w in (first, second, third) if w is not None))
