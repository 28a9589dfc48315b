"""``concord migrate --target N`` stops after migration N, so N must be a migration this
package ships: any other number is refused before the database is touched (a mistyped
version would otherwise install whatever falls below it). And ``concord --version`` /
``python -m concord --version`` answer from the environment the tests run in.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from concord.errors import MigrationError
from concord.migrate import migrate

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_VERSIONS = sorted(int(p.name[:4]) for p in (ROOT / "migrations").glob("*.sql"))


def concord(*args: str) -> subprocess.CompletedProcess:
    """``python -m concord ARGS`` without CONCORD_DSN."""
    env = {k: v for k, v in os.environ.items() if k != "CONCORD_DSN"}
    return subprocess.run(
        [sys.executable, "-m", "concord", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def installed(dsn: str) -> bool:
    """Whether anything of Concord (its schema) is in the database at ``dsn``."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT to_regnamespace('concord') IS NOT NULL").fetchone()[0]


@pytest.mark.parametrize("target", [0, max(SHIPPED_VERSIONS) + 1, 999])
def test_a_target_that_is_not_a_shipped_version_is_refused(fresh_dsn: str, target: int) -> None:
    """Rule: --target names a shipped migration; any other version exits non-zero with
    a message that lists the versions, and applies nothing (not even the bookkeeping
    table)."""
    run = concord("migrate", "--dsn", fresh_dsn, "--target", str(target))
    assert run.returncode == 1, run.stderr
    versions = ", ".join(str(v) for v in SHIPPED_VERSIONS)
    assert f"target {target} is not a migration version" in run.stderr
    assert f"holds versions {versions}; nothing applied" in run.stderr
    assert "Traceback" not in run.stderr
    assert "applying" not in run.stdout
    assert not installed(fresh_dsn)


def test_the_installer_function_refuses_it_too(fresh_dsn: str) -> None:
    """Rule: the check lives in concord.migrate.migrate, so every caller (the upgrade
    harness included) gets it, and a shipped version is still accepted."""
    with pytest.raises(MigrationError, match="nothing applied"):
        migrate(fresh_dsn, target=max(SHIPPED_VERSIONS) + 1)
    assert not installed(fresh_dsn)
    applied = migrate(fresh_dsn, target=SHIPPED_VERSIONS[0], apply_sql=False)
    assert [m.version for m in applied] == SHIPPED_VERSIONS[:1]


def test_the_cli_says_its_version() -> None:
    """Rule: `python -m concord --version` prints the installed distribution's version
    and exits 0 (no subcommand needed)."""
    run = concord("--version")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"concord {importlib.metadata.version('concord')}"


def test_an_older_target_with_the_sql_files_is_refused_before_anything_is_applied(
    fresh_dsn: str,
) -> None:
    """Rule: the sql/ files are written for the newest migration, so --target N below it
    needs --no-sql; without it nothing is applied at all (no half-installed database)."""
    older = SHIPPED_VERSIONS[-2]
    run = concord("migrate", "--dsn", fresh_dsn, "--target", str(older))
    assert run.returncode == 1, run.stderr
    assert f"target {older} is older than these sql/ files" in run.stderr
    assert "pass --no-sql" in run.stderr
    assert "applying" not in run.stdout
    assert not installed(fresh_dsn)
    run = concord("migrate", "--dsn", fresh_dsn, "--target", str(older), "--no-sql")
    assert run.returncode == 0, run.stderr
    assert f"applying {older:04d}_" in run.stdout


def test_a_target_behind_the_database_applies_nothing_and_says_so(fresh_dsn: str) -> None:
    """Rule: a database already past --target is left as it is, with a line saying so."""
    assert concord("migrate", "--dsn", fresh_dsn).returncode == 0
    first = SHIPPED_VERSIONS[0]
    run = concord("migrate", "--dsn", fresh_dsn, "--target", str(first), "--no-sql")
    assert run.returncode == 0, run.stderr
    newest = SHIPPED_VERSIONS[-1]
    assert f"already at version {newest}, past target {first}" in run.stdout
