"""Publication, binding, rollback and retirement run as DBOS workflows (spec 113), on a
real worker whose built-in operations serve the concord.registry.* commands: each ends
succeeded with its change made and its lifecycle events written; a registry command
submitted before any worker ran is handed off when one starts; the registry commands the
kernel runs inline (create, validate, deprecate, reject) are never handed to a worker; and
the workflow step replayed — called again for the same command and workflow, resumed or
forked with DBOS's own CLI — changes nothing and answers the same.
"""

from __future__ import annotations

import subprocess
import uuid
from typing import Any

import psycopg
import pytest

from concord.runtime.builtin import REGISTRY_WORKFLOWS
from concord.runtime.catalog import catalog
from concord.runtime.schema import sqlalchemy_url
from support.registry import command, one, unique, wait_command, wait_workflow
from support.workers import ROOT

DBOS_CLI = ROOT / ".venv" / "bin" / "dbos"
INLINE = (
    "concord.registry.create_entity",
    "concord.registry.create_version",
    "concord.registry.validate_version",
    "concord.registry.deprecate_version",
    "concord.registry.reject_version",
)


def new_tool(conn: psycopg.Connection, prefix: str = "lc_tool") -> str:
    """A platform tool, created by the operator (the superuser's session)."""
    name = unique(prefix)
    conn.execute(
        "SELECT concord.create_registry_entity('tool', %s, 'Lifecycle tool', 'platform-team')",
        (name,),
    )
    return name


def new_version(conn: psycopg.Connection, name: str, version: str, manifest: dict) -> str:
    return str(one(
        conn,
        "SELECT concord.create_registry_version('tool', %s, %s, %s::jsonb)",
        name, version, psycopg.types.json.Jsonb(manifest),
    ))


@pytest.fixture(scope="module")
def before_the_worker(registry_dsn: str) -> dict[str, Any]:
    """A publication submitted while no worker has ever run in the database: its command,
    and what the database said of it then."""
    from support.registry import connect

    with connect(registry_dsn) as conn:
        name = new_tool(conn, "early_tool")
        version_id = new_version(conn, name, "1.0.0", {"mode": "sync"})
        answer = one(conn, "SELECT concord.publish_registry_version(%s)", version_id)
        c = command(conn, answer["command_id"])
        return {
            "version_id": version_id,
            "command_id": answer["command_id"],
            "status": c["status"],
            "workflow_id": c["dbos_workflow_id"],
            "dbos_status": one(
                conn, "SELECT status FROM dbos.workflow_status WHERE workflow_uuid = %s",
                c["dbos_workflow_id"],
            ),
            "workers": one(conn, "SELECT count(*) FROM concord.workers"),
            "operations": one(
                conn, "SELECT count(*) FROM concord.runtime_operations "
                "WHERE command_type LIKE 'concord.registry.%%'"
            ),
        }


def test_a_registry_command_submitted_before_any_worker_runs_when_one_starts(
    before_the_worker: dict[str, Any], registry_worker, rdb: psycopg.Connection
) -> None:
    early = before_the_worker
    # nothing could run it yet: queued, enqueued in DBOS on the default queue
    assert early["workers"] == 0 and early["operations"] == 0
    assert early["status"] == "queued"
    assert early["workflow_id"] == early["command_id"]
    assert early["dbos_status"] == "ENQUEUED"
    done = wait_command(rdb, early["command_id"])
    assert done["status"] == "succeeded", done
    assert done["result"]["status"] == "published"
    assert one(rdb, "SELECT status FROM concord.registry_versions WHERE version_id = %s",
               early["version_id"]) == "published"
    assert wait_workflow(rdb, early["workflow_id"]) == "SUCCESS"


