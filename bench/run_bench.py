"""Concord benchmark: what does the contract of submit_command cost over raw inserts?

Run by ``make bench`` with CONCORD_DSN set to a superuser DSN of a throwaway cluster.
Creates the database ``concord_bench`` (dropped first if it exists, and again at the end),
installs Concord into it, and runs pgbench three times with the same settings:

  (a) submit    concord.submit_command with a fresh idempotency key per transaction
  (b) baseline  one command row and one event row into plain tables (schema ``bench``)
  (c) replay    submit_command with a key that already exists (idempotent replay)
  (d) governed  submit_command of a type with three policies that all allow

Before the runs every table gets PRELOAD commands and statistics (see ``preload``).
Prints TPS and p50/p99 latency per scenario and the ratios a/b, c/b and d/a. Asserts nothing:
a benchmark is not a test. Environment: BENCH_SECONDS (default 15) per run.

Then the profile of one submit, plain and governed (``submit_profile.py``: self time per
function, grouped into the parts of the submit path, rows written per table and what each
table's indexes cost per row). Then the kernel scenarios again on the same database with
fsync, synchronous_commit and full_page_writes on (set with ALTER SYSTEM and a reload, reset
afterwards), and both runs' ratios side by side; BENCH_DURABLE=0 skips that second run.

Then the agents benchmark (``agents_bench.py``, a database of its own): submit_agent_action
against plain submit_command, and spawn cost at depth 1 and at max_depth; BENCH_AGENTS=0
skips it. Then the runtime benchmark (``runtime_bench.py``, databases of its own): trivial
commands run by ``concord worker`` against the same workflow in bare DBOS; BENCH_RUNTIME=0
skips it. Then the registry benchmark (``registry_bench.py``, databases of its own): contract
resolution next to a submit (and the submit of the code before the registry), and resolution
and impact at 10 and at 10,000 registered entities; BENCH_REGISTRY=0 skips it. Then the REST
benchmark (``rest_bench.py``, a database of its own): submit over HTTP against the same
submit over SQL, latency and throughput; BENCH_REST=0 skips it.
See bench/README.md for how to read the figures.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb

import agents_bench
import registry_bench
import rest_bench
import runtime_bench
import submit_profile
from concord.migrate import migrate

HERE = Path(__file__).resolve().parent
BENCH_DB = "concord_bench"
COMMAND_TYPE = "bench_ping"
REPLAY_KEY = "bench-replay"  # no colon: pgbench reads ":name" as a variable, even in quotes
CLIENTS = 2
THREADS = 2
# submit / raw INSERT baseline (issue 16): with durability off, and with fsync and
# synchronous_commit on
TARGET_RATIO = 0.35
DURABLE_TARGET_RATIO = 0.70
GOVERNED_TARGET_RATIO = 0.85  # governed submit / plain submit (issue 16)
GOVERNED_TYPE = "bench_governed"
PRICE_POLICY = {
    "name": "bench_price_limit",
    "description": "Benchmark: a price above the limit needs approval (never in the bench).",
    "predicate": "$.payload.n > $limit",
    "vars": {"limit": 1000000},
    "decision": "require_approval",
    "reasons": ["n above the limit"],
    "approval_type": "standard",
}
PRELOAD = 5000  # commands in every table before the first run (see preload)

COMMAND_TYPE_SPEC = {
    "command_type": COMMAND_TYPE,
    "name": "Benchmark ping",
    "description": "A small asynchronous command used by bench/run_bench.py.",
    "ingress_types": ["api"],
    "required_inputs": ["n"],
    "async_required": True,
    "payload_schema": {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 0}},
        "required": ["n"],
        "additionalProperties": False,
    },
}

# Plain tables with the columns (types, NOT NULL, defaults, identity) of the kernel's
# tables, and nothing else: no checks, no foreign keys, no triggers, no secondary index.
BASELINE_DDL = """
CREATE SCHEMA bench;
CREATE TABLE bench.commands (
    LIKE concord.commands INCLUDING DEFAULTS,
    PRIMARY KEY (command_id)
);
CREATE TABLE bench.events (
    LIKE concord.domain_events INCLUDING DEFAULTS INCLUDING IDENTITY,
    PRIMARY KEY (event_id)
);
"""

SCENARIOS = [
    ("submit", "submit.sql", "concord.submit_command, fresh key"),
    ("governed", "governed.sql", "submit_command, 3 policies allow"),
    ("baseline", "baseline.sql", "raw INSERT command + event"),
    ("replay", "replay.sql", "submit_command, existing key"),
    ("token", "submit_token.sql", "authenticate(token) + submit"),
    ("login", "submit_login.sql", "submit as a mapped login"),
    ("batch", "batch.sql", "submit_commands, 100 per call"),
    ("batch_base", "baseline_batch.sql", "raw INSERT 100 commands + events"),
]
BATCH_SIZE = 100

# The settings a durable server runs with; the throwaway cluster turns them off.
DURABLE_SETTINGS = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
# The statements the profile times, a fresh key each (%s).
PROFILED = [
    (f"plain submit ({COMMAND_TYPE})",
     f"SELECT * FROM concord.submit_command('{COMMAND_TYPE}', '{{\"n\": 1}}', 'bench', 'api', "
     "'{}', %s)"),
    (f"governed submit ({GOVERNED_TYPE}, 3 policies allow)",
     f"SELECT * FROM concord.submit_command('{GOVERNED_TYPE}', '{{\"n\": 1}}', 'bench', 'api', "
     "'{}', %s)"),
]

# The principal the identity scenarios act as, and the login mapped to it.
BENCH_PRINCIPAL = "bench"
BENCH_LOGIN = "concord_bench_login"


@dataclass
class Result:
    name: str
    label: str
    tps: float
    transactions: int
    failed: int
    p50_ms: float
    p99_ms: float


def percentile(sorted_values: list[int], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return float(sorted_values[rank - 1])


def read_latencies(log_dir: Path, prefix: str) -> tuple[list[int], int]:
    """Per-transaction latencies (µs) from pgbench --log files ``prefix.<pid>[.<thread>]``:
    the third column of each line. Lines whose latency is not a number (``failed``,
    ``skipped``) are counted apart."""
    latencies: list[int] = []
    not_timed = 0
    for path in sorted(log_dir.glob(f"{prefix}.*")):
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) < 3:
                continue
            if fields[2].isdigit():
                latencies.append(int(fields[2]))
            else:
                not_timed += 1
    latencies.sort()
    return latencies, not_timed


def pgbench_args(pgbench: str, conninfo: dict[str, str], seconds: int) -> list[str]:
    args = [pgbench, "-n", "-M", "prepared", "-c", str(CLIENTS), "-j", str(THREADS)]
    args += ["-T", str(seconds)]
    for option, key in (("-h", "host"), ("-p", "port"), ("-U", "user")):
        if conninfo.get(key):
            args += [option, conninfo[key]]
    return args


def pgbench_env(conninfo: dict[str, str]) -> dict[str, str]:
    """Connection parameters pgbench has no option for go through libpq's variables."""
    env = dict(os.environ)
    for key, var in (
        ("password", "PGPASSWORD"),
        ("sslmode", "PGSSLMODE"),
        ("hostaddr", "PGHOSTADDR"),
        ("passfile", "PGPASSFILE"),
    ):
        if conninfo.get(key):
            env[var] = conninfo[key]
    return env


