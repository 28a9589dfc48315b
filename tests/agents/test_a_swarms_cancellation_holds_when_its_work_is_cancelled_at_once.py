"""Spec 64 / docs/how-to/run-a-swarm.md: cancelling a swarm's command reaches all of the
swarm's pending work, and goes through whoever else is cancelling part of that work at
the same instant. Two cancels at once: a member cancels an agent's pending tool command
gracefully while another cancels the swarm's command ``compensate_then_stop``. The tool
command keeps the cancellation that reached it first (``a_cancellation_keeps_its_mode``);
the swarm's command, its swarm and its agents end cancelled — the cascade is not refused
with CN011 because one of its commands was cancelled while it waited for it.

The race is stepped by ``support.races``: the helper holds the tool command's row, starts
both cancels behind it in one order and then the other, and lets go.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from support.races import Race
from support.swarms import LOOKUP, assert_invariants, new_swarm, one


def pending_tool_command(conn: psycopg.Connection) -> dict[str, Any]:
    """A swarm whose coordinator asked for a tool command still pending (validated)."""
    command_id, swarm, lead = new_swarm(conn)
    answer = one(
        conn,
        "SELECT concord.submit_agent_action(%s, %s)",
        lead,
        Jsonb({"tool_name": LOOKUP, "payload": {"q": 1}, "reason": "look"}),
    )
    assert answer["decision"] == "allowed", answer
    return {"command": command_id, "swarm": swarm, "tool": answer["command_id"]}


def cancel(conn: psycopg.Connection, command_id: Any, mode: str) -> str:
    return one(conn, "SELECT concord.cancel_command(%s, 'bob', 'stop', %s)", command_id, mode)


def test_cancelling_a_swarms_command_goes_through_a_concurrent_cancel_of_its_work(
    swarm_dsn: str, swarm_conn: psycopg.Connection
) -> None:
    failures = []
    with Race(swarm_dsn, 2, setup="SET client_min_messages = warning") as race:
        for tool_first in (True, False):
            ids = pending_tool_command(swarm_conn)
            actions = [
                lambda c, ids=ids: cancel(c, ids["tool"], "graceful"),
                lambda c, ids=ids: cancel(c, ids["command"], "compensate_then_stop"),
            ]
            if not tool_first:
                actions.reverse()
            outcomes = race.behind(
                "SELECT 1 FROM concord.commands WHERE command_id = %s FOR UPDATE",
                (ids["tool"],),
                actions,
            )
            parent = outcomes[1] if tool_first else outcomes[0]
            tried = "the tool command's cancel first" if tool_first else "the parent's first"
            assert_invariants(swarm_conn, ids["swarm"], tried)
            if parent.error is not None:
                failures.append(f"{tried}: the parent's cancel raised {parent.error}")
            statuses = swarm_conn.execute(
                "SELECT (SELECT status FROM concord.commands WHERE command_id = %s) AS command, "
                "(SELECT status FROM concord.swarm_runs WHERE swarm_run_id = %s) AS swarm, "
                "(SELECT status FROM concord.commands WHERE command_id = %s) AS tool",
                (ids["command"], ids["swarm"], ids["tool"]),
            ).fetchone()
            if statuses != {"command": "cancelled", "swarm": "cancelled", "tool": "cancelled"}:
                failures.append(f"{tried}: {statuses}")
    assert not failures, failures
