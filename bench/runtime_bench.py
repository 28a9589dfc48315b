"""Runtime benchmark: trivial commands executed by ``concord worker`` against the same
trivial workflow in bare DBOS (issue 4, the ``make bench`` bullet).

Called by ``bench/run_bench.py`` after its pgbench scenarios; runnable alone with
CONCORD_DSN set (a superuser DSN). Two databases of its own, dropped first and at the end:

  concord_bench_runtime  Concord (``concord.migrate``), the command type ``bench.echo``
                         executed by ``bench/bench_ops.py`` (no connector, so its
                         ``run_command`` workflow is two DBOS steps: claim and finish).
  concord_bench_dbos     bare DBOS: ``bench/bare_dbos_worker.py``, workflow
                         ``bench.bare_run`` of two steps, one single-row write each.

Separate databases because DBOS dequeues a workflow enqueued without an application
version only in a worker whose version is the latest registered for its application
name: the two sides must not see each other's workflows or versions.

Both sides get their work the same way: pgbench (``-M prepared``, CLIENTS clients, one
statement per transaction) runs ``runtime_submit.sql`` (``concord.submit_command``) or
``bare_enqueue.sql`` (``dbos.enqueue_workflow``) while the worker(s) run. Both queues have
the worker_concurrency and polling_interval_sec of ``concord_default`` (read from
``concord.runtime_queues``). Each worker is warmed up with WARMUP workflows first (the
queue thread starts within a second of launch; the first plpython call of a session
costs ~90 ms).

Per batch, from database timestamps only:
  throughput  N / (first submit -> last finish), first submit = min(commands.created_at)
              or min(workflow_status.created_at) (the submitting transaction's now());
              last finish = the ``succeeded`` event (Concord, written by the finish step)
              or ``bare.jobs.finished_at`` (bare, written by its finish step).
  latency     submit -> running: the ``running`` transition event (written by the claim
              step) or ``bare.jobs.started_at`` (the claim step) minus the submit time;
              and submit -> dequeued (``dbos.workflow_status.started_at_epoch_ms``, the
              queue's claim) to tell the queue wait from the dispatch that follows.
  cpu         CPU time of the worker processes (Python) and of their database backends
              (/proc/<pid>/stat) over the batch, per workflow: where the time goes. After
              the warm-up, 3 s of idle CPU (the queue polling alone) are measured too.

Runs, per side: a burst of N (submitted as fast as the clients go), an open loop of
OPEN_N at RATE/s and one of SLOW_N at SLOW_RATE/s (pgbench -R, Poisson arrivals). Sides:
Concord with one worker, bare DBOS with one worker, Concord with two workers (executor
ids bench-w1, bench-w2). The Concord workers run with --no-schedules (no
expire_approvals tick in the middle of a run) and poll the queues they would in production.
Prints the figures and the ratios; PASS/MISS are information, the bench fails on nothing
but errors. Takes about two minutes on two cores.

Environment: BENCH_RUNTIME_N (default 1200), BENCH_RUNTIME_RATE (100),
BENCH_RUNTIME_OPEN_N (200), BENCH_RUNTIME_SLOW_RATE (20), BENCH_RUNTIME_SLOW_N (60);
BENCH_RUNTIME=0 in run_bench.py skips the runtime bench.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb

from concord.migrate import migrate

HERE = Path(__file__).resolve().parent
CONCORD = Path(sys.executable).parent / "concord"
RT_DB = "concord_bench_runtime"
BARE_DB = "concord_bench_dbos"
QUEUE = "concord_default"
COMMAND_TYPE = "bench.echo"
GATED_TYPE = "bench.gated"
APP_VERSION = "concord-bench"
CLIENTS = 2
WARMUP = 200
PRELOAD = 1000  # approval-gated commands (no workflow): plans over realistic tables
BATCH_TIMEOUT = 120.0
THROUGHPUT_TARGET = 0.7  # Concord / bare DBOS throughput
LATENCY_TARGET_MS = 50.0  # submit -> running p50


@dataclass
class Batch:
    name: str
    label: str
    n: int
    succeeded: int = 0
    submit_s: float = math.nan  # pgbench wall time
    span_s: float = math.nan  # first submit -> last finish
    deq_p50_ms: float = math.nan  # submit -> dequeued by DBOS
    p50_ms: float = math.nan  # submit -> running
    p99_ms: float = math.nan
    worker_cpu_ms: float = math.nan  # per workflow
    server_cpu_ms: float = math.nan  # per workflow

    @property
    def throughput(self) -> float:
        return self.n / self.span_s if self.span_s > 0 else math.nan

    @property
    def submit_rate(self) -> float:
        return self.n / self.submit_s if self.submit_s > 0 else math.nan


@dataclass
class Report:
    queue: dict
    n: int
    rate: float
    open_n: int
    slow_rate: float
    slow_n: int
    load_before: float = math.nan
    batches: dict[str, Batch] = field(default_factory=dict)
    idle: dict[str, tuple[float, float]] = field(default_factory=dict)  # cpu % of a core


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return float(sorted_values[rank - 1])


# ---------------------------------------------------------------------------
# Processes and their CPU time
# ---------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


class Proc:
    """A worker subprocess that prints ``ready_marker`` once it takes work."""

    def __init__(self, name: str, cmd: list[str], ready_marker: str, env: dict[str, str]):
        self.name = name
        self.cmd = cmd
        self.ready_marker = ready_marker
        self.env = env
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> Proc:
        self.proc = subprocess.Popen(
            self.cmd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        ready = threading.Event()

        def pump() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line)
                if self.ready_marker in line:
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready.wait(0.05):
                return self
            if self.proc.poll() is not None:
                break
        self.stop()
        raise SystemExit(f"bench: {self.name} did not start:\n{''.join(self.output[-50:])}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def concord_worker(dsn: str, executor_id: str) -> Proc:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    )
    cmd = [
        str(CONCORD),
        "worker",
        "--dsn",
        dsn,
        "--executor-id",
        executor_id,
        "--application-version",
        APP_VERSION,
        "--module",
        "bench_ops",
        "--no-schedules",  # no expire_approvals tick during the runs
        "--drain-seconds",
        "5",
    ]
    return Proc(f"concord worker {executor_id}", cmd, f"concord worker {executor_id} ready", env)


def bare_worker(dsn: str, executor_id: str, queue: dict) -> Proc:
    cmd = [
        sys.executable,
        str(HERE / "bare_dbos_worker.py"),
        dsn,
        executor_id,
        QUEUE,
        str(queue["worker_concurrency"]),
        str(queue["polling_interval_sec"]),
    ]
    return Proc(
        f"bare worker {executor_id}", cmd, f"bare worker {executor_id} ready", dict(os.environ)
    )


def backend_cpu(conn: psycopg.Connection, dbname: str) -> dict[int, float]:
    """CPU seconds of every backend of ``dbname`` but this session and pgbench's."""
    pids = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
        "AND coalesce(application_name, '') <> 'pgbench'",
        (dbname,),
    ).fetchall()
    return {pid: cpu_seconds(pid) for (pid,) in pids}


