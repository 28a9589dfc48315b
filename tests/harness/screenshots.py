"""``make screenshots``: the console's main pages as PNG files in docs/screenshots/, taken in
Debian's chromium from a world built the way the console's browser tests build theirs
(tests/support/console.py): an approval waiting, a finished command, a swarm with a refusal
and a command type with two versions."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from concord import Client  # noqa: E402
from concord.agent_contracts import SpawnSubagentRequest  # noqa: E402
from support.console import console_world, signed_in, submit  # noqa: E402
from support.hand_swarms import hand_swarm  # noqa: E402
from support.workers import wait_status  # noqa: E402

WIDTH, HEIGHT = 1280, 900


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with console_world(os.environ["CONCORD_DSN"]) as world:
        waiting = submit(world, "Hotel Ritz Paris", 1200)
        done = submit(world, "Savoy London", 800)
        with Client(world.dsn) as admin, psycopg.connect(world.dsn, autocommit=True) as db:
            admin.register_command_type({"command_type": "console.quote", "sync_allowed": True})
            admin.register_command_type(
                {"command_type": "console.quote", "sync_allowed": True, "max_attempts": 5}
            )
            swarm = hand_swarm(admin, db)
            admin.begin_agent_run(swarm.coordinator)
            request = SpawnSubagentRequest(
                parent_agent_run_id=swarm.coordinator,
                swarm_run_id=swarm.swarm,
                agent_name="researcher",
                agent_role="researcher",
                delegated_goal="look it up",
                allowed_tools=[swarm.tool, "create_artifact", "read_artifact", "write_memory"],
                allowed_connectors=[],
                memory_scope={},
                context_scope={},
            )
            admin.spawn_subagent(request)  # refused: more than its parent holds
            request.allowed_tools = [swarm.tool, "create_artifact", "read_artifact"]
            admin.spawn_subagent(request)
            # the swarm's command is in the default project: the approver joins its organisation
            db.execute(
                "SELECT concord.add_member(o.name, %s, 'member') FROM concord.commands AS c "
                "JOIN concord.projects AS p USING (project_id) "
                "JOIN concord.organisations AS o USING (org_id) WHERE c.command_id = %s",
                (world.org.members["approver"], swarm.command_id),
            )
            approval = db.execute(
                "SELECT approval_id FROM concord.approvals WHERE command_id = %s", (done,)
            ).fetchone()[0]
        with Client(world.dsn).acting_as(world.tokens["approver"]) as approver:
            approver.resolve_approval(approval, "approved", None, reason="within budget")
        with psycopg.connect(world.dsn, autocommit=True) as db:
            wait_status(db, done, "succeeded", timeout=60)
        context, page = signed_in(world, "approver")
        page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
        shots = {
            "approvals.png": "/console/approvals",
            "commands.png": "/console/commands",
            "command.png": f"/console/commands/{done}",
            "command-waiting.png": f"/console/commands/{waiting}",
            "registry.png": "/console/registry/command_type/console.quote",
            "swarm.png": f"/console/swarms/{swarm.swarm}",
        }
        for name, path in shots.items():
            page.goto(path)
            page.screenshot(path=str(out / name), full_page=True)
            print(f"screenshots: {out / name}")
        context.close()

if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")