def run_scenario(
    name: str,
    script: str,
    label: str,
    base_args: list[str],
    env: dict[str, str],
    dbname: str,
    log_dir: Path,
    extra_args: tuple[str, ...] = (),
) -> Result:
    args = base_args + list(extra_args) + [
        "-f",
        str(HERE / script),
        "--log",
        f"--log-prefix={log_dir / name}",
        dbname,
    ]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"bench: pgbench failed on {script} (exit {proc.returncode})")
    tps_match = re.search(r"^tps = ([0-9.]+)", proc.stdout, re.MULTILINE)
    failed_match = re.search(r"^number of failed transactions: (\d+)", proc.stdout, re.MULTILINE)
    latencies, not_timed = read_latencies(log_dir, name)
    return Result(
        name=name,
        label=label,
        tps=float(tps_match.group(1)) if tps_match else math.nan,
        transactions=len(latencies),
        failed=int(failed_match.group(1)) if failed_match else not_timed,
        p50_ms=percentile(latencies, 0.50) / 1000,
        p99_ms=percentile(latencies, 0.99) / 1000,
    )


def setup(admin_dsn: str, bench_dsn: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))
    migrate(bench_dsn)
    with psycopg.connect(bench_dsn, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute(
            "SELECT concord.register_command_type(%s::jsonb)",
            (Jsonb(COMMAND_TYPE_SPEC),),
        )
        conn.execute("SELECT concord.register_policy(%s::jsonb)", (Jsonb(PRICE_POLICY),))
        conn.execute(
            "SELECT concord.register_command_type(%s::jsonb)",
            (
                Jsonb(
                    COMMAND_TYPE_SPEC
                    | {
                        "command_type": GOVERNED_TYPE,
                        "name": "Benchmark governed ping",
                        "policy_checks": ["permission", "risk", PRICE_POLICY["name"]],
                    }
                ),
            ),
        )
        conn.execute("SELECT concord.grant_command_type(%s, 'bench')", (GOVERNED_TYPE,))
        conn.execute(BASELINE_DDL)
        row = conn.execute(
            "SELECT status, created FROM concord.submit_command(%s, '{\"n\": 1}', 'bench', "
            "'api', '{}', %s)",
            (COMMAND_TYPE, REPLAY_KEY),
        ).fetchone()
        if row is None or row[0] != "queued":
            raise SystemExit(f"bench: the replay command was not queued: {row}")
        row = conn.execute(
            "SELECT status FROM concord.submit_command(%s, '{\"n\": 1}', 'bench')",
            (GOVERNED_TYPE,),
        ).fetchone()
        if row is None or row[0] != "queued":
            raise SystemExit(f"bench: the governed command was not allowed and queued: {row}")
        preload(conn)


def identity_setup(bench_dsn: str) -> str:
    """Make BENCH_PRINCIPAL a member of the default project, map BENCH_LOGIN (a concord_app
    login) to it, and return an API token of it."""
    with psycopg.connect(bench_dsn, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute("SELECT concord.create_principal(%s)", (BENCH_PRINCIPAL,))
        conn.execute("SELECT concord.add_member('default', %s, 'member')", (BENCH_PRINCIPAL,))
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (BENCH_LOGIN,)).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE concord_app").format(
                sql.Identifier(BENCH_LOGIN)))
        conn.execute("SELECT concord.map_login(%s, %s)", (BENCH_LOGIN, BENCH_PRINCIPAL))
        row = conn.execute(
            "SELECT token FROM concord.create_api_token(%s, interval '1 day')", (BENCH_PRINCIPAL,)
        ).fetchone()
        assert row is not None
        return row[0]


