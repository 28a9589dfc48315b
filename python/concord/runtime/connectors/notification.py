"""The built-in notification connector (spec 19).

``send_app_notification`` stores the notification durably with the SQL function
``concord.store_notification`` (idempotent by the effect's key). ``send_email`` sends one
message over SMTP and, when the connector has a database, records it the same way with
channel ``email``. The message carries the effect's idempotency key twice: as
``X-Concord-Idempotency-Key`` and in a ``Message-ID`` derived from it, so that a resent
message is recognizably the same one.

SMTP failures carry the error class of spec 32: a 4xx reply or a lost connection is
``transient_connector_error``, a 5xx reply ``validation_error`` (an authentication failure
``permission_denied``), a socket timeout ``timeout``.
"""

from __future__ import annotations

import email.policy
import email.utils
import hashlib
import re
import smtplib
import socket
import ssl
from email.message import EmailMessage
from typing import Any

import psycopg
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
from .postgres import classify_pg_error, dsn_secrets, pg_error_message

DEFAULT_SMTP_PORT = 25
DEFAULT_TIMEOUT_SECONDS = 10.0
CONFIG_KEYS = frozenset(
    {"host", "port", "from_address", "starttls", "username", "password", "timeout_seconds"}
)
APP_INPUT_KEYS = frozenset({"recipient", "subject", "body", "metadata"})
EMAIL_INPUT_KEYS = frozenset({"to", "subject", "body"})
STORE_SQL = (
    "SELECT concord.store_notification(recipient => %s, subject => %s, body => %s, "
    "channel => %s, command_id => %s, idempotency_key => %s, metadata => %s)"
)
# An address: something@domain, no whitespace, separators or angle brackets.
ADDRESS = re.compile(r"^[^\s@<>,;\"()\[\]\\]+@[^\s@<>,;\"()\[\]\\]+$")
DOT_ATOM = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")


def message_id_for(key: str) -> str:
    """The ``Message-ID`` of the message sent under idempotency key ``key``: ``<KEY@concord>``
    when the key is a valid dot-atom, else one derived from its SHA-256."""
    left = (
        key
        if DOT_ATOM.match(key) and len(key) <= 200
        else ("k" + hashlib.sha256(key.encode()).hexdigest()[:40])
    )
    return f"<{left}@concord>"


def _recipient_label(recipients: list[str]) -> str:
    """The recipient of the stored record (a name of at most 256 characters); the full
    list is in its metadata."""
    joined = ", ".join(recipients)
    if len(joined) <= 256:
        return joined
    return f"{recipients[0][:200]} (+{len(recipients) - 1} more)"


