"""A worker you can watch (spec 48) stays readable through a database outage (issue 13
§1): DBOS's queue threads warn twice per poll while the database is away (every 50 ms on
Concord's queues: thousands of lines in a few seconds, burying everything else). The worker
says each such line once per ``REPEAT_WINDOW_SECONDS`` (the next one says how many were
held back), its own command lines always pass, and it works again once the database is
back. A private PostgreSQL server is stopped (immediate mode), never the shared one."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from concord.migrate import migrate
from support.private_server import PrivateServer
from support.workers import (
    WorkerProcess,
    register_test_types,
    stop_workers,
    submit,
    wait_for,
    wait_status,
)

OUTAGE_SECONDS = 4.0


@pytest.fixture
def private_server() -> Iterator[PrivateServer]:
    server = PrivateServer()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


def test_a_database_outage_does_not_flood_the_log(private_server: PrivateServer) -> None:
    migrate(private_server.dsn)
    register_test_types(private_server.dsn)
    worker = WorkerProcess(private_server.dsn, executor_id="outage-log").start()
    try:
        time.sleep(1.0)  # the queue threads poll
        before = len(worker.output)
        private_server.stop("immediate")
        time.sleep(OUTAGE_SECONDS)
        during = worker.output[before:]
        said = [line for line in during if " WARNING dbos " in line]
        assert said, "the outage is said:\n" + "".join(during[-20:])
        # ~40 lines a second per queue without the filter; each distinct line once with it
        assert len(said) <= 30, f"{len(said)} DBOS warnings in {OUTAGE_SECONDS} s:\n" + "".join(
            said[:40])
        assert len(during) <= 400, f"{len(during)} lines in {OUTAGE_SECONDS} s"

        private_server.start()
        with psycopg.connect(private_server.dsn, autocommit=True) as conn:
            command = submit(conn, "rt.echo", {"after": "the outage"})
            assert wait_status(conn, command, {"succeeded", "failed"}, timeout=60) == "succeeded"
        # the finish line follows the recorded finish by a moment
        wait_for(lambda: any(f"command finished id={command}" in line for line in worker.output),
                 timeout=30, message=f"the finish line of {command}")
    finally:
        stop_workers(worker)
