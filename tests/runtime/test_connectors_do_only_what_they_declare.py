"""A connector does only what concord.connectors declares for it (spec 35-36): a
connector declared with only ``query`` does not write, whatever its implementation can do,
and the worker's preflight lists every declared capability the connector lacks (exit 2).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest

from support.databases import temporary_database
from support.workers import (
    CONCORD,
    WorkerProcess,
    prepare_connector_database,
    submit,
    wait_status,
)

TERMINAL = {"succeeded", "failed", "cancelled"}

WRITE_OPS = """
from concord.runtime import operation


@operation("caps.write", produces=["connector.pgrw.execute"])
def write(ctx, payload):
    return ctx.call("pgrw", "execute", {"sql": "CREATE TABLE caps_written (x int)"})
"""


def one(conn: psycopg.Connection, query: str, *params):
    row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def test_a_connector_declared_query_only_does_not_write(
    server_dsn: str, tmp_path: Path
) -> None:
    (tmp_path / "caps_write_ops.py").write_text(WRITE_OPS)
    with temporary_database(server_dsn, "concord_caps_query_only") as dsn:
        prepare_connector_database(
            dsn,
            ["caps.write"],
            [{"name": "pgrw", "connector_type": "postgres", "capabilities": ["query"],
              "config": {"dsn": "env://CAPS_PGRW_DSN", "read_only": False}}],
        )
        worker = WorkerProcess(
            dsn,
            executor_id=f"caps-{uuid.uuid4().hex[:8]}",
            extra_env={"PYTHONPATH": str(tmp_path), "CAPS_PGRW_DSN": dsn},
            modules=("caps_write_ops",),
        )
        try:
            worker.start()
        except RuntimeError:
            # refusing to start because the row and the implementation disagree is fine
            assert worker.proc is not None and worker.proc.wait(10) == 2, worker.log()
            assert "pgrw" in worker.log() and "capabilit" in worker.log(), worker.log()
            return
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                command_id = submit(conn, "caps.write")
                final = wait_status(conn, command_id, TERMINAL)
                written = one(conn, "SELECT to_regclass('public.caps_written') IS NOT NULL")
            assert not written, "a connector the database declares query-only executed DDL"
            assert final == "failed"
        finally:
            worker.terminate(30)


def test_preflight_lists_declared_capabilities_the_connector_lacks(
    server_dsn: str,
) -> None:
    with temporary_database(server_dsn, "concord_caps_preflight") as dsn:
        prepare_connector_database(
            dsn,
            [],
            [{"name": "pgro", "connector_type": "postgres",
              "capabilities": ["query", "execute", "drop_database"],
              "config": {"dsn": "env://CAPS_PGRO_DSN"}}],
        )
        try:
            done = subprocess.run(
                [str(CONCORD), "worker", "--dsn", dsn, "--executor-id", "caps-preflight",
                 "--no-schedules"],
                env={**os.environ, "CAPS_PGRO_DSN": dsn},
                capture_output=True,
                text=True,
                timeout=20,
            )
        except subprocess.TimeoutExpired as running:  # it started (and was killed)
            pytest.fail(f"the worker started with capabilities pgro lacks:\n{running.stdout}")
        output = done.stdout + done.stderr
        assert done.returncode == 2, output
        assert "pgro" in output and "drop_database" in output, output
