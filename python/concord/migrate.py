"""Installer and upgrader: ``concord migrate``.

Applies ``migrations/NNNN_*.sql`` in order, each in its own transaction, records
version, name and checksum in ``concord.schema_migrations``, refuses to run when an
applied file changed, then re-applies the ``sql/`` files (functions, triggers, views,
grants) in the order ``sql/load_order`` states, in one transaction. A session-level
advisory lock keeps two concurrent runners from interleaving.

The files come from the folders given, else from the package: a wheel carries
``migrations/`` and ``sql/`` at ``concord/_data/``; an editable install reads the checkout.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from .errors import MigrationError

# pg_advisory_lock key: the bytes "concord" read as an integer.
ADVISORY_LOCK_KEY = 0x636F6E636F7264
MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

BOOTSTRAP_SQL = """
CREATE SCHEMA IF NOT EXISTS concord;
CREATE TABLE IF NOT EXISTS concord.schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL DEFAULT current_user
);
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def checksum(self) -> str:
        return file_checksum(self.path)


@dataclass(frozen=True)
class AppliedMigration:
    version: int
    name: str
    checksum: str


@dataclass(frozen=True)
class MigrationStatus:
    applied: list[AppliedMigration]
    pending: list[Migration]


# Where a wheel puts migrations/ and sql/ (pyproject.toml, tool.hatch.build.targets.wheel).
PACKAGED_DATA = Path(__file__).resolve().parent / "_data"


