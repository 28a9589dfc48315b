"""The governance API (issue 3) through the Python client, against the real SQL: policies
route a submitted command, approvals are granted, rejected or sent back for input by
eligible people only, expire, and leave a decision history; grants and teams drive the
permission policy; plans and queues; two approvers racing on one approval.

Admin functions (register_*, grants, teams) run as the session's superuser.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql

from concord import (
    AlreadyResolved,
    ApprovalExpired,
    ApprovalResolution,
    Client,
    Decision,
    InvalidArgument,
    InvalidSpec,
    NotFound,
    NotPermitted,
    PendingApproval,
    PolicyEvaluation,
    StateConflict,
    UnknownCommandType,
)
from support.races import Race

PRICE_LIMIT = 500
REVIEW_PACKET_KEYS = {
    "action",
    "command_type",
    "requested_by",
    "why",
    "data_affected",
    "fields",
    "triggered_by",
    "after_approval",
    "risk_level",
    "expires_at",
}


@dataclass(frozen=True)
class Hotel:
    """A hotel booking type whose declarative policy asks for approval above a price."""

    command_type: str
    policy: str
    approval_type: str
    requester: str  # also listed as an approver: the requester may still never approve
    approvers: tuple[str, str]  # eligible, not the requester
    outsider: str  # not eligible


@pytest.fixture
def hotel(client: Client) -> Hotel:
    suffix = uuid.uuid4().hex[:12]
    requester, alice, bob = f"carol_{suffix}", f"alice_{suffix}", f"bob_{suffix}"
    approval_type = client.register_approval_type(
        {
            "name": f"hotel_booking_approval_{suffix}",
            "version": "1.0.0",
            "description": "A hotel booking above the limit",
            "risk_level": "high",
            "required_fields": ["hotel_name", "total_price"],
            "decision_values": ["approved", "rejected", "request_changes"],
            "expiration": {"default_minutes": 30},
            "approver": {"principals": [alice, bob, requester]},
            "resume": {
                "on_approved": "continue_workflow",
                "on_rejected": "fail",
                "on_request_changes": "request_input",
            },
        }
    )
    policy = client.register_policy(
        {
            "name": f"hotel_price_limit_{suffix}",
            "description": "Bookings above the limit need approval",
            "predicate": "$.payload.total_price > $limit",
            "vars": {"limit": PRICE_LIMIT},
            "decision": "require_approval",
            "reasons": [f"Bookings above ${PRICE_LIMIT} need approval"],
            "approval_type": approval_type,
        }
    )
    command_type = client.register_command_type(
        {
            "command_type": f"test.hotel_{suffix}",
            "async_required": True,
            "policy_checks": [policy],
            "payload_schema": {
                "type": "object",
                "properties": {
                    "hotel_name": {"type": "string"},
                    "total_price": {"type": "number"},
                    "note": {"type": "string"},
                },
            },
        }
    )
    return Hotel(
        command_type=command_type,
        policy=policy,
        approval_type=approval_type,
        requester=requester,
        approvers=(alice, bob),
        outsider=f"dave_{suffix}",
    )


def book(client: Client, hotel: Hotel, price: float, **payload: Any) -> UUID:
    result = client.submit_command(
        hotel.command_type,
        {"hotel_name": "Grand Hotel", "total_price": price, **payload},
        hotel.requester,
    )
    return result.command_id


def pending_for(client: Client, approver: str, command_id: UUID) -> list[PendingApproval]:
    return [p for p in client.pending_approvals(approver) if p.command_id == command_id]


def the_approval(client: Client, hotel: Hotel, command_id: UUID) -> PendingApproval:
    (pending,) = pending_for(client, hotel.approvers[0], command_id)
    return pending


def status_of(client: Client, command_id: UUID) -> str:
    return client.get_command(command_id).status


def approval_row(db: psycopg.Connection, approval_id: UUID) -> dict[str, Any]:
    cur = db.execute(
        "SELECT status, decision, decided_by, reason FROM concord.approvals WHERE approval_id = %s",
        (approval_id,),
    )
    names = [c.name for c in cur.description]
    return dict(zip(names, cur.fetchone(), strict=True))


def assert_aware(value: object) -> None:
    assert isinstance(value, datetime), value
    assert value.tzinfo is not None and value.utcoffset() is not None, value


# -- registration --------------------------------------------------------------------


def test_register_policy_is_a_no_op_for_the_same_spec_and_a_new_version_for_a_changed_one(
    client: Client, db: psycopg.Connection, hotel: Hotel
) -> None:
    """Rule: re-registering a policy's spec changes nothing; a changed spec bumps its version
    and checksum."""
    spec = {
        "name": f"limit_{uuid.uuid4().hex[:12]}",
        "predicate": "$.payload.total_price > $limit",
        "vars": {"limit": 100},
        "decision": "deny",
        "reasons": ["too expensive"],
    }

    def version() -> tuple[int, str]:
        return db.execute(
            "SELECT version, checksum FROM concord.policies WHERE name = %s", (spec["name"],)
        ).fetchone()

    assert client.register_policy(spec) == spec["name"]
    first = version()
    assert client.register_policy(dict(spec)) == spec["name"]
    assert version() == first
    assert client.register_policy({**spec, "vars": {"limit": 200}}) == spec["name"]
    second = version()
    assert second[0] == first[0] + 1
    assert second[1] != first[1]


def test_register_policy_refuses_a_bad_spec_listing_every_problem(client: Client) -> None:
    """Rule: a bad policy spec is CN005 with one DETAIL line per problem."""
    with pytest.raises(InvalidSpec) as caught:
        client.register_policy(
            {
                "name": f"bad_{uuid.uuid4().hex[:12]}",
                "predicate": "$.payload.total_price > 1",
                "decision": "maybe",
                "on_unknown": "perhaps",
            }
        )
    problems = [line for line in (caught.value.detail or "").splitlines() if line.startswith("- ")]
    assert len(problems) >= 2, caught.value.detail


def test_require_approval_without_an_approval_type_is_a_bad_spec(client: Client) -> None:
    with pytest.raises(InvalidSpec):
        client.register_policy(
            {
                "name": f"bad_{uuid.uuid4().hex[:12]}",
                "predicate": "$.payload.total_price > 1",
                "decision": "require_approval",
            }
        )


def test_register_approval_type_returns_its_name_and_refuses_bad_decision_values(
    client: Client,
) -> None:
    """Rule: decision_values must include approved and rejected (spec 107.3)."""
    name = f"appr_{uuid.uuid4().hex[:12]}"
    spec = {"name": name, "approver": {"team": f"team:{name}"}}
    assert client.register_approval_type(spec) == name
    assert client.register_approval_type(dict(spec)) == name
    with pytest.raises(InvalidSpec):
        client.register_approval_type(
            {
                "name": f"appr_{uuid.uuid4().hex[:12]}",
                "decision_values": ["approved"],
                "approver": {"principals": ["alice"]},
            }
        )


# -- approval: the happy path --------------------------------------------------------


def test_a_price_within_the_limit_is_queued_at_once(client: Client, hotel: Hotel) -> None:
    command_id = book(client, hotel, PRICE_LIMIT - 1)
    assert status_of(client, command_id) == "queued"
    assert client.pending_approvals(hotel.approvers[0]) == []


def test_a_price_above_the_limit_waits_for_an_approval_another_user_grants(
    client: Client, db: psycopg.Connection, hotel: Hotel
) -> None:
    """Rule: require_approval -> waiting_for_approval; the approval is offered to every
    eligible approver but never to the requester; an eligible approver's approval queues
    the command."""
    alice, bob = hotel.approvers
    command_id = book(client, hotel, 900)
    assert status_of(client, command_id) == "waiting_for_approval"

    offered = [p for p in client.pending_approvals() if p.command_id == command_id]
    assert sorted(p.approver for p in offered) == sorted([alice, bob])
    assert pending_for(client, hotel.requester, command_id) == []
    assert pending_for(client, hotel.outsider, command_id) == []

    pending = the_approval(client, hotel, command_id)
    assert isinstance(pending, PendingApproval)
    assert pending.approver == alice
    assert pending.approval_type == hotel.approval_type
    assert pending.requested_by == hotel.requester
    assert isinstance(pending.approval_id, UUID)
    assert REVIEW_PACKET_KEYS <= set(pending.review_packet), pending.review_packet
    assert pending.review_packet["fields"] == {"hotel_name": "Grand Hotel", "total_price": 900}
    assert hotel.policy in pending.review_packet["triggered_by"]
    assert_aware(pending.created_at)
    assert_aware(pending.expires_at)
    assert timedelta(minutes=29) <= pending.expires_at - pending.created_at <= timedelta(minutes=31)

    resolution = client.resolve_approval(pending.approval_id, "approved", bob, "fine")
    assert resolution == ApprovalResolution(
        approval_id=pending.approval_id,
        command_id=command_id,
        status="approved",
        command_status="queued",
    )
    assert status_of(client, command_id) == "queued"
    assert pending_for(client, alice, command_id) == []
    assert approval_row(db, pending.approval_id) == {
        "status": "approved",
        "decision": "approved",
        "decided_by": bob,
        "reason": "fine",
    }


def test_pending_approvals_are_listed_oldest_first(client: Client, hotel: Hotel) -> None:
    first = book(client, hotel, 900)
    second = book(client, hotel, 901)
    mine = [
        p.command_id
        for p in client.pending_approvals(hotel.approvers[1])
        if p.command_id in (first, second)
    ]
    assert mine == [first, second]


# -- approval: who may decide, and only once ----------------------------------------


def test_the_requester_and_an_ineligible_user_may_not_approve(
    client: Client, db: psycopg.Connection, hotel: Hotel
) -> None:
    """Rule: nobody approves their own command, even when listed as an approver; only
    eligible approvers decide (CN012)."""
    command_id = book(client, hotel, 900)
    approval_id = the_approval(client, hotel, command_id).approval_id
    with pytest.raises(NotPermitted):
        client.resolve_approval(approval_id, "approved", hotel.requester)
    with pytest.raises(NotPermitted):
        client.resolve_approval(approval_id, "approved", hotel.outsider)
    assert approval_row(db, approval_id)["status"] == "pending"
    assert status_of(client, command_id) == "waiting_for_approval"


def test_a_second_resolution_is_already_resolved(client: Client, hotel: Hotel) -> None:
    """Rule: an approval is decided once (CN013)."""
    alice, bob = hotel.approvers
    command_id = book(client, hotel, 900)
    approval_id = the_approval(client, hotel, command_id).approval_id
    client.resolve_approval(approval_id, "approved", alice)
    with pytest.raises(AlreadyResolved):
        client.resolve_approval(approval_id, "rejected", bob)
    with pytest.raises(AlreadyResolved):
        client.resolve_approval(approval_id, "approved", alice)
    assert status_of(client, command_id) == "queued"


def test_an_unknown_approval_is_not_found_and_an_unknown_decision_is_invalid(
    client: Client, hotel: Hotel
) -> None:
    with pytest.raises(NotFound):
        client.resolve_approval(uuid.uuid4(), "approved", hotel.approvers[0])
    command_id = book(client, hotel, 900)
    approval_id = the_approval(client, hotel, command_id).approval_id
    with pytest.raises(InvalidArgument):
        client.resolve_approval(approval_id, "maybe", hotel.approvers[0])


def test_a_decision_the_type_does_not_offer_is_invalid(client: Client, hotel: Hotel) -> None:
    """Rule: the decision must be one of the approval type's decision_values."""
    suffix = uuid.uuid4().hex[:12]
    approval_type = client.register_approval_type(
        {
            "name": f"yes_no_{suffix}",
            "decision_values": ["approved", "rejected"],
            "approver": {"principals": [hotel.approvers[0]]},
        }
    )
    policy = client.register_policy(
        {
            "name": f"always_{suffix}",
            "predicate": "$.payload.total_price > 0",
            "decision": "require_approval",
            "approval_type": approval_type,
        }
    )
    command_type = client.register_command_type(
        {"command_type": f"test.yes_no_{suffix}", "async_required": True, "policy_checks": [policy]}
    )
    command_id = client.submit_command(command_type, {"total_price": 1}, "zed").command_id
    (pending,) = pending_for(client, hotel.approvers[0], command_id)
    with pytest.raises(InvalidArgument):
        client.resolve_approval(pending.approval_id, "request_changes", hotel.approvers[0])
    assert client.resolve_approval(pending.approval_id, "approved", hotel.approvers[0]).status == (
        "approved"
    )


