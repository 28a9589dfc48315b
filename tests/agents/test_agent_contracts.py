"""The Python agent contracts, without a database: the dataclasses of spec 28, 59 and 60
(spawn requests and results, agent actions and step results), the memory types of spec 23,
the protocols of spec 68, and :class:`ScriptedAgentRuntime` (deterministic and replay-safe:
it keeps no position of its own; a bad script or an unknown agent is refused).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from concord.agent_contracts import (
    AgentAction,
    AgentRuntime,
    AgentStepResult,
    AgentToolCallRequest,
    JoinStrategy,
    Memory,
    MemoryScope,
    MemoryStore,
    ScriptedAgentRuntime,
    SpawnSubagentRequest,
    SpawnSubagentResult,
    SwarmPlanner,
)
from concord.memory_store import PostgresMemoryStore


def test_spawn_request_defaults_and_json_follow_spec_59_1() -> None:
    request = SpawnSubagentRequest(
        parent_agent_run_id="p",
        swarm_run_id="s",
        agent_name="researcher",
        agent_role="researcher",
        delegated_goal="Gather data.",
        allowed_tools=["run_sql"],
        allowed_connectors=["postgres"],
        memory_scope={},
        context_scope={"month": "2026-05"},
    )
    assert request.max_steps == 10 and request.constraints == {}
    doc = request.to_json()
    assert doc == {
        "parent_agent_run_id": "p",
        "swarm_run_id": "s",
        "agent_name": "researcher",
        "agent_role": "researcher",
        "delegated_goal": "Gather data.",
        "allowed_tools": ["run_sql"],
        "allowed_connectors": ["postgres"],
        "memory_scope": {},
        "context_scope": {"month": "2026-05"},
        "constraints": {},
        "max_steps": 10,
        "invocation_type": "delegate",
    }
    # two requests do not share their default constraints
    other = SpawnSubagentRequest("p", None, "a", "b", "g", [], [], {}, {})
    other.constraints["x"] = 1
    assert request.constraints == {} and "swarm_run_id" not in other.to_json()


def test_results_read_the_gateway_answers() -> None:
    spawned = SpawnSubagentResult.from_json(
        {
            "decision": "denied",
            "child_agent_run_id": None,
            "command_id": "c1",
            "reasons": ["Child requested tools outside parent scope."],
            "code": "CN004",
            "step_index": 3,
        }
    )
    assert spawned == SpawnSubagentResult(
        decision="denied",
        child_agent_run_id=None,
        command_id="c1",
        reasons=["Child requested tools outside parent scope."],
        code="CN004",
        step_index=3,
    )
    step = AgentStepResult.from_json(
        {
            "decision": "require_approval",
            "command_id": uuid.UUID(int=1),
            "approval_id": "a",
            "message": "Human approval required.",
            "output": None,
            "status": "waiting_for_approval",
        }
    )
    assert step.command_id == str(uuid.UUID(int=1)) and step.output == {}
    assert (step.decision, step.approval_id, step.reasons) == ("require_approval", "a", [])


def test_actions_become_gateway_actions() -> None:
    action = AgentAction("tool_call", "send_notification", {"to": "x"}, "asked to")
    assert action.to_json() == {
        "action_type": "tool_call",
        "tool_name": "send_notification",
        "payload": {"to": "x"},
        "reason": "asked to",
        "risk_level": "low",
    }
    call = AgentToolCallRequest("r", "s", "run_sql", {"sql": "select 1"}, "need data", "rows")
    assert call.to_action() == {
        "action_type": "tool_call",
        "tool_name": "run_sql",
        "payload": {"sql": "select 1"},
        "reason": "need data",
        "expected_output": "rows",
        "metadata": {},
    }
    assert (
        AgentToolCallRequest("r", None, "t", {}, "", "", idempotency_key="k").to_action()[
            "idempotency_key"
        ]
        == "k"
    )


def test_memory_documents_round_trip_and_leave_server_fields_out() -> None:
    memory = Memory(
        "user",
        "u1",
        "preference",
        "Prefers concise summaries.",
        confidence=0.9,
        consent=True,
        status="active",
        written_by="x",
    )
    assert memory.to_json() == {
        "subject_type": "user",
        "subject_id": "u1",
        "memory_type": "preference",
        "content": "Prefers concise summaries.",
        "confidence": 0.9,
        "consent": True,
        "metadata": {},
    }
    doc = {
        **memory.to_json(),
        "memory_id": uuid.UUID(int=7),
        "status": "active",
        "written_by": "x",
        "search_rank": 0.5,
    }
    back = Memory.from_json(doc)
    assert back.memory_id == str(uuid.UUID(int=7)) and back.status == "active"
    assert back.extra == {"search_rank": 0.5}
    scope = MemoryScope("user", "u1", ["preference"], True, 5)
    assert MemoryScope.from_json(scope.to_json()) == scope


def test_the_protocols_are_the_spec_68_interfaces() -> None:
    assert isinstance(ScriptedAgentRuntime({}), AgentRuntime)
    assert not isinstance(object(), AgentRuntime)
    assert isinstance(PostgresMemoryStore.__new__(PostgresMemoryStore), MemoryStore)

    class Planner:
        def create_swarm_plan(self, command, context):
            return {}

    class Join:
        def join(self, swarm_run, child_results):
            return {"decision": "succeeded"}

    assert isinstance(Planner(), SwarmPlanner) and isinstance(Join(), JoinStrategy)


def test_scripted_runtime_answers_the_move_the_turn_names_and_keeps_no_position() -> None:
    seen: list[dict[str, Any]] = []

    def second(obs: dict[str, Any]) -> dict[str, Any]:
        seen.append(obs)
        return {"action_type": "note", "output": {"saw": obs["decision"]}}

    runtime = ScriptedAgentRuntime({"a": [{"action_type": "think", "output": {"n": 0}}, second]})
    first = runtime.start_agent_run("r1", "goal", {"agent_name": "a", "turn": 0})
    assert first == {"action_type": "think", "output": {"n": 0}}
    # a replay asks again for turn 0 and gets the same answer: no hidden position moved
    assert runtime.start_agent_run("r1", "goal", {"agent_name": "a", "turn": 0}) == first
    obs = {"agent_name": "a", "turn": 1, "decision": "recorded"}
    assert runtime.resume_agent_run("r1", obs) == {
        "action_type": "note",
        "output": {"saw": "recorded"},
    }
    assert runtime.resume_agent_run("r1", obs) == runtime.resume_agent_run("r2", obs)
    assert seen[0] == obs and seen[0] is not obs  # the callable gets a copy
    # past the end of the script: finish
    assert runtime.resume_agent_run("r1", {"agent_name": "a", "turn": 2}) == {
        "action_type": "finish",
        "status": "succeeded",
    }
    # the answer is a copy: changing it changes no later answer
    first["output"]["n"] = 99
    assert runtime.start_agent_run("r1", "goal", {"agent_name": "a"})["output"] == {"n": 0}
    assert runtime.cancel_agent_run("r1", "stop")["cancelled"] is True


def test_scripted_runtime_refuses_bad_scripts_and_unknown_agents() -> None:
    with pytest.raises(ValueError, match="no action_type"):
        ScriptedAgentRuntime({"a": [{"tool_name": "x"}]})
    with pytest.raises(TypeError):
        ScriptedAgentRuntime({"a": ["think"]})
    runtime = ScriptedAgentRuntime({"a": [lambda obs: "not a move"]})
    with pytest.raises(ValueError, match="a move is a dict"):
        runtime.start_agent_run("r", "g", {"agent_name": "a", "turn": 0})
    with pytest.raises(KeyError):
        runtime.start_agent_run("r", "g", {"agent_name": "b", "turn": 0})
    with pytest.raises(ValueError, match="turn"):
        runtime.resume_agent_run("r", {"agent_name": "a", "turn": -1})
    fallback = ScriptedAgentRuntime({"*": [{"action_type": "finish", "status": "failed"}]})
    assert fallback.start_agent_run("r", "g", {"agent_name": "z"})["status"] == "failed"