def test_the_worker_serves_exactly_the_registry_workflows(
    registry_worker, rdb: psycopg.Connection
) -> None:
    """The built-in catalog has an operation for the four lifecycle workflows and none for
    the commands the kernel runs inline; the worker registered the same."""
    registry_ops = {t for t in catalog.operations if t.startswith("concord.registry.")}
    assert registry_ops == set(REGISTRY_WORKFLOWS)
    registered = {
        r["command_type"]
        for r in rdb.execute(
            "SELECT command_type FROM concord.runtime_operations "
            "WHERE command_type LIKE 'concord.registry.%'"
        ).fetchall()
    }
    assert registered == set(REGISTRY_WORKFLOWS)
    # the lifecycle types are async: a caller never runs them inline
    rows = rdb.execute(
        "SELECT command_type, sync_allowed, async_required FROM concord.command_types "
        "WHERE command_type LIKE 'concord.registry.%'"
    ).fetchall()
    for r in rows:
        lifecycle = r["command_type"] in REGISTRY_WORKFLOWS
        assert r["async_required"] is lifecycle and r["sync_allowed"] is not lifecycle, r


def test_the_inline_registry_commands_are_never_handed_to_a_worker(
    registry_worker, rdb: psycopg.Connection
) -> None:
    name = new_tool(rdb, "inline_tool")
    v1 = new_version(rdb, name, "1.0.0", {"mode": "sync"})
    rdb.execute("SELECT concord.validate_registry_version(%s)", (v1,))
    v2 = new_version(rdb, name, "1.1.0", {"mode": "sync", "description": "kept"})
    rdb.execute("SELECT concord.reject_registry_version(%s, 'not this one')", (v2,))
    published = one(rdb, "SELECT concord.publish_registry_version(%s)", v1)
    wait_command(rdb, published["command_id"])
    rdb.execute("SELECT concord.deprecate_registry_version(%s, 'a newer one comes')", (v1,))
    rows = rdb.execute(
        "SELECT command_id, command_type, status, dbos_workflow_id, run_seq "
        "FROM concord.commands WHERE payload ->> 'name' = %s ORDER BY created_at",
        (name,),
    ).fetchall()
    inline = [r for r in rows if r["command_type"] in INLINE]
    assert sorted({r["command_type"] for r in inline}) == sorted(INLINE)
    for r in inline:
        assert r["status"] == "succeeded", r
        assert r["dbos_workflow_id"] is None and r["run_seq"] == 0, r
        assert one(rdb, "SELECT count(*) FROM dbos.workflow_status WHERE workflow_uuid LIKE %s",
                   f"{r['command_id']}%") == 0, r
    [pub] = [r for r in rows if r["command_type"] == "concord.registry.publish_version"]
    assert pub["dbos_workflow_id"] == str(pub["command_id"])


def lifecycle_events(conn: psycopg.Connection, command_id: Any) -> list[str]:
    return [
        r["event_type"]
        for r in conn.execute(
            "SELECT event_type FROM concord.registry_lifecycle_events WHERE command_id = %s "
            "ORDER BY created_at, event_type",
            (command_id,),
        ).fetchall()
    ]


def ran_as_workflow(conn: psycopg.Connection, answer: dict) -> dict[str, Any]:
    """The command of an asynchronous registry call, once its workflow ended: it ran as
    DBOS workflow concord.run_command under the command's id, and succeeded."""
    assert answer["command_status"] == "queued", answer
    done = wait_command(conn, answer["command_id"])
    assert done["status"] == "succeeded", done
    assert done["dbos_workflow_id"] == str(done["command_id"])
    assert wait_workflow(conn, done["dbos_workflow_id"]) == "SUCCESS"
    assert one(conn, "SELECT name FROM dbos.workflow_status WHERE workflow_uuid = %s",
               done["dbos_workflow_id"]) == "concord.run_command"
    return done


