"""A worker needs no superuser: a login role that is a member of concord_worker runs
commands end to end (concord migrate grants it DBOS's schema), and concord_app cannot
act for a worker."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from concord.migrate import migrate
from support.databases import temporary_database
from support.workers import Vendor, WorkerProcess, register_test_types, submit, wait_status


def test_a_worker_running_as_a_concord_worker_login_executes_commands(server_dsn: str) -> None:
    role = f"worker_login_{uuid.uuid4().hex[:8]}"
    vendor = Vendor()
    try:
        with temporary_database(server_dsn, "concord_rt_role") as dsn:
            migrate(dsn)
            register_test_types(dsn)
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f"CREATE ROLE {role} LOGIN IN ROLE concord_worker")
                try:
                    worker_dsn = make_conninfo("", **{**conninfo_to_dict(dsn), "user": role})
                    with WorkerProcess(worker_dsn, executor_id=role, vendor_url=vendor.url) as w:
                        command = submit(conn, "rt.http", {"effects": 2})
                        assert wait_status(conn, command, {"succeeded", "failed"}) == "succeeded", (
                            w.log()
                        )
                    actors = {
                        actor
                        for (actor,) in conn.execute(
                            "SELECT actor FROM concord.domain_events WHERE command_id = %s",
                            (command,),
                        )
                    }
                    assert f"worker:{role}" in actors
                    # What the worker may, concord_app may not.
                    conn.execute("SET ROLE concord_app")
                    with pytest.raises(psycopg.errors.InsufficientPrivilege):
                        conn.execute(
                            "SELECT concord.runtime_claim(%s, %s, 'x')", (command, command)
                        )
                    conn.execute("RESET ROLE")
                finally:
                    conn.execute("RESET ROLE")
                    conn.execute(f"DROP OWNED BY {role}")
            with psycopg.connect(server_dsn, autocommit=True) as conn:
                conn.execute(f"DROP ROLE IF EXISTS {role}")
    finally:
        vendor.close()
