"""An export written by ``concord audit retain`` is never lost (issue 16 section 4): a month
dropped, then caught again (a row dated in it lands in the default partition and the upkeep
gives the month a partition again), is exported beside its first export, not over it; and
two retain runs racing for one partition leave the winner's export in place (the loser
neither deletes nor rewrites it)."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from concord import Client
from concord.audit_retention import export_and_drop
from concord.migrate import migrate
from support.databases import temporary_database


@pytest.fixture()
def dsn(server_dsn: str) -> Iterator[str]:
    with temporary_database(server_dsn, "audit_keep") as dsn:
        migrate(dsn)
        with psycopg.connect(dsn) as conn:
            conn.execute("SELECT concord.set_audit_retention('1 second')")
        yield dsn


def write_rows(dsn: str, day: str, count: int) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(
            """INSERT INTO concord.domain_events (purpose, event_type, actor, trace_id, created_at)
               SELECT 'event', 'old_note', 'tester', 'trace_keep', %s::timestamptz
               FROM generate_series(1, %s)""",
            (day, count),
        )


def exported_rows(folder: Path) -> int:
    """Rows in every export of the folder, each checked against its sha256 file."""
    total = 0
    for sums in sorted(folder.glob("*.sha256")):
        check = subprocess.run(["sha256sum", "-c", sums.name], cwd=folder, capture_output=True)
        assert check.returncode == 0, check.stdout + check.stderr
        with open(folder / sums.name.removesuffix(".sha256"), newline="") as f:
            total += sum(1 for _ in f) - 1
    return total


def test_a_month_caught_again_is_exported_beside_its_first_export(dsn: str, tmp_path: Path) -> None:
    with Client(dsn) as client:
        client.retain_audit(tmp_path)  # the initial partition goes
        write_rows(dsn, "2025-03-10", 3)
        first = client.retain_audit(tmp_path)
        assert [p.partition_name for p in first] == ["domain_events_2025_03"]
        initial = exported_rows(tmp_path) - 3
        write_rows(dsn, "2025-03-20", 1)  # the month again, after its partition went
        second = client.retain_audit(tmp_path)
        assert [p.partition_name for p in second] == ["domain_events_2025_03"]
        assert second[0].file != first[0].file, "the first export is not written over"
    assert exported_rows(tmp_path) == initial + 4, "every row dropped is in an export"


def test_two_runs_racing_for_a_partition_leave_the_winners_export(dsn: str, tmp_path: Path) -> None:
    write_rows(dsn, "2025-01-10", 5)
    with psycopg.connect(dsn) as winner, winner.cursor() as cur:
        won = export_and_drop(cur, "domain_events_initial", tmp_path)
        assert won is not None and won.rows == 5

        outcome: list[object] = []

        def loser() -> None:
            with psycopg.connect(dsn) as conn, conn.cursor() as lcur:
                try:
                    outcome.append(export_and_drop(lcur, "domain_events_initial", tmp_path))
                except psycopg.Error as refused:
                    outcome.append(refused)

        racer = threading.Thread(target=loser)
        racer.start()
        with psycopg.connect(dsn, autocommit=True) as watch:
            for _ in range(200):
                waiting = watch.execute(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())"
                ).fetchone()[0]
                if waiting:
                    break
                time.sleep(0.05)
            assert waiting, "the second run waits for the first"
        winner.commit()
        racer.join(timeout=60)
    assert (tmp_path / "domain_events_initial.csv").exists(), "the winner's export is kept"
    assert exported_rows(tmp_path) == 5
    assert outcome == [None], "the second run finds the partition gone and does nothing"


def test_a_run_killed_before_its_drop_committed_is_run_again_safely(
    dsn: str, tmp_path: Path
) -> None:
    write_rows(dsn, "2025-01-10", 4)
    killed = psycopg.connect(dsn)
    with killed.cursor() as cur:
        export_and_drop(cur, "domain_events_initial", tmp_path)
    killed.close()  # the drop never commits; its files stay behind
    first = (tmp_path / "domain_events_initial.csv").read_bytes()
    write_rows(dsn, "2025-01-11", 1)  # a row arrives before the next run
    with Client(dsn) as client:
        [again] = client.retain_audit(tmp_path)
    assert again.rows == 5
    assert (tmp_path / "domain_events_initial.csv").read_bytes() == first, "not written over"
    assert again.file.name == "domain_events_initial.2.csv"
    with psycopg.connect(dsn) as conn:
        assert conn.execute(
            "SELECT to_regclass('concord_audit.domain_events_initial') IS NULL"
        ).fetchone()[0]


def test_a_partition_name_that_is_no_plain_file_name_is_not_exported(
    dsn: str, tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    with psycopg.connect(dsn) as conn:
        conn.execute("DROP TABLE concord_audit.domain_events_initial")
        conn.execute(
            """CREATE TABLE concord_audit."../escaped" PARTITION OF concord.domain_events
               FOR VALUES FROM ('2024-01-01') TO ('2024-02-01')"""
        )
        conn.execute("""ALTER TABLE concord_audit."../escaped" OWNER TO concord_owner""")
        conn.execute("SELECT concord._guard_audit_partition('../escaped')")
    with Client(dsn) as client, pytest.raises(ValueError):
        client.retain_audit(folder)
    assert not (tmp_path / "escaped.csv").exists()
    assert not (tmp_path / "escaped.csv.part").exists()
    with psycopg.connect(dsn) as conn:
        assert conn.execute(
            """SELECT to_regclass('concord_audit."../escaped"') IS NOT NULL"""
        ).fetchone()[0], "the partition stays"
