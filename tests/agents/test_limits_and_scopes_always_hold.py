"""Agents under governance (issue 5): the invariants of the agentic record under real
concurrency and under random operation sequences.

Part 1 (issue §2, "two spawns racing for the last slot: exactly one wins"): K real
connections, stepped in turn by ``support.races`` (each started while the earlier ones
hold what they locked), race for the last agent slot of a swarm (children of
one parent, and children of K different parents), and for the last steps of a swarm's
``max_total_steps`` / ``max_cost_units`` and of one agent's ``max_steps``. Exactly the
budget is used, never more, and the stored counters equal the counts.

Part 2 (issue §8): a hypothesis property test. Random sequences of operations run against
a real database, one transaction each: spawns (through ``spawn_subagent`` and through
``submit_agent_action``) with random subsets and supersets of the parent's tools,
connectors and memory scope, steps, tool calls (registered or not, in scope or not),
finishes, cancellations, and raw INSERTs and UPDATEs as the table owner (attacks on the
invariants). After every operation, refused or not, SQL over the tables checks that no
stored state breaks subset, depth, count, step or cost limits.

A refusal is an error with a Concord SQLSTATE (or an integrity SQLSTATE of a constraint);
any other error is a defect and fails the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from concord.migrate import migrate
from support.databases import temporary_database
from support.races import Outcome, in_turn

SYNC_TYPE = "inv.sync"
CONNECTORS = ["crm", "mail", "sql"]
# command tools: (name, connector)
COMMAND_TOOLS = [("tool_a", None), ("tool_b", None), ("tool_crm", "crm"), ("tool_mail", "mail")]
GATEWAY_TOOLS = [
    "spawn_subagent",
    "create_artifact",
    "read_artifact",
    "write_memory",
    "retrieve_memory",
    "evaluate_output",
]
ALL_TOOLS = [t for t, _ in COMMAND_TOOLS] + GATEWAY_TOOLS
UNREGISTERED_TOOLS = ["tool_ghost", "tool_zz"]
ROLES = ["researcher", "analyst", "reviewer", "writer"]
MEMORY_TYPES = ["fact", "preference", "episode", "policy"]
SUBJECTS = [("customer", "c1"), ("customer", "c2"), ("project", "p1")]

# Refusals: Concord's codes and the integrity codes of the backstop constraints.
REFUSALS = {
    "CN001",
    "CN002",
    "CN004",
    "CN005",
    "CN006",
    "CN007",
    "CN008",
    "CN009",
    "CN010",
    "CN011",
    "CN012",
    "23514",
    "23505",
    "23502",
    "23503",
    "22P02",
}


# ---------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def agents_dsn(server_dsn: str) -> Iterator[str]:
    """A fresh database for this module, with a sync command type and tools."""
    with temporary_database(server_dsn, "concord_agents_inv") as dsn:
        migrate(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET client_min_messages = warning")
            conn.execute(
                "SELECT concord.register_command_type(%s)",
                (Jsonb({"command_type": SYNC_TYPE, "sync_allowed": True}),),
            )
            for name in CONNECTORS:
                conn.execute(
                    "SELECT concord.register_connector(%s)",
                    (Jsonb({"name": name, "connector_type": "http", "capabilities": ["call"]}),),
                )
            for tool, connector in COMMAND_TOOLS:
                spec: dict[str, Any] = {"name": tool, "command_type": SYNC_TYPE}
                if connector:
                    spec["connector"] = connector
                conn.execute("SELECT concord.register_tool(%s)", (Jsonb(spec),))
        yield dsn


def connect(dsn: str) -> psycopg.Connection:
    return psycopg.connect(dsn, autocommit=True, row_factory=dict_row)


def new_swarm(
    conn: psycopg.Connection,
    *,
    max_agents: int = 5,
    max_depth: int = 2,
    max_total_steps: int = 100,
    max_cost_units: float | None = None,
    tools: list[str] | None = None,
    connectors: list[str] | None = None,
    memory_scope: dict[str, Any] | None = None,
    child_roles: list[str] | None = None,
    max_steps: int = 100,
) -> tuple[UUID, UUID]:
    """A new command and a swarm under it; returns (swarm_run_id, coordinator id)."""
    command_id = conn.execute(
        "SELECT command_id FROM concord.submit_command(%s, '{}', 'tester')", (SYNC_TYPE,)
    ).fetchone()["command_id"]
    limits: dict[str, Any] = {
        "max_agents": max_agents,
        "max_depth": max_depth,
        "max_total_steps": max_total_steps,
    }
    if max_cost_units is not None:
        limits["max_cost_units"] = max_cost_units
    coordinator: dict[str, Any] = {
        "agent_name": "coord",
        "agent_role": "coordinator",
        "max_steps": max_steps,
        "allowed_tools": ALL_TOOLS if tools is None else tools,
        "allowed_connectors": CONNECTORS if connectors is None else connectors,
        "memory_scope": memory_scope or {},
    }
    if child_roles is not None:
        coordinator["allowed_child_roles"] = child_roles
    spec = {
        "name": f"swarm_{uuid.uuid4().hex[:10]}",
        "objective": "invariants",
        "limits": limits,
        "coordinator": coordinator,
    }
    swarm = conn.execute(
        "SELECT concord.start_swarm(%s, %s) AS id", (command_id, Jsonb(spec))
    ).fetchone()["id"]
    coord = conn.execute(
        "SELECT coordinator_agent_run_id AS id FROM concord.swarm_runs WHERE swarm_run_id = %s",
        (swarm,),
    ).fetchone()["id"]
    return swarm, coord


def spawn(
    conn: psycopg.Connection, parent: UUID, name: str = "kid", **extra: Any
) -> dict[str, Any]:
    request = {
        "parent_agent_run_id": str(parent),
        "agent_name": name,
        "agent_role": extra.pop("agent_role", "researcher"),
        "delegated_goal": "help",
        "allowed_tools": extra.pop("allowed_tools", []),
        "max_steps": extra.pop("max_steps", 50),
        **extra,
    }
    return conn.execute("SELECT concord.spawn_subagent(%s) AS r", (Jsonb(request),)).fetchone()["r"]


def spawned(conn: psycopg.Connection, parent: UUID, name: str = "kid", **extra: Any) -> UUID:
    answer = spawn(conn, parent, name, **extra)
    assert answer["decision"] == "allowed", answer
    return UUID(answer["child_agent_run_id"])


def record_step(conn: psycopg.Connection, agent: UUID, cost: float | None = None) -> dict:
    step: dict[str, Any] = {"action_type": "think"}
    if cost is not None:
        step["cost_units"] = cost
    return conn.execute(
        "SELECT concord.record_agent_step(%s, %s) AS r", (agent, Jsonb(step))
    ).fetchone()["r"]


def race(dsn: str, actions: list[Callable[[psycopg.Connection], Any]]) -> list[Outcome]:
    """The actions in turn (``support.races``): each in its own transaction on its own
    connection, started while the earlier ones are open and hold what they locked."""
    return in_turn(dsn, actions)


# ---------------------------------------------------------------------------
# The invariants, as SQL over the tables
# ---------------------------------------------------------------------------

# Each query returns the rows that break one invariant (none when it holds).
INVARIANTS: dict[str, str] = {
    "scopes are typed values (no NULL array, no NULL element)": """
        SELECT a.swarm_run_id AS sw, a.agent_run_id AS id FROM concord.agent_runs AS a
        WHERE a.allowed_tools IS NULL OR a.allowed_connectors IS NULL
           OR a.allowed_child_roles IS NULL OR a.memory_scope IS NULL
           OR array_position(a.allowed_tools, NULL) IS NOT NULL
           OR array_position(a.allowed_connectors, NULL) IS NOT NULL
           OR array_position(a.allowed_child_roles, NULL) IS NOT NULL
    """,
    "child allowed_tools within the parent's": """
        SELECT c.swarm_run_id AS sw, c.agent_run_id AS id FROM concord.agent_runs AS c
        JOIN concord.agent_runs AS p ON p.agent_run_id = c.parent_agent_run_id
        WHERE (c.allowed_tools <@ p.allowed_tools) IS NOT TRUE
    """,
    "child allowed_connectors within the parent's": """
        SELECT c.swarm_run_id AS sw, c.agent_run_id AS id FROM concord.agent_runs AS c
        JOIN concord.agent_runs AS p ON p.agent_run_id = c.parent_agent_run_id
        WHERE (c.allowed_connectors <@ p.allowed_connectors) IS NOT TRUE
    """,
    "child allowed_child_roles within the parent's (when the parent names any)": """
        SELECT c.swarm_run_id AS sw, c.agent_run_id AS id FROM concord.agent_runs AS c
        JOIN concord.agent_runs AS p ON p.agent_run_id = c.parent_agent_run_id
        WHERE cardinality(p.allowed_child_roles) > 0
          AND ((c.agent_role = ANY (p.allowed_child_roles)) IS NOT TRUE
               OR cardinality(c.allowed_child_roles) = 0
               OR (c.allowed_child_roles <@ p.allowed_child_roles) IS NOT TRUE)
    """,
    "child memory scope within the parent's": """
        SELECT c.swarm_run_id AS sw, c.agent_run_id AS id FROM concord.agent_runs AS c
        JOIN concord.agent_runs AS p ON p.agent_run_id = c.parent_agent_run_id
        WHERE c.memory_scope <> '{}'::jsonb AND (
               p.memory_scope = '{}'::jsonb
            OR (c.memory_scope ->> 'subject_type')
               IS DISTINCT FROM (p.memory_scope ->> 'subject_type')
            OR (c.memory_scope ->> 'subject_id')
               IS DISTINCT FROM (p.memory_scope ->> 'subject_id')
            OR ((c.memory_scope -> 'allowed_memory_types')
                <@ (p.memory_scope -> 'allowed_memory_types')) IS NOT TRUE
            OR ((c.memory_scope -> 'allow_semantic_retrieval')::boolean
                AND NOT (p.memory_scope -> 'allow_semantic_retrieval')::boolean) IS NOT FALSE
            OR ((c.memory_scope ->> 'max_results')::numeric
                <= (p.memory_scope ->> 'max_results')::numeric) IS NOT TRUE)
    """,
    "spawn_depth = parent's + 1, same swarm, <= max_depth; roots at 0, one per swarm": """
        SELECT a.swarm_run_id AS sw, a.agent_run_id AS id FROM concord.agent_runs AS a
        JOIN concord.swarm_runs AS s ON s.swarm_run_id = a.swarm_run_id
        LEFT JOIN concord.agent_runs AS p ON p.agent_run_id = a.parent_agent_run_id
        WHERE a.spawn_depth > s.max_depth
           OR (a.parent_agent_run_id IS NULL AND a.spawn_depth <> 0)
           OR (a.parent_agent_run_id IS NOT NULL
               AND (p.agent_run_id IS NULL OR a.spawn_depth <> p.spawn_depth + 1
                    OR p.swarm_run_id <> a.swarm_run_id))
        UNION ALL
        SELECT s.swarm_run_id AS sw, s.swarm_run_id AS id FROM concord.swarm_runs AS s
        WHERE (SELECT count(*) FROM concord.agent_runs AS a
               WHERE a.swarm_run_id = s.swarm_run_id AND a.parent_agent_run_id IS NULL) > 1
           OR (s.coordinator_agent_run_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM concord.agent_runs AS a
                WHERE a.agent_run_id = s.coordinator_agent_run_id
                  AND a.swarm_run_id = s.swarm_run_id AND a.parent_agent_run_id IS NULL))
    """,
    "live agents <= max_agents and = swarm_runs.live_agents": """
        SELECT s.swarm_run_id AS sw, s.swarm_run_id AS id FROM concord.swarm_runs AS s
        LEFT JOIN LATERAL (
            SELECT count(*) FILTER (WHERE NOT st.terminal) AS live
            FROM concord.agent_runs AS a
            JOIN concord.agent_statuses AS st ON st.status = a.status
            WHERE a.swarm_run_id = s.swarm_run_id) AS x ON true
        WHERE x.live > s.max_agents OR x.live <> s.live_agents
    """,
    "step_count <= max_steps, = its steps, step_index 1..n without gaps": """
        SELECT a.swarm_run_id AS sw, a.agent_run_id AS id FROM concord.agent_runs AS a
        LEFT JOIN LATERAL (
            SELECT count(*) AS n, count(DISTINCT st.step_index) AS distinct_n,
                   coalesce(min(st.step_index), 1) AS lo, coalesce(max(st.step_index), 0) AS hi,
                   coalesce(sum(st.cost_units), 0) AS cost,
                   count(*) FILTER (WHERE st.swarm_run_id IS DISTINCT FROM a.swarm_run_id
                                       OR st.command_id <> a.command_id) AS foreign_steps
            FROM concord.agent_steps AS st WHERE st.agent_run_id = a.agent_run_id) AS x ON true
        WHERE a.step_count > a.max_steps OR a.step_count <> x.n OR x.distinct_n <> x.n
           OR (x.n > 0 AND (x.lo <> 1 OR x.hi <> x.n)) OR a.cost_units <> x.cost
           OR x.foreign_steps > 0
    """,
    "swarm total_steps = sum(step_count) <= max_total_steps; cost = sum <= max_cost_units": """
        SELECT s.swarm_run_id AS sw, s.swarm_run_id AS id FROM concord.swarm_runs AS s
        LEFT JOIN LATERAL (
            SELECT coalesce(sum(a.step_count), 0) AS steps, coalesce(sum(a.cost_units), 0) AS cost
            FROM concord.agent_runs AS a WHERE a.swarm_run_id = s.swarm_run_id) AS x ON true
        WHERE s.total_steps <> x.steps OR x.steps > s.max_total_steps
           OR s.cost_units <> x.cost
           OR (s.max_cost_units IS NOT NULL AND x.cost > s.max_cost_units)
    """,
    "invocations grant exactly what their child holds": """
        SELECT i.swarm_run_id AS sw, i.invocation_id AS id FROM concord.agent_invocations AS i
        JOIN concord.agent_runs AS c ON c.agent_run_id = i.child_agent_run_id
        WHERE i.parent_agent_run_id IS DISTINCT FROM c.parent_agent_run_id
           OR i.swarm_run_id <> c.swarm_run_id
           OR i.allowed_tools <> c.allowed_tools OR i.allowed_connectors <> c.allowed_connectors
           OR i.memory_scope <> c.memory_scope
    """,
    # spec 64: a finished swarm's agents are finished too (the coordinator included)
    "no live agent in a finished swarm, nor under a cancelled parent": """
        SELECT a.swarm_run_id AS sw, a.agent_run_id AS id FROM concord.agent_runs AS a
        JOIN concord.agent_statuses AS st ON st.status = a.status AND NOT st.terminal
        JOIN concord.swarm_runs AS s ON s.swarm_run_id = a.swarm_run_id
        JOIN concord.swarm_statuses AS ss ON ss.status = s.status
        LEFT JOIN concord.agent_runs AS p ON p.agent_run_id = a.parent_agent_run_id
        WHERE ss.terminal OR p.status = 'cancelled'
    """,
}


def violations(conn: psycopg.Connection, swarm: UUID | None = None) -> dict[str, list[Any]]:
    """The invariants broken by the rows of ``swarm`` (of every swarm when None)."""
    found = {}
    for name, query in INVARIANTS.items():
        rows = conn.execute(
            f"SELECT v.id FROM ({query}) AS v WHERE %(s)s::uuid IS NULL OR v.sw = %(s)s::uuid",
            {"s": swarm},
        ).fetchall()
        if rows:
            found[name] = [r["id"] for r in rows][:5]
    return found


def assert_invariants(
    conn: psycopg.Connection, context: Any = None, swarm: UUID | None = None
) -> None:
    found = violations(conn, swarm)
    assert not found, f"stored state breaks invariants after {context}: {found}"


def live_count(conn: psycopg.Connection, swarm: UUID) -> tuple[int, int]:
    """(non-terminal agent runs, stored live_agents)."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM concord.agent_runs AS a "
        "        JOIN concord.agent_statuses AS st ON st.status = a.status "
        "        WHERE a.swarm_run_id = s.swarm_run_id AND NOT st.terminal) AS live, "
        "       s.live_agents FROM concord.swarm_runs AS s WHERE s.swarm_run_id = %s",
        (swarm,),
    ).fetchone()
    return row["live"], row["live_agents"]


