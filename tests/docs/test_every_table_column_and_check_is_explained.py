"""Every table, column and CHECK constraint of schema concord explains itself (migration
0005 and after), and so does every view and view column (next to the view, in
sql/<domain>/views.sql), so `\\d+` in psql, docs/reference/rules.md and
docs/reference/views.md say what each holds or means. A new table, column, constraint,
view or view column without its COMMENT fails here."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from concord.migrate import migrate
from support.databases import temporary_database

UNEXPLAINED = """
SELECT 'table ' || c.relname FROM pg_class AS c
WHERE c.relnamespace = 'concord'::regnamespace AND c.relkind = 'r'
  AND coalesce(obj_description(c.oid, 'pg_class'), '') = ''
UNION ALL
SELECT 'column ' || c.relname || '.' || a.attname FROM pg_class AS c
JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'concord'::regnamespace AND c.relkind = 'r'
  AND coalesce(col_description(c.oid, a.attnum), '') = ''
UNION ALL
SELECT 'view column ' || c.relname || '.' || a.attname FROM pg_class AS c
JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'concord'::regnamespace AND c.relkind = 'v'
  AND coalesce(col_description(c.oid, a.attnum), '') = ''
UNION ALL
SELECT 'check ' || r.relname || '.' || k.conname FROM pg_constraint AS k
JOIN pg_class AS r ON r.oid = k.conrelid
WHERE k.connamespace = 'concord'::regnamespace AND k.contype = 'c'
  AND coalesce(obj_description(k.oid, 'pg_constraint'), '') = ''
UNION ALL
SELECT 'view ' || c.relname FROM pg_class AS c
WHERE c.relnamespace = 'concord'::regnamespace AND c.relkind = 'v'
  AND coalesce(obj_description(c.oid, 'pg_class'), '') = ''
ORDER BY 1
"""


@pytest.fixture(scope="module")
def installed(server_dsn: str) -> Iterator[str]:
    with temporary_database(server_dsn, "concord_explained") as dsn:
        migrate(dsn)
        yield dsn


def test_every_table_column_check_and_view_has_a_comment(installed: str) -> None:
    with psycopg.connect(installed) as conn:
        missing = [r[0] for r in conn.execute(UNEXPLAINED)]
        counted = conn.execute(
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'concord'::regnamespace "
            "AND relkind = 'r'"
        ).fetchone()[0]
    assert counted > 30, "the check above looked at the tables"
    assert not missing, "without a comment: " + ", ".join(missing)


def test_an_unexplained_column_is_found(installed: str) -> None:
    """The query above sees a column without a comment (its failure is possible)."""
    with psycopg.connect(installed) as conn, conn.transaction(force_rollback=True):
        conn.execute("ALTER TABLE concord.notifications ADD COLUMN probe_unexplained integer")
        missing = [r[0] for r in conn.execute(UNEXPLAINED)]
    assert missing == ["column notifications.probe_unexplained"]


def test_an_unexplained_view_column_is_found(installed: str) -> None:
    """The query above sees a view column without a comment, even when its view has one."""
    with psycopg.connect(installed) as conn, conn.transaction(force_rollback=True):
        conn.execute("CREATE VIEW concord.probe_view AS SELECT 1 AS probe_unexplained")
        conn.execute("COMMENT ON VIEW concord.probe_view IS 'A view that explains itself.'")
        missing = [r[0] for r in conn.execute(UNEXPLAINED)]
    assert missing == ["view column probe_view.probe_unexplained"]