def preload(conn: psycopg.Connection) -> None:
    """Give every table PRELOAD commands (and their events), then VACUUM ANALYZE.

    Measuring from empty tables would measure an artefact: a session that caches a
    generic plan while a table holds a row or two keeps its sequential scan as the
    table grows (PL/pgSQL statements and the foreign key checks alike), so each
    submit gets slower until autovacuum's next ANALYZE. Statistics taken over a few
    thousand rows make the plans the ones a running system has."""
    conn.execute(
        "SELECT count(*) FROM generate_series(1, %s) AS g, "
        "concord.submit_command(%s, jsonb_build_object('n', g), 'bench', 'api', '{}', "
        "'preload-' || g)",
        (PRELOAD, COMMAND_TYPE),
    )
    conn.execute(
        "SELECT count(*) FROM generate_series(1, %s) AS g, "
        "concord.submit_command(%s, jsonb_build_object('n', g), 'bench', 'api', '{}', "
        "'preload-governed-' || g)",
        (PRELOAD, GOVERNED_TYPE),
    )
    conn.execute("INSERT INTO bench.commands SELECT * FROM concord.commands")
    columns = sql.SQL(", ").join(
        sql.Identifier(name)
        for (name,) in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'bench.events'::regclass "
            "AND attnum > 0 AND NOT attisdropped AND attidentity = '' ORDER BY attnum"
        )
    )
    conn.execute(
        sql.SQL(
            "INSERT INTO bench.events ({cols}) SELECT {cols} FROM concord.domain_events "
            "WHERE event_type = 'command_created'"
        ).format(cols=columns)
    )
    conn.execute("VACUUM ANALYZE")


def drop_bench_db(admin_dsn: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB))
        )


def server_facts(dsn: str) -> dict[str, str]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        facts = {}
        for setting in (
            "server_version",
            "server_version_num",
            "fsync",
            "synchronous_commit",
            "shared_buffers",
        ):
            facts[setting] = conn.execute("SELECT current_setting(%s)", (setting,)).fetchone()[0]
    return facts