def swarm_row(conn: psycopg.Connection, swarm: UUID) -> dict[str, Any]:
    return conn.execute(
        "SELECT * FROM concord.swarm_runs WHERE swarm_run_id = %s", (swarm,)
    ).fetchone()


# ---------------------------------------------------------------------------
# Part 1: races on real parallel connections, stepped in turn
# ---------------------------------------------------------------------------

K = 8
ROUNDS = 4


def spawn_winners(outcomes: list[Outcome]) -> int:
    """Count the allowed spawns; every other outcome must be a CN010 refusal (returned
    as decision denied, or raised)."""
    winners = 0
    for o in outcomes:
        if o.error is not None:
            assert o.sqlstate == "CN010", f"a losing spawn failed otherwise: {o.error!r}"
        elif o.value["decision"] == "allowed":
            winners += 1
        else:
            assert o.value["decision"] == "denied" and o.value["code"] == "CN010", o.value
    return winners


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_spawns_of_one_parent_race_for_the_last_slot(agents_dsn: str, round_: int) -> None:
    n = 3 + round_  # max_agents
    with connect(agents_dsn) as conn:
        swarm, coord = new_swarm(conn, max_agents=n, max_depth=2)
        for i in range(n - 2):
            spawned(conn, coord, f"pre{i}")
        assert live_count(conn, swarm) == (n - 1, n - 1)

    outcomes = race(
        agents_dsn,
        [lambda c, i=i: spawn(c, coord, f"racer{i}") for i in range(K)],
    )
    assert spawn_winners(outcomes) == 1

    with connect(agents_dsn) as conn:
        assert live_count(conn, swarm) == (n, n)
        assert_invariants(conn, f"round {round_}", swarm)