def test_a_rejection_fails_the_command_with_approval_rejected(client: Client, hotel: Hotel) -> None:
    command_id = book(client, hotel, 900)
    approval_id = the_approval(client, hotel, command_id).approval_id
    resolution = client.resolve_approval(approval_id, "rejected", hotel.approvers[1], "no")
    assert (resolution.status, resolution.command_status) == ("rejected", "failed")
    command = client.get_command(command_id)
    assert (command.status, command.error_class) == ("failed", "approval_rejected")


# -- input ---------------------------------------------------------------------------


def test_request_changes_waits_for_input_and_provide_input_evaluates_again(
    client: Client, hotel: Hotel
) -> None:
    """Rule: request_changes sends the command back to its requester; the requester's patch
    is merged (RFC 7396) and the policies run again."""
    command_id = book(client, hotel, 900, note="sea view")
    approval_id = the_approval(client, hotel, command_id).approval_id
    resolution = client.resolve_approval(
        approval_id, "request_changes", hotel.approvers[0], "too pricey"
    )
    assert (resolution.status, resolution.command_status) == (
        "changes_requested",
        "waiting_for_input",
    )
    assert status_of(client, command_id) == "waiting_for_input"

    with pytest.raises(NotPermitted):
        client.provide_input(command_id, {"total_price": 300}, hotel.approvers[0])
    with pytest.raises(InvalidArgument):
        client.provide_input(command_id, ["not", "an", "object"], hotel.requester)  # type: ignore[arg-type]
    assert status_of(client, command_id) == "waiting_for_input"

    evaluation = client.provide_input(
        command_id, {"total_price": 300, "note": None}, hotel.requester
    )
    assert isinstance(evaluation, PolicyEvaluation)
    assert (evaluation.decision, evaluation.status) == ("allow", "queued")
    assert isinstance(evaluation.evaluation_id, UUID)
    assert evaluation.missing_fields == [] and evaluation.approval_types == []
    assert evaluation.approval_ids == []
    assert [p["policy"] for p in evaluation.policies] == [hotel.policy], evaluation.policies
    assert client.get_command(command_id).payload == {
        "hotel_name": "Grand Hotel",
        "total_price": 300,
    }

    with pytest.raises(StateConflict):
        client.provide_input(command_id, {"total_price": 1}, hotel.requester)


