"""Where the time of one submit goes: the profile ``make bench`` prints with its figures.

Called by ``run_bench.py`` on its database (the types and preload in place, every pgbench
scenario done). Submits ``PROFILE_SUBMITS`` commands, one per transaction like the pgbench
scenario, in a session with ``track_functions = 'all'``, and prints:

- the wall time of one submit (round trip and commit included);
- per PL/pgSQL function, its self time per submit (the function's own statements, nested
  function calls excluded): the executor time of a function's INSERT — its indexes, check
  constraints and foreign keys — counts as that function's self time; each function is put
  in a part of the submit path (validation, policies, registry resolution, audit, the DBOS
  enqueue, identity, the command row);
- the rows each submit writes, per table, with the table's index count;
- the cost per row of each written table's secondary indexes and check constraints: the
  same rows inserted into a copy with its primary key only, then into a copy with every
  index and constraint of the table (no triggers, no foreign keys in either).

Function timing adds its own overhead (a clock read per call), so the per-function figures
add up to more than an untimed submit costs: read them as shares. Asserts nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg
from psycopg import sql

PROFILE_SUBMITS = 1000
INDEX_PROBE_ROWS = 2000

# The part of the submit path each function belongs to; anything else is "other".
PARTS = {
    "validation": (
        "_payload_problems", "_json_schema_errors", "_json_schema_accepts", "_validated_inputs",
        "_jsonschema_setup",
    ),
    "policies": (
        "_policies_for", "_evaluate", "_record_decisions", "_evaluation_record", "_payload_digest",
        "_route", "_denial", "_policy_decides", "_declarative_policy",
    ),
    "registry resolution": (
        "_resolve_command_contract", "_registry_resolve", "_registry_subject", "_command_subject",
        "_registry_scope_rank", "_registry_note_usage", "_registry_record_usage",
        "_command_type_row", "_command_contract", "_command_contract_of", "_text_array",
        "registry_subject_bucket",
    ),
    "audit rows": ("_commands_after_insert", "_audit", "_notify_command_watchers", "_actor",
                   "_asserted_by", "command_channel"),
    "DBOS enqueue": ("_handed_off", "_enqueue", "enqueue_workflow", "_require_dbos",
                     "_dbos_installed", "_command_queue", "_workflow_id"),
    "identity": ("submit_command", "_acting_principal", "_chosen_project", "_authenticated",
                 "_session_is_superuser", "_sees_all", "_assert_on_behalf", "_principal",
                 "canonical_name", "_visible_projects"),
    "command row": ("_submit_command", "_commands_before_insert", "_push_actor", "_pop_actor",
                    "_require", "_new_trace_id"),
}


@dataclass
class FunctionCost:
    name: str
    calls: float
    self_ms: float
    part: str


def part_of(function: str) -> str:
    for part, names in PARTS.items():
        if function in names:
            return part
    return "other"


def table_writes(conn: psycopg.Connection) -> dict[str, tuple[int, int]]:
    conn.execute("SELECT pg_stat_force_next_flush()")
    return {
        name: (ins, upd)
        for name, ins, upd in conn.execute(
            "SELECT schemaname || '.' || relname, n_tup_ins, n_tup_upd FROM pg_stat_user_tables"
        )
    }


Profile = tuple[float, list[FunctionCost], dict[str, float], dict[str, int]]


def profile_submits(dsn: str, submit: str, submits: int) -> Profile:
    """Time ``submits`` submits (statement ``submit``, %s = a fresh key) with function
    tracking on; answer the wall ms per submit, the functions' costs, the rows written per
    table per submit and each written table's index count."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET track_functions = 'all'")
        # a warm session: plans cached, the validator compiled
        for i in range(20):
            conn.execute(submit, (f"profile-warm-{i}-{time.time_ns()}",))
        # the warm-up's counters are flushed first, or they would land after the reset
        conn.execute("SELECT pg_stat_force_next_flush()")
        conn.execute("SELECT 1")
        conn.execute("SELECT pg_stat_reset()")
        before = table_writes(conn)
        started = time.perf_counter()
        for i in range(submits):
            conn.execute(submit, (f"profile-{i}-{time.time_ns()}",))
        wall_ms = (time.perf_counter() - started) * 1000 / submits
        after = table_writes(conn)
        functions = [
            FunctionCost(name, calls / submits, self_ms / submits, part_of(name))
            for name, calls, self_ms in conn.execute(
                "SELECT funcname, calls, self_time FROM pg_stat_user_functions "
                "ORDER BY self_time DESC"
            )
        ]
        rows = {
            table: ((ins - before.get(table, (0, 0))[0]) + (upd - before.get(table, (0, 0))[1]))
            / submits
            for table, (ins, upd) in after.items()
        }
        rows = {t: n for t, n in rows.items() if n > 0}
        indexes = {
            table: conn.execute(
                "SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass", (table,)
            ).fetchone()[0]
            for table in rows
        }
    return wall_ms, functions, rows, indexes


