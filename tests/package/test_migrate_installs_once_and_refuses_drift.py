"""``concord migrate``, driven as users drive it: a subprocess of ``python -m concord``
(and the ``concord`` console script when it is installed), against empty databases.

A catalog fingerprint of schema ``concord`` (functions with their source, settings and
grants; tables, columns, defaults, constraints, indexes, triggers, views, comments) plus
a digest of every row of every table tells whether a run changed anything.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from concord.errors import MigrationError
from concord.migrate import discover_sql_files, migrate

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "migrations"
SQL_DIR = ROOT / "sql"
PG_ENV = {
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGPASSFILE",
}

EXTRA_MIGRATION = "CREATE TABLE concord.extra_probe (id integer PRIMARY KEY);\n"

# The migrations this checkout ships, and the version a test's extra migration takes.
SHIPPED = sorted(MIGRATIONS.glob("*.sql"))
SHIPPED_VERSIONS = [int(p.name[:4]) for p in SHIPPED]
NEXT = max(SHIPPED_VERSIONS) + 1


def extra(name: str = "extra") -> str:
    """The file name of a test migration that comes after every shipped one."""
    return f"{NEXT:04d}_{name}.sql"


CATALOG = """
SELECT item FROM (
    SELECT concat_ws(' ', 'function', p.oid::regprocedure, md5(p.prosrc), p.provolatile,
                     p.prosecdef, p.prokind, p.proconfig, p.proacl,
                     pg_get_userbyid(p.proowner), obj_description(p.oid, 'pg_proc'))
    FROM pg_proc AS p WHERE p.pronamespace = 'concord'::regnamespace
    UNION ALL
    SELECT concat_ws(' ', 'relation', c.relname, c.relkind, c.relacl, obj_description(c.oid))
    FROM pg_class AS c WHERE c.relnamespace = 'concord'::regnamespace
    UNION ALL
    SELECT concat_ws(' ', 'column', c.relname || '.' || a.attname,
                     format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
                     pg_get_expr(d.adbin, d.adrelid))
    FROM pg_attribute AS a
    INNER JOIN pg_class AS c ON a.attrelid = c.oid
    LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = 'concord'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT concat_ws(' ', 'constraint', c.relname, k.conname, pg_get_constraintdef(k.oid))
    FROM pg_constraint AS k INNER JOIN pg_class AS c ON k.conrelid = c.oid
    WHERE k.connamespace = 'concord'::regnamespace
    UNION ALL
    SELECT concat_ws(' ', 'index', pg_get_indexdef(i.indexrelid))
    FROM pg_index AS i INNER JOIN pg_class AS c ON i.indexrelid = c.oid
    WHERE c.relnamespace = 'concord'::regnamespace
    UNION ALL
    SELECT concat_ws(' ', 'trigger', pg_get_triggerdef(t.oid), t.tgenabled)
    FROM pg_trigger AS t INNER JOIN pg_class AS c ON t.tgrelid = c.oid
    WHERE c.relnamespace = 'concord'::regnamespace AND NOT t.tgisinternal
    UNION ALL
    SELECT concat_ws(' ', 'view', c.relname, pg_get_viewdef(c.oid))
    FROM pg_class AS c WHERE c.relnamespace = 'concord'::regnamespace AND c.relkind IN ('v', 'm')
    UNION ALL
    SELECT concat_ws(' ', 'schema', n.nspname, n.nspacl)
    FROM pg_namespace AS n WHERE n.nspname = 'concord'
    UNION ALL
    SELECT concat_ws(' ', 'extension', e.extname, e.extversion) FROM pg_extension AS e
) AS catalog (item)
ORDER BY item
"""


def fingerprint(dsn: str) -> list[str]:
    """Every definition in schema concord, and a digest of every table's rows."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        items = [row[0] for row in conn.execute(CATALOG).fetchall()]
        tables = conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'concord'::regnamespace "
            "AND relkind = 'r' ORDER BY relname"
        ).fetchall()
        for (table,) in tables:
            digest = conn.execute(
                sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
                    " FROM concord.{} AS t"
                ).format(sql.Identifier(table))
            ).fetchone()
            items.append(f"rows {table} {digest[0]} {digest[1]}")
    return items


def history(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            "SELECT version, name, checksum, applied_at FROM concord.schema_migrations "
            "ORDER BY version"
        ).fetchall()


