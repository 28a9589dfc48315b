"""Command rules that hold under real concurrency: idempotency keys, dependency cycles and
status changes, with transactions on separate connections stepped in a fixed order by
``support.races`` (each later one started while the earlier ones hold their locks, seen
waiting in pg_stat_activity before anything commits).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import IsolationLevel
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb

from concord import Client
from concord.errors import (
    DependencyCycle,
    IdempotencyConflict,
    IllegalTransition,
    StateConflict,
    from_psycopg,
)
from support.audit import status_edges
from support.races import Outcome, Race, in_turn, in_turn_pair

ISOLATION = {
    "read_committed": IsolationLevel.READ_COMMITTED,
    "repeatable_read": IsolationLevel.REPEATABLE_READ,
}
ADD_DEPENDENCY = "SELECT concord.add_dependency(%s, %s)"
# A session's first payload check loads jsonschema into plpython (about 0.25 s): each
# contender does it before the race, so a race step waits for the statement, not the
# import.
WARM_UP = "SELECT concord._jsonschema_setup()"


def race(
    dsn: str,
    actions: list[Callable[[psycopg.Connection], Any]],
    *,
    isolation: IsolationLevel | None = None,
) -> list[Outcome]:
    """The actions in turn (``support.races``): each in its own transaction, started while
    the earlier ones are still open, so every later one meets what the earlier ones hold.
    Errors are mapped with ``from_psycopg``."""
    return in_turn(dsn, actions, isolation=isolation, map_error=from_psycopg, setup=WARM_UP)


def pair(dsn: str, a: Callable, b: Callable, *, a_first: bool) -> tuple[Outcome, Outcome]:
    """Two actions in turn, ``a`` first or ``b`` first; (a's outcome, b's), mapped."""
    return in_turn_pair(dsn, a, b, a_first=a_first, map_error=from_psycopg)


def interleave(
    dsn: str,
    first: tuple[str, tuple],
    second: tuple[str, tuple],
    isolation: IsolationLevel,
) -> Outcome:
    """Run ``first`` in an open transaction; run ``second``, which must block on the first
    one's lock; commit the first; return how the second ended (its raw psycopg error)."""
    with Race(dsn, 2, row_factory=tuple_row) as steps:
        first_outcome, second_outcome = steps.in_turn(
            [lambda c: c.execute(*first), lambda c: c.execute(*second).fetchone()],
            isolation=isolation,
        )
    assert first_outcome.ok, first_outcome.error
    return second_outcome


def submit(client: Client, types) -> UUID:
    return client.submit_command(types.sync_type, {}, "alice").command_id


def edges(db: psycopg.Connection, ids: list[UUID]) -> set[tuple[UUID, UUID]]:
    rows = db.execute(
        "SELECT child_command_id, parent_command_id FROM concord.command_dependencies "
        "WHERE child_command_id = ANY(%s) OR parent_command_id = ANY(%s)",
        (ids, ids),
    ).fetchall()
    return {(r[0], r[1]) for r in rows}


def has_cycle(graph: set[tuple[UUID, UUID]]) -> bool:
    children: dict[UUID, set[UUID]] = {}
    for child, parent in graph:
        children.setdefault(child, set()).add(parent)

    def reaches(start: UUID, goal: UUID, seen: set[UUID]) -> bool:
        for nxt in children.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    return any(reaches(node, node, set()) for node in children)


def status_changes(db: psycopg.Connection, command_id: UUID) -> list[tuple[str, str]]:
    return status_edges(db, command_id)


def assert_audit_chain(db: psycopg.Connection, command_id: UUID) -> list[tuple[str, str]]:
    """The status-change audit rows of a command form one unbroken chain from created to
    its current status."""
    changes = status_changes(db, command_id)
    current = db.execute(
        "SELECT status FROM concord.commands WHERE command_id = %s", (command_id,)
    ).fetchone()[0]
    previous = "created"
    for from_status, to_status in changes:
        assert from_status == previous, changes
        previous = to_status
    assert previous == current, (changes, current)
    return changes


