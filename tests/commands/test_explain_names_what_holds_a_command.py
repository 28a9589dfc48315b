"""concord.explain (issue 15 section 3): one answer names why a command is where it is.

A command is held in each way a person asks about (an approval, missing input, an unmet
dependency, no live worker, a failure) and the answer names the reason, who or what can
move it and the facts behind it; a member of another organisation is told the command does
not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from concord import Client, NotFound
from support.workers import fail_as_the_worker

LIMIT = 500


@dataclass(frozen=True)
class Booking:
    command_type: str
    policy: str
    approval_type: str
    requester: str
    approvers: tuple[str, str]


@pytest.fixture
def booking(client: Client) -> Booking:
    """An asynchronous booking type whose policy asks for approval above LIMIT and for the
    hotel's name before that; no worker has an operation for it."""
    suffix = uuid.uuid4().hex[:12]
    requester, alice, bob = f"req_{suffix}", f"alice_{suffix}", f"bob_{suffix}"
    approval_type = client.register_approval_type(
        {
            "name": f"explain_approval_{suffix}",
            "required_fields": ["hotel_name"],
            "decision_values": ["approved", "rejected", "request_changes"],
            "expiration": {"default_minutes": 30},
            "approver": {"principals": [alice, bob, requester]},
            "resume": {"on_approved": "continue_workflow", "on_rejected": "fail"},
        }
    )
    policy = client.register_policy(
        {
            "name": f"explain_limit_{suffix}",
            "predicate": "$.payload.total_price > $limit",
            "vars": {"limit": LIMIT},
            "decision": "require_approval",
            "reasons": [f"Bookings above {LIMIT} need approval"],
            "approval_type": approval_type,
        }
    )
    command_type = client.register_command_type(
        {
            "command_type": f"test.explain_{suffix}",
            "async_required": True,
            "policy_checks": [policy],
            "payload_schema": {
                "type": "object",
                "properties": {
                    "hotel_name": {"type": "string"},
                    "total_price": {"type": "number"},
                },
            },
        }
    )
    return Booking(command_type, policy, approval_type, requester, (alice, bob))


def submit(client: Client, booking: Booking, **payload: Any) -> UUID:
    return client.submit_command(booking.command_type, payload, booking.requester).command_id


def reasons(answer: dict[str, Any]) -> list[str]:
    return [hold["reason"] for hold in answer["held_by"]]


def test_a_command_waiting_for_approval_names_the_approval_and_who_may_decide(
    client: Client, db: psycopg.Connection, booking: Booking
) -> None:
    command_id = submit(client, booking, hotel_name="Ritz", total_price=900)
    answer = client.explain(command_id)
    assert answer["status"] == "waiting_for_approval"
    assert reasons(answer) == ["approval_pending"]
    (approval,) = answer["approvals"]
    # the requester is listed on the approval type but may never decide its own command
    assert approval["may_decide"] == sorted(booking.approvers)
    assert approval["status"] == "pending"
    (hold,) = answer["held_by"]
    assert approval["approval_id"] in hold["detail"]
    assert booking.approvers[0] in hold["next_step"] and booking.requester not in hold["next_step"]
    assert answer["next_steps"] == [hold["next_step"]]

    (decision,) = answer["policies"]["decisions"]
    assert (decision["policy"], decision["decision"]) == (booking.policy, "require_approval")
    assert decision["reasons"] == [f"Bookings above {LIMIT} need approval"]
    assert answer["policies"]["decision"] == "require_approval"

    contract_version_id = db.execute(
        "SELECT contract_version_id FROM concord.commands WHERE command_id = %s", (command_id,)
    ).fetchone()[0]
    assert answer["contract"]["version_id"] == str(contract_version_id)
    assert answer["contract"]["command_type"] == booking.command_type
    assert answer["contract"]["status"] == "published"
    assert answer["requested"]["requested_by"] == booking.requester

    # approved, it is queued for a worker nobody runs: the answer moves on with it
    client.resolve_approval(approval["approval_id"], "approved", booking.approvers[0], "fine")
    answer = client.explain(command_id)
    assert answer["status"] == "queued"
    assert reasons(answer) == ["no_live_worker"]
    (approval,) = answer["approvals"]
    assert (approval["status"], approval["decided_by"]) == ("approved", booking.approvers[0])


def test_a_command_waiting_for_input_names_the_missing_fields_and_who_gives_them(
    client: Client, booking: Booking
) -> None:
    command_id = submit(client, booking, total_price=900)
    answer = client.explain(command_id)
    assert answer["status"] == "waiting_for_input"
    assert answer["missing_inputs"] == ["hotel_name"]
    assert reasons(answer) == ["input_missing"]
    (hold,) = answer["held_by"]
    assert "hotel_name" in hold["detail"]
    assert booking.requester in hold["next_step"] and "provide_input" in hold["next_step"]

    client.provide_input(command_id, {"hotel_name": "Ritz"}, booking.requester)
    answer = client.explain(command_id)
    assert (answer["missing_inputs"], reasons(answer)) == ([], ["approval_pending"])


