"""The agent runtime on a real worker, the joins and memory approvals:

1. A spawn repeated under its idempotency key through ``submit_agent_action`` (what a
   DBOS step re-run after a crash sends) returns the first answer.
2. A spawn that needs approval is awaited by the runtime and, once approved, is a child
   the swarm's join counts.
3. A cancelled swarm cancels its pending ``concord.swarm_review`` ("nothing outlives its
   owner", spec 64).
4. consensus: two succeeded children that disagree do not agree by a tie.
5. best_of_n never ranks an artifact by the score its own author gave it ("nobody grades
   their own work").
6. Memory (spec 23): an approved candidate supersedes only the memory its approver saw,
   never a newer active memory of the same key.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from concord.migrate import migrate
from support.databases import temporary_database
from support.workers import OPS_DIR, WorkerProcess, wait_for

PARENT = "review2.parent"
TOOL_TYPE = "review2.lookup"
SWARM_TERMINAL = {"succeeded", "failed", "cancelled", "partially_succeeded", "expired"}

# The scripted agents the worker of this module runs (runtime "review2").
AGENTS_MODULE = '''
from concord.agent_contracts import ScriptedAgentRuntime
from concord.runtime.agent_workflow import register_agent_runtime

SCRIPTS = {
    "r2_gate_coord": [
        {"action_type": "spawn_subagent", "reason": "an audit",
         "request": {"agent_name": "r2_auditor", "agent_role": "auditor",
                     "delegated_goal": "audit the figures", "allowed_tools": [],
                     "allowed_connectors": [], "memory_scope": {}, "context_scope": {},
                     "max_steps": 4}},
        {"action_type": "wait_children"},
        {"action_type": "join"},
        {"action_type": "finish", "status": "succeeded"},
    ],
    "r2_auditor": [
        {"action_type": "finish", "status": "succeeded", "result": {"audit": "clean"}},
    ],
}

register_agent_runtime("review2", ScriptedAgentRuntime(SCRIPTS))
'''


def one(conn: psycopg.Connection, query: str, *params: Any) -> Any:
    row = conn.execute(query, params).fetchone()
    return None if row is None else row[0]


@pytest.fixture(scope="module")
def dsn(server_dsn: str) -> Iterator[str]:
    with temporary_database(server_dsn, "concord_review2_agents") as d:
        migrate(d)
        with psycopg.connect(d, autocommit=True) as conn:
            conn.execute("SET client_min_messages = warning")
            for spec in (
                {"command_type": PARENT, "name": PARENT, "sync_allowed": True},
                {"command_type": TOOL_TYPE, "name": TOOL_TYPE, "sync_allowed": True},
            ):
                conn.execute("SELECT concord.register_command_type(%s)", (json.dumps(spec),))
            conn.execute("SELECT concord.register_tool(%s)", (json.dumps(
                {"name": "r2_lookup", "command_type": TOOL_TYPE, "description": "look up"}),))
            conn.execute("SELECT concord.add_team_member('team:approvers', 'carol')")
            conn.execute("UPDATE concord.runtime_queues SET worker_concurrency = "
                         "least(worker_concurrency, 4)")
        yield d


@pytest.fixture(scope="module")
def conn(dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("SET client_min_messages = warning")
        yield c


@pytest.fixture(scope="module")
def worker(dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    folder: Path = tmp_path_factory.mktemp("review2_ops")
    (folder / "review2_agents.py").write_text(textwrap.dedent(AGENTS_MODULE))
    w = WorkerProcess(
        dsn,
        executor_id=f"review2-{uuid.uuid4().hex[:8]}",
        modules=("review2_agents",),
        extra_env={"PYTHONPATH": os.pathsep.join(
            [str(folder), str(OPS_DIR), os.environ.get("PYTHONPATH", "")])},
    ).start(timeout=60)
    try:
        yield w
    finally:
        if w.proc is not None and w.proc.poll() is None:
            try:
                w.terminate(20)
            except subprocess.TimeoutExpired:
                w.kill()


def hand_swarm(conn: psycopg.Connection, *, join_strategy: str = "all_success",
               tools: list[str] | None = None, templates: list[dict] | None = None,
               runtime: str | None = None) -> tuple[str, str, str]:
    """A parent command and its swarm; returns (command_id, swarm_run_id, coordinator)."""
    command_id = one(conn, "SELECT command_id FROM concord.submit_command(%s, %s, 'alice')",
                     PARENT, json.dumps({"n": uuid.uuid4().hex}))
    spec: dict[str, Any] = {
        "name": f"r2_{uuid.uuid4().hex[:8]}", "objective": "review",
        "join_strategy": join_strategy,
        "limits": {"max_agents": 6, "max_depth": 2, "max_total_steps": 60},
        "coordinator": {"agent_name": "lead", "agent_role": "coordinator", "max_steps": 20,
                        "allowed_tools": tools or ["spawn_subagent", "r2_lookup"]},
        "agents": templates or [],
    }
    if runtime:
        spec["runtime"] = runtime
        spec["coordinator"]["agent_name"] = "r2_gate_coord"
    swarm = str(one(conn, "SELECT concord.start_swarm(%s, %s)", command_id, json.dumps(spec)))
    lead = str(one(conn, "SELECT coordinator_agent_run_id FROM concord.swarm_runs "
                         "WHERE swarm_run_id = %s", swarm))
    return str(command_id), swarm, lead


def spawn(conn: psycopg.Connection, parent: str, name: str, tools: list[str],
          role: str = "worker") -> str:
    answer = one(conn, "SELECT concord.spawn_subagent(%s)", json.dumps({
        "parent_agent_run_id": parent, "agent_name": name, "agent_role": role,
        "delegated_goal": f"be {name}", "allowed_tools": tools}))
    assert answer["decision"] == "allowed", answer
    return answer["child_agent_run_id"]


# ---------------------------------------------------------------------------
# 1. A spawn replayed under its key (the workflow's step re-run after a crash)
# ---------------------------------------------------------------------------


def test_a_spawn_repeated_under_its_idempotency_key_through_the_gateway_returns_the_first_answer(
    conn: psycopg.Connection,
) -> None:
    """README: submit_agent_action — "the same idempotency_key again returns the first
    answer"; DESIGN: every SQL function the worker calls is idempotent on replay. The
    action is the one concord.run_agent's _spawn sends at turn 0."""
    _, swarm, lead = hand_swarm(conn)
    request = {"agent_name": "helper", "agent_role": "worker", "delegated_goal": "help",
               "allowed_tools": ["r2_lookup"], "parent_agent_run_id": lead,
               "swarm_run_id": swarm, "idempotency_key": "turn:0"}
    action = json.dumps({"action_type": "tool_call", "tool_name": "spawn_subagent",
                         "payload": request, "reason": "help", "idempotency_key": "turn:0"})
    first = one(conn, "SELECT concord.submit_agent_action(%s, %s)", lead, action)
    assert first["decision"] == "allowed", first
    try:
        again = one(conn, "SELECT concord.submit_agent_action(%s, %s)", lead, action)
    except psycopg.Error as exc:
        pytest.fail(f"the replayed spawn raised {exc.sqlstate}: {exc}")
    assert again["child_agent_run_id"] == first["child_agent_run_id"]
    assert again["command_id"] == first["command_id"]
    assert one(conn, "SELECT count(*) FROM concord.agent_runs WHERE parent_agent_run_id = %s",
               lead) == 1
    assert one(conn, "SELECT count(*) FROM concord.agent_steps WHERE agent_run_id = %s",
               lead) == 1


