"""Support for the runtime tests: a real ``concord worker`` subprocess, a local HTTP vendor
that executes each idempotency key once (the real protocol: HTTP on 127.0.0.1), and a
database of its own with the test operations' command types registered.

The modules the workers load (by module name, with ``OPS_DIR`` on their PYTHONPATH) live
in ``tests/support/runtime_ops/``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parents[2]
OPS_DIR = Path(__file__).resolve().parent / "runtime_ops"
CONCORD = ROOT / ".venv" / "bin" / "concord"

# The command types the test operations execute (registered by register_test_types).
TEST_TYPES: dict[str, dict[str, Any]] = {
    "rt.echo": {"async_required": True},
    "rt.http": {"async_required": True, "connector_requirements": ["vendor"]},
    "rt.flaky": {"async_required": True, "connector_requirements": ["vendor"]},
    "rt.invalid": {"async_required": True, "connector_requirements": ["vendor"]},
    "rt.slow": {"async_required": True},
    "rt.gated": {"async_required": True, "approval_required": True,
                 "connector_requirements": ["vendor"]},
    "hotel.book": {"async_required": True, "default_cancellation_mode": "compensate_then_stop",
                   "connector_requirements": ["vendor"]},
    "hotel.book_drift": {"async_required": True,
                         "default_cancellation_mode": "compensate_then_stop",
                         "connector_requirements": ["vendor"]},
    "hotel.book_stuck": {"async_required": True,
                         "default_cancellation_mode": "compensate_then_stop",
                         "connector_requirements": ["vendor"]},
    "hotel.book_notify": {"async_required": True,
                          "default_cancellation_mode": "compensate_then_stop",
                          "connector_requirements": ["vendor"]},
}


def register_test_types(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name, spec in TEST_TYPES.items():
            conn.execute(
                "SELECT concord.register_command_type(%s)",
                (json.dumps({"command_type": name, "name": name, **spec}),),
            )


def prepare_connector_database(dsn: str, types: list[str], connectors: list[dict]) -> None:
    """Install Concord in ``dsn`` and register async command ``types`` and ``connectors``;
    each type declares every connector given (connector_requirements)."""
    from concord.migrate import migrate

    migrate(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for t in types:
            conn.execute(
                "SELECT concord.register_command_type(%s)",
                (
                    json.dumps(
                        {
                            "command_type": t,
                            "name": t,
                            "async_required": True,
                            "connector_requirements": [c["name"] for c in connectors],
                        }
                    ),
                ),
            )
        for spec in connectors:
            conn.execute("SELECT concord.register_connector(%s)", (json.dumps(spec),))


class Vendor:
    """An HTTP peer that counts requests per Idempotency-Key and executes each key once:
    a repeated key gets the first answer again without executing anything.

    ``plan[path]`` is a list of statuses to answer (in order) before succeeding, e.g.
    ``[503, 503]``; ``always[path]`` a status answered every time; ``headers[path]``
    extra headers (Retry-After)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.by_key: Counter[str] = Counter()
        self.executed: dict[str, dict[str, Any]] = {}
        self.executions_by_path: Counter[str] = Counter()
        self.plan: dict[str, list[int]] = defaultdict(list)
        self.always: dict[str, int] = {}
        self.headers: dict[str, dict[str, str]] = {}
        self.delay: dict[str, float] = {}
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                key = self.headers.get("Idempotency-Key")
                path = self.path.split("?")[0]
                status, answer, extra = vendor._handle(path, key, body, self.headers)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handle(self, path: str, key: str | None, body: Any, headers: Any):
        delay = self.delay.get(path, 0)
        if delay:
            time.sleep(delay)
        with self.lock:
            self.requests.append({"path": path, "key": key, "body": body, "at": time.time(),
                                  "trace": headers.get("X-Concord-Trace-Id")})
            if key is not None:
                self.by_key[key] += 1
                if key in self.executed:
                    return 200, self.executed[key], {}
            if path in self.always:
                return self.always[path], {"error": f"always {self.always[path]}"}, \
                    self.headers.get(path, {})
            if self.plan[path]:
                status = self.plan[path].pop(0)
                return status, {"error": f"planned {status}"}, self.headers.get(path, {})
            answer = {"ok": True, "path": path, "key": key, "id": uuid.uuid4().hex,
                      "echo": body}
            self.executions_by_path[path] += 1
            if key is not None:
                self.executed[key] = answer
            return 200, answer, {}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class WorkerProcess:
    """``concord worker --module concord_test_ops`` as a subprocess."""

    def __init__(self, dsn: str, *, executor_id: str, vendor_url: str = "http://127.0.0.1:9",
                 extra_env: dict[str, str] | None = None, modules: tuple[str, ...] = (
                     "concord_test_ops",), args: tuple[str, ...] = ()):
        self.dsn = dsn
        self.executor_id = executor_id
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(OPS_DIR), os.environ.get("PYTHONPATH", "")]),
            "CONCORD_TEST_VENDOR_URL": vendor_url,
            **(extra_env or {}),
        }
        self.modules = modules
        self.args = args
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self, timeout: float = 30.0) -> WorkerProcess:
        cmd = [str(CONCORD), "worker", "--dsn", self.dsn, "--executor-id", self.executor_id,
               "--application-version", "concord-test", *self.args]
        for m in self.modules:
            cmd += ["--module", m]
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        ready = threading.Event()

        def pump() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line)
                if "ready" in line and self.executor_id in line:
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if ready.wait(0.05):
                return self
            if self.proc.poll() is not None:
                break
        raise RuntimeError(f"worker {self.executor_id} did not start:\n{self.log()}")

    def log(self) -> str:
        return "".join(self.output[-200:])

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                self.terminate(20)
            except subprocess.TimeoutExpired:
                self.kill()