# -- idempotency ------------------------------------------------------------------------


def submit_with_key(command_type: str, payload: dict, actor: str, key: str):
    def action(conn: psycopg.Connection) -> dict:
        return conn.execute(
            "SELECT * FROM concord.submit_command(%s, %s, %s, idempotency_key => %s)",
            (command_type, Jsonb(payload), actor, key),
        ).fetchone()

    return action


def test_sixteen_submitters_of_one_key_create_exactly_one_command(
    concord_dsn: str, types, db: psycopg.Connection
) -> None:
    """Rule: spec 11 under concurrency — the unique key decides: one row, one creator,
    one answer."""
    key = f"race-{uuid.uuid4()}"
    outcomes = race(
        concord_dsn,
        [
            submit_with_key(types.async_type, types.valid_payload, f"user-{i}", key)
            for i in range(16)
        ],
    )
    assert [o.error for o in outcomes] == [None] * 16
    rows = [o.value for o in outcomes]
    assert sum(r["created"] for r in rows) == 1
    assert len({r["command_id"] for r in rows}) == 1
    assert {r["status"] for r in rows} == {"queued"}
    assert len({r["trace_id"] for r in rows}) == 1
    (command_id,) = {r["command_id"] for r in rows}
    assert (
        db.execute(
            "SELECT count(*) FROM concord.commands WHERE idempotency_key = %s", (key,)
        ).fetchone()[0]
        == 1
    )
    assert (
        db.execute(
            "SELECT count(*) FROM concord.domain_events "
            "WHERE command_id = %s AND event_type = 'command_created'",
            (command_id,),
        ).fetchone()[0]
        == 1
    )
    assert assert_audit_chain(db, command_id) == [("created", "validated"), ("validated", "queued")]


def test_sixteen_submitters_of_one_key_with_different_payloads(
    concord_dsn: str, types, db: psycopg.Connection
) -> None:
    """Rule: spec 11 under concurrency — exactly one request wins the key; a loser with
    the winner's payload gets the winner (created=False), every other loser CN002."""
    key = f"race-{uuid.uuid4()}"
    payloads = [{**types.valid_payload, "copies": i % 4 + 1} for i in range(16)]
    outcomes = race(
        concord_dsn,
        [submit_with_key(types.async_type, p, f"user-{i}", key) for i, p in enumerate(payloads)],
    )
    winners = [i for i, o in enumerate(outcomes) if o.ok and o.value["created"]]
    assert len(winners) == 1, outcomes
    (winner,) = winners
    winner_id = outcomes[winner].value["command_id"]
    for i, o in enumerate(outcomes):
        if i == winner:
            continue
        if payloads[i] == payloads[winner]:
            assert o.ok, o.error
            assert (o.value["created"], o.value["command_id"]) == (False, winner_id)
        else:
            assert isinstance(o.error, IdempotencyConflict), o.error
            assert str(winner_id) in o.error.message
    assert sum(isinstance(o.error, IdempotencyConflict) for o in outcomes) == 12
    rows = db.execute(
        "SELECT command_id, payload FROM concord.commands WHERE idempotency_key = %s", (key,)
    ).fetchall()
    assert rows == [(winner_id, payloads[winner])]


# -- dependency cycles --------------------------------------------------------------------


@pytest.mark.parametrize("isolation", list(ISOLATION))
def test_a_b_and_b_a_added_together_cannot_both_commit(
    concord_dsn: str, client: Client, types, db: psycopg.Connection, isolation: str
) -> None:
    """Rule: edge insertions are serialised; A->B and B->A in two open transactions
    cannot both commit. The second blocks on the first; when the first commits it gets
    CN003 (READ COMMITTED) or a serialization failure (REPEATABLE READ)."""
    a, b = submit(client, types), submit(client, types)
    outcome = interleave(
        concord_dsn, (ADD_DEPENDENCY, (a, b)), (ADD_DEPENDENCY, (b, a)), ISOLATION[isolation]
    )
    assert outcome.error is not None, "both edges of a cycle committed"
    if isolation == "read_committed":
        assert isinstance(from_psycopg(outcome.error), DependencyCycle), outcome.error
    else:
        assert outcome.error.sqlstate in ("40001", "CN003"), outcome.error
    assert edges(db, [a, b]) == {(a, b)}