def test_missing_fields_of_the_approval_type_are_asked_for_before_the_approval(
    client: Client, db: psycopg.Connection, hotel: Hotel
) -> None:
    """Rule: require_approval whose approval type needs fields the payload lacks becomes
    require_input for those fields; once given, the approval is requested."""
    command_id = client.submit_command(
        hotel.command_type, {"total_price": 900}, hotel.requester
    ).command_id
    assert status_of(client, command_id) == "waiting_for_input"
    stored = db.execute(
        "SELECT policy_evaluation FROM concord.commands WHERE command_id = %s", (command_id,)
    ).fetchone()[0]
    assert stored["decision"] == "require_input"
    assert stored["missing_fields"] == ["hotel_name"]

    with pytest.raises(InvalidSpec):  # the schema wants a string: nothing changes
        client.provide_input(command_id, {"hotel_name": 42}, hotel.requester)
    assert status_of(client, command_id) == "waiting_for_input"

    evaluation = client.provide_input(command_id, {"hotel_name": "Ritz"}, hotel.requester)
    assert (evaluation.decision, evaluation.status) == ("require_approval", "waiting_for_approval")
    assert evaluation.approval_types == [hotel.approval_type]
    assert evaluation.reasons == [f"Bookings above ${PRICE_LIMIT} need approval"]
    pending = the_approval(client, hotel, command_id)
    assert evaluation.approval_ids == [pending.approval_id]
    assert pending.review_packet["fields"]["hotel_name"] == "Ritz"


