"""The Client's agent methods drive a swarm through the gateway and map its answers
(README "Agents under governance", "Errors"): a denied spawn or tool call is an answer,
not an exception; a spent step budget is ``LimitExceeded`` (CN010); a coordinator with a
live child finishing is ``StateConflict``; an unknown run is ``NotFound``; a cancelled
swarm answers ``cancelled`` again when cancelled again.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

from concord import Client
from concord.agent_contracts import (
    AgentAction,
    AgentStepResult,
    AgentToolCallRequest,
    SpawnSubagentRequest,
    SpawnSubagentResult,
)
from support.hand_swarms import hand_swarm


def test_the_client_drives_a_swarm_through_the_gateway(
    client: Client, db: psycopg.Connection
) -> None:
    from concord import NotFound, StateConflict

    s = hand_swarm(client, db)
    assert client.begin_agent_run(s.coordinator)["status"] == "running"
    request = SpawnSubagentRequest(
        parent_agent_run_id=s.coordinator,
        swarm_run_id=s.swarm,
        agent_name="researcher",
        agent_role="researcher",
        delegated_goal="look it up",
        allowed_tools=[s.tool, "create_artifact", "read_artifact", "write_memory"],
        allowed_connectors=[],
        memory_scope={},
        context_scope={},
    )
    # a child asking for a tool its parent lacks: denied (CN004), answered not raised
    denied = SpawnSubagentResult.from_json(client.spawn_subagent(request))
    assert (denied.decision, denied.code, denied.child_agent_run_id) == ("denied", "CN004", None)
    assert denied.reasons and denied.command_id
    request.allowed_tools = [s.tool, "create_artifact", "read_artifact"]
    spawned = SpawnSubagentResult.from_json(client.spawn_subagent(request))
    assert spawned.decision == "allowed" and spawned.child_agent_run_id
    child = spawned.child_agent_run_id
    assert client.agent_run_state(s.coordinator)["children"][0]["agent_run_id"] == child

    # a tool call: a command of the tool's type, requested by the agent
    called = AgentStepResult.from_json(
        client.submit_agent_action(
            child, AgentAction("tool_call", s.tool, {"q": "revenue"}, "need the figures")
        )
    )
    assert called.decision == "allowed" and called.command_id and called.step_index == 1
    seen = client.agent_command(child, called.command_id)
    assert (seen["status"], seen["command_type"]) == ("validated", f"t.{s.tool}")
    assert client.get_command(called.command_id).requested_by == f"agent:{child}"
    # the same tool call again through the spec 60.2 request: same key, same answer
    again = client.submit_agent_action(
        child,
        AgentToolCallRequest(
            child,
            s.swarm,
            s.tool,
            {"q": "revenue"},
            "need the figures",
            "rows",
            idempotency_key="k1",
        ),
    )
    replay = client.submit_agent_action(
        child,
        AgentToolCallRequest(
            child,
            s.swarm,
            s.tool,
            {"q": "revenue"},
            "need the figures",
            "rows",
            idempotency_key="k1",
        ),
    )
    assert replay["command_id"] == again["command_id"] and replay.get("replayed") is True
    # a registered tool outside the child's scope
    refused = client.submit_agent_action(
        child,
        {"action_type": "tool_call", "tool_name": s.other_tool, "payload": {}, "reason": "publish"},
    )
    assert (refused["decision"], refused["code"]) == ("denied", "CN004")

    made = client.create_artifact(
        child,
        {
            "artifact_type": "query_result",
            "name": "figures",
            "content": {"revenue": 10},
            "status": "final",
        },
    )
    assert made["decision"] == "allowed"
    artifact_id = made["output"]["artifact_id"]
    assert client.read_artifact(s.coordinator, artifact_id)["output"]["name"] == "figures"
    step = client.record_agent_step(child, {"action_type": "think", "output": {"n": 1}})
    assert isinstance(step["step_index"], int)
    message = client.record_agent_message(child, {"message_type": "result", "content": "found it"})
    assert str(uuid.UUID(message)) == message

    with pytest.raises(StateConflict):  # the coordinator has a live child
        client.finish_agent_run(s.coordinator, "succeeded")
    assert client.finish_agent_run(child, "succeeded", {"revenue": 10}) == "succeeded"
    assert client.finish_agent_run(child, "succeeded", {"revenue": 10}) == "succeeded"
    joined = client.join_swarm(s.swarm)
    assert joined["decision"] == "succeeded" and joined["strategy"] == "all_success"
    assert client.join_swarm(s.swarm)["decision"] == "succeeded"  # the stored decision
    assert client.finish_agent_run(s.coordinator, "succeeded") == "succeeded"
    assert client.agent_run_state(s.coordinator)["swarm_status"] == "succeeded"
    with pytest.raises(NotFound):
        client.agent_run_state(str(uuid.uuid4()))


def test_the_client_maps_limits_and_cancellation(client: Client, db: psycopg.Connection) -> None:
    from concord import LimitExceeded

    s = hand_swarm(client, db, max_steps=1)
    client.record_agent_step(s.coordinator, {"action_type": "plan", "output": {}})
    with pytest.raises(LimitExceeded):  # CN010: the step budget is spent
        client.record_agent_step(s.coordinator, {"action_type": "plan", "output": {}})
    with pytest.raises(LimitExceeded):
        client.submit_agent_action(
            s.coordinator, {"tool_name": s.tool, "payload": {}, "reason": "one more"}
        )
    assert client.cancel_swarm(s.swarm, "alice", "user_requested") == "cancelled"
    assert client.agent_run_state(s.coordinator)["status"] == "cancelled"
    assert client.cancel_agent_run(s.coordinator, "alice") == "cancelled"  # idempotent
    assert client.cancel_swarm(s.swarm, "alice") == "cancelled"
