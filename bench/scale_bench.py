"""Scale benchmark (issue 16 section 4, ``make bench-scale``): does an operation cost the same
with a million commands as with ten thousand?

Runnable alone with CONCORD_DSN set (a superuser DSN); not part of ``make bench`` or ``make
test``. Creates the database ``concord_scale`` (dropped first, and at the end unless
BENCH_SCALE_KEEP=1), installs Concord, and loads it with SMALL commands and their rows in the
shapes real use writes (``scale_loader.py`` says how: one wave made through the public API,
then copied with triggers off). Measures every operation below, grows the SAME database to
LARGE commands and measures again, then prints both sizes side by side with their ratio
(target: LARGE within TARGET x of SMALL).

Each operation is one call on one connection (autocommit: one transaction, one round trip),
made as an authenticated principal: the requester and the approver are database logins
mapped to their principals (``concord.map_login``), as a deployment maps its users. The
calls of all operations alternate in ROUNDS rounds, so that load on the machine hits them
alike; p50 and p95 are over all RUNS calls of an operation.

Environment: BENCH_SCALE_SMALL (default 10000) and BENCH_SCALE_LARGE (default 1000000)
commands, BENCH_SCALE_RUNS (default 200) calls per operation and size, at most
BENCH_SCALE_OPERATION_SECONDS (default 30) of calls per operation and size (one a round at
least), BENCH_SCALE_EVENTS_PER_COMMAND (default 10), BENCH_SCALE_LOADERS (default 2)
connections copying at once, BENCH_SCALE_WAVES_PER_STATEMENT (default 50: waves of about 170
commands copied per INSERT), BENCH_SCALE_DB (default concord_scale), BENCH_SCALE_KEEP=1 keeps
the database (and its two logins). Prints a line per operation: p50 and p95 at both sizes,
their ratio, and the shared blocks a call touches at both sizes (the figure the machine's
load does not move). Asserts nothing.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale_loader as loader  # noqa: E402
from concord.console.routes import SWARMS_LIST  # noqa: E402 (the /console/swarms page)
from concord.migrate import migrate  # noqa: E402

SCALE_DB = os.environ.get("BENCH_SCALE_DB", "concord_scale")
TARGET = 1.2
ROUNDS = 10
SAMPLE = 100  # old commands of each kind the read operations rotate over


@dataclass
class Figures:
    p50: float
    p95: float
    blocks: float


def say(text: str) -> None:
    print(text, flush=True)


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def create_database(admin_dsn: str, name: str) -> str:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_conninfo(admin_dsn, dbname=name)


def drop_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def load_to(conn: psycopg.Connection, dsn: str, commands: int, done_waves: int,
            backlog_waves: int, chunk: int, loaders: int) -> tuple[int, float]:
    """Grow to about commands (waves done_waves + 1 ...), then VACUUM ANALYZE; returns the
    last wave and the seconds taken (the vacuum included)."""
    started = time.perf_counter()
    last = loader.waves_for(conn, commands, backlog_waves)
    loader.grow(dsn, done_waves + 1, last, backlog_waves, chunk, loaders, say=say)
    vacuum_started = time.perf_counter()
    conn.execute("VACUUM ANALYZE")
    say(f"  VACUUM ANALYZE {time.perf_counter() - vacuum_started:.1f} s")
    return last, time.perf_counter() - started


def report_load(label: str, figures: loader.LoadFigures) -> None:
    say(
        f"{label}: {figures.commands:,} commands, {figures.events:,} events "
        f"({figures.events / max(1, figures.commands):.1f} a command), loaded in "
        f"{figures.seconds:.1f} s; database {figures.db_bytes / 2**20:,.0f} MiB"
    )
    for name, size in figures.biggest:
        say(f"    {name:<32} {size / 2**20:>10,.1f} MiB")


class Operations:
    """The measured calls, with what they rotate over sampled from the database as it is."""

    def __init__(self, admin: psycopg.Connection, requester: psycopg.Connection,
                 approver: psycopg.Connection, runs: int, tag: str) -> None:
        self.requester = requester
        self.approver = approver
        self.runs = runs
        self.tag = tag
        self.i = 0
        sample = {}
        for kind, where in (
            ("succeeded", "c.status = 'succeeded'"),
            ("failed", "c.status = 'failed'"),
            ("cancelled", "c.status = 'cancelled'"),
            ("waiting", "c.status = 'waiting_for_approval'"),
            ("swarm", "EXISTS (SELECT 1 FROM concord.swarm_runs AS s "
                      "WHERE s.command_id = c.command_id)"),
        ):
            sample[kind] = [
                r[0] for r in admin.execute(
                    f"SELECT c.command_id FROM concord.commands AS c WHERE {where} "
                    "AND c.command_type LIKE 'scale\\_%%' ORDER BY random() LIMIT %s",
                    (SAMPLE,),
                )
            ]
        # interleaved, so that each kind is in every round
        self.old = [c for group in zip(*sample.values(), strict=False) for c in group]
        self.swarms = [
            r[0] for r in admin.execute(
                "SELECT swarm_run_id FROM concord.swarm_runs ORDER BY random() LIMIT %s",
                (SAMPLE,),
            )
        ]
        # The last command of an old chain: a new edge to it walks the chain (the cycle check
        # follows the parent's ancestors).
        self.tails = [
            r[0] for r in admin.execute(
                "SELECT d.child_command_id FROM concord.command_dependencies AS d "
                "WHERE NOT EXISTS (SELECT 1 FROM concord.command_dependencies AS e "
                "WHERE e.parent_command_id = d.child_command_id) "
                "AND EXISTS (SELECT 1 FROM concord.command_dependencies AS f "
                "WHERE f.child_command_id = d.parent_command_id) "
                "ORDER BY random() LIMIT %s",
                (SAMPLE,),
            )
        ]
        # fresh children for add_dependency, submitted before the clock starts
        self.children = [
            r[0] for r in (
                requester.execute(
                    "SELECT command_id FROM concord.submit_command('scale_task', "
                    "jsonb_build_object('n', %s::int), NULL, 'api', '{}', %s)",
                    (g, f"child-{tag}-{g}"),
                ).fetchone()
                for g in range(runs + 20)
            )
        ]
        page = requester.execute(
            "SELECT concord.list_commands(NULL, NULL, NULL, NULL, NULL, NULL, 50, NULL)"
        ).fetchone()[0]  # type: ignore[index]
        self.cursor = page["next_cursor"]
        page = requester.execute(
            "SELECT concord.list_commands('failed', 'scale_task', NULL, NULL, NULL, NULL, 50, "
            "NULL)"
        ).fetchone()[0]  # type: ignore[index]
        self.failed_cursor = page["next_cursor"]
        self.n_dep = 0
        self.buffers: list[int] | None = None

    def run(self, conn: psycopg.Connection, query: str, params: tuple = ()) -> None:
        """One statement of an operation; while self.buffers is a list, run under EXPLAIN
        (ANALYZE, BUFFERS) instead and add the blocks it touched (the call's nested
        statements included) to it: a figure the machine's load does not change."""
        if self.buffers is None:
            conn.execute(query, params).fetchall()  # type: ignore[arg-type]
            return
        (plan,) = conn.execute(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query, params  # type: ignore[operator]
        ).fetchone()  # type: ignore[misc]
        top = plan[0]["Plan"]
        self.buffers.append(top["Shared Hit Blocks"] + top["Shared Read Blocks"])

    def blocks(self, call: Callable[[], None]) -> float:
        """Shared blocks a call of the operation touches: the median of ten calls, which the
        read operations make on old commands of five kinds, twice, the same at every size
        (the median: a call that reloads the catalog caches after an autovacuum's ANALYZE
        reads hundreds of blocks more, once)."""
        self.i = 0
        per_call = []
        for _ in range(10):
            self.buffers = []
            call()
            per_call.append(sum(self.buffers))
        self.buffers = None
        return statistics.median(per_call)

    def pick(self, items: list) -> Any:
        self.i += 1
        return items[self.i % len(items)]

    def submit(self) -> None:
        self.i += 1
        self.run(self.requester,
            "SELECT * FROM concord.submit_command('scale_task', '{\"n\": 1}', NULL, 'api', "
            "'{}', %s)",
            (f"measure-{uuid.uuid4()}",),
        )

    def add_dependency(self) -> None:
        child = self.children[self.n_dep % len(self.children)]
        parent = self.tails[self.n_dep % len(self.tails)]
        self.n_dep += 1
        self.run(self.requester, "SELECT concord.add_dependency(%s, %s)", (child, parent))

    def explain(self) -> None:
        self.run(self.requester, "SELECT concord.explain(%s)", (self.pick(self.old),))

    def timeline(self) -> None:
        self.run(self.requester,
            "SELECT * FROM concord.command_timeline(%s)", (self.pick(self.old),)
        )

    def get_command(self) -> None:
        self.run(self.requester,
            "SELECT concord.get_command(%s)", (self.pick(self.old),)
        )

    def approval_inbox(self) -> None:
        self.run(self.approver, "SELECT * FROM concord.approval_inbox()")

    def resolve_contract(self) -> None:
        self.run(self.requester,
            "SELECT concord.resolve_command_type_contract('scale_task')"
        )

    def list_first(self) -> None:
        self.run(self.requester,
            "SELECT concord.list_commands(NULL, NULL, NULL, NULL, NULL, NULL, 50, NULL)"
        )

    def list_next(self) -> None:
        self.run(self.requester,
            "SELECT concord.list_commands(NULL, NULL, NULL, NULL, NULL, NULL, 50, %s)",
            (self.cursor,),
        )

    def list_filtered(self) -> None:
        self.run(self.requester,
            "SELECT concord.list_commands('failed', 'scale_task', NULL, NULL, NULL, NULL, 50, "
            "NULL)"
        )

    def list_filtered_next(self) -> None:
        self.run(self.requester,
            "SELECT concord.list_commands('failed', 'scale_task', NULL, NULL, NULL, NULL, 50, "
            "%s)",
            (self.failed_cursor,),
        )

    def swarms_list(self) -> None:
        self.run(self.requester, SWARMS_LIST)

    def swarm_page(self) -> None:
        swarm = self.pick(self.swarms)
        self.run(self.requester,
            "SELECT * FROM concord.swarm_tree WHERE swarm_run_id = %s", (swarm,)
        )
        self.run(self.requester,
            "SELECT * FROM concord.agent_step_log WHERE swarm_run_id = %s", (swarm,)
        )

    def all(self) -> list[tuple[str, Callable[[], None]]]:
        return [
            ("submit_command", self.submit),
            ("add_dependency (chain tail)", self.add_dependency),
            ("explain (old command)", self.explain),
            ("command_timeline", self.timeline),
            ("get_command", self.get_command),
            ("approval_inbox", self.approval_inbox),
            ("resolve_command_type_contract", self.resolve_contract),
            ("list_commands first page", self.list_first),
            ("list_commands next page", self.list_next),
            ("list_commands failed+type", self.list_filtered),
            ("list_commands failed+type next", self.list_filtered_next),
            ("console swarms list", self.swarms_list),
            ("console swarm page", self.swarm_page),
        ]