@pytest.mark.parametrize("isolation", list(ISOLATION))
def test_racing_a_b_and_b_a_never_commits_both(
    concord_dsn: str, client: Client, types, db: psycopg.Connection, isolation: str
) -> None:
    """Rule: as above, through the autocommit-free race helper, A->B first and B->A
    first: exactly one edge survives, the loser gets CN003 or (REPEATABLE READ) 40001."""
    for a_first in (True, False):
        a, b = submit(client, types), submit(client, types)
        outcomes = in_turn_pair(
            concord_dsn,
            lambda c, a=a, b=b: c.execute(ADD_DEPENDENCY, (a, b)),
            lambda c, a=a, b=b: c.execute(ADD_DEPENDENCY, (b, a)),
            a_first=a_first,
            isolation=ISOLATION[isolation],
            map_error=from_psycopg,
        )
        assert sum(o.ok for o in outcomes) == 1, outcomes
        (loser,) = [o.error for o in outcomes if not o.ok]
        if isolation == "read_committed":
            assert isinstance(loser, DependencyCycle), loser
        else:
            assert (
                isinstance(loser, DependencyCycle) or getattr(loser, "sqlstate", None) == "40001"
            ), loser
        graph = edges(db, [a, b])
        assert len(graph) == 1 and not has_cycle(graph), graph


@pytest.mark.parametrize("isolation", list(ISOLATION))
def test_a_longer_cycle_cannot_be_closed_by_two_racing_edges(
    concord_dsn: str, client: Client, types, db: psycopg.Connection, isolation: str
) -> None:
    """Rule: cycles of any length are refused under concurrency. With A->B committed,
    B->C and C->A added at once (each of them first) close A->B->C->A: only one of them
    commits."""
    for b_c_first in (True, False):
        a, b, c = (submit(client, types) for _ in range(3))
        client.add_dependency(a, b)
        outcomes = in_turn_pair(
            concord_dsn,
            lambda conn, b=b, c=c: conn.execute(ADD_DEPENDENCY, (b, c)),
            lambda conn, a=a, c=c: conn.execute(ADD_DEPENDENCY, (c, a)),
            a_first=b_c_first,
            isolation=ISOLATION[isolation],
            map_error=from_psycopg,
        )
        assert sum(o.ok for o in outcomes) == 1, outcomes
        (loser,) = [o.error for o in outcomes if not o.ok]
        assert isinstance(loser, DependencyCycle) or (
            isolation == "repeatable_read" and getattr(loser, "sqlstate", None) == "40001"
        ), loser
        graph = edges(db, [a, b, c])
        assert len(graph) == 2 and (a, b) in graph and not has_cycle(graph), graph


def test_a_longer_cycle_closed_while_the_first_edge_is_uncommitted(
    concord_dsn: str, client: Client, types, db: psycopg.Connection
) -> None:
    """Rule: the cycle check sees an edge committed while it waited: B->C open, C->A
    blocked behind it, A->B already committed."""
    a, b, c = (submit(client, types) for _ in range(3))
    client.add_dependency(a, b)
    outcome = interleave(
        concord_dsn,
        (ADD_DEPENDENCY, (b, c)),
        (ADD_DEPENDENCY, (c, a)),
        IsolationLevel.READ_COMMITTED,
    )
    assert isinstance(from_psycopg(outcome.error), DependencyCycle), outcome.error
    assert edges(db, [a, b, c]) == {(a, b), (b, c)}


# -- state changes ------------------------------------------------------------------------


def claim(command_id: UUID, executor: str):
    """A worker's claim of the command's first run (its workflow is the command id)."""

    def action(conn: psycopg.Connection) -> str:
        row = conn.execute(
            "SELECT concord.runtime_claim(%s, %s, %s) ->> 'action' AS action",
            (command_id, str(command_id), executor),
        ).fetchone()
        return row["action"] if isinstance(row, dict) else row[0]

    return action


