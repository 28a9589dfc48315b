"""A command's DBOS run follows its status: a child whose last parent finishes while its
own claim or approval is deciding still gets its run (the hand-off, stepped in turn by
``support.races``), the step prelude leaves an operator's "blocked" alone, a workflow
cancelled in DBOS before it started ends its command, and a command moved running ->
blocked -> queued is never run twice at once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from concord.migrate import migrate
from concord.runtime.schema import sqlalchemy_url
from support.databases import temporary_database
from support.races import in_turn
from support.workers import (
    RecordingVendor,
    WorkerProcess,
    register_test_types,
    submit,
    wait_for,
    wait_status,
)

TERMINAL = {"succeeded", "failed", "cancelled"}


@pytest.fixture(scope="module")
def dsn(server_dsn: str) -> Iterator[str]:
    with temporary_database(server_dsn, "concord_run_status") as d:
        migrate(d)
        register_test_types(d)
        with psycopg.connect(d, autocommit=True) as conn:
            conn.execute(
                """
                DO $$ BEGIN
                    PERFORM concord.register_command_type('{"command_type": "rv.plain"}');
                    PERFORM concord.register_approval_type(
                        '{"name": "rv_at", "approver": {"principals": ["ann"]}}');
                    PERFORM concord.register_policy(
                        '{"name": "rv_gate", "predicate": "$.payload.gate == true",
                          "decision": "require_approval", "approval_type": "rv_at"}');
                    PERFORM concord.register_command_type(
                        '{"command_type": "rv.gov", "policy_checks": ["rv_gate"]}');
                END $$
                """
            )
        yield d


def one(conn: psycopg.Connection, query: str, *params):
    row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def binding(conn: psycopg.Connection, command_id) -> tuple:
    return conn.execute(
        "SELECT status, dbos_workflow_id, concord.dependencies_satisfied(command_id) "
        "FROM concord.commands WHERE command_id = %s",
        (command_id,),
    ).fetchone()


def while_open(dsn: str, first: tuple, second: tuple) -> list:
    """Run ``first`` in an open transaction, then ``second`` in another session (which
    may wait for the first: a lock on the parent row), then commit both, in turn
    (``support.races``). Returns the errors, if any."""
    outcomes = in_turn(dsn, [lambda c: c.execute(*first), lambda c: c.execute(*second)])
    return [o.error for o in outcomes if not o.ok]


def running_parent(conn: psycopg.Connection) -> tuple[str, str]:
    parent = submit(conn, "rv.plain")
    wf = one(conn, "SELECT dbos_workflow_id FROM concord.commands WHERE command_id = %s", parent)
    assert (
        one(conn, "SELECT concord.runtime_claim(%s, %s, 'rv-x') ->> 'action'", parent, wf) == "run"
    )
    return parent, wf


# ---------------------------------------------------------------------------
# Dependency hand-off races (no worker: the SQL functions a worker calls)
# ---------------------------------------------------------------------------


def test_a_release_racing_the_parents_completion_is_handed_off(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as a:
        parent, pwf = running_parent(a)
        child = submit(a, "rv.plain")
        a.execute("SELECT concord.add_dependency(%s, %s)", (child, parent))
        cwf = one(a, "SELECT dbos_workflow_id FROM concord.commands WHERE command_id = %s", child)
        # the parent's workflow records success (not committed yet) while the child's
        # workflow claims and finds the parent unfinished
        errors = while_open(
            dsn,
            ("SELECT concord.runtime_finish(%s, %s, 'succeeded')", (parent, pwf)),
            ("SELECT concord.runtime_claim(%s, %s, 'rv-y')", (child, cwf)),
        )
        assert not errors, errors
        status, workflow, satisfied = binding(a, child)
        # The claim waits for the parent's transaction, then finds it succeeded and runs
        # the child (or, had it released it first, the parent's hand-off binds a new run).
        assert satisfied and status in ("queued", "running"), status
        assert workflow is not None, (
            "the child is queued, its parent succeeded, and it has no workflow: it never runs"
        )


def test_an_approval_racing_the_parents_completion_is_handed_off(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as a:
        parent, pwf = running_parent(a)
        child = str(
            one(
                a,
                """SELECT command_id FROM concord.submit_command('rv.gov', '{"gate": true}',
                                                                   'alice')""",
            )
        )
        a.execute("SELECT concord.add_dependency(%s, %s)", (child, parent))
        approval = one(a, "SELECT approval_id FROM concord.approvals WHERE command_id = %s", child)
        errors = while_open(
            dsn,
            ("SELECT concord.runtime_finish(%s, %s, 'succeeded')", (parent, pwf)),
            ("SELECT concord.resolve_approval(%s, 'approved', 'ann')", (approval,)),
        )
        assert not errors, errors
        status, workflow, satisfied = binding(a, child)
        assert (status, satisfied) == ("queued", True)
        assert workflow is not None, (
            "approved child, parent succeeded, no workflow: the command never runs"
        )


# ---------------------------------------------------------------------------
# The step prelude does not undo an operator's "blocked"
# ---------------------------------------------------------------------------


def test_the_step_prelude_leaves_a_blocked_command_blocked(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        command_id, wf = running_parent(conn)
        assert (
            one(
                conn,
                "SELECT concord.transition_command(%s, 'blocked', 'ops', 'vendor down')",
                command_id,
            )
            == "blocked"
        )
        # EffectContext.check_cancelled (every ctx.step) calls runtime_claim again
        action = one(
            conn, "SELECT concord.runtime_claim(%s, %s, 'rv-x') ->> 'action'", command_id, wf
        )
        assert (
            one(conn, "SELECT status FROM concord.commands WHERE command_id = %s", command_id)
            == "blocked"
        ), f"the prelude ({action}) moved it back to running"


# ---------------------------------------------------------------------------
# Real workers (each test its own database, so a worker sees only its own work)
# ---------------------------------------------------------------------------


@pytest.fixture()
def fresh(server_dsn: str) -> Iterator[str]:
    with temporary_database(server_dsn, "concord_run_status_w") as d:
        migrate(d)
        register_test_types(d)
        yield d


def worker(dsn: str, vendor: RecordingVendor | None = None) -> WorkerProcess:
    kw = {"vendor_url": vendor.url} if vendor is not None else {}
    return WorkerProcess(dsn, executor_id=f"rv-{uuid.uuid4().hex[:8]}", **kw)


def test_a_workflow_cancelled_in_dbos_before_it_started_ends_its_command(fresh: str) -> None:
    from dbos import DBOSClient

    with psycopg.connect(fresh, autocommit=True) as conn:
        command_id = submit(conn, "rt.echo")
        client = DBOSClient(system_database_url=sqlalchemy_url(fresh))
        try:
            client.cancel_workflow(command_id)
        finally:
            client.destroy()
        assert (
            one(
                conn, "SELECT status FROM dbos.workflow_status WHERE workflow_uuid = %s", command_id
            )
            == "CANCELLED"
        )
        with worker(fresh):
            # README: a workflow cancelled from DBOS's side records the command's cancellation
            assert wait_status(conn, command_id, TERMINAL, timeout=10) == "cancelled"


def test_a_requeued_command_is_not_run_twice_at_once(fresh: str) -> None:
    vendor = RecordingVendor()
    try:
        with psycopg.connect(fresh, autocommit=True) as conn, worker(fresh, vendor):
            command_id = submit(conn, "hotel.book", {"room": "101", "wait_steps": 40})
            wait_for(lambda: vendor.executions_by_path["/book"] >= 1, message="the first booking")
            # an operator parks the command and queues it again while run 1 is waiting
            assert (
                one(conn, "SELECT concord.transition_command(%s, 'blocked', 'ops')", command_id)
                == "blocked"
            )
            assert (
                one(conn, "SELECT concord.transition_command(%s, 'queued', 'ops')", command_id)
                == "queued"
            )
            wait_status(conn, command_id, TERMINAL, timeout=30)
            time.sleep(1)
            assert vendor.executions_by_path["/book"] == 1, (
                f"the hotel was booked {vendor.executions_by_path['/book']} times: run 1 kept "
                "executing after run 2 took the command over"
            )
    finally:
        vendor.close()
