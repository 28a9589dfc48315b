"""A DBOS fork that takes the id of a command's next run strands nothing (issue 13).

Concord names a command's runs ``<command id>`` then ``<command id>/<run>`` (documented),
and DBOS ignores a second enqueue of an id. An operator who runs
``dbos workflow fork ... --forked-workflow-id <command id>/2`` before Concord binds that
run leaves the command queued under a workflow that has already ended. The reconciler
hands such a command off again under a new run, and the worker that has its operation
runs it, once.
"""

from __future__ import annotations

import json
import subprocess

import psycopg

from concord.migrate import migrate
from concord.runtime.schema import sqlalchemy_url
from support.audit import workflows_handed_off
from support.databases import temporary_database
from support.workers import (
    ROOT,
    WorkerProcess,
    register_test_types,
    submit,
    wait_for,
    wait_status,
)

DBOS_CLI = ROOT / ".venv" / "bin" / "dbos"


def one(conn: psycopg.Connection, query: str, *params):
    row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def test_a_command_whose_next_run_id_a_fork_took_runs_under_another(server_dsn: str) -> None:
    with temporary_database(server_dsn, "concord_fork_takes_id") as dsn:
        migrate(dsn)
        register_test_types(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT concord.register_command_type(%s)", (json.dumps(
                {"command_type": "rt.nobody", "name": "rt.nobody", "async_required": True}),))
            with WorkerProcess(dsn, executor_id="without-op"):
                waiting = submit(conn, "rt.nobody", {"n": 1})
                donor = submit(conn, "rt.echo", {"x": 1})
                wait_status(conn, donor, "succeeded", timeout=60)
                # its first run met a worker without the operation and let go
                wait_for(lambda: one(conn, "SELECT dbos_workflow_id IS null AND run_seq = 1 "
                                     "FROM concord.commands WHERE command_id = %s", waiting),
                         timeout=60, message="the first run of the unserved command to let go")
                taken = f"{waiting}/2"
                done = subprocess.run(
                    [str(DBOS_CLI), "workflow", "fork", donor, "--step", "1",
                     "--forked-workflow-id", taken, "--sys-db-url", sqlalchemy_url(dsn)],
                    capture_output=True, text=True, timeout=60)
                assert done.returncode == 0, done.stdout + done.stderr
                wait_for(lambda: one(conn, "SELECT status FROM dbos.workflow_status "
                                     "WHERE workflow_uuid = %s", taken) == "SUCCESS",
                         timeout=60, message="the fork that took the id to end")
            with WorkerProcess(dsn, executor_id="with-op",
                               modules=("concord_test_ops", "concord_test_nobody")):
                wait_status(conn, waiting, "succeeded", timeout=60)
                # the run that finished it ends too (DBOS records its outcome just after),
                # while its worker still runs
                current = one(conn, "SELECT dbos_workflow_id FROM concord.commands "
                              "WHERE command_id = %s", waiting)
                wait_for(lambda: one(conn, "SELECT status FROM dbos.workflow_status "
                                     "WHERE workflow_uuid = %s", current) == "SUCCESS",
                         timeout=30, message="the command's new run to end")
            runs = workflows_handed_off(conn, waiting)
            final = conn.execute("SELECT dbos_workflow_id, attempts, status FROM concord.commands "
                                 "WHERE command_id = %s", (waiting,)).fetchone()
            assert final[0] not in (waiting, taken), (final, runs)
            assert final[1:] == (1, "succeeded"), final
            assert taken in runs, runs
