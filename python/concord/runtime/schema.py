"""DBOS's system schema, installed by ``concord migrate`` into the Concord database itself
(schema ``dbos``) so that the kernel can enqueue workflows in the transaction that makes a
command runnable."""

from __future__ import annotations

from urllib.parse import quote

from psycopg.conninfo import conninfo_to_dict

DBOS_SCHEMA = "dbos"


def sqlalchemy_url(dsn: str) -> str:
    """The SQLAlchemy URL (``postgresql+psycopg://``) of a libpq DSN or URI; every libpq
    setting other than user, password and database travels as a query parameter."""
    params = conninfo_to_dict(dsn)
    user = quote(params.pop("user", "") or "", safe="")
    password = params.pop("password", None)
    dbname = quote(params.pop("dbname", "") or "", safe="")
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in sorted(params.items()))
    return f"postgresql+psycopg://{auth}/{dbname}" + (f"?{query}" if query else "")


def install_dbos_schema(dsn: str, *, application_role: str | None = None) -> None:
    """Create or upgrade DBOS's system schema in the database at ``dsn``; with
    ``application_role``, grant that role what a DBOS worker needs on it."""
    import logging

    from dbos import DBOS

    # DBOS logs each of its migrations at INFO; `concord migrate` reports its own steps.
    logging.getLogger("dbos").setLevel(logging.WARNING)
    DBOS.migrate(sqlalchemy_url(dsn), schema=DBOS_SCHEMA, application_role=application_role)