def cancel(command_id: UUID, actor: str):
    def action(conn: psycopg.Connection) -> str:
        return conn.execute(
            "SELECT concord.cancel_command(%s, %s) AS status", (command_id, actor)
        ).fetchone()["status"]

    return action


def test_workers_racing_to_run_one_command_start_it_once(
    concord_dsn: str, client: Client, types, db: psycopg.Connection
) -> None:
    """Rule: a queued command moves to running once. Eight workers racing to claim its run
    (DBOS may hand one workflow to two executors): all are told to run it, the command
    goes queued -> running once, audited once and attributed to one of them; a replay is
    a no-op."""
    command_id = client.submit_command(types.async_type, types.valid_payload, "alice").command_id
    outcomes = race(concord_dsn, [claim(command_id, f"worker-{i}") for i in range(8)])
    assert all(o.ok and o.value == "run" for o in outcomes), outcomes
    changes = assert_audit_chain(db, command_id)
    assert changes == [("created", "validated"), ("validated", "queued"), ("queued", "running")]
    (actor,) = db.execute(
        "SELECT actor FROM concord.domain_events WHERE command_id = %s "
        "AND event_type = 'command_status_changed' AND to_status = 'running'",
        (command_id,),
    ).fetchone()
    assert actor in {f"worker:worker-{i}" for i in range(8)}, actor
    assert claim(command_id, "worker-9")(db) == "run"
    assert assert_audit_chain(db, command_id) == changes


def finish(command_id: UUID, to_status: str, **outcome: Any):
    """runtime_finish by the command's first run (its workflow is the command id)."""

    def action(conn: psycopg.Connection) -> str:
        row = conn.execute(
            "SELECT concord.runtime_finish(%s, %s, %s, result => %s, error => %s, "
            "error_class => %s) AS status",
            (
                command_id,
                str(command_id),
                to_status,
                Jsonb(outcome["result"]) if "result" in outcome else None,
                outcome.get("error"),
                outcome.get("error_class"),
            ),
        ).fetchone()
        return row["status"] if isinstance(row, dict) else row[0]

    return action


def test_workers_racing_to_finish_one_command_record_one_outcome(
    concord_dsn: str, client: Client, types, db: psycopg.Connection
) -> None:
    """Rule: a status is reached once and its outcome is never rewritten — of two steps of
    the command's run finishing it (a replayed step racing the first), the first's outcome
    stays: the same status again is a no-op keeping the first result, a different one is
    CN001. Either way one audited change. Each goes first once."""
    for worker_1_first in (True, False):
        command_id = submit_running(client, types, db)
        first, second = pair(
            concord_dsn,
            finish(command_id, "succeeded", result={"by": 1}),
            finish(command_id, "succeeded", result={"by": 2}),
            a_first=worker_1_first,
        )
        assert first.ok and second.ok, (first, second)
        assert client.get_command(command_id).result == {"by": 1 if worker_1_first else 2}
        assert assert_audit_chain(db, command_id)[3:] == [("running", "succeeded")]

        command_id = submit_running(client, types, db)
        succeeded, failed = pair(
            concord_dsn,
            finish(command_id, "succeeded", result={"ok": True}),
            finish(command_id, "failed", error="boom", error_class="timeout"),
            a_first=worker_1_first,
        )
        assert succeeded.ok != failed.ok, (succeeded, failed)
        loser = failed if succeeded.ok else succeeded
        assert isinstance(loser.error, IllegalTransition), loser.error
        final = "succeeded" if succeeded.ok else "failed"
        assert client.get_command(command_id).status == final
        changes = assert_audit_chain(db, command_id)
        assert changes[3:] == [("running", final)]


def submit_running(client: Client, types, db: psycopg.Connection) -> UUID:
    command_id = client.submit_command(types.async_type, types.valid_payload, "alice").command_id
    assert claim(command_id, "worker-0")(db) == "run"
    return command_id


