"""The Domain Registry's tests against a real worker: a database of the test module's own
with Concord installed, a ``concord worker`` on it (which serves the registry's lifecycle
workflows as built-in operations), organisations whose owners and members act through API
tokens on a login of their own, and waits for a registry command's outcome.

The fixtures are shared through ``tests/registry/conftest.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from concord import Client
from concord.migrate import migrate
from support.databases import temporary_database
from support.workers import WorkerProcess, stop_workers, wait_for

FINISHED = {"succeeded", "failed", "cancelled"}


@pytest.fixture(scope="module")
def registry_dsn(server_dsn: str) -> Iterator[str]:
    """A database of the test module's own with Concord installed."""
    with temporary_database(server_dsn, "concord_registry") as dsn:
        migrate(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET client_min_messages = warning")
            # the cluster is shared: keep each worker's pools small
            conn.execute(
                "UPDATE concord.runtime_queues SET worker_concurrency = "
                "least(worker_concurrency, 4)"
            )
        yield dsn


@pytest.fixture(scope="module")
def before_the_worker(registry_dsn: str) -> Any:
    """What a test module does in its database before its worker starts (override it);
    the worker fixture hands it on."""
    return None


@pytest.fixture(scope="module")
def registry_worker(registry_dsn: str, before_the_worker: Any) -> Iterator[WorkerProcess]:
    """A ``concord worker`` on the module's database with only the built-in operations."""
    worker = WorkerProcess(
        registry_dsn, executor_id=f"registry-{uuid.uuid4().hex[:8]}", modules=()
    ).start(timeout=90)
    try:
        yield worker
    finally:
        stop_workers(worker)


def connect(dsn: str) -> psycopg.Connection:
    """An autocommit, dict-row connection that keeps notices quiet."""
    conn = psycopg.connect(dsn, autocommit=True, row_factory=dict_row)
    conn.execute("SET client_min_messages = warning")
    return conn


@pytest.fixture
def rdb(registry_dsn: str) -> Iterator[psycopg.Connection]:
    """A superuser's autocommit, dict-row connection to the module's database: an
    operator, for set-up and for checks behind the API."""
    with connect(registry_dsn) as conn:
        yield conn


def one(conn: psycopg.Connection, query: str, *params: Any) -> Any:
    """The first column of the first row (``None`` without a row)."""
    row = conn.execute(query, params).fetchone()
    if row is None:
        return None
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def command(conn: psycopg.Connection, command_id: Any) -> dict[str, Any]:
    return conn.execute(
        "SELECT * FROM concord.commands WHERE command_id = %s", (command_id,)
    ).fetchone()


def wait_command(
    conn: psycopg.Connection, command_id: Any, wanted: set[str] | None = None,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """The command once its status is in ``wanted`` (default: finished)."""
    wanted = wanted or FINISHED
    return wait_for(
        lambda: (c := command(conn, command_id))["status"] in wanted and c,
        timeout,
        interval=0.05,
        message=f"command {command_id} to reach {sorted(wanted)}",
    )


def workflow_status(conn: psycopg.Connection, workflow_id: str) -> str | None:
    return one(conn, "SELECT status FROM dbos.workflow_status WHERE workflow_uuid = %s",
               workflow_id)


def wait_workflow(conn: psycopg.Connection, workflow_id: str, timeout: float = 60.0) -> str:
    """DBOS's status of a workflow once it ended."""
    return wait_for(
        lambda: (s := workflow_status(conn, workflow_id)) in {"SUCCESS", "ERROR", "CANCELLED"}
        and s,
        timeout,
        interval=0.05,
        message=f"workflow {workflow_id} to end",
    )


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@dataclass
class Org:
    """An organisation with one project (``main``), its principals' tokens and a LOGIN
    role (holding concord_app and concord_approver) mapped to no principal: each
    principal acts through it with its own token."""

    name: str
    project: str
    login: str
    login_dsn: str
    tokens: dict[str, str] = field(default_factory=dict)
    clients: list[Client] = field(default_factory=list)

    def client(self, who: str) -> Client:
        """A client acting as ``who`` (by its token), closed with the organisation."""
        c = Client(self.login_dsn, token=self.tokens[who], max_size=2)
        self.clients.append(c)
        return c


def make_org(
    conn: psycopg.Connection, dsn: str, members: dict[str, str], prefix: str = "reg"
) -> Org:
    """An organisation whose principals are ``members`` (name -> role: owner, admin,
    member, approver, reader), each with a day's token."""
    name = unique(prefix).replace("_", "-")
    login = unique(f"{prefix}_login")
    conn.execute("SELECT concord.create_organisation(%s)", (name,))
    conn.execute("SELECT concord.create_project(%s, 'main')", (name,))
    org = Org(name=name, project=f"{name}/main", login=login,
              login_dsn=make_conninfo(dsn, user=login))
    for who, role in members.items():
        conn.execute("SELECT concord.create_principal(%s)", (who,))
        conn.execute("SELECT concord.add_member(%s, %s, %s)", (name, who, role))
        org.tokens[who] = one(
            conn, "SELECT token FROM concord.create_api_token(%s, %s)", who, timedelta(days=1)
        )
    conn.execute(
        sql.SQL("CREATE ROLE {} LOGIN IN ROLE concord_app, concord_approver").format(
            sql.Identifier(login)
        )
    )
    return org


def drop_org(conn: psycopg.Connection, org: Org) -> None:
    """Close the organisation's clients and drop its login (roles are cluster-wide)."""
    for c in org.clients:
        c.close()
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (org.login,)
    )
    conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(org.login)))


@pytest.fixture
def orgs(rdb: psycopg.Connection, registry_dsn: str) -> Iterator[Any]:
    """A factory of organisations (``orgs({"ann": "owner", ...})``), cleaned up after the
    test."""
    made: list[Org] = []

    def factory(members: dict[str, str], prefix: str = "reg") -> Org:
        org = make_org(rdb, registry_dsn, members, prefix)
        made.append(org)
        return org

    try:
        yield factory
    finally:
        for org in made:
            drop_org(rdb, org)
