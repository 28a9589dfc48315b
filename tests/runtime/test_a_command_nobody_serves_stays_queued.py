"""A command whose type no worker on its queue can run stays queued (issue 13): a worker
without the type's operation does not claim it (its run lets the workflow go), the
worker says so at WARNING, ``unserved_command_types`` lists the type, and the first
worker that has the operation runs it. Before, the first worker to dequeue it failed it
for good with ``internal_error``."""

from __future__ import annotations

import json

import psycopg

from concord.migrate import migrate
from support.databases import temporary_database
from support.workers import WorkerProcess, register_test_types, submit, wait_for, wait_status


def released(conn: psycopg.Connection, commands: list[str]) -> bool:
    """Each command's run let its workflow go (the worker met it and did not claim it)."""
    return conn.execute(
        "SELECT count(DISTINCT command_id) = %s FROM concord.domain_events "
        "WHERE command_id = ANY(%s::uuid[]) AND event_type = 'workflow_released'",
        (len(commands), commands),
    ).fetchone()[0]


def test_a_command_nobody_serves_waits_for_a_worker_with_its_operation(server_dsn: str) -> None:
    with temporary_database(server_dsn, "concord_unserved") as dsn:
        migrate(dsn)
        register_test_types(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "SELECT concord.register_command_type(%s)",
                (
                    json.dumps(
                        {"command_type": "rt.nobody", "name": "rt.nobody", "async_required": True}
                    ),
                ),
            )
            waiting = [submit(conn, "rt.nobody", {"n": i}) for i in range(3)]
            with WorkerProcess(dsn, executor_id="without-op", args=("--log-level", "INFO")) as a:
                # it says at start which types it cannot run
                wait_for(
                    lambda: "rt.nobody (3)" in a.log(),
                    timeout=30,
                    message="the start warning naming rt.nobody",
                )
                echo = submit(conn, "rt.echo", {"x": 1})
                wait_status(conn, echo, "succeeded", timeout=60)
                wait_for(
                    lambda: released(conn, waiting),
                    timeout=60,
                    message="the worker to meet the rt.nobody commands and let them go",
                )
                rows = conn.execute(
                    "SELECT status, dbos_workflow_id, attempts FROM concord.commands "
                    "WHERE command_id = ANY(%s::uuid[])",
                    (waiting,),
                ).fetchall()
                assert rows == [("queued", None, 0)] * 3, rows
                assert "no operation for command type rt.nobody" in a.log(), a.log()
                unserved = conn.execute(
                    "SELECT command_type, queued FROM concord.unserved_command_types"
                ).fetchall()
                assert unserved == [("rt.nobody", 3)], unserved
                served = conn.execute(
                    "SELECT count(*) FROM concord.unserved_commands WHERE command_type = 'rt.echo'"
                ).fetchone()[0]
                assert served == 0
                with WorkerProcess(
                    dsn, executor_id="with-op", modules=("concord_test_ops", "concord_test_nobody"),
                    args=("--log-level", "INFO"),
                ) as b:
                    for command_id in waiting:
                        wait_status(conn, command_id, "succeeded", timeout=60)
                    # the finish line follows the recorded finish by a moment
                    for command_id in waiting:
                        wait_for(lambda c=command_id: f"command finished id={c} type=rt.nobody "
                                 "status=succeeded" in b.log(),
                                 timeout=30, message=f"the finish line of {command_id}")
                # a release is not an attempt: the log says attempt=1, as commands.attempts
                for command_id in waiting:
                    line = next(x for x in b.log().splitlines()
                                if f"command finished id={command_id}" in x)
                    assert line.endswith("attempt=1"), line
                claimed_by = {
                    r[0]
                    for r in conn.execute(
                        "SELECT actor FROM concord.domain_events "
                        "WHERE command_id = ANY(%s::uuid[]) AND to_status = 'running'",
                        (waiting,),
                    )
                }
                assert claimed_by == {"worker:with-op"}, claimed_by
                assert (
                    conn.execute("SELECT count(*) FROM concord.unserved_command_types").fetchone()[
                        0
                    ]
                    == 0
                )
