"""compensate_then_stop on a swarm's command counters what the swarm did (spec 64.1, 65),
on a real ``concord worker`` against a local vendor that executes each key once.

A booking command runs (it books room P, then waits); a swarm works for it, and its
coordinator and a child each book a room through their own tool commands, which the
worker runs to ``succeeded``. Cancelling the booking command compensate_then_stop must
cancel every booking the swarm made as well as its own, newest first, each countered by a
compensating effect of the cancelled command and audited; the agents' commands keep their
outcome. Nothing of Postgres or DBOS is mocked.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from concord.migrate import migrate
from support.databases import temporary_database
from support.workers import Vendor, WorkerProcess, register_test_types, stop_workers, wait_for

BOOK = "book_room"
COMMAND_TERMINAL = {"succeeded", "failed", "cancelled", "expired"}


@dataclass
class Bench:
    conn: psycopg.Connection
    vendor: Vendor
    worker: WorkerProcess


@pytest.fixture(scope="module")
def bench(server_dsn: str) -> Iterator[Bench]:
    vendor = Vendor()
    with temporary_database(server_dsn, "concord_swarm_comp") as dsn:
        migrate(dsn)
        register_test_types(dsn)
        conn = psycopg.connect(dsn, autocommit=True, row_factory=dict_row)
        conn.execute("SET client_min_messages = warning")
        conn.execute(
            "SELECT concord.register_tool(%s)",
            (Jsonb({"name": BOOK, "command_type": "hotel.book", "description": "book a room"}),),
        )
        conn.execute(
            "UPDATE concord.runtime_queues SET worker_concurrency = least(worker_concurrency, 4)"
        )
        worker = WorkerProcess(
            dsn, executor_id=f"swarm-comp-{uuid.uuid4().hex[:8]}", vendor_url=vendor.url
        ).start(timeout=60)
        try:
            yield Bench(conn, vendor, worker)
        finally:
            stop_workers(worker)
            conn.close()
            vendor.close()


def one(conn: psycopg.Connection, query: str, *params: Any) -> Any:
    row = conn.execute(query, params).fetchone()
    return None if row is None else next(iter(row.values()))


def status(conn: psycopg.Connection, command_id: str) -> str:
    return one(conn, "SELECT status FROM concord.commands WHERE command_id = %s", command_id)


def wait_status(b: Bench, command_id: str, wanted: set[str], what: str) -> str:
    def reached() -> str | None:
        s = status(b.conn, command_id)
        return s if s in wanted else None

    try:
        return wait_for(reached, 60, interval=0.1, message=what)
    except AssertionError as e:
        raise AssertionError(
            f"{e}: command {command_id} is {status(b.conn, command_id)}\n{b.worker.log()}"
        ) from None


def booking_effect(conn: psycopg.Connection, command_id: str) -> dict[str, Any]:
    return conn.execute(
        "SELECT domain_effect_id, status, result FROM concord.domain_effects "
        "WHERE command_id = %s AND effect_type = 'hotel_booking.book'",
        (command_id,),
    ).fetchone()


def agent_books(b: Bench, agent: str, room: str) -> str:
    answer = one(
        b.conn,
        "SELECT concord.submit_agent_action(%s, %s)",
        agent,
        Jsonb({"tool_name": BOOK, "payload": {"room": room, "wait_steps": 0}, "reason": "book"}),
    )
    assert answer["decision"] == "queued", answer
    command_id = str(answer["command_id"])
    assert wait_status(b, command_id, COMMAND_TERMINAL, f"the booking of {room}") == "succeeded"
    return command_id


def test_cancelling_a_swarms_command_compensate_then_stop_counters_its_agents_bookings(
    bench: Bench,
) -> None:
    b = bench
    conn = b.conn
    parent = str(
        one(
            conn,
            "SELECT command_id FROM concord.submit_command('hotel.book', %s, 'alice')",
            Jsonb({"room": "P", "wait_steps": 600}),
        )
    )
    wait_for(
        lambda: (e := booking_effect(conn, parent)) is not None and e["status"] == "succeeded",
        60,
        interval=0.1,
        message="the parent's own booking",
    )
    swarm = str(
        one(
            conn,
            "SELECT concord.start_swarm(%s, %s)",
            parent,
            Jsonb(
                {
                    "name": f"bookers_{uuid.uuid4().hex[:8]}",
                    "objective": "book the rooms",
                    "coordinator": {
                        "agent_name": "lead",
                        "allowed_tools": [BOOK, "spawn_subagent"],
                        # hotel.book calls the vendor connector
                        "allowed_connectors": ["vendor"],
                    },
                }
            ),
        )
    )
    lead = str(
        one(
            conn,
            "SELECT coordinator_agent_run_id FROM concord.swarm_runs WHERE swarm_run_id = %s",
            swarm,
        )
    )
    spawned = one(
        conn,
        "SELECT concord.spawn_subagent(%s)",
        Jsonb(
            {
                "parent_agent_run_id": lead,
                "agent_name": "kid",
                "agent_role": "worker",
                "delegated_goal": "book a room",
                "allowed_tools": [BOOK],
                "allowed_connectors": ["vendor"],
            }
        ),
    )
    assert spawned["decision"] == "allowed", spawned
    kid = str(spawned["child_agent_run_id"])
    kid_command = agent_books(b, kid, "A")
    lead_command = agent_books(b, lead, "B")
    one(conn, "SELECT concord.finish_agent_run(%s, 'succeeded', '{\"booked\": \"A\"}')", kid)

    booked = {c: booking_effect(conn, c) for c in (parent, kid_command, lead_command)}
    assert status(conn, parent) == "running"
    assert one(conn, "SELECT concord.cancel_command(%s, 'alice', 'changed plans')", parent) == (
        "cancelling"
    )
    final = wait_status(b, parent, COMMAND_TERMINAL, "the parent's cancellation")
    error = one(conn, "SELECT error FROM concord.commands WHERE command_id = %s", parent)
    assert final == "cancelled", f"the parent ended {final}: {error}\n{b.worker.log()}"

    # every booking the swarm made is cancelled at the vendor, newest first, then the
    # parent's own
    newest_first = [lead_command, kid_command, parent]
    cancels = [r["body"] for r in b.vendor.requests if r["path"] == "/cancel"]
    wanted = [{"booking_id": booked[c]["result"]["json"]["id"]} for c in newest_first]
    assert [c for c in cancels if c in wanted] == wanted, (
        f"vendor cancels {cancels}, wanted {wanted} (lead's, kid's, the parent's own)"
    )
    # each countered by a compensating effect of the cancelled command, audited with it
    countered = {
        str(r["compensates_effect_id"]): (str(r["command_id"]), r["status"])
        for r in conn.execute(
            "SELECT compensates_effect_id, command_id, status FROM concord.domain_effects "
            "WHERE compensates_effect_id IS NOT NULL AND compensates_effect_id = ANY(%s)",
            ([booked[c]["domain_effect_id"] for c in newest_first],),
        ).fetchall()
    }
    assert countered == {
        str(booked[c]["domain_effect_id"]): (parent, "succeeded") for c in newest_first
    }, countered
    started = conn.execute(
        "SELECT payload FROM concord.domain_events WHERE command_id = %s "
        "AND event_type = 'compensation_started'",
        (parent,),
    ).fetchall()
    assert len(started) == 1, started
    assert started[0]["payload"]["effects"] == [
        str(booked[c]["domain_effect_id"]) for c in newest_first
    ], json.dumps(started[0]["payload"])
    assert started[0]["payload"]["commands"] == newest_first
    assert (
        one(
            conn,
            "SELECT count(*) FROM concord.domain_events WHERE command_id = %s "
            "AND event_type = 'compensation_completed'",
            parent,
        )
        == 1
    )
    # the agents' commands keep their outcome; the swarm is cancelled
    assert (status(conn, kid_command), status(conn, lead_command)) == ("succeeded", "succeeded")
    assert one(conn, "SELECT status FROM concord.swarm_runs WHERE swarm_run_id = %s", swarm) == (
        "cancelled"
    )


def test_a_swarms_command_that_declares_no_connector_counters_its_agents_vendor_bookings(
    bench: Bench,
) -> None:
    """The swarm's command here is ``rt.slow``, whose type declares no connector; its
    agents book through ``hotel.book`` (vendor). Cancelled ``compensate_then_stop``, its
    run counters their bookings through the vendor within the contract of the agents'
    commands (their type, their agents' scope): not refused as a connector its own type
    does not declare, which failed it (compensation halted) with the bookings standing."""
    b = bench
    conn = b.conn
    parent = str(
        one(
            conn,
            "SELECT command_id FROM concord.submit_command('rt.slow', %s, 'alice')",
            Jsonb({"steps": 600, "seconds": 0.1}),
        )
    )
    wait_status(b, parent, {"running"}, "the parent to run")
    swarm = str(
        one(
            conn,
            "SELECT concord.start_swarm(%s, %s)",
            parent,
            Jsonb(
                {
                    "name": f"planners_{uuid.uuid4().hex[:8]}",
                    "objective": "book a room",
                    "coordinator": {
                        "agent_name": "lead",
                        "allowed_tools": [BOOK],
                        "allowed_connectors": ["vendor"],
                    },
                }
            ),
        )
    )
    lead = str(
        one(
            conn,
            "SELECT coordinator_agent_run_id FROM concord.swarm_runs WHERE swarm_run_id = %s",
            swarm,
        )
    )
    booking = agent_books(b, lead, "C")
    booked = booking_effect(conn, booking)
    assert (
        one(
            conn,
            "SELECT concord.cancel_command(%s, 'alice', 'changed plans', 'compensate_then_stop')",
            parent,
        )
        == "cancelling"
    )
    final = wait_status(b, parent, COMMAND_TERMINAL, "the parent's cancellation")
    error = one(conn, "SELECT error FROM concord.commands WHERE command_id = %s", parent)
    assert final == "cancelled", f"the parent ended {final}: {error}\n{b.worker.log()}"
    cancels = [r["body"] for r in b.vendor.requests if r["path"] == "/cancel"]
    assert {"booking_id": booked["result"]["json"]["id"]} in cancels, cancels
    assert (
        one(
            conn,
            "SELECT status FROM concord.domain_effects WHERE compensates_effect_id = %s",
            booked["domain_effect_id"],
        )
        == "succeeded"
    )


def test_an_agents_booking_still_running_when_the_swarms_command_is_cancelled_is_countered_once(
    bench: Bench,
) -> None:
    """Spec 64.1, 65: an agent's command still running when its swarm's command is
    cancelled compensate_then_stop is cancelled in that mode too: its run counters its own
    booking, the parent's counters the parent's; each booking is cancelled at the vendor
    exactly once, by a compensating effect of one command, and both end cancelled."""
    b = bench
    conn = b.conn
    parent = str(
        one(
            conn,
            "SELECT command_id FROM concord.submit_command('hotel.book', %s, 'alice')",
            Jsonb({"room": "Q", "wait_steps": 600}),
        )
    )
    wait_for(
        lambda: (e := booking_effect(conn, parent)) is not None and e["status"] == "succeeded",
        60,
        interval=0.1,
        message="the parent's own booking",
    )
    swarm = str(
        one(
            conn,
            "SELECT concord.start_swarm(%s, %s)",
            parent,
            Jsonb(
                {
                    "name": f"slow_bookers_{uuid.uuid4().hex[:8]}",
                    "objective": "book a room",
                    "coordinator": {
                        "agent_name": "lead",
                        "allowed_tools": [BOOK],
                        "allowed_connectors": ["vendor"],
                    },
                }
            ),
        )
    )
    lead = str(
        one(
            conn,
            "SELECT coordinator_agent_run_id FROM concord.swarm_runs WHERE swarm_run_id = %s",
            swarm,
        )
    )
    answer = one(
        conn,
        "SELECT concord.submit_agent_action(%s, %s)",
        lead,
        Jsonb({"tool_name": BOOK, "payload": {"room": "R", "wait_steps": 600}, "reason": "book"}),
    )
    assert answer["decision"] == "queued", answer
    running = str(answer["command_id"])
    wait_for(
        lambda: (e := booking_effect(conn, running)) is not None and e["status"] == "succeeded",
        60,
        interval=0.1,
        message="the agent's booking, its command still running",
    )
    assert status(conn, running) == "running"
    booked = {c: booking_effect(conn, c) for c in (parent, running)}
    assert one(conn, "SELECT concord.cancel_command(%s, 'alice', 'stop it all')", parent) == (
        "cancelling"
    )
    for c in (parent, running):
        final = wait_status(b, c, COMMAND_TERMINAL, "the cancellations")
        error = one(conn, "SELECT error FROM concord.commands WHERE command_id = %s", c)
        assert final == "cancelled", f"{c} ended {final}: {error}\n{b.worker.log()}"
    assert (
        one(conn, "SELECT cancellation_mode FROM concord.commands WHERE command_id = %s", running)
        == "compensate_then_stop"
    )
    cancels = [r["body"] for r in b.vendor.requests if r["path"] == "/cancel"]
    for c in (parent, running):
        wanted = {"booking_id": booked[c]["result"]["json"]["id"]}
        assert cancels.count(wanted) == 1, (c, wanted, cancels)
        countered = conn.execute(
            "SELECT command_id, status FROM concord.domain_effects "
            "WHERE compensates_effect_id = %s",
            (booked[c]["domain_effect_id"],),
        ).fetchall()
        assert [(str(r["command_id"]), r["status"]) for r in countered] == [(c, "succeeded")], (
            c,
            countered,
        )
        assert (
            one(
                conn,
                "SELECT count(*) FROM concord.domain_events WHERE command_id = %s "
                "AND event_type = 'compensation_completed'",
                c,
            )
            == 1
        )