def test_spawns_of_different_parents_race_for_the_last_slot(agents_dsn: str) -> None:
    """K parents (the coordinator and K-1 children) each spawn one child with one slot
    left: no common parent lock serializes them, only the swarm's counters."""
    n = K + 1
    with connect(agents_dsn) as conn:
        swarm, coord = new_swarm(conn, max_agents=n, max_depth=2)
        parents = [coord] + [
            spawned(conn, coord, f"p{i}", allowed_tools=["spawn_subagent"]) for i in range(K - 1)
        ]
        assert live_count(conn, swarm) == (K, K)

    outcomes = race(
        agents_dsn,
        [lambda c, p=p, i=i: spawn(c, p, f"racer{i}") for i, p in enumerate(parents)],
    )
    with connect(agents_dsn) as conn:
        assert_invariants(conn, "different parents", swarm)
        assert live_count(conn, swarm) == (n, n)
    # a deadlock (40P01) here is a defect too: the loser must be refused, not killed
    assert spawn_winners(outcomes) == 1, [o.value or o.error for o in outcomes]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_spawns_at_max_depth_minus_one_race(agents_dsn: str, round_: int) -> None:
    """Two agents at depth max_depth - 1 spawn at once with two slots left: both children
    land at max_depth; their children are refused (CN010, depth)."""
    max_depth = 2 + round_
    with connect(agents_dsn) as conn:
        swarm, coord = new_swarm(conn, max_agents=max_depth + 3, max_depth=max_depth)
        chain = coord
        for d in range(1, max_depth - 1):
            chain = spawned(conn, chain, f"chain{d}", allowed_tools=["spawn_subagent"])
        a = spawned(conn, chain, "left", allowed_tools=["spawn_subagent"])
        b = spawned(conn, chain, "right", allowed_tools=["spawn_subagent"])
        live, _ = live_count(conn, swarm)
        assert live == max_depth + 1  # two slots left

    outcomes = race(
        agents_dsn,
        [lambda c, p=p: spawn(c, p, "leaf", allowed_tools=["spawn_subagent"]) for p in (a, b)],
    )
    leaves = []
    for o in outcomes:
        assert o.error is None, o.error
        assert o.value["decision"] == "allowed", o.value
        leaves.append(UUID(o.value["child_agent_run_id"]))

    with connect(agents_dsn) as conn:
        depths = {
            r["spawn_depth"]
            for r in conn.execute(
                "SELECT spawn_depth FROM concord.agent_runs WHERE agent_run_id = ANY(%s)",
                (leaves,),
            )
        }
        assert depths == {max_depth}
        too_deep = spawn(conn, leaves[0], "too_deep")
        assert (too_deep["decision"], too_deep["code"]) == ("denied", "CN010"), too_deep
        assert live_count(conn, swarm) == (max_depth + 3, max_depth + 3)
        assert_invariants(conn, f"round {round_}", swarm)


