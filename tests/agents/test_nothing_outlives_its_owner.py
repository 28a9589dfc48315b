"""Nothing outlives its owner (spec 64, README "Cancellation cascades"), whoever writes:

1. A parent agent that ends by a direct UPDATE (failed, expired or succeeded) leaves no
   live child acting for it.
2. A cancelled agent cancels the unfinished commands it asked for: its memory write
   waiting for approval, and a tool command that failed retryably (never queued again).
3. No swarm starts under a cancelled command, even by a direct INSERT.
4. A cancelled swarm cancels its pending ``concord.swarm_review``.
5. A cancelled command reaches its swarm's pending work, finished agents' included: a
   queued tool command, a publish waiting for approval, a sensitive memory candidate.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg.types.json import Jsonb

from support.swarms import (
    LOOKUP,
    assert_invariants,
    new_command,
    new_swarm,
    one,
    spawned,
    status_of,
)


def agent_status(conn: psycopg.Connection, agent: str) -> str:
    return status_of(conn, "agent_runs", "agent_run_id", agent)


def command_status(conn: psycopg.Connection, command_id: str) -> str:
    return status_of(conn, "commands", "command_id", command_id)


# ---------------------------------------------------------------------------
# 1. A finished parent leaves no live child, whoever finishes it
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("terminal", ["failed", "expired", "succeeded"])
def test_a_parent_agent_that_finishes_by_a_direct_update_leaves_no_live_child(
    swarm_conn: psycopg.Connection, terminal: str
) -> None:
    """Spec 64 and finish_agent_run's rules (failed cancels the live children, succeeded
    is CN011 while they live) hold for any UPDATE: a child never outlives its
    finished parent and keeps acting for it."""
    conn = swarm_conn
    _, _, lead = new_swarm(conn)
    parent = spawned(conn, lead, "kid", ["spawn_subagent", "run_sql"])
    child = spawned(conn, parent, "grandkid", ["run_sql"])
    conn.execute(
        "UPDATE concord.agent_runs SET status = 'running' WHERE agent_run_id = %s", (parent,)
    )
    try:
        conn.execute(
            "UPDATE concord.agent_runs SET status = %s WHERE agent_run_id = %s", (terminal, parent)
        )
    except psycopg.Error:
        return  # refused while it has live children: the rule holds
    assert agent_status(conn, parent) == terminal
    assert agent_status(conn, child) in ("cancelled", "failed", "expired"), (
        f"agent run {child} is still {agent_status(conn, child)} under its {terminal} parent"
    )


# ---------------------------------------------------------------------------
# 2. A cancelled agent's unfinished commands end with it
# ---------------------------------------------------------------------------


def test_cancelling_an_agent_cancels_its_memory_write_waiting_for_approval(
    swarm_conn: psycopg.Connection,
) -> None:
    """Spec 64 / README: 'A cancelled agent cancels ... the unfinished commands it asked
    for'. A sensitive memory write is a concord.write_memory command requested by the
    agent, waiting for approval: it must not survive the agent's cancellation (else
    approving it writes the memory of a cancelled agent)."""
    conn = swarm_conn
    scope = {
        "subject_type": "customer",
        "subject_id": f"c_{uuid.uuid4().hex[:8]}",
        "allowed_memory_types": ["fact"],
        "allow_semantic_retrieval": False,
        "max_results": 5,
    }
    _, _, lead = new_swarm(conn, memory_scope=scope)
    child = spawned(conn, lead, "kid", ["write_memory"], memory_scope=scope)
    answer = one(
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
        one(conn, "SELECT requested_by FROM concord.commands WHERE command_id = %s", write_command)
        == f"agent:{child}"
    )

    assert one(conn, "SELECT concord.cancel_agent_run(%s, 'bob', 'stop')", child) == "cancelled"
    write_status = command_status(conn, write_command)
    memory_status = one(
        conn, "SELECT status FROM concord.memories WHERE command_id = %s", write_command
    )
    assert write_status in ("cancelled", "cancelling"), (
        f"the memory write {write_command} of cancelled agent {child} is still {write_status}"
    )
    assert memory_status == "deleted", memory_status


def test_a_failed_tool_command_of_a_cancelled_agent_cannot_be_retried(
    swarm_conn: psycopg.Connection,
) -> None:
    """Spec 64 / README "Cancellation cascades": "A cancelled agent cancels its live
    children, and the unfinished commands it asked for". A tool command that failed with
    a retryable class (timeout) is unfinished — ``failed -> queued`` is a legal retry —
    so cancelling its agent must cancel it, or at least the retry must be refused: it
    must not be queued (and run) again for a cancelled agent."""
    conn = swarm_conn
    _, swarm, lead = new_swarm(conn)
    kid = spawned(conn, lead, "kid")
    command_id = one(
        conn,
        "SELECT concord.submit_agent_action(%s, %s)",
        kid,
        Jsonb({"tool_name": LOOKUP, "payload": {"q": 1}, "reason": "look"}),
    )["command_id"]
    # a worker runs it and its run fails with a retryable class
    conn.execute("SELECT concord.transition_command(%s, 'queued', 'worker:test')", (command_id,))
    conn.execute(
        "SELECT concord.runtime_claim(c.command_id, c.dbos_workflow_id, 'test') "
        "FROM concord.commands AS c WHERE c.command_id = %s",
        (command_id,),
    )
    conn.execute(
        "SELECT concord.runtime_finish(c.command_id, c.dbos_workflow_id, 'failed', null, "
        "'peer timed out', 'timeout', 'peer timed out') FROM concord.commands AS c "
        "WHERE c.command_id = %s",
        (command_id,),
    )
    assert one(conn, "SELECT concord.cancel_agent_run(%s, 'bob')", kid) == "cancelled"
    try:
        conn.execute(
            "SELECT concord.transition_command(%s, 'queued', 'worker:test', 'retry')",
            (command_id,),
        )
    except psycopg.Error as e:
        assert (e.sqlstate or "").startswith("CN"), e
    status = command_status(conn, command_id)
    assert status not in ("queued", "running"), (
        f"the tool command of cancelled agent {kid} was retried: it is {status}"
    )
    assert_invariants(conn, swarm, "after the retry")


# ---------------------------------------------------------------------------
# 3. A swarm does not start after its command, whoever writes
# ---------------------------------------------------------------------------


def test_a_direct_insert_starts_no_swarm_under_a_cancelled_command(
    swarm_conn: psycopg.Connection,
) -> None:
    """README invariants ("they hold for any INSERT or UPDATE, the table owner's
    included"): nothing outlives its owner — a swarm does not outlive its command.
    start_swarm refuses a cancelled command (CN011); a raw INSERT must not create a
    running swarm with a live agent under it either."""
    conn = swarm_conn
    command_id = new_command(conn)
    conn.execute("SELECT concord.cancel_command(%s, 'alice', 'gone')", (command_id,))
    assert command_status(conn, command_id) == "cancelled"
    with pytest.raises(psycopg.Error) as refused:
        with conn.transaction():
            swarm = one(
                conn,
                """
                INSERT INTO concord.swarm_runs (swarm_run_id, command_id, name, status,
                    objective, execution_mode, join_strategy, spec)
                VALUES (gen_random_uuid(), %s, 'raw', 'created', 'o', 'parallel',
                        'all_success', '{}') RETURNING swarm_run_id""",
                command_id,
            )
            conn.execute(
                "UPDATE concord.swarm_runs SET status = 'running' WHERE swarm_run_id = %s",
                (swarm,),
            )
            conn.execute(
                """
                INSERT INTO concord.agent_runs (agent_run_id, command_id, swarm_run_id,
                    agent_name, agent_role, status, goal, allowed_tools, allowed_connectors,
                    memory_scope, spawn_depth)
                VALUES (gen_random_uuid(), %s, %s, 'ghost', 'worker', 'created', 'g',
                        %s, '{}', '{}', 0)""",
                (command_id, swarm, [LOOKUP]),
            )
    assert (refused.value.sqlstate or "").startswith("CN"), refused.value


# ---------------------------------------------------------------------------
# 4. human_review: the review does not outlive its swarm
# ---------------------------------------------------------------------------


def test_a_cancelled_swarm_cancels_its_pending_review(swarm_conn: psycopg.Connection) -> None:
    """README: "Nothing outlives its owner"; cancel_swarm "cancel[s] a swarm and
    everything it runs". A human_review swarm cancelled while its review waits must not
    leave the review approvable."""
    conn = swarm_conn
    _, swarm, lead = new_swarm(conn, join_strategy="human_review")
    child = spawned(conn, lead, "w")
    one(conn, "SELECT concord.finish_agent_run(%s, 'succeeded', '{\"a\": 1}')", child)
    review = one(conn, "SELECT concord.join_swarm(%s)", swarm)["command_id"]
    assert status_of(conn, "swarm_runs", "swarm_run_id", swarm) == "waiting_for_approval"
    assert one(conn, "SELECT concord.cancel_swarm(%s, 'alice', 'stop')", swarm) == "cancelled"
    review_status = command_status(conn, review)
    pending = one(
        conn,
        "SELECT count(*) FROM concord.approvals WHERE command_id = %s AND status = 'pending'",
        review,
    )
    assert (review_status, pending) == ("cancelled", 0), (
        f"the review of cancelled swarm {swarm} is {review_status} with {pending} pending "
        "approval(s)"
    )


# ---------------------------------------------------------------------------
# 5. A cancelled command reaches its swarm's pending work, finished agents' included
# ---------------------------------------------------------------------------


def test_cancelling_the_command_reaches_the_pending_work_of_a_finished_agent(
    swarm_conn: psycopg.Connection,
) -> None:
    """Issue 13 §4: an agent queues a tool command, asks for a publish that needs
    approval and writes a sensitive memory candidate, then finishes ``succeeded``; the
    parent command is cancelled. None of that work may survive: the tool command never
    runs, the publish cannot be approved any more, the memory is not kept."""
    conn = swarm_conn
    suffix = uuid.uuid4().hex[:8]
    conn.execute(
        "SELECT concord.register_command_type(%s)",
        (Jsonb({"command_type": f"swarm.bg_{suffix}", "name": "bg"}),),
    )
    for tool in (
        {"name": f"bg_{suffix}", "command_type": f"swarm.bg_{suffix}"},
        {"name": f"publish_{suffix}", "command_type": "swarm.run_sql", "requires_approval": True},
    ):
        conn.execute("SELECT concord.register_tool(%s)", (Jsonb(tool),))
    scope = {
        "subject_type": "customer",
        "subject_id": f"c_{suffix}",
        "allowed_memory_types": ["fact"],
        "allow_semantic_retrieval": False,
        "max_results": 5,
    }
    tools = [f"bg_{suffix}", f"publish_{suffix}", "write_memory"]
    command_id, swarm, lead = new_swarm(conn, tools=[*tools, "spawn_subagent"], memory_scope=scope)
    kid = spawned(conn, lead, "kid", tools, memory_scope=scope)

    def act(tool: str, payload: dict) -> dict:
        return one(
            conn,
            "SELECT concord.submit_agent_action(%s, %s)",
            kid,
            Jsonb({"tool_name": tool, "payload": payload, "reason": "work"}),
        )

    job = act(f"bg_{suffix}", {"n": 1})
    publish = act(f"publish_{suffix}", {"draft": 1})
    memory = one(
        conn,
        "SELECT concord.write_memory(%s, %s)",
        kid,
        Jsonb({"memory_type": "fact", "content": "secret", "consent": True, "sensitive": True}),
    )["output"]
    assert (job["decision"], publish["decision"], memory["command_status"]) == (
        "queued",
        "require_approval",
        "waiting_for_approval",
    ), (job, publish, memory)
    one(conn, "SELECT concord.finish_agent_run(%s, 'succeeded', '{\"done\": true}')", kid)

    assert one(conn, "SELECT concord.cancel_command(%s, 'alice', 'stop')", command_id) == (
        "cancelled"
    )
    left = {
        "tool command": command_status(conn, job["command_id"]),
        "publish": command_status(conn, publish["command_id"]),
        "memory write": command_status(conn, memory["command_id"]),
        "memory": one(
            conn, "SELECT status FROM concord.memories WHERE command_id = %s", memory["command_id"]
        ),
    }
    assert left == {
        "tool command": "cancelled",
        "publish": "cancelled",
        "memory write": "cancelled",
        "memory": "deleted",
    }, left
    with pytest.raises(psycopg.Error) as refused:
        conn.execute(
            "SELECT concord.resolve_approval(%s, 'approved', 'carol')", (publish["approval_id"],)
        )
    assert refused.value.sqlstate == "CN013", refused.value
    assert command_status(conn, publish["command_id"]) == "cancelled"
    assert_invariants(conn, swarm, "after the command's cancellation")