# -- expiry --------------------------------------------------------------------------


def test_expire_approvals_expires_the_approval_and_its_command(
    client: Client, db: psycopg.Connection, hotel: Hotel
) -> None:
    """Rule: expire_approvals(at) expires pending approvals due by ``at`` and their waiting
    commands; an expired approval can no longer be resolved (CN013: it is not pending)."""
    command_id = book(client, hotel, 900)
    pending = the_approval(client, hotel, command_id)

    assert isinstance(client.expire_approvals(), int)  # now(): not due for 30 minutes
    assert approval_row(db, pending.approval_id)["status"] == "pending"
    assert client.expire_approvals(pending.expires_at - timedelta(seconds=1)) >= 0
    assert approval_row(db, pending.approval_id)["status"] == "pending"

    assert client.expire_approvals(at=pending.expires_at) >= 1
    assert approval_row(db, pending.approval_id)["status"] == "expired"
    assert status_of(client, command_id) == "expired"
    assert pending_for(client, hotel.approvers[0], command_id) == []
    with pytest.raises(AlreadyResolved):
        client.resolve_approval(pending.approval_id, "approved", hotel.approvers[0])


def test_resolving_after_expires_at_is_approval_expired_even_before_expire_approvals(
    client: Client, db: psycopg.Connection, hotel: Hotel
) -> None:
    """Rule: past expires_at an approval cannot be decided, whether or not
    expire_approvals has run (CN014). Time passing is simulated by moving expires_at into
    the past behind the API (as superuser, triggers off for that one statement)."""
    command_id = book(client, hotel, 900)
    approval_id = the_approval(client, hotel, command_id).approval_id
    with db.transaction():
        db.execute("SET LOCAL session_replication_role = replica")
        db.execute(
            "UPDATE concord.approvals SET expires_at = now() - interval '1 second' "
            "WHERE approval_id = %s",
            (approval_id,),
        )
    with pytest.raises(ApprovalExpired):
        client.resolve_approval(approval_id, "approved", hotel.approvers[0])
    assert approval_row(db, approval_id)["status"] == "pending"
    assert status_of(client, command_id) == "waiting_for_approval"