def measure(dsn: str, requester_dsn: str, approver_dsn: str, runs: int, tag: str,
            budget_s: float) -> dict[str, Figures]:
    with (
        psycopg.connect(dsn, autocommit=True) as admin,
        psycopg.connect(requester_dsn, autocommit=True) as requester,
        psycopg.connect(approver_dsn, autocommit=True) as approver,
    ):
        requester.execute("SELECT concord.use_project(%s)", (loader.PROJECT,))
        ops = Operations(admin, requester, approver, runs, tag)
        calls = ops.all()
        for _name, call in calls:  # warm: plans cached, plpython3u started
            for _ in range(3):
                call()
        timings: dict[str, list[float]] = {name: [] for name, _ in calls}
        per_round = max(1, runs // ROUNDS)
        # An operation that reads the whole history would take an hour at 1M: its calls stop
        # once they used their share of budget_s, one call a round at least.
        for round_no in range(ROUNDS):
            for name, call in calls:
                for n in range(per_round):
                    if n and sum(timings[name]) > budget_s * 1000 * (round_no + 1) / ROUNDS:
                        break
                    started = time.perf_counter()
                    call()
                    timings[name].append((time.perf_counter() - started) * 1000)
        return {
            name: Figures(
                statistics.median(values), percentile(values, 0.95), ops.blocks(call)
            )
            for (name, values), (_, call) in zip(timings.items(), calls, strict=True)
        }


def print_table(small: int, large: int, a: dict[str, Figures], b: dict[str, Figures]) -> None:
    say("")
    say(f"p50 ms per call at {small:,} and at {large:,} commands, their ratio against the target "
        f"{TARGET}; p95 ms; shared blocks a call touches (the noise-free figure) and their ratio")
    say(f"{'operation':<32} {'p50 small':>9} {'p50 large':>9} {'ratio':>6}       "
        f"{'p95 small':>9} {'p95 large':>9} {'blocks':>8} {'blocks':>8} {'ratio':>6}")
    for name, fa in a.items():
        fb = b[name]
        ratio = fb.p50 / fa.p50
        verdict = "ok  " if ratio <= TARGET else "over"
        say(f"{name:<32} {fa.p50:>9.2f} {fb.p50:>9.2f} {ratio:>6.2f} {verdict} "
            f"{fa.p95:>9.2f} {fb.p95:>9.2f} {fa.blocks:>8.0f} {fb.blocks:>8.0f} "
            f"{fb.blocks / max(fa.blocks, 1):>6.2f}")


def main() -> None:
    admin_dsn = os.environ.get("CONCORD_DSN")
    if not admin_dsn:
        raise SystemExit("bench-scale: set CONCORD_DSN to a superuser DSN")
    small = env_int("BENCH_SCALE_SMALL", 10_000)
    large = env_int("BENCH_SCALE_LARGE", 1_000_000)
    runs = env_int("BENCH_SCALE_RUNS", 200)
    budget = env_int("BENCH_SCALE_OPERATION_SECONDS", 30)
    chunk = env_int("BENCH_SCALE_WAVES_PER_STATEMENT", 50)
    loaders = env_int("BENCH_SCALE_LOADERS", 2)
    keep = os.environ.get("BENCH_SCALE_KEEP") == "1"
    events_per_command = float(os.environ.get("BENCH_SCALE_EVENTS_PER_COMMAND", 10))
    dsn = create_database(admin_dsn, SCALE_DB)
    try:
        started = time.perf_counter()
        migrate(dsn)
        requester_dsn, approver_dsn = loader.setup_world(dsn)
        loader.make_templates(dsn, requester_dsn, approver_dsn, events_per_command)
        with psycopg.connect(dsn, autocommit=True) as conn:
            counts = loader.snapshot(conn)
            history, backlog = loader.wave_size(conn)
            say(f"template wave (public API, {time.perf_counter() - started:.1f} s with the "
                f"install): {history} history + {backlog} backlog commands; rows: "
                + ", ".join(f"{t.split('.')[1]} {n}" for t, n in counts.items()))
            backlog_waves = max(1, small // max(1, history + backlog))
            done, seconds = load_to(conn, dsn, small, 0, backlog_waves, chunk, loaders)
            small_load = loader.figures(conn, time.perf_counter() - started)
            report_load(f"small (load {seconds:.1f} s)", small_load)
        at_small = measure(dsn, requester_dsn, approver_dsn, runs, "small", budget)
        with psycopg.connect(dsn, autocommit=True) as conn:
            grow_started = time.perf_counter()
            done, seconds = load_to(conn, dsn, large, done, backlog_waves, chunk, loaders)
            large_load = loader.figures(conn, time.perf_counter() - grow_started)
            report_load(f"large (grown from small in {seconds:.1f} s)", large_load)
            added = large_load.commands - small_load.commands
            say(f"  load rate {added / max(seconds, 1e-9):,.0f} commands/s, "
                f"{(large_load.events - small_load.events) / max(seconds, 1e-9):,.0f} events/s")
        at_large = measure(dsn, requester_dsn, approver_dsn, runs, "large", budget)
        print_table(small_load.commands, large_load.commands, at_small, at_large)
    finally:
        if not keep:
            drop_database(admin_dsn, SCALE_DB)
            loader.drop_logins(admin_dsn, SCALE_DB)


if __name__ == "__main__":
    main()
