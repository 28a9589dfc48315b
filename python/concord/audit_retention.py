"""Retention of the audit trail: export each month partition of ``concord.domain_events``
that the retention age has passed, then drop it in the database.

For each due partition (``concord.audit_partitions()``, ``is_due``), in one transaction:

1. ``COPY (SELECT * FROM concord.audit_partition_rows(name)) TO STDOUT`` as CSV with a
   header into ``DIR/<partition>.csv.part``, fsynced, renamed to ``<partition>.csv``;
2. ``<partition>.csv.sha256`` beside it, in ``sha256sum`` format (``sha256sum -c`` checks
   it), fsynced with the folder;
3. ``concord.drop_audit_partition(name, rows, sha256, file)``, which counts the partition's
   rows under a lock, refuses unless they are the rows exported and the month is past the
   retention age, records the drop in the audit trail and drops the partition.

Nothing is half done: a refusal or a crash before the commit leaves the partition in place
(its files are removed on a refusal, and a later run writes them again), and a partition
dropped is gone from the list, so running again is safe.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

CHUNK = 1 << 20


@dataclass(frozen=True)
class RetainedPartition:
    """One partition exported and dropped."""

    partition_name: str
    rows: int
    file: Path
    sha256: str


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def export_partition(
    cur: psycopg.Cursor, partition_name: str, folder: Path
) -> tuple[Path, int, str]:
    """Write one partition's rows to ``folder/<partition>.csv`` and its checksum file;
    return the file, the rows written and their sha256."""
    final = folder / f"{partition_name}.csv"
    partial = folder / f"{partition_name}.csv.part"
    digest = hashlib.sha256()
    # the same rows read the same whatever the session's settings
    cur.execute("SET LOCAL TimeZone = 'UTC'")
    cur.execute("SET LOCAL DateStyle = 'ISO, YMD'")
    cur.execute("SET LOCAL IntervalStyle = 'postgres'")
    copy = sql.SQL(
        "COPY (SELECT * FROM concord.audit_partition_rows({})) TO STDOUT (FORMAT csv, HEADER)"
    ).format(sql.Literal(partition_name))
    with open(partial, "wb") as out:
        with cur.copy(copy) as stream:
            for chunk in stream:
                data = bytes(chunk)
                digest.update(data)
                out.write(data)
        rows = cur.rowcount
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, final)
    checksum = digest.hexdigest()
    sums = folder / f"{final.name}.sha256"
    with open(sums, "w", encoding="ascii") as out:
        out.write(f"{checksum}  {final.name}\n")
        out.flush()
        os.fsync(out.fileno())
    _fsync_dir(folder)
    return final, rows, checksum


def due_partitions(cur: psycopg.Cursor) -> list[str]:
    """Create the coming months' partitions, then name the partitions past the retention
    age, oldest first."""
    cur.execute("SELECT concord.maintain_audit_partitions()")
    cur.execute(
        "SELECT partition_name FROM concord.audit_partitions() WHERE is_due ORDER BY range_to"
    )
    return [row[0] if isinstance(row, tuple) else row["partition_name"] for row in cur.fetchall()]


def export_and_drop(cur: psycopg.Cursor, partition_name: str, folder: Path) -> RetainedPartition:
    """Export one partition and drop it, in the transaction of ``cur`` (its caller commits).
    On any failure the files written are removed and the error propagates: the caller
    rolls back, and the partition stays."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        file, rows, checksum = export_partition(cur, partition_name, folder)
        cur.execute(
            "SELECT concord.drop_audit_partition(%s, %s, %s, %s)",
            (partition_name, rows, checksum, file.name),
        )
    except BaseException:
        for suffix in (".csv", ".csv.sha256", ".csv.part"):
            (folder / f"{partition_name}{suffix}").unlink(missing_ok=True)
        raise
    return RetainedPartition(partition_name, rows, file, checksum)