# -- grants, teams and the permission policy -----------------------------------------


def test_grants_and_team_membership_drive_the_permission_policy(
    client: Client, db: psycopg.Connection
) -> None:
    """Rule: the permission policy allows a requester holding a grant for the type, directly
    or through a team; anyone else is denied (failed, policy_denied)."""
    suffix = uuid.uuid4().hex[:12]
    command_type = client.register_command_type(
        {
            "command_type": f"test.guarded_{suffix}",
            "async_required": True,
            "policy_checks": ["permission"],
        }
    )
    user, team = f"erin_{suffix}", f"team:ops_{suffix}"

    def submit() -> str:
        result = client.submit_command(command_type, {}, user)
        command = client.get_command(result.command_id)
        if command.status == "failed":
            assert command.error_class == "policy_denied"
        return command.status

    assert submit() == "failed"

    assert client.grant_command_type(command_type, team) is True
    assert client.grant_command_type(command_type, team) is False
    assert submit() == "failed"
    assert client.add_team_member(team, user) is True
    assert client.add_team_member(team, user) is False
    assert submit() == "queued"
    assert client.remove_team_member(team, user) is True
    assert client.remove_team_member(team, user) is False
    assert submit() == "failed"

    assert client.grant_command_type(command_type, user) is True
    assert submit() == "queued"
    assert client.revoke_command_type(command_type, user) is True
    assert client.revoke_command_type(command_type, user) is False
    assert submit() == "failed"
    assert client.revoke_command_type(command_type, team) is True

    audited = db.execute(
        "SELECT event_type, count(*) FROM concord.domain_events "
        "WHERE target_type = 'command_type' AND target_id = %s "
        "AND event_type IN ('command_type_granted', 'command_type_revoked') GROUP BY 1",
        (command_type,),
    ).fetchall()
    assert dict(audited) == {"command_type_granted": 2, "command_type_revoked": 2}


def test_grant_refuses_an_unknown_command_type_and_a_blank_principal(client: Client) -> None:
    with pytest.raises(UnknownCommandType):
        client.grant_command_type(f"test.nope_{uuid.uuid4().hex[:12]}", "someone")
    command_type = client.register_command_type(
        {"command_type": f"test.grant_{uuid.uuid4().hex[:12]}", "sync_allowed": True}
    )
    with pytest.raises(InvalidArgument):
        client.grant_command_type(command_type, "  ")
    with pytest.raises(InvalidArgument):
        client.revoke_command_type(command_type, "")