@pytest.mark.parametrize("left", [1, 3])
def test_steps_of_different_agents_race_for_the_swarm_budget(agents_dsn: str, left: int) -> None:
    total = 30
    with connect(agents_dsn) as conn:
        swarm, coord = new_swarm(conn, max_agents=K + 1, max_total_steps=total)
        agents = [spawned(conn, coord, f"w{i}") for i in range(K)]
        while swarm_row(conn, swarm)["total_steps"] < total - left:
            record_step(conn, coord)
        assert swarm_row(conn, swarm)["total_steps"] == total - left

    outcomes = race(agents_dsn, [lambda c, a=a: record_step(c, a) for a in agents])
    winners = [o for o in outcomes if o.error is None]
    for o in outcomes:
        assert o.error is None or o.sqlstate == "CN010", repr(o.error)
    assert len(winners) == left

    with connect(agents_dsn) as conn:
        assert swarm_row(conn, swarm)["total_steps"] == total
        assert_invariants(conn, f"steps, {left} left", swarm)


def test_costly_steps_race_for_max_cost_units(agents_dsn: str) -> None:
    with connect(agents_dsn) as conn:
        swarm, coord = new_swarm(conn, max_agents=K + 1, max_cost_units=5)
        agents = [spawned(conn, coord, f"w{i}") for i in range(K)]
        record_step(conn, coord, cost=3)

    outcomes = race(agents_dsn, [lambda c, a=a: record_step(c, a, cost=1) for a in agents])
    for o in outcomes:
        assert o.error is None or o.sqlstate == "CN010", repr(o.error)
    assert sum(o.error is None for o in outcomes) == 2

    with connect(agents_dsn) as conn:
        assert swarm_row(conn, swarm)["cost_units"] == 5
        assert_invariants(conn, "cost", swarm)


