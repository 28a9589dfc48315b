"""A worker that disappears for good does not strand its workflows (issue 13): another
live worker adopts them once the gone worker's executor lock is free and it has been
silent ``--adopt-after`` seconds, and every effect still executes once at the vendor. A
worker that is alive but silent (stopped with SIGSTOP) keeps its lock, and its workflows
are never adopted."""

from __future__ import annotations

import signal
import time

import psycopg

from concord.migrate import migrate
from support.databases import temporary_database
from support.workers import Vendor, WorkerProcess, register_test_types, submit, wait_for

ADOPT_AFTER = "4"  # seconds of silence; heartbeats come every second then
ARGS = ("--adopt-after", ADOPT_AFTER, "--log-level", "INFO")


def prepare(server_dsn: str, prefix: str):
    db = temporary_database(server_dsn, prefix)
    dsn = db.__enter__()
    migrate(dsn)
    register_test_types(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE concord.runtime_queues SET worker_concurrency = 4")
    return db, dsn


def pending_on(conn: psycopg.Connection, executor_id: str, commands: list[str]) -> list[str]:
    """The executor's PENDING workflows among these commands' whose command runs."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT w.workflow_uuid FROM dbos.workflow_status AS w "
            "JOIN concord.commands AS c ON c.dbos_workflow_id = w.workflow_uuid "
            "WHERE w.executor_id = %s AND w.status = 'PENDING' AND c.status = 'running' "
            "AND w.workflow_uuid = ANY(%s) ORDER BY 1",
            (executor_id, commands),
        )
    ]


def statuses(conn: psycopg.Connection, commands: list[str]) -> dict[str, int]:
    return dict(
        conn.execute(
            "SELECT status, count(*) FROM concord.commands WHERE command_id = ANY(%s::uuid[]) "
            "GROUP BY status",
            (commands,),
        ).fetchall()
    )


def executors_of(conn: psycopg.Connection, workflows: list[str]) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "SELECT executor_id FROM dbos.workflow_status WHERE workflow_uuid = ANY(%s)",
            (workflows,),
        )
    }


def test_a_killed_worker_that_never_returns_is_adopted(server_dsn: str) -> None:
    db, dsn = prepare(server_dsn, "concord_adopt")
    v = Vendor()
    v.server.socket.listen(256)
    v.delay["/effect/1"] = 0.3
    try:
        with (
            psycopg.connect(dsn, autocommit=True) as conn,
            WorkerProcess(
                dsn,
                executor_id="gone-a",
                vendor_url=v.url,
                args=ARGS,
                extra_env={"PGAPPNAME": "gone-a"},
            ) as a,
            WorkerProcess(dsn, executor_id="alive-b", vendor_url=v.url, args=ARGS) as b,
        ):
            commands = [
                submit(conn, "rt.http", {"effects": 3, "tag": f"adopt-{i}"}) for i in range(24)
            ]
            wait_for(
                lambda: len(pending_on(conn, "gone-a", commands)) >= 2,
                timeout=60,
                message="worker A to run some commands",
            )
            a.kill()
            killed_at = time.monotonic()
            wait_for(
                lambda: conn.execute(
                    "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'gone-a'"
                ).fetchone()[0],
                timeout=30,
                message="the killed worker's sessions to end",
            )
            stranded = [
                r[0]
                for r in conn.execute(
                    "SELECT workflow_uuid FROM dbos.workflow_status "
                    "WHERE executor_id = 'gone-a' AND status = 'PENDING'"
                )
            ]
            assert stranded, "worker A held no pending workflow when it was killed"
            wait_for(
                lambda: statuses(conn, commands) == {"succeeded": len(commands)},
                timeout=90,
                interval=0.2,
                message=f"every command to succeed without A (now {statuses(conn, commands)})\n"
                f"{b.log()}",
            )
            took = time.monotonic() - killed_at
            assert "adopted" in b.log() and "gone worker gone-a" in b.log(), b.log()
            assert executors_of(conn, stranded) == {"alive-b"}
        # every effect executed once at the vendor, under its own key
        with v.lock:
            executions = sum(v.executions_by_path.values())
            executed = len(v.executed)
        assert executions == executed == len(commands) * 3, (executions, executed)
        print(
            f"\nA killed holding {len(stranded)} pending workflows; B adopted them and all "
            f"{len(commands)} commands succeeded {took:.1f} s after the kill "
            f"(--adopt-after {ADOPT_AFTER})"
        )
    finally:
        v.close()
        db.__exit__(None, None, None)


def test_a_living_but_silent_worker_is_never_adopted(server_dsn: str) -> None:
    db, dsn = prepare(server_dsn, "concord_no_adopt")
    try:
        with (
            psycopg.connect(dsn, autocommit=True) as conn,
            WorkerProcess(dsn, executor_id="slow-a", args=ARGS) as a,
            WorkerProcess(dsn, executor_id="watch-b", args=ARGS) as b,
        ):
            commands = [submit(conn, "rt.slow", {"steps": 10, "seconds": 0.3}) for _ in range(8)]
            wait_for(
                lambda: len(pending_on(conn, "slow-a", commands)) >= 2,
                timeout=60,
                message="worker A to run some commands",
            )
            assert a.proc is not None
            a.proc.send_signal(signal.SIGSTOP)
            try:
                time.sleep(1)  # a statement A sent just before the stop still commits
                held = pending_on(conn, "slow-a", commands)
                # silent three times as long as B waits before it adopts
                silent_until = time.monotonic() + 3 * float(ADOPT_AFTER) + 2
                while time.monotonic() < silent_until:
                    assert pending_on(conn, "slow-a", commands) == held, (
                        "a living worker's workflows were taken over",
                        b.log(),
                    )
                    time.sleep(0.2)
                silent = conn.execute(
                    "SELECT now() - last_seen_at > make_interval(secs => %s) "
                    "FROM concord.workers WHERE executor_id = 'slow-a'",
                    (float(ADOPT_AFTER),),
                ).fetchone()[0]
                assert silent, "worker A kept heartbeating while stopped"
                live = {r[0] for r in conn.execute("SELECT executor_id FROM concord.live_workers")}
                assert live == {"slow-a", "watch-b"}, live
            finally:
                a.proc.send_signal(signal.SIGCONT)
            wait_for(
                lambda: statuses(conn, commands) == {"succeeded": len(commands)},
                timeout=90,
                interval=0.2,
                message=f"every command to succeed (now {statuses(conn, commands)})",
            )
            assert executors_of(conn, held) == {"slow-a"}
            assert "adopted" not in b.log(), b.log()
    finally:
        db.__exit__(None, None, None)
