"""Cancelling a swarm or its command reaches its pending approvals (spec 64; issue 13
§4): an agent's tool command waiting for approval is cancelled with the swarm, and an
approval given at the very same moment runs nothing: either the approval came first and
the cancellation then cancels the approved command before it runs, or the cancellation
came first and the approval is refused (CN013). Neither side dies of a deadlock (40P01).

Stepped by ``support.races``: the helper holds each row both callers lock (the command,
the swarm, the agent) and queues the two behind it in each order.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from support.races import Race
from support.swarms import assert_invariants, new_swarm, one, spawned

PUBLISH = "race_publish"


@pytest.fixture(scope="module", autouse=True)
def a_tool_that_needs_approval(swarm_dsn: str) -> None:
    with psycopg.connect(swarm_dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT concord.register_command_type(%s)",
            (
                json.dumps(
                    {
                        "command_type": "race.publish",
                        "name": "race.publish",
                        "policy_checks": ["agent_tool"],
                    }
                ),
            ),
        )
        conn.execute(
            "SELECT concord.register_tool(%s)",
            (
                json.dumps(
                    {"name": PUBLISH, "command_type": "race.publish", "requires_approval": True}
                ),
            ),
        )


def waiting_publish(conn: psycopg.Connection) -> dict[str, Any]:
    command_id, swarm, lead = new_swarm(conn, tools=["spawn_subagent", PUBLISH])
    kid = spawned(conn, lead, "kid", [PUBLISH])
    answer = one(
        conn,
        "SELECT concord.submit_agent_action(%s, %s)",
        kid,
        json.dumps({"tool_name": PUBLISH, "payload": {"draft": 1}, "reason": "publish"}),
    )
    assert answer["decision"] == "require_approval", answer
    return {
        "command": command_id,
        "swarm": swarm,
        "lead": lead,
        "kid": kid,
        "publish": str(answer["command_id"]),
        "approval": str(answer["approval_id"]),
    }


CANCELS = {
    "cancel_swarm": lambda c, ids: one(
        c, "SELECT concord.cancel_swarm(%s, 'alice', 'stop')", ids["swarm"]
    ),
    "cancel_command": lambda c, ids: one(
        c, "SELECT concord.cancel_command(%s, 'alice', 'stop')", ids["command"]
    ),
}

ROWS = {
    "command": "SELECT 1 FROM concord.commands WHERE command_id = %s FOR UPDATE",
    "publish": "SELECT 1 FROM concord.commands WHERE command_id = %s FOR UPDATE",
    "swarm": "SELECT 1 FROM concord.swarm_runs WHERE swarm_run_id = %s FOR UPDATE",
    "lead": "SELECT 1 FROM concord.agent_runs WHERE agent_run_id = %s FOR UPDATE",
    "kid": "SELECT 1 FROM concord.agent_runs WHERE agent_run_id = %s FOR UPDATE",
}


def approve(c: psycopg.Connection, ids: dict[str, Any]) -> Any:
    return one(c, "SELECT concord.resolve_approval(%s, 'approved', 'carol')", ids["approval"])


@pytest.mark.parametrize("cancel", sorted(CANCELS))
def test_an_approval_racing_the_swarms_cancellation_runs_nothing(
    swarm_dsn: str, swarm_conn: psycopg.Connection, cancel: str
) -> None:
    conn = swarm_conn
    failures: list[str] = []
    with Race(swarm_dsn, 2, setup="SET client_min_messages = warning") as race:
        for row, lock in ROWS.items():
            for order in ((0, 1), (1, 0)):
                ids = waiting_publish(conn)
                actions = [
                    lambda c, ids=ids: CANCELS[cancel](c, ids),
                    lambda c, ids=ids: approve(c, ids),
                ]
                outcomes = race.behind(lock, (ids[row],), [actions[i] for i in order])
                tried = f"{row} held, {'cancel' if order[0] == 0 else 'approve'} first"
                for o in outcomes:
                    state = getattr(o.error, "sqlstate", None) or ""
                    if o.error is not None and not state.startswith("CN"):
                        failures.append(f"{tried}: {state} {str(o.error).splitlines()[0]}")
                status = one(
                    conn,
                    "SELECT status FROM concord.commands WHERE command_id = %s",
                    ids["publish"],
                )
                if status != "cancelled":
                    failures.append(f"{tried}: the publish is {status}")
                pending = one(
                    conn,
                    "SELECT count(*) FROM concord.approvals WHERE command_id = %s "
                    "AND status = 'pending'",
                    ids["publish"],
                )
                if pending:
                    failures.append(f"{tried}: its approval is still pending")
                assert_invariants(conn, ids["swarm"], tried)
    assert not failures, failures