def test_steps_of_one_agent_race_for_its_max_steps(agents_dsn: str) -> None:
    with connect(agents_dsn) as conn:
        swarm, coord = new_swarm(conn, max_agents=3)
        worker = spawned(conn, coord, "w", max_steps=5)
        record_step(conn, worker)
        record_step(conn, worker)

    outcomes = race(agents_dsn, [lambda c: record_step(c, worker) for _ in range(K)])
    for o in outcomes:
        assert o.error is None or o.sqlstate == "CN010", repr(o.error)
    assert sum(o.error is None for o in outcomes) == 3
    with connect(agents_dsn) as conn:
        row = conn.execute(
            "SELECT step_count FROM concord.agent_runs WHERE agent_run_id = %s", (worker,)
        ).fetchone()
        assert row["step_count"] == 5
        assert_invariants(conn, "max_steps race", swarm)


def test_tool_calls_race_for_the_swarm_budget(agents_dsn: str) -> None:
    """submit_agent_action of K agents for the last step of the swarm: one command."""
    total = 20
    with connect(agents_dsn) as conn:
        swarm, coord = new_swarm(conn, max_agents=K + 1, max_total_steps=total)
        agents = [spawned(conn, coord, f"w{i}", allowed_tools=["tool_a"]) for i in range(K)]
        while swarm_row(conn, swarm)["total_steps"] < total - 1:
            record_step(conn, coord)

    action = Jsonb({"tool_name": "tool_a", "payload": {}})
    outcomes = race(
        agents_dsn,
        [
            lambda c, a=a: c.execute(
                "SELECT concord.submit_agent_action(%s, %s) AS r", (a, action)
            ).fetchone()["r"]
            for a in agents
        ],
    )
    for o in outcomes:
        assert o.error is None or o.sqlstate == "CN010", repr(o.error)
    assert [o.value["decision"] for o in outcomes if o.error is None] == ["allowed"]
    with connect(agents_dsn) as conn:
        assert swarm_row(conn, swarm)["total_steps"] == total
        made = conn.execute(
            "SELECT count(*) AS n FROM concord.commands WHERE requested_by = ANY(%s)",
            ([f"agent:{a}" for a in agents],),
        ).fetchone()["n"]
        assert made == 1, "a refused step left its command behind"
        assert_invariants(conn, "tool call race", swarm)


@pytest.mark.parametrize("status", ["failed", "expired"])
def test_a_swarm_that_ends_leaves_no_live_child(agents_dsn: str, status: str) -> None:
    """An owner's UPDATE that ends a swarm (running -> failed or expired, legal edges)
    while a child is live must be refused or end the child (spec 64): otherwise the child
    of a finished swarm goes on taking steps."""
    with connect(agents_dsn) as conn:
        swarm, coord = new_swarm(conn, max_agents=3)
        kid = spawned(conn, coord, "kid")
        try:
            conn.execute(
                "UPDATE concord.swarm_runs SET status = %s WHERE swarm_run_id = %s",
                (status, swarm),
            )
        except psycopg.Error as exc:
            assert exc.sqlstate in REFUSALS, exc
        assert_invariants(conn, f"swarm -> {status}", swarm)
        with pytest.raises(psycopg.Error) as refused:
            record_step(conn, kid)
        assert refused.value.sqlstate == "CN011"


# ---------------------------------------------------------------------------
# Part 2: a property test over random operation sequences
# ---------------------------------------------------------------------------


@dataclass
class World:
    """What one example has made: its swarm and agents (in creation order)."""

    swarm: UUID
    agents: list[UUID] = field(default_factory=list)

    def pick(self, index: int) -> UUID:
        return self.agents[index % len(self.agents)]

    def pick_live(self, conn: psycopg.Connection, index: int, *, spare_root: bool = False) -> UUID:
        """A live agent of the swarm (not the coordinator when ``spare_root`` and another
        is live); any agent when none is live."""
        live = [
            r["agent_run_id"]
            for r in conn.execute(
                "SELECT a.agent_run_id FROM concord.agent_runs AS a "
                "JOIN concord.agent_statuses AS st ON st.status = a.status AND NOT st.terminal "
                "WHERE a.swarm_run_id = %s ORDER BY a.spawn_depth, a.created_at, a.agent_run_id",
                (self.swarm,),
            )
        ]
        if spare_root and len(live) > 1:
            live = live[1:]
        return live[index % len(live)] if live else self.pick(index)

    def choose(self, conn: psycopg.Connection, op: dict[str, Any], key: str = "agent") -> UUID:
        if op.get("any_agent"):
            return self.pick(op[key])
        return self.pick_live(conn, op[key], spare_root=op["op"] in ("finish", "cancel"))


def memory_scope_strategy() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.just({}),
        st.builds(
            lambda subject, types, semantic, max_results: {
                "subject_type": subject[0],
                "subject_id": subject[1],
                "allowed_memory_types": types,
                "allow_semantic_retrieval": semantic,
                "max_results": max_results,
            },
            st.sampled_from(SUBJECTS),
            st.lists(st.sampled_from(MEMORY_TYPES), unique=True, max_size=4),
            st.booleans(),
            st.integers(0, 20),
        ),
    )


names = st.lists(st.sampled_from(ALL_TOOLS), unique=True, max_size=6)
connector_lists = st.lists(st.sampled_from(CONNECTORS + ["ftp"]), unique=True, max_size=4)
role_lists = st.lists(st.sampled_from(ROLES), unique=True, max_size=3)