def exists(dsn: str, relation: str) -> bool:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (relation,)).fetchone()[0]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def console_script() -> str | None:
    beside = Path(sys.executable).parent / "concord"
    return str(beside) if beside.exists() else shutil.which("concord")


def command(runner: str) -> list[str]:
    if runner == "module":
        return [sys.executable, "-m", "concord"]
    script = console_script()
    if script is None:
        pytest.skip("the `concord` console script is not installed in this environment")
    return [script]


def cli(
    *args: str, dsn: str | None = None, runner: str = "module", wait: bool = True
) -> subprocess.CompletedProcess | subprocess.Popen:
    """Run ``concord migrate ARGS`` with no PG* variables and CONCORD_DSN only if given."""
    env = {k: v for k, v in os.environ.items() if k not in PG_ENV and k != "CONCORD_DSN"}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "python"), env.get("PYTHONPATH")) if p
    )
    if dsn is not None:
        env["CONCORD_DSN"] = dsn
    argv = [*command(runner), "migrate", *args]
    if not wait:
        return subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)


def copy_migrations(tmp_path: Path, **extra: str) -> Path:
    """A copy of migrations/ plus extra files (name -> SQL)."""
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    for name, text in extra.items():
        (folder / name).write_text(text)
    return folder


@pytest.mark.parametrize("runner", ["module", "console_script"])
def test_migrate_installs_a_fresh_database(fresh_dsn: str, runner: str) -> None:
    """Rule: one command makes an empty database complete, and records each migration
    with its name and sha256 checksum."""
    run = cli("--dsn", fresh_dsn, runner=runner)
    assert run.returncode == 0, run.stderr
    sql_files = discover_sql_files(SQL_DIR)
    migrations = sorted(MIGRATIONS.glob("*.sql"))
    for path in migrations:
        assert f"applying {path.name}" in run.stdout
    assert f"sql: re-applied {len(sql_files)} files" in run.stdout
    rows = history(fresh_dsn)
    assert [(v, n, c) for v, n, c, _ in rows] == [
        (int(p.name[:4]), p.stem[5:], sha256(p)) for p in migrations
    ]
    assert rows[0][:2] == (1, "kernel")
    assert all(len(c) == 64 and applied is not None for _, _, c, applied in rows)
    with psycopg.connect(fresh_dsn, autocommit=True) as conn:
        assert conn.execute(
            "SELECT to_regprocedure('concord.submit_command(text, jsonb, text, text, jsonb, "
            "text, text)') IS NOT NULL"
        ).fetchone()[0]
        assert conn.execute("SELECT count(*) FROM concord.command_statuses").fetchone()[0] == 15


def test_the_fingerprint_sees_a_changed_body_grant_trigger_and_row(fresh_dsn: str) -> None:
    """The checker of the tests below works: a replaced function body, a revoked grant, a
    disabled trigger and a changed row each change the fingerprint."""
    migrate(fresh_dsn)
    changes = [
        "CREATE OR REPLACE FUNCTION concord._new_trace_id() RETURNS text LANGUAGE plpgsql "
        "VOLATILE SET search_path = concord, pg_temp AS $$ BEGIN RETURN 'x'; END $$",
        "REVOKE EXECUTE ON FUNCTION concord.get_command(uuid) FROM concord_app",
        "ALTER TABLE concord.domain_events DISABLE TRIGGER events_are_append_only",
        "UPDATE concord.dependency_graph_lock SET edges_added = 7",
    ]
    with psycopg.connect(fresh_dsn, autocommit=True) as conn:
        for change in changes:
            before = fingerprint(fresh_dsn)
            conn.execute(change)
            assert fingerprint(fresh_dsn) != before, change


def test_a_second_run_applies_nothing_and_changes_nothing(fresh_dsn: str) -> None:
    """Rule: migrate is idempotent — a second run applies no migration and leaves every
    definition and every row (schema_migrations included) as it was."""
    assert cli("--dsn", fresh_dsn).returncode == 0
    before = fingerprint(fresh_dsn)
    rows = history(fresh_dsn)
    run = cli("--dsn", fresh_dsn)
    assert run.returncode == 0, run.stderr
    assert "migrations: nothing to apply" in run.stdout
    assert "applying" not in run.stdout
    assert migrate(fresh_dsn) == []
    assert fingerprint(fresh_dsn) == before
    assert history(fresh_dsn) == rows


