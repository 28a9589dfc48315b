"""A database outage under a live worker strands nothing (issue 13 §1): PostgreSQL stopped
in immediate mode for two seconds while thirty commands of three effects each are in
flight, then started again. Without restarting the worker, every command finishes by
itself in bounded time, each effect is executed exactly once by the vendor, and no effect
the vendor executed is recorded as failed.

The server is a private one (``support.private_server``): the shared test cluster is never
stopped. Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from test_crashes_lose_and_duplicate_nothing import (
    check_exactly_once,
    submit_http,
    unfinished,
    vendor,
)

from concord.migrate import migrate
from support.private_server import PrivateServer
from support.workers import Vendor, WorkerProcess, register_test_types, wait_for

COMMANDS = 30
EFFECTS = 3
OUTAGE_SECONDS = 2.0
# After the server is back: DBOS and the runtime back off up to a few seconds between
# attempts; a minute is far more than a recovery needs and far less than "never".
FINISH_TIMEOUT = 90.0


@contextmanager
def private_server() -> Iterator[PrivateServer]:
    server = PrivateServer()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


def states(conn: psycopg.Connection, commands: list[str]) -> dict[str, int]:
    return dict(
        conn.execute(
            "SELECT status, count(*) FROM concord.commands WHERE command_id = ANY(%s::uuid[]) "
            "GROUP BY status",
            (commands,),
        ).fetchall()
    )


def executed(v: Vendor) -> int:
    with v.lock:
        return sum(v.executions_by_path.values())


def workflow_states(conn: psycopg.Connection, commands: list[str]) -> dict[str, int]:
    return dict(
        conn.execute(
            "SELECT status, count(*) FROM dbos.workflow_status WHERE workflow_uuid = ANY(%s) "
            "GROUP BY status",
            (commands,),
        ).fetchall()
    )


def test_a_database_outage_strands_no_command_and_duplicates_no_effect() -> None:
    with private_server() as server, vendor() as v:
        dsn = server.dsn
        migrate(dsn)
        register_test_types(dsn)
        v.delay["/effect/1"] = 0.4  # commands are mid-way when the database goes
        worker = WorkerProcess(dsn, executor_id="outage-worker", vendor_url=v.url)
        worker.start(timeout=90)
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                commands = submit_http(conn, COMMANDS, EFFECTS, "outage")
                # cut while commands run and effects are done, under way and still to come
                wait_for(
                    lambda: states(conn, commands).get("running", 0) >= COMMANDS // 2
                    and executed(v) >= COMMANDS // 2,
                    timeout=60,
                    message="half the commands to be running and effects to be executed",
                )
                before = states(conn, commands)
            executed_before = executed(v)
            server.stop("immediate")
            time.sleep(OUTAGE_SECONDS)
            server.start()
            back = time.perf_counter()
            with psycopg.connect(dsn, autocommit=True) as conn:
                try:
                    wait_for(
                        lambda: unfinished(conn, commands) == 0,
                        timeout=FINISH_TIMEOUT,
                        interval=0.2,
                        message=f"{COMMANDS} commands to finish after the outage",
                    )
                except AssertionError as exc:
                    raise AssertionError(
                        f"{exc}: commands {states(conn, commands)}, DBOS workflows "
                        f"{workflow_states(conn, commands)}\n--- worker log ---\n{worker.log()}"
                    ) from None
                finished_after = time.perf_counter() - back
                assert worker.proc is not None and worker.proc.poll() is None, (
                    "the worker died in the outage:\n" + worker.log()
                )
                figures = check_exactly_once(conn, v, commands, effects_per_command=EFFECTS)
                unrecorded = conn.execute(
                    "SELECT count(*) FROM concord.domain_effects AS e "
                    "WHERE e.command_id = ANY(%s::uuid[]) AND NOT EXISTS (SELECT 1 FROM "
                    "concord.connector_invocations AS i WHERE i.domain_effect_id = "
                    "e.domain_effect_id AND i.status = 'succeeded')",
                    (commands,),
                ).fetchone()[0]
                assert unrecorded == 0, f"{unrecorded} effects have no succeeded connector call"
        finally:
            worker.kill()
    resumed = sum(1 for line in worker.output if "resumed stranded workflow" in line)
    print(
        f"\ndatabase outage: {COMMANDS} commands x {EFFECTS} effects; at the stop "
        f"{before} and {executed_before} effects executed; server down {OUTAGE_SECONDS:.0f} s "
        f"(immediate mode); all finished {finished_after:.1f} s after it was back, no restart"
    )
    print(
        f"  effects {figures['effects']}, vendor executions {figures['vendor_executions']}, "
        f"duplicate deliveries absorbed {figures['duplicate_deliveries_absorbed']}, "
        f"connector invocations {figures['connector_invocations']}, DBOS re-dispatches "
        f"{figures['redispatches']}, of which resumed by the live worker's recovery loop "
        f"{resumed}"
    )
