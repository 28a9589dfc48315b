"""The built-in connectors against real local peers: an HTTP server on 127.0.0.1, an SMTP
server (aiosmtpd) on 127.0.0.1 and the session PostgreSQL database. Nothing is mocked."""

from __future__ import annotations

import email
import email.policy
import email.utils
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from psycopg import sql

from concord.runtime.connectors import (
    ConfigError,
    Connector,
    ConnectorCall,
    ConnectorError,
    HttpConnector,
    NotificationConnector,
    PostgresConnector,
    build_connector,
)
from concord.runtime.connectors.http import parse_retry_after
from concord.runtime.connectors.notification import message_id_for
from concord.runtime.connectors.postgres import jsonable
from concord.runtime.error_classes import RETRYABLE_CLASSES

SECRET = "s3cr3t-" + uuid.uuid4().hex  # a credential that must never leak


def free_port() -> int:
    """A local TCP port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(connector: Connector, capability: str, data: dict[str, Any], **kwargs: Any):
    return connector.call(ConnectorCall(connector.name, capability, data, **kwargs))


def fails(
    connector: Connector, capability: str, data: dict[str, Any], **kwargs: Any
) -> ConnectorError:
    with pytest.raises(ConnectorError) as info:
        call(connector, capability, data, **kwargs)
    return info.value


# ---------------------------------------------------------------------------------------
# A real HTTP peer
# ---------------------------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Peer:
    server: ThreadingHTTPServer
    requests: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def last(self) -> Seen:
        assert self.requests, "the server received no request"
        return self.requests[-1]


LONG_BODY = "x" * 300 + "TAIL-BEYOND-300" + "y" * 700


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    peer: Peer  # set on the subclass made for each server

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass

    def _answer(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
        self._answer(status, json.dumps(value).encode(), "application/json", headers)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        self.peer.requests.append(seen)
        route = self.path.split("?")[0]
        if route.endswith("/ok") or route.startswith("/api/"):
            self._json(
                200,
                {
                    "method": self.command,
                    "path": self.path,
                    "received": json.loads(body) if body else None,
                },
            )
        elif route == "/created":
            self._json(201, {"id": 7}, {"Location": "/things/7"})
        elif route == "/text":
            self._answer(200, ("hello " * 1000).encode(), "text/plain; charset=utf-8")
        elif route == "/echo-auth":
            self._json(
                200,
                {
                    "you_sent": seen.headers.get("authorization"),
                    "key": seen.headers.get("x-api-key"),
                },
            )
        elif route == "/echo-auth-500":
            self._answer(
                500, f"bad token {seen.headers.get('authorization')}".encode(), "text/plain"
            )
        elif route == "/echo-auth-500-json":
            self._json(500, {"bad_token": seen.headers.get("authorization")})
        elif route == "/fail500":
            self._answer(500, LONG_BODY.encode(), "text/plain")
        elif route == "/fail503":
            self._json(503, {"error": "maintenance"})
        elif route == "/limit-seconds":
            self._json(429, {"error": "slow down"}, {"Retry-After": "7"})
        elif route == "/limit-date":
            when = email.utils.formatdate(time.time() + 120, usegmt=True)
            self._json(429, {"error": "slow down"}, {"Retry-After": when})
        elif route == "/limit-none":
            self._json(429, {"error": "slow down"})
        elif route == "/limit-garbage":
            self._json(429, {"error": "slow down"}, {"Retry-After": "soon-ish"})
        elif route == "/missing":
            self._answer(404, b"no such thing", "text/plain")
        elif route == "/invalid":
            self._json(422, {"error": "amount must be positive"})
        elif route == "/forbidden":
            self._json(403, {"error": "no"})
        elif route == "/redirect":
            self._answer(302, b"", None, {"Location": "http://elsewhere.invalid/steal"})
        elif route == "/big":
            self._answer(200, b"z" * 5000, "text/plain")
        elif route == "/slow":
            self.peer.release.wait(10)
            self._json(200, {"late": True})
        else:
            self._json(404, {"error": "unknown route"})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


@pytest.fixture
def peer() -> Iterator[Peer]:
    handler = type("PeerHandler", (Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    p = Peer(server)
    handler.peer = p
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield p
    finally:
        p.release.set()
        server.shutdown()
        server.server_close()


def http(peer: Peer, **config: Any) -> HttpConnector:
    return HttpConnector("svc", {"base_url": peer.url, **config})


# -- success, headers, body ---------------------------------------------------------------


def test_http_get_returns_status_json_and_headers(peer: Peer) -> None:
    result = call(http(peer), "request", {"path": "/ok", "query": {"a": "1", "b": ["x", "y"]}})
    assert result.ok
    assert result.output["status"] == 200
    assert result.output["json"]["path"] == "/ok?a=1&b=x&b=y"
    assert result.output["text"] is None
    assert result.output["headers"] == {"content-type": "application/json"}
    assert peer.last().method == "GET"
    json.dumps(result.output)


def test_http_sends_idempotency_key_trace_id_and_json_body(peer: Peer) -> None:
    key, trace = f"effect-{uuid.uuid4()}", uuid.uuid4().hex
    result = call(
        http(peer, headers={"X-Tenant": "acme"}),
        "request",
        {"method": "post", "path": "ok", "json": {"amount": 5, "note": "é"}},
        idempotency_key=key,
        trace_id=trace,
    )
    seen = peer.last()
    assert seen.method == "POST"
    assert seen.headers["idempotency-key"] == key
    assert seen.headers["x-concord-trace-id"] == trace
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["x-tenant"] == "acme"
    assert json.loads(seen.body) == {"amount": 5, "note": "é"}
    assert result.output["json"]["received"] == {"amount": 5, "note": "é"}


def test_http_without_key_sends_no_idempotency_header(peer: Peer) -> None:
    call(http(peer), "request", {"path": "/ok"})
    assert "idempotency-key" not in peer.last().headers
    assert "x-concord-trace-id" not in peer.last().headers


def test_http_path_is_joined_to_the_base_path(peer: Peer) -> None:
    connector = HttpConnector("svc", {"base_url": peer.url + "/api/v2/"})
    call(connector, "request", {"path": "/orders/1"})
    call(connector, "request", {"path": "orders/2?x=1", "query": {"y": 2}})
    assert [r.path for r in peer.requests] == ["/api/v2/orders/1", "/api/v2/orders/2?x=1&y=2"]


def test_http_created_keeps_location_and_text_bodies_are_truncated(peer: Peer) -> None:
    created = call(http(peer), "request", {"method": "POST", "path": "/created", "json": {}})
    assert created.output["status"] == 201
    assert created.output["headers"]["location"] == "/things/7"
    text = call(http(peer), "request", {"path": "/text"})
    assert text.output["json"] is None
    assert text.output["text"].startswith("hello hello")
    assert len(text.output["text"]) == 2000


def test_http_redirects_are_not_followed(peer: Peer, monkeypatch) -> None:
    monkeypatch.setenv("CONCORD_TEST_REDIRECT_TOKEN", "tok")
    connector = http(peer, bearer_token="env://CONCORD_TEST_REDIRECT_TOKEN")
    result = call(connector, "request", {"path": "/redirect"})
    assert result.output["status"] == 302
    assert result.output["headers"]["location"] == "http://elsewhere.invalid/steal"
    assert len(peer.requests) == 1  # the credential went nowhere else


def test_http_uses_the_configured_proxy_and_never_the_environments(
    peer: Peer, monkeypatch
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(var, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert call(http(peer), "request", {"path": "/ok"}).ok  # went straight to the peer
    assert peer.last().path == "/ok"
    # the peer stands in for a proxy: it receives the request for the other host
    proxied = HttpConnector(
        "svc", {"base_url": "http://api.example.invalid/v1", "proxy": peer.url}
    )
    result = call(proxied, "request", {"path": "/ok"}, idempotency_key="k-1")
    assert result.output["status"] == 200
    assert peer.last().path == "http://api.example.invalid/v1/ok"
    assert peer.last().headers["idempotency-key"] == "k-1"


def test_http_response_beyond_max_bytes_is_refused(peer: Peer) -> None:
    error = fails(http(peer, max_response_bytes=100), "request", {"path": "/big"})
    assert error.error_class == "validation_error"
    assert "max_response_bytes" in error.message
    assert call(http(peer, max_response_bytes=5000), "request", {"path": "/big"}).ok


def test_http_summarize_truncates(peer: Peer) -> None:
    connector = http(peer)
    text = connector.summarize(call(connector, "request", {"path": "/text"}).output)
    assert text["status"] == 200 and len(text["text"]) == 500
    small = connector.summarize(call(connector, "request", {"path": "/ok"}).output)
    assert small["json"]["path"] == "/ok"
    big = connector.summarize({"status": 200, "json": {"k": "v" * 2000}, "text": None})
    assert "json" not in big and len(big["json_preview"]) == 500 and big["json_chars"] > 2000


# -- classification ------------------------------------------------------------------------


def test_http_5xx_is_transient_and_quotes_at_most_300_chars(peer: Peer) -> None:
    error = fails(http(peer), "request", {"path": "/fail500"})
    assert error.error_class == "transient_connector_error" and error.retryable
    assert "500" in error.message
    assert "x" * 300 in error.message
    assert "TAIL" not in error.message
    assert len(error.message) < 400
    assert fails(http(peer), "request", {"path": "/fail503"}).error_class == (
        "transient_connector_error"
    )


@pytest.mark.parametrize("route", ["/missing", "/invalid", "/forbidden"])
def test_http_other_4xx_is_validation_error(peer: Peer, route: str) -> None:
    error = fails(http(peer), "request", {"path": route})
    assert error.error_class == "validation_error" and not error.retryable
    assert str(error.detail["status"]) in error.message


def test_http_422_message_quotes_the_body(peer: Peer) -> None:
    error = fails(http(peer), "request", {"path": "/invalid"})
    assert "422" in error.message and "amount must be positive" in error.message


def test_http_429_retry_after_seconds(peer: Peer) -> None:
    error = fails(http(peer), "request", {"path": "/limit-seconds"})
    assert error.error_class == "rate_limited" and error.retryable
    assert error.retry_after == 7.0


def test_http_429_retry_after_http_date(peer: Peer) -> None:
    error = fails(http(peer), "request", {"path": "/limit-date"})
    assert error.error_class == "rate_limited"
    assert error.retry_after is not None and 100 <= error.retry_after <= 121


@pytest.mark.parametrize("route", ["/limit-none", "/limit-garbage"])
def test_http_429_without_usable_retry_after(peer: Peer, route: str) -> None:
    error = fails(http(peer), "request", {"path": route})
    assert error.error_class == "rate_limited" and error.retry_after is None


def test_parse_retry_after() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after(" 120 ") == 120.0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now) == 30.0
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480.0 - 60) == 60.0
    for bad in (None, "", "-5", "soon", "Someday, 99 Foo 2015"):
        assert parse_retry_after(bad, now) is None


def test_http_timeout(peer: Peer) -> None:
    started = time.monotonic()
    error = fails(http(peer, timeout_seconds=0.5), "request", {"path": "/slow"})
    assert error.error_class == "timeout" and error.retryable
    assert time.monotonic() - started < 5


def test_http_connection_refused_is_transient() -> None:
    connector = HttpConnector("svc", {"base_url": f"http://127.0.0.1:{free_port()}"})
    error = fails(connector, "request", {"path": "/ok"})
    assert error.error_class == "transient_connector_error"
    assert "refused" in error.message.lower()


def test_http_connection_reset_is_transient() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def drop() -> None:
            conn, _ = listener.accept()
            conn.recv(1024)
            conn.close()  # answers nothing

        thread = threading.Thread(target=drop, daemon=True)
        thread.start()
        connector = HttpConnector("svc", {"base_url": f"http://127.0.0.1:{port}"})
        error = fails(connector, "request", {"path": "/ok"})
        thread.join(5)
    assert error.error_class == "transient_connector_error"


def test_http_unknown_host_is_transient() -> None:
    connector = HttpConnector(
        "svc", {"base_url": "http://no-such-host.invalid", "timeout_seconds": 5}
    )
    assert fails(connector, "request", {"path": "/"}).error_class == ("transient_connector_error")


# -- paths and inputs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "http://evil.example/x",
        "https://evil.example/x",
        "//evil.example/x",
        "../admin",
        "/a/%2e%2e/admin",
        "/a\\b",
        "/a b",
        "/a\r\nX-Injected: 1",
    ],
)
def test_http_paths_cannot_leave_the_base_url(peer: Peer, path: str) -> None:
    error = fails(HttpConnector("svc", {"base_url": peer.url + "/api"}), "request", {"path": path})
    assert error.error_class == "validation_error"
    assert peer.requests == []


def test_http_bad_inputs_are_validation_errors(peer: Peer) -> None:
    connector = http(peer)
    for data in (
        {"method": "TRACE", "path": "/ok"},
        {"path": "/ok", "jsn": {}},
        {"path": "/ok", "query": ["a"]},
        {"path": "/ok", "headers": {"X-A": 1}},
        {"path": "/ok", "headers": {"Host": "evil.example"}},
        {"path": "/ok", "headers": {"Idempotency-Key": "forged"}},
        {"path": "/ok", "json": {"when": object()}},
    ):
        assert fails(connector, "request", data).error_class == "validation_error", data
    assert fails(connector, "fetch", {"path": "/ok"}).error_class == "validation_error"
    assert peer.requests == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer " + SECRET},
        {"X-Api-Key": SECRET},
        {"X-Thing": "Basic " + SECRET},
        {"X-Api-Key": "env://HOME"},
        {"X-Forwarded": "file:///etc/passwd"},
    ],
)
def test_http_credentials_in_request_headers_are_refused(peer: Peer, headers: dict) -> None:
    error = fails(http(peer), "request", {"path": "/ok", "headers": headers})
    assert error.error_class == "validation_error"
    assert SECRET not in str(error)
    assert peer.requests == []


def test_http_input_headers_are_sent(peer: Peer) -> None:
    call(http(peer), "request", {"path": "/ok", "headers": {"X-Request-Id": "r-1"}})
    assert peer.last().headers["x-request-id"] == "r-1"


# -- configuration and secrets ---------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        {"base_url": "http://h", "bearer_token": SECRET},
        {"base_url": "http://h", "headers": {"Authorization": "Bearer " + SECRET}},
        {"base_url": "http://h", "headers": {"X-Api-Key": SECRET}},
        {"base_url": "http://h", "headers": {"X-Other": "Basic " + SECRET}},
        {"base_url": f"http://user:{SECRET}@h"},
    ],
)
def test_http_raw_secrets_in_config_are_refused(config: dict) -> None:
    with pytest.raises(ConfigError) as info:
        HttpConnector("svc", config)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"base_url": "ftp://h/"},
        {"base_url": "h/path"},
        {"base_url": "http://h?x=1"},
        {"base_url": "http://h", "timeout_seconds": 0},
        {"base_url": "http://h", "max_response_bytes": -1},
        {"base_url": "http://h", "headers": ["X-A"]},
        {"base_url": "http://h", "headers": {"Idempotency-Key": "x"}},
        {"base_url": "http://h", "timeout": 3},
        {"base_url": "http://h", "proxy": "socks5://p:1080"},
        {"base_url": "http://h", "proxy": "http://user@p:3128"},
        {"base_url": "http://h", "proxy": 3128},
        {
            "base_url": "http://h",
            "bearer_token": "env://T",
            "headers": {"Authorization": "env://A"},
        },
    ],
)
def test_http_bad_config_is_refused(config: dict) -> None:
    with pytest.raises(ConfigError):
        HttpConnector("svc", config)


def test_http_secret_refs_are_resolved_at_call_time(peer: Peer, tmp_path, monkeypatch) -> None:
    token_var = f"CONCORD_TEST_TOKEN_{uuid.uuid4().hex[:8].upper()}"
    key_file = tmp_path / "api-key"
    connector = http(
        peer, bearer_token=f"env://{token_var}", headers={"X-Api-Key": f"file://{key_file}"}
    )
    # Unset / unreadable at call time: permission_denied, and nothing is sent.
    error = fails(connector, "request", {"path": "/ok"})
    assert error.error_class == "permission_denied"
    assert token_var in error.message or str(key_file) in error.message
    assert peer.requests == []

    key_file.write_text("key-one\n")
    monkeypatch.setenv(token_var, "token-one")
    call(connector, "request", {"path": "/ok"})
    assert peer.last().headers["authorization"] == "Bearer token-one"
    assert peer.last().headers["x-api-key"] == "key-one"

    key_file.write_text("key-two")
    monkeypatch.setenv(token_var, "token-two")
    call(connector, "request", {"path": "/ok"})
    assert peer.last().headers["authorization"] == "Bearer token-two"
    assert peer.last().headers["x-api-key"] == "key-two"
    assert "token-two" not in repr(vars(connector))


def test_http_secrets_never_appear_in_output_or_errors(peer: Peer, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CONCORD_TEST_BEARER", SECRET)
    key_file = tmp_path / "key"
    key_file.write_text(SECRET + "-file")
    connector = http(
        peer, bearer_token="env://CONCORD_TEST_BEARER", headers={"X-Api-Key": f"file://{key_file}"}
    )
    echoed = call(connector, "request", {"path": "/echo-auth"})
    assert peer.last().headers["authorization"] == f"Bearer {SECRET}"  # it was sent
    assert SECRET not in json.dumps(echoed.output)
    assert echoed.output["json"]["you_sent"] == "Bearer [redacted]"
    assert SECRET not in json.dumps(connector.summarize(echoed.output))
    error = fails(connector, "request", {"path": "/echo-auth-500"})
    assert error.error_class == "transient_connector_error"
    assert SECRET not in str(error) and "[redacted]" in str(error)
    # A secret that JSON escapes (a quote in it) is removed from the parsed value and from
    # an error quoting the body as well.
    monkeypatch.setenv("CONCORD_TEST_BEARER", 'q"' + SECRET)
    quoted = call(connector, "request", {"path": "/echo-auth"})
    assert SECRET not in json.dumps(quoted.output) and SECRET not in repr(quoted.output)
    assert quoted.output["json"]["you_sent"] == "Bearer [redacted]"
    assert SECRET not in str(fails(connector, "request", {"path": "/echo-auth-500-json"}))
    timeout = fails(
        http(peer, bearer_token="env://CONCORD_TEST_BEARER", timeout_seconds=0.3),
        "request",
        {"path": "/slow"},
    )
    assert SECRET not in str(timeout)


# ---------------------------------------------------------------------------------------
# A real SMTP peer
# ---------------------------------------------------------------------------------------


class Mailbox:
    """aiosmtpd handler: keeps every message; recipients and subjects script refusals."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("busy"):
            return "450 4.2.1 mailbox busy, try later"
        if address.startswith("nobody"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        if "defer-data" in message["Subject"]:
            return "451 4.3.0 try again later"
        if "reject-data" in message["Subject"]:
            return "554 5.6.0 content rejected"
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class LocalController(Controller):
    """aiosmtpd's Controller on a port the OS picks (port=0)."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class SmtpPeer:
    mailbox: Mailbox
    port: int


def start_smtp(**kwargs: Any) -> tuple[LocalController, SmtpPeer]:
    mailbox = Mailbox()
    controller = LocalController(mailbox, hostname="127.0.0.1", port=0, **kwargs)
    controller.start()
    return controller, SmtpPeer(mailbox, controller.port)


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    controller, peer = start_smtp()
    try:
        yield peer
    finally:
        controller.stop()


class Passwords:
    def __init__(self, login: str, password: str):
        self.login, self.password = login.encode(), password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data == (self.login, self.password)
        return AuthResult(success=ok, handled=False)  # the server answers 535


@pytest.fixture
def smtp_auth() -> Iterator[SmtpPeer]:
    controller, peer = start_smtp(
        authenticator=Passwords("mailer", SECRET), auth_require_tls=False, auth_required=True
    )
    try:
        yield peer
    finally:
        controller.stop()


def mailer(smtp: SmtpPeer, dsn: str | None = None, **config: Any) -> NotificationConnector:
    return NotificationConnector(
        "mail",
        {
            "host": "127.0.0.1",
            "port": smtp.port,
            "from_address": "concord@example.org",
            "timeout_seconds": 5,
            **config,
        },
        dsn=dsn,
    )


def notification_row(db: psycopg.Connection, notification_id: str) -> dict[str, Any]:
    cur = db.cursor(row_factory=psycopg.rows.dict_row)
    row = cur.execute(
        "SELECT * FROM concord.notifications WHERE notification_id = %s", [notification_id]
    ).fetchone()
    assert row is not None
    return row


def test_email_arrives_with_idempotency_headers_and_is_recorded(
    smtp: SmtpPeer, concord_dsn: str, db: psycopg.Connection
) -> None:
    key, trace = f"effect.{uuid.uuid4().hex}", uuid.uuid4().hex
    result = call(
        mailer(smtp, concord_dsn),
        "send_email",
        {
            "to": ["ops@example.org", "cfo@example.org"],
            "subject": "Report ready",
            "body": "The revenue report is attached.\n",
        },
        idempotency_key=key,
        trace_id=trace,
    )
    assert len(smtp.mailbox.messages) == 1
    mail_from, rcpt_tos, message = smtp.mailbox.messages[0]
    assert mail_from == "concord@example.org"
    assert rcpt_tos == ["ops@example.org", "cfo@example.org"]
    assert message["Message-ID"] == f"<{key}@concord>"
    assert message["X-Concord-Idempotency-Key"] == key
    assert message["X-Concord-Trace-Id"] == trace
    assert message["Subject"] == "Report ready"
    assert message["To"] == "ops@example.org, cfo@example.org"
    assert message.get_content().replace("\r\n", "\n") == "The revenue report is attached.\n"

    output = result.output
    assert output["channel"] == "email" and output["message_id"] == f"<{key}@concord>"
    assert output["accepted"] == ["ops@example.org", "cfo@example.org"]
    assert output["refused"] == []
    row = notification_row(db, output["notification_id"])
    assert row["channel"] == "email" and row["idempotency_key"] == key
    assert row["subject"] == "Report ready"
    assert row["metadata"]["message_id"] == f"<{key}@concord>"
    json.dumps(output)


def test_email_without_dsn_or_key(smtp: SmtpPeer) -> None:
    result = call(
        mailer(smtp), "send_email", {"to": "ops@example.org", "subject": "Hi", "body": "hello"}
    )
    _, _, message = smtp.mailbox.messages[0]
    assert result.output["notification_id"] is None
    assert message["X-Concord-Idempotency-Key"] is None
    assert message["Message-ID"].endswith("@concord>")
    assert result.output["message_id"] == message["Message-ID"]


def test_message_id_of_an_unusual_key_is_derived() -> None:
    assert message_id_for("abc-1.x_2") == "<abc-1.x_2@concord>"
    odd = message_id_for("cmd 1/<effect>@x")
    assert odd.startswith("<k") and odd.endswith("@concord>") and " " not in odd
    assert odd == message_id_for("cmd 1/<effect>@x") != message_id_for("cmd 1/<effect>@y")


def test_email_to_many_recipients_is_recorded(
    smtp: SmtpPeer, concord_dsn: str, db: psycopg.Connection
) -> None:
    many = [f"reader{i:03d}@example.org" for i in range(40)]
    result = call(
        mailer(smtp, concord_dsn),
        "send_email",
        {"to": many, "subject": "s", "body": "b"},
        idempotency_key=f"k-{uuid.uuid4().hex}",
    )
    assert smtp.mailbox.messages[0][1] == many
    row = notification_row(db, result.output["notification_id"])
    assert row["recipient"] == "reader000@example.org (+39 more)"
    assert row["metadata"]["to"] == many


def test_email_partially_refused_reports_refused(smtp: SmtpPeer) -> None:
    result = call(
        mailer(smtp),
        "send_email",
        {"to": ["ok@example.org", "nobody@example.org"], "subject": "s", "body": "b"},
    )
    assert result.output["accepted"] == ["ok@example.org"]
    assert result.output["refused"] == ["nobody@example.org"]
    assert smtp.mailbox.messages[0][1] == ["ok@example.org"]


@pytest.mark.parametrize(
    ("to", "subject", "error_class"),
    [
        ("busy@example.org", "s", "transient_connector_error"),
        ("nobody@example.org", "s", "validation_error"),
        ("ok@example.org", "defer-data", "transient_connector_error"),
        ("ok@example.org", "reject-data", "validation_error"),
    ],
)
def test_email_smtp_replies_are_classified(
    smtp: SmtpPeer, to: str, subject: str, error_class: str
) -> None:
    error = fails(mailer(smtp), "send_email", {"to": to, "subject": subject, "body": "b"})
    assert error.error_class == error_class
    assert smtp.mailbox.messages == []


def test_email_connection_refused_is_transient() -> None:
    connector = NotificationConnector(
        "mail", {"host": "127.0.0.1", "port": free_port(), "from_address": "a@example.org"}
    )
    error = fails(connector, "send_email", {"to": "b@example.org", "subject": "s", "body": "b"})
    assert error.error_class == "transient_connector_error"


def test_email_silent_server_is_a_timeout() -> None:
    with socket.socket() as listener:  # accepts, never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        connector = NotificationConnector(
            "mail",
            {
                "host": "127.0.0.1",
                "port": listener.getsockname()[1],
                "from_address": "a@example.org",
                "timeout_seconds": 0.5,
            },
        )
        started = time.monotonic()
        error = fails(connector, "send_email", {"to": "b@example.org", "subject": "s", "body": "b"})
    assert error.error_class == "timeout"
    assert time.monotonic() - started < 5


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_email_login_resolves_the_password_at_call_time(
    smtp_auth: SmtpPeer, tmp_path, monkeypatch
) -> None:
    var = f"CONCORD_TEST_SMTP_{uuid.uuid4().hex[:8].upper()}"
    connector = mailer(smtp_auth, username="mailer", password=f"env://{var}")
    monkeypatch.setenv(var, "wrong-" + SECRET)
    error = fails(connector, "send_email", {"to": "b@example.org", "subject": "s", "body": "b"})
    assert error.error_class == "permission_denied"
    assert SECRET not in str(error)
    assert smtp_auth.mailbox.messages == []
    monkeypatch.setenv(var, SECRET)
    call(connector, "send_email", {"to": "b@example.org", "subject": "s", "body": "b"})
    assert len(smtp_auth.mailbox.messages) == 1
    password_file = tmp_path / "smtp-password"
    password_file.write_text(SECRET + "\n")
    by_file = mailer(smtp_auth, username="mailer", password=f"file://{password_file}")
    call(by_file, "send_email", {"to": "c@example.org", "subject": "s", "body": "b"})
    assert len(smtp_auth.mailbox.messages) == 2


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_email_without_login_is_refused_by_an_auth_server(smtp_auth: SmtpPeer) -> None:
    error = fails(
        mailer(smtp_auth), "send_email", {"to": "b@example.org", "subject": "s", "body": "b"}
    )
    assert error.error_class == "validation_error"  # 530 authentication required


def test_email_failed_record_does_not_fail_the_sent_message(smtp: SmtpPeer) -> None:
    dead = f"host=127.0.0.1 port={free_port()} user=u password={SECRET} dbname=x"
    result = call(
        mailer(smtp, dead),
        "send_email",
        {"to": "ops@example.org", "subject": "s", "body": "b"},
        idempotency_key=f"k-{uuid.uuid4().hex}",
    )
    assert len(smtp.mailbox.messages) == 1
    assert result.ok and result.output["notification_id"] is None
    assert "record_error" in result.output and SECRET not in json.dumps(result.output)


@pytest.mark.parametrize(
    "data",
    [
        {"to": "not-an-address", "subject": "s", "body": "b"},
        {"to": [], "subject": "s", "body": "b"},
        {"to": "a@example.org, b@example.org", "subject": "s", "body": "b"},
        {"to": "a@example.org", "subject": "s\r\nBcc: x@example.org", "body": "b"},
        {"to": "a@example.org", "subject": "s", "body": 3},
        {"to": "a@example.org", "subject": "s", "body": "b", "cc": "x@example.org"},
    ],
)
def test_email_bad_inputs_are_validation_errors(smtp: SmtpPeer, data: dict) -> None:
    assert fails(mailer(smtp), "send_email", data).error_class == "validation_error"
    assert smtp.mailbox.messages == []


@pytest.mark.parametrize(
    "config",
    [
        {"host": "h", "from_address": "a@example.org", "username": "u", "password": SECRET},
        {"host": "h", "from_address": "a@example.org", "smtp_password": SECRET},
        {"host": "h"},
        {"host": "h", "from_address": "a@example.org", "port": 0},
        {"host": "h", "from_address": "a@example.org", "starttls": "yes"},
        {"host": "h", "from_address": "a@example.org", "username": "u"},
        {"host": "h", "from_address": "a@example.org", "relay": "x"},
    ],
)
def test_notification_bad_config_is_refused(config: dict) -> None:
    with pytest.raises(ConfigError) as info:
        NotificationConnector("mail", config)
    assert SECRET not in str(info.value)


# -- app notifications ------------------------------------------------------------------------


def test_app_notification_is_stored_and_idempotent(
    concord_dsn: str, db: psycopg.Connection
) -> None:
    connector = NotificationConnector("notify", {}, dsn=concord_dsn)
    assert connector.capabilities() == ["send_app_notification"]
    key = f"notify-{uuid.uuid4().hex}"
    data = {
        "recipient": "alice",
        "subject": "Approved",
        "body": "Your request was approved",
        "metadata": {"link": "/commands/1"},
    }
    first = call(connector, "send_app_notification", data, idempotency_key=key)
    again = call(connector, "send_app_notification", data, idempotency_key=key)
    assert first.output == {"notification_id": first.output["notification_id"], "channel": "app"}
    assert again.output["notification_id"] == first.output["notification_id"]
    row = notification_row(db, first.output["notification_id"])
    assert (row["channel"], row["recipient"], row["subject"], row["body"]) == (
        "app",
        "alice",
        "Approved",
        "Your request was approved",
    )
    assert row["metadata"] == {"link": "/commands/1"} and row["idempotency_key"] == key
    count = db.execute(
        "SELECT count(*) FROM concord.notifications WHERE idempotency_key = %s", [key]
    ).fetchone()
    assert count == (1,)
    # The same key for a different notification is refused (CN002), not overwritten.
    error = fails(
        connector, "send_app_notification", {**data, "body": "changed"}, idempotency_key=key
    )
    assert error.error_class == "validation_error" and "CN002" in error.message


def test_app_notification_carries_its_command(
    client, types, concord_dsn: str, db: psycopg.Connection
) -> None:
    command_id = client.submit_command(types.sync_type, {}, "alice").command_id
    connector = NotificationConnector("notify", {}, dsn=concord_dsn)
    result = call(
        connector,
        "send_app_notification",
        {"recipient": "alice", "body": "done"},
        command_id=str(command_id),
    )
    assert notification_row(db, result.output["notification_id"])["command_id"] == command_id
    error = fails(
        connector,
        "send_app_notification",
        {"recipient": "alice", "body": "x"},
        command_id=str(uuid.uuid4()),
    )  # no such command: foreign key
    assert error.error_class == "validation_error"


def test_app_notification_bad_inputs_and_missing_database(concord_dsn: str) -> None:
    connector = NotificationConnector("notify", {}, dsn=concord_dsn)
    for data in (
        {"subject": "s"},
        {"recipient": "  ", "body": "b"},
        {"recipient": "a"},
        {"recipient": "a", "body": "b", "metadata": []},
        {"recipient": "a", "x": 1},
    ):
        assert fails(connector, "send_app_notification", data).error_class == ("validation_error")
    no_db = NotificationConnector("notify", {})
    assert no_db.capabilities() == []
    error = fails(no_db, "send_app_notification", {"recipient": "a", "body": "b"})
    assert error.error_class == "validation_error"
    assert fails(connector, "send_email", {"to": "a@example.org"}).error_class == (
        "validation_error"
    )


def test_app_notification_database_down_is_temporary() -> None:
    dead = f"host=127.0.0.1 port={free_port()} user=u password={SECRET} dbname=x"
    connector = NotificationConnector("notify", {}, dsn=dead)
    error = fails(connector, "send_app_notification", {"recipient": "a", "body": "b"})
    assert error.error_class == "temporary_database_error"
    assert SECRET not in str(error)


# ---------------------------------------------------------------------------------------
# The session PostgreSQL database
# ---------------------------------------------------------------------------------------


@pytest.fixture
def pg_table(db: psycopg.Connection) -> Iterator[str]:
    name = f"connector_test_{uuid.uuid4().hex[:12]}"
    db.execute(
        sql.SQL(
            "CREATE TABLE public.{} (id serial PRIMARY KEY, label text NOT NULL, "
            "amount numeric(12, 2))"
        ).format(sql.Identifier(name))
    )
    db.execute(
        sql.SQL(
            "INSERT INTO public.{} (label, amount) VALUES ('a', 1.50), ('b', 2.25), ('c', 3)"
        ).format(sql.Identifier(name))
    )
    try:
        yield name
    finally:
        db.execute(sql.SQL("DROP TABLE IF EXISTS public.{}").format(sql.Identifier(name)))


@pytest.fixture
def dsn_env(concord_dsn: str, monkeypatch) -> str:
    var = f"CONCORD_TEST_DSN_{uuid.uuid4().hex[:8].upper()}"
    monkeypatch.setenv(var, concord_dsn)
    return f"env://{var}"


def rows_of(db: psycopg.Connection, table: str) -> list[tuple]:
    return db.execute(
        sql.SQL("SELECT id, label, amount FROM public.{} ORDER BY id").format(sql.Identifier(table))
    ).fetchall()


def test_postgres_query_returns_json_ready_rows(dsn_env: str, pg_table: str) -> None:
    connector = PostgresConnector("pg", {"dsn": dsn_env})
    assert connector.capabilities() == ["query"]
    result = call(
        connector,
        "query",
        {
            "sql": f"SELECT label, amount FROM public.{pg_table} WHERE amount > %s ORDER BY id",
            "params": [2],
        },
    )
    assert result.output == {
        "rows": [{"label": "b", "amount": "2.25"}, {"label": "c", "amount": "3.00"}],
        "row_count": 2,
        "truncated": False,
    }
    named = call(
        connector,
        "query",
        {
            "sql": f"SELECT count(*) AS n FROM public.{pg_table} WHERE label = %(label)s",
            "params": {"label": "a"},
        },
    )
    assert named.output["rows"] == [{"n": 1}]


def test_postgres_values_are_converted_to_json(dsn_env: str) -> None:
    result = call(
        PostgresConnector("pg", {"dsn": dsn_env}),
        "query",
        {
            "sql": (
                "SELECT 1.10::numeric AS n, 2.5::float8 AS f, 'NaN'::float8 AS nan, "
                "'2026-01-02 03:04:05+00'::timestamptz AS ts, '2026-01-02'::date AS d, "
                "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u, '\\x0102'::bytea AS b, "
                "'1 day'::interval AS i, '{\"k\": [1, 2.5]}'::jsonb AS j, ARRAY[1, 2] AS a, "
                "'10.0.0.1'::inet AS ip, true AS t, null::text AS z"
            )
        },
    )
    row = result.output["rows"][0]
    assert json.loads(json.dumps(result.output)) == result.output
    assert row["n"] == "1.10" and row["f"] == 2.5 and row["nan"] == "nan"
    assert row["ts"].startswith("2026-01-02T03:04:05") and row["d"] == "2026-01-02"
    assert row["u"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11" and row["b"] == "\\x0102"
    assert row["i"] == 86400.0 and row["j"] == {"k": [1, 2.5]} and row["a"] == [1, 2]
    assert row["ip"] == "10.0.0.1" and row["t"] is True and row["z"] is None


def test_jsonable_unit() -> None:
    import datetime as dt
    import decimal

    assert jsonable({"a": (decimal.Decimal("1.5"), dt.time(1, 2))}) == {"a": ["1.5", "01:02:00"]}


def test_postgres_max_rows_truncates(dsn_env: str) -> None:
    result = call(
        PostgresConnector("pg", {"dsn": dsn_env, "max_rows": 3}),
        "query",
        {"sql": "SELECT g FROM generate_series(1, 10) AS g"},
    )
    assert result.output == {
        "rows": [{"g": 1}, {"g": 2}, {"g": 3}],
        "row_count": 3,
        "truncated": True,
    }
    exact = call(
        PostgresConnector("pg", {"dsn": dsn_env, "max_rows": 10}),
        "query",
        {"sql": "SELECT g FROM generate_series(1, 10) AS g"},
    )
    assert exact.output["truncated"] is False and exact.output["row_count"] == 10


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO public.{t} (label) VALUES ('evil')",
        "UPDATE public.{t} SET label = 'evil'",
        "DELETE FROM public.{t}",
        "WITH w AS (UPDATE public.{t} SET label = 'evil' RETURNING 1) SELECT * FROM w",
        "CREATE TABLE public.{t}_new (x int)",
    ],
)
@pytest.mark.parametrize("read_only", [True, False])
def test_postgres_query_cannot_write(
    dsn_env: str, pg_table: str, db: psycopg.Connection, statement: str, read_only: bool
) -> None:
    before = rows_of(db, pg_table)
    connector = PostgresConnector("pg", {"dsn": dsn_env, "read_only": read_only})
    error = fails(connector, "query", {"sql": statement.format(t=pg_table)})
    assert error.error_class == "validation_error"
    assert "25006" in error.message and error.detail == {"sqlstate": "25006"}
    assert rows_of(db, pg_table) == before
    exists = db.execute("SELECT to_regclass(%s)", [f"public.{pg_table}_new"]).fetchone()
    assert exists == (None,)


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT 1; INSERT INTO public.{t} (label) VALUES ('evil')",
        "COMMIT; INSERT INTO public.{t} (label) VALUES ('evil')",
        "SET TRANSACTION READ WRITE; UPDATE public.{t} SET label = 'evil'",
    ],
)
def test_postgres_query_refuses_a_second_statement(
    dsn_env: str, pg_table: str, db: psycopg.Connection, statement: str
) -> None:
    before = rows_of(db, pg_table)
    error = fails(
        PostgresConnector("pg", {"dsn": dsn_env}), "query", {"sql": statement.format(t=pg_table)}
    )
    assert error.error_class == "validation_error"
    assert rows_of(db, pg_table) == before


def test_postgres_params_stay_data(dsn_env: str, pg_table: str, db: psycopg.Connection) -> None:
    reader = PostgresConnector("pg", {"dsn": dsn_env})
    injection = f"a' OR '1'='1'; DROP TABLE public.{pg_table}; --"
    found = call(
        reader,
        "query",
        {"sql": f"SELECT label FROM public.{pg_table} WHERE label = %s", "params": [injection]},
    )
    assert found.output["rows"] == [] and found.output["row_count"] == 0
    writer = PostgresConnector("pg", {"dsn": dsn_env, "read_only": False})
    assert writer.capabilities() == ["query", "execute"]
    inserted = call(
        writer,
        "execute",
        {
            "sql": f"INSERT INTO public.{pg_table} (label) VALUES (%s) RETURNING id, label",
            "params": [injection],
        },
    )
    assert inserted.output["rows"][0]["label"] == injection
    assert inserted.output["affected_rows"] == 1
    # The table is intact and holds the attempt as a plain string.
    assert [r[1] for r in rows_of(db, pg_table)] == ["a", "b", "c", injection]


def test_postgres_execute_commits_and_is_offered_only_when_writable(
    dsn_env: str, pg_table: str, db: psycopg.Connection
) -> None:
    error = fails(
        PostgresConnector("pg", {"dsn": dsn_env}),
        "execute",
        {"sql": f"DELETE FROM public.{pg_table}"},
    )
    assert error.error_class == "validation_error" and "not offered" in error.message
    assert len(rows_of(db, pg_table)) == 3
    writer = PostgresConnector("pg", {"dsn": dsn_env, "read_only": False})
    result = call(
        writer,
        "execute",
        {
            "sql": f"UPDATE public.{pg_table} SET amount = amount * %s WHERE label <> %s",
            "params": [2, "a"],
        },
    )
    assert result.output == {"rows": [], "row_count": 0, "truncated": False, "affected_rows": 2}
    assert [str(r[2]) for r in rows_of(db, pg_table)] == ["1.50", "4.50", "6.00"]
    json_param = call(
        writer, "execute", {"sql": "SELECT %s::jsonb -> 'a' AS a", "params": [{"a": [1, "x"]}]}
    )
    assert json_param.output["rows"] == [{"a": [1, "x"]}]


def test_postgres_errors_are_classified(dsn_env: str) -> None:
    connector = PostgresConnector("pg", {"dsn": dsn_env})
    syntax = fails(connector, "query", {"sql": "SELEC 1"})
    assert syntax.error_class == "validation_error" and "42601" in syntax.message
    missing = fails(connector, "query", {"sql": "SELECT * FROM public.no_such_table_x"})
    assert missing.error_class == "validation_error" and "42P01" in missing.message
    wrong_params = fails(connector, "query", {"sql": "SELECT %s, %s", "params": [1]})
    assert wrong_params.error_class == "validation_error"
    for data in ({"sql": ""}, {"sql": "SELECT 1", "params": "x"}, {"query": "SELECT 1"}):
        assert fails(connector, "query", data).error_class == "validation_error"


def test_postgres_statement_timeout(dsn_env: str) -> None:
    connector = PostgresConnector("pg", {"dsn": dsn_env, "statement_timeout_ms": 200})
    started = time.monotonic()
    error = fails(connector, "query", {"sql": "SELECT pg_sleep(5)"})
    assert error.error_class == "timeout" and error.retryable
    assert "57014" in error.message
    assert time.monotonic() - started < 4


def test_postgres_connection_failure_is_temporary_and_hides_the_password(monkeypatch) -> None:
    var = f"CONCORD_TEST_DSN_{uuid.uuid4().hex[:8].upper()}"
    monkeypatch.setenv(
        var,
        f"host=127.0.0.1 port={free_port()} user=u password={SECRET} dbname=x connect_timeout=3",
    )
    error = fails(PostgresConnector("pg", {"dsn": f"env://{var}"}), "query", {"sql": "SELECT 1"})
    assert error.error_class == "temporary_database_error"
    assert error.error_class in RETRYABLE_CLASSES
    assert SECRET not in str(error)
    monkeypatch.setenv(var, f"host=127.0.0.1 password={SECRET} garbage")
    malformed = fails(
        PostgresConnector("pg", {"dsn": f"env://{var}"}), "query", {"sql": "SELECT 1"}
    )
    assert malformed.error_class == "validation_error" and SECRET not in str(malformed)


def test_postgres_connector_refused_login_is_permission_denied(
    concord_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    role = "no_such_role_" + uuid.uuid4().hex[:6]
    info = psycopg.conninfo.conninfo_to_dict(concord_dsn)
    info.pop("password", None)
    info["user"] = role
    monkeypatch.setenv("CONCORD_TEST_BAD_LOGIN_DSN", psycopg.conninfo.make_conninfo(**info))
    connector = PostgresConnector("pg", {"dsn": "env://CONCORD_TEST_BAD_LOGIN_DSN"})
    with pytest.raises(ConnectorError) as caught:
        connector.call(ConnectorCall("pg", "query", {"sql": "SELECT 1"}))
    assert f'role "{role}" does not exist' in caught.value.message
    assert caught.value.error_class == "permission_denied"
    assert not caught.value.retryable


def test_postgres_dsn_must_be_a_secret_ref(concord_dsn: str, tmp_path, monkeypatch) -> None:
    raw = f"host=127.0.0.1 user=u password={SECRET}"
    for config in (
        {"dsn": raw},
        {},
        {"dsn": "env://X", "read_only": "no"},
        {"dsn": "env://X", "max_rows": 0},
        {"dsn": "env://X", "timeout": 1},
        {"dsn": "env://X", "statement_timeout_ms": 1.5},
    ):
        with pytest.raises(ConfigError) as info:
            PostgresConnector("pg", config)
        assert SECRET not in str(info.value)
    # A reference is read at call time: unset -> permission_denied; then a file works.
    var = f"CONCORD_TEST_DSN_{uuid.uuid4().hex[:8].upper()}"
    connector = PostgresConnector("pg", {"dsn": f"env://{var}"})
    assert fails(connector, "query", {"sql": "SELECT 1"}).error_class == "permission_denied"
    monkeypatch.setenv(var, concord_dsn)
    assert call(connector, "query", {"sql": "SELECT 1 AS one"}).output["rows"] == [{"one": 1}]
    dsn_file = tmp_path / "dsn"
    dsn_file.write_text(concord_dsn + "\n")
    by_file = PostgresConnector("pg", {"dsn": f"file://{dsn_file}"})
    assert call(by_file, "query", {"sql": "SELECT 2 AS two"}).output["rows"] == [{"two": 2}]


def test_postgres_summarize_keeps_a_few_rows(dsn_env: str) -> None:
    connector = PostgresConnector("pg", {"dsn": dsn_env})
    output = call(connector, "query", {"sql": "SELECT g FROM generate_series(1, 20) g"}).output
    assert connector.summarize(output) == {
        "rows": [{"g": i} for i in range(1, 6)],
        "row_count": 20,
        "truncated": False,
    }


# ---------------------------------------------------------------------------------------
# The factory
# ---------------------------------------------------------------------------------------


def test_build_connector(concord_dsn: str) -> None:
    assert isinstance(
        build_connector("a", "http", {"base_url": "https://x.example"}), HttpConnector
    )
    notify = build_connector("b", "notification", {}, dsn=concord_dsn)
    assert isinstance(notify, NotificationConnector)
    assert notify.capabilities() == ["send_app_notification"]
    pg = build_connector("c", "postgres", {"dsn": "env://X"})
    assert isinstance(pg, PostgresConnector) and pg.connector_type == "postgres"
    with pytest.raises(ConfigError, match="unknown connector type"):
        build_connector("d", "ftp", {})
    with pytest.raises(ConfigError):
        build_connector("e", "http", {"base_url": "http://h", "bearer_token": SECRET})
