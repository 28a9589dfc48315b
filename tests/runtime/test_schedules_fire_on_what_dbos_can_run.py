"""Schedules (spec 78): a cron DBOS cannot run is refused where it is registered
(CN005), and a schedule on any registered queue fires on a real worker.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from concord.migrate import migrate
from support.databases import temporary_database
from support.workers import WorkerProcess, register_test_types, wait_for


@pytest.fixture
def fresh(server_dsn: str) -> Iterator[str]:
    with temporary_database(server_dsn, "concord_schedules") as d:
        migrate(d)
        register_test_types(d)
        yield d


def one(conn: psycopg.Connection, query: str, *params):
    row = conn.execute(query, params).fetchone()
    return row[0] if row else None


# ---------------------------------------------------------------------------
# An invalid cron is refused where it is registered
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("cron", ["a b c d e", "99 * * * *", "* * * * 9"])
def test_register_schedule_refuses_a_cron_dbos_cannot_run(fresh: str, cron: str) -> None:
    with psycopg.connect(fresh, autocommit=True) as conn:
        spec = {"name": "bad_cron_" + uuid.uuid4().hex[:6], "cron": cron, "command_type": "rt.echo"}
        with pytest.raises(psycopg.Error) as caught:
            conn.execute("SELECT concord.register_schedule(%s)", (json.dumps(spec),))
        assert caught.value.sqlstate == "CN005"


# ---------------------------------------------------------------------------
# A schedule fires on whichever registered queue it names
# ---------------------------------------------------------------------------


def test_a_schedule_on_any_registered_queue_fires(fresh: str) -> None:
    with psycopg.connect(fresh, autocommit=True) as conn:
        conn.execute(
            "SELECT concord.register_schedule(%s)",
            (
                json.dumps(
                    {
                        "name": "on_agents",
                        "cron": "* * * * * *",
                        "command_type": "rt.echo",
                        "queue": "agent_runs",
                    }
                ),
            ),
        )
        with WorkerProcess(fresh, executor_id=f"sched-{uuid.uuid4().hex[:8]}"):
            wait_for(
                lambda: one(
                    conn,
                    "SELECT count(*) FROM concord.commands "
                    "WHERE requested_by = 'schedule:on_agents'",
                ),
                timeout=12,
                message="a tick of a schedule on queue agent_runs",
            )
