"""Registry benchmark (issue 14, the ``make bench`` bullet): what the Domain Registry costs.

Called by ``bench/run_bench.py`` after its other benchmarks; runnable alone with
CONCORD_DSN set (a superuser DSN). A database of its own, ``concord_bench_registry``,
dropped first and at the end. Every figure is ms per call on one connection, one call per
transaction, the median of ROUNDS rounds of CALLS calls, the scenarios of a round
alternating so that load on the machine hits them alike.

  (a) resolution next to submit
      submit        concord.submit_command of a small asynchronous type (as in run_bench),
                    on this checkout (once the kernel resolves a command's contract at
                    submission, this includes a resolution)
      resolve 1     concord._registry_resolve of a command type with one global binding
      resolve 10    the same for a command type with ten bindings, one at each scope; the
                    nine more specific ones do not match the subject, so every candidate
                    is examined before the global one wins
      base submit   the same submit on the code before the registry (commit 1d71732^, a
                    clone in BENCH_BASE, default /work/bench_base, with its own .venv),
                    installed in ``concord_bench_registry_base``: today's submit / that
                    submit is what the registry added to a submit. Skipped (and said so)
                    when the clone is missing.
  (b) scale     resolve 1, resolve 10 and concord.registry_impact of a connector (three
                tools, a skill using them, a role using the skill: seven edges) with
                SMALL and then LARGE other entities in the registry, each a tool with a
                published version, a global binding, an edge to one of a hundred noise
                connectors, and every fourth also a tenant, a user and a team binding;
                printed side by side with their ratio (LARGE / SMALL).
  (c) register  concord.register_command_type with a spec that changed since the last call
                (today: a new version created, validated, published and bound, four governed
                registry commands), next to the same call on the code before the registry
                (base: the catalog row overwritten in place); CALLS / 20 calls a round.

Prints figures and ratios; asserts nothing. Environment: BENCH_REGISTRY_CALLS (default
200) calls per round, BENCH_REGISTRY_LARGE (default 10000), BENCH_BASE; BENCH_REGISTRY=0 in
run_bench.py skips it. Takes about a minute.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb

from concord.migrate import migrate

REGISTRY_DB = "concord_bench_registry"
BASE_DB = "concord_bench_registry_base"
ROUNDS = 5
SMALL = 10
NOISE_CONNECTORS = 100
SUBMIT_TYPE = "bench_ping"
SUBMIT_SPEC = {
    "command_type": SUBMIT_TYPE,
    "name": "Benchmark ping",
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
# Who resolves: a subject with every key, so that every scope has something to compare.
SUBJECT = {
    "user": "bench",
    "teams": ["bench-org/ops"],
    "tenant": "bench-org",
    "app": "bench-org/main",
    "workflow_type": "bench_flow",
    "command_type": "bench_scoped",
    "agent_role": "bench_role",
    "agent_name": "bench_agent",
}
# The ten bindings of bench_scoped: the nine specific ones name someone else.
SCOPED_BINDINGS = [
    ("user", "someone-else"),
    ("team", "bench-org/elsewhere"),
    ("tenant", "other-org"),
    ("workflow_type", "other_flow"),
    ("command_type", "other_type"),
    ("agent_role", "other_role"),
    ("agent_name", "other_agent"),
    ("app", "other-org/main"),
    ("environment", "staging"),
    ("global", "*"),
]

# Bulk registration of tools bench_tool_<lo..hi> (see the module's docstring): rows written
# as the owner, through every trigger (lifecycle guard, frozen versions, binding rules), but
# without the API's per-version JSON Schema check, which would make 10,000 take minutes.
POPULATE = """
CREATE TEMP TABLE new_v ON COMMIT DROP AS
SELECT NULL::uuid AS version_id, NULL::uuid AS entity_id, 0 AS i LIMIT 0;
WITH e AS (
    INSERT INTO concord.registry_entities (entity_type, name, display_name, owner, created_by)
    SELECT @type@, @prefix@ || i, @prefix@ || i, 'bench', 'bench'
    FROM generate_series(@lo@::int, @hi@::int) AS i
    RETURNING entity_id, name
), v AS (
    INSERT INTO concord.registry_versions (entity_id, version, manifest, checksum, created_by)
    SELECT e.entity_id, '1.0.0', m.doc, concord.registry_checksum(m.doc), 'bench'
    FROM e
    -- a version's edges are its manifest's (a_draft_is_validated_only_when_valid)
    CROSS JOIN LATERAL (SELECT jsonb_build_object('name', e.name, 'version', '1.0.0')
        || CASE WHEN @edges@ THEN jsonb_build_object('connector_operations', jsonb_build_array(
               'bench_noise_' || (substring(e.name FROM '[0-9]+$')::int % 100) || '.op'))
           ELSE '{}' END)
        AS m (doc)
    RETURNING version_id, entity_id, manifest
)
INSERT INTO new_v
SELECT v.version_id, v.entity_id, substring(v.manifest ->> 'name' FROM '[0-9]+$')::int FROM v;
INSERT INTO concord.registry_relationships (
    source_version_id, relationship_type, target_entity_type, target_entity_name, target_versions,
    metadata)