def find_pgbench(server_version_num: str) -> str:
    major = int(server_version_num) // 10000
    path = Path(f"/usr/lib/postgresql/{major}/bin/pgbench")
    if not path.is_file():
        raise SystemExit(
            f"bench: {path} is missing: install the client of PostgreSQL {major} "
            f"(postgresql-client-{major} or postgresql-{major})"
        )
    return str(path)


def checkpoint(dsn: str) -> None:
    """Start each run from the same place: no dirty buffers left by the previous one."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def table_counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return {
            table: conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*table.split(".")))
            ).fetchone()[0]
            for table in (
                "concord.commands",
                "concord.domain_events",
                "concord.policy_decisions",
                "bench.commands",
                "bench.events",
            )
        }


def print_report(
    results: dict[str, Result],
    facts: dict[str, str],
    seconds: int,
    counts: dict[str, int],
    pgbench: str,
    load_before: float,
) -> None:
    print()
    print("Settings")
    print(f"  server         PostgreSQL {facts['server_version']}")
    print(
        f"  fsync          {facts['fsync']}  (synchronous_commit {facts['synchronous_commit']},"
        f" shared_buffers {facts['shared_buffers']})"
    )
    print(f"  pgbench        {pgbench} -n -M prepared")
    print(f"  clients        {CLIENTS}, threads {THREADS}, {seconds} s per scenario")
    print(f"  cpu cores      {os.cpu_count()}, load average {load_before:.2f} before the runs")
    print()
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
    base = results["baseline"].tps
    submit_ratio = results["submit"].tps / base if base else math.nan
    replay_ratio = results["replay"].tps / base if base else math.nan
    print()
    target = DURABLE_TARGET_RATIO if facts["fsync"] == "on" else TARGET_RATIO
    verdict = "meets" if submit_ratio >= target else "BELOW"
    print(
        f"a/b  submit / baseline TPS = {submit_ratio:.2f}   "
        f"({verdict} the target of {target:.2f} with fsync {facts['fsync']})"
    )
    print(f"c/b  replay / baseline TPS = {replay_ratio:.2f}")
    plain = results["submit"].tps
    governed_ratio = results["governed"].tps / plain if plain else math.nan
    verdict = "meets" if governed_ratio >= GOVERNED_TARGET_RATIO else "BELOW"
    print(
        f"d/a  governed / plain submit TPS = {governed_ratio:.2f}   "
        f"({verdict} the target of {GOVERNED_TARGET_RATIO:.2f})"
    )
    token_ratio = results["token"].tps / plain if plain else math.nan
    login_ratio = results["login"].tps / plain if plain else math.nan
    print(f"e/a  token-authenticated / superuser-asserted submit TPS = {token_ratio:.2f}")
    print(f"f/a  login-authenticated / superuser-asserted submit TPS = {login_ratio:.2f}")
    batch_rate = results["batch"].tps * BATCH_SIZE
    batch_base_rate = results["batch_base"].tps * BATCH_SIZE
    print(
        f"g/h  batch / raw batch INSERT, commands/s = {batch_rate:.0f} / {batch_base_rate:.0f}"
        f" = {batch_rate / batch_base_rate if batch_base_rate else math.nan:.2f}"
        "   (target 0.50)"
    )
    print(
        f"g/a  batch / single submits, commands/s = {batch_rate:.0f} / {plain:.0f}"
        f" = {batch_rate / plain if plain else math.nan:.2f}"
    )
    print()
    print("Rows written: " + ", ".join(f"{t} {n}" for t, n in counts.items()))


def run_kernel(
    bench_dsn: str, base_args: list[str], env: dict[str, str], seconds: int,
    extra: dict[str, tuple[str, ...]],
) -> tuple[dict[str, Result], float]:
    """Every kernel scenario once; the results and the load average before them."""
    results: dict[str, Result] = {}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="concord-bench-") as tmp:
        for name, script, label in SCENARIOS:
            checkpoint(bench_dsn)
            print(f"bench: {name} ({script}) for {seconds} s", flush=True)
            results[name] = run_scenario(
                name, script, label, base_args, env, BENCH_DB, Path(tmp), extra.get(name, ())
            )
    return results, load_before


@contextmanager
def durable(admin_dsn: str) -> Iterator[None]:
    """The server with fsync, synchronous_commit and full_page_writes on (all three take
    effect at a reload), as it was again afterwards."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        before = {
            name: conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0]
            for name in DURABLE_SETTINGS
        }
        changed = [name for name, value in DURABLE_SETTINGS.items() if before[name] != value]
        for name in changed:
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(
                sql.Identifier(name), sql.Literal(DURABLE_SETTINGS[name])))
        conn.execute("SELECT pg_reload_conf()")
    try:
        yield
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            for name in changed:
                conn.execute(sql.SQL("ALTER SYSTEM RESET {}").format(sql.Identifier(name)))
            conn.execute("SELECT pg_reload_conf()")


