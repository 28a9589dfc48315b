"""Agents benchmark (issue 5, the ``make bench`` bullet): what governance of agents costs.

Called by ``bench/run_bench.py`` after its other benchmarks; runnable alone with
CONCORD_DSN set (a superuser DSN). A database of its own, ``concord_bench_agents``,
dropped first and at the end.

  (e) agent     concord.submit_agent_action of a sync command tool (``bench_sync_tool``,
                command type ``bench_sync``): pgbench, CLIENTS clients, each the coordinator
                of a swarm of its own (``agent_action.sql``)
  (f) plain     concord.submit_command of the same command type, no agent
                (``agent_plain.sql``); the baseline of (e), measured in the same run
  spawn         ms per concord.spawn_subagent (one call per transaction, one connection)
                at depth 1 (children of a coordinator) and at depth MAX_DEPTH (children of
                the last agent of a chain spawned down to MAX_DEPTH - 1), against the ms
                per plain submit_command measured the same way. ROUNDS rounds of SPAWNS
                spawns each, alternating; the median round is reported.

Before the runs every table gets PRELOAD commands and steps, then VACUUM ANALYZE (see
``run_bench.preload`` for why). Prints TPS, p50/p99 latency and ratios; asserts nothing.
Environment: BENCH_AGENTS_SECONDS (default 8) per pgbench run; BENCH_AGENTS=0 in
run_bench.py skips it. Takes about 30 s.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb

import run_bench
from concord.migrate import migrate

HERE = Path(__file__).resolve().parent
AGENTS_DB = "concord_bench_agents"
COMMAND_TYPE = "bench_sync"
TOOL = "bench_sync_tool"
CLIENTS = run_bench.CLIENTS
PRELOAD = 2000
MAX_DEPTH = 8
SPAWNS = 60
ROUNDS = 3

SCENARIOS = [
    ("agent", "agent_action.sql", "submit_agent_action, sync tool"),
    ("plain", "agent_plain.sql", "submit_command, same type"),
]


@dataclass
class SpawnFigures:
    plain_ms: float
    depth1_ms: float
    deep_ms: float


@dataclass
class Report:
    results: dict[str, run_bench.Result]
    spawn: SpawnFigures
    seconds: int


def new_swarm(conn: psycopg.Connection, name: str, max_depth: int) -> UUID:
    """A command, and a swarm under it whose coordinator may use the tool and spawn;
    returns the coordinator's agent run id."""
    (command_id,) = conn.execute(
        "SELECT command_id FROM concord.submit_command(%s, '{\"n\": 0}', 'bench')",
        (COMMAND_TYPE,),
    ).fetchone()
    spec = {
        "name": name,
        "objective": "benchmark",
        "limits": {
            "max_agents": 1000,
            "max_depth": max_depth,
            "max_total_steps": 1000000,
        },
        "coordinator": {
            "agent_name": "coord",
            "agent_role": "coordinator",
            "max_steps": 100000,
            "allowed_tools": [TOOL, "spawn_subagent"],
        },
    }
    (swarm,) = conn.execute(
        "SELECT concord.start_swarm(%s, %s)", (command_id, Jsonb(spec))
    ).fetchone()
    (coord,) = conn.execute(
        "SELECT coordinator_agent_run_id FROM concord.swarm_runs WHERE swarm_run_id = %s",
        (swarm,),
    ).fetchone()
    conn.execute("SELECT concord.begin_agent_run(%s)", (coord,))
    return coord


def spawn(conn: psycopg.Connection, parent: UUID, name: str) -> UUID:
    request = {
        "parent_agent_run_id": str(parent),
        "agent_name": name,
        "agent_role": "worker",
        "delegated_goal": "benchmark",
        "allowed_tools": [TOOL, "spawn_subagent"],
        "max_steps": 100,
    }
    (answer,) = conn.execute("SELECT concord.spawn_subagent(%s)", (Jsonb(request),)).fetchone()
    if answer["decision"] != "allowed":
        raise SystemExit(f"bench: a spawn was not allowed: {answer}")
    return UUID(answer["child_agent_run_id"])


