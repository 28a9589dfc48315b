"""Agents under governance, with the kernel: a cancellation or a join racing an agent's
gateway call is answered, never killed by a deadlock (40P01), and a cancelled agent's
failed tool command is not retried.

The races are stepped by ``support.races``: the helper holds one row the two callers both
lock (the command, the swarm, the coordinator's or the child's agent run), starts them
behind it in one order and then the other, and lets go. Two callers that took two rows in
opposite orders would deadlock for one of those rows and orders every time (README "one
lock order": the swarm, then its agents; commands FOR NO KEY UPDATE). After every race the
stored invariants hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from concord.migrate import migrate
from support.databases import temporary_database
from support.races import Outcome, Race

SYNC = "review4.sync"
TOOL = "r4_tool"
ALL_TOOLS = ["spawn_subagent", TOOL, "create_artifact"]


@pytest.fixture(scope="module")
def dsn(server_dsn: str) -> Iterator[str]:
    with temporary_database(server_dsn, "concord_review4_agents") as d:
        migrate(d)
        with psycopg.connect(d, autocommit=True) as conn:
            conn.execute("SET client_min_messages = warning")
            conn.execute(
                "SELECT concord.register_command_type(%s)",
                (Jsonb({"command_type": SYNC, "name": SYNC, "sync_allowed": True}),),
            )
            conn.execute(
                "SELECT concord.register_tool(%s)",
                (Jsonb({"name": TOOL, "command_type": SYNC, "description": "t"}),),
            )
        yield d


def connect(dsn: str) -> psycopg.Connection:
    conn = psycopg.connect(dsn, autocommit=True, row_factory=dict_row)
    conn.execute("SET client_min_messages = warning")
    return conn


@pytest.fixture
def conn(dsn: str) -> Iterator[psycopg.Connection]:
    with connect(dsn) as c:
        yield c


def new_swarm(conn: psycopg.Connection) -> tuple[Any, Any, Any]:
    """A parent command and a swarm under it; returns (command_id, swarm, coordinator)."""
    command_id = conn.execute(
        "SELECT command_id FROM concord.submit_command(%s, %s, 'alice')",
        (SYNC, Jsonb({"n": uuid.uuid4().hex})),
    ).fetchone()["command_id"]
    swarm = conn.execute(
        "SELECT concord.start_swarm(%s, %s) AS id",
        (
            command_id,
            Jsonb(
                {
                    "name": f"r4_{uuid.uuid4().hex[:8]}",
                    "objective": "review 4",
                    "join_strategy": "all_success",
                    "limits": {"max_agents": 10, "max_depth": 3, "max_total_steps": 500},
                    "coordinator": {
                        "agent_name": "lead",
                        "agent_role": "coordinator",
                        "max_steps": 100,
                        "allowed_tools": ALL_TOOLS,
                    },
                }
            ),
        ),
    ).fetchone()["id"]
    lead = conn.execute(
        "SELECT coordinator_agent_run_id AS id FROM concord.swarm_runs WHERE swarm_run_id = %s",
        (swarm,),
    ).fetchone()["id"]
    return command_id, swarm, lead


def spawn(
    conn: psycopg.Connection, parent: Any, name: str, tools: list[str] | None = None
) -> dict[str, Any]:
    return conn.execute(
        "SELECT concord.spawn_subagent(%s) AS r",
        (
            Jsonb(
                {
                    "parent_agent_run_id": str(parent),
                    "agent_name": name,
                    "agent_role": "worker",
                    "delegated_goal": f"be {name}",
                    "allowed_tools": tools or [TOOL],
                    "max_steps": 20,
                }
            ),
        ),
    ).fetchone()["r"]


def spawned(conn: psycopg.Connection, parent: Any, name: str) -> Any:
    answer = spawn(conn, parent, name)
    assert answer["decision"] == "allowed", answer
    return answer["child_agent_run_id"]


def act(conn: psycopg.Connection, run: Any) -> dict[str, Any]:
    return conn.execute(
        "SELECT concord.submit_agent_action(%s, %s) AS r",
        (run, Jsonb({"tool_name": TOOL, "payload": {"q": 1}, "reason": "look"})),
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


# What must hold after every race (spec 64, README "Nothing outlives its owner").
INVARIANTS = {
    "no live agent in a finished swarm": """
        SELECT a.agent_run_id FROM concord.agent_runs AS a
        JOIN concord.agent_statuses AS st ON st.status = a.status AND NOT st.terminal
        JOIN concord.swarm_runs AS s ON s.swarm_run_id = a.swarm_run_id
        JOIN concord.swarm_statuses AS ss ON ss.status = s.status AND ss.terminal
        WHERE a.swarm_run_id = %(s)s""",
    "no live child under a finished parent": """
        SELECT a.agent_run_id FROM concord.agent_runs AS a
        JOIN concord.agent_statuses AS st ON st.status = a.status AND NOT st.terminal
        JOIN concord.agent_runs AS p ON p.agent_run_id = a.parent_agent_run_id
        JOIN concord.agent_statuses AS ps ON ps.status = p.status AND ps.terminal
        WHERE a.swarm_run_id = %(s)s""",
    "live_agents is the count of live agents": """
        SELECT s.swarm_run_id FROM concord.swarm_runs AS s
        WHERE s.swarm_run_id = %(s)s AND s.live_agents <> (
            SELECT count(*) FROM concord.agent_runs AS a
            JOIN concord.agent_statuses AS st ON st.status = a.status AND NOT st.terminal
            WHERE a.swarm_run_id = s.swarm_run_id)""",
    "no unfinished command of a cancelled agent": """
        SELECT c.command_id FROM concord.agent_runs AS a
        JOIN concord.commands AS c ON c.requested_by = 'agent:' || a.agent_run_id
        JOIN concord.command_statuses AS cs ON cs.status = c.status AND NOT cs.terminal
        WHERE a.swarm_run_id = %(s)s AND a.status = 'cancelled'
          AND c.status NOT IN ('cancelling', 'compensating', 'compensated', 'failed')""",
    "no live swarm under a finished command": """
        SELECT s.swarm_run_id FROM concord.swarm_runs AS s
        JOIN concord.swarm_statuses AS ss ON ss.status = s.status AND NOT ss.terminal
        JOIN concord.commands AS c ON c.command_id = s.command_id
        WHERE s.swarm_run_id = %(s)s
          AND c.status IN ('cancelling', 'cancelled', 'succeeded', 'failed', 'expired')""",
}


def assert_invariants(conn: psycopg.Connection, swarm: Any, context: str) -> None:
    broken = {
        name: rows
        for name, q in INVARIANTS.items()
        if (rows := conn.execute(q, {"s": swarm}).fetchall())
    }
    assert not broken, f"{context}: {broken}"


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
    dsn: str, conn: psycopg.Connection, cancel: str, call: str
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
    for tried, ids, outcomes in races(dsn, conn, with_a_child(conn), actions):
        assert_invariants(conn, ids["swarm"], tried)
        failures += [f"{tried}: {e}" for e in raw_errors(outcomes, [cancel, call])]
        if not isinstance(outcomes[0], BaseException):
            status = conn.execute(
                "SELECT status FROM concord.swarm_runs WHERE swarm_run_id = %s", (ids["swarm"],)
            ).fetchone()["status"]
            assert status == "cancelled", f"{tried}: the swarm is {status}"
    assert not failures, failures


def test_cancelling_a_swarm_while_its_coordinator_finishes_is_answered_not_deadlocked(
    dsn: str, conn: psycopg.Connection
) -> None:
    """Spec 64 / README: cancel_swarm and the coordinator's finish_agent_run (which
    settles the swarm) racing: one of them settles the swarm, the other gets its answer
    (the swarm's final status, or CN011) — not a deadlock (40P01)."""
    failures = []
    actions = [
        lambda c, ids: CANCELS["cancel_swarm"](c, None, ids["swarm"]),
        lambda c, ids: finish(c, ids["lead"]),
    ]
    for tried, ids, outcomes in races(dsn, conn, with_a_finished_child(conn), actions):
        assert_invariants(conn, ids["swarm"], tried)
        failures += [
            f"{tried}: {e}" for e in raw_errors(outcomes, ["cancel_swarm", "finish_agent_run"])
        ]
    assert not failures, failures


# ---------------------------------------------------------------------------
# Joining a swarm while its coordinator finishes
# ---------------------------------------------------------------------------


def test_join_swarm_racing_the_coordinators_finish_is_answered_not_deadlocked(
    dsn: str, conn: psycopg.Connection
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
    for tried, ids, outcomes in races(dsn, conn, with_a_finished_child(conn), actions):
        assert_invariants(conn, ids["swarm"], tried)
        failures += [
            f"{tried}: {e}" for e in raw_errors(outcomes, ["join_swarm", "finish_agent_run"])
        ]
        row = conn.execute(
            "SELECT s.status, a.status AS lead FROM concord.swarm_runs AS s "
            "JOIN concord.agent_runs AS a "
            "ON a.agent_run_id = s.coordinator_agent_run_id "
            "WHERE s.swarm_run_id = %s",
            (ids["swarm"],),
        ).fetchone()
        assert (row["status"], row["lead"]) == ("succeeded", "succeeded"), f"{tried}: {row}"
    assert not failures, failures


# ---------------------------------------------------------------------------
# A failed tool command of a cancelled agent is not retried
# ---------------------------------------------------------------------------


def test_a_failed_tool_command_of_a_cancelled_agent_cannot_be_retried(
    conn: psycopg.Connection,
) -> None:
    """Spec 64 / README "Cancellation cascades": "A cancelled agent cancels its live
    children, and the unfinished commands it asked for". A tool command that failed with
    a retryable class (timeout) is unfinished — ``failed -> queued`` is a legal retry —
    so cancelling its agent must cancel it, or at least the retry must be refused: it
    must not be queued (and run) again for a cancelled agent."""
    _, swarm, lead = new_swarm(conn)
    kid = spawned(conn, lead, "kid")
    command_id = act(conn, kid)["command_id"]
    for status in ("queued", "running"):
        conn.execute("SELECT concord.transition_command(%s, %s, 'worker:r4')", (command_id, status))
    conn.execute(
        "SELECT concord.transition_command(%s, 'failed', 'worker:r4', 'peer timed out', "
        "null, 'peer timed out', 'timeout')",
        (command_id,),
    )
    assert (
        conn.execute("SELECT concord.cancel_agent_run(%s, 'bob') AS r", (kid,)).fetchone()["r"]
        == "cancelled"
    )
    try:
        conn.execute(
            "SELECT concord.transition_command(%s, 'queued', 'worker:r4', 'retry')", (command_id,)
        )
    except psycopg.Error as e:
        assert (e.sqlstate or "").startswith("CN"), e
    status = conn.execute(
        "SELECT status FROM concord.commands WHERE command_id = %s", (command_id,)
    ).fetchone()["status"]
    assert status not in ("queued", "running"), (
        f"the tool command of cancelled agent {kid} was retried: it is {status}"
    )
    assert_invariants(conn, swarm, "after the retry")