spawn_op = st.fixed_dictionaries(
    {
        "op": st.just("spawn"),
        "parent": st.integers(0, 50),
        "any_agent": st.sampled_from([False, False, False, True]),
        "role": st.sampled_from(ROLES),
        # a random subset of the parent's tools, plus (sometimes) tools it lacks
        "keep": st.lists(st.booleans(), min_size=len(ALL_TOOLS), max_size=len(ALL_TOOLS)),
        "extra_tools": st.one_of(st.just([]), st.just([]), st.just([]), names),
        "keep_connectors": st.lists(st.booleans(), min_size=4, max_size=4),
        "extra_connectors": st.one_of(st.just([]), st.just([]), st.just([]), connector_lists),
        "memory": st.sampled_from(["inherit", "inherit", "narrow", "narrow", "empty", "random"]),
        "random_memory": memory_scope_strategy(),
        "child_roles": st.one_of(st.none(), role_lists),
        "max_steps": st.integers(1, 8),
        "via_action": st.booleans(),
    }
)
step_op = st.fixed_dictionaries(
    {
        "op": st.just("step"),
        "agent": st.integers(0, 50),
        "any_agent": st.sampled_from([False, False, False, True]),
        "cost": st.one_of(st.none(), st.sampled_from([0, 0.5, 1, 2.5])),
    }
)
tool_op = st.fixed_dictionaries(
    {
        "op": st.just("tool"),
        "agent": st.integers(0, 50),
        "any_agent": st.sampled_from([False, False, False, True]),
        "tool": st.sampled_from(
            [t for t, _ in COMMAND_TOOLS]
            + UNREGISTERED_TOOLS
            + ["read_artifact", "retrieve_memory"]
        ),
    }
)
finish_op = st.fixed_dictionaries(
    {
        "op": st.just("finish"),
        "agent": st.integers(0, 50),
        "any_agent": st.sampled_from([False, False, False, True]),
        "status": st.sampled_from(["succeeded", "failed"]),
    }
)
cancel_op = st.fixed_dictionaries(
    {
        "op": st.just("cancel"),
        "agent": st.integers(0, 50),
        "any_agent": st.sampled_from([False, False, False, True]),
        "whole_swarm": st.sampled_from([False, False, False, True]),
    }
)
join_op = st.fixed_dictionaries({"op": st.just("join")})
begin_op = st.fixed_dictionaries(
    {"op": st.just("begin"), "agent": st.integers(0, 50), "any_agent": st.booleans()}
)

# Raw writes as the table owner (a superuser here): each tries to break one invariant.
raw_insert_op = st.fixed_dictionaries(
    {
        "op": st.just("raw_insert_agent"),
        "parent": st.one_of(st.none(), st.integers(0, 50)),
        "depth_offset": st.sampled_from([0, 0, 1, -1, 5]),
        "tools": st.one_of(names, st.just(None), st.just("null_element")),
        "connectors": st.one_of(connector_lists, st.just(None)),
        "memory": memory_scope_strategy(),
        "child_roles": role_lists,
        "role": st.sampled_from(ROLES),
        "status": st.sampled_from(["created", "created", "running", "succeeded"]),
        "step_count": st.sampled_from([0, 0, 3]),
    }
)
RAW_UPDATES = [
    "UPDATE concord.agent_runs SET allowed_tools = allowed_tools || '{tool_ghost}' "
    "WHERE agent_run_id = %(a)s",
    "UPDATE concord.agent_runs SET allowed_tools = ARRAY['tool_a','tool_b','tool_crm','tool_mail',"
    "'spawn_subagent'] WHERE agent_run_id = %(a)s",
    "UPDATE concord.agent_runs SET allowed_connectors = ARRAY['crm','mail','sql','ftp'] "
    "WHERE agent_run_id = %(a)s",
    "UPDATE concord.agent_runs SET allowed_tools = NULL WHERE agent_run_id = %(a)s",
    "UPDATE concord.agent_runs SET allowed_tools = ARRAY[NULL]::text[] WHERE agent_run_id = %(a)s",
    "UPDATE concord.agent_runs SET memory_scope = jsonb_set(memory_scope, '{max_results}', '1000') "
    "WHERE agent_run_id = %(a)s AND memory_scope <> '{}'",
    'UPDATE concord.agent_runs SET memory_scope = \'{"subject_type": "customer", '
    '"subject_id": "c9", "allowed_memory_types": ["fact"], '
    '"allow_semantic_retrieval": true, "max_results": 5}\' WHERE agent_run_id = %(a)s',
    "UPDATE concord.agent_runs SET spawn_depth = spawn_depth + 1 WHERE agent_run_id = %(a)s",
    "UPDATE concord.agent_runs SET parent_agent_run_id = NULL, spawn_depth = 0 "
    "WHERE agent_run_id = %(a)s",
    "UPDATE concord.agent_runs SET parent_agent_run_id = %(b)s WHERE agent_run_id = %(a)s",
    "UPDATE concord.agent_runs SET max_steps = 100000 WHERE agent_run_id = %(a)s",
    "UPDATE concord.agent_runs SET step_count = 0 WHERE agent_run_id = %(a)s",
    "UPDATE concord.agent_runs SET step_count = step_count + 1 WHERE agent_run_id = %(a)s",
    "UPDATE concord.agent_runs SET cost_units = 0 WHERE agent_run_id = %(a)s",
    "UPDATE concord.agent_runs SET status = 'created' WHERE agent_run_id = %(a)s",
    "UPDATE concord.agent_runs SET status = 'running' WHERE agent_run_id = %(a)s",
    "UPDATE concord.agent_runs SET status = 'failed' WHERE agent_run_id = %(a)s",
    "UPDATE concord.agent_runs SET status = 'expired' WHERE agent_run_id = %(a)s",
    "UPDATE concord.agent_runs SET swarm_run_id = (SELECT swarm_run_id FROM concord.swarm_runs "
    "WHERE swarm_run_id <> %(s)s LIMIT 1) WHERE agent_run_id = %(a)s",
    "UPDATE concord.swarm_runs SET live_agents = 0 WHERE swarm_run_id = %(s)s",
    "UPDATE concord.swarm_runs SET total_steps = 0 WHERE swarm_run_id = %(s)s",
    "UPDATE concord.swarm_runs SET cost_units = 0 WHERE swarm_run_id = %(s)s",
    "UPDATE concord.swarm_runs SET max_agents = 1 WHERE swarm_run_id = %(s)s",
    "UPDATE concord.swarm_runs SET max_total_steps = 1 WHERE swarm_run_id = %(s)s",
    "UPDATE concord.swarm_runs SET max_depth = 0 WHERE swarm_run_id = %(s)s",
    "UPDATE concord.swarm_runs SET max_cost_units = 0 WHERE swarm_run_id = %(s)s",
    "UPDATE concord.swarm_runs SET status = 'failed' WHERE swarm_run_id = %(s)s",
    "UPDATE concord.swarm_runs SET status = 'expired' WHERE swarm_run_id = %(s)s",
    "UPDATE concord.swarm_runs SET coordinator_agent_run_id = %(a)s WHERE swarm_run_id = %(s)s",
    "INSERT INTO concord.agent_steps (agent_run_id, command_id, step_index, action_type, decision) "
    "SELECT agent_run_id, command_id, step_count + 5, 'think', 'recorded' "
    "FROM concord.agent_runs WHERE agent_run_id = %(a)s",
    "INSERT INTO concord.agent_steps (agent_run_id, command_id, step_index, action_type, decision, "
    "cost_units) SELECT agent_run_id, command_id, 1, 'think', 'recorded', 1000 "
    "FROM concord.agent_runs WHERE agent_run_id = %(a)s",
    "UPDATE concord.agent_steps SET step_index = step_index + 10 WHERE agent_run_id = %(a)s",
    "UPDATE concord.agent_steps SET cost_units = 0 WHERE agent_run_id = %(a)s",
    "DELETE FROM concord.agent_steps WHERE agent_run_id = %(a)s",
    "DELETE FROM concord.agent_runs WHERE agent_run_id = %(a)s",
    "UPDATE concord.agent_invocations SET allowed_tools = ARRAY['tool_ghost'] "
    "WHERE child_agent_run_id = %(a)s",
    "UPDATE concord.agent_invocations SET parent_agent_run_id = %(b)s "
    "WHERE child_agent_run_id = %(a)s",
]
raw_update_op = st.fixed_dictionaries(
    {
        "op": st.just("raw_update"),
        "which": st.integers(0, len(RAW_UPDATES) - 1),
        "agent": st.integers(0, 50),
        "other": st.integers(0, 50),
    }
)

