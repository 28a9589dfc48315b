"""A retired version has no active binding (rule a_retired_version_has_no_active_binding),
even when a binding and the retirement race: two sessions, one binding a published
version (or rolling a binding back to it), the other retiring it. Whichever comes first,
once both committed no active binding names the retired version: a binding made first is
disabled by the retirement, which waits for it; a binding made after the retirement is
refused (CN011 a_new_binding_is_active_on_a_published_version).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from support.registry import connect, one, unique


def published_tool(conn: psycopg.Connection, versions: tuple[str, ...] = ("1.0.0",)) -> list[str]:
    """A platform tool (this superuser session is an operator) with its versions published."""
    name = unique("race_tool")
    conn.execute(
        "SELECT concord.create_registry_entity('tool', %s, 'Race tool', 'platform')", (name,)
    )
    ids = []
    for i, version in enumerate(versions):
        ids.append(
            str(
                one(
                    conn,
                    "SELECT concord.create_registry_version('tool', %s, %s, %s::jsonb)",
                    name,
                    version,
                    f'{{"mode": "sync", "description": "release {i}"}}',
                )
            )
        )
        assert (
            one(conn, "SELECT concord._registry_publish(%s) ->> 'status'", ids[-1]) == "published"
        )
    return ids


def in_thread(dsn: str, statement: str, *params: Any) -> tuple[threading.Thread, dict[str, Any]]:
    """Runs statement in a transaction of its own on another connection, in a thread;
    the outcome lands in the dict ('ok' or the error's SQLSTATE and rule)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        with connect(dsn) as conn:
            conn.execute("SET lock_timeout = '20s'")
            try:
                with conn.transaction():
                    conn.execute(statement, params)
                outcome["result"] = "ok"
            except psycopg.Error as error:
                outcome["result"] = f"{error.sqlstate} {error.diag.constraint_name}"

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def active_bindings_of_retired(conn: psycopg.Connection, version_id: str) -> int:
    return one(
        conn,
        """SELECT count(*)::int FROM concord.registry_bindings AS b
           INNER JOIN concord.registry_versions AS v ON b.version_id = v.version_id
           WHERE v.version_id = %s AND v.status = 'retired' AND b.status = 'active'""",
        version_id,
    )


def race(
    registry_dsn: str,
    first: str,
    first_params: tuple[Any, ...],
    second: str,
    second_params: tuple[Any, ...],
    settle: Callable[[], None] | None = None,
) -> str:
    """first runs in an open transaction; second starts on another connection; first
    commits; the answer is second's outcome."""
    with connect(registry_dsn) as a:
        with a.transaction():
            a.execute(first, first_params)
            thread, outcome = in_thread(registry_dsn, second, *second_params)
            time.sleep(1.0)
        thread.join(30)
        assert not thread.is_alive(), "the second session never finished"
    return outcome["result"]


def test_a_binding_made_while_the_version_is_retired_is_disabled_by_the_retirement(
    rdb: psycopg.Connection, registry_dsn: str
) -> None:
    [v] = published_tool(rdb)
    result = race(
        registry_dsn,
        "SELECT concord._registry_bind(%s, 'global', '*', NULL, 'pinned', '{}', 'operator')",
        (v,),
        "SELECT concord._registry_retire(%s, 'race')",
        (v,),
    )
    assert result == "ok"
    assert (
        one(rdb, "SELECT status FROM concord.registry_versions WHERE version_id = %s", v)
        == "retired"
    )
    assert active_bindings_of_retired(rdb, v) == 0


def test_a_binding_made_after_an_uncommitted_retirement_is_refused(
    rdb: psycopg.Connection, registry_dsn: str
) -> None:
    [v] = published_tool(rdb)
    result = race(
        registry_dsn,
        "SELECT concord._registry_retire(%s, 'race')",
        (v,),
        "SELECT concord._registry_bind(%s, 'global', '*', NULL, 'pinned', '{}', 'operator')",
        (v,),
    )
    assert result == "CN011 a_new_binding_is_active_on_a_published_version"
    assert active_bindings_of_retired(rdb, v) == 0


@pytest.mark.parametrize("retire_first", [False, True])
def test_a_rollback_racing_the_retirement_of_its_target_leaves_no_active_binding(
    rdb: psycopg.Connection, registry_dsn: str, retire_first: bool
) -> None:
    old, new = published_tool(rdb, ("1.0.0", "1.0.1"))
    binding = one(
        rdb,
        "SELECT concord._registry_bind(%s, 'global', '*', NULL, 'pinned', '{}', 'operator') "
        "->> 'binding_id'",
        new,
    )
    rollback = ("SELECT concord._registry_rollback(%s, %s, 'race')", (binding, old))
    retire = ("SELECT concord._registry_retire(%s, 'race')", (old,))
    first, second = (retire, rollback) if retire_first else (rollback, retire)
    result = race(registry_dsn, first[0], first[1], second[0], second[1])
    if retire_first:
        assert result == "CN011 a_binding_points_at_a_resolvable_version"
    else:
        assert result == "ok"
    assert active_bindings_of_retired(rdb, old) == 0
