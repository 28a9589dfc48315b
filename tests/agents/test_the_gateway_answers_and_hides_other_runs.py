"""The gateway answers every agent with a Concord answer that says what is wrong, and
shows it no other run's id; what the record holds obeys the same rules whoever writes:

1. A spawn request (``spawn_subagent`` or through ``submit_agent_action``) with a JSON
   ``null`` for ``memory_scope``, ``context_scope``, ``constraints`` or ``max_steps`` is
   refused with a Concord error (CN005), as ``start_swarm`` refuses it.
2. An invalid gateway-tool input (``create_artifact``, ``write_memory``,
   ``evaluate_output``) answers ``invalid`` with the problem it has.
3. "The run id is the capability": reading another agent's artifact or memory shows its
   name, never its run id, so a child cannot then act as its coordinator.
4. "Nothing outlives its owner", for any INSERT: no swarm starts under a cancelled
   command.
5. A sensitive memory is a candidate until its write is allowed: a rejected write is
   never active, whatever UPDATE ran meanwhile.
6. ``join_children`` refuses a child whose status is not an agent status (CN008).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from concord.migrate import migrate
from support.databases import temporary_database

PARENT = "review3.parent"
TOOL_TYPE = "review3.lookup"
TOOL = "r3_lookup"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def one(conn: psycopg.Connection, query: str, *params: Any) -> Any:
    row = conn.execute(query, params).fetchone()
    return None if row is None else row[0]


@pytest.fixture(scope="module")
def dsn(server_dsn: str) -> Iterator[str]:
    with temporary_database(server_dsn, "concord_review3_agents") as d:
        migrate(d)
        with psycopg.connect(d, autocommit=True) as conn:
            conn.execute("SET client_min_messages = warning")
            for spec in (
                {"command_type": PARENT, "name": PARENT, "sync_allowed": True},
                {"command_type": TOOL_TYPE, "name": TOOL_TYPE, "sync_allowed": True},
            ):
                conn.execute("SELECT concord.register_command_type(%s)", (Jsonb(spec),))
            conn.execute("SELECT concord.register_tool(%s)", (Jsonb(
                {"name": TOOL, "command_type": TOOL_TYPE, "description": "look up"}),))
            conn.execute("SELECT concord.add_team_member('team:approvers', 'carol')")
        yield d


@pytest.fixture
def conn(dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("SET client_min_messages = warning")
        yield c


ALL_TOOLS = ["spawn_subagent", TOOL, "create_artifact", "read_artifact", "evaluate_output",
             "write_memory", "retrieve_memory"]


def new_swarm(conn: psycopg.Connection, memory_scope: dict | None = None) -> tuple[str, str, str]:
    """A parent command and a swarm under it; returns (command_id, swarm, coordinator)."""
    command_id = one(conn, "SELECT command_id FROM concord.submit_command(%s, %s, 'alice')",
                     PARENT, Jsonb({"n": uuid.uuid4().hex}))
    coordinator: dict[str, Any] = {"agent_name": "lead", "agent_role": "coordinator",
                                   "max_steps": 30, "allowed_tools": ALL_TOOLS}
    if memory_scope is not None:
        coordinator["memory_scope"] = memory_scope
    swarm = str(one(conn, "SELECT concord.start_swarm(%s, %s)", command_id, Jsonb({
        "name": f"r3_{uuid.uuid4().hex[:8]}", "objective": "review",
        "join_strategy": "coordinator_synthesis",
        "limits": {"max_agents": 8, "max_depth": 2, "max_total_steps": 200},
        "coordinator": coordinator})))
    lead = str(one(conn, "SELECT coordinator_agent_run_id FROM concord.swarm_runs "
                         "WHERE swarm_run_id = %s", swarm))
    return str(command_id), swarm, lead


def spawn(conn: psycopg.Connection, parent: str, name: str, tools: list[str],
          **extra: Any) -> str:
    answer = one(conn, "SELECT concord.spawn_subagent(%s)", Jsonb({
        "parent_agent_run_id": parent, "agent_name": name, "agent_role": "worker",
        "delegated_goal": f"be {name}", "allowed_tools": tools, **extra}))
    assert answer["decision"] == "allowed", answer
    return answer["child_agent_run_id"]


def memory_scope() -> dict[str, Any]:
    return {"subject_type": "user", "subject_id": f"u_{uuid.uuid4().hex[:10]}",
            "allowed_memory_types": ["fact"], "allow_semantic_retrieval": True,
            "max_results": 5}


# ---------------------------------------------------------------------------
# 1. JSON nulls in a spawn request
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["memory_scope", "context_scope", "constraints", "max_steps"])
@pytest.mark.parametrize("through", ["spawn_subagent", "submit_agent_action"])
def test_a_spawn_request_with_a_json_null_field_is_refused_with_a_concord_error(
    conn: psycopg.Connection, field: str, through: str
) -> None:
    """Issue §2/§3: a scope is a typed value and errors name what was refused and why
    (never a raw Postgres error): a null memory_scope, context_scope, constraints or
    max_steps in the spec 59.1 request is CN005 (as start_swarm says for the same
    nulls) or an ``invalid`` answer, not a NOT NULL violation (23502) of agent_runs."""
    _, _, lead = new_swarm(conn)
    request = {"agent_name": "w", "agent_role": "worker", "delegated_goal": "g",
               "allowed_tools": [TOOL], field: None}
    try:
        if through == "spawn_subagent":
            answer = one(conn, "SELECT concord.spawn_subagent(%s)",
                         Jsonb({"parent_agent_run_id": lead, **request}))
        else:
            answer = one(conn, "SELECT concord.submit_agent_action(%s, %s)", lead,
                         Jsonb({"tool_name": "spawn_subagent", "payload": request}))
    except psycopg.Error as e:
        assert (e.sqlstate or "").startswith("CN"), (
            f"{through} with {field}: null raised a raw {e.sqlstate}: {e.diag.message_primary}")
        return
    assert answer["decision"] in ("invalid", "denied"), (
        f"{through} with {field}: null was {answer['decision']}: {answer}")


# ---------------------------------------------------------------------------
# 2. An invalid gateway tool input: the answer says what is wrong
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("tool, payload, must_mention", [
    ("create_artifact", {"artifact_type": "report", "content": {"x": 1}}, "name"),
    ("write_memory", {"memory_type": "fact", "content": 5, "confidence": 0.9,
                      "consent": True}, "content"),
    ("evaluate_output", {"decision": "pass", "confidence": 0.9, "evaluation_type": "quality"},
     "artifact_id"),
])
def test_an_invalid_gateway_tool_input_answers_with_the_problem_it_has(
    conn: psycopg.Connection, tool: str, payload: dict, must_mention: str
) -> None:
    """Issue §2 ("errors name what was refused and why") and README ("CN005 lists every
    problem"): the answer of a refused gateway tool call carries the problem itself in
    ``reasons`` (or ``message``), not only "invalid artifact: 1 problem(s)"."""
    _, _, lead = new_swarm(conn, memory_scope())
    answer = one(conn, f"SELECT concord.{tool}(%s, %s)", lead, Jsonb(payload))
    assert answer["decision"] == "invalid", answer
    said = json.dumps([answer.get("message"), answer.get("reasons")])
    assert must_mention in said, (
        f"{tool} refused {payload} but its answer never says what is wrong "
        f"(no mention of {must_mention!r}): {said}")


# ---------------------------------------------------------------------------
# 3. Run ids of other agents in what an agent reads
# ---------------------------------------------------------------------------


def _other_run_ids(conn: psycopg.Connection, swarm: str, answer: Any,
                   allowed: set[str]) -> dict[str, str]:
    runs = {str(r[0]): r[1] for r in conn.execute(
        "SELECT agent_run_id, agent_name FROM concord.agent_runs WHERE swarm_run_id = %s",
        (swarm,))}
    found = set(UUID_RE.findall(json.dumps(answer))) & set(runs)
    return {u: runs[u] for u in found - allowed}


def test_an_agent_reading_its_coordinators_artifact_cannot_then_act_as_the_coordinator(
    conn: psycopg.Connection,
) -> None:
    """README "The run id is the capability": the gateway's answers name no agent run but
    the caller's own and its children's; artifacts an agent reads carry the writer's
    agent name, not its run id. Subset, not union (issue §2): a child holding only
    read_artifact must not get the coordinator's tool allowed by acting as it."""
    _, swarm, lead = new_swarm(conn)
    plan = one(conn, "SELECT concord.create_artifact(%s, %s)", lead,
               Jsonb({"artifact_type": "plan", "name": "plan", "content": {"step": 1}}))
    artifact_id = plan["output"]["artifact_id"]
    child = spawn(conn, lead, "reader", ["read_artifact"])

    conn.execute("SET ROLE concord_agent")
    try:
        read = one(conn, "SELECT concord.read_artifact(%s, %s)", child,
                   Jsonb({"artifact_id": artifact_id}))
        assert read["decision"] == "allowed", read
        granted = []
        for other in sorted(set(UUID_RE.findall(json.dumps(read))) - {child}):
            try:
                answer = one(conn, "SELECT concord.submit_agent_action(%s, %s)", other,
                             Jsonb({"tool_name": TOOL, "payload": {}}))
            except psycopg.Error:
                continue
            if answer.get("decision") in ("allowed", "queued"):
                granted.append(other)
    finally:
        conn.execute("RESET ROLE")
    leaked = _other_run_ids(conn, swarm, read, {child})
    assert not leaked and not granted, (
        f"read_artifact named agent runs {leaked} to agent {child} "
        f"(created_by: {read['output'].get('created_by')!r}); acting as "
        f"{granted} it got {TOOL}, which it does not hold")


def test_an_agent_retrieving_a_siblings_memory_does_not_learn_the_siblings_run_id(
    conn: psycopg.Connection,
) -> None:
    """README "The run id is the capability": memories an agent reads carry the writer's
    agent name, not its run id (``written_by`` is ``agent:<run id>``)."""
    scope = memory_scope()
    _, swarm, lead = new_swarm(conn, scope)
    tools = ["write_memory", "retrieve_memory"]
    writer = spawn(conn, lead, "writer", tools, memory_scope=scope)
    reader = spawn(conn, lead, "reader", tools, memory_scope=scope)
    wrote = one(conn, "SELECT concord.write_memory(%s, %s)", writer, Jsonb(
        {"memory_type": "fact", "content": "the sky is blue", "confidence": 0.9,
         "consent": True}))
    assert wrote["decision"] == "allowed", wrote
    found = one(conn, "SELECT concord.retrieve_memory(%s, %s)", reader, Jsonb({"text": "sky"}))
    assert found["output"]["count"] == 1, found
    leaked = _other_run_ids(conn, swarm, found, {reader})
    assert not leaked, (
        f"retrieve_memory named agent runs {leaked} to agent {reader}: "
        f"{found['output']['memories'][0].get('written_by')!r}")


# ---------------------------------------------------------------------------
# 4. A swarm does not outlive (or start after) its command, whoever writes
# ---------------------------------------------------------------------------


def test_a_direct_insert_starts_no_swarm_under_a_cancelled_command(
    conn: psycopg.Connection,
) -> None:
    """README invariants ("they hold for any INSERT or UPDATE, the table owner's
    included"): nothing outlives its owner — a swarm does not outlive its command.
    start_swarm refuses a cancelled command (CN011); a raw INSERT must not create a
    running swarm with a live agent under it either."""
    command_id = one(conn, "SELECT command_id FROM concord.submit_command(%s, %s, 'alice')",
                     PARENT, Jsonb({"n": uuid.uuid4().hex}))
    conn.execute("SELECT concord.cancel_command(%s, 'alice', 'gone')", (command_id,))
    assert one(conn, "SELECT status FROM concord.commands WHERE command_id = %s",
               command_id) == "cancelled"
    with pytest.raises(psycopg.Error) as refused:
        with conn.transaction():
            swarm = one(conn, """
                INSERT INTO concord.swarm_runs (swarm_run_id, command_id, name, status,
                    objective, execution_mode, join_strategy, spec)
                VALUES (gen_random_uuid(), %s, 'raw', 'created', 'o', 'parallel',
                        'all_success', '{}') RETURNING swarm_run_id""", command_id)
            conn.execute("UPDATE concord.swarm_runs SET status = 'running' "
                         "WHERE swarm_run_id = %s", (swarm,))
            conn.execute("""
                INSERT INTO concord.agent_runs (agent_run_id, command_id, swarm_run_id,
                    agent_name, agent_role, status, goal, allowed_tools, allowed_connectors,
                    memory_scope, spawn_depth)
                VALUES (gen_random_uuid(), %s, %s, 'ghost', 'worker', 'created', 'g',
                        %s, '{}', '{}', 0)""", (command_id, swarm, [TOOL]))
    assert (refused.value.sqlstate or "").startswith("CN"), refused.value


# ---------------------------------------------------------------------------
# 5. A memory candidate is activated only by its approved write
# ---------------------------------------------------------------------------


def test_a_rejected_sensitive_memory_is_never_active(conn: psycopg.Connection) -> None:
    """Issue §4: a sensitive memory is "a candidate that needs approval". As with a
    governed command (which reaches queued/running only once its approvals are
    approved, whoever writes), a candidate whose write waits for approval cannot be
    made active by a direct UPDATE; and a write the approver rejects leaves no active
    memory behind for search_memory to return."""
    scope = memory_scope()
    stored = one(conn, "SELECT concord.remember(%s, 'alice')", Jsonb({
        "subject_type": scope["subject_type"], "subject_id": scope["subject_id"],
        "memory_type": "fact", "content": "the ssn is 123", "confidence": 0.95,
        "consent": True, "sensitive": True}))
    assert stored["status"] == "candidate" and stored["approval_id"], stored
    try:
        conn.execute("UPDATE concord.memories SET status = 'active' WHERE memory_id = %s",
                     (stored["memory_id"],))
    except psycopg.Error:
        pass  # refused: the rule holds for a direct write too
    conn.execute("SELECT concord.resolve_approval(%s, 'rejected', 'carol', 'not to be kept')",
                 (stored["approval_id"],))
    status = one(conn, "SELECT status FROM concord.memories WHERE memory_id = %s",
                 stored["memory_id"])
    found = one(conn, "SELECT concord.search_memory(%s, NULL, 5)", Jsonb(scope))
    assert status != "active" and found["count"] == 0, (
        f"memory {stored['memory_id']} is {status} (search_memory finds {found['count']}) "
        "although its write was rejected by the approver")


# ---------------------------------------------------------------------------
# 6. join_children refuses a child with an unknown status
# ---------------------------------------------------------------------------


def test_join_children_refuses_a_child_whose_status_is_not_an_agent_status(
    conn: psycopg.Connection,
) -> None:
    """Issue §6 / README: join_children is a pure function over
    ``[{agent_run_id, status, result, artifacts}]``; a malformed child is CN008 (as a
    child that is not an object is), not silently counted as a live agent."""
    children = [{"agent_run_id": str(uuid.uuid4()), "status": "succeeded", "artifacts": []},
                {"agent_run_id": str(uuid.uuid4()), "status": "finished-ish", "artifacts": []}]
    with pytest.raises(psycopg.Error) as refused:
        decision = one(conn, "SELECT concord.join_children('all_success', %s, '{}')",
                       Jsonb(children))
        pytest.fail(f"join_children took status 'finished-ish': {decision}")
    assert refused.value.sqlstate == "CN008", refused.value