def print_durability_summary(runs: dict[str, dict[str, Result]]) -> None:
    print()
    print("Both durability settings (same database, same scenarios)")
    header = f"{'ratio':<44}" + "".join(f"{label:>24}" for label in runs)
    print(header)
    print("-" * len(header))
    rows = [
        ("a/b submit / raw INSERT baseline", "submit", "baseline", 1),
        ("d/a governed / plain submit", "governed", "submit", 1),
        ("g/h batch / raw batch INSERT (commands/s)", "batch", "batch_base", 1),
        ("g/a batch / single submits (commands/s)", "batch", "submit", BATCH_SIZE),
    ]
    for label, top, bottom, scale in rows:
        cells = []
        for results in runs.values():
            base = results[bottom].tps
            cells.append(results[top].tps * scale / base if base else math.nan)
        print(f"{label:<44}" + "".join(f"{c:>24.2f}" for c in cells))
    for name in ("submit", "baseline", "governed"):
        print(f"{name + ' TPS':<44}" + "".join(f"{r[name].tps:>24.1f}" for r in runs.values()))


def main() -> int:
    admin_dsn = os.environ.get("CONCORD_DSN")
    if not admin_dsn:
        raise SystemExit("bench: set CONCORD_DSN to a superuser DSN of a throwaway cluster")
    seconds = int(os.environ.get("BENCH_SECONDS", "15"))
    bench_dsn = make_conninfo(admin_dsn, dbname=BENCH_DB)
    conninfo = {k: str(v) for k, v in conninfo_to_dict(bench_dsn).items()}

    facts = server_facts(admin_dsn)
    pgbench = find_pgbench(facts["server_version_num"])
    try:
        print(f"bench: creating {BENCH_DB}, installing Concord, preloading", flush=True)
        setup(admin_dsn, bench_dsn)
        base_args = pgbench_args(pgbench, conninfo, seconds)
        env = pgbench_env(conninfo)
        token = identity_setup(bench_dsn)
        extra = {"token": ("-D", f"token={token}"), "login": ("-U", BENCH_LOGIN)}
        results, load_before = run_kernel(bench_dsn, base_args, env, seconds, extra)
        counts = table_counts(bench_dsn)
        print_report(results, facts, seconds, counts, pgbench, load_before)
        for label, statement in PROFILED:
            print(flush=True)
            submit_profile.print_profile(bench_dsn, statement, label)
        runs = {f"fsync {facts['fsync']}, sync {facts['synchronous_commit']}": results}
        if os.environ.get("BENCH_DURABLE", "1") != "0":
            print(flush=True)
            print("bench: again with fsync, synchronous_commit and full_page_writes on",
                  flush=True)
            with durable(admin_dsn):
                durable_facts = server_facts(admin_dsn)
                durable_results, load_before = run_kernel(
                    bench_dsn, base_args, env, seconds, extra)
                print_report(durable_results, durable_facts, seconds, table_counts(bench_dsn),
                             pgbench, load_before)
            runs[f"fsync {durable_facts['fsync']}, sync {durable_facts['synchronous_commit']}"] = (
                durable_results)
            print_durability_summary(runs)
    finally:
        drop_bench_db(admin_dsn)
    if os.environ.get("BENCH_AGENTS", "1") != "0":
        print(flush=True)
        agents_bench.print_report(agents_bench.run(admin_dsn, pgbench, pgbench_env(conninfo)))
    if os.environ.get("BENCH_RUNTIME", "1") != "0":
        print(flush=True)
        runtime_bench.print_report(runtime_bench.run(admin_dsn, pgbench, pgbench_env(conninfo)))
    if os.environ.get("BENCH_REGISTRY", "1") != "0":
        print(flush=True)
        registry_bench.print_report(registry_bench.run(admin_dsn))
    if os.environ.get("BENCH_REST", "1") != "0":
        print(flush=True)
        rest_bench.print_report(rest_bench.run(admin_dsn))
    return 0


if __name__ == "__main__":
    sys.exit(main())
