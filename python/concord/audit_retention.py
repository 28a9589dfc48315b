"""Retention of the audit trail: export each month partition of ``concord.domain_events``
that the retention age has passed, then drop it in the database.

For each due partition (``concord.audit_partitions()``, ``is_due``), in one transaction:

1. ``COPY (SELECT * FROM concord.audit_partition_rows(name)) TO STDOUT`` as CSV with a
   header into ``DIR/<partition>.csv.part``, fsynced, renamed to ``<partition>.csv`` (or
   ``<partition>.2.csv``... when that holds another export of a partition of that name:
   an export is never written over);
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
import re
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


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _export_name(folder: Path, partition_name: str, checksum: str) -> tuple[Path, bool]:
    """The file an export of ``checksum`` goes to, and whether it is there already.

    ``<partition>.csv`` unless that holds another export: a month dropped and later caught
    again (a row dated in it) gets a partition of the same name, and its export must not
    replace the first one; it goes to ``<partition>.2.csv`` (then ``.3``...). The same
    export again (a run killed before its drop committed) reuses its file."""
    n = 1
    while True:
        final = folder / (f"{partition_name}.csv" if n == 1 else f"{partition_name}.{n}.csv")
        if not final.exists():
            return final, False
        if _file_sha256(final) == checksum:
            return final, True
        n += 1


def export_partition(
    cur: psycopg.Cursor, partition_name: str, folder: Path, written: list[Path] | None = None
) -> tuple[Path, int, str]:
    """Write one partition's rows to ``folder/<partition>.csv`` (or beside an earlier,
    different export of that name) and its checksum file; return the file, the rows
    written and their sha256. Each file this call created is appended to ``written``."""
    written = [] if written is None else written
    partial = folder / f"{partition_name}.csv.part"
    digest = hashlib.sha256()
    # the same rows read the same whatever the session's settings
    cur.execute("SET LOCAL TimeZone = 'UTC'")
    cur.execute("SET LOCAL DateStyle = 'ISO, YMD'")
    cur.execute("SET LOCAL IntervalStyle = 'postgres'")
    copy = sql.SQL(
        "COPY (SELECT * FROM concord.audit_partition_rows({})) TO STDOUT (FORMAT csv, HEADER)"
    ).format(sql.Literal(partition_name))
    written.append(partial)
    with open(partial, "wb") as out:
        with cur.copy(copy) as stream:
            for chunk in stream:
                data = bytes(chunk)
                digest.update(data)
                out.write(data)
        rows = cur.rowcount
        out.flush()
        os.fsync(out.fileno())
    checksum = digest.hexdigest()
    final, already = _export_name(folder, partition_name, checksum)
    if already:
        partial.unlink()
    else:
        os.replace(partial, final)
        written.append(final)
    sums = folder / f"{final.name}.sha256"
    line = f"{checksum}  {final.name}\n"
    if not (sums.exists() and sums.read_text(encoding="ascii") == line):
        if not sums.exists():
            written.append(sums)
        with open(sums, "w", encoding="ascii") as out:
            out.write(line)
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


def export_and_drop(
    cur: psycopg.Cursor, partition_name: str, folder: Path
) -> RetainedPartition | None:
    """Export one partition and drop it, in the transaction of ``cur`` (its caller commits).
    Returns None when the partition is gone (another run dropped it meanwhile).
    On any failure the files this call created are removed (never a file another run
    wrote) and the error propagates: the caller rolls back, and the partition stays."""
    # The name becomes a file name: one a partition created by hand could name a
    # file outside the folder, or break the checksum file's line.
    if not re.fullmatch(r"[A-Za-z0-9_]+", partition_name):
        raise ValueError(f"{partition_name!r} is no plain file name: not exported, not dropped")
    folder.mkdir(parents=True, exist_ok=True)
    # Two runs must not export one partition at once: the loser would fail after the
    # winner's drop and could remove or rewrite the winner's export. The lock is held to
    # the commit; then the partition is gone and the loser does nothing.
    cur.execute(
        "SELECT pg_advisory_xact_lock(hashtext('concord.audit_retain'), hashtext(%s))",
        (partition_name,),
    )
    cur.execute(
        "SELECT count(*) FROM concord.audit_partitions() WHERE partition_name = %s",
        (partition_name,),
    )
    row = cur.fetchone()
    if (row[0] if isinstance(row, tuple) else next(iter(row.values()))) == 0:
        return None
    written: list[Path] = []
    try:
        file, rows, checksum = export_partition(cur, partition_name, folder, written)
        cur.execute(
            "SELECT concord.drop_audit_partition(%s, %s, %s, %s)",
            (partition_name, rows, checksum, file.name),
        )
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return RetainedPartition(partition_name, rows, file, checksum)
