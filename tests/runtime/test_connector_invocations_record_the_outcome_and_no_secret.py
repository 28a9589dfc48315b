"""Connectors, the worker CLI and secrets (issue 4):

1. An effect the peer executed is recorded as executed even when its answer holds what
   Postgres cannot store (a JSON string with \\u0000, a NaN).
2. The capabilities declared in concord.connectors are enforced (a connector declared
   with only ``query`` does not write) and checked by the worker's preflight.
3. ``--module`` entries that fail to import are refused with exit 2, each listed.
4. The postgres connector classifies a refused login (SQLSTATE 28000) as
   permission_denied, not as a temporary database error.
5. connector_invocations.input_hash reveals no redacted value.
6. domain_effects redacts what connector_invocations redacts (effect_payload, result).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest

from concord.migrate import migrate
from concord.runtime.connectors.base import ConnectorCall
from concord.runtime.connectors.postgres import PostgresConnector
from concord.runtime.error_classes import ConnectorError
from support.databases import temporary_database
from support.workers import CONCORD, WorkerProcess, submit, wait_status

TERMINAL = {"succeeded", "failed", "cancelled"}
PASSWORD = "hunter2"

OPS = """
from concord.runtime import RetryPolicy, operation
from concord.runtime.connectors import resolve_secret

ONCE = RetryPolicy(max_attempts=1, backoff_seconds=(0.05,))


@operation("rv2.nul", produces=["connector.peer.request"], retry=ONCE)
def nul(ctx, payload):
    out = ctx.call("peer", "request", {"method": "POST", "path": payload["path"]})
    return {"id": out["json"]["id"]}


@operation("rv2.login", produces=["connector.peer.request"], retry=ONCE)
def login(ctx, payload):
    # a token endpoint that wants the client secret in the body (not a header): the
    # operation resolves the reference itself, as the http connector offers no other way
    secret = resolve_secret("env://RV2_CLIENT_SECRET")
    out = ctx.call("peer", "request", {"method": "POST", "path": "/login",
                                       "json": {"client_id": "ann", "client_secret": secret}})
    return {"ok": True}
"""

WRITE_OPS = """
from concord.runtime import operation


@operation("rv2.write", produces=["connector.pgrw.execute"])
def write(ctx, payload):
    return ctx.call("pgrw", "execute", {"sql": "CREATE TABLE rv2_written (x int)"})