SELECT n.version_id, 'invokes_connector_operation', 'connector', 'bench_noise_' || (n.i % 100),
       concord.registry_version_range(NULL), '{"operation": "op"}'
FROM new_v AS n WHERE @edges@;
UPDATE concord.registry_versions AS v SET status = 'validated'
FROM new_v AS n WHERE v.version_id = n.version_id;
UPDATE concord.registry_versions AS v SET status = 'published'
FROM new_v AS n WHERE v.version_id = n.version_id;
INSERT INTO concord.registry_bindings (
    entity_id, version_id, binding_scope, binding_target, created_by)
SELECT n.entity_id, n.version_id, 'global', '*', 'bench' FROM new_v AS n
UNION ALL
SELECT n.entity_id, n.version_id, s.scope, s.target, 'bench'
FROM new_v AS n
CROSS JOIN (VALUES ('tenant', 'bench-org'), ('user', 'someone'), ('team', 'bench-org/ops'))
    AS s (scope, target)
WHERE n.i % 4 = 0;
"""


@dataclass
class Figures:
    ms: dict[str, float] = field(default_factory=dict)


@dataclass
class Report:
    calls: int
    large: int
    now: Figures
    registering: Figures
    small: Figures
    big: Figures
    base_note: str


def register(
    conn: psycopg.Connection, entity_type: str, manifest: dict, bindings: list[tuple[str, str]]
) -> None:
    """An entity with one published version and its bindings, as the operator does it
    inline (the registry's own steps, without a worker)."""
    name, version = manifest["name"], manifest["version"]
    conn.execute(
        "SELECT concord._registry_create_entity(%s, %s, %s, 'bench', NULL, NULL, NULL, 'bench')",
        (entity_type, name, name),
    )
    (version_id,) = conn.execute(
        "SELECT concord._registry_create_version("
        "concord._registry_entity(%s, %s, true), %s, %s, '[]', 'bench')",
        (entity_type, name, version, Jsonb(manifest)),
    ).fetchone()
    conn.execute("SELECT concord._registry_publish(%s, NULL)", (version_id,))
    for scope, target in bindings:
        conn.execute(
            "SELECT concord._registry_bind(%s, %s, %s, NULL, 'pinned', '{}', 'bench')",
            (version_id, scope, target),
        )


def populate(
    conn: psycopg.Connection, entity_type: str, prefix: str, lo: int, hi: int, edges: bool
) -> None:
    script = (
        POPULATE.replace("@type@", sql.quote(entity_type))
        .replace("@prefix@", sql.quote(prefix))
        .replace("@lo@", str(int(lo)))
        .replace("@hi@", str(int(hi)))
        .replace("@edges@", "true" if edges else "false")
    )
    with conn.transaction():
        conn.execute(script)
    conn.execute(
        "ANALYZE concord.registry_entities, concord.registry_versions, "
        "concord.registry_bindings, concord.registry_relationships"
    )


def setup(admin_dsn: str, dsn: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(REGISTRY_DB))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(REGISTRY_DB)))
    migrate(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT concord.register_command_type(%s)", (Jsonb(SUBMIT_SPEC),))
        register(
            conn,
            "command_type",
            {"name": "bench_contract", "version": "1.0.0", "sync_allowed": True},
            [("global", "*")],
        )
        register(
            conn,
            "command_type",
            {"name": "bench_scoped", "version": "1.0.0", "sync_allowed": True},
            SCOPED_BINDINGS,
        )
        # the connector whose impact is measured, and what depends on it
        register(
            conn,
            "connector",
            {
                "name": "bench_hotels",
                "version": "1.0.0",
                "adapter": "http",
                "operations": [{"name": "book", "side_effect": "write"}],
            },
            [("global", "*")],
        )
        for i in (1, 2, 3):
            register(
                conn,
                "tool",
                {
                    "name": f"bench_dep_tool_{i}",
                    "version": "1.0.0",
                    "mode": "sync",
                    "connector_operations": ["bench_hotels.book"],
                },
                [("global", "*")],
            )
        register(
            conn,
            "skill",
            {
                "name": "bench_skill",
                "version": "1.0.0",
                "tools": [{"name": f"bench_dep_tool_{i}"} for i in (1, 2, 3)],
            },
            [("global", "*")],
        )
        register(
            conn,
            "agent_role",
            {"name": "bench_role", "version": "1.0.0", "skills": ["bench_skill"]},
            [("global", "*")],
        )
        populate(conn, "connector", "bench_noise_", 0, NOISE_CONNECTORS - 1, False)
        populate(conn, "tool", "bench_tool_", 1, SMALL, True)
        conn.execute("VACUUM ANALYZE")


def setup_base(admin_dsn: str, base: Path) -> str | None:
    """Installs the code before the registry into BASE_DB with the clone's own Python;
    returns its DSN, or None (and why, on stderr) when the clone is missing."""
    python = base / ".venv" / "bin" / "python"
    if not python.exists():
        print(
            f"bench: no baseline clone with a .venv at {base}: base submit skipped "
            "(git clone <repo> $BENCH_BASE && git -C $BENCH_BASE checkout 1d71732^ && "
            "python3 -m venv $BENCH_BASE/.venv && "
            "$BENCH_BASE/.venv/bin/pip install -e $BENCH_BASE)",
            file=sys.stderr,
        )
        return None
    dsn = make_conninfo(admin_dsn, dbname=BASE_DB)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BASE_DB))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BASE_DB)))
    subprocess.run(
        [
            str(python),
            "-c",
            "import sys; from concord.migrate import migrate; migrate(sys.argv[1])",
            dsn,
        ],
        check=True,
        cwd=base,
        capture_output=True,
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT concord.register_command_type(%s)", (Jsonb(SUBMIT_SPEC),))
    return dsn


def submit(conn: psycopg.Connection) -> None:
    conn.execute("SELECT concord.submit_command(%s, '{\"n\": 1}', 'bench')", (SUBMIT_TYPE,))


def registrar() -> Callable[[psycopg.Connection], None]:
    """register_command_type of SUBMIT_TYPE's spec with a description new at every call."""
    counter = iter(range(1_000_000))

    def call(conn: psycopg.Connection) -> None:
        spec = SUBMIT_SPEC | {"description": f"revision {next(counter)}"}
        conn.execute("SELECT concord.register_command_type(%s)", (Jsonb(spec),))

    return call


def resolver(name: str) -> Callable[[psycopg.Connection], None]:
    def call(conn: psycopg.Connection) -> None:
        (answer,) = conn.execute(
            "SELECT concord._registry_resolve('command_type', %s, %s, NULL, true, '{}')",
            (name, Jsonb(SUBJECT | {"command_type": name})),
        ).fetchone()
        if not answer["resolved"]:
            raise SystemExit(f"bench: {name} did not resolve: {answer}")

    return call


def impact(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        "SELECT * FROM concord.registry_impact('connector', 'bench_hotels')"
    ).fetchall()
    if len(rows) != 7:
        raise SystemExit(f"bench: registry_impact found {len(rows)} dependents, not 7")


def measure(scenarios: dict[str, tuple[psycopg.Connection, Callable]], calls: int) -> Figures:
    """ms per call of each scenario: median over ROUNDS rounds, scenarios alternating."""
    rounds: dict[str, list[float]] = {name: [] for name in scenarios}
    for _ in range(ROUNDS):
        for name, (conn, call) in scenarios.items():
            start = time.perf_counter()
            for _ in range(calls):
                call(conn)
            rounds[name].append((time.perf_counter() - start) * 1000 / calls)
    return Figures({name: statistics.median(values) for name, values in rounds.items()})


def drop(admin_dsn: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        for db in (REGISTRY_DB, BASE_DB):
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db))
            )


