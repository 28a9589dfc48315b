"""The built-in PostgreSQL connector (spec 19): parameterized SQL against a database named
by a secret reference.

``query`` runs one statement in a ``READ ONLY`` transaction under ``statement_timeout`` and
rolls it back, so it cannot change anything even when the role could. ``execute`` (offered
only when ``read_only`` is false) runs one statement in a read-write transaction and
commits. Both send the statement and its parameters separately (a prepared statement,
which also refuses a second statement smuggled after a ``;``); parameters are never
formatted into the text. Placeholders are psycopg's ``%s`` / ``%(name)s``; with parameters,
a literal ``%`` is written ``%%``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import ipaddress
import math
import re
import uuid
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from ..error_classes import ConfigError, ConnectorError
from .base import (
    Connector,
    ConnectorCall,
    ConnectorResult,
    is_secret_ref,
    require_clean_config,
    resolve_secret,
    scrub,
)

DEFAULT_STATEMENT_TIMEOUT_MS = 5000
DEFAULT_MAX_ROWS = 1000
DEFAULT_CONNECT_TIMEOUT_S = 10
CONFIG_KEYS = frozenset({"dsn", "read_only", "statement_timeout_ms", "max_rows"})
INPUT_KEYS = frozenset({"sql", "params"})

# SQLSTATEs (and classes) whose failure a retry may cure.
_TEMPORARY_STATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03"})
_TEMPORARY_CLASSES = ("08", "53", "58")


def classify_pg_error(exc: BaseException) -> str:
    """The spec 32 error class of a psycopg exception."""
    state = getattr(getattr(exc, "diag", None), "sqlstate", None) or getattr(exc, "sqlstate", None)
    if state == "57014":  # query_canceled: statement_timeout
        return "timeout"
    if state in ("42501",) or (state or "").startswith("28"):
        return "permission_denied"
    if state in _TEMPORARY_STATES or (state or "").startswith(_TEMPORARY_CLASSES):
        return "temporary_database_error"
    if state:
        # 25006 read_only_sql_transaction, 42xxx syntax / undefined objects, 22xxx data,
        # 23xxx integrity, P0001 raise_exception, ...: the statement is refused as written.
        return "validation_error" if not state.startswith("XX") else "internal_error"
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        # A refused connection carries no SQLSTATE: read libpq's message. A login the
        # server refuses is not temporary; retrying it changes nothing.
        message = str(exc).lower()
        if any(
            marker in message
            for marker in (
                "password authentication failed",
                "authentication failed",
                "no pg_hba.conf entry",
                "permission denied",
            )
        ) or re.search(r'role "[^"]*" does not exist', message):
            return "permission_denied"
        if re.search(r'database "[^"]*" does not exist', message):
            return "validation_error"
        return "temporary_database_error"
    if isinstance(exc, psycopg.ProgrammingError | psycopg.DataError | TypeError | ValueError):
        return "validation_error"
    return "internal_error"


def dsn_secrets(dsn: str) -> list[str]:
    """The strings to remove from a message about a connection to ``dsn``."""
    secrets = [dsn]
    try:
        password = conninfo_to_dict(dsn).get("password")
    except Exception:  # noqa: BLE001 - a malformed DSN: redact it whole
        password = None
    if password:
        secrets.append(str(password))
    return secrets


def pg_error_message(exc: BaseException, secrets: list[str]) -> str:
    """``SQLSTATE: primary message`` of a psycopg error, with any secret removed."""
    diag = getattr(exc, "diag", None)
    state = getattr(diag, "sqlstate", None)
    primary = getattr(diag, "message_primary", None)
    if not primary:
        lines = str(exc).strip().splitlines()
        primary = lines[0] if lines else ""
    text = f"{state}: {primary}" if state else f"{type(exc).__name__}: {primary}"
    return scrub(text, secrets)


def jsonable(value: Any) -> Any:
    """A JSON-serializable form of a value psycopg returned: Decimal as its exact decimal
    string, dates and times in ISO 8601, UUIDs and addresses as text, bytes as ``\\x`` hex."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)  # NaN, Infinity: no JSON
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(
        value,
        ipaddress.IPv4Address
        | ipaddress.IPv6Address
        | ipaddress.IPv4Network
        | ipaddress.IPv6Network
        | ipaddress.IPv4Interface
        | ipaddress.IPv6Interface,
    ):
        return str(value)
    return str(value)  # ranges, intervals of other kinds, enums of extensions, ...


def _adapt_param(value: Any) -> Any:
    # A JSON object as a parameter goes as jsonb; lists stay arrays (psycopg's default).
    return Jsonb(value) if isinstance(value, dict) else value