def test_evaluate_policies_runs_again_on_a_validated_command(client: Client) -> None:
    """Rule: evaluate_policies re-runs a validated command's policies and routes it (here: a
    revoked grant now denies it); in any other status it is CN011."""
    suffix = uuid.uuid4().hex[:12]
    command_type = client.register_command_type(
        {
            "command_type": f"test.sync_guarded_{suffix}",
            "sync_allowed": True,
            "policy_checks": ["permission"],
        }
    )
    user = f"frank_{suffix}"
    client.grant_command_type(command_type, user)
    command_id = client.submit_command(command_type, {}, user).command_id
    assert status_of(client, command_id) == "validated"

    again = client.evaluate_policies(command_id)
    assert (again.decision, again.status) == ("allow", "validated")
    assert [p["policy"] for p in again.policies] == ["permission"]

    client.revoke_command_type(command_type, user)
    denied = client.evaluate_policies(command_id)
    assert (denied.decision, denied.status) == ("deny", "failed")
    assert denied.reasons, denied
    assert client.get_command(command_id).error_class == "policy_denied"

    with pytest.raises(StateConflict):
        client.evaluate_policies(command_id)


def test_evaluate_policies_of_a_type_without_policies_allows_and_records_nothing(
    client: Client, db: psycopg.Connection
) -> None:
    command_type = client.register_command_type(
        {"command_type": f"test.free_{uuid.uuid4().hex[:12]}", "sync_allowed": True}
    )
    command_id = client.submit_command(command_type, {}, "gina").command_id
    evaluation = client.evaluate_policies(command_id)
    assert (evaluation.decision, evaluation.status) == ("allow", "validated")
    assert evaluation.policies == []
    recorded = db.execute(
        "SELECT count(*) FROM concord.policy_decisions WHERE command_id = %s", (command_id,)
    ).fetchone()[0]
    assert recorded == 0


# -- executable policies -------------------------------------------------------------


@pytest.fixture
def policy_schema(db: psycopg.Connection) -> Iterator[str]:
    name = f"test_policies_{uuid.uuid4().hex[:12]}"
    db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    # Concord runs policies as concord_owner: a user's policy schema must be usable by it.
    db.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO concord_owner").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def test_an_executable_policy_decides_and_one_that_raises_denies(
    client: Client, db: psycopg.Connection, policy_schema: str
) -> None:
    """Rule: an executable policy's answer routes the command; a policy function that
    raises denies (fail closed)."""
    schema = sql.Identifier(policy_schema)
    db.execute(
        sql.SQL(
            "CREATE FUNCTION {}.needs_manager(command jsonb, context jsonb) RETURNS jsonb "
            "LANGUAGE sql AS $$ SELECT CASE WHEN command -> 'payload' ? 'manager' "
            "THEN jsonb_build_object('decision', 'allow') "
            "ELSE jsonb_build_object('decision', 'require_input', "
            "'reasons', jsonb_build_array('a manager must be named'), "
            "'missing_fields', jsonb_build_array('manager')) END $$"
        ).format(schema)
    )
    db.execute(
        sql.SQL(
            "CREATE FUNCTION {}.broken(command jsonb, context jsonb) RETURNS jsonb "
            "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'policy engine down'; END $$"
        ).format(schema)
    )
    suffix = uuid.uuid4().hex[:12]
    needs_manager = client.register_policy(
        {"name": f"needs_manager_{suffix}", "function": f"{policy_schema}.needs_manager"}
    )
    broken = client.register_policy(
        {"name": f"broken_{suffix}", "function": f"{policy_schema}.broken"}
    )
    with pytest.raises(InvalidSpec):
        client.register_policy(
            {"name": f"ghost_{suffix}", "function": f"{policy_schema}.does_not_exist"}
        )

    asks = client.register_command_type(
        {
            "command_type": f"test.asks_{suffix}",
            "async_required": True,
            "policy_checks": [needs_manager],
        }
    )
    command_id = client.submit_command(asks, {}, "hank").command_id
    assert status_of(client, command_id) == "waiting_for_input"
    evaluation = client.provide_input(command_id, {"manager": "ida"}, "hank")
    assert (evaluation.decision, evaluation.status) == ("allow", "queued")

    fails = client.register_command_type(
        {"command_type": f"test.fails_{suffix}", "async_required": True, "policy_checks": [broken]}
    )
    command = client.get_command(client.submit_command(fails, {}, "hank").command_id)
    assert (command.status, command.error_class) == ("failed", "policy_denied")
    assert "policy engine down" in json.dumps(command.error_detail) + (command.error or "")