def run(admin_dsn: str) -> Report:
    calls = int(os.environ.get("BENCH_REGISTRY_CALLS", "200"))
    large = int(os.environ.get("BENCH_REGISTRY_LARGE", "10000"))
    base = Path(os.environ.get("BENCH_BASE", "/work/bench_base"))
    dsn = make_conninfo(admin_dsn, dbname=REGISTRY_DB)
    try:
        print(f"bench: registry database {REGISTRY_DB}", flush=True)
        setup(admin_dsn, dsn)
        base_dsn = setup_base(admin_dsn, base)
        with psycopg.connect(dsn, autocommit=True) as conn:
            scenarios = {
                "submit": (conn, submit),
                "resolve 1": (conn, resolver("bench_contract")),
                "resolve 10": (conn, resolver("bench_scoped")),
            }
            base_conn = psycopg.connect(base_dsn, autocommit=True) if base_dsn else None
            try:
                if base_conn:
                    scenarios["base submit"] = (base_conn, submit)
                print(f"bench: (a) submit and resolution, {ROUNDS} x {calls} calls", flush=True)
                now = measure(scenarios, calls)
                registering_scenarios = {"register": (conn, registrar())}
                if base_conn:
                    registering_scenarios["base register"] = (base_conn, registrar())
                register_calls = max(calls // 20, 2)
                print(f"bench: (c) registration, {ROUNDS} x {register_calls} calls", flush=True)
                registering = measure(registering_scenarios, register_calls)
            finally:
                if base_conn:
                    base_conn.close()
            scale = {
                "resolve 1": (conn, resolver("bench_contract")),
                "resolve 10": (conn, resolver("bench_scoped")),
                "impact": (conn, impact),
            }
            print(f"bench: (b) with {SMALL} registered tools", flush=True)
            small = measure(scale, calls)
            print(f"bench: registering {large - SMALL} more tools", flush=True)
            populate(conn, "tool", "bench_tool_", SMALL + 1, large, True)
            conn.execute("VACUUM ANALYZE")
        # a new session: plans cached while the registry was small are not reused
        with psycopg.connect(dsn, autocommit=True) as conn:
            scale = {
                "resolve 1": (conn, resolver("bench_contract")),
                "resolve 10": (conn, resolver("bench_scoped")),
                "impact": (conn, impact),
            }
            print(f"bench: (b) with {large} registered tools", flush=True)
            big = measure(scale, calls)
        note = f"code at 1d71732^ in {base}" if base_dsn else f"skipped: no clone at {base}"
        return Report(
            calls=calls,
            large=large,
            now=now,
            registering=registering,
            small=small,
            big=big,
            base_note=note,
        )
    finally:
        drop(admin_dsn)


def print_report(report: Report) -> None:
    n, s, b = report.now.ms, report.small.ms, report.big.ms
    print()
    print(f"Registry: ms per call, one connection, median of {ROUNDS} rounds of {report.calls}")
    print(f"  (a) {'scenario':<48} {'ms':>8}")
    print(f"      {'submit_command (this checkout)':<48} {n['submit']:>8.3f}")
    print(f"      {'_registry_resolve, 1 global binding':<48} {n['resolve 1']:>8.3f}")
    print(f"      {'_registry_resolve, 10 bindings at 10 scopes':<48} {n['resolve 10']:>8.3f}")
    if "base submit" in n:
        print(f"      {'submit_command before the registry':<48} {n['base submit']:>8.3f}")
    print(
        f"  resolve 1 / submit = {n['resolve 1'] / n['submit']:.2f};  "
        f"resolve 10 / submit = {n['resolve 10'] / n['submit']:.2f};  "
        f"resolve 10 / resolve 1 = {n['resolve 10'] / n['resolve 1']:.2f}"
    )
    if "base submit" in n:
        print(
            f"  submit today / submit before the registry = {n['submit'] / n['base submit']:.2f} "
            f"({report.base_note})"
        )
    else:
        print(f"  submit before the registry: {report.base_note}")
    print(f"  (b) {'scenario':<40} {SMALL:>8} {report.large:>8} {'ratio':>7}")
    for name, label in (
        ("resolve 1", "_registry_resolve, 1 binding"),
        ("resolve 10", "_registry_resolve, 10 bindings"),
        ("impact", "registry_impact, 7 dependents"),
    ):
        print(f"      {label:<40} {s[name]:>8.3f} {b[name]:>8.3f} {b[name] / s[name]:>7.2f}")
    print(f"  (ratio = ms with {report.large} registered tools / ms with {SMALL}; 1.0 is flat)")
    r = report.registering.ms
    print(f"  (c) {'register_command_type, changed spec':<48} {r['register']:>8.3f}")
    if "base register" in r:
        print(f"      {'the same before the registry':<48} {r['base register']:>8.3f}")
        ratio = r["register"] / r["base register"]
        print(f"  register today / register before the registry = {ratio:.2f}")


def main() -> int:
    admin_dsn = os.environ.get("CONCORD_DSN")
    if not admin_dsn:
        print(
            "bench: CONCORD_DSN is not set (run under tests/harness/cluster.sh run --)",
            file=sys.stderr,
        )
        return 2
    print_report(run(admin_dsn))
    return 0


if __name__ == "__main__":
    sys.exit(main())