# weights by repetition: mostly spawns, steps, tool calls and attacks; few ends
operation = st.one_of(
    spawn_op,
    spawn_op,
    spawn_op,
    spawn_op,
    step_op,
    step_op,
    step_op,
    tool_op,
    tool_op,
    tool_op,
    raw_update_op,
    raw_update_op,
    raw_update_op,
    raw_insert_op,
    raw_insert_op,
    begin_op,
    finish_op,
    cancel_op,
    join_op,
)

swarm_strategy = st.fixed_dictionaries(
    {
        "max_agents": st.integers(1, 8),
        "max_depth": st.sampled_from([0, 1, 2, 2, 3, 3, 4]),
        "max_total_steps": st.integers(5, 60),
        "max_cost_units": st.one_of(st.none(), st.sampled_from([2, 5, 10])),
        "tools": st.lists(st.sampled_from(ALL_TOOLS), unique=True, min_size=1),
        "connectors": st.lists(st.sampled_from(CONNECTORS), unique=True),
        "memory": memory_scope_strategy(),
        "child_roles": st.one_of(st.none(), role_lists),
        "max_steps": st.integers(3, 30),
    }
)


def child_request(world_conn: psycopg.Connection, parent: UUID, op: dict[str, Any]) -> dict:
    """A spawn request derived from the parent's stored scopes and the op's choices."""
    p = world_conn.execute(
        "SELECT allowed_tools, allowed_connectors, memory_scope, allowed_child_roles "
        "FROM concord.agent_runs WHERE agent_run_id = %s",
        (parent,),
    ).fetchone()
    tools = [
        t for t, keep in zip(ALL_TOOLS, op["keep"], strict=True) if keep and t in p["allowed_tools"]
    ]
    tools += [t for t in op["extra_tools"] if t not in tools]
    connectors = [
        c
        for c, keep in zip(CONNECTORS + ["ftp"], op["keep_connectors"], strict=True)
        if keep and c in p["allowed_connectors"]
    ]
    connectors += [c for c in op["extra_connectors"] if c not in connectors]
    memory: dict[str, Any]
    if op["memory"] == "inherit":
        memory = p["memory_scope"]
    elif op["memory"] == "narrow" and p["memory_scope"]:
        parent_scope = p["memory_scope"]
        memory = {
            **parent_scope,
            "allowed_memory_types": parent_scope["allowed_memory_types"][:1],
            "allow_semantic_retrieval": False,
            "max_results": max(0, parent_scope["max_results"] - 1),
        }
    elif op["memory"] == "random":
        memory = op["random_memory"]
    else:
        memory = {}
    request: dict[str, Any] = {
        "parent_agent_run_id": str(parent),
        "agent_name": f"a{uuid.uuid4().hex[:6]}",
        "agent_role": op["role"],
        "delegated_goal": "a random goal",
        "allowed_tools": tools,
        "allowed_connectors": connectors,
        "memory_scope": memory,
        "max_steps": op["max_steps"],
    }
    if op["child_roles"] is not None:
        request["allowed_child_roles"] = op["child_roles"]
    elif p["allowed_child_roles"]:
        request["allowed_child_roles"] = p["allowed_child_roles"][:1]
    return request