def project_root() -> Path:
    """The checkout holding ``migrations/`` and ``sql/`` (the package is installed
    editable from it)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "migrations").is_dir() and (parent / "sql").is_dir():
            return parent
    raise MigrationError(
        "cannot find the migrations/ and sql/ folders; pass --migrations-dir and --sql-dir"
    )


def shipped_root() -> Path:
    """The folder holding the ``migrations/`` and ``sql/`` this package ships: the copy
    inside an installed wheel first, else the checkout of an editable install."""
    if (PACKAGED_DATA / "migrations").is_dir() and (PACKAGED_DATA / "sql").is_dir():
        return PACKAGED_DATA
    return project_root()


def resolve_dirs(migrations_dir: Path | None, sql_dir: Path | None) -> tuple[Path, Path]:
    """The given folders, or the shipped ``migrations/`` and ``sql/`` (see
    :func:`shipped_root`) for those not given."""
    if migrations_dir and sql_dir:
        return migrations_dir, sql_dir
    root = shipped_root()
    return migrations_dir or root / "migrations", sql_dir or root / "sql"


def file_checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def discover_migrations(migrations_dir: Path) -> list[Migration]:
    """Every ``NNNN_name.sql`` file, in version order. Any other ``.sql`` file, or two
    files with one version, is an error: a misnamed migration must not be skipped."""
    found: dict[int, Migration] = {}
    for path in sorted(migrations_dir.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if not match:
            raise MigrationError(
                f"{path.name}: migration files are named NNNN_short_name.sql "
                "(four digits, lowercase words)"
            )
        version = int(match.group(1))
        if version in found:
            raise MigrationError(
                f"{path.name} and {found[version].path.name} share version {version}"
            )
        found[version] = Migration(version, match.group(2), path)
    if not found:
        raise MigrationError(f"no migrations found in {migrations_dir}")
    return [found[v] for v in sorted(found)]


LOAD_ORDER = "load_order"


def discover_sql_files(sql_dir: Path) -> list[Path]:
    """The repeatable files in the order ``sql/load_order`` states (one path per line,
    relative to ``sql/``; ``#`` starts a comment). A file on disk that the list does not
    name, or a name with no file, is an error: a forgotten file must not be skipped.
    Releases before the domain folders had no list: their flat ``sql/*.sql`` files load
    in name order."""
    manifest = sql_dir / LOAD_ORDER
    if not manifest.is_file():
        files = sorted(sql_dir.glob("*.sql"))
        if not files:
            raise MigrationError(f"no .sql files found in {sql_dir}")
        return files
    listed: list[Path] = []
    for number, line in enumerate(manifest.read_text().splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        path = sql_dir / entry
        if not entry.endswith(".sql") or not path.is_file():
            raise MigrationError(f"{manifest}:{number}: {entry} is not a .sql file in {sql_dir}")
        if path in listed:
            raise MigrationError(f"{manifest}:{number}: {entry} is listed twice")
        listed.append(path)
    unlisted = sorted(set(sql_dir.rglob("*.sql")) - set(listed))
    if unlisted:
        names = ", ".join(str(p.relative_to(sql_dir)) for p in unlisted)
        raise MigrationError(f"{manifest} does not list {names}: add each where it loads")
    if not listed:
        raise MigrationError(f"{manifest} lists no .sql files")
    return listed


def ensure_bootstrap(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute(BOOTSTRAP_SQL)


def applied_migrations(conn: psycopg.Connection) -> list[AppliedMigration]:
    rows = conn.execute(
        "SELECT version, name, checksum FROM concord.schema_migrations ORDER BY version"
    ).fetchall()
    return [AppliedMigration(*row) for row in rows]


def check_applied(applied: list[AppliedMigration], available: list[Migration]) -> None:
    """Refuse to go on when history and files disagree: an applied file was edited,
    or the database knows a migration this checkout lacks."""
    by_version = {m.version: m for m in available}
    problems = []
    for row in applied:
        migration = by_version.get(row.version)
        if migration is None:
            problems.append(
                f"version {row.version} ({row.name}) is applied but has no file here: "
                "this checkout is older than the database"
            )
        elif migration.checksum != row.checksum:
            problems.append(
                f"{migration.path.name} was edited after it was applied "
                f"(recorded checksum {row.checksum[:12]}…, file {migration.checksum[:12]}…); "
                "released migrations are never edited: add a new migration instead"
            )
    if problems:
        raise MigrationError("refusing to migrate:\n  " + "\n  ".join(problems))


def check_target(target: int | None, available: list[Migration], *, apply_sql: bool = True) -> None:
    """Refuse a target that names no migration here: a mistyped version would otherwise
    install everything up to wherever it happens to fall. Refuse, too, a target older
    than the newest migration when the ``sql/`` files are to be applied: they are written
    for the newest schema, so applying them to an older one would fail after the
    migrations had committed, leaving a half-installed database."""
    if target is None:
        return
    if not any(m.version == target for m in available):
        versions = ", ".join(str(m.version) for m in available)
        raise MigrationError(
            f"target {target} is not a migration version: {available[0].path.parent} holds "
            f"versions {versions}; nothing applied"
        )
    newest = available[-1].version
    if apply_sql and target < newest:
        raise MigrationError(
            f"target {target} is older than these sql/ files, which are written for version "
            f"{newest}: pass --no-sql to apply only the migrations up to {target} (or install "
            f"the release of version {target} with its own sql/); nothing applied"
        )


def apply_migration(conn: psycopg.Connection, migration: Migration) -> None:
    """One migration, one transaction: the file and its history row commit together."""
    sql = migration.path.read_text()
    with conn.transaction():
        conn.execute(sql)
        conn.execute(
            "INSERT INTO concord.schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
            (migration.version, migration.name, migration.checksum),
        )


def apply_sql_files(conn: psycopg.Connection, files: list[Path]) -> None:
    """Repeatable objects, all or nothing. An error names the file by its domain folder
    and name (``commands/submit.sql``)."""
    with conn.transaction():
        for path in files:
            try:
                conn.execute(path.read_text())
            except psycopg.Error as exc:
                raise MigrationError(f"{path.parent.name}/{path.name}: {exc}") from exc


def status(conn: psycopg.Connection, migrations_dir: Path) -> MigrationStatus:
    """Applied and pending migrations; reads only (an empty database has none applied)."""
    available = discover_migrations(migrations_dir)
    installed = conn.execute(
        "SELECT to_regclass('concord.schema_migrations') IS NOT NULL"
    ).fetchone()[0]
    applied = applied_migrations(conn) if installed else []
    done = {row.version for row in applied}
    return MigrationStatus(applied, [m for m in available if m.version not in done])


def _take_lock(conn: psycopg.Connection, poll_seconds: float = 0.1) -> None:
    """Take the installer's session advisory lock, polling rather than waiting inside a
    statement: DBOS's schema migration builds indexes CONCURRENTLY, which waits for every
    open snapshot in the database, so a runner blocked in pg_advisory_lock() would
    deadlock with the runner holding the lock."""
    while not conn.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,)).fetchone()[0]:
        time.sleep(poll_seconds)


def migrate(
    dsn: str,
    migrations_dir: Path | None = None,
    sql_dir: Path | None = None,
    *,
    target: int | None = None,
    apply_sql: bool = True,
    log: Callable[[str], None] = lambda _msg: None,
) -> list[Migration]:
    """Bring the database at ``dsn`` up to date; return the migrations applied.

    ``target`` stops after that version (the upgrade harness installs old versions
    with it); ``apply_sql=False`` skips the repeatable ``sql/`` files.
    """
    migrations_dir, sql_dir = resolve_dirs(migrations_dir, sql_dir)
    available = discover_migrations(migrations_dir)
    check_target(target, available, apply_sql=apply_sql)
    sql_files = discover_sql_files(sql_dir) if apply_sql else []

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        # Session-level lock: held across the per-migration transactions.
        _take_lock(conn)
        try:
            ensure_bootstrap(conn)
            applied = applied_migrations(conn)
            check_applied(applied, available)
            done = {row.version for row in applied}
            pending = [
                m
                for m in available
                if m.version not in done and (target is None or m.version <= target)
            ]
            for migration in pending:
                log(f"applying {migration.path.name}")
                try:
                    apply_migration(conn, migration)
                except psycopg.Error as exc:
                    raise MigrationError(f"{migration.path.name}: {exc}") from exc
            if not pending:
                past = [v for v in done if target is not None and v > target]
                log(
                    f"migrations: nothing to apply (the database is already at version "
                    f"{max(done)}, past target {target})"
                    if past
                    else "migrations: nothing to apply"
                )
            if sql_files:
                # The kernel enqueues DBOS workflows: DBOS's schema comes first.
                from .runtime.schema import install_dbos_schema

                worker_role = conn.execute(
                    "SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = 'concord_worker'"
                ).fetchone()
                install_dbos_schema(dsn, application_role=worker_role[0] if worker_role else None)
                # The kernel's SECURITY DEFINER functions run as concord_owner and
                # enqueue workflows: it needs DBOS's schema too.
                if conn.execute(
                    "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'concord_owner'"
                ).fetchone():
                    install_dbos_schema(dsn, application_role="concord_owner")
                log("dbos: system schema installed")
                apply_sql_files(conn, sql_files)
                log(f"sql: re-applied {len(sql_files)} files")
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    return pending
