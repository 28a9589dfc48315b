"""Shared fixtures: a real PostgreSQL server (``CONCORD_DSN``, a superuser connection),
throwaway databases on it, one database with Concord installed for the whole session, a
:class:`concord.Client` on it, and command types with names unique to each test so that
tests sharing the session database never collide.

A missing server is a failure, never a skip: CI must not go green without one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from concord import Client
from concord.migrate import migrate

# Test modules import it from support.databases, not from here: tests/console has a
# conftest.py of its own, and ``from conftest import`` may find either.
from support.databases import temporary_database


@pytest.fixture(scope="session")
def server_dsn() -> str:
    dsn = os.environ.get("CONCORD_DSN")
    if not dsn:
        pytest.fail(
            "CONCORD_DSN is not set: these tests need a real PostgreSQL superuser connection "
            "(run them through `make test`, or export CONCORD_DSN='host=... user=postgres')",
            pytrace=False,
        )
    return dsn


@pytest.fixture(scope="session")
def concord_dsn(server_dsn: str) -> Iterator[str]:
    """One database with Concord installed by ``concord.migrate.migrate``, shared by the
    session. Tests that write to it use names and keys unique to themselves."""
    with temporary_database(server_dsn, "concord_session") as dsn:
        migrate(dsn)
        yield dsn


@pytest.fixture
def fresh_dsn(server_dsn: str) -> Iterator[str]:
    """An empty database of its own for one test (installer tests)."""
    with temporary_database(server_dsn, "concord_fresh") as dsn:
        yield dsn


@pytest.fixture
def client(concord_dsn: str) -> Iterator[Client]:
    c = Client(concord_dsn)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def db(concord_dsn: str) -> Iterator[psycopg.Connection]:
    """A plain autocommit connection to the session database, for checks behind the API."""
    with psycopg.connect(concord_dsn, autocommit=True) as conn:
        yield conn


# An async command type with required inputs and a JSON Schema (spec 13.2).
ASYNC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "report_type": {"type": "string", "enum": ["revenue", "costs"]},
        "date_range": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
        "copies": {"type": "integer", "minimum": 1},
    },
    "required": ["report_type", "date_range"],
}


@dataclass(frozen=True)
class CommandTypes:
    """Names of the command types registered for one test."""

    async_type: str  # async_required, required_inputs + payload_schema: submit -> queued
    sync_type: str  # sync_allowed, no inputs: submit -> validated
    approval_type: str  # approval_required + sync: submit -> waiting_for_approval ('standard')
    valid_payload: dict[str, Any]


@pytest.fixture
def types(client: Client) -> CommandTypes:
    suffix = uuid.uuid4().hex[:12]
    async_spec = {
        "command_type": f"test.report_{suffix}",
        "name": "Generate Report (test)",
        "function_name": "generate_report",
        "ingress_types": ["user_request"],
        "required_inputs": ["report_type", "date_range"],
        "payload_schema": ASYNC_SCHEMA,
        "async_required": True,
        "artifact_output_possible": True,
        "risk_level": "medium",
    }
    async_type = client.register_command_type(async_spec)
    sync_type = client.register_command_type(
        {"command_type": f"test.sync_{suffix}", "sync_allowed": True}
    )
    approval_type = client.register_command_type(
        {
            "command_type": f"test.approval_{suffix}",
            "sync_allowed": True,
            "approval_required": True,
        }
    )
    return CommandTypes(
        async_type=async_type,
        sync_type=sync_type,
        approval_type=approval_type,
        valid_payload={"report_type": "revenue", "date_range": "2026-05"},
    )