class PostgresConnector(Connector):
    """Spec 19 connector of type ``postgres``: ``query`` (read-only) and, when
    ``read_only`` is false, ``execute``."""

    connector_type = "postgres"

    def __init__(self, name: str, config: dict[str, Any]):
        require_clean_config(name, config, CONFIG_KEYS)
        self.name = name
        dsn = config.get("dsn")
        if not is_secret_ref(dsn):
            raise ConfigError(
                f"connector {name}: dsn must be a secret reference (env://NAME or file://PATH): "
                "a DSN carries a password"
            )
        self._dsn_ref: str = dsn
        read_only = config.get("read_only", True)
        if not isinstance(read_only, bool):
            raise ConfigError(f"connector {name}: read_only must be true or false")
        self.read_only = read_only
        self.statement_timeout_ms = self._positive_int(
            config, "statement_timeout_ms", DEFAULT_STATEMENT_TIMEOUT_MS
        )
        self.max_rows = self._positive_int(config, "max_rows", DEFAULT_MAX_ROWS)

    def _positive_int(self, config: dict[str, Any], key: str, default: int) -> int:
        value = config.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"connector {self.name}: {key} must be a positive integer")
        return value

    def capabilities(self) -> list[str]:
        return ["query"] if self.read_only else ["query", "execute"]

    def _invalid(self, message: str) -> ConnectorError:
        return ConnectorError(f"connector {self.name}: {message}", error_class="validation_error")

    def call(self, request: ConnectorCall) -> ConnectorResult:
        if request.capability not in self.capabilities():
            raise self._invalid(
                f"capability {request.capability!r} is not offered "
                f"(capabilities: {self.capabilities()})"
            )
        data = request.input or {}
        if not isinstance(data, dict):
            raise self._invalid("the input must be an object")
        unknown = sorted(set(data) - INPUT_KEYS)
        if unknown:
            raise self._invalid(f"unknown input keys {unknown} (known: {sorted(INPUT_KEYS)})")
        statement = data.get("sql")
        if not isinstance(statement, str) or not statement.strip():
            raise self._invalid("sql must be a non-empty string")
        params = data.get("params")
        if params is None:
            bound: Any = None
        elif isinstance(params, list | tuple):
            bound = [_adapt_param(v) for v in params]
        elif isinstance(params, dict):
            bound = {str(k): _adapt_param(v) for k, v in params.items()}
        else:
            raise self._invalid("params must be a list or an object")

        writing = request.capability == "execute"
        dsn = resolve_secret(self._dsn_ref)
        secrets = dsn_secrets(dsn)
        try:
            return self._run(dsn, statement, bound, writing)
        except ConnectorError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is classified
            error_class = classify_pg_error(exc)
            message = pg_error_message(exc, secrets)
            if error_class == "validation_error" and "25006" in message and not writing:
                message += " (the query capability runs in a READ ONLY transaction)"
            state = getattr(getattr(exc, "diag", None), "sqlstate", None)
            raise ConnectorError(
                f"connector {self.name}: {request.capability} failed: {message}",
                error_class=error_class,
                detail={"sqlstate": state} if state else None,
            ) from None

    def _connect(self, dsn: str) -> psycopg.Connection:
        try:
            parsed = conninfo_to_dict(dsn)
        except psycopg.ProgrammingError:
            raise self._invalid("the DSN its secret reference names is malformed") from None
        extra: dict[str, Any] = {}
        if "connect_timeout" not in parsed:
            extra["connect_timeout"] = DEFAULT_CONNECT_TIMEOUT_S
        if "application_name" not in parsed:
            extra["application_name"] = f"concord-connector:{self.name}"[:63]
        return psycopg.connect(dsn, autocommit=False, row_factory=dict_row, **extra)

    def _run(self, dsn: str, statement: str, params: Any, writing: bool) -> ConnectorResult:
        # Leaving the block on an exception rolls the transaction back and closes.
        with self._connect(dsn) as conn:
            conn.read_only = not writing  # BEGIN READ ONLY for query
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT set_config('statement_timeout', %s, true)",
                    [str(self.statement_timeout_ms)],
                )
                # prepare=True: the extended protocol, so exactly one statement runs.
                cur.execute(statement, params, prepare=True)
                rows: list[dict[str, Any]] = []
                truncated = False
                if cur.description is not None:
                    fetched = cur.fetchmany(self.max_rows + 1)
                    truncated = len(fetched) > self.max_rows
                    rows = [
                        {k: jsonable(v) for k, v in row.items()} for row in fetched[: self.max_rows]
                    ]
                affected = cur.rowcount
                status = cur.statusmessage
            if writing:
                conn.commit()
            else:
                conn.rollback()  # nothing to keep: a second guard besides READ ONLY
        output: dict[str, Any] = {"rows": rows, "row_count": len(rows), "truncated": truncated}
        if writing:
            output["affected_rows"] = affected
        return ConnectorResult(ok=True, output=output, metadata={"status": status})

    def summarize(self, output: dict[str, Any]) -> dict[str, Any]:
        summary = {k: v for k, v in output.items() if k != "rows"}
        summary["rows"] = output.get("rows", [])[:5]
        return summary
