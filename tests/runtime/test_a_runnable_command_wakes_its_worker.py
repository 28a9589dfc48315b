"""A command that becomes runnable wakes a worker serving its queue at the commit of its
hand-off (issue 16 section 3): the kernel NOTIFYs ``concord_runnable`` with the queue's name
and the worker's waker wakes that queue's DBOS thread. Here the queue polls only every 30 s
(DBOS's first poll comes 30 s after its thread starts), so work done within a few seconds
was woken, not polled. Latency figures belong to ``bench/runtime_bench.py``; these tests
assert only that nobody waits for the poll."""

from __future__ import annotations

import json

import psycopg

from concord.migrate import migrate
from concord.runtime.waker import application_name
from support.databases import temporary_database
from support.workers import WorkerProcess, register_test_types, submit, wait_for, wait_status

SLOW_POLL = 30.0
WOKEN_WITHIN = 8.0  # far below SLOW_POLL, far above a loaded machine's wake


def _slow_queue(conn: psycopg.Connection, **spec: object) -> None:
    conn.execute(
        "SELECT concord.register_queue(%s::jsonb)",
        (json.dumps({"name": "concord_default", "polling_interval_sec": SLOW_POLL, **spec}),),
    )


def _waker_pid(conn: psycopg.Connection, executor_id: str) -> int | None:
    """The waker's backend once its LISTEN has run (an idle session whose last statement
    was the LISTEN)."""
    row = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND state = 'idle' "
        "AND query LIKE 'LISTEN%%'",
        (application_name(executor_id),),
    ).fetchone()
    return row and row[0]


def test_a_submitted_command_wakes_a_worker_that_would_poll_in_30_s(server_dsn: str) -> None:
    with temporary_database(server_dsn, "concord_wake") as dsn:
        migrate(dsn)
        register_test_types(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            _slow_queue(conn)
            with WorkerProcess(dsn, executor_id="wake-worker"):
                wait_for(lambda: _waker_pid(conn, "wake-worker"), message="the waker to listen")
                for n in range(3):
                    command_id = submit(conn, "rt.echo", {"n": n})
                    wait_status(conn, command_id, "succeeded", timeout=WOKEN_WITHIN)
                # a batch in one transaction: one notification, every command woken
                rows = conn.execute(
                    "SELECT r.command_id FROM concord.submit_commands(("
                    "SELECT jsonb_agg(jsonb_build_object('command_type', 'rt.echo', "
                    "'payload', jsonb_build_object('n', g))) FROM generate_series(1, 20) AS g"
                    "), requested_by => 'alice') AS r"
                ).fetchall()
                assert len(rows) == 20
                for (command_id,) in rows:
                    wait_status(conn, str(command_id), "succeeded", timeout=WOKEN_WITHIN)


def test_a_full_queue_is_woken_when_a_slot_frees(server_dsn: str) -> None:
    """One workflow at a time: the second command waits for the first to end, and its end
    (not the 30 s poll) lets the worker claim it."""
    with temporary_database(server_dsn, "concord_wake_full") as dsn:
        migrate(dsn)
        register_test_types(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            _slow_queue(conn, worker_concurrency=1)
            with WorkerProcess(dsn, executor_id="wake-full"):
                wait_for(lambda: _waker_pid(conn, "wake-full"), message="the waker to listen")
                with conn.transaction():
                    ids = [submit(conn, "rt.echo", {"n": n}) for n in range(4)]
                for command_id in ids:
                    wait_status(conn, command_id, "succeeded", timeout=WOKEN_WITHIN)


def test_a_waker_whose_connection_was_cut_listens_again(server_dsn: str) -> None:
    with temporary_database(server_dsn, "concord_wake_cut") as dsn:
        migrate(dsn)
        register_test_types(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            _slow_queue(conn)
            with WorkerProcess(dsn, executor_id="wake-cut") as worker:
                first = wait_for(lambda: _waker_pid(conn, "wake-cut"), message="the waker")
                conn.execute("SELECT pg_terminate_backend(%s)", (first,))
                again = wait_for(
                    lambda: (pid := _waker_pid(conn, "wake-cut")) not in (None, first) and pid,
                    message="the waker to listen again",
                )
                assert again != first
                command_id = submit(conn, "rt.echo", {"n": 1})
                wait_status(conn, command_id, "succeeded", timeout=WOKEN_WITHIN)
                assert "not woken on commit" in worker.log()
