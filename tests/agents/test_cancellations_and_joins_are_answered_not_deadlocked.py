"""Agents under governance, with the kernel: a cancellation or a join racing an agent's
gateway call is answered, never killed by a deadlock (40P01).

The races are stepped by ``support.races``: the helper holds one row the two callers both
lock (the command, the swarm, the coordinator's or the child's agent run), starts them
behind it in one order and then the other, and lets go. Two callers that took two rows in
opposite orders would deadlock for one of those rows and orders every time (README "one
lock order": the swarm, then its agents; commands FOR NO KEY UPDATE). After every race the
stored invariants hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from support.races import Outcome, Race
from support.swarms import LOOKUP, assert_invariants, new_swarm, spawn, spawned


def act(conn: psycopg.Connection, run: Any) -> dict[str, Any]:
    return conn.execute(
        "SELECT concord.submit_agent_action(%s, %s) AS r",
        (run, Jsonb({"tool_name": LOOKUP, "payload": {"q": 1}, "reason": "look"})),
    ).fetchone()["r"]


def finish(conn: psycopg.Connection, run: Any, status: str = "succeeded") -> str:
    return conn.execute("SELECT concord.finish_agent_run(%s, %s) AS r", (run, status)).fetchone()[
        "r"
    ]


# The rows both callers of a race may lock, each held in turn by the race helper.
ROWS = {
    "command": "SELECT 1 FROM concord.commands WHERE command_id = %s FOR UPDATE",
    "swarm": "SELECT 1 FROM concord.swarm_runs WHERE swarm_run_id = %s FOR UPDATE",
    "lead": "SELECT 1 FROM concord.agent_runs WHERE agent_run_id = %s FOR UPDATE",
    "kid": "SELECT 1 FROM concord.agent_runs WHERE agent_run_id = %s FOR UPDATE",
}


def races(
    dsn: str, conn: psycopg.Connection, fresh: Callable[[], dict[str, Any]], actions: list
) -> Iterator[tuple[str, dict[str, Any], list[Any]]]:
    """For each row of ``ROWS`` and each order of the two actions: a fresh swarm
    (``fresh()`` returns its ids by name: command, swarm, lead, kid), the row held while
    the actions queue up behind it, then let go. Yields (what was tried, the ids, each
    action's value or exception, in the order of ``actions``)."""
    with Race(dsn, 2, setup="SET client_min_messages = warning") as race:
        for row, lock in ROWS.items():
            for order in ((0, 1), (1, 0)):
                ids = fresh()
                if ids.get(row) is None:
                    continue
                outcomes = race.behind(
                    lock, (ids[row],), [lambda c, i=i, ids=ids: actions[i](c, ids) for i in order]
                )
                by_action: list[Outcome] = [outcomes[order.index(i)] for i in (0, 1)]
                yield (
                    f"{row} held, action {order[0]} first",
                    ids,
                    [o.error if o.error is not None else o.value for o in by_action],
                )


def raw_errors(outcomes: list[Any], names: list[str]) -> list[str]:
    """The outcomes that are errors without a Concord SQLSTATE (a deadlock, say)."""
    return [
        f"{name}: {getattr(o, 'sqlstate', None)} {str(o).splitlines()[0]}"
        for name, o in zip(names, outcomes, strict=True)
        if isinstance(o, BaseException)
        and not (getattr(o, "sqlstate", None) or "").startswith("CN")
    ]


# ---------------------------------------------------------------------------
# Cancelling a swarm while its agents call the gateway
# ---------------------------------------------------------------------------

GATEWAY_CALLS = {
    # the coordinator spawns a child
    "spawn_subagent": lambda c, lead, kid: spawn(c, lead, "late"),
    # a child calls a tool
    "submit_agent_action": lambda c, lead, kid: act(c, kid),
    # a child finishes
    "finish_agent_run": lambda c, lead, kid: finish(c, kid, "failed"),
}

CANCELS = {
    "cancel_swarm": lambda c, command_id, swarm: c.execute(
        "SELECT concord.cancel_swarm(%s, 'bob', 'stop') AS r", (swarm,)
    ).fetchone()["r"],
    "cancel_command": lambda c, command_id, swarm: c.execute(
        "SELECT concord.cancel_command(%s, 'bob', 'stop') AS r", (command_id,)
    ).fetchone()["r"],
}


def with_a_child(conn: psycopg.Connection) -> Callable[[], dict[str, Any]]:
    def fresh() -> dict[str, Any]:
        command_id, swarm, lead = new_swarm(conn)
        return {
            "command": command_id,
            "swarm": swarm,
            "lead": lead,
            "kid": spawned(conn, lead, "kid"),
        }

    return fresh


def with_a_finished_child(conn: psycopg.Connection) -> Callable[[], dict[str, Any]]:
    def fresh() -> dict[str, Any]:
        command_id, swarm, lead = new_swarm(conn)
        finish(conn, spawned(conn, lead, "kid"))
        return {"command": command_id, "swarm": swarm, "lead": lead}

    return fresh


@pytest.mark.parametrize("cancel", sorted(CANCELS))
@pytest.mark.parametrize("call", sorted(GATEWAY_CALLS))
def test_cancelling_a_swarm_while_an_agent_calls_the_gateway_is_answered_not_deadlocked(
    swarm_dsn: str, swarm_conn: psycopg.Connection, cancel: str, call: str
) -> None:
    """Spec 64 / README "Cancellation cascades" and "Nothing outlives its owner":
    cancel_swarm (or cancel_command of the swarm's command) cancels the swarm and
    everything it runs, whoever else is writing. Racing an agent's gateway call, each
    side gets a Concord answer (the call is allowed and then cancelled, or refused with
    CN011) — never a deadlock (40P01) that kills the cancellation or the call — and the
    swarm ends cancelled with nothing live in it."""
    failures = []
    actions = [
        lambda c, ids: CANCELS[cancel](c, ids["command"], ids["swarm"]),
        lambda c, ids: GATEWAY_CALLS[call](c, ids["lead"], ids["kid"]),
    ]
    for tried, ids, outcomes in races(swarm_dsn, swarm_conn, with_a_child(swarm_conn), actions):
        assert_invariants(swarm_conn, ids["swarm"], tried)
        failures += [f"{tried}: {e}" for e in raw_errors(outcomes, [cancel, call])]
        if not isinstance(outcomes[0], BaseException):
            status = swarm_conn.execute(
                "SELECT status FROM concord.swarm_runs WHERE swarm_run_id = %s", (ids["swarm"],)
            ).fetchone()["status"]
            assert status == "cancelled", f"{tried}: the swarm is {status}"
    assert not failures, failures


def test_cancelling_a_swarm_while_its_coordinator_finishes_is_answered_not_deadlocked(
    swarm_dsn: str, swarm_conn: psycopg.Connection
) -> None:
    """Spec 64 / README: cancel_swarm and the coordinator's finish_agent_run (which
    settles the swarm) racing: one of them settles the swarm, the other gets its answer
    (the swarm's final status, or CN011) — not a deadlock (40P01)."""
    failures = []
    actions = [
        lambda c, ids: CANCELS["cancel_swarm"](c, None, ids["swarm"]),
        lambda c, ids: finish(c, ids["lead"]),
    ]
    for tried, ids, outcomes in races(
        swarm_dsn, swarm_conn, with_a_finished_child(swarm_conn), actions
    ):
        assert_invariants(swarm_conn, ids["swarm"], tried)
        failures += [
            f"{tried}: {e}" for e in raw_errors(outcomes, ["cancel_swarm", "finish_agent_run"])
        ]
    assert not failures, failures


# ---------------------------------------------------------------------------
# Joining a swarm while its coordinator finishes
# ---------------------------------------------------------------------------


def test_join_swarm_racing_the_coordinators_finish_is_answered_not_deadlocked(
    swarm_dsn: str, swarm_conn: psycopg.Connection
) -> None:
    """README: join_swarm settles the swarm ("joining again returns the stored
    decision") and a coordinator's finish "settles its swarm (joining it if nobody
    did)". Both at once on a swarm whose children have finished: one joins, the other
    gets the stored decision or the coordinator's status (or CN011) — not a deadlock
    (40P01) that fails the coordinator's finish."""
    failures = []
    actions = [
        lambda c, ids: c.execute("SELECT concord.join_swarm(%s) AS r", (ids["swarm"],)).fetchone()[
            "r"
        ],
        lambda c, ids: finish(c, ids["lead"]),
    ]
    for tried, ids, outcomes in races(
        swarm_dsn, swarm_conn, with_a_finished_child(swarm_conn), actions
    ):
        assert_invariants(swarm_conn, ids["swarm"], tried)
        failures += [
            f"{tried}: {e}" for e in raw_errors(outcomes, ["join_swarm", "finish_agent_run"])
        ]
        row = swarm_conn.execute(
            "SELECT s.status, a.status AS lead FROM concord.swarm_runs AS s "
            "JOIN concord.agent_runs AS a "
            "ON a.agent_run_id = s.coordinator_agent_run_id "
            "WHERE s.swarm_run_id = %s",
            (ids["swarm"],),
        ).fetchone()
        assert (row["status"], row["lead"]) == ("succeeded", "succeeded"), f"{tried}: {row}"
    assert not failures, failures
