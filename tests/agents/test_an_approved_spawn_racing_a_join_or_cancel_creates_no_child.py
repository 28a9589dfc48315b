"""Joining means no spawn, and cancelling a swarm reaches its spawns (spec 59, 63, 64;
issue 13 §4): a spawn that waited for approval is created when a worker runs its
approved command (``runtime_agentic_command``). Run at the very moment the swarm's join
begins, or the swarm is cancelled, the spawn creates no child in a joining or cancelled
swarm, and neither side dies of a deadlock (40P01): both take the swarm before the
command.

The races are stepped by ``support.races``: ``in_turn`` lets the join (or the
cancellation) write first and hold the swarm while the worker's call runs; ``behind``
queues both behind a held swarm row, in each order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from support.races import Race
from support.swarms import assert_invariants, new_swarm, one, spawn, spawned

AUDITOR = {"agent_name": "auditor", "agent_role": "auditor", "delegated_goal": "audit"}


@pytest.fixture(scope="module", autouse=True)
def spawning_an_auditor_needs_approval(swarm_dsn: str) -> None:
    with psycopg.connect(swarm_dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT concord.register_policy(%s)",
            (
                json.dumps(
                    {
                        "name": "race_auditors_need_approval",
                        "predicate": '$.payload.agent_role == "auditor"',
                        "decision": "require_approval",
                        "approval_type": "standard",
                        "reasons": ["spawning an auditor needs approval"],
                    }
                ),
            ),
        )
        conn.execute(
            "SELECT concord.register_command_type(%s)",
            (
                json.dumps(
                    {
                        "command_type": "spawn_subagent",
                        "name": "Spawn a subagent",
                        "sync_allowed": True,
                        "policy_checks": ["spawn_scope", "race_auditors_need_approval"],
                    }
                ),
            ),
        )


def approved_spawn(conn: psycopg.Connection) -> dict[str, Any]:
    """A swarm whose coordinator has a finished child and an approved spawn of an auditor
    that a worker has claimed (running): the ids by name."""
    command_id, swarm, lead = new_swarm(
        conn,
        agents=[AUDITOR, {**AUDITOR, "agent_name": "kid", "agent_role": "researcher"}],
        join_strategy="coordinator_synthesis",
    )
    kid = spawned(conn, lead, "kid", role="researcher")
    conn.execute("SELECT concord.finish_agent_run(%s, 'succeeded', '{\"found\": 1}')", (kid,))
    answer = spawn(conn, lead, "auditor", role="auditor")
    assert answer["decision"] == "require_approval", answer
    spawn_command = answer["command_id"]
    conn.execute(
        "SELECT concord.resolve_approval(%s, 'approved', 'carol')", (answer["approval_id"],)
    )
    claim = one(
        conn, "SELECT concord.runtime_claim(%s, %s, 'ex-race')", spawn_command, str(spawn_command)
    )
    assert claim["action"] == "run", claim
    return {"command": command_id, "swarm": swarm, "lead": lead, "spawn": str(spawn_command)}


def run_spawn(c: psycopg.Connection, ids: dict[str, Any]) -> Any:
    return one(c, "SELECT concord.runtime_agentic_command(%s, %s)", ids["spawn"], ids["spawn"])


OTHERS: dict[str, Callable[[psycopg.Connection, dict[str, Any]], Any]] = {
    "join_swarm": lambda c, ids: one(c, "SELECT concord.join_swarm(%s)", ids["swarm"]),
    "cancel_swarm": lambda c, ids: one(
        c, "SELECT concord.cancel_swarm(%s, 'alice', 'stop')", ids["swarm"]
    ),
}


def children_after_the_join(conn: psycopg.Connection, swarm: str) -> list[Any]:
    """Agent runs of the swarm created after its join began or it was cancelled."""
    return [
        r["agent_name"]
        for r in conn.execute(
            "SELECT a.agent_name FROM concord.agent_runs AS a "
            "JOIN concord.domain_events AS e ON e.swarm_run_id = a.swarm_run_id "
            "AND e.event_type = 'swarm_status_changed' "
            "AND e.to_status IN ('joining', 'waiting_for_approval', 'cancelled') "
            "WHERE a.swarm_run_id = %s AND a.created_at >= e.created_at "
            "AND a.agent_name = 'auditor'",
            (swarm,),
        ).fetchall()
    ]


def raw(outcome: Any) -> str | None:
    if outcome.error is None:
        return None
    state = getattr(outcome.error, "sqlstate", None) or ""
    return None if state.startswith("CN") else f"{state} {outcome.error}"


@pytest.mark.parametrize("other", sorted(OTHERS))
def test_an_approved_spawn_run_while_the_swarm_joins_or_is_cancelled_creates_no_child(
    swarm_dsn: str, swarm_conn: psycopg.Connection, other: str
) -> None:
    conn = swarm_conn
    failures: list[str] = []
    with Race(swarm_dsn, 2, setup="SET client_min_messages = warning") as race:
        # the join (or cancel) writes first and holds the swarm while the worker runs
        ids = approved_spawn(conn)
        outcomes = race.in_turn([lambda c: OTHERS[other](c, ids), lambda c: run_spawn(c, ids)])
        failures += [f"in turn: {r}" for o in outcomes if (r := raw(o))]
        if late := children_after_the_join(conn, ids["swarm"]):
            failures.append(f"in turn: {other} first, the spawn still created {late}")
        assert_invariants(conn, ids["swarm"], f"in turn, {other} first")
        # both queued behind the held swarm, in each order
        for order in ((0, 1), (1, 0)):
            ids = approved_spawn(conn)
            actions = [
                lambda c, ids=ids: OTHERS[other](c, ids),
                lambda c, ids=ids: run_spawn(c, ids),
            ]
            outcomes = race.behind(
                "SELECT 1 FROM concord.swarm_runs WHERE swarm_run_id = %s FOR UPDATE",
                (ids["swarm"],),
                [actions[i] for i in order],
            )
            failures += [f"behind the swarm, order {order}: {r}" for o in outcomes if (r := raw(o))]
            assert_invariants(conn, ids["swarm"], f"behind the swarm, order {order}")
            if order == (0, 1) and (late := children_after_the_join(conn, ids["swarm"])):
                failures.append(f"behind, {other} first: the spawn still created {late}")
    assert not failures, failures
