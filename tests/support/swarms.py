"""Swarms driven by hand through SQL, for the tests of agents, memory and artifacts: a
database of its own per test module with the command types and tools those tests use,
dict-row connections to it, and the few moves every such test starts with (a swarm under
a new command, a child spawned under a parent).

The fixtures are shared through ``tests/agents``, ``tests/memory`` and ``tests/artifacts``
``conftest.py`` (a fixture imported straight into a test module is F401/F811 for ruff).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from concord.migrate import migrate
from support.databases import temporary_database
from support.workers import WorkerProcess, stop_workers

# The command a swarm works for (sync: it stays validated while the swarm runs).
PARENT_TYPE = "swarm.parent"
# A tool whose command checks the agent_tool policy, and a plain one.
RUN_SQL = "run_sql"
RUN_SQL_TYPE = "swarm.run_sql"
LOOKUP = "lookup"
LOOKUP_TYPE = "swarm.lookup"
GATEWAY_TOOLS = [
    "spawn_subagent",
    "create_artifact",
    "read_artifact",
    "evaluate_output",
    "write_memory",
    "retrieve_memory",
]
# What a coordinator holds unless a test says otherwise.
ALL_TOOLS = [RUN_SQL, LOOKUP, *GATEWAY_TOOLS]
SWARM_TERMINAL = {"succeeded", "failed", "cancelled", "partially_succeeded", "expired"}
# The runtime registered by tests/support/runtime_ops/concord_test_gated_spawn.py.
GATED_SPAWN_RUNTIME = "gated_spawn"


@pytest.fixture(scope="module")
def swarm_dsn(server_dsn: str) -> Iterator[str]:
    """A database of the test module's own, with Concord installed, the parent command
    type, the tools ``run_sql`` and ``lookup``, and carol on ``team:approvers``."""
    with temporary_database(server_dsn, "concord_swarms") as dsn:
        migrate(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET client_min_messages = warning")
            for spec in (
                {"command_type": PARENT_TYPE, "name": PARENT_TYPE, "sync_allowed": True},
                {
                    "command_type": RUN_SQL_TYPE,
                    "name": RUN_SQL_TYPE,
                    "sync_allowed": True,
                    "policy_checks": ["agent_tool"],
                },
                {"command_type": LOOKUP_TYPE, "name": LOOKUP_TYPE, "sync_allowed": True},
            ):
                conn.execute("SELECT concord.register_command_type(%s)", (Jsonb(spec),))
            for tool in (
                {"name": RUN_SQL, "command_type": RUN_SQL_TYPE, "description": "run a query"},
                {"name": LOOKUP, "command_type": LOOKUP_TYPE, "description": "look up"},
            ):
                conn.execute("SELECT concord.register_tool(%s)", (Jsonb(tool),))
            conn.execute("SELECT concord.add_team_member('team:approvers', 'carol')")
            # the cluster is shared: keep each worker's pools small
            conn.execute(
                "UPDATE concord.runtime_queues SET worker_concurrency = "
                "least(worker_concurrency, 4)"
            )
        yield dsn


def connect(dsn: str) -> psycopg.Connection:
    """An autocommit, dict-row connection that keeps notices quiet."""
    conn = psycopg.connect(dsn, autocommit=True, row_factory=dict_row)
    conn.execute("SET client_min_messages = warning")
    return conn


@pytest.fixture
def swarm_conn(swarm_dsn: str) -> Iterator[psycopg.Connection]:
    with connect(swarm_dsn) as conn:
        yield conn


@pytest.fixture(scope="module")
def swarm_worker(swarm_dsn: str) -> Iterator[WorkerProcess]:
    """A ``concord worker`` on the module's database, with the ``gated_spawn`` runtime."""
    worker = WorkerProcess(
        swarm_dsn,
        executor_id=f"swarms-{uuid.uuid4().hex[:8]}",
        modules=("concord_test_gated_spawn",),
    ).start(timeout=60)
    try:
        yield worker
    finally:
        stop_workers(worker)