# ---------------------------------------------------------------------------
# The two sides
# ---------------------------------------------------------------------------


class Side:
    """What differs between Concord and bare DBOS: the database, the pgbench script, and
    the queries that say when a batch is done and what it measured."""

    dbname: str
    script: str

    def pending(self, conn: psycopg.Connection, tag: str) -> int:
        raise NotImplementedError

    def figures(self, conn: psycopg.Connection, tag: str) -> list[tuple]:
        """(submitted, dequeued by DBOS, running, finished) each, in epoch seconds; the
        last three None until they happen."""
        raise NotImplementedError


class ConcordSide(Side):
    dbname = RT_DB
    script = "runtime_submit.sql"

    def pending(self, conn: psycopg.Connection, tag: str) -> int:
        # Non-terminal commands only: the status index keeps this poll cheap.
        return conn.execute(
            "SELECT count(*) FROM concord.commands WHERE status IN "
            "('created', 'validated', 'queued', 'running') AND idempotency_key LIKE %s",
            (tag + ":%",),
        ).fetchone()[0]

    def figures(self, conn: psycopg.Connection, tag: str) -> list[tuple]:
        return conn.execute(
            """
            SELECT extract(EPOCH FROM c.created_at)::float8,
                   (SELECT w.started_at_epoch_ms / 1000.0 FROM dbos.workflow_status AS w
                     WHERE w.workflow_uuid = c.dbos_workflow_id)::float8,
                   (SELECT extract(EPOCH FROM min(e.created_at))::float8
                      FROM concord.domain_events AS e
                     WHERE e.command_id = c.command_id AND e.to_status = 'running'
                       AND e.from_status IS DISTINCT FROM 'running'),
                   (SELECT extract(EPOCH FROM min(e.created_at))::float8
                      FROM concord.domain_events AS e
                     WHERE e.command_id = c.command_id AND e.to_status = 'succeeded')
              FROM concord.commands AS c
             WHERE c.idempotency_key LIKE %s
            """,
            (tag + ":%",),
        ).fetchall()


