"""A memory that needs a person is a candidate until its write is approved (spec 23,
issue §4), and an approval decides only what its approver saw:

1. A rejected sensitive memory is never active, whatever UPDATE ran meanwhile.
2. An approved candidate supersedes only the memory its approver saw, never a newer
   active memory of the same key (the approved write runs on a real worker).
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from support.swarms import memory_scope, one, status_of
from support.workers import WorkerProcess, wait_for


def test_a_rejected_sensitive_memory_is_never_active(swarm_conn: psycopg.Connection) -> None:
    """Issue §4: a sensitive memory is "a candidate that needs approval". As with a
    governed command (which reaches queued/running only once its approvals are
    approved, whoever writes), a candidate whose write waits for approval cannot be
    made active by a direct UPDATE; and a write the approver rejects leaves no active
    memory behind for search_memory to return."""
    conn = swarm_conn
    scope = memory_scope()
    stored = one(
        conn,
        "SELECT concord.remember(%s, 'alice')",
        Jsonb(
            {
                "subject_type": scope["subject_type"],
                "subject_id": scope["subject_id"],
                "memory_type": "fact",
                "content": "the ssn is 123",
                "confidence": 0.95,
                "consent": True,
                "sensitive": True,
            }
        ),
    )
    assert stored["status"] == "candidate" and stored["approval_id"], stored
    try:
        conn.execute(
            "UPDATE concord.memories SET status = 'active' WHERE memory_id = %s",
            (stored["memory_id"],),
        )
    except psycopg.Error:
        pass  # refused: the rule holds for a direct write too
    conn.execute(
        "SELECT concord.resolve_approval(%s, 'rejected', 'carol', 'not to be kept')",
        (stored["approval_id"],),
    )
    status = status_of(conn, "memories", "memory_id", stored["memory_id"])
    found = one(conn, "SELECT concord.search_memory(%s, NULL, 5)", Jsonb(scope))
    assert status != "active" and found["count"] == 0, (
        f"memory {stored['memory_id']} is {status} (search_memory finds {found['count']}) "
        "although its write was rejected by the approver"
    )


def test_an_approved_candidate_does_not_silently_supersede_a_newer_active_memory(
    swarm_conn: psycopg.Connection,
    swarm_worker: WorkerProcess,
) -> None:
    """Spec 23: "Conflicting memory — mark old memory superseded or ask human." Candidate
    C (key fmt) is written while A is active and names A as what it supersedes; then B,
    a newer confident write of the same key, supersedes A. Approving C (decided against
    A) must not silently replace B, which nobody reviewed against C: B stays active (C's
    write is refused or asks again)."""
    conn = swarm_conn
    subject = f"u_{uuid.uuid4().hex[:8]}"

    def remember(content: str, confidence: float) -> dict[str, Any]:
        return one(
            conn,
            "SELECT concord.remember(%s, 'alice')",
            Jsonb(
                {
                    "subject_type": "user",
                    "subject_id": subject,
                    "memory_type": "preference",
                    "memory_key": "fmt",
                    "content": content,
                    "confidence": confidence,
                    "consent": True,
                }
            ),
        )

    a = remember("A: concise summaries", 0.9)
    c = remember("C: long reports", 0.5)
    assert (a["status"], c["status"]) == ("active", "candidate")
    assert c["supersedes_memory_id"] == a["memory_id"]
    b = remember("B: bullet points", 0.95)
    assert b["status"] == "active" and b["superseded_memory_id"] == a["memory_id"]
    conn.execute("SELECT concord.resolve_approval(%s, 'approved', 'carol')", (c["approval_id"],))
    wait_for(
        lambda: (
            status_of(conn, "commands", "command_id", c["command_id"])
            in {"succeeded", "failed", "cancelled"}
        ),
        30,
        interval=0.1,
        message="the approved memory write to run",
    )
    statuses = {
        m: status_of(conn, "memories", "memory_id", m)
        for m in (a["memory_id"], b["memory_id"], c["memory_id"])
    }
    assert statuses[b["memory_id"]] == "active", (
        f"memory B (newer) is {statuses[b['memory_id']]}, candidate C (approved against A) "
        f"is {statuses[c['memory_id']]}"
    )