"""


class Peer:
    """An HTTP vendor that executes each Idempotency-Key once and answers per path."""

    ANSWERS = {
        "/nul": b'{"id": "nul-1", "note": "a\\u0000b"}',
        "/nan": b'{"id": "nan-1", "score": NaN}',
        "/login": b'{"id": "login-1", "access_token": "tok-from-peer-123"}',
    }

    def __init__(self) -> None:
        self.executed: Counter[str] = Counter()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                peer.executed[self.path] += 1
                data = peer.ANSWERS.get(self.path, b'{"id": "x"}')
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def one(conn: psycopg.Connection, query: str, *params: Any) -> Any:
    row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def _prepare(dsn: str, types: list[str], connectors: list[dict]) -> None:
    migrate(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for t in types:
            conn.execute(
                "SELECT concord.register_command_type(%s)",
                (json.dumps({"command_type": t, "name": t, "async_required": True}),),
            )
        for spec in connectors:
            conn.execute("SELECT concord.register_connector(%s)", (json.dumps(spec),))


@pytest.fixture(scope="module")
def env(server_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    peer = Peer()
    mods = tmp_path_factory.mktemp("rv2_ops")
    (mods / "rv2_ops.py").write_text(OPS)
    with temporary_database(server_dsn, "rv2_rt") as dsn:
        _prepare(
            dsn,
            ["rv2.nul", "rv2.login"],
            [{"name": "peer", "connector_type": "http", "capabilities": ["request"],
              "config": {"base_url": peer.url, "timeout_seconds": 5}}],
        )
        worker = WorkerProcess(
            dsn,
            executor_id=f"rv2-{uuid.uuid4().hex[:8]}",
            extra_env={"PYTHONPATH": str(mods), "RV2_CLIENT_SECRET": PASSWORD},
            modules=("rv2_ops",),
        ).start()
        try:
            yield {"dsn": dsn, "peer": peer, "worker": worker}
        finally:
            try:
                worker.terminate(30)
            except subprocess.TimeoutExpired:
                worker.kill()
            peer.close()


@pytest.fixture
def db(env: dict) -> Iterator[psycopg.Connection]:
    with psycopg.connect(env["dsn"], autocommit=True) as conn:
        yield conn


# ---------------------------------------------------------------------------
# 1. An executed effect recorded as failed
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nul", "/nan"])
def test_an_effect_the_peer_executed_is_not_recorded_as_failed(
    env: dict, db: psycopg.Connection, path: str
) -> None:
    command_id = submit(db, "rv2.nul", {"path": path})
    final = wait_status(db, command_id, TERMINAL)
    assert env["peer"].executed[path] == 1
    effect = db.execute(
        "SELECT status, error_class, error FROM concord.domain_effects WHERE command_id = %s",
        (command_id,),
    ).fetchone()
    assert effect[0] == "succeeded", (
        f"the peer executed {path} but the effect is {effect} and the command {final}"
    )
    assert final == "succeeded"


# ---------------------------------------------------------------------------
# 2. Declared connector capabilities are neither checked nor enforced
# ---------------------------------------------------------------------------


def test_a_connector_declared_query_only_does_not_write(
    server_dsn: str, tmp_path: Path
) -> None:
    (tmp_path / "rv2_write_ops.py").write_text(WRITE_OPS)
    with temporary_database(server_dsn, "rv2_caps") as dsn:
        _prepare(
            dsn,
            ["rv2.write"],
            [{"name": "pgrw", "connector_type": "postgres", "capabilities": ["query"],
              "config": {"dsn": "env://RV2_PGRW_DSN", "read_only": False}}],
        )
        worker = WorkerProcess(
            dsn,
            executor_id=f"rv2c-{uuid.uuid4().hex[:8]}",
            extra_env={"PYTHONPATH": str(tmp_path), "RV2_PGRW_DSN": dsn},
            modules=("rv2_write_ops",),
        )
        try:
            worker.start()
        except RuntimeError:
            # refusing to start because the row and the implementation disagree is fine
            assert worker.proc is not None and worker.proc.wait(10) == 2, worker.log()
            assert "pgrw" in worker.log() and "capabilit" in worker.log(), worker.log()
            return
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                command_id = submit(conn, "rv2.write")
                final = wait_status(conn, command_id, TERMINAL)
                written = one(conn, "SELECT to_regclass('public.rv2_written') IS NOT NULL")
            assert not written, "a connector the database declares query-only executed DDL"
            assert final == "failed"
        finally:
            worker.terminate(30)


def test_preflight_lists_declared_capabilities_the_connector_lacks(
    server_dsn: str,
) -> None:
    with temporary_database(server_dsn, "rv2_caps2") as dsn:
        _prepare(
            dsn,
            [],
            [{"name": "pgro", "connector_type": "postgres",
              "capabilities": ["query", "execute", "drop_database"],
              "config": {"dsn": "env://RV2_PGRO_DSN"}}],
        )
        try:
            done = subprocess.run(
                [str(CONCORD), "worker", "--dsn", dsn, "--executor-id", "rv2-pre",
                 "--no-schedules"],
                env={**os.environ, "RV2_PGRO_DSN": dsn},
                capture_output=True,
                text=True,
                timeout=20,
            )
        except subprocess.TimeoutExpired as running:  # it started (and was killed)
            pytest.fail(f"the worker started with capabilities pgro lacks:\n{running.stdout}")
        output = done.stdout + done.stderr
        assert done.returncode == 2, output
        assert "pgro" in output and "drop_database" in output, output


# ---------------------------------------------------------------------------
# 3. A module that fails to import
# ---------------------------------------------------------------------------


def test_modules_that_fail_to_import_are_refused_with_exit_2_listing_each(
    env: dict, tmp_path: Path
) -> None:
    (tmp_path / "rv2_broken.py").write_text("import rv2_no_such_dependency\n")
    done = subprocess.run(
        [str(CONCORD), "worker", "--dsn", env["dsn"], "--executor-id", "rv2-bad",
         "--no-schedules", "--module", "rv2_broken", "--module", "rv2_not_there"],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "refusing to start" in output, output
    assert "rv2_broken" in output and "rv2_not_there" in output, output
    assert "Traceback" not in output, output


# ---------------------------------------------------------------------------
# 4. A refused login is not a temporary database error
# ---------------------------------------------------------------------------


def test_postgres_connector_refused_login_is_permission_denied(
    concord_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    role = "rv2_no_such_role_" + uuid.uuid4().hex[:6]
    info = psycopg.conninfo.conninfo_to_dict(concord_dsn)
    info.pop("password", None)
    info["user"] = role
    monkeypatch.setenv("RV2_BAD_LOGIN_DSN", psycopg.conninfo.make_conninfo(**info))
    connector = PostgresConnector("pg", {"dsn": "env://RV2_BAD_LOGIN_DSN"})
    with pytest.raises(ConnectorError) as caught:
        connector.call(ConnectorCall("pg", "query", {"sql": "SELECT 1"}))
    assert f'role "{role}" does not exist' in caught.value.message
    assert caught.value.error_class == "permission_denied"
    assert not caught.value.retryable


# ---------------------------------------------------------------------------
# 5-6. Redacted values survive elsewhere
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def login(env: dict) -> str:
    with psycopg.connect(env["dsn"], autocommit=True) as conn:
        command_id = submit(conn, "rv2.login")
        assert wait_status(conn, command_id, TERMINAL) == "succeeded"
    return command_id


def test_input_hash_does_not_reveal_a_redacted_password(
    db: psycopg.Connection, login: str
) -> None:
    request, input_hash = db.execute(
        "SELECT request_payload, input_hash FROM concord.connector_invocations "
        "WHERE command_id = %s",
        (login,),
    ).fetchone()
    assert request["json"]["client_secret"] == "[redacted]"
    # an attacker who reads the row tries candidates for the redacted value
    recovered = []
    for guess in ["123456", "password", "letmein", "hunter2", "qwerty"]:
        candidate = json.loads(json.dumps(request))
        candidate["json"]["client_secret"] = guess
        text = json.dumps(candidate, sort_keys=True, default=str, separators=(",", ":"))
        if hashlib.sha256(text.encode()).hexdigest() == input_hash:
            recovered.append(guess)
    assert recovered == [], "the stored input_hash confirms the redacted password"


def test_domain_effects_redact_what_connector_invocations_redact(
    db: psycopg.Connection, login: str
) -> None:
    request, summary = db.execute(
        "SELECT request_payload, output_summary FROM concord.connector_invocations "
        "WHERE command_id = %s",
        (login,),
    ).fetchone()
    assert request["json"]["client_secret"] == "[redacted]"
    assert summary["json"]["access_token"] == "[redacted]"
    leaks = []
    for schema, table in db.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('concord', 'dbos') AND table_type = 'BASE TABLE'"
    ).fetchall():
        n = one(db, f'SELECT count(*) FROM "{schema}"."{table}" AS t WHERE t::text LIKE %s',
                f"%{PASSWORD}%")
        if n:
            leaks.append(f"{schema}.{table}: {n}")
    assert leaks == [], "the client secret (env://RV2_CLIENT_SECRET) reached a table"
    result = one(db, "SELECT result FROM concord.domain_effects WHERE command_id = %s", login)
    assert "tok-from-peer-123" not in json.dumps(result), result