# -- decision history and notifications ----------------------------------------------


def test_decision_history_lists_policy_then_approval_decisions(
    client: Client, hotel: Hotel
) -> None:
    alice, _ = hotel.approvers
    command_id = book(client, hotel, 900)
    approval_id = the_approval(client, hotel, command_id).approval_id
    client.resolve_approval(approval_id, "approved", alice, "ok")

    history = client.decision_history(command_id)
    assert all(isinstance(d, Decision) for d in history)
    assert [(d.kind, d.name, d.decision) for d in history] == [
        ("policy", hotel.policy, "require_approval"),
        ("approval", hotel.approval_type, "approved"),
    ]
    policy, approval = history
    assert policy.command_id == approval.command_id == command_id
    assert policy.evaluation_id is not None and policy.evaluation_id == approval.evaluation_id
    assert approval.actor == alice
    assert policy.decided_at <= approval.decided_at
    assert_aware(approval.decided_at)
    assert approval.approval_id == approval_id and policy.approval_id is None
    assert isinstance(policy.decision_id, int) and approval.decision_id is None
    assert client.decision_history(uuid.uuid4()) == []


def test_pending_approvals_and_commands_carry_what_the_sql_returns(
    client: Client, hotel: Hotel
) -> None:
    command_id = book(client, hotel, 900)
    pending = the_approval(client, hotel, command_id)
    command = client.get_command(command_id)
    assert pending.command_type == command.command_type == hotel.command_type
    assert pending.trace_id == command.trace_id
    assert command.policy_evaluation is not None
    assert command.policy_evaluation["decision"] == "require_approval"
    assert command.plan is None
    plan = client.plan_command(command_id)
    assert client.get_command(command_id).plan == plan


def test_a_resolution_is_announced_on_concord_approvals(
    client: Client, concord_dsn: str, hotel: Hotel
) -> None:
    command_id = book(client, hotel, 900)
    approval_id = the_approval(client, hotel, command_id).approval_id
    with psycopg.connect(concord_dsn, autocommit=True) as listener:
        listener.execute("LISTEN concord_approvals")
        client.resolve_approval(approval_id, "approved", hotel.approvers[0])
        payloads = [json.loads(n.payload) for n in listener.notifies(timeout=5)]
    expected = {
        "approval_id": str(approval_id),
        "command_id": str(command_id),
        "status": "approved",
        "command_status": "queued",
    }
    assert any(expected.items() <= p.items() for p in payloads), payloads


# -- plans and queues ----------------------------------------------------------------


def test_plan_command_returns_and_stores_the_execution_plan(
    client: Client, db: psycopg.Connection, types
) -> None:
    command_id = client.submit_command(types.async_type, types.valid_payload, "jo").command_id
    plan = client.plan_command(command_id)
    assert plan["command_id"] == str(command_id)
    assert plan["command_type"] == types.async_type
    assert plan["execution_mode"] == "async"
    assert plan["primitives"] == client.map_task_to_primitives(types.async_type)
    assert plan["steps"], plan
    for step in plan["steps"]:
        assert {"step_id", "primitive", "function_name", "depends_on", "metadata"} <= set(step)
    assert isinstance(plan["queues"], dict)
    stored = db.execute(
        "SELECT plan FROM concord.commands WHERE command_id = %s", (command_id,)
    ).fetchone()[0]
    assert stored == plan

    sync_id = client.submit_command(types.sync_type, {}, "jo").command_id
    assert client.plan_command(sync_id)["execution_mode"] == "sync"
    with pytest.raises(NotFound):
        client.plan_command(uuid.uuid4())


def test_plan_of_a_command_waiting_for_approval_is_approval_gated(
    client: Client, hotel: Hotel
) -> None:
    command_id = book(client, hotel, 900)
    assert client.plan_command(command_id)["execution_mode"] == "approval_gated_async"