def stop_workers(*workers: WorkerProcess) -> None:
    """SIGTERM each worker still running, SIGKILL one that does not stop in 20 s."""
    for w in workers:
        if w.proc is not None and w.proc.poll() is None:
            try:
                w.terminate(20)
            except subprocess.TimeoutExpired:
                w.kill()


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.02,
             message: str = "condition") -> Any:
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def submit(conn: psycopg.Connection, command_type: str, payload: dict | None = None,
           requested_by: str = "alice", **kw: Any) -> str:
    row = conn.execute(
        "SELECT command_id FROM concord.submit_command(%s, %s, %s, idempotency_key => %s)",
        (command_type, json.dumps(payload or {}), requested_by, kw.get("idempotency_key")),
    ).fetchone()
    return str(row[0])


def status(conn: psycopg.Connection, command_id: str) -> str:
    return conn.execute("SELECT status FROM concord.commands WHERE command_id = %s",
                        (command_id,)).fetchone()[0]


def wait_status(conn: psycopg.Connection, command_id: str, wanted: str | set[str],
                timeout: float = 30.0) -> str:
    wanted_set = {wanted} if isinstance(wanted, str) else set(wanted)
    return wait_for(lambda: (s := status(conn, command_id)) in wanted_set and s, timeout,
                    message=f"command {command_id} to reach {sorted(wanted_set)}")


class RecordingVendor(Vendor):
    """A :class:`Vendor` that reads request headers case-insensitively (header names are
    case-insensitive, and a client may send ``X-concord-trace-id``, which the base class's
    exact-case lookup of the trace header misses), records each request's
    ``Authorization`` header in ``authorization`` as ``(path, value)``, and on
    ``/echo_headers`` answers with the Authorization header it received: a careless peer
    that echoes credentials back."""

    def __init__(self) -> None:
        self.authorization: list[tuple[str, str | None]] = []
        super().__init__()

    def _handle(self, path: str, key: str | None, body: Any, headers: Any):
        headers = {k.title(): v for k, v in headers.items()}
        with self.lock:
            self.authorization.append((path, headers.get("Authorization")))
        status, answer, extra = super()._handle(path, key, body, headers)
        if path == "/echo_headers" and status == 200:
            answer = {**answer, "seen_authorization": headers.get("Authorization")}
        return status, answer, extra


def fail_as_the_worker(
    conn: psycopg.Connection, command_id: str, error_class: str, error: str = "peer timed out"
) -> None:
    """Play the worker's run of a queued command (claim it, end it failed with error_class),
    as superuser connection conn."""
    (workflow,) = conn.execute(
        "SELECT dbos_workflow_id FROM concord.commands WHERE command_id = %s", (command_id,)
    ).fetchone()
    conn.execute("SELECT concord.runtime_claim(%s, %s, 'test-worker')", (command_id, workflow))
    conn.execute(
        "SELECT concord.runtime_finish(%s, %s, 'failed', error => %s, error_class => %s)",
        (command_id, workflow, error, error_class),
    )


def run_registry_command_as_the_worker(conn: psycopg.Connection, command_id: str) -> Any:
    """Play the worker's run of a queued ``concord.registry.*`` command (claim it, run its
    one step, end it succeeded with the step's answer), as superuser connection conn;
    returns the answer."""
    (workflow,) = conn.execute(
        "SELECT dbos_workflow_id FROM concord.commands WHERE command_id = %s", (command_id,)
    ).fetchone()
    conn.execute("SELECT concord.runtime_claim(%s, %s, 'test-worker')", (command_id, workflow))
    (answer,) = conn.execute(
        "SELECT concord.runtime_registry_command(%s, %s)", (command_id, workflow)
    ).fetchone()
    conn.execute(
        "SELECT concord.runtime_finish(%s, %s, 'succeeded', %s)",
        (command_id, workflow, Jsonb(answer)),
    )
    return answer
