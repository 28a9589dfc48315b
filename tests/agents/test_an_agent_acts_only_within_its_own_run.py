"""An agent acts only within its own run, whoever writes (README "Agents under
governance"):

1. "The run's id is the capability it holds": an agent's own ``agent_run_state`` hands it
   no other run's id, so a child cannot act as its parent through the gateway and get a
   tool outside its own ``allowed_tools``.
2. "A swarm with agent templates spawns only the templates' roles" holds for any INSERT,
   the table owner's included, not only in the spawn policy.
3. A parent agent that ends by a direct UPDATE (failed, expired or succeeded) leaves no
   live child acting for it.
4. A cancelled agent cancels the unfinished commands it asked for (spec 64), its memory
   write waiting for approval included.
5. Idempotency keys of memory writes are the agent's own: agent B may use a key agent A
   used, as with tool calls and spawns.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from concord.migrate import migrate
from support.databases import temporary_database

SYNC_TYPE = "review_agents.sync"
TOOL_TYPE = "review_agents.run_sql"
GATEWAY_TOOLS = [
    "spawn_subagent",
    "create_artifact",
    "read_artifact",
    "write_memory",
    "retrieve_memory",
    "evaluate_output",
]
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def dsn(server_dsn: str) -> Iterator[str]:
    with temporary_database(server_dsn, "concord_review_agents") as d:
        migrate(d)
        with psycopg.connect(d, autocommit=True) as conn:
            conn.execute("SET client_min_messages = warning")
            conn.execute(
                "SELECT concord.register_command_type(%s)",
                (Jsonb({"command_type": SYNC_TYPE, "sync_allowed": True}),),
            )
            conn.execute(
                "SELECT concord.register_command_type(%s)",
                (
                    Jsonb(
                        {
                            "command_type": TOOL_TYPE,
                            "sync_allowed": True,
                            "policy_checks": ["agent_tool"],
                        }
                    ),
                ),
            )
            conn.execute(
                "SELECT concord.register_tool(%s)",
                (Jsonb({"name": "run_sql", "command_type": TOOL_TYPE}),),
            )
        yield d


@pytest.fixture
def conn(dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as c:
        c.execute("SET client_min_messages = warning")
        yield c


def _val(conn: psycopg.Connection, query: str, *args: Any) -> Any:
    row = conn.execute(query, args).fetchone()
    return None if row is None else next(iter(row.values()))


def new_swarm(
    conn: psycopg.Connection,
    *,
    tools: list[str] | None = None,
    memory_scope: dict[str, Any] | None = None,
    agents: list[dict[str, Any]] | None = None,
) -> tuple[UUID, UUID, UUID]:
    """(command_id, swarm_run_id, coordinator id) of a new swarm under a new command."""
    command_id = _val(
        conn,
        "SELECT command_id FROM concord.submit_command(%s, %s, 'alice')",
        SYNC_TYPE,
        Jsonb({"n": uuid.uuid4().hex}),
    )
    spec: dict[str, Any] = {
        "name": f"swarm_{uuid.uuid4().hex[:10]}",
        "objective": "review",
        "limits": {"max_agents": 10, "max_depth": 3, "max_total_steps": 200},
        "coordinator": {
            "agent_name": "lead",
            "allowed_tools": tools if tools is not None else ["run_sql", *GATEWAY_TOOLS],
            "memory_scope": memory_scope or {},
            "max_steps": 50,
        },
    }
    if agents is not None:
        spec["agents"] = agents
    swarm = _val(conn, "SELECT concord.start_swarm(%s, %s)", command_id, Jsonb(spec))
    lead = _val(
        conn,
        "SELECT coordinator_agent_run_id FROM concord.swarm_runs WHERE swarm_run_id = %s",
        swarm,
    )
    return command_id, swarm, lead


def spawned(conn: psycopg.Connection, parent: UUID, **extra: Any) -> UUID:
    request = {
        "parent_agent_run_id": str(parent),
        "agent_name": extra.pop("agent_name", "kid"),
        "agent_role": extra.pop("agent_role", "worker"),
        "delegated_goal": "help",
        "max_steps": 20,
        **extra,
    }
    answer = _val(conn, "SELECT concord.spawn_subagent(%s)", Jsonb(request))
    assert answer["decision"] == "allowed", answer
    return UUID(answer["child_agent_run_id"])


def _uuids(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_uuids(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_uuids(v) for v in value)) if value else set()
    if isinstance(value, str) and UUID_RE.match(value.lower()):
        return {value.lower()}
    return set()


def status_of(conn: psycopg.Connection, agent: UUID) -> str:
    return _val(conn, "SELECT status FROM concord.agent_runs WHERE agent_run_id = %s", agent)


# ---------------------------------------------------------------------------
# 1. A child reaches its parent's tools with the ids its own state hands it
# ---------------------------------------------------------------------------


def test_an_agent_cannot_use_a_tool_outside_its_scope_through_run_ids_its_own_state_reveals(
    conn: psycopg.Connection,
) -> None:
    """Subset, not union (issue §2, spec 59.4): a child holding only create_artifact and
    read_artifact must not get run_sql allowed. As concord_agent it reads its own
    state, takes every other agent run id it finds there (its parent's, the creators
    of the swarm's artifacts) and calls the gateway with it."""
    _, _, lead = new_swarm(conn)
    # the coordinator has written an artifact: its creator is in every agent's state
    conn.execute(
        "SELECT concord.create_artifact(%s, %s)",
        (lead, Jsonb({"artifact_type": "plan", "name": "plan", "content": {"step": 1}})),
    )
    child = spawned(conn, lead, allowed_tools=["create_artifact", "read_artifact"])

    conn.execute("SET ROLE concord_agent")
    try:
        state = _val(conn, "SELECT concord.agent_run_state(%s)", child)
        mine = _val(
            conn,
            "SELECT concord.submit_agent_action(%s, %s)",
            child,
            Jsonb({"tool_name": "run_sql", "payload": {"sql": "select 1"}}),
        )
        assert mine["decision"] == "denied", mine  # its own id: refused, as it should be
        others = _uuids(state) - {str(child)}
        granted = []
        for other in sorted(others):
            try:
                answer = _val(
                    conn,
                    "SELECT concord.submit_agent_action(%s, %s)",
                    other,
                    Jsonb({"tool_name": "run_sql", "payload": {"sql": "select 1"}}),
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


# ---------------------------------------------------------------------------
# 2. The templates' roles are an invariant of the record, not only a policy
# ---------------------------------------------------------------------------


def test_a_swarm_with_templates_refuses_a_raw_agent_run_of_another_role(
    conn: psycopg.Connection,
) -> None:
    """README invariants (any INSERT, the owner's included): 'A swarm with agent
    templates spawns only the templates' roles' (CN004)."""
    command_id, swarm, lead = new_swarm(
        conn,
        agents=[
            {
                "agent_name": "researcher",
                "agent_role": "researcher",
                "delegated_goal": "find",
                "allowed_tools": ["run_sql"],
            }
        ],
    )
    # the gateway refuses the role
    answer = _val(
        conn,
        "SELECT concord.spawn_subagent(%s)",
        Jsonb(
            {
                "parent_agent_run_id": str(lead),
                "agent_name": "x",
                "agent_role": "intruder",
                "delegated_goal": "g",
            }
        ),
    )
    assert answer["decision"] == "denied" and answer["code"] == "CN004", answer
    # the owner's raw INSERT must be refused too
    with pytest.raises(psycopg.Error) as refused:
        conn.execute(
            "INSERT INTO concord.agent_runs (command_id, swarm_run_id, parent_agent_run_id, "
            "agent_name, agent_role, goal, spawn_depth, allowed_tools) "
            "VALUES (%s, %s, %s, 'x', 'intruder', 'g', 1, '{run_sql}')",
            (command_id, swarm, lead),
        )
    assert refused.value.sqlstate == "CN004"


# ---------------------------------------------------------------------------
# 3. A finished parent leaves no live child, whoever finishes it
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("terminal", ["failed", "expired", "succeeded"])
def test_a_parent_agent_that_finishes_by_a_direct_update_leaves_no_live_child(
    conn: psycopg.Connection, terminal: str
) -> None:
    """Spec 64 and finish_agent_run's rules (failed cancels the live children, succeeded
    is CN011 while they live) hold for any UPDATE: a child never outlives its
    finished parent and keeps acting for it."""
    _, _, lead = new_swarm(conn)
    parent = spawned(conn, lead, allowed_tools=["spawn_subagent", "run_sql"])
    child = spawned(conn, parent, agent_name="grandkid", allowed_tools=["run_sql"])
    conn.execute(
        "UPDATE concord.agent_runs SET status = 'running' WHERE agent_run_id = %s", (parent,)
    )
    try:
        conn.execute(
            "UPDATE concord.agent_runs SET status = %s WHERE agent_run_id = %s", (terminal, parent)
        )
    except psycopg.Error:
        return  # refused while it has live children: the rule holds
    assert status_of(conn, parent) == terminal
    assert status_of(conn, child) in ("cancelled", "failed", "expired"), (
        f"agent run {child} is still {status_of(conn, child)} under its {terminal} parent"
    )


# ---------------------------------------------------------------------------
# 4. A cancelled agent's pending memory write is cancelled
# ---------------------------------------------------------------------------


def test_cancelling_an_agent_cancels_its_memory_write_waiting_for_approval(
    conn: psycopg.Connection,
) -> None:
    """Spec 64 / README: 'A cancelled agent cancels ... the unfinished commands it asked
    for'. A sensitive memory write is a concord.write_memory command requested by the
    agent, waiting for approval: it must not survive the agent's cancellation (else
    approving it writes the memory of a cancelled agent)."""
    scope = {
        "subject_type": "customer",
        "subject_id": f"c_{uuid.uuid4().hex[:8]}",
        "allowed_memory_types": ["fact"],
        "allow_semantic_retrieval": False,
        "max_results": 5,
    }
    _, _, lead = new_swarm(conn, memory_scope=scope)
    child = spawned(conn, lead, allowed_tools=["write_memory"], memory_scope=scope)
    answer = _val(
        conn,
        "SELECT concord.write_memory(%s, %s)",
        child,
        Jsonb(
            {
                "memory_type": "fact",
                "content": "a sensitive fact",
                "consent": True,
                "sensitive": True,
            }
        ),
    )
    write_command = answer["output"]["command_id"]
    assert answer["output"]["command_status"] == "waiting_for_approval", answer
    assert (
        _val(conn, "SELECT requested_by FROM concord.commands WHERE command_id = %s", write_command)
        == f"agent:{child}"
    )

    assert _val(conn, "SELECT concord.cancel_agent_run(%s, 'bob', 'stop')", child) == "cancelled"
    command_status = _val(
        conn, "SELECT status FROM concord.commands WHERE command_id = %s", write_command
    )
    memory_status = _val(
        conn, "SELECT status FROM concord.memories WHERE command_id = %s", write_command
    )
    assert command_status in ("cancelled", "cancelling"), (
        f"the memory write {write_command} of cancelled agent {child} is still {command_status}"
    )
    assert memory_status == "deleted", memory_status


# ---------------------------------------------------------------------------
# 5. Memory-write idempotency keys are the agent's own
# ---------------------------------------------------------------------------


def test_a_memory_write_key_used_by_another_agent_does_not_refuse_this_agents_write(
    conn: psycopg.Connection,
) -> None:
    """Idempotency keys of agent actions are scoped to the agent run (tool calls are
    keyed agent:<id>:<key>, spawns spawn:<id>:<key>): agent B's memory write under
    the key agent A used is B's own write, not a CN002 naming A's command."""
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
    first = _val(
        conn,
        "SELECT concord.write_memory(%s, %s)",
        a,
        Jsonb(
            {"memory_type": "fact", "content": "likes tea", "consent": True, "idempotency_key": key}
        ),
    )
    assert first["output"]["status"] == "active", first
    second = _val(
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
