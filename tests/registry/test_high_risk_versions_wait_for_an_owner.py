"""A high-risk registry version is published only after another owner of its organisation
approves (spec 111.3, 114): its publication command waits for approval; the owner who
created and asked for it may not approve it, nor may a member who is no owner; another
owner may, and then the worker's workflow publishes it with ``approved_by`` naming that
owner. An organisation with a single owner cannot publish one at all: nobody could approve
it, so the publication is refused up front with a clear error. Everyone acts through an
API token on a login mapped to no principal.
"""

from __future__ import annotations

import pytest

from concord import NotPermitted
from support.registry import unique, wait_command


def high_risk_version(client, org, prefix: str = "hr_tool") -> tuple[str, str]:
    """A tool of ``org`` whose manifest says it is high-risk, created by ``client``'s
    principal: its name and draft version."""
    name = unique(prefix)
    client.create_registry_entity("tool", name, "Pays invoices", "finance",
                                  organisation=org.name)
    version_id = client.create_registry_version(
        "tool", name, "1.0.0",
        {"mode": "sync", "side_effect": "external_write", "risk_level": "high"},
    )
    return name, str(version_id)


def test_a_high_risk_version_waits_for_another_owner(
    registry_worker, rdb, orgs
) -> None:
    """Rules approver_is_not_the_requester (the creator and requester does not approve)
    and a_registry_change_is_allowed_by_its_policies (the approval gate)."""
    ann, ben, mia, abe = unique("ann"), unique("ben"), unique("mia"), unique("abe")
    org = orgs({ann: "owner", ben: "owner", mia: "member", abe: "approver"})
    a, b, m, ap = org.client(ann), org.client(ben), org.client(mia), org.client(abe)
    _, version_id = high_risk_version(a, org)

    # waiting for a person answers a caller at once, even one who would wait a minute
    answer = a.publish_registry_version(version_id, wait=60)
    assert answer["command_status"] == "waiting_for_approval", answer
    assert answer["finished"] is False and answer["timed_out"] is False
    assert answer["version"]["status"] == "pending_approval"
    assert answer["version"]["approval_required"] is True
    approval_id = answer["approval_id"]
    assert approval_id
    command_id = answer["command_id"]
    row = rdb.execute(
        "SELECT eligible_approvers, approval_type FROM concord.approvals WHERE approval_id = %s",
        (approval_id,),
    ).fetchone()
    assert row["approval_type"] == "concord.registry_high_risk_change"
    assert row["eligible_approvers"] == [ben]

    with pytest.raises(NotPermitted) as own:
        a.resolve_approval(approval_id, "approved", ann)
    assert own.value.rule == "approver_is_not_the_requester"
    with pytest.raises(NotPermitted) as member:
        m.resolve_approval(approval_id, "approved", mia)
    assert member.value.rule == "the_actor_holds_a_role_in_the_project"
    # an approver of the organisation who is no owner is not among the eligible
    with pytest.raises(NotPermitted) as approver:
        ap.resolve_approval(approval_id, "approved", abe)
    assert approver.value.rule == "the_approver_is_eligible"
    # neither refusal moved anything
    assert rdb.execute(
        "SELECT status FROM concord.registry_versions WHERE version_id = %s", (version_id,)
    ).fetchone()["status"] == "pending_approval"
    assert wait_command(rdb, command_id, {"waiting_for_approval"}, 1)

    decided = b.resolve_approval(approval_id, "approved", ben)
    assert decided.status == "approved" and decided.command_status == "queued"
    done = a.await_command(command_id, timeout=60)
    assert done.status == "succeeded", done
    assert done.result["status"] == "published"
    assert done.result["approved_by"] == ben
    row = rdb.execute(
        "SELECT status, approved_by, created_by, approval_command_id "
        "FROM concord.registry_versions WHERE version_id = %s",
        (version_id,),
    ).fetchone()
    assert row["status"] == "published" and row["approved_by"] == ben
    assert row["created_by"] == ann and str(row["approval_command_id"]) == str(command_id)
    events = [
        (r["event_type"], r["actor"])
        for r in rdb.execute(
            "SELECT event_type, actor FROM concord.registry_lifecycle_events "
            "WHERE version_id = %s ORDER BY created_at, event_type",
            (version_id,),
        ).fetchall()
    ]
    # the approval is ben's act, the publication ann's (the requester's, carried out by
    # the workflow)
    assert events[-2:] == [("version_approved", ben), ("version_published", ann)], events


def test_an_organisation_with_a_single_owner_cannot_publish_a_high_risk_version(
    registry_worker, rdb, orgs
) -> None:
    """Rule a_registry_change_is_allowed_by_its_policies: refused up front, not left
    waiting for an approver who does not exist."""
    solo, mia = unique("solo"), unique("mia")
    org = orgs({solo: "owner", mia: "member"})
    s = org.client(solo)
    name, version_id = high_risk_version(s, org, "solo_tool")
    with pytest.raises(NotPermitted) as refused:
        s.publish_registry_version(version_id, wait=5)
    assert refused.value.rule == "a_registry_change_is_allowed_by_its_policies"
    assert "approval" in refused.value.message and org.name in refused.value.message
    assert "owner" in (refused.value.hint or "")
    # nothing was recorded for anyone to approve
    assert rdb.execute(
        "SELECT status FROM concord.registry_versions WHERE version_id = %s", (version_id,)
    ).fetchone()["status"] in ("draft", "validated")
    assert rdb.execute(
        "SELECT count(*) AS n FROM concord.approvals AS a JOIN concord.commands AS c "
        "USING (command_id) WHERE c.payload ->> 'name' = %s",
        (name,),
    ).fetchone()["n"] == 0
