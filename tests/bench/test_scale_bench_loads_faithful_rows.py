"""The scale benchmark's loader (bench/scale_loader.py) copies rows with triggers and foreign
key checks off: the copies must still be rows the rules would have accepted, or the
benchmark measures a database no user could have. Loads a template wave and three copies
into a database of its own and checks what the triggers would have checked."""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg
import pytest

from support.databases import temporary_database

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import scale_loader as loader  # noqa: E402
from concord.migrate import migrate  # noqa: E402

COPIES = 3


@pytest.fixture(scope="module")
def loaded(server_dsn: str):
    with temporary_database(server_dsn, "concord_scale_test") as dsn:
        migrate(dsn)
        requester_dsn, approver_dsn = loader.setup_world(dsn)
        try:
            # an eighth of the wave and no connector calls: every shape, the fewest calls
            loader.make_templates(dsn, requester_dsn, approver_dsn, events_per_command=0,
                                  divisor=8)
            with psycopg.connect(dsn, autocommit=True) as conn:
                counts = loader.snapshot(conn)
            loader.grow(dsn, 1, COPIES, backlog_waves=1, chunk_waves=2, loaders=2,
                        say=lambda _: None)
            with psycopg.connect(dsn, autocommit=True) as conn:
                yield conn, counts
        finally:
            name = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
            with psycopg.connect(server_dsn, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            loader.drop_logins(server_dsn, str(name))


def one(conn: psycopg.Connection, query: str):
    row = conn.execute(query).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return row[0]


def test_each_wave_copies_every_row_of_the_template(loaded):
    conn, counts = loaded
    history, backlog = loader.wave_size(conn)
    assert history > 15 and backlog >= 5
    # template + COPIES of the history, template + 1 copy of the backlog, + the registry's own
    registry = one(
        conn, "SELECT count(*) FROM concord.commands WHERE command_type LIKE 'concord.%'"
    )
    assert one(conn, "SELECT count(*) FROM concord.commands") == (
        (COPIES + 1) * history + 2 * backlog + registry
    )
    template_events = counts["concord.domain_events"]
    assert one(conn, "SELECT count(*) FROM concord.domain_events") > COPIES * template_events * 0.9


def test_every_reference_the_copies_hold_points_at_a_row(loaded):
    """Foreign keys were not checked during the copy: check each one now (its rows with no
    referenced row: none)."""
    conn, _ = loaded
    fks = conn.execute(
        "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, fa.attname "
        "FROM pg_constraint AS c "
        "JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "JOIN pg_attribute AS fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1] "
        "WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 "
        "AND c.conrelid::regclass::text IN ("
        + ", ".join(f"'{spec.table}'" for spec in loader.CLONED)
        + ") AND c.conparentid = 0"
    ).fetchall()
    assert len(fks) > 20
    for table, column, ref_table, ref_column in fks:
        orphans = one(
            conn,
            f"SELECT count(*) FROM {table} AS x WHERE x.{column} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {ref_table} AS r WHERE r.{ref_column} = x.{column})",
        )
        assert orphans == 0, f"{table}.{column} -> {ref_table}.{ref_column}: {orphans} orphans"