def setup(admin_dsn: str, dsn: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(AGENTS_DB))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(AGENTS_DB)))
    migrate(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute(
            "SELECT concord.register_command_type(%s)",
            (
                Jsonb(
                    {
                        "command_type": COMMAND_TYPE,
                        "name": "Benchmark sync",
                        "sync_allowed": True,
                        "payload_schema": {
                            "type": "object",
                            "properties": {"n": {"type": "integer", "minimum": 0}},
                        },
                    }
                ),
            ),
        )
        conn.execute(
            "SELECT concord.register_tool(%s)",
            (Jsonb({"name": TOOL, "command_type": COMMAND_TYPE, "execution_mode": "sync"}),),
        )
        conn.execute(
            "CREATE SCHEMA bench_agents; "
            "CREATE TABLE bench_agents.agents (client_id int PRIMARY KEY, agent_run_id uuid)"
        )
        for client in range(CLIENTS):
            coord = new_swarm(conn, f"client{client}", MAX_DEPTH)
            conn.execute("INSERT INTO bench_agents.agents VALUES (%s, %s)", (client, coord))
        preload(conn)


def preload(conn: psycopg.Connection) -> None:
    """PRELOAD plain commands and PRELOAD agent tool calls (steps, commands, events) in a
    swarm apart, then statistics: plans of a running system, not of empty tables."""
    conn.execute(
        "SELECT count(*) FROM generate_series(1, %s) AS g, "
        "concord.submit_command(%s, jsonb_build_object('n', g), 'bench')",
        (PRELOAD, COMMAND_TYPE),
    )
    coord = new_swarm(conn, "preload", MAX_DEPTH)
    conn.execute(
        "SELECT count(*) FROM generate_series(1, %s) AS g, "
        "concord.submit_agent_action(%s, jsonb_build_object('tool_name', %s::text, "
        "'payload', jsonb_build_object('n', g)))",
        (PRELOAD, coord, TOOL),
    )
    for i in range(50):
        spawn(conn, coord, f"preload{i}")
    conn.execute("VACUUM ANALYZE")


def timed(conn: psycopg.Connection, calls: list) -> float:
    """Mean ms per call; each call autocommits."""
    start = time.perf_counter()
    for call in calls:
        call(conn)
    return (time.perf_counter() - start) * 1000 / len(calls)


def spawns(parent: UUID) -> list:
    """SPAWNS calls, each spawning one child of parent."""
    return [lambda c, i=i: spawn(c, parent, f"w{i}") for i in range(SPAWNS)]


def spawn_figures(dsn: str) -> SpawnFigures:
    plain, depth1, deep = [], [], []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for r in range(ROUNDS):
            coord = new_swarm(conn, f"spawn_shallow{r}", MAX_DEPTH)
            tip = new_swarm(conn, f"spawn_deep{r}", MAX_DEPTH)
            for d in range(1, MAX_DEPTH):
                tip = spawn(conn, tip, f"chain{d}")
            plain.append(
                timed(
                    conn,
                    [
                        lambda c: c.execute(
                            "SELECT * FROM concord.submit_command(%s, '{\"n\": 1}', 'bench')",
                            (COMMAND_TYPE,),
                        )
                    ]
                    * SPAWNS,
                )
            )
            depth1.append(timed(conn, spawns(coord)))
            deep.append(timed(conn, spawns(tip)))
            (depth,) = conn.execute(
                "SELECT max(a.spawn_depth) FROM concord.agent_runs AS a "
                "WHERE a.parent_agent_run_id = %s",
                (tip,),
            ).fetchone()
            if depth != MAX_DEPTH:
                raise SystemExit(f"bench: the deep spawns were at depth {depth}, not {MAX_DEPTH}")
    return SpawnFigures(
        plain_ms=statistics.median(plain),
        depth1_ms=statistics.median(depth1),
        deep_ms=statistics.median(deep),
    )


def drop(admin_dsn: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(AGENTS_DB))
        )


def run(admin_dsn: str, pgbench: str, env: dict[str, str]) -> Report:
    seconds = int(os.environ.get("BENCH_AGENTS_SECONDS", "8"))
    dsn = make_conninfo(admin_dsn, dbname=AGENTS_DB)
    conninfo = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    try:
        print(f"bench: creating {AGENTS_DB}, installing Concord, preloading", flush=True)
        setup(admin_dsn, dsn)
        base_args = run_bench.pgbench_args(pgbench, conninfo, seconds)
        env = {**env, **run_bench.pgbench_env(conninfo)}
        results: dict[str, run_bench.Result] = {}
        with tempfile.TemporaryDirectory(prefix="concord-bench-agents-") as tmp:
            for name, script, label in SCENARIOS:
                run_bench.checkpoint(dsn)
                print(f"bench: {name} ({script}) for {seconds} s", flush=True)
                results[name] = run_bench.run_scenario(
                    name, script, label, base_args, env, AGENTS_DB, Path(tmp)
                )
        run_bench.checkpoint(dsn)
        print(f"bench: spawns at depth 1 and {MAX_DEPTH}, {ROUNDS} x {SPAWNS}", flush=True)
        spawn = spawn_figures(dsn)
    finally:
        drop(admin_dsn)
    return Report(results=results, spawn=spawn, seconds=seconds)


def ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def print_report(report: Report) -> None:
    results = report.results
    print()
    print(
        f"Agents (issue 5): pgbench {CLIENTS} clients, {report.seconds} s per scenario; "
        f"spawns on one connection, median of {ROUNDS} rounds of {SPAWNS}"
    )
    header = f"{'scenario':<10} {'what':<36} {'TPS':>10} {'p50 ms':>8} {'p99 ms':>8} {'txns':>9}"
    print(header)
    print("-" * len(header))
    for r in results.values():
        print(
            f"{r.name:<10} {r.label:<36} {r.tps:>10.1f} {r.p50_ms:>8.3f} {r.p99_ms:>8.3f}"
            f" {r.transactions:>9}"
        )
    failed = {r.name: r.failed for r in results.values() if r.failed}
    if failed:
        print(f"failed transactions: {failed}")
    print(
        f"e/f  agent tool call / plain submit TPS = "
        f"{ratio(results['agent'].tps, results['plain'].tps):.2f}"
    )
    s = report.spawn
    print()
    print(f"{'call':<40} {'ms':>8} {'x plain':>8}")
    for label, ms in (
        ("plain submit_command (baseline)", s.plain_ms),
        ("spawn_subagent at depth 1", s.depth1_ms),
        (f"spawn_subagent at depth {MAX_DEPTH} (max_depth)", s.deep_ms),
    ):
        print(f"{label:<40} {ms:>8.3f} {ratio(ms, s.plain_ms):>8.2f}")
    print(f"spawn at depth {MAX_DEPTH} / depth 1 = {ratio(s.deep_ms, s.depth1_ms):.2f}")


def main() -> int:
    admin_dsn = os.environ.get("CONCORD_DSN")
    if not admin_dsn:
        raise SystemExit("bench: set CONCORD_DSN to a superuser DSN of a throwaway cluster")
    facts = run_bench.server_facts(admin_dsn)
    pgbench = run_bench.find_pgbench(facts["server_version_num"])
    print_report(run(admin_dsn, pgbench, dict(os.environ)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
