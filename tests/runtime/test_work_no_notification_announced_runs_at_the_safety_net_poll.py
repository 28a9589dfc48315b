"""Polling stays as the safety net under the wake on commit (issue 16 section 3): work that
reaches a queue without a ``concord_runnable`` notification (DBOS's own recovery, a
workflow enqueued by hand, a notification lost with the waker's connection) is claimed at
the queue's next poll, about once a second while the worker listens."""

from __future__ import annotations

import time

import psycopg

from concord.migrate import migrate
from concord.runtime.waker import application_name
from support.databases import temporary_database
from support.workers import WorkerProcess, register_test_types, wait_for

RUNS_WITHIN = 15.0  # a few safety-net polls on a loaded machine


def _listening(conn: psycopg.Connection, executor_id: str) -> bool:
    return bool(
        conn.execute(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = %s AND state = 'idle' "
            "AND query LIKE 'LISTEN%%'",
            (application_name(executor_id),),
        ).fetchone()
    )


def test_a_workflow_enqueued_without_a_notification_runs_at_the_next_poll(
    server_dsn: str,
) -> None:
    with temporary_database(server_dsn, "concord_safety_net") as dsn:
        migrate(dsn)
        register_test_types(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            with WorkerProcess(dsn, executor_id="net-worker"):
                wait_for(lambda: _listening(conn, "net-worker"), message="the waker to listen")
                time.sleep(1.0)  # past the waker's one wake-up when it starts listening
                # DBOS's own enqueue, as the kernel calls it but without the kernel's
                # NOTIFY: nothing announces this workflow (the reconciler's, a no-op here)
                conn.execute(
                    "SELECT dbos.enqueue_workflow(workflow_name => 'concord.reconcile', "
                    "queue_name => 'concord_default', positional_args => "
                    "ARRAY['\"2026-01-01T00:00:00+00:00\"'::json, 'null'::json], "
                    "workflow_id => 'unannounced')"
                )
                wait_for(
                    lambda: conn.execute(
                        "SELECT status = 'SUCCESS' FROM dbos.workflow_status "
                        "WHERE workflow_uuid = 'unannounced'"
                    ).fetchone()[0],
                    timeout=RUNS_WITHIN,
                    message="the unannounced workflow to run",
                )
