"""A compensation that raises ``SystemExit`` (argparse's on a bad argument, a library's
``sys.exit``) halts like any failing compensation (issue 13 §1: nothing is ever stuck):
the command ends ``failed`` with ``compensation_failed`` and a message naming the
SystemExit, the compensation ran once, and no recovery resumes the run. Taken for a
shutdown, it would leave the command ``compensating`` and the recovery loop would run the
compensation again every few seconds until DBOS dead-lettered the workflow."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import psycopg

from concord.migrate import migrate
from support.databases import temporary_database
from support.workers import Vendor, WorkerProcess, submit, wait_for, wait_status


def test_a_compensation_that_exits_halts_once(server_dsn: str) -> None:
    flags = Path(tempfile.mkdtemp(prefix="concord-exit-comp-"))
    vendor = Vendor()
    try:
        with temporary_database(server_dsn, "concord_exit_comp") as dsn:
            migrate(dsn)
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("SELECT concord.register_command_type(%s)", (json.dumps({
                    "command_type": "rt.exit_comp.book", "name": "book", "async_required": True,
                    "default_cancellation_mode": "compensate_then_stop",
                    "connector_requirements": ["vendor"]}),))
                worker = WorkerProcess(dsn, executor_id="exit-comp-worker", vendor_url=vendor.url,
                                       modules=("concord_test_exiting_compensation",),
                                       extra_env={"CONCORD_TEST_FLAG_DIR": str(flags)})
                with worker:
                    command = submit(conn, "rt.exit_comp.book", {})
                    wait_for(lambda: conn.execute(
                        "SELECT count(*) FROM concord.domain_effects WHERE command_id = %s "
                        "AND status = 'succeeded'", (command,)).fetchone()[0] == 1,
                        timeout=60, message="the booking to succeed")
                    assert conn.execute("SELECT concord.cancel_command(%s, 'bob', 'changed plans')",
                                        (command,)).fetchone()[0] == "cancelling"
                    got = wait_status(conn, command, {"failed", "cancelled"}, timeout=60)
                    status, error_class, error = conn.execute(
                        "SELECT status, error_class, error FROM concord.commands "
                        "WHERE command_id = %s", (command,)).fetchone()
                    assert (got, error_class) == ("failed", "compensation_failed"), worker.log()
                    assert "SystemExit escaped the compensation: usage: cancel [-h] --booking ID" \
                        in error, error
                    halted = conn.execute(
                        "SELECT count(*) FROM concord.domain_events WHERE command_id = %s "
                        "AND event_type = 'compensation_halted'", (command,)).fetchone()[0]
                    assert halted == 1
                    wait_for(lambda: conn.execute(
                        "SELECT status FROM dbos.workflow_status WHERE workflow_uuid = %s",
                        (command,)).fetchone()[0] == "SUCCESS", timeout=30,
                        message="the run's workflow to end SUCCESS")
                runs = (flags / "compensation.runs").read_text().splitlines()
                assert len(runs) == 1, f"the compensation ran {len(runs)} times"
                assert not any("resumed stranded workflow" in line for line in worker.output)
    finally:
        vendor.close()
