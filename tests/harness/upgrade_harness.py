"""Upgrade harness: every migration must upgrade a database holding data, losing none
of it, and end at the same schema as a fresh install.

For each migration ``migrations/NNNN_name.sql`` (k = 1..n):

1. create a fresh database and install the release before migration k, as a user has it:
   migrations 1..k-1 and the ``sql/`` files of that release, taken from git (the parent
   of the commit that added migration k, or HEAD while migration k is not committed yet)
   and installed by ``concord.migrate.migrate(target=k-1)``; for k = 1 nothing: a
   database without Concord. Outside a git checkout only the migrations are installed
   (``apply_sql=False``);
2. load ``pgtap_tests/upgrade/NNNN_fixture.sql`` with triggers off
   (``session_replication_role = replica``): raw data that exists before migration k;
3. run the real ``concord migrate`` (applies k..n, then the sql/ files);
4. run ``pg_prove pgtap_tests/upgrade/NNNN_check.sql``: the fixture data survived;
5. compare the ``concord`` schema's dump (privileges included) with a fresh install's.

A migration without its fixture or check file fails. Prints TAP-like lines and a final
``N passed, N failed``; exits non-zero on any failure. Drops the databases it made.

    python tests/harness/upgrade_harness.py [--root DIR] [--dsn DSN] [--only VERSION]
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import psycopg
from dsn_for import dsn_for, pg_env
from psycopg import sql

from concord.errors import MigrationError
from concord.migrate import Migration, discover_migrations, migrate

DEFAULT_ROOT = Path(__file__).resolve().parents[2]
RESTRICT_KEY = "concord"


class StepFailed(Exception):
    """A step of one migration's upgrade test failed; the message says why."""


class Tap:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def result(self, ok: bool, description: str, diagnostics: str = "") -> bool:
        number = self.passed + self.failed + 1
        print(f"{'ok' if ok else 'not ok'} {number} - {description}", flush=True)
        if diagnostics:
            for line in diagnostics.rstrip("\n").splitlines():
                print(f"#   {line}")
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok

    def finish(self) -> int:
        print(f"1..{self.passed + self.failed}")
        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed or not self.passed else 0


