"""``concord registry validate`` and ``concord registry apply`` (issue 14: manifests kept in
git as YAML): the real command line against a database of its own and a real worker.

validate checks every document against its type, its relationships against the files and
the registry, and that each version could be created, listing every problem with its file
and path, and writes nothing; exit 0 when all are valid, 1 otherwise, 2 for a usage error.
apply creates, publishes (waiting for the workflow) and binds in dependency order, and
applying the same folder twice changes nothing the second time. The hotel-booking
contracts of spec 107.1-107.3 are applied as written, with a ``kind:`` line; the spec 67
swarm YAML is a swarm template.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import psycopg

from support.registry import one, unique
from support.workers import CONCORD

HOTEL = Path(__file__).resolve().parent / "manifests" / "hotel_booking"
HOTEL_DOCS = 15


def concord(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The ``concord`` command line, with no $CONCORD_DSN or $CONCORD_TOKEN of the test's."""
    clean = {k: v for k, v in os.environ.items() if k not in ("CONCORD_DSN", "CONCORD_TOKEN")}
    return subprocess.run([str(CONCORD), *args], capture_output=True, text=True, timeout=600,
                          env={**clean, **(env or {})})


def registry(*args: str, dsn: str, **kw: Any) -> subprocess.CompletedProcess:
    return concord("registry", *args, "--dsn", dsn, **kw)


def as_json(done: subprocess.CompletedProcess) -> dict[str, Any]:
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout)


def footprint(conn: psycopg.Connection) -> dict[str, int]:
    """How much the registry holds, and the registry's commands and their audit (the
    worker's schedules submit maintenance commands of their own meanwhile)."""
    counts = {
        table: one(conn, f"SELECT count(*) FROM concord.{table}")
        for table in ("registry_entities", "registry_versions", "registry_bindings",
                      "registry_lifecycle_events", "notifications")
    }
    counts["commands"] = one(
        conn, "SELECT count(*) FROM concord.commands WHERE command_type LIKE 'concord.registry.%%'")
    counts["domain_events"] = one(
        conn, "SELECT count(*) FROM concord.domain_events AS d JOIN concord.commands AS c "
        "USING (command_id) WHERE c.command_type LIKE 'concord.registry.%%'")
    return counts


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_validate_accepts_the_spec_examples_and_writes_nothing(
    registry_dsn: str, rdb: psycopg.Connection
) -> None:
    before = footprint(rdb)
    done = registry("validate", str(HOTEL), dsn=registry_dsn)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{HOTEL_DOCS} manifest(s) in 9 file(s): valid" in done.stdout
    assert footprint(rdb) == before
    report = as_json(registry("validate", "--json", str(HOTEL), dsn=registry_dsn))
    assert report["valid"] is True and report["problems"] == []
    order = [(m["kind"], m["name"]) for m in report["manifests"]]
    assert len(order) == HOTEL_DOCS
    # what a document relies on comes before it
    for before_, after in (
        (("tool", "book_hotel"), ("skill", "hotel_booking")),
        (("command_type", "book_hotel"), ("tool", "book_hotel")),
        (("command_type", "book_hotel"), ("skill", "hotel_booking")),
        (("connector", "hotel_booking"), ("command_type", "book_hotel")),
        (("approval_type", "hotel_booking_approval"), ("command_type", "book_hotel")),
        (("command_type", "cancel_reservation"), ("command_type", "book_hotel")),
        (("policy", "connector_scope"), ("skill", "hotel_booking")),
        (("evaluation_suite", "booking_terms_present"), ("skill", "hotel_booking")),
    ):
        assert order.index(before_) < order.index(after), (before_, after)


def test_the_spec_67_swarm_yaml_is_a_swarm_template(registry_dsn: str, tmp_path: Path) -> None:
    write(tmp_path, "swarms/revenue.yaml", """\
        kind: swarm_template
        version: 1.0.0
        name: revenue_report_swarm
        objective: Generate and review a monthly revenue report.
        execution_mode: parallel
        join_strategy: coordinator_synthesis
        limits:
          max_agents: 4
          max_depth: 1
          max_total_steps: 80
          max_cost_units: 50
        coordinator:
          agent_name: revenue_report_coordinator
          agent_role: coordinator
          max_steps: 20
          allowed_tools: [spawn_subagent, read_artifact, create_artifact, request_approval]
          allowed_connectors: [postgres, databricks]
        agents:
          - agent_name: revenue_researcher
            agent_role: researcher
            delegated_goal: Gather source data and assumptions.
            max_steps: 15
            allowed_tools: [run_sql, retrieve_memory, create_artifact]
            allowed_connectors: [postgres, databricks]
        """)
    done = registry("validate", str(tmp_path), dsn=registry_dsn)
    assert done.returncode == 0, done.stdout + done.stderr


