"""``concord audit retain --dir DIR`` (issue 16 section 4): each month of the audit trail
past the retention age is exported to a CSV file and its sha256 (``sha256sum -c`` checks
it), and only then dropped, the drop recorded in the audit trail; running it again does
nothing; a partition too young, or an export the drop refuses, leaves the partition and no
file behind."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from concord import Client
from concord.audit_retention import export_and_drop
from concord.errors import StateConflict
from concord.migrate import migrate
from support.databases import temporary_database

OLD_ROWS = 25


@pytest.fixture(scope="module")
def dsn(server_dsn: str) -> Iterator[str]:
    with temporary_database(server_dsn, "audit_retain") as dsn:
        migrate(dsn)
        yield dsn


def concord(dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "concord", "audit", *args],
        env={**os.environ, "CONCORD_DSN": dsn, "CONCORD_TOKEN": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )


def old_rows(dsn: str) -> list[str]:
    """Rows from 2025, which the initial partition holds; a payload with what CSV must
    quote (a comma, a quote, a newline). Their event ids, in event_seq order."""
    with psycopg.connect(dsn) as conn:
        return [
            str(r[0])
            for r in conn.execute(
                """INSERT INTO concord.domain_events (purpose, event_type, actor, trace_id,
                       payload, created_at)
                   SELECT 'event', 'old_note', 'tester', 'trace_retain',
                          jsonb_build_object('n', g, 'text', E'a, "quoted"\\nsecond line'),
                          timestamptz '2025-01-01' + g * interval '1 day'
                   FROM generate_series(1, %s) AS g
                   RETURNING event_id""",
                (OLD_ROWS,),
            ).fetchall()
        ]


def test_a_young_partition_is_not_dropped_and_its_files_are_removed(
    dsn: str, tmp_path: Path
) -> None:
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        # retention is off: the drop refuses after the export was written
        with pytest.raises(psycopg.Error) as refused:
            export_and_drop(cur, "domain_events_initial", tmp_path)
        conn.rollback()
        assert refused.value.diag.constraint_name == (
            "an_audit_partition_is_dropped_only_past_its_retention"
        )
        assert list(tmp_path.iterdir()) == [], "a refused drop leaves no export behind"
        assert conn.execute(
            "SELECT to_regclass('concord_audit.domain_events_initial') IS NOT NULL"
        ).fetchone()[0]
    with Client(dsn) as client:
        month = next(p for p in client.audit_partitions() if p["range_from"] is not None)
        with pytest.raises(StateConflict) as too_young:
            client._value(
                "SELECT concord.drop_audit_partition(%s, 0, %s, 'f.csv')",
                (month["partition_name"], "a" * 64),
            )
        assert too_young.value.rule == "an_audit_partition_is_dropped_only_past_its_retention"


def test_retain_exports_checksums_then_drops_and_audits(dsn: str, tmp_path: Path) -> None:
    event_ids = old_rows(dsn)
    assert concord(dsn, "set-retention", "1 second").returncode == 0

    listed = concord(dsn, "partitions", "--json")
    assert listed.returncode == 0, listed.stderr
    due = [p["partition_name"] for p in json.loads(listed.stdout) if p["is_due"]]
    assert due == ["domain_events_initial"]

    run = concord(dsn, "retain", "--dir", str(tmp_path), "--json")
    assert run.returncode == 0, run.stderr
    [dropped] = json.loads(run.stdout)
    assert dropped["partition_name"] == "domain_events_initial"
    assert dropped["rows"] == OLD_ROWS

    exported = tmp_path / "domain_events_initial.csv"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "domain_events_initial.csv",
        "domain_events_initial.csv.sha256",
    ]
    check = subprocess.run(
        ["sha256sum", "-c", "domain_events_initial.csv.sha256"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert dropped["sha256"] in (tmp_path / "domain_events_initial.csv.sha256").read_text()

    with open(exported, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["event_id"] for r in rows] == event_ids, "every row, in event_seq order"
    assert json.loads(rows[0]["payload"])["text"] == 'a, "quoted"\nsecond line'

    with psycopg.connect(dsn) as conn:
        assert (
            conn.execute("SELECT to_regclass('concord_audit.domain_events_initial')").fetchone()[0]
            is None
        )
        assert (
            conn.execute(
                "SELECT count(*) FROM concord.domain_events WHERE trace_id = 'trace_retain'"
            ).fetchone()[0]
            == 0
        )
        recorded = conn.execute(
            "SELECT payload FROM concord.domain_events WHERE event_type = 'audit_partition_dropped'"
        ).fetchall()
    assert [r[0]["rows"] for r in recorded] == [OLD_ROWS]
    assert recorded[0][0]["sha256"] == dropped["sha256"]
    assert recorded[0][0]["file"] == "domain_events_initial.csv"

    again = concord(dsn, "retain", "--dir", str(tmp_path), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == [], "running again finds nothing due"
    assert (
        subprocess.run(
            ["sha256sum", "-c", "domain_events_initial.csv.sha256"],
            cwd=tmp_path,
            capture_output=True,
        ).returncode
        == 0
    ), "and leaves the export as it was"
