"""``concord migrate`` partitions the audit trail by month in UTC whatever the session's
TimeZone and DateStyle (issue 16 section 4): 0009 writes partition bounds as text, and
under TimeZone Asia/Kolkata with DateStyle SQL the bound '... IST' was read back as Israel's
time, so the initial partition ended at 03:30 UTC of a month's first day: the upkeep never
created that month's partition and failed once a row of it reached the default one."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from concord.migrate import migrate
from support.databases import temporary_database


@pytest.fixture()
def dsn(server_dsn: str) -> Iterator[str]:
    with temporary_database(server_dsn, "audit_tz") as dsn:
        yield dsn


def test_partitions_are_utc_months_after_a_migrate_in_another_zone(dsn: str) -> None:
    migrate(f"{dsn} options='-c TimeZone=Asia/Kolkata -c DateStyle=SQL,DMY'")
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        off_month = conn.execute(
            """SELECT partition_name, range_from, range_to FROM concord._audit_partitions()
               WHERE NOT is_default
                 AND (range_to <> date_trunc('month', range_to)
                      OR (isfinite(range_from)
                          AND range_from <> date_trunc('month', range_from)))"""
        ).fetchall()
        assert off_month == [], "every bound is the start of a month in UTC"
        assert conn.execute("SELECT concord.maintain_audit_partitions(3)").fetchone()[0] == 1
