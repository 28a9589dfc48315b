"""A worker acts for its agents only with their secrets (issue 12 §3): a real ``concord
worker`` running as a plain concord_worker login (no superuser, who is excused from the
check) runs a governed swarm end to end; every agent run it began was issued a secret,
kept only as a hash; every step is recorded as ``agent:<run id>``; and that same login,
without the secret, can no longer act for (or even read) any of the runs by their ids.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from concord.migrate import migrate
from support.databases import temporary_database
from support.workers import WorkerProcess, register_test_types, wait_for

PARENT_TYPE = "rt.swarm_parent"
TOOLS = [
    {
        "name": "echo_tool",
        "command_type": "rt.echo",
        "execution_mode": "async",
        "description": "echo the payload (a command the worker runs)",
    },
    {
        "name": "danger_tool",
        "command_type": "rt.echo",
        "execution_mode": "async",
        "risk_level": "high",
        "description": "no agent here is given it",
    },
]
CHILD_TOOLS = ["echo_tool", "create_artifact"]


def _template(name: str, role: str) -> dict:
    return {
        "agent_name": name,
        "agent_role": role,
        "delegated_goal": f"be {name}",
        "max_steps": 8,
        "allowed_tools": CHILD_TOOLS,
        "allowed_connectors": [],
    }


@pytest.fixture(scope="module")
def plain_worker(server_dsn: str) -> Iterator[tuple[psycopg.Connection, str, WorkerProcess]]:
    role = f"agent_worker_{uuid.uuid4().hex[:8]}"
    with temporary_database(server_dsn, "agents_secret") as dsn:
        migrate(dsn)
        register_test_types(dsn)
        conn = psycopg.connect(dsn, autocommit=True)
        conn.execute(
            "SELECT concord.register_command_type(%s)",
            (json.dumps({"command_type": PARENT_TYPE, "name": PARENT_TYPE, "sync_allowed": True}),),
        )
        conn.execute(
            "SELECT concord.register_command_type(%s)",
            (
                json.dumps(
                    {
                        "command_type": "rt.echo",
                        "name": "rt.echo",
                        "async_required": True,
                        "policy_checks": ["agent_tool"],
                    }
                ),
            ),
        )
        for tool in TOOLS:
            conn.execute("SELECT concord.register_tool(%s)", (json.dumps(tool),))
        conn.execute(
            "UPDATE concord.runtime_queues SET worker_concurrency = least(worker_concurrency, 4)"
        )
        conn.execute(f"CREATE ROLE {role} LOGIN IN ROLE concord_worker")
        worker_dsn = make_conninfo("", **{**conninfo_to_dict(dsn), "user": role})
        worker = WorkerProcess(
            worker_dsn, executor_id=role, modules=("concord_test_ops", "concord_test_agents")
        )
        try:
            worker.start(timeout=60)
            yield conn, role, worker
        finally:
            worker.__exit__(None, None, None)
            conn.execute(f"DROP OWNED BY {role}")
            conn.close()
    with psycopg.connect(server_dsn, autocommit=True) as admin:
        admin.execute(f"DROP ROLE IF EXISTS {role}")


def test_a_plain_worker_login_runs_a_swarm_with_its_agents_secrets_and_nothing_else(
    plain_worker: tuple[psycopg.Connection, str, WorkerProcess],
) -> None:
    conn, role, worker = plain_worker
    command_id = conn.execute(
        "SELECT command_id FROM concord.submit_command(%s, '{}', 'alice')", (PARENT_TYPE,)
    ).fetchone()[0]
    spec = {
        "name": "secrets",
        "objective": "run with secrets",
        "join_strategy": "all_success",
        "limits": {"max_agents": 5, "max_depth": 2, "max_total_steps": 100},
        "coordinator": {
            "agent_name": "coord_ok",
            "agent_role": "coordinator",
            "max_steps": 20,
            "allowed_tools": ["spawn_subagent", "read_artifact", "create_artifact", "echo_tool"],
        },
        "agents": [_template("researcher_ok", "researcher"), _template("analyst_ok", "analyst")],
        "runtime": "scripted",
    }
    swarm = conn.execute(
        "SELECT concord.start_swarm(%s, %s)", (command_id, json.dumps(spec))
    ).fetchone()[0]

    def status() -> str:
        return conn.execute(
            "SELECT status FROM concord.swarm_runs WHERE swarm_run_id = %s", (swarm,)
        ).fetchone()[0]

    try:
        final = wait_for(
            lambda: (
                (s := status()) in {"succeeded", "failed", "cancelled", "partially_succeeded"} and s
            ),
            60,
            interval=0.2,
            message=f"swarm {swarm} to end",
        )
    except AssertionError:
        print(worker.log())
        raise
    assert final == "succeeded", worker.log()

    runs = conn.execute(
        "SELECT a.agent_run_id, a.agent_name, s.secret_sha256 IS NOT NULL, a.status"
        " FROM concord.agent_runs AS a"
        " LEFT JOIN concord.agent_run_secrets AS s USING (agent_run_id)"
        " WHERE a.swarm_run_id = %s",
        (swarm,),
    ).fetchall()
    assert {name for _, name, _, _ in runs} == {"coord_ok", "researcher_ok", "analyst_ok"}
    assert all(has_secret for _, _, has_secret, _ in runs), runs

    # every step the gateway recorded was made as the agent itself
    actors = {
        (str(run_id), actor)
        for run_id, actor in conn.execute(
            "SELECT e.agent_run_id, e.actor FROM concord.domain_events AS e"
            " WHERE e.target_type = 'agent_step' AND e.agent_run_id = ANY (%s)",
            ([r[0] for r in runs],),
        )
    }
    assert actors, "no agent step was audited"
    assert all(actor == f"agent:{run_id}" for run_id, actor in actors), actors

    # the worker's own login, holding only the run ids, is refused every one of them
    worker_dsn = make_conninfo("", **{**conninfo_to_dict(conn.info.dsn), "user": role})
    with psycopg.connect(worker_dsn, autocommit=True) as as_worker:
        for run_id, _, _, _ in runs:
            with pytest.raises(psycopg.Error) as refused:
                as_worker.execute("SELECT concord.agent_run_state(%s)", (run_id,))
            assert refused.value.sqlstate == "CN012", refused.value
            assert refused.value.diag.constraint_name == "an_agent_acts_with_its_run_secret"