def test_status_lists_applied_and_pending_versions(fresh_dsn: str, tmp_path: Path) -> None:
    """Rule: --status reports what is applied (with its checksum) and what is pending,
    and applies nothing."""
    folder = copy_migrations(tmp_path, **{extra(): EXTRA_MIGRATION})
    run = cli("--status", "--dsn", fresh_dsn, "--migrations-dir", str(folder))
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        *(f"pending  {p.stem}" for p in SHIPPED),
        f"pending  {NEXT:04d}_extra",
        f"0 applied, {len(SHIPPED) + 1} pending",
    ]
    assert cli("--dsn", fresh_dsn).returncode == 0
    run = cli("--status", "--dsn", fresh_dsn, "--migrations-dir", str(folder))
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        *(f"applied  {p.stem}  {sha256(p)[:12]}" for p in SHIPPED),
        f"pending  {NEXT:04d}_extra",
        f"{len(SHIPPED)} applied, 1 pending",
    ]
    assert [r[0] for r in history(fresh_dsn)] == SHIPPED_VERSIONS
    assert not exists(fresh_dsn, "concord.extra_probe")


def test_an_edited_applied_migration_is_refused(fresh_dsn: str, tmp_path: Path) -> None:
    """Rule: a released migration is never edited — one changed byte in an applied file
    makes migrate refuse, name the file, and apply nothing (not even pending ones)."""
    folder = copy_migrations(tmp_path)
    assert cli("--dsn", fresh_dsn, "--migrations-dir", str(folder)).returncode == 0
    before, rows = fingerprint(fresh_dsn), history(fresh_dsn)
    applied = folder / "0001_kernel.sql"
    data = bytearray(applied.read_bytes())
    at = data.index(b"kernel")
    data[at] = ord("K")
    applied.write_bytes(bytes(data))
    (folder / extra()).write_text(EXTRA_MIGRATION)
    run = cli("--dsn", fresh_dsn, "--migrations-dir", str(folder))
    assert run.returncode != 0
    assert "refusing to migrate" in run.stderr
    assert "0001_kernel.sql was edited after it was applied" in run.stderr
    assert "applying" not in run.stdout
    assert not exists(fresh_dsn, "concord.extra_probe")
    assert history(fresh_dsn) == rows
    assert fingerprint(fresh_dsn) == before


def test_a_database_newer_than_the_checkout_is_refused(fresh_dsn: str, tmp_path: Path) -> None:
    """Rule: when the database knows a version this checkout lacks, migrate refuses."""
    folder = copy_migrations(tmp_path, **{extra(): EXTRA_MIGRATION})
    assert cli("--dsn", fresh_dsn, "--migrations-dir", str(folder)).returncode == 0
    assert [r[0] for r in history(fresh_dsn)] == [*SHIPPED_VERSIONS, NEXT]
    before = fingerprint(fresh_dsn)
    run = cli("--dsn", fresh_dsn)
    assert run.returncode != 0
    assert f"version {NEXT} (extra) is applied but has no file here" in run.stderr
    assert fingerprint(fresh_dsn) == before


def test_two_concurrent_runners_apply_each_migration_once(fresh_dsn: str, tmp_path: Path) -> None:
    """Rule: the advisory lock keeps two runners from interleaving — both succeed and
    every migration is applied exactly once. A slow last migration keeps the first runner
    inside its migrations while the second starts."""
    folder = copy_migrations(
        tmp_path,
        **{extra("slow"): "SELECT pg_sleep(1);\n" + EXTRA_MIGRATION},
    )
    runners = [
        cli("--dsn", fresh_dsn, "--migrations-dir", str(folder), wait=False) for _ in range(2)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in runners]
    for code, _out, err in results:
        assert code == 0, err
    outputs = "".join(out for _code, out, _err in results)
    for path in SHIPPED:
        assert outputs.count(f"applying {path.name}") == 1
    assert outputs.count(f"applying {extra('slow')}") == 1
    assert outputs.count("migrations: nothing to apply") == 1
    assert [(v, n) for v, n, _c, _a in history(fresh_dsn)] == [
        *((int(p.name[:4]), p.stem[5:]) for p in SHIPPED),
        (NEXT, "slow"),
    ]