def test_each_command_reached_its_status_along_allowed_moves(loaded):
    """A command's creation row and status changes, in the order of its events, walk from
    created to its status, each move one of command_transitions (a creation row names the
    path a submission took in one statement), each event at or after the one before."""
    conn, _ = loaded
    bad_paths = conn.execute(
        """
        SELECT e.command_id, e.payload -> 'path' FROM concord.domain_events AS e
        WHERE e.event_type = 'command_created'
          AND (coalesce(e.payload -> 'path' ->> 0, e.to_status) <> 'created'
               OR coalesce(e.payload -> 'path' ->> -1, e.to_status) <> e.to_status
               OR EXISTS (
                   SELECT 1 FROM jsonb_array_elements_text(e.payload -> 'path')
                                 WITH ORDINALITY AS step (status, n)
                   JOIN jsonb_array_elements_text(e.payload -> 'path')
                        WITH ORDINALITY AS next (status, n) ON next.n = step.n + 1
                   WHERE NOT EXISTS (SELECT 1 FROM concord.command_transitions AS t
                                     WHERE t.from_status = step.status
                                       AND t.to_status = next.status)))
        LIMIT 5
        """
    ).fetchall()
    assert bad_paths == []
    bad = conn.execute(
        """
        WITH moves AS (
            SELECT e.command_id, e.event_type, e.from_status, e.to_status, e.created_at,
                   lag(e.to_status) OVER w AS previous_to,
                   lag(e.created_at) OVER w AS previous_at,
                   row_number() OVER w AS n
            FROM concord.domain_events AS e
            WHERE e.event_type IN ('command_created', 'command_status_changed')
            WINDOW w AS (PARTITION BY e.command_id ORDER BY e.event_seq)
        )
        SELECT m.command_id, m.from_status, m.to_status FROM moves AS m
        WHERE (m.n = 1 AND m.event_type <> 'command_created')
           OR (m.n > 1 AND (m.from_status IS DISTINCT FROM m.previous_to
                            OR m.created_at < m.previous_at
                            OR NOT EXISTS (SELECT 1 FROM concord.command_transitions AS t
                                           WHERE t.from_status = m.from_status
                                             AND t.to_status = m.to_status)))
        LIMIT 5
        """
    ).fetchall()
    assert bad == []
    unreached = one(
        conn,
        "SELECT count(*) FROM concord.commands AS c WHERE c.status IS DISTINCT FROM ("
        "SELECT e.to_status FROM concord.domain_events AS e WHERE e.command_id = c.command_id "
        "AND e.event_type IN ('command_created', 'command_status_changed') "
        "ORDER BY e.event_seq DESC LIMIT 1)",
    )
    assert unreached == 0


def test_copied_timestamps_are_in_the_last_year_and_in_order(loaded):
    conn, _ = loaded
    assert one(
        conn,
        "SELECT count(*) FROM concord.commands WHERE created_at < now() - interval '366 days' "
        "OR updated_at < created_at OR completed_at < created_at",
    ) == 0
    assert one(
        conn,
        "SELECT count(*) FROM (SELECT created_at, lag(created_at) OVER "
        "(PARTITION BY command_id ORDER BY event_seq) AS before FROM concord.domain_events) AS e "
        "WHERE e.created_at < e.before",
    ) == 0


def test_pending_approvals_wait_on_waiting_commands(loaded):
    conn, _ = loaded
    pending = one(conn, "SELECT count(*) FROM concord.approvals WHERE status = 'pending'")
    assert pending > 0
    assert one(
        conn,
        "SELECT count(*) FROM concord.approvals AS a JOIN concord.commands AS c USING "
        "(command_id) WHERE a.status = 'pending' AND c.status <> 'waiting_for_approval'",
    ) == 0
    assert one(
        conn,
        "SELECT count(*) FROM concord.commands AS c WHERE c.status = 'waiting_for_approval' "
        "AND NOT EXISTS (SELECT 1 FROM concord.approvals AS a WHERE a.command_id = c.command_id "
        "AND a.status = 'pending')",
    ) == 0


def test_every_handed_off_command_has_its_own_workflow(loaded):
    conn, _ = loaded
    assert one(
        conn,
        "SELECT count(*) FROM concord.commands AS c WHERE c.dbos_workflow_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM dbos.workflow_status AS w "
        "WHERE w.workflow_uuid = c.dbos_workflow_id)",
    ) == 0
    assert one(
        conn,
        "SELECT count(*) FROM dbos.workflow_status AS w WHERE w.inputs IS NOT NULL "
        "AND strpos(w.inputs, w.workflow_uuid) = 0",
    ) == 0