# ---------------------------------------------------------------------------
# 2. A spawn that needs approval, run by the worker
# ---------------------------------------------------------------------------


def test_a_spawn_awaiting_approval_is_awaited_by_the_runtime_and_joined_once_approved(
    conn: psycopg.Connection, worker: WorkerProcess,
) -> None:
    """README: "an approved spawn is created when the worker runs its command"; the
    workflow "waits durably for the commands the move created"; join_swarm is CN011
    "while children a deterministic strategy needs are still running". A coordinator
    that spawns an auditor (approval required), waits for its children and joins must
    see the auditor once approved, not join an empty swarm and fail."""
    conn.execute("SELECT concord.register_policy(%s)", (json.dumps({
        "name": "r2_auditor_spawn", "predicate": '$.payload.agent_role == "auditor"',
        "decision": "require_approval", "approval_type": "standard",
        "reasons": ["spawning an auditor needs approval"]}),))
    conn.execute("SELECT concord.register_command_type(%s)", (json.dumps({
        "command_type": "spawn_subagent", "name": "Spawn a subagent", "sync_allowed": True,
        "policy_checks": ["spawn_scope", "r2_auditor_spawn"]}),))
    try:
        _, swarm, lead = hand_swarm(
            conn, runtime="review2", tools=["spawn_subagent"],
            templates=[{"agent_name": "r2_auditor", "agent_role": "auditor",
                        "delegated_goal": "audit the figures", "allowed_tools": []}])

        def swarm_status() -> str:
            return one(conn, "SELECT status FROM concord.swarm_runs WHERE swarm_run_id = %s",
                       swarm)

        def pending() -> Any:
            row = conn.execute(
                "SELECT a.approval_id FROM concord.approvals AS a "
                "JOIN concord.commands AS c USING (command_id) "
                "WHERE c.requested_by = %s AND c.command_type = 'spawn_subagent' "
                "AND a.status = 'pending'", (f"agent:{lead}",)).fetchone()
            return row or (swarm_status() in SWARM_TERMINAL and ("ended",))

        got = wait_for(pending, 30, interval=0.05, message="the spawn's approval")
        if got[0] != "ended":
            conn.execute("SELECT concord.resolve_approval(%s, 'approved', 'carol')", (got[0],))
        final = wait_for(lambda: (s := swarm_status()) in SWARM_TERMINAL and s, 30,
                         interval=0.1, message="the swarm to end")
        agents = dict(conn.execute(
            "SELECT agent_name, status FROM concord.agent_runs WHERE swarm_run_id = %s",
            (swarm,)).fetchall())
        error = one(conn, "SELECT error FROM concord.swarm_runs WHERE swarm_run_id = %s", swarm)
        assert final == "succeeded", f"swarm {final}: {error}; agents {agents}"
        assert agents.get("r2_auditor") == "succeeded", agents
    finally:
        conn.execute("SELECT concord.register_command_type(%s)", (json.dumps({
            "command_type": "spawn_subagent", "name": "Spawn a subagent", "sync_allowed": True,
            "policy_checks": ["spawn_scope"]}),))