def test_a_failing_migration_rolls_back_entirely(fresh_dsn: str, tmp_path: Path) -> None:
    """Rule: one migration, one transaction — a migration that fails leaves no row in
    schema_migrations and none of its objects, and migrate exits non-zero naming it.
    Fixed, it applies."""
    folder = copy_migrations(tmp_path)
    assert cli("--dsn", fresh_dsn, "--migrations-dir", str(folder)).returncode == 0
    before, rows = fingerprint(fresh_dsn), history(fresh_dsn)
    broken = folder / extra("broken")
    broken.write_text(
        "CREATE TABLE concord.partial_probe (id integer);\n"
        "INSERT INTO concord.partial_probe VALUES (1);\n"
        "SELECT concord.no_such_function();\n"
    )
    run = cli("--dsn", fresh_dsn, "--migrations-dir", str(folder))
    assert run.returncode != 0
    assert extra("broken") in run.stderr and "no_such_function" in run.stderr
    assert not exists(fresh_dsn, "concord.partial_probe")
    assert history(fresh_dsn) == rows
    assert fingerprint(fresh_dsn) == before
    broken.write_text(EXTRA_MIGRATION)
    run = cli("--dsn", fresh_dsn, "--migrations-dir", str(folder))
    assert run.returncode == 0, run.stderr
    assert [r[0] for r in history(fresh_dsn)] == [*SHIPPED_VERSIONS, NEXT]


def test_a_failing_sql_file_rolls_back_every_sql_file(fresh_dsn: str, tmp_path: Path) -> None:
    """Rule: the repeatable sql/ files are applied all or nothing."""
    assert cli("--dsn", fresh_dsn).returncode == 0
    before = fingerprint(fresh_dsn)
    folder = tmp_path / "sql"
    shutil.copytree(SQL_DIR, folder)
    with (folder / "commands" / "views.sql").open("a") as views:
        views.write("\nCREATE VIEW concord.probe_view AS SELECT 1 AS one;\n")
    (folder / "zz").mkdir()
    (folder / "zz" / "broken.sql").write_text("CREATE FUNCTION concord.broken( RETURNS;\n")
    with (folder / "load_order").open("a") as order:
        order.write("zz/broken.sql\n")
    run = cli("--dsn", fresh_dsn, "--sql-dir", str(folder))
    assert run.returncode != 0
    assert "zz/broken.sql" in run.stderr
    assert not exists(fresh_dsn, "concord.probe_view")
    assert fingerprint(fresh_dsn) == before


def test_the_load_order_names_every_sql_file_once(tmp_path: Path) -> None:
    """Rule: sql/load_order lists every .sql file under sql/ exactly once, and each entry
    is a file: a file left out, a missing file or a repeated one is an error, never a
    silent skip."""
    listed = discover_sql_files(SQL_DIR)
    assert sorted(listed) == sorted(SQL_DIR.rglob("*.sql"))
    assert listed[-1].parent.name == "privileges", "grants must come after every object"

    folder = tmp_path / "sql"
    shutil.copytree(SQL_DIR, folder)
    (folder / "commands" / "stray.sql").write_text("SELECT 1;\n")
    with pytest.raises(MigrationError, match="does not list commands/stray.sql"):
        discover_sql_files(folder)
    (folder / "commands" / "stray.sql").unlink()
    with (folder / "load_order").open("a") as order:
        order.write("commands/absent.sql\n")
    with pytest.raises(MigrationError, match="commands/absent.sql is not a .sql file"):
        discover_sql_files(folder)
    order_text = (SQL_DIR / "load_order").read_text()
    first = next(line for line in order_text.splitlines() if line and not line.startswith("#"))
    (folder / "load_order").write_text(order_text + first + "\n")
    with pytest.raises(MigrationError, match="listed twice"):
        discover_sql_files(folder)


def test_a_misnamed_migration_is_refused(fresh_dsn: str, tmp_path: Path) -> None:
    """Rule: a migration that does not follow NNNN_short_name.sql is an error, never
    silently skipped."""
    folder = copy_migrations(tmp_path, **{"2_extra.sql": EXTRA_MIGRATION})
    run = cli("--dsn", fresh_dsn, "--migrations-dir", str(folder))
    assert run.returncode != 0
    assert "2_extra.sql: migration files are named NNNN_short_name.sql" in run.stderr
    assert not exists(fresh_dsn, "concord.schema_migrations")


