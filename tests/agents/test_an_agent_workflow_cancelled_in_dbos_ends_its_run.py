"""An agent workflow cancelled with DBOS's own tool ends its run (issue 13): an operator
runs the real ``dbos workflow cancel agent:<id>`` on a coordinator that waits for a spawn's
approval. Nothing would move that run again, so the worker's reconciler cancels it as
``cancel_agent_run`` would: the swarm is cancelled and its pending work with it (the
spawn's approval is closed, its command cancelled). ``dbos workflow resume`` afterwards
runs nothing more: no auditor is ever spawned.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import psycopg
import pytest

from concord.runtime.schema import sqlalchemy_url
from support.swarms import GATED_SPAWN_RUNTIME, SWARM_TERMINAL, new_swarm, one
from support.workers import ROOT, WorkerProcess, wait_for

DBOS_CLI = ROOT / ".venv" / "bin" / "dbos"
GATED = {
    "command_type": "spawn_subagent",
    "name": "Spawn a subagent",
    "sync_allowed": True,
    "policy_checks": ["spawn_scope", "spawning_an_auditor_needs_approval"],
}


def dbos(dsn: str, *args: str) -> str:
    done = subprocess.run(
        [str(DBOS_CLI), "workflow", *args, "--sys-db-url", sqlalchemy_url(dsn)],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, f"dbos workflow {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


@pytest.fixture
def gated_spawns(swarm_conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """Spawning an auditor needs approval while the test runs."""
    conn = swarm_conn
    conn.execute("SELECT concord.register_policy(%s)", (json.dumps({
        "name": "spawning_an_auditor_needs_approval",
        "predicate": '$.payload.agent_role == "auditor"',
        "decision": "require_approval",
        "approval_type": "standard",
        "reasons": ["spawning an auditor needs approval"],
    }),))
    conn.execute("SELECT concord.register_command_type(%s)", (json.dumps(GATED),))
    try:
        yield conn
    finally:
        ungated = {**GATED, "policy_checks": ["spawn_scope"]}
        conn.execute("SELECT concord.register_command_type(%s)", (json.dumps(ungated),))


def test_a_coordinator_cancelled_in_dbos_cancels_its_swarm_and_its_pending_work(
    swarm_dsn: str, gated_spawns: psycopg.Connection, swarm_worker: WorkerProcess
) -> None:
    conn = gated_spawns
    _, swarm, lead = new_swarm(
        conn,
        runtime=GATED_SPAWN_RUNTIME,
        coordinator="gated_spawn_coordinator",
        tools=["spawn_subagent"],
        agents=[{"agent_name": "auditor", "agent_role": "auditor",
                 "delegated_goal": "audit the figures", "allowed_tools": []}],
    )
    spawn_q = (
        "SELECT a.approval_id, a.status, c.command_id, c.status AS command_status "
        "FROM concord.approvals AS a JOIN concord.commands AS c USING (command_id) "
        "WHERE c.requested_by = %s AND c.command_type = 'spawn_subagent'"
    )
    pending = wait_for(
        lambda: (r := conn.execute(spawn_q, (f"agent:{lead}",)).fetchone())
        and r["status"] == "pending" and r,
        30, interval=0.1, message="the coordinator's spawn to await approval",
    )
    workflow = one(conn, "SELECT dbos_workflow_id FROM concord.agent_runs WHERE agent_run_id = %s",
                   lead)
    assert workflow == f"agent:{lead}"

    dbos(swarm_dsn, "cancel", workflow)

    def swarm_status() -> str | None:
        return one(conn, "SELECT status FROM concord.swarm_runs WHERE swarm_run_id = %s", swarm)

    final = wait_for(lambda: (s := swarm_status()) in SWARM_TERMINAL and s, 45, interval=0.2,
                     message="the swarm of a coordinator cancelled in DBOS to end")
    assert final == "cancelled"
    run = conn.execute("SELECT status, error FROM concord.agent_runs WHERE agent_run_id = %s",
                       (lead,)).fetchone()
    assert run["status"] == "cancelled", run
    spawn = conn.execute(spawn_q, (f"agent:{lead}",)).fetchone()
    assert spawn["approval_id"] == pending["approval_id"]
    assert spawn["status"] != "pending", spawn
    assert spawn["command_status"] == "cancelled", spawn
    cancelled_by = one(conn, "SELECT cancelled_by FROM concord.swarm_runs WHERE swarm_run_id = %s",
                       swarm)
    assert cancelled_by.startswith("worker:"), cancelled_by

    dbos(swarm_dsn, "resume", workflow)
    wait_for(lambda: one(conn, "SELECT status FROM dbos.workflow_status WHERE workflow_uuid = %s",
                         workflow) in ("SUCCESS", "ERROR"),
             45, interval=0.2, message="the resumed coordinator workflow to end")
    agents = {r["agent_name"]: r["status"] for r in conn.execute(
        "SELECT agent_name, status FROM concord.agent_runs WHERE swarm_run_id = %s", (swarm,))}
    assert agents == {"gated_spawn_coordinator": "cancelled"}, agents
    assert swarm_status() == "cancelled"