def test_cancel_racing_success_leaves_a_consistent_command_and_audit(
    concord_dsn: str, client: Client, types, db: psycopg.Connection
) -> None:
    """Rule: spec 30 under concurrency — cancel and the run's running -> succeeded serialise
    on the row: either succeeded (and the cancel is a no-op) or cancelling (and the
    success does not end the command: the run takes the cancellation path); every
    transition observed has exactly one audit row. Each goes first once, so both endings
    are seen."""
    endings = set()
    for cancel_first in (True, False):
        command_id = client.submit_command(
            types.async_type, types.valid_payload, "alice"
        ).command_id
        assert claim(command_id, "worker-1")(db) == "run"
        cancelled, succeeded = pair(
            concord_dsn,
            cancel(command_id, "bob"),
            finish(command_id, "succeeded"),
            a_first=cancel_first,
        )
        assert cancelled.ok, cancelled.error
        command = client.get_command(command_id)
        assert succeeded.ok, succeeded.error
        if succeeded.value == "succeeded":
            assert (succeeded.value, cancelled.value, command.status) == (
                "succeeded",
                "succeeded",
                "succeeded",
            )
            assert command.cancellation_requested_at is None
            observed = [("running", "succeeded")]
        else:
            assert (succeeded.value, cancelled.value, command.status) == ("cancelling",) * 3
            assert command.cancellation_requested_by == "bob"
            observed = [("running", "cancelling")]
        endings.add(command.status)
        changes = assert_audit_chain(db, command_id)
        assert changes == [
            ("created", "validated"),
            ("validated", "queued"),
            ("queued", "running"),
            *observed,
        ]
        if command.status == "cancelling":
            assert finish(command_id, "cancelled")(db) == "cancelled"
            assert assert_audit_chain(db, command_id)[-1] == ("cancelling", "cancelled")
    assert endings == {"succeeded", "cancelling"}, endings


def test_a_parent_cancelled_while_a_dependency_on_it_is_added_never_strands_the_child(
    concord_dsn: str, client: Client, types, db: psycopg.Connection
) -> None:
    """Rule: spec 13.4 under concurrency — either the edge commits first and the parent's
    cancellation settles the child, or the parent is cancelled first and the edge is
    refused (CN011). Never an edge to a cancelled parent with a child still waiting.
    Each goes first once."""
    for add_first in (True, False):
        parent, child = submit(client, types), submit(client, types)
        added, cancelled = pair(
            concord_dsn,
            lambda c, p=parent, ch=child: c.execute(ADD_DEPENDENCY, (ch, p)),
            cancel(parent, "bob"),
            a_first=add_first,
        )
        assert cancelled.ok and cancelled.value == "cancelled", cancelled.error
        child_status = client.get_command(child).status
        if added.ok:
            assert edges(db, [child]) == {(child, parent)}
            assert child_status == "cancelled"
        else:
            assert isinstance(added.error, StateConflict), added.error
            assert edges(db, [child]) == set()
            assert child_status == "validated"


def test_a_child_started_while_a_dependency_is_added_never_runs_unmet(
    concord_dsn: str, client: Client, types, db: psycopg.Connection
) -> None:
    """Rule: a child never runs before its parents — under concurrency either the edge
    commits first and the worker's claim lets the run go (released: the parent's
    completion hands it off again), or the child starts first and the edge is refused
    (CN011). Each goes first once."""
    for add_first in (True, False):
        parent = submit(client, types)
        child = client.submit_command(types.async_type, types.valid_payload, "alice").command_id
        added, started = pair(
            concord_dsn,
            lambda c, p=parent, ch=child: c.execute(ADD_DEPENDENCY, (ch, p)),
            claim(child, "worker-1"),
            a_first=add_first,
        )
        assert started.ok, started.error
        if added.ok:
            assert started.value == "released", started
            assert client.get_command(child).status == "queued"
            assert edges(db, [child]) == {(child, parent)}
        else:
            assert isinstance(added.error, StateConflict), added.error
            assert client.get_command(child).status == "running"
            assert edges(db, [child]) == set()