# ---------------------------------------------------------------------------
# 3. human_review: the review does not outlive its swarm
# ---------------------------------------------------------------------------


def test_a_cancelled_swarm_cancels_its_pending_review(conn: psycopg.Connection) -> None:
    """README: "Nothing outlives its owner"; cancel_swarm "cancel[s] a swarm and
    everything it runs". A human_review swarm cancelled while its review waits must not
    leave the review approvable."""
    _, swarm, lead = hand_swarm(conn, join_strategy="human_review")
    child = spawn(conn, lead, "w", ["r2_lookup"])
    one(conn, "SELECT concord.finish_agent_run(%s, 'succeeded', '{\"a\": 1}')", child)
    review = one(conn, "SELECT concord.join_swarm(%s)", swarm)["command_id"]
    assert one(conn, "SELECT status FROM concord.swarm_runs WHERE swarm_run_id = %s",
               swarm) == "waiting_for_approval"
    assert one(conn, "SELECT concord.cancel_swarm(%s, 'alice', 'stop')", swarm) == "cancelled"
    command_status = one(conn, "SELECT status FROM concord.commands WHERE command_id = %s",
                         review)
    pending = one(conn, "SELECT count(*) FROM concord.approvals WHERE command_id = %s "
                        "AND status = 'pending'", review)
    assert (command_status, pending) == ("cancelled", 0), (
        f"the review of cancelled swarm {swarm} is {command_status} with {pending} pending "
        "approval(s)")


# ---------------------------------------------------------------------------
# 4 and 5. Joins
# ---------------------------------------------------------------------------


def test_consensus_is_not_reached_by_a_tie_between_disagreeing_children(
    conn: psycopg.Connection,
) -> None:
    """consensus (spec 53): agreement. Two succeeded children with different answers do
    not agree, whatever min_agreement a half reaches; the first spawned must not win a
    tie."""
    children = json.dumps([
        {"agent_run_id": "a", "status": "succeeded", "result": {"revenue": "fell"}},
        {"agent_run_id": "b", "status": "succeeded", "result": {"revenue": "rose"}},
    ])
    for options in ({"min_agreement": 0.5}, {"min_agreement": 1}):
        decision = one(conn, "SELECT concord.join_children('consensus', %s, %s)", children,
                       json.dumps(options))
        assert decision["decision"] == "failed", (options, decision)