def apply(conn: psycopg.Connection, world: World, op: dict[str, Any]) -> Any:
    """Run one operation (the caller wraps it in a transaction)."""
    kind = op["op"]
    if kind == "spawn":
        parent = world.choose(conn, op, "parent")
        request = child_request(conn, parent, op)
        if op["via_action"]:
            payload = {k: v for k, v in request.items() if k != "parent_agent_run_id"}
            answer = conn.execute(
                "SELECT concord.submit_agent_action(%s, %s) AS r",
                (parent, Jsonb({"tool_name": "spawn_subagent", "payload": payload})),
            ).fetchone()["r"]
        else:
            answer = conn.execute(
                "SELECT concord.spawn_subagent(%s) AS r", (Jsonb(request),)
            ).fetchone()["r"]
        if answer.get("child_agent_run_id"):
            world.agents.append(UUID(answer["child_agent_run_id"]))
        return answer
    if kind == "step":
        return record_step(conn, world.choose(conn, op), op["cost"])
    if kind == "tool":
        return conn.execute(
            "SELECT concord.submit_agent_action(%s, %s) AS r",
            (world.choose(conn, op), Jsonb({"tool_name": op["tool"], "payload": {}})),
        ).fetchone()["r"]
    if kind == "finish":
        return conn.execute(
            "SELECT concord.finish_agent_run(%s, %s) AS r",
            (world.choose(conn, op), op["status"]),
        ).fetchone()["r"]
    if kind == "cancel":
        if op["whole_swarm"]:
            return conn.execute(
                "SELECT concord.cancel_swarm(%s, 'tester', 'property test') AS r", (world.swarm,)
            ).fetchone()["r"]
        return conn.execute(
            "SELECT concord.cancel_agent_run(%s, 'tester', 'property test') AS r",
            (world.choose(conn, op),),
        ).fetchone()["r"]
    if kind == "join":
        return conn.execute("SELECT concord.join_swarm(%s) AS r", (world.swarm,)).fetchone()["r"]
    if kind == "begin":
        return conn.execute(
            "SELECT concord.begin_agent_run(%s) AS r", (world.choose(conn, op),)
        ).fetchone()["r"]
    if kind == "raw_insert_agent":
        return raw_insert_agent(conn, world, op)
    if kind == "raw_update":
        params = {"a": world.pick(op["agent"]), "b": world.pick(op["other"]), "s": world.swarm}
        return conn.execute(RAW_UPDATES[op["which"]], params).rowcount
    raise AssertionError(kind)


def raw_insert_agent(conn: psycopg.Connection, world: World, op: dict[str, Any]) -> Any:
    parent = None if op["parent"] is None else world.pick(op["parent"])
    depth = 0
    command_id = conn.execute(
        "SELECT command_id FROM concord.swarm_runs WHERE swarm_run_id = %s", (world.swarm,)
    ).fetchone()["command_id"]
    if parent is not None:
        depth = (
            conn.execute(
                "SELECT spawn_depth FROM concord.agent_runs WHERE agent_run_id = %s", (parent,)
            ).fetchone()["spawn_depth"]
            + 1
        )
    depth += op["depth_offset"]
    tools: Any = op["tools"]
    tools_sql = "%(tools)s::text[]"
    if tools == "null_element":
        tools_sql = "ARRAY['tool_a', NULL]::text[]"
        tools = None
    row = conn.execute(
        "INSERT INTO concord.agent_runs (command_id, swarm_run_id, parent_agent_run_id, "
        "agent_name, agent_role, goal, allowed_tools, allowed_connectors, allowed_child_roles, "
        f"memory_scope, max_steps, spawn_depth, status, step_count, trace_id) VALUES ("
        f"%(c)s, %(s)s, %(p)s, 'raw', %(role)s, 'raw goal', {tools_sql}, %(conn)s::text[], "
        "%(roles)s::text[], %(mem)s, 5, %(depth)s, %(status)s, %(steps)s, 'raw') "
        "RETURNING agent_run_id",
        {
            "c": command_id,
            "s": world.swarm,
            "p": parent,
            "role": op["role"],
            "tools": tools,
            "conn": op["connectors"],
            "roles": op["child_roles"],
            "mem": Jsonb(op["memory"]),
            "depth": depth,
            "status": op["status"],
            "steps": op["step_count"],
        },
    ).fetchone()
    world.agents.append(row["agent_run_id"])
    return row


def start_world(conn: psycopg.Connection, spec: dict[str, Any]) -> World:
    swarm, coord = new_swarm(
        conn,
        max_agents=spec["max_agents"],
        max_depth=spec["max_depth"],
        max_total_steps=spec["max_total_steps"],
        max_cost_units=spec["max_cost_units"],
        tools=spec["tools"],
        connectors=spec["connectors"],
        memory_scope=spec["memory"],
        child_roles=spec["child_roles"],
        max_steps=spec["max_steps"],
    )
    return World(swarm=swarm, agents=[coord])


@pytest.fixture(scope="module")
def property_conn(agents_dsn: str) -> Iterator[psycopg.Connection]:
    with connect(agents_dsn) as conn:
        conn.execute("SET client_min_messages = warning")
        yield conn


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(spec=swarm_strategy, ops=st.lists(operation, min_size=10, max_size=40))
def test_no_operation_sequence_breaks_the_invariants(
    property_conn: psycopg.Connection, spec: dict[str, Any], ops: list[dict[str, Any]]
) -> None:
    conn = property_conn
    world = start_world(conn, spec)
    assert_invariants(conn, "start_swarm", world.swarm)
    for i, op in enumerate(ops):
        world_before = list(world.agents)
        try:
            with conn.transaction():
                apply(conn, world, op)
        except psycopg.Error as exc:
            world.agents = world_before  # the transaction (and what it made) rolled back
            assert exc.sqlstate in REFUSALS, (
                f"operation {i} {op} failed with an unexpected error {exc.sqlstate}: {exc}"
            )
        assert_invariants(conn, f"operation {i}: {op}", world.swarm)
