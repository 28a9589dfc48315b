"""REST benchmark (issue 15, the ``make bench`` bullet): what the HTTP API adds to a submit.

Called by ``bench/run_bench.py`` after its other benchmarks; runnable alone with CONCORD_DSN
set (a superuser DSN). A database of its own, ``concord_bench_rest``, dropped first and at
the end. One principal, a member of its organisation, submits an asynchronous command with
a fresh idempotency key each time, acting through an API token, two ways in the same run:

  sql   Client(login, token=...).submit_command: one SQL call per transaction, the token
        presented in it (what a Python service does)
  rest  POST /commands to ``concord api`` (uvicorn, one process) on 127.0.0.1, keep-alive
        (what any HTTP client does); the server runs the same SQL call

Latency: ms per call on one connection, the median and p99 of ROUNDS rounds of CALLS calls,
the two ways alternating so that load on the machine hits them alike. Throughput: commands
per second with THREADS callers for SECONDS each. Prints figures and the ratios rest/sql;
asserts nothing. Environment: BENCH_REST_CALLS (default 300), BENCH_REST_SECONDS (default
5), BENCH_REST_THREADS (default 4); BENCH_REST=0 in run_bench.py skips it.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

import httpx
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from concord import Client
from concord.migrate import migrate

REST_DB = "concord_bench_rest"
ROUNDS = 3
ORG = "bench-rest"
MEMBER = "bench-rest-member"
LOGIN = "concord_bench_rest_login"
COMMAND_TYPE = "bench_rest_ping"


def setup(admin_dsn: str) -> tuple[str, str]:
    """The database, organisation, member, API login and command type; returns the login's
    DSN and the member's token."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(REST_DB))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(REST_DB)))
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (LOGIN,)).fetchone():
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN IN ROLE concord_app, concord_approver").format(
                    sql.Identifier(LOGIN)
                )
            )
    dsn = make_conninfo(admin_dsn, dbname=REST_DB)
    migrate(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT concord.create_organisation(%s)", (ORG,))
        conn.execute("SELECT concord.create_project(%s, 'main')", (ORG,))
        conn.execute("SELECT concord.create_principal(%s)", (MEMBER,))
        conn.execute("SELECT concord.add_member(%s, %s, 'member')", (ORG, MEMBER))
        conn.execute(
            "SELECT concord.register_command_type(%s)",
            (
                psycopg.types.json.Jsonb(
                    {"command_type": COMMAND_TYPE, "async_required": True, "payload_schema": {}}
                ),
            ),
        )
        (token,) = conn.execute(
            "SELECT token FROM concord.create_api_token(%s, %s)", (MEMBER, timedelta(days=1))
        ).fetchone()
    return make_conninfo(dsn, user=LOGIN), token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def latency(call: Callable[[], None], calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def throughput(make_call: Callable[[], Callable[[], None]], threads: int, seconds: float) -> float:
    done = [0] * threads
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        call = make_call()
        while time.monotonic() < stop:
            call()
            done[i] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(done) / seconds


def run(admin_dsn: str) -> dict[str, float]:
    calls = int(os.environ.get("BENCH_REST_CALLS", "300"))
    seconds = float(os.environ.get("BENCH_REST_SECONDS", "5"))
    threads = int(os.environ.get("BENCH_REST_THREADS", "4"))
    login_dsn, token = setup(admin_dsn)
    port = free_port()
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "concord",
            "api",
            "--dsn",
            login_dsn,
            "--port",
            str(port),
            "--pool-size",
            str(threads + 2),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "CONCORD_WEBHOOKS": ""},
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("bench: concord api did not become ready")
            time.sleep(0.1)

        def sql_caller() -> Callable[[], None]:
            client = Client(login_dsn, token=token, min_size=1, max_size=1)

            def call() -> None:
                client.submit_command(COMMAND_TYPE, {}, idempotency_key=str(uuid.uuid4()))

            return call

        def rest_caller() -> Callable[[], None]:
            http = httpx.Client(base_url=base, headers=headers, timeout=30)

            def call() -> None:
                answer = http.post(
                    "/commands",
                    json={"command_type": COMMAND_TYPE, "payload": {}},
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                )
                if answer.status_code != 201:
                    raise SystemExit(f"bench: POST /commands answered {answer.status_code}")

            return call

        print(f"bench: rest latency, {ROUNDS} x {calls} calls each way", flush=True)
        samples: dict[str, list[float]] = {"sql": [], "rest": []}
        callers = {"sql": sql_caller(), "rest": rest_caller()}
        for _ in range(ROUNDS):
            for name, call in callers.items():
                samples[name] += latency(call, calls)
        print(f"bench: rest throughput, {threads} callers for {seconds} s each way", flush=True)
        figures = {
            f"{name} {stat}": value
            for name, values in samples.items()
            for stat, value in (
                ("p50", statistics.median(values)),
                ("p99", statistics.quantiles(values, n=100)[98]),
            )
        }
        figures["sql tps"] = throughput(sql_caller, threads, seconds)
        figures["rest tps"] = throughput(rest_caller, threads, seconds)
        return figures
    finally:
        server.terminate()
        server.wait(timeout=10)
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(REST_DB))
            )
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(LOGIN)))


def print_report(f: dict[str, float]) -> None:
    print()
    print("REST API: submit over HTTP against the same submit over SQL (same run, same token)")
    print(f"  {'':<6} {'p50 ms':>8} {'p99 ms':>8} {'commands/s':>11}")
    for name in ("sql", "rest"):
        p50, p99, tps = f[name + " p50"], f[name + " p99"], f[name + " tps"]
        print(f"  {name:<6} {p50:>8.3f} {p99:>8.3f} {tps:>11.1f}")
    print(
        f"  rest/sql: p50 x{f['rest p50'] / f['sql p50']:.2f}, "
        f"p99 x{f['rest p99'] / f['sql p99']:.2f}, throughput x{f['rest tps'] / f['sql tps']:.2f}"
    )


def main() -> int:
    admin_dsn = os.environ.get("CONCORD_DSN")
    if not admin_dsn:
        print("bench: CONCORD_DSN is not set", file=sys.stderr)
        return 2
    print_report(run(admin_dsn))
    return 0


if __name__ == "__main__":
    sys.exit(main())
