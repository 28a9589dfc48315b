"""A command type's payload schema answers promptly: a catastrophic JSON Schema
pattern (in ``pattern`` or ``patternProperties``) fails validation at once, because
PostgreSQL's regex engine runs it, not Python's ``re``; the payload is recorded as failed
with the problem. A rule that needs a clock to test; its SQL side is pinned in pgTAP.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from concord import Client

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
