"""A command that becomes runnable wakes a worker serving its queue at the commit of its
hand-off (issue 16 section 3): the kernel NOTIFYs ``concord_runnable`` with the queue's name
and the worker's queue threads poll at once. Here the queue polls only every 30 s, so a
command that ran within 10 s was woken, not polled."""

from __future__ import annotations

import psycopg

from concord.migrate import migrate
from support.databases import temporary_database
from support.workers import WorkerProcess, register_test_types, submit, wait_status

SLOW_POLL = 30.0
WOKEN_WITHIN = 10.0


def test_a_submitted_command_wakes_a_worker_that_would_poll_in_30_s(server_dsn: str) -> None:
    with temporary_database(server_dsn, "concord_wake") as dsn:
        migrate(dsn)
        register_test_types(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "SELECT concord.register_queue(jsonb_build_object("
                "'name', 'concord_default', 'polling_interval_sec', %s::float8))",
                (SLOW_POLL,),
            )
            with WorkerProcess(dsn, executor_id="wake-worker"):
                for n in range(3):
                    command_id = submit(conn, "rt.echo", {"n": n})
                    wait_status(conn, command_id, "succeeded", timeout=WOKEN_WITHIN)
