"""Whatever an operation returns or raises, its command ends (issue 13 §1): a result jsonb
cannot take (a datetime, NaN, a set, bytes) fails it as validation_error "result is not
JSON: ..."; NUL bytes in a result or an error text are stored as U+FFFD; an
``asyncio.CancelledError`` escaping the operation (or one of its steps) fails it once as
internal_error, or cancels it when a cancellation was asked for; an exception DBOS cannot
pickle keeps its own message and class; an unknown error class is recorded as
internal_error naming it. A ``SystemExit`` or ``KeyboardInterrupt`` raised by the operation
(argparse's, a library's ``sys.exit``: no shutdown of the worker raises one on a workflow's
thread) fails it once as internal_error, the operation run once: it is not resumed over and
over until DBOS dead-letters the workflow under a command left running. A real worker
subprocess runs each; DBOS ends every workflow SUCCESS (never ERROR, never left PENDING),
and each command is finished exactly once.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import psycopg

from concord.migrate import migrate
from support.databases import temporary_database
from support.workers import WorkerProcess, submit, wait_for, wait_status

HOSTILE = {  # command type -> (status, error_class, error text it must contain)
    "rt.hostile.datetime": ("failed", "validation_error",
                            "result is not JSON: Object of type datetime is not JSON"),
    "rt.hostile.nan": ("failed", "validation_error",
                       "result is not JSON: Out of range float values are not JSON"),
    "rt.hostile.set": ("failed", "validation_error",
                       "result is not JSON: Object of type set is not JSON"),
    "rt.hostile.bytes": ("failed", "validation_error",
                         "result is not JSON: Object of type bytes is not JSON"),
    "rt.hostile.nul_error": ("failed", "validation_error", "bad\ufffdvalue"),
    "rt.hostile.cancelled_error": ("failed", "internal_error",
                                   "CancelledError escaped the operation: the loop went away"),
    "rt.hostile.cancelled_in_step": ("failed", "internal_error",
                                     "CancelledError escaped the operation"),
    "rt.hostile.lock_error": ("failed", "internal_error", "the vendor's ledger is locked"),
    "rt.hostile.init_error": ("failed", "internal_error", "code 42: the answer was refused"),
    "rt.hostile.unknown_class": ("failed", "internal_error",
                                 "a class nobody declared (unknown error class 'made_up_class')"),
    "rt.hostile.system_exit": ("failed", "internal_error",
                               "SystemExit escaped the operation: usage: report [-h] --date DATE"),
    "rt.hostile.keyboard_interrupt": ("failed", "internal_error",
                                      "KeyboardInterrupt escaped the operation: interrupted by "
                                      "the vendor's SDK"),
    "rt.hostile.unhashable_class": ("failed", "internal_error",
                                    "a class that is a list (unknown error class "
                                    "['not', 'a', 'class'])"),
    "rt.hostile.unhashable_class_in_step": ("failed", "internal_error",
                                            "a class that is a dict (unknown error class "
                                            "{'not': 'a class'})"),
    "rt.hostile.retry_after_text": ("failed", "rate_limited", "slow down"),
    "rt.hostile.own_database_down": ("failed", "temporary_database_error",
                                     "connection to server at \"127.0.0.1\", port 1 failed"),
    "rt.hostile.own_database_down_in_step": ("failed", "temporary_database_error",
                                             "connection to server at \"127.0.0.1\", port 1"),
}
TYPES = [*HOSTILE, "rt.hostile.nul_result", "rt.hostile.cancelled_when_asked"]


def one(conn: psycopg.Connection, query: str, *args):
    return conn.execute(query, args).fetchone()


def test_hostile_outcomes_end_every_command_once(server_dsn: str) -> None:
    flags = Path(tempfile.mkdtemp(prefix="concord-hostile-"))
    with (
        temporary_database(server_dsn, "concord_hostile") as dsn,
        psycopg.connect(dsn, autocommit=True) as _setup,
    ):
        migrate(dsn)
        for t in TYPES:
            _setup.execute("SELECT concord.register_command_type(%s)",
                           (json.dumps({"command_type": t, "name": t, "async_required": True}),))
        worker = WorkerProcess(dsn, executor_id="hostile-worker",
                               modules=("concord_test_hostile",),
                               extra_env={"CONCORD_TEST_FLAG_DIR": str(flags)})
        with worker, psycopg.connect(dsn, autocommit=True) as conn:
            ids = {t: submit(conn, t, {}) for t in HOSTILE}
            ids["rt.hostile.nul_result"] = submit(conn, "rt.hostile.nul_result", {})
            asked = submit(conn, "rt.hostile.cancelled_when_asked", {"flag": "asked"})

            wait_status(conn, asked, "running", timeout=60)
            assert one(conn, "SELECT concord.cancel_command(%s, 'alice', 'enough')",
                       asked)[0] == "cancelling"
            (flags / "asked").touch()

            problems = []
            for t, (want_status, want_class, want_text) in HOSTILE.items():
                got = wait_status(conn, ids[t], {"succeeded", "failed", "cancelled"}, 60)
                _status, error, error_class = one(
                    conn, "SELECT status, error, error_class FROM concord.commands "
                    "WHERE command_id = %s", ids[t])
                if (got, error_class) != (want_status, want_class) or want_text not in error:
                    problems.append(f"{t}: {got} {error_class} {error!r}")
            assert not problems, f"{len(problems)} wrong outcomes: {problems}\n{worker.log()}"

            wait_status(conn, ids["rt.hostile.nul_result"], "succeeded", timeout=60)
            result = one(conn, "SELECT result FROM concord.commands WHERE command_id = %s",
                         ids["rt.hostile.nul_result"])[0]
            assert result == {"text": "before\ufffdafter", "key\ufffd": "v"}, result
            assert wait_status(conn, asked, {"cancelled", "failed"}, 60) == "cancelled"

            # raised by the operation, SystemExit and KeyboardInterrupt are its outcome: it
            # ran once, and no recovery runs it again
            for name in ("system_exit", "keyboard_interrupt", "own_database_down",
                         "own_database_down_in_step"):
                runs = (flags / f"{name}.runs").read_text().splitlines()
                assert len(runs) == 1, f"rt.hostile.{name} ran {len(runs)} times\n{worker.log()}"
            resumed = [line for line in worker.output if "resumed stranded workflow" in line]
            assert not resumed, f"runs resumed: {resumed}"

            every = [*ids.values(), asked]

            def workflows() -> dict[str, int]:
                return dict(conn.execute(
                    "SELECT status, count(*) FROM dbos.workflow_status "
                    "WHERE workflow_uuid = ANY(%s) GROUP BY status", (every,)).fetchall())

            # DBOS records a workflow's outcome just after its last step
            wait_for(lambda: "PENDING" not in workflows(), timeout=30,
                     message=f"the workflows to end: {workflows()}")
            endings = conn.execute(
                "SELECT command_id::text, count(*) FROM concord.domain_events "
                "WHERE command_id = ANY(%s::uuid[]) AND event_type = 'command_status_changed' "
                "AND to_status IN ('succeeded', 'failed', 'cancelled') GROUP BY 1",
                (every,)).fetchall()
            final = workflows()
        assert final == {"SUCCESS": len(every)}, f"DBOS workflows: {final}"
        assert sorted(n for _, n in endings) == [1] * len(every), f"endings: {endings}"
