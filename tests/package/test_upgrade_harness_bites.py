"""The upgrade harness bites: a new migration without its fixture and check, one that
destroys the data present before it, or one that leaves an upgraded database with another
schema than a fresh install, fails `make upgrade-test`.

Each test copies this checkout's migrations/, sql/ and pgtap_tests/upgrade/ to a temporary
folder, adds one migration after the last, and runs the harness there with --root.
Needs CONCORD_DSN (a superuser connection); the harness makes and drops its own databases.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "tests" / "harness" / "upgrade_harness.py"
DSN = os.environ.get("CONCORD_DSN")


@pytest.fixture(autouse=True)
def _needs_a_server() -> None:
    # A missing server is a failure, never a skip: CI must not go green without it.
    if not DSN:
        pytest.fail("CONCORD_DSN is not set: run through `make test` or export a superuser DSN")


# A well-behaved migration: adds a table and touches no data.
GOOD_MIGRATION = "CREATE TABLE concord.upgrade_probe (id integer PRIMARY KEY);\n"

# Data the user has before the new migration runs.
FIXTURE = """
CREATE TABLE public.keepsakes (id integer PRIMARY KEY, label text NOT NULL);
INSERT INTO public.keepsakes (id, label) VALUES (1, 'first'), (2, 'second');
"""

CHECK = """
BEGIN;
SELECT plan(2);
SELECT results_eq(
    'SELECT id, label FROM public.keepsakes ORDER BY id',
    $$VALUES (1, 'first'::text), (2, 'second'::text)$$,
    'the keepsakes survive the upgrade'
);
SELECT ok(
    EXISTS (SELECT FROM concord.schema_migrations WHERE version = {version}),
    'the new version is recorded'
);
SELECT * FROM finish();
ROLLBACK;
"""

# Only where the fixture's table exists, i.e. only when upgrading: on a fresh install
# the same file does nothing of the sort.
DESTROYS_DATA = """
DO $$
BEGIN
    IF to_regclass('public.keepsakes') IS NOT NULL THEN
        DELETE FROM public.keepsakes;
    END IF;
END
$$;
"""
DRIFTS_ON_UPGRADE = """
DO $$
BEGIN
    IF to_regclass('public.keepsakes') IS NOT NULL THEN
        CREATE INDEX upgrade_probe_only_when_upgrading ON concord.upgrade_probe (id);
    END IF;
END
$$;
"""


class Tree:
    """A copy of the checkout's migration-related folders, plus one new migration."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for folder in ("migrations", "sql", "pgtap_tests/upgrade"):
            shutil.copytree(ROOT / folder, root / folder)
        versions = [int(p.name[:4]) for p in (root / "migrations").glob("*.sql")]
        self.version = max(versions) + 1
        self.prefix = f"{self.version:04d}"
        self.migration_name = f"{self.prefix}_upgrade_probe.sql"

    def add_migration(self, body: str) -> None:
        (self.root / "migrations" / self.migration_name).write_text(body)

    def add_fixture(self) -> None:
        (self.root / "pgtap_tests" / "upgrade" / f"{self.prefix}_fixture.sql").write_text(FIXTURE)

    def add_check(self) -> None:
        path = self.root / "pgtap_tests" / "upgrade" / f"{self.prefix}_check.sql"
        path.write_text(CHECK.replace("{version}", str(self.version)))

    def run_harness(self, *, only_new: bool = True) -> subprocess.CompletedProcess[str]:
        """The harness over the tree: by default the new migration only (the shipped ones
        are checked by `make upgrade-test` itself), else every migration."""
        only = ["--only", str(self.version)] if only_new else []
        return subprocess.run(
            [sys.executable, str(HARNESS), "--root", str(self.root), "--dsn", DSN, *only],
            capture_output=True,
            text=True,
            timeout=600,
        )


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    return Tree(tmp_path)


def failed_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in proc.stdout.splitlines() if line.startswith("not ok")]


def assert_fails_at(proc: subprocess.CompletedProcess[str], migration: str, step: str) -> None:
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    failed = failed_lines(proc)
    assert len(failed) == 1, output
    assert f"{migration}: {step}" in failed[0], output
    assert "1 failed" in proc.stdout.splitlines()[-1], output


def test_a_well_behaved_migration_with_fixture_and_check_passes(tree: Tree) -> None:
    tree.add_migration(GOOD_MIGRATION)
    tree.add_fixture()
    tree.add_check()
    proc = tree.run_harness(only_new=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert failed_lines(proc) == []
    for shipped in sorted((ROOT / "migrations").glob("*.sql")):
        assert f"{shipped.name}: upgraded schema equals a fresh install's" in proc.stdout
    assert f"{tree.migration_name}: upgraded schema equals a fresh install's" in proc.stdout
    assert proc.stdout.splitlines()[-1].endswith(" passed, 0 failed")


def test_a_migration_without_fixture_fails(tree: Tree) -> None:
    tree.add_migration(GOOD_MIGRATION)
    proc = tree.run_harness()
    assert_fails_at(proc, tree.migration_name, "has an upgrade fixture and check")
    assert f"missing pgtap_tests/upgrade/{tree.prefix}_fixture.sql" in proc.stdout


def test_a_migration_without_check_fails(tree: Tree) -> None:
    tree.add_migration(GOOD_MIGRATION)
    tree.add_fixture()
    proc = tree.run_harness()
    assert_fails_at(proc, tree.migration_name, "has an upgrade fixture and check")
    assert f"missing pgtap_tests/upgrade/{tree.prefix}_check.sql" in proc.stdout


def test_a_migration_that_destroys_the_fixture_data_fails(tree: Tree) -> None:
    tree.add_migration(GOOD_MIGRATION + DESTROYS_DATA)
    tree.add_fixture()
    tree.add_check()
    proc = tree.run_harness()
    assert_fails_at(proc, tree.migration_name, "fixture data survives")
    assert "the keepsakes survive the upgrade" in proc.stdout


def test_an_upgrade_that_ends_at_another_schema_than_a_fresh_install_fails(tree: Tree) -> None:
    tree.add_migration(GOOD_MIGRATION + DRIFTS_ON_UPGRADE)
    tree.add_fixture()
    tree.add_check()
    proc = tree.run_harness()
    assert_fails_at(proc, tree.migration_name, "upgraded schema equals a fresh install's")
    assert "+CREATE INDEX upgrade_probe_only_when_upgrading" in proc.stdout