def one(conn: psycopg.Connection, query: str, *params: Any) -> Any:
    """The first column of the first row (``None`` without a row), for tuple and dict
    rows alike."""
    row = conn.execute(query, params).fetchone()
    if row is None:
        return None
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def new_command(conn: psycopg.Connection) -> str:
    """A new parent command (validated)."""
    return str(
        one(
            conn,
            "SELECT command_id FROM concord.submit_command(%s, %s, 'alice')",
            PARENT_TYPE,
            Jsonb({"n": uuid.uuid4().hex}),
        )
    )


def new_swarm(
    conn: psycopg.Connection,
    *,
    tools: list[str] | None = None,
    memory_scope: dict[str, Any] | None = None,
    agents: list[dict[str, Any]] | None = None,
    join_strategy: str = "all_success",
    runtime: str | None = None,
    coordinator: str = "lead",
) -> tuple[str, str, str]:
    """A swarm under a new parent command; returns (command_id, swarm_run_id, the
    coordinator's agent_run_id). Without ``runtime`` no worker drives it: the test does."""
    command_id = new_command(conn)
    spec: dict[str, Any] = {
        "name": f"swarm_{uuid.uuid4().hex[:10]}",
        "objective": "find out",
        "join_strategy": join_strategy,
        "limits": {"max_agents": 10, "max_depth": 3, "max_total_steps": 500},
        "coordinator": {
            "agent_name": coordinator,
            "agent_role": "coordinator",
            "allowed_tools": tools if tools is not None else ALL_TOOLS,
            "memory_scope": memory_scope or {},
            "max_steps": 100,
        },
    }
    if agents is not None:
        spec["agents"] = agents
    if runtime is not None:
        spec["runtime"] = runtime
    swarm = str(one(conn, "SELECT concord.start_swarm(%s, %s)", command_id, Jsonb(spec)))
    lead = one(
        conn,
        "SELECT coordinator_agent_run_id FROM concord.swarm_runs WHERE swarm_run_id = %s",
        swarm,
    )
    return command_id, swarm, str(lead)


def spawn(
    conn: psycopg.Connection,
    parent: Any,
    name: str = "kid",
    tools: list[str] | None = None,
    *,
    role: str = "worker",
    **extra: Any,
) -> dict[str, Any]:
    """The gateway's answer to ``parent`` spawning ``name`` (allowed or not)."""
    request = {
        "parent_agent_run_id": str(parent),
        "agent_name": name,
        "agent_role": role,
        "delegated_goal": f"be {name}",
        "allowed_tools": tools if tools is not None else [LOOKUP],
        "max_steps": 20,
        **extra,
    }
    return one(conn, "SELECT concord.spawn_subagent(%s)", Jsonb(request))


def spawned(
    conn: psycopg.Connection,
    parent: Any,
    name: str = "kid",
    tools: list[str] | None = None,
    **extra: Any,
) -> str:
    """The agent_run_id of a child ``parent`` spawned (the spawn must be allowed)."""
    answer = spawn(conn, parent, name, tools, **extra)
    assert answer["decision"] == "allowed", answer
    return str(answer["child_agent_run_id"])


def memory_scope(*, semantic: bool = True) -> dict[str, Any]:
    """A memory scope over a new user's facts."""
    return {
        "subject_type": "user",
        "subject_id": f"u_{uuid.uuid4().hex[:10]}",
        "allowed_memory_types": ["fact"],
        "allow_semantic_retrieval": semantic,
        "max_results": 5,
    }


UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def other_run_ids(
    conn: psycopg.Connection, swarm: str, answer: Any, allowed: set[str]
) -> dict[str, str]:
    """The agent runs of ``swarm`` (id: name) that ``answer`` names, but those in
    ``allowed``."""
    runs = {
        str(r["agent_run_id"]): r["agent_name"]
        for r in conn.execute(
            "SELECT agent_run_id, agent_name FROM concord.agent_runs WHERE swarm_run_id = %s",
            (swarm,),
        ).fetchall()
    }
    found = set(UUID_RE.findall(json.dumps(answer))) & set(runs)
    return {u: runs[u] for u in found - allowed}


def status_of(conn: psycopg.Connection, table: str, key: str, value: Any) -> Any:
    """The ``status`` of one row of ``concord.<table>`` (``key`` = ``value``)."""
    return one(conn, f"SELECT status FROM concord.{table} WHERE {key} = %s", value)


# What must hold of a swarm whatever was written to it (spec 64, README "Nothing outlives
# its owner"): each query returns the rows that break its rule.
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
