"""A memory belongs to the agent that writes it (README "Agents under governance"):

1. Idempotency keys of memory writes are the agent's own: agent B may use a key agent A
   used, as with tool calls and spawns.
2. A memory an agent retrieves names its writer by agent name, never by run id (run ids are not
   handed out, though the run's secret is the capability).
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from support.swarms import memory_scope, new_swarm, one, other_run_ids, spawned


def test_a_memory_write_key_used_by_another_agent_does_not_refuse_this_agents_write(
    swarm_conn: psycopg.Connection,
) -> None:
    """Idempotency keys of agent actions are scoped to the agent run (tool calls are
    keyed agent:<id>:<key>, spawns spawn:<id>:<key>): agent B's memory write under
    the key agent A used is B's own write, not a CN002 naming A's command."""
    conn = swarm_conn
    key = f"note-{uuid.uuid4().hex[:8]}"

    def scope(subject: str) -> dict[str, Any]:
        return {
            "subject_type": "customer",
            "subject_id": subject,
            "allowed_memory_types": ["fact"],
            "allow_semantic_retrieval": False,
            "max_results": 5,
        }

    _, _, a = new_swarm(conn, tools=["write_memory"], memory_scope=scope(f"a_{key}"))
    _, _, b = new_swarm(conn, tools=["write_memory"], memory_scope=scope(f"b_{key}"))
    first = one(
        conn,
        "SELECT concord.write_memory(%s, %s)",
        a,
        Jsonb(
            {"memory_type": "fact", "content": "likes tea", "consent": True, "idempotency_key": key}
        ),
    )
    assert first["output"]["status"] == "active", first
    second = one(
        conn,
        "SELECT concord.write_memory(%s, %s)",
        b,
        Jsonb(
            {
                "memory_type": "fact",
                "content": "likes coffee",
                "consent": True,
                "idempotency_key": key,
            }
        ),
    )
    assert second["decision"] == "allowed", second
    assert second["output"]["memory_id"] != first["output"]["memory_id"]
    assert second["output"]["status"] == "active", second


def test_an_agent_retrieving_a_siblings_memory_does_not_learn_the_siblings_run_id(
    swarm_conn: psycopg.Connection,
) -> None:
    """design "The run's secret is the capability": memories an agent reads carry the writer's
    agent name, not its run id (``written_by`` is ``agent:<run id>``)."""
    conn = swarm_conn
    scope = memory_scope()
    _, swarm, lead = new_swarm(conn, memory_scope=scope)
    tools = ["write_memory", "retrieve_memory"]
    writer = spawned(conn, lead, "writer", tools, memory_scope=scope)
    reader = spawned(conn, lead, "reader", tools, memory_scope=scope)
    wrote = one(
        conn,
        "SELECT concord.write_memory(%s, %s)",
        writer,
        Jsonb(
            {
                "memory_type": "fact",
                "content": "the sky is blue",
                "confidence": 0.9,
                "consent": True,
            }
        ),
    )
    assert wrote["decision"] == "allowed", wrote
    found = one(conn, "SELECT concord.retrieve_memory(%s, %s)", reader, Jsonb({"text": "sky"}))
    assert found["output"]["count"] == 1, found
    leaked = other_run_ids(conn, swarm, found, {reader})
    assert not leaked, (
        f"retrieve_memory named agent runs {leaked} to agent {reader}: "
        f"{found['output']['memories'][0].get('written_by')!r}"
    )