def index_cost(dsn: str, table: str) -> tuple[float, float] | None:
    """µs per row of inserting ``table``'s newest rows into a copy with its primary key only,
    and into a copy with all its indexes and check constraints (in a transaction rolled
    back: nothing is kept)."""
    schema, name = table.split(".")
    with psycopg.connect(dsn) as conn:
        ident = sql.Identifier(schema, name)
        if not conn.execute(
            "SELECT 1 FROM pg_index WHERE indrelid = %s::regclass AND indisprimary", (table,)
        ).fetchone():
            return None
        conn.execute(
            sql.SQL("CREATE TEMP TABLE probe_rows AS SELECT * FROM {} LIMIT {}").format(
                ident, sql.Literal(INDEX_PROBE_ROWS))
        )
        if conn.execute("SELECT count(*) FROM probe_rows").fetchone()[0] < INDEX_PROBE_ROWS:
            conn.rollback()
            return None
        timings = []
        for including in ("INCLUDING DEFAULTS", "INCLUDING ALL"):
            conn.execute("DROP TABLE IF EXISTS probe_copy")
            conn.execute(sql.SQL("CREATE TEMP TABLE probe_copy (LIKE {} " + including + ")").format(
                ident))
            if including == "INCLUDING DEFAULTS":
                columns = conn.execute(
                    "SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_index AS i "
                    "JOIN pg_attribute AS a "
                    "ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
                    "WHERE i.indrelid = %s::regclass AND i.indisprimary", (table,)
                ).fetchone()[0]
                conn.execute(sql.SQL("ALTER TABLE probe_copy ADD PRIMARY KEY ({})").format(
                    sql.SQL(", ").join(map(sql.Identifier, columns))))
            started = time.perf_counter()
            conn.execute("INSERT INTO probe_copy OVERRIDING SYSTEM VALUE SELECT * FROM probe_rows")
            timings.append((time.perf_counter() - started) * 1e6 / INDEX_PROBE_ROWS)
        conn.rollback()
    return timings[0], timings[1]


def print_profile(dsn: str, submit: str, label: str) -> None:
    wall_ms, functions, rows, indexes = profile_submits(dsn, submit, PROFILE_SUBMITS)
    tracked = sum(f.self_ms for f in functions)
    print(f"Profile of one submit: {label}, {PROFILE_SUBMITS} submits, one per transaction")
    print(f"  wall time per submit (timed, round trip and commit included): {wall_ms:.3f} ms")
    print(f"  self time in PL/pgSQL and SQL functions:                     {tracked:.3f} ms")
    print(f"  outside them (parse, round trip, commit, timing overhead):     "
          f"{max(wall_ms - tracked, 0):.3f} ms")
    by_part: dict[str, float] = {}
    for f in functions:
        by_part[f.part] = by_part.get(f.part, 0.0) + f.self_ms
    print()
    print(f"  {'part of the path':<22} {'ms':>7} {'share':>6}")
    for part, ms in sorted(by_part.items(), key=lambda kv: -kv[1]):
        print(f"  {part:<22} {ms:>7.3f} {ms / tracked if tracked else 0:>6.0%}")
    print()
    print(f"  {'function':<32} {'part':<20} {'calls':>6} {'self ms':>8}")
    for f in functions[:20]:
        print(f"  {f.name:<32} {f.part:<20} {f.calls:>6.1f} {f.self_ms:>8.3f}")
    print()
    print(f"  {'rows written per submit':<32} {'rows':>5} {'indexes':>8} "
          f"{'µs/row pk only':>15} {'µs/row all':>11}")
    for table, n in sorted(rows.items(), key=lambda kv: -kv[1]):
        cost = index_cost(dsn, table)
        pk, full = (f"{cost[0]:.1f}", f"{cost[1]:.1f}") if cost else ("-", "-")
        print(f"  {table:<32} {n:>5.2f} {indexes[table]:>8} {pk:>15} {full:>11}")
