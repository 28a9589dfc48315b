"""The scripted agents of the forgetting test (``--module concord_test_forgetting``),
registered as the runtime ``forgetting``: a coordinator spawns a writer, which writes a
memory whose content is the worker's ``CONCORD_TEST_MEMORY_CONTENT`` (so the content
reaches Concord only through the agent's write), waits for it, spawns a reader, which
retrieves the memories of its scope and finishes with whether it saw that content (its
result names the digest, never the content), then joins. The coordinator's
``context_scope.memory_scope`` is the scope both children get. The ``overreacher``
(``max_steps`` 1, so a turn limit of 24 moves) waits 24 times, then asks to write a
memory: past the turn limit, a write no one submits.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from concord.agent_contracts import ScriptedAgentRuntime
from concord.runtime.agent_workflow import register_agent_runtime


def _content() -> str:
    return os.environ["CONCORD_TEST_MEMORY_CONTENT"]


def _spawn(name: str, tools: list[str]):
    def move(obs: dict[str, Any]) -> dict[str, Any]:
        return {
            "action_type": "spawn_subagent",
            "reason": f"the {name}",
            "request": {
                "agent_name": name,
                "agent_role": name,
                "delegated_goal": f"be the {name}",
                "allowed_tools": tools,
                "allowed_connectors": [],
                "memory_scope": obs["context_scope"]["memory_scope"],
                "context_scope": {},
                "max_steps": 4,
            },
        }

    return move


def _write(obs: dict[str, Any]) -> dict[str, Any]:
    return {
        "action_type": "tool_call",
        "tool_name": "write_memory",
        "reason": "remember it",
        "payload": {"memory_type": "fact", "content": _content(), "consent": True},
    }


def _report(obs: dict[str, Any]) -> dict[str, Any]:
    contents = [m.get("content") for m in (obs.get("output") or {}).get("memories") or []]
    return {
        "action_type": "finish",
        "status": "succeeded",
        "result": {
            "saw_the_content": _content() in contents,
            "seen_sha256": [
                hashlib.sha256(c.encode()).hexdigest() for c in contents if isinstance(c, str)
            ],
        },
    }


SCRIPTS = {
    "keeper": [
        _spawn("writer", ["write_memory"]),
        {"action_type": "wait_children"},
        _spawn("reader", ["retrieve_memory"]),
        {"action_type": "wait_children"},
        {"action_type": "finish", "status": "succeeded"},
    ],
    "writer": [_write, {"action_type": "finish", "status": "succeeded"}],
    "reader": [
        {"action_type": "tool_call", "tool_name": "retrieve_memory", "payload": {}},
        _report,
    ],
    "overreacher": [*([{"action_type": "wait_children"}] * 24), _write],
}

register_agent_runtime("forgetting", ScriptedAgentRuntime(SCRIPTS))