def test_the_dsn_comes_from_concord_dsn_when_dsn_is_absent(fresh_dsn: str) -> None:
    """Rule: without --dsn, migrate uses $CONCORD_DSN."""
    run = cli(dsn=fresh_dsn)
    assert run.returncode == 0, run.stderr
    assert [r[:2] for r in history(fresh_dsn)] == [(int(p.name[:4]), p.stem[5:]) for p in SHIPPED]


@pytest.mark.parametrize("runner", ["module", "console_script"])
def test_no_dsn_at_all_is_a_clear_error(runner: str) -> None:
    """Rule: with neither --dsn nor $CONCORD_DSN, migrate says so and exits non-zero."""
    run = cli(runner=runner)
    assert run.returncode != 0
    assert "no database given: pass --dsn or set CONCORD_DSN" in run.stderr
    assert run.stdout == ""


def test_target_stops_after_a_version_and_no_sql_skips_the_sql_files(
    fresh_dsn: str, tmp_path: Path
) -> None:
    """Rule: --target N applies nothing after N; --no-sql leaves sql/ unapplied (the
    upgrade harness installs old versions this way)."""
    folder = copy_migrations(tmp_path, **{extra(): EXTRA_MIGRATION})
    run = cli("--dsn", fresh_dsn, "--migrations-dir", str(folder), "--target", "1", "--no-sql")
    assert run.returncode == 0, run.stderr
    assert [r[0] for r in history(fresh_dsn)] == [1]
    assert not exists(fresh_dsn, "concord.extra_probe")
    assert not exists(fresh_dsn, "concord.commands_by_status")
    run = cli("--dsn", fresh_dsn, "--migrations-dir", str(folder))
    assert run.returncode == 0, run.stderr
    assert [r[0] for r in history(fresh_dsn)] == [*SHIPPED_VERSIONS, NEXT]
    assert exists(fresh_dsn, "concord.commands_by_status")


def test_an_unreachable_database_is_a_clear_error(server_dsn: str) -> None:
    """Rule: a connection failure is reported on one line and exits non-zero."""
    name = f"concord_missing_{os.getpid()}"
    run = cli("--dsn", make_conninfo("", **{**conninfo_to_dict(server_dsn), "dbname": name}))
    assert run.returncode == 1
    assert run.stderr.startswith("concord: ")
    assert name in run.stderr
    assert "Traceback" not in run.stderr


def migrate_status(dsn: str) -> subprocess.CompletedProcess:
    """``python -m concord migrate --status --dsn DSN``, with this checkout's package."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "CONCORD_DSN"}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "python"), env.get("PYTHONPATH")) if p
    )
    return subprocess.run(
        [sys.executable, "-m", "concord", "migrate", "--status", "--dsn", dsn],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_status_flags_an_edited_or_unknown_migration(fresh_dsn: str) -> None:
    """Rule: ``concord migrate --status`` exits 1 and says why when the database records
    a checksum that differs from its file (EDITED: migrate will refuse) or a version this
    checkout has no file for; a clean database exits 0."""
    migrate(fresh_dsn)
    clean = migrate_status(fresh_dsn)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "EDITED" not in clean.stdout

    with psycopg.connect(fresh_dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE concord.schema_migrations SET checksum = repeat('0', 64) WHERE version = 1"
        )
    edited = migrate_status(fresh_dsn)
    assert edited.returncode == 1, edited.stdout + edited.stderr
    kernel = [x for x in edited.stdout.splitlines() if x.startswith("applied  0001_kernel")]
    assert len(kernel) == 1 and "EDITED" in kernel[0], edited.stdout

    with psycopg.connect(fresh_dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE concord.schema_migrations SET checksum = %s WHERE version = 1",
            (checksum_of_kernel(),),
        )
        conn.execute(
            "INSERT INTO concord.schema_migrations (version, name, checksum) "
            "VALUES (9999, 'from_the_future', repeat('f', 64))"
        )
    newer = migrate_status(fresh_dsn)
    assert newer.returncode == 1, newer.stdout + newer.stderr
    future = [x for x in newer.stdout.splitlines() if x.startswith("applied  9999_from_the_future")]
    assert len(future) == 1 and "no file here" in future[0], newer.stdout
    assert "EDITED" not in newer.stdout


def checksum_of_kernel() -> str:
    return hashlib.sha256((ROOT / "migrations" / "0001_kernel.sql").read_bytes()).hexdigest()
