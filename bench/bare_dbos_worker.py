"""The bare-DBOS side of the runtime benchmark: a DBOS worker with the same trivial
workflow shape as Concord's ``run_command`` for ``bench.echo`` and nothing of Concord.

The workflow ``bench.bare_run(job_id)`` runs two DBOS steps, as run_command does for a
trivial command (claim, then finish); each step is one single-row statement through a
psycopg pool like the Concord worker's (autocommit, min 2, max ``WorkerConfig.pool_size``):

  claim   INSERT INTO bare.jobs (job_id, started_at) VALUES (..., clock_timestamp())
  finish  UPDATE bare.jobs SET finished_at = clock_timestamp() WHERE job_id = ...

DBOS is configured as ``concord worker`` configures it (notification listener polling
0.05 s, scheduler polling 5 s, explicit executor id and application version, default
system-database pool) and the queue is registered with the worker_concurrency and
polling_interval_sec given on the command line (the runtime bench passes those of
``concord_default``). Work arrives only through ``dbos.enqueue_workflow`` from SQL.

Usage: bare_dbos_worker.py DSN EXECUTOR_ID QUEUE WORKER_CONCURRENCY POLLING_INTERVAL_SEC
Prints "bare worker <executor id> ready" once it dequeues; stops on SIGTERM.
"""

from __future__ import annotations

import dataclasses
import signal
import sys
import threading

from dbos import DBOS
from psycopg_pool import ConnectionPool

from concord.runtime.schema import sqlalchemy_url
from concord.runtime.worker import WorkerConfig

APP_NAME = "bare_bench"
APP_VERSION = "bare-bench"
WORKFLOW_NAME = "bench.bare_run"
STEP_OPTIONS = {"retries_allowed": False, "max_attempts": 1}
# The size of the Concord worker's own pool (concord.runtime.db.RuntimeDB), mirrored.
POOL_SIZE = next(f.default for f in dataclasses.fields(WorkerConfig) if f.name == "pool_size")

JOBS_DDL = """
CREATE SCHEMA IF NOT EXISTS bare;
CREATE TABLE IF NOT EXISTS bare.jobs (
    job_id text PRIMARY KEY,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NULL
);
"""

_pool: ConnectionPool | None = None


def _execute(query: str, *params: object) -> None:
    assert _pool is not None
    with _pool.connection() as conn:
        conn.execute(query, params)


def _claim(job_id: str) -> None:
    _execute(
        "INSERT INTO bare.jobs (job_id, started_at) VALUES (%s, clock_timestamp()) "
        "ON CONFLICT (job_id) DO NOTHING",
        job_id,
    )


def _finish(job_id: str) -> None:
    _execute("UPDATE bare.jobs SET finished_at = clock_timestamp() WHERE job_id = %s", job_id)


@DBOS.workflow(name=WORKFLOW_NAME)
def bare_run(job_id: str) -> dict:
    DBOS.run_step({**STEP_OPTIONS, "name": "bare.claim"}, _claim, job_id)
    DBOS.run_step({**STEP_OPTIONS, "name": "bare.finish"}, _finish, job_id)
    return {"status": "succeeded"}


def main(argv: list[str]) -> int:
    global _pool
    dsn, executor_id, queue, concurrency, interval = argv
    _pool = ConnectionPool(
        dsn, min_size=2, max_size=POOL_SIZE, kwargs={"autocommit": True}, open=True, name="bare"
    )
    _execute(JOBS_DDL)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    DBOS(
        config={
            "name": APP_NAME,
            "system_database_url": sqlalchemy_url(dsn),
            "executor_id": executor_id,
            "application_version": APP_VERSION,
            "log_level": "WARNING",
            "run_migrations": True,
            "notification_listener_polling_interval_sec": 0.05,
            "scheduler_polling_interval_sec": 5.0,
        }
    )
    DBOS.launch()
    DBOS.register_queue(
        queue,
        worker_concurrency=int(concurrency),
        polling_interval_sec=float(interval),
        on_conflict="always_update",
    )
    print(f"bare worker {executor_id} ready", flush=True)
    stopped.wait()
    DBOS.destroy(workflow_completion_timeout_sec=5)
    _pool.close()
    print(f"bare worker {executor_id} stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
