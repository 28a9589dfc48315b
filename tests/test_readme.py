"""The README stays true: its psql blocks (the tour, then the policies, approvals and
plans examples, in one session) and its Python examples run against a fresh install, and
its reference tables name every public SQL function and every error code the SQL
raises."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from concord.migrate import migrate

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


@pytest.fixture
def installed_dsn() -> Iterator[str]:
    server = os.environ.get("CONCORD_DSN")
    if not server:
        pytest.fail("CONCORD_DSN is not set: run through `make test` or export a superuser DSN")
    name = f"readme_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = make_conninfo("", **{**conninfo_to_dict(server), "dbname": name})
    try:
        migrate(dsn)
        yield dsn
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_psql_tour_runs_and_fails_only_where_it_says(installed_dsn: str) -> None:
    # Every sql block, in order, in one psql session: later blocks continue the earlier.
    blocks = _blocks("sql")
    assert len(blocks) >= 4, "the tour, policies, approvals and plans examples"
    tour = "\n".join(blocks)
    expected = re.findall(r"-- expect (CN\d{3})", tour)
    assert expected, "the tour marks its deliberate failures with '-- expect CNxxx'"
    psql = shutil.which("psql")
    assert psql, "psql is required (postgresql-client)"
    run = subprocess.run(
        [psql, "-X", "-v", "VERBOSITY=verbose", "-d", installed_dsn],
        input=tour,
        capture_output=True,
        text=True,
        timeout=120,
    )
    raised = re.findall(r"ERROR:\s+([0-9A-Z]{5}):", run.stderr)
    assert raised == expected, run.stderr
    # The second submit of the same key answers the same command, not a new one.
    assert re.search(r"same_command \| created\s*\n-+\+-+\n\s*t\s+\| f", run.stdout), run.stdout
    assert "succeeded" in run.stdout and "cancelled" in run.stdout
    # The governance examples: each route, and the plan of an approval-gated command.
    for word in (
        "waiting_for_approval",
        "policy_denied",
        "changes_requested",
        "approval_expired",
        "approval_gated_async",
        "connector_calls",
    ):
        assert word in run.stdout, (word, run.stdout)


def test_the_python_example_runs(installed_dsn: str) -> None:
    example = _blocks("python")[0]
    run = subprocess.run(
        [sys.executable, "-c", example],
        env={**os.environ, "CONCORD_DSN": installed_dsn},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0].startswith("refused: dependency cycle"), run.stdout
    assert run.stdout.splitlines()[-1] == "False", run.stdout


def test_the_api_reference_names_every_public_function(installed_dsn: str) -> None:
    with psycopg.connect(installed_dsn) as conn:
        public = {
            name
            for (name,) in conn.execute(
                "SELECT p.proname FROM pg_proc AS p JOIN pg_namespace AS n "
                "ON n.oid = p.pronamespace WHERE n.nspname = 'concord' "
                "AND p.proname NOT LIKE '\\_%'"
            )
        }
    assert public, "no public functions found"
    missing = sorted(f for f in public if f"`{f}(" not in README)
    assert not missing, f"README's SQL API table lacks: {missing}"


def test_the_error_table_lists_every_code_the_sql_raises() -> None:
    raised = set()
    for path in (ROOT / "sql").rglob("*.sql"):
        raised |= set(re.findall(r"ERRCODE = '(CN\d{3})'", path.read_text()))
    documented = set(re.findall(r"^\| (CN\d{3}) \|", README, re.M))
    assert raised, "no CN codes found in sql/"
    assert raised <= documented, f"undocumented codes: {sorted(raised - documented)}"


def test_the_python_governance_example_runs(installed_dsn: str) -> None:
    example = _blocks("python")[1]
    run = subprocess.run(
        [sys.executable, "-c", example],
        env={**os.environ, "CONCORD_DSN": installed_dsn},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "waiting_for_approval", run.stdout
    assert lines[2].startswith("refused: alice requested command"), run.stdout
    assert lines[3] == "queued", run.stdout
    assert "approval standard approved fiona" in lines, run.stdout
    assert lines[-1] == "approval_gated_async", run.stdout


def test_the_runtime_example_runs_under_a_worker(server_dsn: str, tmp_path) -> None:
    """The README's operations module, loaded by a real `concord worker`, books through a
    local HTTP peer with the effect's idempotency key."""
    from concord.migrate import migrate
    from conftest import temporary_database
    from runtime_support import Vendor, WorkerProcess, submit, wait_status

    example = _blocks("python")[2]
    package = tmp_path / "myapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "ops.py").write_text(example)
    vendor = Vendor()
    try:
        with temporary_database(server_dsn, "concord_readme_rt") as dsn:
            migrate(dsn)
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(
                    "SELECT concord.register_command_type(%s)",
                    ('{"command_type": "hotel.book", "async_required": true}',),
                )
                conn.execute(
                    "SELECT concord.register_connector(%s)",
                    (
                        json.dumps(
                            {
                                "name": "hotel",
                                "connector_type": "http",
                                "capabilities": ["request"],
                                "config": {"base_url": vendor.url},
                            }
                        ),
                    ),
                )
                worker = WorkerProcess(
                    dsn,
                    executor_id="readme-worker",
                    modules=("myapp.ops",),
                    extra_env={"PYTHONPATH": str(tmp_path)},
                )
                with worker:
                    command = submit(conn, "hotel.book", {"room": 12})
                    assert wait_status(conn, command, {"succeeded", "failed"}) == "succeeded", (
                        worker.log()
                    )
                    (key,) = conn.execute(
                        "SELECT idempotency_key FROM concord.domain_effects WHERE command_id = %s",
                        (command,),
                    ).fetchone()
        assert [r["path"] for r in vendor.requests] == ["/bookings"]
        assert vendor.requests[0]["key"] == key
    finally:
        vendor.close()
