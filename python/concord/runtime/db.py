"""The worker's connection pool and its calls to the SQL runtime functions."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from ..errors import from_psycopg


class RuntimeDB:
    """One pool per worker process. Each call is its own transaction."""

    def __init__(self, dsn: str, *, max_size: int = 32):
        self.dsn = dsn
        self.pool = ConnectionPool(
            dsn,
            min_size=2,
            max_size=max_size,
            kwargs={"autocommit": True},
            open=True,
            name="concord-runtime",
        )

    def scalar(self, query: str, *params: Any) -> Any:
        """The first column of the first row of ``query`` (one autocommit statement)."""
        args = tuple(Jsonb(p) if isinstance(p, (dict, list)) else p for p in params)
        try:
            with self.pool.connection() as conn:
                row = conn.execute(query, args).fetchone()
        except Exception as exc:  # psycopg errors carrying a CN code become Concord's
            mapped = from_psycopg(exc) if hasattr(exc, "sqlstate") else None
            if mapped is not None and mapped is not exc:
                raise mapped from exc
            raise
        return row[0] if row else None

    def scalar_as(self, credential: str | None, query: str, *params: Any) -> Any:
        """:meth:`scalar` in one transaction authenticated with ``credential`` (``SELECT
        concord.authenticate(...)`` first: an agent run's secret, say); without one,
        :meth:`scalar` as the worker's own login. The credential is transaction-local:
        the pooled connection keeps nothing of it."""
        if credential is None:
            return self.scalar(query, *params)
        args = tuple(Jsonb(p) if isinstance(p, (dict, list)) else p for p in params)
        try:
            with self.pool.connection() as conn, conn.transaction():
                conn.execute("SELECT concord.authenticate(%s)", (credential,))
                row = conn.execute(query, args).fetchone()
        except Exception as exc:
            mapped = from_psycopg(exc) if hasattr(exc, "sqlstate") else None
            if mapped is not None and mapped is not exc:
                raise mapped from exc
            raise
        return row[0] if row else None

    def rows(self, query: str, *params: Any) -> list[tuple]:
        with self.pool.connection() as conn:
            return conn.execute(query, params).fetchall()

    def close(self) -> None:
        self.pool.close()