@pytest.fixture(scope="module")
def lifecycle(registry_worker, registry_dsn: str) -> dict[str, Any]:
    """One tool through publish, bind, rollback and retire, each a workflow run by the
    worker: its versions, binding and commands, and after each, its step replayed twice
    (the answers, and the entity's state before and after)."""
    from support.registry import connect

    replays: dict[str, Any] = {}

    def step(what: str, conn: psycopg.Connection, answer: dict) -> dict[str, Any]:
        done = ran_as_workflow(conn, answer)
        before = state_of(conn, name)
        again = [
            one(conn, "SELECT concord.runtime_registry_command(%s, %s)",
                done["command_id"], done["dbos_workflow_id"])
            for _ in range(2)
        ]
        replays[what] = {"result": done["result"], "again": again, "before": before,
                         "after": state_of(conn, name)}
        return done

    with connect(registry_dsn) as conn:
        name = new_tool(conn)
        v1 = new_version(conn, name, "1.0.0", {"mode": "sync"})
        publish1 = step("publish", conn, one(
            conn, "SELECT concord.publish_registry_version(%s)", v1))
        v2 = new_version(conn, name, "1.1.0", {"mode": "sync", "description": "documented"})
        publish2 = step("publish2", conn, one(
            conn, "SELECT concord.publish_registry_version(%s)", v2))
        bind = step("bind", conn, one(
            conn, "SELECT concord.bind_registry_version(%s, 'global', NULL)", v2))
        binding = bind["result"]["binding_id"]
        rollback = step("rollback", conn, one(
            conn, "SELECT concord.rollback_registry_binding(%s, %s, 'the new one misbehaves')",
            binding, v1))
        retire = step("retire", conn, one(
            conn, "SELECT concord.retire_registry_version(%s, 'superseded', false, %s)", v1, v2))
        return {
            "name": name, "v1": v1, "v2": v2, "binding": binding, "replays": replays,
            "commands": {
                "publish": publish1, "publish2": publish2, "bind": bind,
                "rollback": rollback, "retire": retire,
            },
        }


def test_publish_bind_rollback_and_retire_each_run_as_a_workflow(
    lifecycle: dict[str, Any], rdb: psycopg.Connection
) -> None:
    c = lifecycle["commands"]
    v1, v2, binding = lifecycle["v1"], lifecycle["v2"], lifecycle["binding"]
    # publication: the version is published, by the command's requester
    assert c["publish"]["result"]["status"] == "published"
    assert lifecycle_events(rdb, c["publish"]["command_id"]) == ["version_published"]
    # binding: an active global binding of v2, its event written by the workflow's step
    assert c["bind"]["result"]["created"] is True
    assert lifecycle_events(rdb, c["bind"]["command_id"]) == ["binding_created"]
    # rollback: the binding points at v1 again
    assert c["rollback"]["result"] == {
        "binding_id": binding, "version_id": v1, "from_version_id": v2,
    }
    assert lifecycle_events(rdb, c["rollback"]["command_id"]) == ["binding_rolled_back"]
    # retirement: v1 retired, its binding migrated to v2, the owner told
    assert c["retire"]["result"]["status"] == "retired"
    assert [b["registry_binding_id"] for b in c["retire"]["result"]["bindings"]] == [binding]
    assert sorted(lifecycle_events(rdb, c["retire"]["command_id"])) == [
        "binding_migrated", "version_retired",
    ]
    rows = rdb.execute(
        "SELECT v.status, b.version_id, b.status AS binding_status "
        "FROM concord.registry_versions AS v, concord.registry_bindings AS b "
        "WHERE v.version_id = %s AND b.registry_binding_id = %s",
        (v1, binding),
    ).fetchall()
    assert rows == [{"status": "retired", "version_id": uuid.UUID(v2), "binding_status": "active"}]
    assert [r["recipient"] for r in rdb.execute(
        "SELECT recipient FROM concord.notifications WHERE command_id = %s",
        (c["retire"]["command_id"],),
    ).fetchall()] == ["platform-team"]
    # every change is attributed to the requester, not to the worker
    actors = {r["actor"] for r in rdb.execute(
        "SELECT DISTINCT actor FROM concord.registry_lifecycle_events AS e "
        "JOIN concord.registry_versions AS v USING (entity_id) WHERE v.version_id = %s",
        (v1,),
    ).fetchall()}
    assert actors == {one(rdb, "SELECT requested_by FROM concord.commands WHERE command_id = %s",
                          c["publish"]["command_id"])}


