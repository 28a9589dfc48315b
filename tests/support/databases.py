"""Throwaway databases on the server of ``CONCORD_DSN`` (a superuser connection)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo


def dsn_for_database(server_dsn: str, dbname: str) -> str:
    """``server_dsn`` with only its database name replaced (host, port, user, password,
    sslmode, ... are kept)."""
    return make_conninfo("", **{**conninfo_to_dict(server_dsn), "dbname": dbname})


def unique_name(prefix: str) -> str:
    """A lowercase identifier unique to this call (at most 63 bytes)."""
    return f"{prefix[:30]}_{uuid.uuid4().hex[:16]}"


@contextmanager
def temporary_database(server_dsn: str, prefix: str = "concord_test") -> Iterator[str]:
    """Create an empty, uniquely named database; yield its DSN; drop it WITH (FORCE)."""
    name = unique_name(prefix)
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield dsn_for_database(server_dsn, name)
    finally:
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
