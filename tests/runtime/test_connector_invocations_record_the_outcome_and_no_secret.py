"""What a connector invocation records (spec 35, 37): the outcome the peer gave and no
secret.

1. An effect the peer executed is recorded as executed even when its answer holds what
   Postgres cannot store (a JSON string with \\u0000, a NaN).
2. connector_invocations.input_hash reveals no redacted value.
3. domain_effects redacts what connector_invocations redacts (effect_payload, result),
   and the client secret reaches no table.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest

from support.databases import temporary_database
from support.workers import WorkerProcess, prepare_connector_database, submit, wait_status

TERMINAL = {"succeeded", "failed", "cancelled"}
PASSWORD = "hunter2"

OPS = """
from concord.runtime import RetryPolicy, operation
from concord.runtime.connectors import resolve_secret

ONCE = RetryPolicy(max_attempts=1, backoff_seconds=(0.05,))


@operation("inv.nul", produces=["connector.peer.request"], retry=ONCE)
def nul(ctx, payload):
    out = ctx.call("peer", "request", {"method": "POST", "path": payload["path"]})
    return {"id": out["json"]["id"]}


@operation("inv.login", produces=["connector.peer.request"], retry=ONCE)
def login(ctx, payload):
    # a token endpoint that wants the client secret in the body (not a header): the
    # operation resolves the reference itself, as the http connector offers no other way
    secret = resolve_secret("env://INV_CLIENT_SECRET")
    out = ctx.call("peer", "request", {"method": "POST", "path": "/login",
                                       "json": {"client_id": "ann", "client_secret": secret}})
    return {"ok": True}
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


@pytest.fixture(scope="module")
def env(server_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    peer = Peer()
    mods = tmp_path_factory.mktemp("invocation_ops")
    (mods / "invocation_ops.py").write_text(OPS)
    with temporary_database(server_dsn, "concord_invocations") as dsn:
        prepare_connector_database(
            dsn,
            ["inv.nul", "inv.login"],
            [{"name": "peer", "connector_type": "http", "capabilities": ["request"],
              "config": {"base_url": peer.url, "timeout_seconds": 5}}],
        )
        worker = WorkerProcess(
            dsn,
            executor_id=f"inv-{uuid.uuid4().hex[:8]}",
            extra_env={"PYTHONPATH": str(mods), "INV_CLIENT_SECRET": PASSWORD},
            modules=("invocation_ops",),
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
# 1. An executed effect is recorded as executed
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nul", "/nan"])
def test_an_effect_the_peer_executed_is_not_recorded_as_failed(
    env: dict, db: psycopg.Connection, path: str
) -> None:
    command_id = submit(db, "inv.nul", {"path": path})
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
# 2-3. Redacted values survive nowhere
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def login(env: dict) -> str:
    with psycopg.connect(env["dsn"], autocommit=True) as conn:
        command_id = submit(conn, "inv.login")
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
    assert leaks == [], "the client secret (env://INV_CLIENT_SECRET) reached a table"
    result = one(db, "SELECT result FROM concord.domain_effects WHERE command_id = %s", login)
    assert "tok-from-peer-123" not in json.dumps(result), result
