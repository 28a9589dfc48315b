"""Forgetting really forgets (spec 23, 61; issue 13): a memory one agent wrote and another
read, then forgotten, has its content nowhere: not in any table of the ``concord``
schema (agent steps and their audit rows refer to it by id and sha256 digest), not in
DBOS's tables (the agent workflows' step outputs, decoded). The agents run on a real
worker (``tests/support/runtime_ops/concord_test_forgetting.py``); the content reaches
Concord only through the writer's ``write_memory`` move, and the reader still receives
it. A write asked for past the workflow's turn limit, which is never submitted, leaves
no copy in DBOS either.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from support.swarms import SWARM_TERMINAL, connect, memory_scope, new_command, one
from support.workers import WorkerProcess, stop_workers, wait_for


def _tables_holding(conn: psycopg.Connection, text: str) -> dict[str, int]:
    """Every table of the concord and dbos schemas with rows whose text holds ``text``;
    DBOS's serialized columns (base64 pickles) are decoded first."""
    from dbos._serialization import DefaultSerializer

    found: dict[str, int] = {}
    tables = conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('concord', 'dbos') AND table_type = 'BASE TABLE'"
    ).fetchall()
    assert any(t["table_schema"] == "dbos" for t in tables), "no dbos tables to search"
    for t in tables:
        name = f'"{t["table_schema"]}"."{t["table_name"]}"'
        n = one(conn, f"SELECT count(*) FROM {name} AS x WHERE x::text LIKE %s", f"%{text}%")
        if n:
            found[name] = n
    decoded = 0
    for table, columns in (
        ("operation_outputs", ("output", "error")),
        ("workflow_status", ("inputs", "output", "error")),
    ):
        for row in conn.execute(f"SELECT {', '.join(columns)} FROM dbos.{table}").fetchall():
            for col in columns:
                value = row[col]
                if not value:
                    continue
                try:
                    plain = repr(DefaultSerializer().deserialize(value))
                    decoded += 1
                except Exception:
                    plain = value
                if text in plain:
                    key = f"dbos.{table}.{col} (decoded)"
                    found[key] = found.get(key, 0) + 1
    assert decoded > 0, "no DBOS step output was decoded: the search would prove nothing"
    return found


def test_a_memory_written_read_and_forgotten_is_nowhere(swarm_dsn: str) -> None:
    content = f"the customer's secret {uuid.uuid4().hex}"
    worker = WorkerProcess(
        swarm_dsn,
        executor_id=f"forget-{uuid.uuid4().hex[:8]}",
        modules=("concord_test_forgetting",),
        extra_env={"CONCORD_TEST_MEMORY_CONTENT": content},
    ).start(timeout=60)
    try:
        with connect(swarm_dsn) as conn:
            scope = memory_scope()
            spec: dict[str, Any] = {
                "name": f"forget_{uuid.uuid4().hex[:10]}",
                "objective": "remember, then forget",
                "runtime": "forgetting",
                "limits": {"max_agents": 5, "max_depth": 2, "max_total_steps": 50},
                "coordinator": {
                    "agent_name": "keeper",
                    "agent_role": "coordinator",
                    "allowed_tools": ["spawn_subagent", "write_memory", "retrieve_memory"],
                    "memory_scope": scope,
                    "context_scope": {"memory_scope": scope},
                    "max_steps": 20,
                },
            }
            swarm = one(conn, "SELECT concord.start_swarm(%s, %s)", new_command(conn), Jsonb(spec))
            status = wait_for(
                lambda: (
                    s
                    if (
                        s := one(
                            conn,
                            "SELECT status FROM concord.swarm_runs WHERE swarm_run_id = %s",
                            swarm,
                        )
                    )
                    in SWARM_TERMINAL
                    else None
                ),
                timeout=120,
                interval=0.2,
                message="the swarm to finish",
            )
            runs = {
                r["agent_name"]: r
                for r in conn.execute(
                    "SELECT agent_name, status, result, error FROM concord.agent_runs "
                    "WHERE swarm_run_id = %s",
                    (swarm,),
                ).fetchall()
            }
            assert status == "succeeded", (status, runs)
            digest = hashlib.sha256(content.encode()).hexdigest()
            # the reader received the content (and reported only its digest)
            assert runs["reader"]["result"] == {"saw_the_content": True, "seen_sha256": [digest]}
            memory = one(
                conn,
                "SELECT memory_id FROM concord.memories "
                "WHERE subject_id = %s AND status = 'active'",
                scope["subject_id"],
            )
            # before forgetting, the content is where it lives: its memories row, only
            assert _tables_holding(conn, content) == {'"concord"."memories"': 1}
            # and the steps refer to it by digest
            assert (
                one(
                    conn,
                    "SELECT count(*) FROM concord.agent_steps WHERE swarm_run_id = %s "
                    "AND (action_payload::text LIKE %s OR output::text LIKE %s)",
                    swarm,
                    f"%{digest}%",
                    f"%{digest}%",
                )
                == 2
            )
            forgotten = one(conn, "SELECT concord.forget_memory(%s, 'alice')", memory)
            assert forgotten["status"] == "deleted"
            assert _tables_holding(conn, content) == {}
    finally:
        stop_workers(worker)


def test_a_write_past_the_turn_limit_leaves_no_copy(swarm_dsn: str) -> None:
    content = f"an unwritten secret {uuid.uuid4().hex}"
    worker = WorkerProcess(
        swarm_dsn,
        executor_id=f"forget-{uuid.uuid4().hex[:8]}",
        modules=("concord_test_forgetting",),
        extra_env={"CONCORD_TEST_MEMORY_CONTENT": content},
    ).start(timeout=60)
    try:
        with connect(swarm_dsn) as conn:
            scope = memory_scope()
            spec: dict[str, Any] = {
                "name": f"overreach_{uuid.uuid4().hex[:10]}",
                "objective": "write too late",
                "runtime": "forgetting",
                "limits": {"max_agents": 1, "max_depth": 1, "max_total_steps": 10},
                "coordinator": {
                    "agent_name": "overreacher",
                    "agent_role": "coordinator",
                    "allowed_tools": ["write_memory"],
                    "memory_scope": scope,
                    "context_scope": {},
                    "max_steps": 1,
                },
            }
            swarm = one(conn, "SELECT concord.start_swarm(%s, %s)", new_command(conn), Jsonb(spec))
            run = wait_for(
                lambda: (
                    r
                    if (
                        r := conn.execute(
                            "SELECT status, error FROM concord.agent_runs WHERE swarm_run_id = %s",
                            (swarm,),
                        ).fetchone()
                    )
                    and r["status"] in ("succeeded", "failed", "cancelled")
                    else None
                ),
                timeout=120,
                interval=0.2,
                message="the overreaching agent to end",
            )
            assert run["status"] == "failed", run
            assert "24 moves without finishing" in (run["error"] or ""), run
            assert (
                one(
                    conn,
                    "SELECT count(*) FROM concord.memories WHERE subject_id = %s",
                    scope["subject_id"],
                )
                == 0
            )
            assert _tables_holding(conn, content) == {}
    finally:
        stop_workers(worker)
