"""``eval "$(make db)"`` works: ``make db`` writes exactly one line on stdout,
``export CONCORD_DSN='...'``, and every status line (make's recipes, deps.sh, cluster.sh)
on stderr.

The Makefile, the two harness scripts it runs and pyproject.toml are copied to a
temporary folder, so ``make db`` there starts a cluster of its own (cluster.sh names the
cluster after the folder it lives in) and the cluster these tests run on is never
touched; the copy's cluster is destroyed afterwards. ``DEPS_DRY_RUN=1`` keeps deps.sh
from installing anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
# deps.sh reads the croniter pin from pyproject.toml
COPIED = ("Makefile", "pyproject.toml", "tests/harness/cluster.sh", "tests/harness/deps.sh")


@pytest.fixture
def checkout(tmp_path: Path) -> Iterator[Path]:
    """A folder holding the Makefile and the scripts `make db` runs; its cluster is
    destroyed at the end."""
    folder = tmp_path / "checkout"
    for name in COPIED:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, folder / name)
    try:
        yield folder
    finally:
        subprocess.run(
            ["bash", str(folder / "tests/harness/cluster.sh"), "destroy"],
            capture_output=True,
            timeout=60,
        )


def environment() -> dict[str, str]:
    """The caller's environment without CONCORD_DSN or make's own variables, and with
    deps.sh unable to install."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"CONCORD_DSN", "MAKEFLAGS", "MAKELEVEL", "MFLAGS"}
    }
    env["DEPS_DRY_RUN"] = "1"
    return env


def test_make_db_prints_only_the_export_line(checkout: Path) -> None:
    """Rule: stdout is one line, `export CONCORD_DSN='<dsn>'`, whose DSN reaches the
    started server; deps.sh's and cluster.sh's status lines are on stderr."""
    done = subprocess.run(
        ["make", "db"],
        cwd=checkout,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    prefix, suffix = "export CONCORD_DSN='", "'"
    assert lines[0].startswith(prefix) and lines[0].endswith(suffix), lines[0]
    dsn = lines[0][len(prefix) : -len(suffix)]
    assert "deps: " in done.stderr
    assert "cluster.sh: PostgreSQL" in done.stderr and "started" in done.stderr
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1

    # As a user runs it: eval in a shell, then the variable is set (the cluster is
    # running now, so the second `make db` only prints).
    shell = subprocess.run(
        ["bash", "-c", 'eval "$(make db)" && printf %s "$CONCORD_DSN"'],
        cwd=checkout,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout == dsn
