"""A run that lands on a worker without its operation goes back to its queue (issue 13).

A command already running (claimed by a worker that has its operation) can be recovered
or adopted by a worker that does not have it: the worker that ran it is killed and
another live worker on the same queue adopts its workflows. Before, that worker failed
the command for good as ``internal_error``. Now the run stays ``PENDING`` and goes back
to its queue until a worker with the operation takes it, and the command finishes there
under the same run. While no live worker serves the type, the run waits where it is
rather than bounce on its queue.
"""

from __future__ import annotations

import json
import time

import psycopg

from concord.migrate import migrate
from support.databases import temporary_database
from support.workers import WorkerProcess, register_test_types, submit, wait_for, wait_status

ADOPT = ("--adopt-after", "4", "--log-level", "INFO")
WITH_OP = ("concord_test_ops", "concord_test_nobody")


def one(conn: psycopg.Connection, query: str, *params):
    row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def test_an_adopted_run_without_its_operation_waits_for_a_worker_that_has_it(
    server_dsn: str,
) -> None:
    with temporary_database(server_dsn, "concord_not_served_here") as dsn:
        migrate(dsn)
        register_test_types(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT concord.register_command_type(%s)", (json.dumps(
                {"command_type": "rt.nobody", "name": "rt.nobody", "async_required": True}),))
            first = WorkerProcess(dsn, executor_id="with-op-1", modules=WITH_OP).start()
            try:
                command = submit(conn, "rt.nobody", {"sleep": 8})
                wait_status(conn, command, "running", timeout=60)
            finally:
                first.kill()  # gone for good, mid-run
            with WorkerProcess(dsn, executor_id="without-op", args=ADOPT) as without:
                def status() -> str:
                    return one(conn, "SELECT status FROM concord.commands WHERE command_id = %s",
                               command)

                wait_for(lambda: status() != "running"
                         or "has no operation for command type rt.nobody" in without.log(),
                         timeout=60, message="the adopter to meet the run it cannot serve")
                assert status() == "running", without.log()
                assert "goes back to its queue" in without.log(), without.log()
                def dispatches() -> int:
                    return one(conn, "SELECT w.recovery_attempts FROM dbos.workflow_status AS w "
                               "JOIN concord.commands AS c ON c.dbos_workflow_id = w.workflow_uuid "
                               "WHERE c.command_id = %s", command)

                # while nobody live serves the type the run waits here, PENDING: it does not
                # bounce on its queue, spending DBOS's dispatch count (dead-letter at 100)
                before = dispatches()
                time.sleep(8)
                assert status() == "running", without.log()
                assert dispatches() == before, (before, dispatches())
                with WorkerProcess(dsn, executor_id="with-op-2", modules=WITH_OP, args=ADOPT):
                    wait_status(conn, command, "succeeded", timeout=90)
            row = conn.execute("SELECT attempts, run_seq, error_class FROM concord.commands "
                               "WHERE command_id = %s", (command,)).fetchone()
            assert row == (1, 1, None), row
            assert one(conn, "SELECT count(*) FROM concord.domain_events WHERE command_id = %s "
                       "AND to_status = 'failed'", command) == 0