@pytest.mark.parametrize(
    ("effect_type", "queue"),
    [
        ("connector.slack.post_message", "connector_calls"),
        ("agent.run", "agent_runs"),
        ("agent.run_tool", "agent_runs"),
        ("agent.spawn_child", "swarm_children"),
        ("notification.email", "notifications"),
        ("report.generate", "concord_default"),
    ],
)
def test_choose_queue_maps_effect_types_to_queues(
    client: Client, effect_type: str, queue: str
) -> None:
    assert client.choose_queue(effect_type) == queue


# -- concurrency ---------------------------------------------------------------------


APPROVAL_ROW = "SELECT 1 FROM concord.approvals WHERE approval_id = %s FOR UPDATE"


def race_resolutions(
    race: Race, racers: list[Client], approval_id: UUID, decisions: list[tuple[str, str]]
) -> list[ApprovalResolution | BaseException | None]:
    """Each racer, on its own connection, resolves ``approval_id`` with its (decision,
    actor), queued in order behind the approval row the race helper holds, then let go.
    Returns what each got."""
    outcomes = race.behind(
        APPROVAL_ROW,
        (approval_id,),
        [
            lambda _, racer=racer, decision=decision: racer.resolve_approval(approval_id, *decision)
            for racer, decision in zip(racers, decisions, strict=True)
        ],
    )
    return [o.value if o.ok else o.error for o in outcomes]


def test_two_approvers_racing_on_one_approval_exactly_one_wins(
    client: Client, concord_dsn: str, db: psycopg.Connection, hotel: Hotel
) -> None:
    """Rule: of two eligible approvers deciding the same approval at the same moment on
    separate connections, exactly one wins; the other gets CN013; the command follows the
    winner's decision. Each approver goes first once."""
    alice, bob = hotel.approvers
    with Race(concord_dsn, 2) as race:
        racers = [Client(race.dsn_for(i), min_size=1, max_size=1) for i in range(2)]
        try:
            for round_ in range(2):
                command_id = book(client, hotel, 900)
                approval_id = the_approval(client, hotel, command_id).approval_id
                decisions = [("approved", alice), ("rejected", bob)]
                if round_ % 2:
                    decisions.reverse()
                outcomes = race_resolutions(race, racers, approval_id, decisions)

                won = [i for i, o in enumerate(outcomes) if isinstance(o, ApprovalResolution)]
                assert won == [0], outcomes
                (winner,) = won
                loser = outcomes[1 - winner]
                assert isinstance(loser, AlreadyResolved), loser
                assert loser.sqlstate == "CN013"

                decision, actor = decisions[winner]
                expected = {"approved": "queued", "rejected": "failed"}[decision]
                assert outcomes[winner].command_status == expected
                assert status_of(client, command_id) == expected
                row = approval_row(db, approval_id)
                assert (row["decision"], row["decided_by"]) == (decision, actor)
                approvals = [d for d in client.decision_history(command_id) if d.kind == "approval"]
                assert [(d.decision, d.actor) for d in approvals] == [(decision, actor)]
        finally:
            for racer in racers:
                racer.close()


def test_only_the_owner_expires_approvals_ahead_of_time(
    client: Client, hotel: Hotel, concord_dsn: str
) -> None:
    """An application (a login role in concord_app) expires what is due, never what is
    still open: a future `at` is CN012 and the approval stays pending."""
    command_id = book(client, hotel, 900)
    approval = the_approval(client, hotel, command_id)
    role = f"app_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(concord_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN IN ROLE concord_app").format(sql.Identifier(role))
        )
        try:
            conn.execute(sql.SQL("SET SESSION AUTHORIZATION {}").format(sql.Identifier(role)))
            with pytest.raises(psycopg.Error) as caught:
                conn.execute("SELECT concord.expire_approvals(now() + interval '1 day')")
            assert caught.value.sqlstate == "CN012", caught.value
            # what is due may be expired (other tests' approvals); ours is not due
            conn.execute("SELECT concord.expire_approvals()")
        finally:
            conn.execute("RESET SESSION AUTHORIZATION")
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    assert status_of(client, command_id) == "waiting_for_approval"
    assert [p.approval_id for p in pending_for(client, hotel.approvers[0], command_id)] == [
        approval.approval_id
    ]