def test_an_unmet_dependency_is_named_with_its_parent(client: Client, booking: Booking) -> None:
    parent = submit(client, booking, hotel_name="Ritz", total_price=100)
    child = submit(client, booking, hotel_name="Savoy", total_price=100)
    client.add_dependency(child, parent)
    answer = client.explain(child)
    assert answer["status"] == "queued"
    assert reasons(answer) == ["dependency_unmet", "no_live_worker"]
    hold = answer["held_by"][0]
    assert str(parent) in hold["detail"] and "succeeded" in hold["detail"]
    (dependency,) = answer["dependencies"]
    assert dependency == {
        "parent_command_id": str(parent),
        "parent_status": "queued",
        "required_status": "succeeded",
        "satisfied": False,
    }


def test_no_live_worker_is_named_until_a_worker_with_the_operation_is_up(
    client: Client, concord_dsn: str, booking: Booking
) -> None:
    command_id = submit(client, booking, hotel_name="Ritz", total_price=100)
    answer = client.explain(command_id)
    assert reasons(answer) == ["no_live_worker"]
    assert answer["runtime"]["live_workers"] == []
    assert booking.command_type in answer["held_by"][0]["detail"]

    executor = f"explain-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(concord_dsn, autocommit=True) as worker:
        worker.execute("SELECT pg_advisory_lock(concord._executor_lock_key(%s))", (executor,))
        worker.execute(
            "SELECT concord.runtime_heartbeat(%s, 'test', 'localhost', pg_backend_pid(), "
            "ARRAY['concord_default'], ARRAY[%s])",
            (executor, booking.command_type),
        )
        answer = client.explain(command_id)
        assert answer["runtime"]["live_workers"] == [executor]
        assert reasons(answer) == []
        assert answer["next_steps"] == []
    # the worker's session ended: it serves nothing any more
    assert reasons(client.explain(command_id)) == ["no_live_worker"]


def test_a_failed_command_names_its_error_and_whether_it_is_retried(
    client: Client, booking: Booking
) -> None:
    command_id = submit(client, booking, hotel_name="Ritz", total_price=900)
    (approval,) = client.explain(command_id)["approvals"]
    client.resolve_approval(approval["approval_id"], "rejected", booking.approvers[1], "too dear")
    answer = client.explain(command_id)
    assert answer["status"] == "failed"
    assert reasons(answer) == ["failed"]
    assert answer["attempts"]["error_class"] == "approval_rejected"
    assert answer["attempts"]["retryable"] is False
    (hold,) = answer["held_by"]
    assert "approval_rejected" in hold["detail"] and "not retryable" in hold["detail"]
    assert "submit a new command" in hold["next_step"]


def test_a_retryable_failure_names_the_retry_that_moves_it(
    client: Client, db: psycopg.Connection, booking: Booking
) -> None:
    command_id = submit(client, booking, hotel_name="Ritz", total_price=100)
    fail_as_the_worker(db, str(command_id), "timeout", "the vendor timed out")
    answer = client.explain(command_id)
    assert reasons(answer) == ["failed"]
    assert (answer["attempts"]["attempts"], answer["attempts"]["retryable"]) == (1, True)
    (hold,) = answer["held_by"]
    assert "the vendor timed out" in hold["detail"] and "1 of 3 attempt(s)" in hold["detail"]
    assert f"concord.retry_command('{command_id}')" in hold["next_step"]
    # the step it names moves it
    assert client.retry_command(command_id, "the vendor is back") == "queued"
    assert reasons(client.explain(command_id)) == ["no_live_worker"]


def test_explain_refuses_a_missing_or_null_command(client: Client) -> None:
    with pytest.raises(NotFound) as refused:
        client.explain(uuid.uuid4())
    assert refused.value.rule == "the_command_exists"
    with pytest.raises(Exception) as missing:
        client.explain(None)  # type: ignore[arg-type]
    assert getattr(missing.value, "sqlstate", None) == "CN008"


@pytest.fixture
def outsider_dsn(concord_dsn: str, db: psycopg.Connection) -> Iterator[tuple[str, str]]:
    """A login of another organisation's member, and a token for it."""
    suffix = uuid.uuid4().hex[:10]
    org, member, login = f"other-{suffix}", f"other-{suffix}", f"other_login_{suffix}"
    db.execute("SELECT concord.create_organisation(%s)", (org,))
    db.execute("SELECT concord.create_project(%s, 'main')", (org,))
    db.execute("SELECT concord.create_principal(%s)", (member,))
    db.execute("SELECT concord.add_member(%s, %s, 'owner')", (org, member))
    db.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE concord_app").format(sql.Identifier(login)))
    token = db.execute(
        "SELECT token FROM concord.create_api_token(%s, %s)", (member, timedelta(hours=1))
    ).fetchone()[0]
    try:
        yield make_conninfo(concord_dsn, user=login), token
    finally:
        db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (login,)
        )
        db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(login)))


def test_a_member_of_another_organisation_is_told_the_command_does_not_exist(
    client: Client, booking: Booking, outsider_dsn: tuple[str, str]
) -> None:
    command_id = submit(client, booking, hotel_name="Ritz", total_price=900)
    dsn, token = outsider_dsn
    with Client(dsn, token=token) as outsider:
        with pytest.raises(NotFound) as refused:
            outsider.explain(command_id)
        assert refused.value.rule == "the_command_exists"