def state_of(conn: psycopg.Connection, name: str) -> dict[str, Any]:
    """Everything a registry workflow may change for entity ``name``."""
    q = {
        "versions": "SELECT v.version_id, v.status, v.approved_by, v.published_at, "
        "v.retired_at FROM concord.registry_versions AS v JOIN concord.registry_entities AS e "
        "USING (entity_id) WHERE e.name = %s ORDER BY v.version_id",
        "bindings": "SELECT b.* FROM concord.registry_bindings AS b JOIN "
        "concord.registry_entities AS e USING (entity_id) WHERE e.name = %s "
        "ORDER BY b.registry_binding_id",
        "events": "SELECT count(*) FROM concord.registry_lifecycle_events AS x JOIN "
        "concord.registry_entities AS e USING (entity_id) WHERE e.name = %s",
        "notifications": "SELECT count(*) FROM concord.notifications AS n JOIN "
        "concord.commands AS c USING (command_id) WHERE c.payload ->> 'name' = %s",
        "audit": "SELECT count(*) FROM concord.domain_events AS d JOIN concord.commands AS c "
        "USING (command_id) WHERE c.payload ->> 'name' = %s",
        "commands": "SELECT command_id, status, result, updated_at FROM concord.commands "
        "WHERE payload ->> 'name' = %s ORDER BY command_id",
    }
    return {k: conn.execute(sql, (name,)).fetchall() for k, sql in q.items()}


def test_a_replayed_step_changes_nothing_and_answers_the_same(
    lifecycle: dict[str, Any]
) -> None:
    """Rule: every SQL function the worker calls is idempotent on replay. Each step, run
    twice more for its command and workflow right after the worker ran it, answers what
    the worker recorded and leaves versions, bindings, events, notifications, the audit
    and the commands as they were."""
    assert set(lifecycle["replays"]) == {"publish", "publish2", "bind", "rollback", "retire"}
    for what, r in lifecycle["replays"].items():
        assert r["again"] == [r["result"], r["result"]], what
        assert r["after"] == r["before"], what


def dbos_cli(dsn: str, *args: str) -> str:
    done = subprocess.run(
        [str(DBOS_CLI), "workflow", *args, "--sys-db-url", sqlalchemy_url(dsn)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, f"dbos workflow {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def test_dbos_resume_and_fork_of_a_registry_workflow_change_nothing(
    lifecycle: dict[str, Any], rdb: psycopg.Connection, registry_dsn: str
) -> None:
    before = state_of(rdb, lifecycle["name"])
    retire = lifecycle["commands"]["retire"]["dbos_workflow_id"]
    step = one(rdb, "SELECT function_id FROM dbos.operation_outputs WHERE workflow_uuid = %s "
               "AND function_name = 'concord.registry_command'", retire)
    assert step is not None, "the retirement's workflow has no registry step"
    dbos_cli(registry_dsn, "resume", retire)
    forked = f"fork-{uuid.uuid4().hex[:12]}"
    dbos_cli(registry_dsn, "fork", retire, "--step", str(step), "--forked-workflow-id", forked)
    assert wait_workflow(rdb, forked) == "SUCCESS"
    assert workflow_status(rdb, retire) == "SUCCESS"
    assert state_of(rdb, lifecycle["name"]) == before


def workflow_status(conn: psycopg.Connection, workflow_id: str) -> str | None:
    return one(conn, "SELECT status FROM dbos.workflow_status WHERE workflow_uuid = %s",
               workflow_id)
