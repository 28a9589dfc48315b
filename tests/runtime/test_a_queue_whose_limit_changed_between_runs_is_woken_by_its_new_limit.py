"""The wake on commit (issue 16 section 3) judges a queue by the limits the worker registers
at its start, not by those DBOS's queue row held from the previous run: DBOS's manager starts
a queue's thread at launch, from the row as it was, before the worker registers the queue's
current configuration. A queue that allowed one workflow at a time and now allows several
must not drop the notification of a second command while the first still runs (it would
wait for the first to end, or for the queue's 30 s poll)."""

from __future__ import annotations

import json

import psycopg

from concord.migrate import migrate
from concord.runtime.waker import application_name
from support.databases import temporary_database
from support.workers import WorkerProcess, register_test_types, submit, wait_for, wait_status

SLOW_POLL = 30.0
WOKEN_WITHIN = 8.0  # far below SLOW_POLL and the slow command's 20 s


def _queue(conn: psycopg.Connection, **spec: object) -> None:
    conn.execute(
        "SELECT concord.register_queue(%s::jsonb)",
        (json.dumps({"name": "concord_default", "polling_interval_sec": SLOW_POLL, **spec}),),
    )


def _listening(conn: psycopg.Connection, executor_id: str) -> bool:
    return bool(
        conn.execute(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = %s AND state = 'idle' "
            "AND query LIKE 'LISTEN%%'",
            (application_name(executor_id),),
        ).fetchone()
    )


def test_a_queue_widened_between_runs_wakes_a_second_command_while_the_first_runs(
    server_dsn: str,
) -> None:
    with temporary_database(server_dsn, "concord_wake_widened") as dsn:
        migrate(dsn)
        register_test_types(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            _queue(conn, worker_concurrency=1)
            with WorkerProcess(dsn, executor_id="wake-widened"):
                wait_for(lambda: _listening(conn, "wake-widened"), message="the waker")
            _queue(conn, worker_concurrency=4)
            with WorkerProcess(dsn, executor_id="wake-widened"):
                wait_for(lambda: _listening(conn, "wake-widened"), message="the waker")
                slow = submit(conn, "rt.slow", {"steps": 100, "seconds": 0.2})
                wait_status(conn, slow, "running", timeout=WOKEN_WITHIN)
                quick = submit(conn, "rt.echo", {"n": 1})
                wait_status(conn, quick, "succeeded", timeout=WOKEN_WITHIN)
                assert (
                    conn.execute(
                        "SELECT status FROM concord.commands WHERE command_id = %s", (slow,)
                    ).fetchone()[0]
                    == "running"
                )
