"""An agent acts only within its own run (README "Agents under governance": "the run's id
is the capability it holds"): an agent's own ``agent_run_state`` hands it no other run's
id, so a child cannot act as its parent through the gateway and get a tool outside its
own ``allowed_tools``.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from support.swarms import RUN_SQL, new_swarm, one, spawned

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _uuids(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_uuids(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_uuids(v) for v in value)) if value else set()
    if isinstance(value, str) and UUID_RE.match(value.lower()):
        return {value.lower()}
    return set()


def test_an_agent_cannot_use_a_tool_outside_its_scope_through_run_ids_its_own_state_reveals(
    swarm_conn: psycopg.Connection,
) -> None:
    """Subset, not union (issue §2, spec 59.4): a child holding only create_artifact and
    read_artifact must not get run_sql allowed. As concord_agent it reads its own
    state, takes every other agent run id it finds there (its parent's, the creators
    of the swarm's artifacts) and calls the gateway with it."""
    conn = swarm_conn
    _, _, lead = new_swarm(conn)
    # the coordinator has written an artifact: its creator is in every agent's state
    conn.execute(
        "SELECT concord.create_artifact(%s, %s)",
        (lead, Jsonb({"artifact_type": "plan", "name": "plan", "content": {"step": 1}})),
    )
    child = spawned(conn, lead, "kid", ["create_artifact", "read_artifact"])

    conn.execute("SET ROLE concord_agent")
    try:
        state = one(conn, "SELECT concord.agent_run_state(%s)", child)
        mine = one(
            conn,
            "SELECT concord.submit_agent_action(%s, %s)",
            child,
            Jsonb({"tool_name": RUN_SQL, "payload": {"sql": "select 1"}}),
        )
        assert mine["decision"] == "denied", mine  # its own id: refused, as it should be
        others = _uuids(state) - {str(child)}
        granted = []
        for other in sorted(others):
            try:
                answer = one(
                    conn,
                    "SELECT concord.submit_agent_action(%s, %s)",
                    other,
                    Jsonb({"tool_name": RUN_SQL, "payload": {"sql": "select 1"}}),
                )
            except psycopg.Error:
                continue  # not an agent run, or refused: fine
            if answer.get("decision") in ("allowed", "queued"):
                granted.append((other, answer))
    finally:
        conn.execute("RESET ROLE")
    assert not granted, (
        f"agent run {child} (tools create_artifact, read_artifact) got run_sql "
        f"{granted[0][1]['decision']} by acting as agent run {granted[0][0]}, "
        "an id its own agent_run_state revealed"
    )
