"""An artifact an agent reads names its author, never the author's run id (design "The
run's secret is the capability"; run ids are not handed out either): a child that reads
its coordinator's artifact cannot then act as the coordinator and get a tool it does not
hold.
"""

from __future__ import annotations

import json

import psycopg
from psycopg.types.json import Jsonb

from support.swarms import LOOKUP, UUID_RE, new_swarm, one, other_run_ids, spawned


def test_an_agent_reading_its_coordinators_artifact_cannot_then_act_as_the_coordinator(
    swarm_conn: psycopg.Connection,
) -> None:
    """design "The run's secret is the capability": the gateway's answers name no agent run but
    the caller's own and its children's; artifacts an agent reads carry the writer's
    agent name, not its run id. Subset, not union (issue §2): a child holding only
    read_artifact must not get the coordinator's tool allowed by acting as it."""
    conn = swarm_conn
    _, swarm, lead = new_swarm(conn)
    plan = one(
        conn,
        "SELECT concord.create_artifact(%s, %s)",
        lead,
        Jsonb({"artifact_type": "plan", "name": "plan", "content": {"step": 1}}),
    )
    artifact_id = plan["output"]["artifact_id"]
    child = spawned(conn, lead, "reader", ["read_artifact"])

    conn.execute("SET ROLE concord_agent")
    try:
        read = one(
            conn, "SELECT concord.read_artifact(%s, %s)", child, Jsonb({"artifact_id": artifact_id})
        )
        assert read["decision"] == "allowed", read
        granted = []
        for other in sorted(set(UUID_RE.findall(json.dumps(read))) - {child}):
            try:
                answer = one(
                    conn,
                    "SELECT concord.submit_agent_action(%s, %s)",
                    other,
                    Jsonb({"tool_name": LOOKUP, "payload": {}}),
                )
            except psycopg.Error:
                continue
            if answer.get("decision") in ("allowed", "queued"):
                granted.append(other)
    finally:
        conn.execute("RESET ROLE")
    leaked = other_run_ids(conn, swarm, read, {child})
    assert not leaked and not granted, (
        f"read_artifact named agent runs {leaked} to agent {child} "
        f"(created_by: {read['output'].get('created_by')!r}); acting as "
        f"{granted} it got {LOOKUP}, which it does not hold"
    )
