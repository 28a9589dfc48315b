"""A worker starts only when it can do its work, and says why when it cannot:

1. A second worker under a live worker's executor id does not run that worker's
   commands again ("two workers sharing the queues: each command runs once").
2. A worker that is not DBOS's latest application version (a rollback) says it would
   dequeue nothing instead of "ready".
3. ``concord worker`` on a database ``concord migrate`` never prepared says to run
   migrate.
4. ``--module`` entries that fail to import are refused with exit 2, each listed.
5. A ``--module`` that is not on the path (the how-to's ``myapp.ops`` run from its folder
   without ``PYTHONPATH=.``) is refused saying how the worker finds modules.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from concord.migrate import migrate
from support.databases import temporary_database
from support.workers import (
    CONCORD,
    Vendor,
    WorkerProcess,
    register_test_types,
    status,
    stop_workers,
    submit,
    wait_status,
)

TERMINAL = {"succeeded", "failed", "cancelled"}


@pytest.fixture
def rt_dsn(server_dsn: str) -> Iterator[str]:
    with temporary_database(server_dsn, "concord_worker_start") as dsn:
        migrate(dsn)
        register_test_types(dsn)
        yield dsn


def _worker(dsn: str, executor_id: str, vendor: Vendor, version: str = "concord-test"):
    w = WorkerProcess(dsn, executor_id=executor_id, vendor_url=vendor.url)
    # WorkerProcess passes --application-version concord-test; a later flag wins
    w.args = ("--application-version", version)
    return w


# ---------------------------------------------------------------------------
# 1. Same executor id twice
# ---------------------------------------------------------------------------


def test_a_second_worker_under_a_live_workers_executor_id_does_not_run_its_commands_again(
    rt_dsn: str,
) -> None:
    v = Vendor()
    v.delay["/effect/0"] = 4.0  # the first worker is mid-call when the second one starts
    a = _worker(rt_dsn, "same-host", v)
    b = _worker(rt_dsn, "same-host", v)
    try:
        with psycopg.connect(rt_dsn, autocommit=True) as conn:
            a.start()
            command_id = submit(conn, "rt.http", {"effects": 1})
            deadline = time.time() + 10
            while status(conn, command_id) != "running" and time.time() < deadline:
                time.sleep(0.02)
            time.sleep(0.5)
            try:
                b.start()
            except RuntimeError:
                # Refusing to start is a fine answer, if it says why.
                assert b.proc is not None and b.proc.wait(10) == 2, b.log()
                assert "same-host" in b.log() and "executor" in b.log().lower(), b.log()
            assert wait_status(conn, command_id, TERMINAL, timeout=40) == "succeeded"
            time.sleep(1.0)
            invocations = conn.execute(
                "SELECT count(*) FROM concord.connector_invocations WHERE command_id = %s",
                (command_id,),
            ).fetchone()[0]
            key = f"{command_id}:1"
            assert v.by_key[key] == 1, (
                f"the vendor got {key} {v.by_key[key]} times: a second worker with the same "
                "executor id re-ran the in-flight workflow"
            )
            assert invocations == 1
    finally:
        stop_workers(a, b)
        v.close()


# ---------------------------------------------------------------------------
# 2. A worker that is not DBOS's latest application version
# ---------------------------------------------------------------------------


def test_a_worker_that_would_dequeue_nothing_says_so_instead_of_ready(rt_dsn: str) -> None:
    v = Vendor()
    try:
        _worker(rt_dsn, "w-old", v, "app-v1").start().terminate(20)
        _worker(rt_dsn, "w-new", v, "app-v2").start().terminate(20)
        old = _worker(rt_dsn, "w-old", v, "app-v1")  # a rollback
        try:
            old.start()
        except RuntimeError:
            assert old.proc is not None and old.proc.wait(10) == 2, old.log()
            assert "app-v1" in old.log() and "app-v2" in old.log(), old.log()
            return
        try:
            with psycopg.connect(rt_dsn, autocommit=True) as conn:
                command_id = submit(conn, "rt.echo", {})
                # a worker that says "ready" runs what is handed off to it
                assert wait_status(conn, command_id, TERMINAL, timeout=15) == "succeeded"
        finally:
            stop_workers(old)
    finally:
        v.close()


# ---------------------------------------------------------------------------
# 3. An unprepared database
# ---------------------------------------------------------------------------


def test_worker_on_a_database_without_concord_says_to_run_migrate(server_dsn: str) -> None:
    with temporary_database(server_dsn, "concord_worker_empty") as dsn:
        out = subprocess.run(
            [str(CONCORD), "worker", "--dsn", dsn, "--executor-id", "empty-db"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert "concord migrate" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


# ---------------------------------------------------------------------------
# 4. A module that fails to import
# ---------------------------------------------------------------------------


def test_modules_that_fail_to_import_are_refused_with_exit_2_listing_each(
    rt_dsn: str, tmp_path: Path
) -> None:
    (tmp_path / "broken_ops.py").write_text("import no_such_dependency_of_broken_ops\n")
    done = subprocess.run(
        [str(CONCORD), "worker", "--dsn", rt_dsn, "--executor-id", "bad-modules",
         "--no-schedules", "--module", "broken_ops", "--module", "ops_not_there"],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "refusing to start" in output, output
    assert "broken_ops" in output and "ops_not_there" in output, output
    assert "Traceback" not in output, output


def test_a_module_not_on_the_path_is_refused_saying_how_the_worker_finds_modules(
    rt_dsn: str, tmp_path: Path
) -> None:
    # The how-to's layout: myapp/ops.py in the current folder, `concord worker --module
    # myapp.ops` run from there. A console script does not look in the current folder.
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "ops.py").write_text("")
    (tmp_path / "needs_more.py").write_text("import no_such_dependency_of_needs_more\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    refused = subprocess.run(
        [str(CONCORD), "worker", "--dsn", rt_dsn, "--executor-id", "off-the-path",
         "--no-schedules", "--module", "myapp.ops"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30,
    )
    output = refused.stdout + refused.stderr
    assert refused.returncode == 2, output
    assert "No module named 'myapp'" in output, output
    assert "PYTHONPATH" in output, f"the refusal does not say how modules are found:\n{output}"
    # a dependency the module itself lacks is not a path problem of --module
    broken = subprocess.run(
        [str(CONCORD), "worker", "--dsn", rt_dsn, "--executor-id", "off-the-path",
         "--no-schedules", "--module", "needs_more"],
        env={**env, "PYTHONPATH": str(tmp_path)}, capture_output=True, text=True, timeout=30,
    )
    output = broken.stdout + broken.stderr
    assert broken.returncode == 2 and "no_such_dependency_of_needs_more" in output, output
    assert "PYTHONPATH" not in output, output
