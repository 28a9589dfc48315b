"""The scripted agents of the gated-spawn tests (``--module concord_test_gated_spawn``):
a coordinator that spawns an auditor (a spawn a policy sends for approval), waits for its
children and joins. Registered as the runtime ``gated_spawn``.
"""

from __future__ import annotations

from concord.agent_contracts import ScriptedAgentRuntime
from concord.runtime.agent_workflow import register_agent_runtime

SCRIPTS = {
    "gated_spawn_coordinator": [
        {
            "action_type": "spawn_subagent",
            "reason": "an audit",
            "request": {
                "agent_name": "auditor",
                "agent_role": "auditor",
                "delegated_goal": "audit the figures",
                "allowed_tools": [],
                "allowed_connectors": [],
                "memory_scope": {},
                "context_scope": {},
                "max_steps": 4,
            },
        },
        {"action_type": "wait_children"},
        {"action_type": "join"},
        {"action_type": "finish", "status": "succeeded"},
    ],
    "auditor": [
        {"action_type": "finish", "status": "succeeded", "result": {"audit": "clean"}},
    ],
}

register_agent_runtime("gated_spawn", ScriptedAgentRuntime(SCRIPTS))