def test_best_of_n_does_not_rank_an_artifact_by_the_score_its_author_gave_it(
    conn: psycopg.Connection,
) -> None:
    """README (Joins): "An evaluation counts only when another agent wrote it: nobody
    grades their own work." A child that scores its own artifact 1.0 on create_artifact
    outranks a peer-reviewed artifact scored 0.9 by another agent."""
    tools = ["spawn_subagent", "create_artifact", "evaluate_output", "read_artifact"]
    _, swarm, lead = hand_swarm(conn, join_strategy="best_of_n", tools=tools)
    boaster = spawn(conn, lead, "boaster", ["create_artifact"])
    modest = spawn(conn, lead, "modest", ["create_artifact"])
    reviewer = spawn(conn, lead, "reviewer", ["evaluate_output", "read_artifact"],
                     role="reviewer")
    mine = one(conn, "SELECT concord.create_artifact(%s, %s)", boaster, json.dumps(
        {"artifact_type": "draft", "name": "boast", "content": {"v": 1}, "score": 1.0,
         "status": "final"}))
    theirs = one(conn, "SELECT concord.create_artifact(%s, %s)", modest, json.dumps(
        {"artifact_type": "draft", "name": "modest", "content": {"v": 2}, "status": "final"}))
    assert mine["decision"] == theirs["decision"] == "allowed", (mine, theirs)
    modest_artifact = theirs["output"]["artifact_id"]
    graded = one(conn, "SELECT concord.evaluate_output(%s, %s)", reviewer, json.dumps(
        {"artifact_id": modest_artifact, "evaluation_type": "quality", "decision": "pass",
         "confidence": 0.9, "score": 0.9}))
    assert graded["decision"] == "allowed", graded
    for run in (boaster, modest, reviewer):
        one(conn, "SELECT concord.finish_agent_run(%s, 'succeeded')", run)
    joined = one(conn, "SELECT concord.join_swarm(%s)", swarm)
    assert joined["selected_artifact_id"] == modest_artifact, joined


# ---------------------------------------------------------------------------
# 6. Memory: an approval does not supersede what its approver never saw
# ---------------------------------------------------------------------------


def test_an_approved_candidate_does_not_silently_supersede_a_newer_active_memory(
    conn: psycopg.Connection, worker: WorkerProcess,
) -> None:
    """Spec 23: "Conflicting memory — mark old memory superseded or ask human." Candidate
    C (key fmt) is written while A is active and names A as what it supersedes; then B,
    a newer confident write of the same key, supersedes A. Approving C (decided against
    A) must not silently replace B, which nobody reviewed against C: B stays active (C's
    write is refused or asks again)."""
    subject = f"u_{uuid.uuid4().hex[:8]}"

    def remember(content: str, confidence: float) -> dict[str, Any]:
        return one(conn, "SELECT concord.remember(%s, 'alice')", json.dumps({
            "subject_type": "user", "subject_id": subject, "memory_type": "preference",
            "memory_key": "fmt", "content": content, "confidence": confidence,
            "consent": True}))

    a = remember("A: concise summaries", 0.9)
    c = remember("C: long reports", 0.5)
    assert (a["status"], c["status"]) == ("active", "candidate")
    assert c["supersedes_memory_id"] == a["memory_id"]
    b = remember("B: bullet points", 0.95)
    assert b["status"] == "active" and b["superseded_memory_id"] == a["memory_id"]
    conn.execute("SELECT concord.resolve_approval(%s, 'approved', 'carol')",
                 (c["approval_id"],))
    wait_for(lambda: one(conn, "SELECT status FROM concord.commands WHERE command_id = %s",
                         c["command_id"]) in {"succeeded", "failed", "cancelled"},
             30, interval=0.1, message="the approved memory write to run")
    statuses = {m: one(conn, "SELECT status FROM concord.memories WHERE memory_id = %s", m)
                for m in (a["memory_id"], b["memory_id"], c["memory_id"])}
    assert statuses[b["memory_id"]] == "active", (
        f"memory B (newer) is {statuses[b['memory_id']]}, candidate C (approved against A) "
        f"is {statuses[c['memory_id']]}")
