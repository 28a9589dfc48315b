"""The built-in HTTP connector (spec 19): one capability, ``request``, against one base URL.

The transport is httpx (connection pooling, timeouts, content decoding); this module adds
what a governed connector needs on top of it. The configuration names the service
(``base_url``) and the credentials it needs as secret references (``bearer_token``, header
values); they are read at call time and removed from anything the connector returns or
raises. A request may only address paths of the configured host: redirects are not
followed, and neither environment proxies nor ``.netrc`` are used, so a credential never
leaves for another host; a proxy is used only when the configuration names one (``proxy``,
an http:// or https:// URL without credentials). Certificates are checked against the
system's trust store.

Failures raise :class:`~concord.runtime.error_classes.ConnectorError` with the error class of
spec 32: 5xx and connection failures are ``transient_connector_error``, a timeout is
``timeout``, 429 is ``rate_limited`` (``retry_after`` from ``Retry-After``) and any other
4xx is ``validation_error``.
"""

from __future__ import annotations

import codecs
import email.utils
import json
import re
import ssl
import threading
import time
import urllib.parse
from datetime import UTC
from typing import Any

import httpx

from ..error_classes import ConfigError, ConnectorError
from .base import (
    SECRET_KEY,
    Connector,
    ConnectorCall,
    ConnectorResult,
    check_config,
    is_secret_ref,
    require_clean_config,
    resolve_secret,
    scrub,
)

DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024
TEXT_LIMIT = 2000  # characters of a non-JSON body kept in the output
ERROR_BODY_LIMIT = 300  # characters of a body quoted in an error message
SUMMARY_LIMIT = 500

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
CONFIG_KEYS = frozenset(
    {"base_url", "timeout_seconds", "headers", "bearer_token", "max_response_bytes", "proxy"}
)
INPUT_KEYS = frozenset({"method", "path", "json", "query", "headers"})
# Headers the connector sets itself, or that would change where or how the request goes.
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "te",
        "upgrade",
        "idempotency-key",
        "x-concord-trace-id",
        "proxy-authorization",
    }
)
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` value: delta-seconds, or an HTTP-date
    converted to seconds from ``now`` (never negative). ``None`` when absent or unparseable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # an HTTP-date is GMT
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _redact_json(value: Any, secrets: list[str]) -> Any:
    if not secrets:
        return value
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, list):
        return [_redact_json(v, secrets) for v in value]
    if isinstance(value, dict):
        return {scrub(str(k), secrets): _redact_json(v, secrets) for k, v in value.items()}
    return value


def _number(name: str, key: str, value: Any, default: float, *, integer: bool = False) -> Any:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"connector {name}: {key} must be a positive number")
    if integer and not isinstance(value, int):
        raise ConfigError(f"connector {name}: {key} must be a positive integer")
    return value


class HttpConnector(Connector):
    """Spec 19 connector of type ``http``: ``request`` against ``base_url``."""

    connector_type = "http"

    def __init__(self, name: str, config: dict[str, Any]):
        require_clean_config(name, config, CONFIG_KEYS)
        self.name = name
        base_url = config.get("base_url")
        if not isinstance(base_url, str) or not base_url:
            raise ConfigError(f"connector {name}: base_url is required")
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"connector {name}: base_url must be an http:// or https:// URL")
        if parts.username is not None or parts.password is not None:
            raise ConfigError(
                f"connector {name}: base_url must not carry credentials; use bearer_token or "
                "headers with env://NAME or file://PATH references"
            )
        if parts.query or parts.fragment:
            raise ConfigError(f"connector {name}: base_url must not have a query or fragment")
        self._scheme = parts.scheme
        self._netloc = parts.netloc
        self._base_path = parts.path.rstrip("/")
        self.base_url = urllib.parse.urlunsplit(
            (parts.scheme, parts.netloc, self._base_path, "", "")
        )
        self.timeout = float(
            _number(name, "timeout_seconds", config.get("timeout_seconds"), DEFAULT_TIMEOUT_SECONDS)
        )
        self.max_response_bytes = int(
            _number(
                name,
                "max_response_bytes",
                config.get("max_response_bytes"),
                DEFAULT_MAX_RESPONSE_BYTES,
                integer=True,
            )
        )
        headers = config.get("headers") or {}
        if not isinstance(headers, dict):
            raise ConfigError(f"connector {name}: headers must be an object")
        for key, value in headers.items():
            if not isinstance(key, str) or not HEADER_NAME.match(key):
                raise ConfigError(f"connector {name}: {key!r} is not a valid header name")
            if not isinstance(value, str):
                raise ConfigError(f"connector {name}: header {key} must be a string")
            if key.lower() in RESERVED_HEADERS:
                raise ConfigError(f"connector {name}: header {key} is set by the connector")
        self._headers: dict[str, str] = dict(headers)
        token = config.get("bearer_token")
        if token is not None and not is_secret_ref(token):
            raise ConfigError(
                f"connector {name}: bearer_token must be a secret reference "
                "(env://NAME or file://PATH)"
            )
        if token is not None and any(k.lower() == "authorization" for k in self._headers):
            raise ConfigError(
                f"connector {name}: give either bearer_token or an Authorization header"
            )
        self._bearer_token: str | None = token
        proxy = config.get("proxy")
        if proxy is not None:
            where = urllib.parse.urlsplit(proxy) if isinstance(proxy, str) else None
            if where is None or where.scheme not in ("http", "https") or not where.hostname:
                raise ConfigError(f"connector {name}: proxy must be an http:// or https:// URL")
            if where.username is not None or where.password is not None:
                raise ConfigError(f"connector {name}: proxy must not carry credentials")
        self._proxy: str | None = proxy
        self._lock = threading.Lock()
        self._http: httpx.Client | None = None

    def capabilities(self) -> list[str]:
        return ["request"]

    # -- building the request -------------------------------------------------------------

    def _url(self, path: Any, query: Any) -> httpx.URL:
        if path is None:
            path = ""
        if not isinstance(path, str):
            raise self._invalid("path must be a string")
        if any(ord(c) < 0x21 or ord(c) == 0x7F for c in path) or "\\" in path:
            raise self._invalid("path must not contain whitespace, control characters or '\\'")
        if path.startswith("//") or urllib.parse.urlsplit(path).scheme:
            raise self._invalid("path must be relative to base_url (no scheme, no host)")
        raw_path, _, raw_query = path.partition("?")
        raw_path, _, _fragment = raw_path.partition("#")
        raw_query = raw_query.partition("#")[0]
        segments = [urllib.parse.unquote(s) for s in raw_path.split("/")]
        if any(s in (".", "..") for s in segments):
            raise self._invalid("path must not contain '.' or '..' segments")
        full_path = self._base_path + "/" + raw_path.lstrip("/")
        url = httpx.URL(
            urllib.parse.urlunsplit((self._scheme, self._netloc, full_path, raw_query, ""))
        )
        if query is not None:
            if not isinstance(query, dict):
                raise self._invalid("query must be an object")
            url = url.copy_merge_params({str(k): v for k, v in query.items() if v is not None})
        return url

    def _input_headers(self, headers: Any) -> dict[str, str]:
        if headers is None:
            return {}
        if not isinstance(headers, dict):
            raise self._invalid("headers must be an object")
        problems = check_config(headers, "headers")
        for key, value in headers.items():
            if not isinstance(key, str) or not HEADER_NAME.match(key):
                raise self._invalid(f"{key!r} is not a valid header name")
            if not isinstance(value, str):
                raise self._invalid(f"header {key} must be a string")
            if key.lower() in RESERVED_HEADERS:
                raise self._invalid(f"header {key} is set by the connector")
            if SECRET_KEY.search(key) or is_secret_ref(value):
                problems.append(
                    f"headers.{key}: credentials belong in the connector configuration "
                    "as env://NAME or file://PATH references, not in a request"
                )
        if problems:
            raise self._invalid("; ".join(sorted(set(problems))))
        return dict(headers)

    def _invalid(self, message: str) -> ConnectorError:
        return ConnectorError(f"connector {self.name}: {message}", error_class="validation_error")

    # -- the call ---------------------------------------------------------------------------

    def call(self, request: ConnectorCall) -> ConnectorResult:
        if request.capability != "request":
            raise self._invalid(
                f"capability {request.capability!r} is not offered (capabilities: ['request'])"
            )
        data = request.input or {}
        if not isinstance(data, dict):
            raise self._invalid("the input must be an object")
        unknown = sorted(set(data) - INPUT_KEYS)
        if unknown:
            raise self._invalid(f"unknown input keys {unknown} (known: {sorted(INPUT_KEYS)})")
        method = data.get("method") or "GET"
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise self._invalid(f"method must be one of {sorted(METHODS)}")
        method = method.upper()
        url = self._url(data.get("path"), data.get("query"))
        input_headers = self._input_headers(data.get("headers"))

        body: bytes | None = None
        headers: dict[str, str] = {"Accept": "application/json, */*;q=0.5"}
        if "json" in data and data["json"] is not None:
            try:
                body = json.dumps(data["json"], separators=(",", ":")).encode()
            except (TypeError, ValueError) as exc:
                raise self._invalid(f"json is not serializable: {exc}") from None
            headers["Content-Type"] = "application/json"

        # Secrets are resolved now, at call time, and never stored on the connector.
        secrets: list[str] = []
        for key, value in self._headers.items():
            if is_secret_ref(value):
                value = resolve_secret(value)
                secrets.append(value)
            headers[key] = value
        headers.update(input_headers)
        if self._bearer_token is not None:
            token = resolve_secret(self._bearer_token)
            secrets.append(token)
            headers["Authorization"] = f"Bearer {token}"
        if request.idempotency_key:
            headers["Idempotency-Key"] = str(request.idempotency_key)
        if request.trace_id:
            headers["X-Concord-Trace-Id"] = str(request.trace_id)

        # h11 would refuse these only once connected: refuse them before anything is sent
        for key, value in headers.items():
            if any(c in value for c in "\r\n\x00"):
                raise self._invalid(f"header {key} must not contain line breaks or NUL")

        where = f"{method} {url.path}"
        started = time.monotonic()
        try:
            with self._client().stream(method, url, content=body, headers=headers) as response:
                status = response.status_code
                received = bytearray()
                for chunk in response.iter_bytes():
                    received += chunk
                    if len(received) > self.max_response_bytes:
                        break  # the rest is never read
        except (httpx.HTTPError, UnicodeError) as exc:
            raise self._transport_error(exc, where, secrets) from None
        elapsed_ms = round((time.monotonic() - started) * 1000, 1)
        content_type = response.headers.get("Content-Type")
        location = response.headers.get("Location")
        charset = response.charset_encoding or "utf-8"
        try:
            codecs.lookup(charset)
        except LookupError:  # a charset Python does not know: read it as UTF-8
            charset = "utf-8"

        too_large = len(received) > self.max_response_bytes
        raw = bytes(received[: self.max_response_bytes])
        text = scrub(raw.decode(charset, errors="replace"), secrets)

        if status >= 400:
            quoted = text[:ERROR_BODY_LIMIT]
            message = f"connector {self.name}: {where} answered {status}"
            if quoted:
                message += f": {quoted}"
            detail = {"status": status}
            if status == 429:
                raise ConnectorError(
                    message,
                    error_class="rate_limited",
                    retry_after=parse_retry_after(response.headers.get("Retry-After")),
                    detail=detail,
                )
            if status >= 500:
                raise ConnectorError(
                    message, error_class="transient_connector_error", detail=detail
                )
            raise ConnectorError(message, error_class="validation_error", detail=detail)
        if too_large:
            raise ConnectorError(
                f"connector {self.name}: {where} answered {status} with a body larger than "
                f"max_response_bytes ({self.max_response_bytes})",
                error_class="validation_error",
                detail={"status": status},
            )

        parsed: Any = None
        out_text: str | None = None
        if text and content_type and "json" in content_type.lower():
            try:
                parsed = _redact_json(json.loads(text), secrets)
            except ValueError:
                out_text = text[:TEXT_LIMIT]
        elif text:
            out_text = text[:TEXT_LIMIT]
        out_headers: dict[str, str] = {}
        if content_type is not None:
            out_headers["content-type"] = content_type
        if location is not None:
            out_headers["location"] = scrub(location, secrets)
        output = {"status": status, "json": parsed, "text": out_text, "headers": out_headers}
        return ConnectorResult(
            ok=True,
            output=output,
            metadata={
                "method": method,
                "path": url.path,
                "elapsed_ms": elapsed_ms,
            },
        )

    def _client(self) -> httpx.Client:
        """The connector's pooled client, made on first use (a connector is built when its
        module is imported; connections are opened only by calls)."""
        with self._lock:
            if self._http is None:
                self._http = httpx.Client(
                    timeout=self.timeout,
                    follow_redirects=False,  # our headers, credentials included, stay here
                    trust_env=False,  # no environment proxy, no .netrc credentials
                    proxy=self._proxy,
                    verify=ssl.create_default_context(),  # the system's trust store
                )
            return self._http

    def close(self) -> None:
        """Close the pooled connections (a later call opens new ones)."""
        with self._lock:
            if self._http is not None:
                self._http.close()
                self._http = None

    def _transport_error(
        self, exc: httpx.HTTPError | UnicodeError, where: str, secrets: list[str]
    ) -> ConnectorError:
        text = scrub(f"{type(exc).__name__}: {exc}", secrets)
        message = f"connector {self.name}: {where} failed: {text}"
        if isinstance(exc, httpx.TimeoutException):
            return ConnectorError(
                f"connector {self.name}: {where} timed out after {self.timeout:g}s",
                error_class="timeout",
            )
        cause = exc.__context__ or exc.__cause__
        if isinstance(exc, httpx.ConnectError) and isinstance(cause, ssl.SSLCertVerificationError):
            return ConnectorError(message, error_class="validation_error")
        if isinstance(exc, httpx.TransportError) and not isinstance(
            exc, httpx.LocalProtocolError | httpx.UnsupportedProtocol
        ):
            # refused, reset, DNS, TLS failures, a truncated or malformed answer
            return ConnectorError(message, error_class="transient_connector_error")
        # a request httpx will not send (a header value it refuses), an answer it cannot
        # decode: sending it again changes nothing
        return ConnectorError(message, error_class="validation_error")

    def summarize(self, output: dict[str, Any]) -> dict[str, Any]:
        summary: dict[str, Any] = {"status": output.get("status")}
        parsed = output.get("json")
        if parsed is not None:
            dumped = json.dumps(parsed, default=str)
            if len(dumped) <= SUMMARY_LIMIT:
                summary["json"] = parsed
            else:
                summary["json_preview"] = dumped[:SUMMARY_LIMIT]
                summary["json_chars"] = len(dumped)
        text = output.get("text")
        if text:
            summary["text"] = text[:SUMMARY_LIMIT]
        if output.get("headers", {}).get("location"):
            summary["location"] = output["headers"]["location"]
        return summary