def test_validate_lists_every_problem_with_its_file_and_path(
    registry_dsn: str, rdb: psycopg.Connection, tmp_path: Path
) -> None:
    write(tmp_path, "a/bad_tool.yaml", """\
        kind: tool
        name: bad_tool
        version: one
        mode: sometimes
        """)
    write(tmp_path, "a/broken.yml", "kind: tool\nname: [unclosed\n")
    write(tmp_path, "b/skill.yaml", """\
        kind: skill
        name: lonely_skill
        version: 1.0.0
        tools:
          - name: nowhere_tool
            command_type: nowhere_command
        """)
    write(tmp_path, "b/twice.json", json.dumps([
        {"kind": "policy", "name": "twice_policy", "version": "1.0.0", "on_fail": "deny"},
        {"kind": "policy", "name": "twice_policy", "version": "1.0.0", "on_fail": "deny"},
        {"name": "kindless"},
    ]))
    write(tmp_path, "c/cycle.yaml", """\
        kind: agent_role
        name: ping_role
        version: 1.0.0
        subagent_roles: [pong_role]
        ---
        kind: agent_role
        name: pong_role
        version: 1.0.0
        subagent_roles: [ping_role]
        """)
    before = footprint(rdb)
    done = registry("validate", "--json", str(tmp_path), dsn=registry_dsn)
    assert done.returncode == 1, done.stdout + done.stderr
    report = as_json(done)
    assert report["valid"] is False
    found = {(Path(p["file"]).relative_to(tmp_path).as_posix(), p["path"], p["kind"])
             for p in report["problems"]}
    assert ("a/bad_tool.yaml", "$.mode", "schema") in found
    assert ("a/bad_tool.yaml", "$.version", "version") in found
    assert ("a/broken.yml", "$", "syntax") in found
    assert ("b/twice.json#2", "$", "duplicate") in found
    assert ("b/twice.json#3", "$.kind", "manifest") in found
    messages = [p["message"] for p in report["problems"]]
    assert any("uses_tool tool nowhere_tool" in m for m in messages), messages
    assert any("creates_command_type command_type nowhere_command" in m for m in messages)
    assert any("cycle" in m and "ping_role" in m and "pong_role" in m for m in messages)
    # the text form says the same, one problem a line, and a count
    text = registry("validate", str(tmp_path), dsn=registry_dsn)
    assert text.returncode == 1
    assert f"{len(report['problems'])} problem(s)" in text.stdout
    assert "bad_tool.yaml: $.mode:" in text.stdout
    assert footprint(rdb) == before


def test_usage_errors_exit_2(registry_dsn: str, tmp_path: Path) -> None:
    missing = registry("validate", str(tmp_path / "nowhere"), dsn=registry_dsn)
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not a manifest")
    empty = registry("apply", str(tmp_path / "empty"), dsn=registry_dsn)
    assert empty.returncode == 2 and "no manifest file" in empty.stderr
    no_db = concord("registry", "validate", str(HOTEL))
    assert no_db.returncode == 2 and "no database given" in no_db.stderr
    no_path = concord("registry", "apply", "--dsn", registry_dsn)
    assert no_path.returncode == 2


def published(conn: psycopg.Connection, kind: str, name: str) -> list[tuple[str, str]]:
    return [
        (r["version"], r["status"])
        for r in conn.execute(
            "SELECT version, status FROM concord.registry_entity_versions "
            "WHERE entity_type = %s AND entity = %s ORDER BY version",
            (kind, name),
        ).fetchall()
    ]


