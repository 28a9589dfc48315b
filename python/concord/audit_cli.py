"""``concord audit``: the audit trail's retention (operators only).

``concord audit partitions`` lists the partitions of ``concord.domain_events`` with their
ranges and whether the retention age has passed them; ``concord audit set-retention AGE``
sets that age (``'400 days'``, or ``none`` to keep everything); ``concord audit retain
--dir DIR`` exports each due partition to ``DIR`` (a CSV file and its ``.sha256``) and
drops it (:mod:`concord.audit_retention`). Exit codes as the operator's subcommands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .client import Client
from .operator_cli import connection_options, emit, table


@click.group(name="audit")
def audit_group() -> None:
    """The audit trail's partitions and retention (operators only)."""


@audit_group.command(name="partitions")
@connection_options
def partitions(client: Client, as_json: bool) -> None:
    """List the audit trail's partitions: range, estimated rows, due for retention."""
    rows = client.audit_partitions()
    emit(
        as_json,
        rows,
        lambda r: table(
            r, ["partition_name", "range_from", "range_to", "estimated_rows", "is_due"]
        ),
    )


@audit_group.command(name="set-retention")
@click.argument("age")
@connection_options
def set_retention(client: Client, as_json: bool, age: str) -> None:
    """Keep the audit trail for AGE (a PostgreSQL interval such as '400 days'); 'none'
    keeps everything."""
    retain_for = None if age.strip().lower() == "none" else age
    value = client.set_audit_retention(retain_for)
    emit(
        as_json,
        {"retain_for": str(value) if value is not None else None},
        lambda d: f"audit retention: {d['retain_for'] or 'keep everything'}",
    )


@audit_group.command(name="retain")
@click.option(
    "--dir",
    "folder",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder the exported partitions are written to.",
)
@connection_options
def retain(client: Client, as_json: bool, folder: Path) -> None:
    """Export each partition past the retention age to DIR (<partition>.csv and
    <partition>.csv.sha256), then drop it; the drop is recorded in the audit trail."""
    done = client.retain_audit(folder)
    rows: list[dict[str, Any]] = [
        {
            "partition_name": d.partition_name,
            "rows": d.rows,
            "file": str(d.file),
            "sha256": d.sha256,
        }
        for d in done
    ]
    emit(
        as_json,
        rows,
        lambda r: table(r, ["partition_name", "rows", "file", "sha256"]) if r else "nothing is due",
    )
