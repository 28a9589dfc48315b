"""A statement of the runtime's own bookkeeping that the database cancels does not strand
its command (issue 13 §1: nothing is ever stuck): a DBA's ``pg_cancel_backend`` (57014
query_canceled) or a ``lock_timeout`` (55P03 lock_not_available) while another session holds
the command's row is retried like a lost connection, and the command finishes by itself once
the row is free. Without the retry the step's error ends the DBOS workflow ``ERROR`` and the
command stays ``running`` with nothing to move it again.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from concord.migrate import migrate
from support.databases import temporary_database
from support.workers import WorkerProcess, submit, wait_for, wait_status


def test_a_cancelled_or_lock_timed_out_statement_is_retried(server_dsn: str) -> None:
    flags = Path(tempfile.mkdtemp(prefix="concord-canceled-"))
    with temporary_database(server_dsn, "concord_canceled") as dsn:
        migrate(dsn)
        with psycopg.connect(dsn, autocommit=True) as setup:
            setup.execute("SELECT concord.register_command_type(%s)", (json.dumps(
                {"command_type": "rt.waits", "name": "waits", "async_required": True}),))
            name = setup.execute("SELECT current_database()").fetchone()[0]
            # the worker's sessions give up on a lock after 1 s (a DBA's setting)
            setup.execute(sql.SQL("ALTER DATABASE {} SET lock_timeout = '1s'").format(
                sql.Identifier(name)))
        worker = WorkerProcess(dsn, executor_id="canceled-worker",
                               modules=("concord_test_waits",),
                               extra_env={"CONCORD_TEST_FLAG_DIR": str(flags)})
        with worker, psycopg.connect(dsn, autocommit=True) as conn, \
                psycopg.connect(dsn) as holder:
            command = submit(conn, "rt.waits", {"flag": "go"})
            wait_status(conn, command, "running", timeout=60)
            # another session holds the command's row while the operation finishes
            holder.execute("SELECT 1 FROM concord.commands WHERE command_id = %s FOR UPDATE",
                           (command,))
            (flags / "go").touch()

            def waiting_backend() -> int | None:
                row = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query LIKE '%%runtime_finish%%' "
                    "AND pid <> pg_backend_pid()").fetchone()
                return row[0] if row else None

            pid = wait_for(waiting_backend, timeout=30,
                           message="the worker's runtime_finish to wait for the row")
            assert conn.execute("SELECT pg_cancel_backend(%s)", (pid,)).fetchone()[0]
            time.sleep(2.5)  # lock_timeout fires at least once more meanwhile
            assert conn.execute("SELECT status FROM concord.commands WHERE command_id = %s",
                                (command,)).fetchone()[0] == "running"
            holder.commit()

            got = wait_status(conn, command, {"succeeded", "failed"}, timeout=60)
            dbos = conn.execute("SELECT status FROM dbos.workflow_status WHERE workflow_uuid = "
                                "(SELECT dbos_workflow_id FROM concord.commands "
                                "WHERE command_id = %s)", (command,)).fetchone()[0]
            assert (got, dbos) != ("running", "ERROR")
            assert got == "succeeded", f"{got}\n{worker.log()}"
            wait_for(lambda: conn.execute(
                "SELECT status FROM dbos.workflow_status WHERE workflow_uuid = "
                "(SELECT dbos_workflow_id FROM concord.commands WHERE command_id = %s)",
                (command,)).fetchone()[0] == "SUCCESS", timeout=30,
                message="the command's workflow to end SUCCESS")
