"""The scripted agents the agent runtime tests' workers run (``--module
concord_test_agents``): one :class:`ScriptedAgentRuntime` registered as ``scripted``.

Each scenario of ``tests/agents/test_swarms_run_on_a_real_worker.py`` uses agents of its
own names. Tools (registered by the tests): ``echo_tool`` (command type rt.echo),
``slow_tool`` (rt.slow), ``danger_tool`` (rt.echo; no agent is given it), ``gated_tool``
(rt.echo, requires approval), and the gateway tools.
"""

from __future__ import annotations

from typing import Any

from concord.agent_contracts import ScriptedAgentRuntime
from concord.runtime.agent_workflow import register_agent_runtime


def child_request(name: str, role: str, goal: str, tools: list[str]) -> dict[str, Any]:
    return {
        "agent_name": name,
        "agent_role": role,
        "delegated_goal": goal,
        "allowed_tools": tools,
        "allowed_connectors": [],
        "memory_scope": {},
        "context_scope": {},
        "max_steps": 8,
    }


def artifact_of(obs: dict[str, Any], name: str) -> dict[str, Any]:
    """A create_artifact move whose content records what the agent observed last: the
    test reads it to see the observation the workflow handed over."""
    return {
        "action_type": "tool_call",
        "tool_name": "create_artifact",
        "reason": "record my findings",
        "payload": {
            "artifact_type": "research_note",
            "name": name,
            "content": {
                "seen_turn": obs["turn"],
                "seen_decision": obs.get("decision"),
                "seen_code": obs.get("code"),
                "seen_status": obs.get("status"),
            },
        },
    }


def finish_with_children(obs: dict[str, Any]) -> dict[str, Any]:
    return {
        "action_type": "finish",
        "status": "succeeded",
        "result": {
            "join_decision": (obs.get("join") or {}).get("decision"),
            "turn": obs["turn"],
        },
    }


SCRIPTS: dict[str, list[Any]] = {
    # -- a governed swarm: a coordinator, two children, a denial, artifacts, a join ------
    "coord_ok": [
        {"action_type": "plan", "output": {"plan": "research and analyse in parallel"}},
        {
            "action_type": "spawn_subagent",
            "reason": "delegate the research",
            "request": child_request(
                "researcher_ok", "researcher", "Gather the figures.",
                ["echo_tool", "create_artifact"],
            ),
        },
        {
            "action_type": "spawn_subagent",
            "reason": "delegate the analysis",
            "request": child_request(
                "analyst_ok", "analyst", "Analyse the figures.",
                ["echo_tool", "create_artifact"],
            ),
        },
        {"action_type": "message", "message_type": "status", "content": "children spawned"},
        {"action_type": "wait_children"},
        {"action_type": "join"},
        finish_with_children,
    ],
    "researcher_ok": [
        {"action_type": "tool_call", "tool_name": "echo_tool", "payload": {"q": "revenue"},
         "reason": "fetch the revenue figures"},
        lambda obs: {"action_type": "tool_call", "tool_name": "danger_tool",
                     "payload": {"echo_of": obs.get("result")},
                     "reason": "try a tool outside my scope"},
        lambda obs: artifact_of(obs, "research_notes"),
        {"action_type": "finish", "status": "succeeded", "result": {"figures": "found"}},
    ],
    "analyst_ok": [
        {"action_type": "tool_call", "tool_name": "echo_tool", "payload": {"q": "margin"},
         "reason": "fetch the margins"},
        lambda obs: artifact_of(obs, "analysis"),
        {"action_type": "finish", "status": "succeeded", "result": {"analysis": "done"}},
    ],
    # -- cancellation while agents wait ---------------------------------------------------
    "coord_cancel": [
        {
            "action_type": "spawn_subagent",
            "request": child_request("sleeper_cancel", "worker", "Run a long job.",
                                     ["slow_tool"]),
        },
        {"action_type": "wait_children"},
        {"action_type": "finish", "status": "succeeded"},
    ],
    "sleeper_cancel": [
        {"action_type": "tool_call", "tool_name": "slow_tool",
         "payload": {"steps": 600, "seconds": 0.1}, "reason": "a long job"},
        {"action_type": "finish", "status": "succeeded"},
    ],
    # -- a worker killed mid-swarm --------------------------------------------------------
    "coord_crash": [
        {
            "action_type": "spawn_subagent",
            "request": child_request("crash_a", "worker", "Three jobs.",
                                     ["slow_tool", "create_artifact"]),
        },
        {
            "action_type": "spawn_subagent",
            "request": child_request("crash_b", "worker", "Three jobs.",
                                     ["slow_tool", "create_artifact"]),
        },
        {"action_type": "wait_children"},
        {"action_type": "join"},
        finish_with_children,
    ],
    **{
        name: [
            *(
                {"action_type": "tool_call", "tool_name": "slow_tool",
                 "payload": {"steps": 4, "seconds": 0.1, "job": i}, "reason": f"job {i}"}
                for i in range(3)
            ),
            lambda obs, name=name: artifact_of(obs, f"{name}_result"),
            {"action_type": "finish", "status": "succeeded"},
        ]
        for name in ("crash_a", "crash_b")
    },
    # -- a tool call that waits for a human approval -------------------------------------
    "gated_agent": [
        {"action_type": "tool_call", "tool_name": "gated_tool", "payload": {"publish": "report"},
         "reason": "publish the report"},
        lambda obs: artifact_of(obs, "after_approval"),
        {"action_type": "finish", "status": "succeeded"},
    ],
    # -- a runtime that raises ------------------------------------------------------------
    "broken": [
        {"action_type": "think", "output": {"about": "to fail"}},
        lambda obs: 1 / 0,
    ],
}

register_agent_runtime("scripted", ScriptedAgentRuntime(SCRIPTS))