def run(cmd: list[str], what: str, env: dict[str, str] | None = None) -> str:
    """Run a command; on failure raise StepFailed carrying its output."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise StepFailed(f"{what} exited {proc.returncode}:\n{output}")
    return output


class Server:
    """The server of the admin DSN, where the harness makes its databases."""

    def __init__(self, admin_dsn: str) -> None:
        self.admin_dsn = admin_dsn
        self.token = secrets.token_hex(3)
        self.created: list[str] = []
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            self.major = conn.info.server_version // 10000

    def create_db(self, label: str) -> str:
        name = f"concord_upgrade_{self.token}_{label}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)
        return dsn_for(name, self.admin_dsn)

    def drop_all(self) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            for name in self.created:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        self.created.clear()

    @cached_property
    def pg_dump(self) -> list[str]:
        """pg_dump of the server's major version (else the closest newer one: pg_dump
        refuses servers newer than itself), with a fixed \\restrict key where it has one."""
        exact = Path(f"/usr/lib/postgresql/{self.major}/bin/pg_dump")
        newer = sorted(
            (int(p.parts[-3]), p)
            for p in Path("/usr/lib/postgresql").glob("*/bin/pg_dump")
            if p.parts[-3].isdigit() and int(p.parts[-3]) >= self.major
        )
        if exact.exists():
            binary = str(exact)
        elif newer:
            binary = str(newer[0][1])
        elif found := shutil.which("pg_dump"):
            binary = found
        else:
            raise StepFailed("no pg_dump found")
        help_text = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
        if "--restrict-key" in help_text:
            return [binary, f"--restrict-key={RESTRICT_KEY}"]
        return [binary]


@contextmanager
def databases(admin_dsn: str) -> Iterator[Server]:
    server = Server(admin_dsn)
    try:
        yield server
    finally:
        server.drop_all()


def schema_dump(server: Server, dsn: str) -> list[str]:
    """The concord schema's DDL, owners and privileges, without comments, blank lines or
    \\restrict lines (whose key is random unless fixed)."""
    dump = run([*server.pg_dump, "--schema-only", "--schema=concord", f"--dbname={dsn}"], "pg_dump")
    return [
        line
        for line in dump.splitlines()
        if line.strip() and not line.startswith("--") and not re.match(r"\\(un)?restrict\b", line)
    ]


class Harness:
    def __init__(self, root: Path, server: Server, tap: Tap) -> None:
        self.root = root
        self.migrations_dir = root / "migrations"
        self.sql_dir = root / "sql"
        self.upgrade_dir = root / "pgtap_tests" / "upgrade"
        self.server = server
        self.tap = tap

    def concord_migrate(self, dsn: str) -> str:
        """The real CLI, as a user runs it."""
        script = Path(sys.executable).with_name("concord")
        cli = [str(script)] if script.exists() else [sys.executable, "-m", "concord"]
        return run(
            [
                *cli,
                "migrate",
                "--dsn",
                dsn,
                "--migrations-dir",
                str(self.migrations_dir),
                "--sql-dir",
                str(self.sql_dir),
            ],
            "concord migrate",
        )

    def psql_file(self, dsn: str, path: Path) -> None:
        """Load a fixture as raw rows: triggers (and foreign key checks) off."""
        run(
            [
                "psql",
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "--single-transaction",
                "-d",
                dsn,
                "-c",
                "SET session_replication_role = replica",
                "-f",
                str(path),
            ],
            f"psql -f {path.relative_to(self.root)}",
        )

    def git(self, *args: str) -> str | None:
        proc = subprocess.run(["git", "-C", str(self.root), *args], capture_output=True, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else None

    def previous_release(self, migration: Migration) -> str | None:
        """The commit whose tree is the release before migration: the parent of the
        commit that added it, or HEAD while it is not committed; None outside git."""
        if self.git("rev-parse", "--is-inside-work-tree") != "true":
            return None
        relative = migration.path.resolve().relative_to(self.root)
        added = self.git("log", "--diff-filter=A", "--format=%H", "--", str(relative))
        if not added:
            return self.git("rev-parse", "HEAD")
        return self.git("rev-parse", added.splitlines()[-1] + "^")

    def install_release(self, commit: str, dsn: str, target: int) -> None:
        """migrations/ and sql/ as they were at commit, installed up to target."""
        with tempfile.TemporaryDirectory(prefix="concord-release-") as tmp:
            archive = Path(tmp) / "release.tar"
            run(
                [
                    "git",
                    "-C",
                    str(self.root),
                    "archive",
                    "--format=tar",
                    "-o",
                    str(archive),
                    commit,
                    "migrations",
                    "sql",
                ],
                f"git archive {commit[:12]}",
            )
            with tarfile.open(archive) as tar:
                # our own git archive; the "data" filter where this Python has it
                safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                tar.extractall(tmp, **safe)
            migrate(dsn, Path(tmp) / "migrations", Path(tmp) / "sql", target=target)

    def pg_prove(self, dsn: str, path: Path) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET client_min_messages = warning")
            conn.execute("CREATE EXTENSION IF NOT EXISTS pgtap")
        # pg_prove takes no connection string: hand it the settings as PGHOST, PGPORT, ...
        run(["pg_prove", "--ext", ".sql", str(path)], "pg_prove", env=pg_env(dsn))

    def fresh_install(self) -> list[str] | None:
        label = "fresh install: concord migrate into an empty database"
        try:
            dsn = self.server.create_db("fresh")
            self.concord_migrate(dsn)
            dump = schema_dump(self.server, dsn)
            if "CREATE SCHEMA concord;" not in dump:
                raise StepFailed("the dump of a fresh install has no schema concord")
        except (StepFailed, MigrationError, psycopg.Error) as exc:
            self.tap.result(False, label, str(exc))
            return None
        self.tap.result(True, label)
        return dump

    def upgrade(self, migration: Migration, fresh_dump: list[str] | None) -> None:
        version = f"{migration.version:04d}"
        name = migration.path.name
        fixture = self.upgrade_dir / f"{version}_fixture.sql"
        check = self.upgrade_dir / f"{version}_check.sql"
        missing = [p for p in (fixture, check) if not p.is_file()]
        if not self.tap.result(
            not missing,
            f"{name}: has an upgrade fixture and check",
            "".join(
                f"missing {p.relative_to(self.root)}: data that must exist before {name} "
                "runs, and the pgTAP assertions that it survived\n"
                for p in missing
            ),
        ):
            return

        steps = [
            (
                "installs the versions before it, then loads its fixture",
                lambda dsn: self.before(migration, dsn, fixture),
            ),
            (
                "concord migrate upgrades the fixture database",
                lambda dsn: self.concord_migrate(dsn),
            ),
            (
                f"fixture data survives ({check.relative_to(self.root)})",
                lambda dsn: self.pg_prove(dsn, check),
            ),
            (
                "upgraded schema equals a fresh install's",
                lambda dsn: self.same_schema(dsn, fresh_dump),
            ),
        ]
        try:
            dsn = self.server.create_db(f"{migration.version}")
        except psycopg.Error as exc:
            self.tap.result(False, f"{name}: create database", str(exc))
            return
        for description, step in steps:
            try:
                step(dsn)
            except (StepFailed, MigrationError, psycopg.Error) as exc:
                self.tap.result(False, f"{name}: {description}", str(exc))
                return
            self.tap.result(True, f"{name}: {description}")

    def before(self, migration: Migration, dsn: str, fixture: Path) -> None:
        if migration.version > 1:
            release = self.previous_release(migration)
            if release is not None:
                self.install_release(release, dsn, migration.version - 1)
            else:
                if self.git("rev-parse", "--is-inside-work-tree") == "true":
                    # Shout: this checks less than it should (a shallow clone?).
                    print(
                        f"# WARNING: the release before {migration.path.name} is not in this "
                        "checkout's history (a shallow clone? `git fetch --unshallow`): "
                        "installing its migrations without the sql/ of that release",
                        flush=True,
                    )
                # Recorded in concord.schema_migrations exactly as the migrator records it.
                migrate(
                    dsn,
                    self.migrations_dir,
                    self.sql_dir,
                    target=migration.version - 1,
                    apply_sql=False,
                )
        self.psql_file(dsn, fixture)

    def same_schema(self, dsn: str, fresh_dump: list[str] | None) -> None:
        if fresh_dump is None:
            raise StepFailed("no fresh install to compare with (it failed above)")
        upgraded = schema_dump(self.server, dsn)
        if upgraded != fresh_dump:
            diff = difflib.unified_diff(
                fresh_dump, upgraded, "fresh install", "upgraded", lineterm=""
            )
            raise StepFailed("schema dumps differ:\n" + "\n".join(diff))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root",
        type=Path,
        default=DEFAULT_ROOT,
        help="folder holding migrations/, sql/ and pgtap_tests/upgrade/ (default: this checkout)",
    )
    parser.add_argument(
        "--dsn",
        default=os.environ.get("CONCORD_DSN"),
        help="superuser connection to the server to use (default: $CONCORD_DSN)",
    )
    parser.add_argument(
        "--only",
        type=int,
        metavar="VERSION",
        help="check the upgrade to this migration only (the fresh install is still made)",
    )
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error("no server: set CONCORD_DSN or pass --dsn")
    root = args.root.resolve()

    tap = Tap()
    try:
        migrations = discover_migrations(root / "migrations")
    except MigrationError as exc:  # misnamed or no migrations
        tap.result(False, "migrations are found", str(exc))
        return tap.finish()

    if args.only is not None and args.only not in {m.version for m in migrations}:
        tap.result(False, f"migration {args.only} is found", "--only names no migration here")
        return tap.finish()

    with databases(args.dsn) as server:
        harness = Harness(root, server, tap)
        fresh_dump = harness.fresh_install()
        for migration in migrations:
            if args.only is None or migration.version == args.only:
                harness.upgrade(migration, fresh_dump)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