class BareSide(Side):
    dbname = BARE_DB
    script = "bare_enqueue.sql"

    def pending(self, conn: psycopg.Connection, tag: str) -> int:
        return conn.execute(
            "SELECT count(*) FROM dbos.workflow_status WHERE status IN ('ENQUEUED', 'PENDING') "
            "AND workflow_uuid LIKE %s",
            (tag + ":%",),
        ).fetchone()[0]

    def figures(self, conn: psycopg.Connection, tag: str) -> list[tuple]:
        return conn.execute(
            """
            SELECT (w.created_at / 1000.0)::float8,
                   (w.started_at_epoch_ms / 1000.0)::float8,
                   extract(EPOCH FROM j.started_at)::float8,
                   CASE WHEN w.status = 'SUCCESS' THEN extract(EPOCH FROM j.finished_at)::float8 END
              FROM dbos.workflow_status AS w
              LEFT JOIN bare.jobs AS j ON j.job_id = w.workflow_uuid
             WHERE w.workflow_uuid LIKE %s
            """,
            (tag + ":%",),
        ).fetchall()


# ---------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------


def recreate(admin_dsn: str, dbname: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def drop(admin_dsn: str, dbname: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )


def setup_concord(dsn: str) -> dict:
    """Install Concord, register the command types, preload; answer concord_default's
    settings."""
    migrate(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        for spec in (
            {"command_type": COMMAND_TYPE, "name": "Benchmark echo", "async_required": True},
            {
                "command_type": GATED_TYPE,
                "name": "Benchmark preload (waits for approval, never runs)",
                "async_required": True,
                "approval_required": True,
            },
        ):
            conn.execute("SELECT concord.register_command_type(%s::jsonb)", (Jsonb(spec),))
        # Commands that get no workflow (they wait for an approval), so that the kernel's
        # plans are made over tables of a realistic size (see README, "Why the preload").
        conn.execute(
            "SELECT count(*) FROM generate_series(1, %s) AS g, "
            "concord.submit_command(%s, '{}', 'bench', 'api', '{}', 'preload:' || g)",
            (PRELOAD, GATED_TYPE),
        )
        conn.execute("VACUUM ANALYZE")
        row = conn.execute(
            "SELECT worker_concurrency, polling_interval_sec, global_concurrency, rate_limit "
            "FROM concord.runtime_queues WHERE queue_name = %s",
            (QUEUE,),
        ).fetchone()
    keys = ("worker_concurrency", "polling_interval_sec", "global_concurrency", "rate_limit")
    return dict(zip(keys, row, strict=True))


# ---------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------


def submit(
    pgbench: str, env: dict[str, str], dsn: str, side: Side, tag: str, n: int, rate: float | None
) -> float:
    """Submit ``n`` workflows with pgbench; answers its wall time."""
    info = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    per_client = max(1, n // CLIENTS)
    args = [pgbench, "-n", "-M", "prepared", "-c", str(CLIENTS), "-j", str(CLIENTS)]
    args += ["-t", str(per_client), "-D", f"tag={tag}", "-f", str(HERE / side.script)]
    if rate:
        args += ["-R", str(rate)]
    for option, key in (("-h", "host"), ("-p", "port"), ("-U", "user")):
        if info.get(key):
            args += [option, info[key]]
    args.append(side.dbname)
    started = time.monotonic()
    proc = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        if "too many clients" in proc.stderr:
            raise ServerFull(proc.stderr.strip().splitlines()[-1])
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"bench: pgbench failed on {side.script} (exit {proc.returncode})")
    return elapsed


class ServerFull(Exception):
    """pgbench found no free connection (a server shared with other work)."""


def wait_for_slots(conn: psycopg.Connection, need: int, timeout: float = 60.0) -> None:
    """Wait until the server has ``need`` free connections: a shared server may be full
    for a moment (the workers' pools, other sessions' tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        free = conn.execute(
            "SELECT current_setting('max_connections')::int - count(*) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend'"
        ).fetchone()[0]
        if free >= need:
            return
        time.sleep(0.5)


def run_batch(
    pgbench: str,
    env: dict[str, str],
    dsn: str,
    side: Side,
    workers: list[Proc],
    name: str,
    label: str,
    n: int,
    rate: float | None = None,
) -> Batch:
    n = max(1, n // CLIENTS) * CLIENTS
    batch = Batch(name=name, label=label, n=n)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for attempt in range(1, 4):
            tag = f"{name}-{time.time_ns()}"
            wait_for_slots(conn, CLIENTS + 8)
            conn.execute("CHECKPOINT")
            cpu_before = {w.pid: cpu_seconds(w.pid) for w in workers}
            server_before = backend_cpu(conn, side.dbname)
            try:
                batch.submit_s = submit(pgbench, env, dsn, side, tag, n, rate)
                break
            except ServerFull as exc:
                # What one client submitted before the other failed runs, under its
                # own tag, before the batch starts again.
                print(f"bench: {name}: {exc}; again (attempt {attempt + 1})", flush=True)
                deadline = time.monotonic() + BATCH_TIMEOUT
                while side.pending(conn, tag) and time.monotonic() < deadline:
                    time.sleep(0.1)
        else:
            raise SystemExit(f"bench: {name}: the server had no free connection three times")
        deadline = time.monotonic() + BATCH_TIMEOUT
        while side.pending(conn, tag) and time.monotonic() < deadline:
            time.sleep(0.1)
        worker_cpu = sum(cpu_seconds(w.pid) - cpu_before[w.pid] for w in workers)
        server_after = backend_cpu(conn, side.dbname)
        server_cpu = sum(cpu - server_before.get(pid, 0.0) for pid, cpu in server_after.items())
        rows = side.figures(conn, tag)
    finished = [r for r in rows if r[3] is not None]
    batch.succeeded = len(finished)
    if rows and finished:
        batch.span_s = max(r[3] for r in finished) - min(r[0] for r in rows)
    dequeued = sorted((r[1] - r[0]) * 1000 for r in rows if r[1] is not None)
    running = sorted((r[2] - r[0]) * 1000 for r in rows if r[2] is not None)
    batch.deq_p50_ms = percentile(dequeued, 0.50)
    batch.p50_ms = percentile(running, 0.50)
    batch.p99_ms = percentile(running, 0.99)
    batch.worker_cpu_ms = worker_cpu * 1000 / n
    batch.server_cpu_ms = server_cpu * 1000 / n
    if batch.succeeded != n:
        print(f"bench: {name}: only {batch.succeeded} of {n} finished", flush=True)
    return batch


def idle_cpu(
    dsn: str, side: Side, workers: list[Proc], seconds: float = 3.0
) -> tuple[float, float]:
    """CPU % of one core the idle worker(s) and their backends use: the queue polling."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        before = {w.pid: cpu_seconds(w.pid) for w in workers}
        server_before = backend_cpu(conn, side.dbname)
        time.sleep(seconds)
        worker = sum(cpu_seconds(w.pid) - before[w.pid] for w in workers)
        server_after = backend_cpu(conn, side.dbname)
        server = sum(cpu - server_before.get(pid, 0.0) for pid, cpu in server_after.items())
    return 100 * worker / seconds, 100 * server / seconds


def run_side(
    pgbench: str,
    env: dict[str, str],
    dsn: str,
    side: Side,
    workers: list[Proc],
    prefix: str,
    label: str,
    report: Report,
) -> None:
    for w in workers:
        w.start()
    try:
        print(
            f"bench: {prefix}: warm-up {WARMUP}, idle 3 s, burst {report.n}, open loops "
            f"{report.open_n} at {report.rate:g}/s and {report.slow_n} at {report.slow_rate:g}/s",
            flush=True,
        )
        run_batch(pgbench, env, dsn, side, workers, f"{prefix}-warmup", label, WARMUP)
        report.idle[prefix] = idle_cpu(dsn, side, workers)
        for name, what, n, rate in (
            ("burst", "burst", report.n, None),
            ("open", f"{report.rate:g}/s open loop", report.open_n, report.rate),
            ("slow", f"{report.slow_rate:g}/s open loop", report.slow_n, report.slow_rate),
        ):
            batch = run_batch(
                pgbench, env, dsn, side, workers, f"{prefix}-{name}", f"{label}, {what}", n, rate
            )
            report.batches[batch.name] = batch
    finally:
        for w in workers:
            w.stop()


def run(admin_dsn: str, pgbench: str, env: dict[str, str]) -> Report:
    """Both sides, one worker, then Concord with two; answers the figures."""
    report = Report(
        queue={},
        n=int(os.environ.get("BENCH_RUNTIME_N", "1200")),
        rate=float(os.environ.get("BENCH_RUNTIME_RATE", "100")),
        open_n=int(os.environ.get("BENCH_RUNTIME_OPEN_N", "200")),
        slow_rate=float(os.environ.get("BENCH_RUNTIME_SLOW_RATE", "20")),
        slow_n=int(os.environ.get("BENCH_RUNTIME_SLOW_N", "60")),
    )
    rt_dsn = make_conninfo(admin_dsn, dbname=RT_DB)
    bare_dsn = make_conninfo(admin_dsn, dbname=BARE_DB)
    try:
        print(f"bench: runtime: creating {RT_DB} and {BARE_DB}, installing Concord", flush=True)
        recreate(admin_dsn, RT_DB)
        recreate(admin_dsn, BARE_DB)
        report.queue = queue = setup_concord(rt_dsn)
        report.load_before = os.getloadavg()[0]
        concord, bare = ConcordSide(), BareSide()
        run_side(
            pgbench,
            env,
            rt_dsn,
            concord,
            [concord_worker(rt_dsn, "bench-w1")],
            "concord1",
            "concord, 1 worker",
            report,
        )
        run_side(
            pgbench,
            env,
            bare_dsn,
            bare,
            [bare_worker(bare_dsn, "bare-w1", queue)],
            "bare1",
            "bare DBOS, 1 worker",
            report,
        )
        run_side(
            pgbench,
            env,
            rt_dsn,
            concord,
            [concord_worker(rt_dsn, "bench-w1"), concord_worker(rt_dsn, "bench-w2")],
            "concord2",
            "concord, 2 workers",
            report,
        )
    finally:
        drop(admin_dsn, RT_DB)
        drop(admin_dsn, BARE_DB)
    return report


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def _mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_report(report: Report) -> None:
    q = report.queue
    b = report.batches
    print()
    print("Runtime settings")
    print(
        f"  queue          {QUEUE}: worker_concurrency {q['worker_concurrency']}, "
        f"polling_interval_sec {q['polling_interval_sec']:g} (the same for bare DBOS)"
    )
    print(
        "  workflow       2 DBOS steps (claim, finish): Concord runtime_claim/runtime_finish "
        f"for {COMMAND_TYPE}; bare DBOS one single-row INSERT / UPDATE each"
    )
    print(
        f"  submit         pgbench -M prepared, {CLIENTS} clients, one submit_command or "
        "dbos.enqueue_workflow per transaction, while the workers run"
    )
    print(
        f"  batches        after a warm-up of {WARMUP}: burst {report.n} (as fast as the "
        f"clients go), open loops {report.open_n} at {report.rate:g}/s and {report.slow_n} at "
        f"{report.slow_rate:g}/s (pgbench -R)"
    )
    print(
        "  workers        concord worker --no-schedules, executor ids "
        "bench-w1[, bench-w2]; bench/bare_dbos_worker.py"
    )
    print(
        f"  cpu cores      {os.cpu_count()}, load average {report.load_before:.2f} before the runs"
    )
    print()
    header = (
        f"{'run':<15} {'what':<35} {'wf/s':>6} {'sub/s':>6} {'deq50':>6} {'p50 ms':>7}"
        f" {'p99 ms':>7} {'done':>5} {'worker':>6} {'server':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in b.values():
        print(
            f"{r.name:<15} {r.label:<35} {r.throughput:>6.1f} {r.submit_rate:>6.0f}"
            f" {r.deq_p50_ms:>6.1f} {r.p50_ms:>7.1f} {r.p99_ms:>7.1f} {r.succeeded:>5}"
            f" {r.worker_cpu_ms:>6.2f} {r.server_cpu_ms:>6.2f}"
        )
    print(
        "wf/s: N / (first submit -> last finish); sub/s: the submitting clients' rate; "
        "deq50: p50 submit ->\nDBOS dequeue; p50/p99: submit -> running; worker/server: CPU ms "
        "per workflow of the worker\nprocess(es) and of their database backends."
    )
    print(
        "idle (queue polling only), CPU % of one core, worker + its backends: "
        + ", ".join(f"{k} {w:.0f}% + {s:.0f}%" for k, (w, s) in report.idle.items())
    )
    print()
    bare_tp = b["bare1-burst"].throughput
    ratio1 = b["concord1-burst"].throughput / bare_tp if bare_tp else math.nan
    ratio2 = b["concord2-burst"].throughput / bare_tp if bare_tp else math.nan
    print(
        f"a/b  concord / bare DBOS throughput, 1 worker = {ratio1:.2f}   "
        f"({_mark(ratio1 >= THROUGHPUT_TARGET)}, target >= {THROUGHPUT_TARGET:.2f})"
    )
    print(f"     concord 2 workers / bare DBOS 1 worker  = {ratio2:.2f}")
    for prefix, what in (("concord1", "1 worker "), ("concord2", "2 workers")):
        p50 = b[f"{prefix}-open"].p50_ms
        print(
            f"c    submit -> running p50, concord {what} at {report.rate:g}/s = {p50:.1f} ms   "
            f"({_mark(p50 <= LATENCY_TARGET_MS)}, target <= {LATENCY_TARGET_MS:.0f} ms); "
            f"at {report.slow_rate:g}/s {b[f'{prefix}-slow'].p50_ms:.1f} ms, "
            f"burst {b[f'{prefix}-burst'].p50_ms:.1f} ms"
        )
    print(
        f"     submit -> running p50, bare DBOS 1 worker at {report.rate:g}/s = "
        f"{b['bare1-open'].p50_ms:.1f} ms; at {report.slow_rate:g}/s "
        f"{b['bare1-slow'].p50_ms:.1f} ms, burst {b['bare1-burst'].p50_ms:.1f} ms"
    )


def main() -> int:
    # agents_bench first: run_bench imports it, and it reads run_bench.CLIENTS at import,
    # which a partially imported run_bench (imported first from here) does not have yet.
    import agents_bench  # noqa: F401
    from run_bench import find_pgbench, pgbench_env, server_facts

    admin_dsn = os.environ.get("CONCORD_DSN")
    if not admin_dsn:
        raise SystemExit("bench: set CONCORD_DSN to a superuser DSN of a throwaway cluster")
    facts = server_facts(admin_dsn)
    pgbench = find_pgbench(facts["server_version_num"])
    env = pgbench_env({k: str(v) for k, v in conninfo_to_dict(admin_dsn).items()})
    print_report(run(admin_dsn, pgbench, env))
    return 0


if __name__ == "__main__":
    sys.exit(main())
