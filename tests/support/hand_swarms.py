"""A swarm driven by hand through :class:`concord.Client` (no worker: a swarm without a
runtime is driven by its caller, as in the README's psql example), for the client tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg

from concord import Client


@dataclass(frozen=True)
class HandSwarm:
    command_id: str
    swarm: str
    coordinator: str
    tool: str  # a command tool the coordinator and its child hold
    other_tool: str  # a command tool the child is not given


def hand_swarm(client: Client, db: psycopg.Connection, *, max_steps: int = 20) -> HandSwarm:
    suffix = uuid.uuid4().hex[:10]
    parent = client.register_command_type(
        {"command_type": f"t.inquiry_{suffix}", "sync_allowed": True}
    )
    tool_type = client.register_command_type(
        {"command_type": f"t.lookup_{suffix}", "sync_allowed": True}
    )
    tool = client.register_tool(
        {"name": f"lookup_{suffix}", "command_type": tool_type, "description": "look something up"}
    )
    other = client.register_tool({"name": f"publish_{suffix}", "command_type": tool_type})
    command = client.submit_command(parent, {}, "alice")
    assert command.status == "validated"
    spec = {
        "name": f"inquiry_{suffix}",
        "objective": "find out",
        "join_strategy": "all_success",
        "limits": {"max_agents": 3, "max_depth": 1, "max_total_steps": 40},
        "coordinator": {
            "agent_name": "lead",
            "max_steps": max_steps,
            "allowed_tools": ["spawn_subagent", tool, other, "create_artifact", "read_artifact"],
        },
        "agents": [
            {
                "agent_name": "researcher",
                "agent_role": "researcher",
                "delegated_goal": "look it up",
                "allowed_tools": [tool, "create_artifact", "read_artifact"],
            }
        ],
    }
    swarm = client.start_swarm(command.command_id, spec)
    assert isinstance(swarm, str) and client.start_swarm(command.command_id, spec) == swarm
    coordinator = db.execute(
        "SELECT coordinator_agent_run_id FROM concord.swarm_runs WHERE swarm_run_id = %s",
        (swarm,),
    ).fetchone()[0]
    return HandSwarm(str(command.command_id), swarm, str(coordinator), tool, other)
