"""Rules that need a clock or a process boundary to test: a catastrophic JSON Schema
pattern fails validation promptly (PostgreSQL's regex engine, not Python's ``re``), and
``concord migrate --status`` exits 1 on an edited or unknown migration. The SQL side of
these rules is pinned in pgTAP.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from concord import Client
from concord.migrate import migrate

ROOT = Path(__file__).resolve().parents[2]

# Python's re backtracks through 2**n ways of splitting n a's before it gives up on the
# "!", in C code that neither statement_timeout nor pg_cancel_backend can interrupt: at
# 60 characters, years. PostgreSQL's engine answers at once.
CATASTROPHIC = "^(a+)+$"
EVIL = "a" * 60 + "!"
PROMPTLY = 5.0  # seconds; the healthy answer takes milliseconds
STATEMENT_TIMEOUT = "10s"
JOIN_TIMEOUT = 15.0  # longer than the statement timeout: a hang is told from a timeout

SCHEMAS: dict[str, dict[str, Any]] = {
    "pattern": {
        "type": "object",
        "properties": {"s": {"type": "string", "pattern": CATASTROPHIC}},
    },
    "patternProperties": {
        "type": "object",
        "patternProperties": {CATASTROPHIC: {"type": "integer"}},
        "additionalProperties": False,
    },
}
PAYLOADS: dict[str, dict[str, Any]] = {"pattern": {"s": EVIL}, "patternProperties": {EVIL: 1}}
EXPECTED: dict[str, list[tuple[str, str]]] = {
    "pattern": [("$.s", "pattern")],
    "patternProperties": [("$", "additionalProperties")],
}


@pytest.mark.parametrize("keyword", sorted(SCHEMAS))
def test_a_catastrophic_pattern_fails_validation_promptly(
    client: Client, concord_dsn: str, keyword: str
) -> None:
    """Rule: JSON Schema patterns (pattern, patternProperties and the property matching
    of additionalProperties) run on PostgreSQL's interruptible regex engine, so
    ^(a+)+$ against 60 a's and a "!" returns at once: the command is recorded as failed
    with the pattern problem listed, and no backend hangs."""
    command_type = client.register_command_type(
        {
            "command_type": f"test.catastrophic_{uuid.uuid4().hex[:12]}",
            "sync_allowed": True,
            "payload_schema": SCHEMAS[keyword],
        }
    )
    outcome: dict[str, Any] = {}

    def submit() -> None:
        try:
            with psycopg.connect(concord_dsn, autocommit=True) as conn:
                outcome["pid"] = conn.info.backend_pid
                conn.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")
                outcome["row"] = conn.execute(
                    "SELECT status, errors FROM concord.submit_command(%s, %s, 'pytest')",
                    (command_type, Jsonb(PAYLOADS[keyword])),
                ).fetchone()
        except BaseException as exc:  # reported by the main thread
            outcome["error"] = exc

    started = time.monotonic()
    worker = threading.Thread(target=submit, name=f"catastrophic-{keyword}", daemon=True)
    worker.start()
    worker.join(JOIN_TIMEOUT)
    elapsed = time.monotonic() - started
    if worker.is_alive():
        with psycopg.connect(concord_dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_cancel_backend(%s)", (outcome.get("pid"),))
        pytest.fail(
            f"{keyword} {CATASTROPHIC!r} against {EVIL!r} still runs after {elapsed:.0f} s "
            f"despite statement_timeout = {STATEMENT_TIMEOUT} (backend {outcome.get('pid')}): "
            "the pattern is matched by code that cannot be interrupted"
        )
    assert "error" not in outcome, f"submit_command raised {outcome.get('error')!r}"
    assert elapsed < PROMPTLY, f"validation took {elapsed:.1f} s"
    status, errors = outcome["row"]
    assert status == "failed"
    assert [(e["path"], e["keyword"]) for e in errors] == EXPECTED[keyword]
    assert all(CATASTROPHIC in e["message"] for e in errors), errors


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