def test_apply_publishes_and_binds_in_order_and_twice_changes_nothing(
    registry_worker, registry_dsn: str, rdb: psycopg.Connection, tmp_path: Path
) -> None:
    folder = tmp_path / "hotel"
    shutil.copytree(HOTEL, folder)
    done = registry("apply", "--json", str(folder), dsn=registry_dsn)
    assert done.returncode == 0, done.stdout + done.stderr
    report = as_json(done)
    assert report["applied"] is True
    assert len(report["results"]) == HOTEL_DOCS
    assert all(r["changed"] and r["status"] == "published" for r in report["results"]), report
    assert published(rdb, "skill", "hotel_booking") == [("1.4.2", "published")]
    assert published(rdb, "command_type", "book_hotel") == [("1.0.0", "published")]
    # the skill's manifest is spec 107.1 as written, without the file's kind and bindings
    manifest = one(
        rdb, "SELECT v.manifest FROM concord.registry_versions AS v JOIN "
        "concord.registry_entities AS e USING (entity_id) WHERE e.name = 'hotel_booking' "
        "AND e.entity_type = 'skill'")
    assert manifest["lifecycle"] == {"owner": "travel-platform", "risk_level": "high"}
    assert "kind" not in manifest and "bindings" not in manifest
    assert one(rdb, "SELECT owner FROM concord.registry_entities WHERE entity_type = 'skill' "
               "AND name = 'hotel_booking'") == "travel-platform"
    bindings = {
        (r["entity_type"], r["entity"], r["binding_scope"], r["binding_target"],
         r["rollout_strategy"])
        for r in rdb.execute("SELECT * FROM concord.registry_active_bindings").fetchall()
    }
    assert ("skill", "hotel_booking", "tenant", "travel-agency", "canary") in bindings
    assert ("tool", "book_hotel", "global", "*", "pinned") in bindings
    # the bound contract resolves
    resolved = one(rdb, "SELECT concord.resolve_command_type_contract('book_hotel')")
    assert resolved["version"] == "1.0.0"
    # a published version's relationships resolve: the tool came after its command type
    order = [(r["kind"], r["name"]) for r in report["results"]]
    assert order.index(("command_type", "book_hotel")) < order.index(("tool", "book_hotel"))

    before = footprint(rdb)
    again = registry("apply", str(folder), dsn=registry_dsn)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{HOTEL_DOCS} manifest(s): 0 changed, {HOTEL_DOCS} unchanged" in again.stdout
    assert footprint(rdb) == before

    # a published version's manifest cannot change under the same number: refused up
    # front, nothing applied
    tool = folder / "tool_book_hotel.yaml"
    tool.write_text(tool.read_text().replace("mode: approval_gated_async", "mode: async"))
    changed = registry("apply", "--json", str(folder), dsn=registry_dsn)
    assert changed.returncode == 1
    problems = as_json(changed)["problems"]
    assert [Path(p["file"]).name for p in problems] == ["tool_book_hotel.yaml"], problems
    assert "a_version_number_is_used_once" in problems[0]["message"], problems
    assert footprint(rdb) == before


def test_apply_without_waiting_defers_what_relies_on_an_unpublished_version(
    registry_worker, registry_dsn: str, rdb: psycopg.Connection, tmp_path: Path
) -> None:
    cmd, tool = unique("nw_cmd"), unique("nw_tool")
    write(tmp_path, "10_tool.yaml", f"""\
        kind: tool
        name: {tool}
        version: 1.0.0
        owner: search-team
        mode: sync
        command_type: {cmd}
        """)
    write(tmp_path, "20_command.yaml", f"""\
        kind: command_type
        name: {cmd}
        version: 1.0.0
        owner: search-team
        execution: {{mode: sync}}
        """)
    first = as_json(registry("apply", "--json", "--no-wait", str(tmp_path), dsn=registry_dsn))
    by_name = {r["name"]: r for r in first["results"]}
    assert [r["name"] for r in first["results"]] == [cmd, tool]
    assert any("publication queued" in d for d in by_name[cmd]["done"]), by_name[cmd]
    assert any("deferred" in d for d in by_name[tool]["done"]), by_name[tool]
    assert published(rdb, "tool", tool) == [("1.0.0", "validated")] or published(
        rdb, "tool", tool) == [("1.0.0", "draft")]
    # once the command type's workflow ran, applying again publishes the tool
    done = registry("apply", str(tmp_path), "--timeout", "60", dsn=registry_dsn)
    assert done.returncode == 0, done.stdout + done.stderr
    assert published(rdb, "command_type", cmd) == [("1.0.0", "published")]
    assert published(rdb, "tool", tool) == [("1.0.0", "published")]


def test_apply_acts_as_the_token_s_principal_in_its_organisation(
    registry_worker, registry_dsn: str, rdb: psycopg.Connection, orgs, tmp_path: Path
) -> None:
    ann, ben = unique("ann"), unique("ben")
    org = orgs({ann: "owner", ben: "owner"})
    name = unique("org_tool")
    write(tmp_path, "tool.yaml", f"""\
        kind: tool
        name: {name}
        version: 1.0.0
        mode: sync
        organisation: {org.name}
        bindings:
          - scope: tenant
            target: {org.name}
        """)
    env = {"CONCORD_TOKEN": org.tokens[ann]}
    done = concord("registry", "apply", str(tmp_path), "--dsn", org.login_dsn,
                   "--project", org.project, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    row = rdb.execute(
        "SELECT e.owner, o.name AS organisation FROM concord.registry_entities AS e "
        "JOIN concord.organisations AS o USING (org_id) WHERE e.name = %s",
        (name,),
    ).fetchone()
    # no owner in the file: the principal who applied it answers for it
    assert row == {"owner": ann, "organisation": org.name}
    requesters = {r["requested_by"] for r in rdb.execute(
        "SELECT requested_by FROM concord.commands WHERE payload ->> 'name' = %s", (name,)
    ).fetchall()}
    assert requesters == {ann}
    assert org.client(ben).resolve_registry_entity("tool", name)["version"] == "1.0.0"
    # without a token the login is nobody, who sees no organisation: refused, and said so
    nobody = concord("registry", "apply", str(tmp_path), "--dsn", org.login_dsn)
    assert nobody.returncode == 1
    assert "the_organisation_exists" in nobody.stdout and "nothing applied" in nobody.stdout