class NotificationConnector(Connector):
    """Spec 19 connector of type ``notification``: ``send_app_notification`` (needs ``dsn``)
    and ``send_email`` (needs ``host`` and ``from_address``)."""

    connector_type = "notification"

    def __init__(self, name: str, config: dict[str, Any], dsn: str | None = None):
        require_clean_config(name, config, CONFIG_KEYS)
        self.name = name
        self._dsn = dsn
        host = config.get("host")
        if host is not None and (not isinstance(host, str) or not host):
            raise ConfigError(f"connector {name}: host must be a non-empty string")
        self.host: str | None = host
        port = config.get("port", DEFAULT_SMTP_PORT)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigError(f"connector {name}: port must be an integer in 1..65535")
        self.port = port
        sender = config.get("from_address")
        if sender is not None and (not isinstance(sender, str) or not ADDRESS.match(sender)):
            raise ConfigError(f"connector {name}: from_address must be an email address")
        if host is not None and sender is None:
            raise ConfigError(f"connector {name}: from_address is required to send email")
        self.from_address: str | None = sender
        starttls = config.get("starttls", False)
        if not isinstance(starttls, bool):
            raise ConfigError(f"connector {name}: starttls must be true or false")
        self.starttls = starttls
        username = config.get("username")
        password = config.get("password")
        if username is not None and not isinstance(username, str):
            raise ConfigError(f"connector {name}: username must be a string")
        if password is not None and not is_secret_ref(password):
            raise ConfigError(
                f"connector {name}: password must be a secret reference (env://NAME or file://PATH)"
            )
        if (username is None) != (password is None):
            raise ConfigError(f"connector {name}: give both username and password, or neither")
        self._username: str | None = username
        self._password_ref: str | None = password
        timeout = config.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigError(f"connector {name}: timeout_seconds must be a positive number")
        self.timeout = float(timeout)

    def capabilities(self) -> list[str]:
        offered = []
        if self._dsn is not None:
            offered.append("send_app_notification")
        if self.host is not None:
            offered.append("send_email")
        return offered

    def _invalid(self, message: str) -> ConnectorError:
        return ConnectorError(f"connector {self.name}: {message}", error_class="validation_error")

    def call(self, request: ConnectorCall) -> ConnectorResult:
        if request.capability not in ("send_app_notification", "send_email"):
            raise self._invalid(
                f"capability {request.capability!r} is not offered "
                "(capabilities: ['send_app_notification', 'send_email'])"
            )
        if request.capability not in self.capabilities():
            needs = (
                "a database (dsn)"
                if request.capability == "send_app_notification"
                else ("an SMTP host and from_address")
            )
            raise self._invalid(f"{request.capability} needs {needs} in its configuration")
        data = request.input or {}
        if not isinstance(data, dict):
            raise self._invalid("the input must be an object")
        if request.capability == "send_app_notification":
            return self._send_app(request, data)
        return self._send_email(request, data)

    # -- app notifications ----------------------------------------------------------------

    def _send_app(self, request: ConnectorCall, data: dict[str, Any]) -> ConnectorResult:
        unknown = sorted(set(data) - APP_INPUT_KEYS)
        if unknown:
            raise self._invalid(f"unknown input keys {unknown} (known: {sorted(APP_INPUT_KEYS)})")
        recipient = data.get("recipient")
        if not isinstance(recipient, str) or not recipient.strip():
            raise self._invalid("recipient must be a non-empty string")
        subject = data.get("subject")
        body = data.get("body")
        for key, value in (("subject", subject), ("body", body)):
            if value is not None and not isinstance(value, str):
                raise self._invalid(f"{key} must be a string")
        if subject is None and body is None:
            raise self._invalid("a notification needs a subject or a body")
        metadata = data.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise self._invalid("metadata must be an object")
        notification_id = self._store(request, recipient, subject, body, "app", metadata or {})
        return ConnectorResult(
            ok=True, output={"notification_id": notification_id, "channel": "app"}
        )

    def _store(
        self,
        request: ConnectorCall,
        recipient: str,
        subject: str | None,
        body: str | None,
        channel: str,
        metadata: dict[str, Any],
    ) -> str:
        assert self._dsn is not None
        dsn = resolve_secret(self._dsn) if is_secret_ref(self._dsn) else self._dsn
        secrets = dsn_secrets(dsn)
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                row = conn.execute(
                    STORE_SQL,
                    [
                        recipient,
                        subject,
                        body,
                        channel,
                        request.command_id,
                        request.idempotency_key,
                        Jsonb(metadata),
                    ],
                ).fetchone()
        except Exception as exc:  # noqa: BLE001 - classified below
            raise ConnectorError(
                f"connector {self.name}: storing the {channel} notification failed: "
                f"{pg_error_message(exc, secrets)}",
                error_class=classify_pg_error(exc),
            ) from None
        if row is None or row[0] is None:
            raise ConnectorError(
                f"connector {self.name}: concord.store_notification returned no id",
                error_class="internal_error",
            )
        return str(row[0])

    # -- email ----------------------------------------------------------------------------

    def _send_email(self, request: ConnectorCall, data: dict[str, Any]) -> ConnectorResult:
        unknown = sorted(set(data) - EMAIL_INPUT_KEYS)
        if unknown:
            raise self._invalid(f"unknown input keys {unknown} (known: {sorted(EMAIL_INPUT_KEYS)})")
        to = data.get("to")
        recipients = [to] if isinstance(to, str) else to
        if (
            not isinstance(recipients, list)
            or not recipients
            or not all(isinstance(r, str) and ADDRESS.match(r) for r in recipients)
        ):
            raise self._invalid("to must be an email address or a non-empty list of them")
        subject = data.get("subject", "")
        body = data.get("body", "")
        if not isinstance(subject, str) or not isinstance(body, str):
            raise self._invalid("subject and body must be strings")
        if "\r" in subject or "\n" in subject:
            raise self._invalid("subject must not contain line breaks")

        assert self.host is not None and self.from_address is not None
        message = EmailMessage(policy=email.policy.SMTP)
        message["From"] = self.from_address
        message["To"] = ", ".join(recipients)
        message["Subject"] = subject
        message["Date"] = email.utils.formatdate(usegmt=True)
        key = request.idempotency_key
        if key:
            if any(ord(c) < 0x20 or ord(c) == 0x7F for c in str(key)):
                raise self._invalid("the idempotency key must not contain control characters")
            message["Message-ID"] = message_id_for(str(key))
            message["X-Concord-Idempotency-Key"] = str(key)
        else:
            message["Message-ID"] = email.utils.make_msgid(domain="concord")
        if request.trace_id:
            message["X-Concord-Trace-Id"] = str(request.trace_id)
        message.set_content(body)

        password = resolve_secret(self._password_ref) if self._password_ref else None
        secrets = [password] if password else []
        smtp = smtplib.SMTP(timeout=self.timeout)
        try:
            smtp.connect(self.host, self.port)
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self._username is not None and password is not None:
                username = (
                    resolve_secret(self._username)
                    if is_secret_ref(self._username)
                    else self._username
                )
                smtp.login(username, password)
            refused = smtp.send_message(message, from_addr=self.from_address, to_addrs=recipients)
        except ConnectorError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified below
            raise self._smtp_error(exc, secrets) from None
        finally:
            # The message is accepted once DATA is answered; a failed QUIT changes nothing.
            try:
                smtp.quit()
            except Exception:  # noqa: BLE001
                smtp.close()

        accepted = [r for r in recipients if r not in refused]
        metadata: dict[str, Any] = {
            "message_id": message["Message-ID"],
            "to": recipients,
            "refused": sorted(refused),
        }
        output: dict[str, Any] = {
            "notification_id": None,
            "channel": "email",
            "message_id": message["Message-ID"],
            "accepted": accepted,
            "refused": sorted(refused),
        }
        if self._dsn is not None:
            # The message is gone: failing now would make a retry send it twice. A failed
            # record is reported in the output instead.
            try:
                output["notification_id"] = self._store(
                    request, _recipient_label(recipients), subject, body, "email", metadata
                )
            except ConnectorError as exc:
                output["record_error"] = exc.message
        return ConnectorResult(ok=True, output=output)

    def _smtp_error(self, exc: BaseException, secrets: list[str]) -> ConnectorError:
        text = scrub(f"{type(exc).__name__}: {exc}", secrets)
        message = f"connector {self.name}: sending email through {self.host}:{self.port} failed"
        # smtplib turns a socket timeout while waiting for a reply into
        # SMTPServerDisconnected; the timeout is still the cause.
        if isinstance(exc, TimeoutError | socket.timeout) or (
            isinstance(exc, smtplib.SMTPServerDisconnected)
            and isinstance(exc.__context__, TimeoutError | socket.timeout)
        ):
            return ConnectorError(
                f"{message}: timed out after {self.timeout:g}s", error_class="timeout"
            )
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in exc.recipients.values()]
            error_class = (
                "transient_connector_error"
                if any(400 <= c < 500 for c in codes)
                else "validation_error"
            )
            return ConnectorError(
                f"{message}: {text}", error_class=error_class, detail={"smtp_codes": codes}
            )
        if isinstance(exc, smtplib.SMTPResponseException):
            code = exc.smtp_code
            if isinstance(exc, smtplib.SMTPAuthenticationError) and code >= 500:
                error_class = "permission_denied"
            elif 400 <= code < 500 or code < 0:
                error_class = "transient_connector_error"
            elif code >= 500:
                error_class = "validation_error"
            else:
                error_class = "transient_connector_error"
            return ConnectorError(
                f"{message}: {text}", error_class=error_class, detail={"smtp_code": code}
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return ConnectorError(f"{message}: {text}", error_class="validation_error")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return ConnectorError(f"{message}: {text}", error_class="validation_error")
        if isinstance(exc, OSError | smtplib.SMTPException):
            # refused, reset, DNS, disconnected
            return ConnectorError(f"{message}: {text}", error_class="transient_connector_error")
        if isinstance(exc, ValueError | TypeError | UnicodeError):
            return ConnectorError(f"{message}: {text}", error_class="validation_error")
        return ConnectorError(f"{message}: {text}", error_class="internal_error")
