"""The worker's pool outlives its connections (issue 13 §1): when the server ends every
session of the worker's pool (``pg_terminate_backend``: SQLSTATE 57P01, what a restart does
to them), the next runtime call still answers, on a new connection, and a call made while
the database refuses connections answers once it accepts them again."""

from __future__ import annotations

import threading
import time

import psycopg

from concord.runtime.db import RuntimeDB
from support.databases import temporary_database


def cut_sessions(server_dsn: str, dbname: str) -> int:
    with psycopg.connect(server_dsn, autocommit=True) as admin:
        return admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        ).fetchone()[0]


def test_the_runtime_pool_outlives_cut_connections(server_dsn: str) -> None:
    with temporary_database(server_dsn, "concord_pool_cut") as dsn:
        dbname = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
        db = RuntimeDB(dsn, max_size=4)
        try:
            assert db.scalar("SELECT 1") == 1
            db.pool.wait(timeout=10)  # min_size connections open: all of them get cut
            assert cut_sessions(server_dsn, dbname) >= 2
            assert db.scalar("SELECT 2") == 2, "a call after the cut failed"

            # then the database refuses new sessions for a while (as a starting server
            # does), its sessions cut again: a call made meanwhile waits and answers
            with psycopg.connect(server_dsn, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
            cut_sessions(server_dsn, dbname)
            answer: list = []
            call = threading.Thread(target=lambda: answer.append(db.scalar("SELECT 3")))
            call.start()
            time.sleep(1.5)
            assert not answer, "the call answered while the database refused connections"
            with psycopg.connect(server_dsn, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
            call.join(timeout=60)
            assert answer == [3], "the call made during the refusal did not answer after it"
        finally:
            db.close()
