"""An emergency retirement (spec 111.4) blocks resolution at once: in the very transaction
that retires the version, resolving it is refused (CN016); its active bindings are
disabled, or migrated to the version named; an incident is written to the audit trail
(``registry_incident`` in concord.domain_events); and once the retirement's workflow ran
on the worker, every owner of the entity's organisation (and the entity's owner) is
notified, once, with the bindings the retirement changed.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from concord import ContractUnavailable
from support.registry import Org, unique, wait_command


def bound_tool(org: Org, who: str, versions: tuple[str, ...] = ("1.0.0",)) -> dict[str, Any]:
    """A tool of ``org``, its versions published and the first bound for the whole
    organisation (tenant scope), each step waited for."""
    c = org.client(who)
    name = unique("em_tool")
    c.create_registry_entity("tool", name, "Books rooms", "travel-team", organisation=org.name)
    ids = []
    for i, version in enumerate(versions):
        manifest = {"mode": "sync", "description": f"release {i}"}
        ids.append(str(c.create_registry_version("tool", name, version, manifest)))
        published = c.publish_registry_version(ids[-1], wait=60)
        assert published["command_status"] == "succeeded", published
        assert published["version"]["status"] == "published"
    bound = c.bind_registry_version(ids[0], "tenant", org.name, wait=60)
    assert bound["command_status"] == "succeeded", bound
    resolved = c.resolve_registry_entity("tool", name)
    assert resolved["resolved"] and resolved["version_id"] == ids[0]
    return {"name": name, "versions": ids, "binding": bound["result"]["binding_id"]}


def as_principal(org: Org, who: str) -> psycopg.Connection:
    """A connection of the organisation's login; each transaction authenticates first."""
    return psycopg.connect(org.login_dsn, row_factory=dict_row)


def incidents(rdb: psycopg.Connection, version_id: str) -> list[dict[str, Any]]:
    return rdb.execute(
        "SELECT event_type, target_type, target_id, payload, actor FROM concord.domain_events "
        "WHERE event_type = 'registry_incident' AND target_id = %s",
        (version_id,),
    ).fetchall()


def test_an_emergency_retirement_blocks_resolution_in_its_own_transaction(
    registry_worker, rdb, orgs
) -> None:
    """Rule a_capability_resolves_to_a_usable_version: refused at once, not after the
    workflow."""
    ann, ben = unique("ann"), unique("ben")
    org = orgs({ann: "owner", ben: "owner"})
    tool = bound_tool(org, ann)
    version_id = tool["versions"][0]

    with as_principal(org, ann) as conn:
        with conn.transaction():
            conn.execute("SELECT concord.authenticate(%s)", (org.tokens[ann],))
            answer = conn.execute(
                "SELECT concord.retire_registry_version(%s, 'leaks card numbers', "
                "emergency => true) AS a",
                (version_id,),
            ).fetchone()["a"]
            # the retirement is done, in this transaction
            assert answer["version"]["status"] == "retired"
            assert [b["status"] for b in answer["version"]["bindings"]] == ["disabled"]
            with pytest.raises(psycopg.Error) as refused:
                with conn.transaction():
                    conn.execute("SELECT concord.resolve_registry_entity('tool', %s)",
                                 (tool["name"],))
            assert refused.value.sqlstate == "CN016"
            assert refused.value.diag.constraint_name == "a_capability_resolves_to_a_usable_version"
            assert "retired" in refused.value.diag.message_primary
            # the workflow cannot have run yet: its command is not committed
            command_id = answer["command_id"]
            assert answer["command_status"] == "queued"

    # committed: the incident is in the audit trail, the binding disabled
    [incident] = incidents(rdb, version_id)
    assert incident["target_type"] == "registry_version"
    assert incident["payload"]["emergency"] is True
    assert incident["payload"]["reason"] == "leaks card numbers"
    assert [b["registry_binding_id"] for b in incident["payload"]["bindings"]] == [tool["binding"]]
    binding = rdb.execute(
        "SELECT status, disabled_reason FROM concord.registry_bindings "
        "WHERE registry_binding_id = %s",
        (tool["binding"],),
    ).fetchone()
    assert binding["status"] == "disabled" and "leaks card numbers" in binding["disabled_reason"]
    with pytest.raises(ContractUnavailable) as after:
        org.client(ben).resolve_registry_entity("tool", tool["name"])
    assert after.value.rule == "a_capability_resolves_to_a_usable_version"

    # the workflow notifies the owners, once, telling them which bindings changed
    done = wait_command(rdb, command_id)
    assert done["status"] == "succeeded", done
    assert done["result"]["status"] == "retired"
    assert [b["registry_binding_id"] for b in done["result"]["bindings"]] == [tool["binding"]]
    notes = rdb.execute(
        "SELECT recipient, subject, body, metadata FROM concord.notifications "
        "WHERE command_id = %s ORDER BY recipient",
        (command_id,),
    ).fetchall()
    assert sorted(n["recipient"] for n in notes) == sorted([ann, ben, "travel-team"])
    for n in notes:
        assert "(emergency)" in n["subject"] and tool["name"] in n["subject"]
        assert "Bindings changed: 1" in n["body"], n["body"]
    # the workflow's step wrote no second incident
    assert len(incidents(rdb, version_id)) == 1


def test_an_emergency_retirement_migrates_bindings_to_the_version_named(
    registry_worker, rdb, orgs
) -> None:
    ann, ben = unique("ann"), unique("ben")
    org = orgs({ann: "owner", ben: "owner"})
    tool = bound_tool(org, ann, ("1.0.0", "1.0.1"))
    old, new = tool["versions"]
    c = org.client(ben)
    answer = c.retire_registry_version(
        old, "breaks on leap days", emergency=True, migrate_to_version_id=new, wait=60
    )
    assert answer["command_status"] == "succeeded", answer
    assert answer["version"]["status"] == "retired"
    assert [(b["registry_binding_id"], b["status"]) for b in answer["result"]["bindings"]] == [
        (tool["binding"], "active")
    ]
    resolved = c.resolve_registry_entity("tool", tool["name"])
    assert resolved["version_id"] == new
    assert resolved["binding"]["binding_id"] == tool["binding"]
    [incident] = incidents(rdb, old)
    assert incident["payload"]["bindings"][0]["registry_binding_id"] == tool["binding"]
    recipients = [
        r["recipient"]
        for r in rdb.execute(
            "SELECT recipient FROM concord.notifications WHERE command_id = %s ORDER BY 1",
            (answer["command_id"],),
        ).fetchall()
    ]
    assert recipients == sorted([ann, ben, "travel-team"])
