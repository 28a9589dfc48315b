"""The worker's connection pool and its calls to the SQL runtime functions.

Every call survives a database outage of up to ``retry.DATABASE_RETRY_SECONDS``: a
transient database error (``retry.is_transient_database_error``) is retried with backoff,
and before the retry the pool checks its idle connections, so that those an outage broke
are replaced rather than failing the next statements one by one. (Checking every
connection before lending it would cost a round trip per statement, all the time.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from ..errors import from_psycopg
from .retry import is_transient_database_error, with_database_retry

T = TypeVar("T")


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
        """The first column of the first row of ``query`` (one autocommit statement; run
        again after a transient database error, so it must be safe to repeat)."""
        args = tuple(Jsonb(p) if isinstance(p, (dict, list)) else p for p in params)

        def once() -> Any:
            return self._on_a_connection(lambda conn: conn.execute(query, args).fetchone())

        try:
            row = with_database_retry(once)
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

        def authenticated(conn: Any) -> Any:
            with conn.transaction():
                conn.execute("SELECT concord.authenticate(%s)", (credential,))
                return conn.execute(query, args).fetchone()

        def once() -> Any:
            return self._on_a_connection(authenticated)

        try:
            row = with_database_retry(once)
        except Exception as exc:
            mapped = from_psycopg(exc) if hasattr(exc, "sqlstate") else None
            if mapped is not None and mapped is not exc:
                raise mapped from exc
            raise
        return row[0] if row else None

    def rows(self, query: str, *params: Any) -> list[tuple]:
        def once() -> list[tuple]:
            return self._on_a_connection(lambda conn: conn.execute(query, params).fetchall())

        return with_database_retry(once)

    def _on_a_connection(self, work: Callable[[Any], T]) -> T:
        """``work(conn)`` on a pooled connection. After a transient database error the
        pool's idle connections are checked (broken ones replaced) before the caller's
        retry, which then does not meet them one at a time."""
        try:
            with self.pool.connection() as conn:
                return work(conn)
        except Exception as exc:
            if is_transient_database_error(exc):
                try:
                    self.pool.check()
                except Exception:  # noqa: BLE001 - the server may still be away: retry anyway
                    pass
            raise

    def close(self) -> None:
        self.pool.close()
