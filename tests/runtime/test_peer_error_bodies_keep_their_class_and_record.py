"""A peer's error answer is classified by its status and recorded, whatever its body holds
(issue 13 §1): a body with a NUL byte, which PostgreSQL cannot store as text, is cleaned
(NUL -> U+FFFD) like a success answer; a 503 stays retryable and is retried, a 422 stays a
validation_error and is not; every attempt writes its connector invocation.

A real worker process calls a real local HTTP peer through the http connector.
"""

from __future__ import annotations

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
NUL_BODY = b'{"error": "upstream \x00 broke"}'

OPS = """
from concord.runtime import RetryPolicy, operation

THRICE = RetryPolicy(max_attempts=3, backoff_seconds=(0.05,))


@operation("nulerr.call", produces=["connector.peer.request"], retry=THRICE)
def call(ctx, payload):
    out = ctx.call("peer", "request", {"method": "POST", "path": payload["path"]})
    return {"id": out["json"]["id"]}
"""


class Peer:
    """Answers ``/flaky503`` with a 503 whose body holds a NUL byte the first time and 200
    after; ``/refuse422`` with a 422 whose body holds a NUL byte, always; ``/nul503``
    with a 503 and a NUL body (text/plain), always."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                peer.calls[self.path] += 1
                content_type = "application/json"
                if self.path == "/flaky503" and peer.calls[self.path] > 1:
                    status, data = 200, b'{"id": "done"}'
                elif self.path in ("/flaky503", "/nul503"):
                    status, data = 503, NUL_BODY
                    content_type = "text/plain" if self.path == "/nul503" else content_type
                else:
                    status, data = 422, NUL_BODY
                self.send_response(status)
                self.send_header("Content-Type", content_type)
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


@pytest.fixture(scope="module")
def env(server_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    peer = Peer()
    mods = tmp_path_factory.mktemp("nul_error_ops")
    (mods / "nul_error_ops.py").write_text(OPS)
    with temporary_database(server_dsn, "concord_nul_errors") as dsn:
        prepare_connector_database(
            dsn,
            ["nulerr.call"],
            [{"name": "peer", "connector_type": "http", "capabilities": ["request"],
              "config": {"base_url": peer.url, "timeout_seconds": 5}}],
        )
        worker = WorkerProcess(
            dsn,
            executor_id=f"nulerr-{uuid.uuid4().hex[:8]}",
            extra_env={"PYTHONPATH": str(mods)},
            modules=("nul_error_ops",),
        ).start()
        try:
            yield {"dsn": dsn, "peer": peer, "worker": worker}
        finally:
            try:
                worker.terminate(30)
            except subprocess.TimeoutExpired:
                worker.kill()
            peer.close()


def run(env: dict, path: str) -> tuple[str, list[tuple], tuple]:
    """Submit a call of ``path``; the command's final status, its invocations (attempt,
    error_class, error) in order, and its effect's (status, error_class, error)."""
    with psycopg.connect(env["dsn"], autocommit=True) as db:
        command_id = submit(db, "nulerr.call", {"path": path})
        final = wait_status(db, command_id, TERMINAL, timeout=60)
        invocations = db.execute(
            "SELECT attempt, error_class, error FROM concord.connector_invocations "
            "WHERE command_id = %s ORDER BY attempt, created_at",
            (command_id,),
        ).fetchall()
        effect = db.execute(
            "SELECT status, error_class, error FROM concord.domain_effects "
            "WHERE command_id = %s",
            (command_id,),
        ).fetchone()
    return final, invocations, effect


def test_a_503_with_a_nul_body_is_retried_and_each_attempt_is_recorded(env: dict) -> None:
    final, invocations, effect = run(env, "/flaky503")
    assert env["peer"].calls["/flaky503"] == 2, env["worker"].log()
    assert [(a, c) for a, c, _ in invocations] == [
        (1, "transient_connector_error"), (2, None)
    ], invocations
    assert "503" in invocations[0][2] and "\ufffd" in invocations[0][2], invocations[0]
    assert final == "succeeded" and effect[0] == "succeeded", (final, effect)


def test_a_503_with_a_nul_body_that_persists_fails_as_transient(env: dict) -> None:
    final, invocations, effect = run(env, "/nul503")
    assert env["peer"].calls["/nul503"] == 3, env["worker"].log()
    assert [(a, c) for a, c, _ in invocations] == [
        (n, "transient_connector_error") for n in (1, 2, 3)
    ], invocations
    assert final == "failed"
    assert effect[:2] == ("failed", "transient_connector_error"), effect
    assert "\ufffd" in effect[2], effect


def test_a_422_with_a_nul_body_is_a_validation_error_tried_once(env: dict) -> None:
    final, invocations, effect = run(env, "/refuse422")
    assert env["peer"].calls["/refuse422"] == 1, env["worker"].log()
    assert [(a, c) for a, c, _ in invocations] == [(1, "validation_error")], invocations
    assert "422" in invocations[0][2] and "\ufffd" in invocations[0][2], invocations[0]
    assert final == "failed"
    assert effect[:2] == ("failed", "validation_error"), effect
    assert "upstream \ufffd broke" in effect[2], effect
