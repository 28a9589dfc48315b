"""The connector protocol of spec 19, the connector registry and secret references.

A connector executes a capability after policy allowed it; it never decides policy.
Configuration references secrets (``env://NAME``, ``file://PATH``) and never contains
them: :func:`check_config` refuses a configuration that carries a raw secret, and
:func:`resolve_secret` reads a reference only at call time, so no secret value reaches a
table, an audit row or a log line.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from ...secrets import SECRET_SCHEMES as SECRET_SCHEMES
from ...secrets import SecretUnavailable, read_secret
from ...secrets import is_secret_ref as is_secret_ref
from ..error_classes import ConfigError, ConnectorError

# Keys whose values are credentials wherever they appear in a configuration.
SECRET_KEY = re.compile(
    r"(secret|password|passwd|token|api[_-]?key|authorization|credential|private[_-]?key|cookie)",
    re.IGNORECASE | re.ASCII,
)


@dataclass
class ConnectorCall:
    """One request to a connector (spec 19), plus the effect's idempotency key."""

    connector_name: str
    capability: str
    input: dict[str, Any]
    context: dict[str, Any] = field(default_factory=dict)
    command_id: str | None = None
    idempotency_key: str | None = None
    trace_id: str | None = None


@dataclass
class ConnectorResult:
    """The answer of a connector (spec 19). A failed result names its error class."""

    ok: bool
    output: dict[str, Any]
    error: str | None = None
    metadata: dict[str, Any] | None = None
    error_class: str | None = None
    retry_after: float | None = None


class Connector(ABC):
    """Spec 19. ``name`` is the registry key; ``connector_type`` the implementation."""

    name: str
    connector_type: str

    @abstractmethod
    def capabilities(self) -> list[str]:
        """The capabilities this connector can execute."""

    @abstractmethod
    def call(self, request: ConnectorCall) -> ConnectorResult:
        """Execute one capability. Raise :class:`ConnectorError` (with its error class) or
        return a result with ``ok=False`` and ``error_class`` set on failure."""

    def summarize(self, output: dict[str, Any]) -> dict[str, Any]:
        """What the invocation record keeps of an output (default: the output itself)."""
        return output


# Keys about a credential rather than holding one (token_url, password_file, ...).
NOT_A_SECRET_KEY = re.compile(
    r"[_-](url|uri|endpoint|ttl|type|mode|name|header|file|path|ref|scheme|expiry|expires)$",
    re.IGNORECASE | re.ASCII,
)
# ASCII whitespace only, as the database's checks (concord._raw_secrets) spell it.
URI_WITH_PASSWORD = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/@: \t\n\r\f\v]*:[^/@ \t\n\r\f\v]+@")
RAW_CREDENTIAL = re.compile(
    r"^(bearer|basic)[ \t\n\r\f\v]+[^ \t\n\r\f\v]", re.IGNORECASE | re.ASCII
)
REDACTED = "[redacted]"


def is_secret_key(key: str) -> bool:
    """Whether a configuration key names a credential (the SQL _is_secret_key agrees)."""
    return bool(SECRET_KEY.search(key)) and not NOT_A_SECRET_KEY.search(key)


def check_config(config: Any, path: str = "$", secret: bool = False) -> list[str]:
    """Every place where ``config`` carries a raw secret instead of a reference: any
    string under a credential key (at any depth), a ``Bearer``/``Basic`` credential, or a
    URI with a password. The database refuses the same (``concord._raw_secrets``)."""
    problems: list[str] = []
    if isinstance(config, dict):
        for key, value in config.items():
            problems.extend(check_config(value, f"{path}.{key}", secret or is_secret_key(str(key))))
    elif isinstance(config, list):
        for i, value in enumerate(config):
            problems.extend(check_config(value, f"{path}[{i}]", secret))
    elif isinstance(config, (int, float)) and not isinstance(config, bool) and secret:
        problems.append(f"{path} holds a raw secret: reference it as env://NAME or file://PATH")
    elif isinstance(config, str) and not is_secret_ref(config):
        if secret and config:
            problems.append(f"{path} holds a raw secret: reference it as env://NAME or file://PATH")
        elif RAW_CREDENTIAL.match(config):
            problems.append(
                f"{path} holds a raw credential: reference it as env://NAME or file://PATH"
            )
        elif URI_WITH_PASSWORD.match(config):
            problems.append(
                f"{path} is a URI with a password: reference it as env://NAME or file://PATH"
            )
    return problems


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` without any of ``secrets`` (resolved secret values), as written or as a JSON
    string escapes them: for messages and bodies that may quote a credential."""
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms.update(
                {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
            )
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text


def redact(value: Any) -> Any:
    """``value`` with every credential replaced by ``[redacted]``: the whole value under a
    credential-like key, ``Bearer``/``Basic`` strings, the password of a URI (the
    database's ``concord._redact`` applies the same rules)."""
    if isinstance(value, dict):
        return {k: REDACTED if is_secret_key(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        if RAW_CREDENTIAL.match(value):
            return REDACTED
        if URI_WITH_PASSWORD.match(value):
            return re.sub(
                r"://([^/@: \t\n\r\f\v]*):[^/@ \t\n\r\f\v]+@", r"://\1:[redacted]@", value, count=1
            )
    return value


def require_clean_config(
    name: str, config: Any, known: frozenset[str] | set[str] | None = None
) -> None:
    """Refuse a configuration that is not an object, carries a raw secret, or (with
    ``known``) has keys outside ``known``."""
    if not isinstance(config, dict):
        raise ConfigError(f"connector {name}: the configuration must be an object")
    problems = check_config(config)
    if problems:
        raise ConfigError(f"connector {name}: " + "; ".join(problems))
    unknown = sorted(set(config) - set(known)) if known is not None else []
    if unknown:
        raise ConfigError(
            f"connector {name}: unknown configuration keys {unknown} (known: {sorted(known)})"
        )


def resolve_secret(ref: str) -> str:
    """The value a secret reference points at (read at call time, never stored); a secret
    that cannot be read now is the call's ``permission_denied``."""
    try:
        return read_secret(ref)
    except SecretUnavailable as exc:
        raise ConnectorError(str(exc), error_class="permission_denied") from None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


class ConnectorRegistry:
    """Connectors by name. Registering a name twice replaces nothing: it is an error."""

    def __init__(self) -> None:
        self._connectors: dict[str, Connector] = {}
        self._declared: dict[str, frozenset[str]] = {}

    def declare(self, name: str, capabilities: list[str] | frozenset[str]) -> None:
        """Restrict ``name`` to the capabilities its configuration row declares (an empty
        declaration restricts nothing)."""
        if capabilities:
            self._declared[name] = frozenset(capabilities)

    def allows(self, name: str, capability: str) -> bool:
        declared = self._declared.get(name)
        return declared is None or capability in declared

    def register(self, connector: Connector) -> Connector:
        name = getattr(connector, "name", None)
        if not isinstance(name, str) or not name:
            raise ConfigError("a connector needs a non-empty name")
        if name in self._connectors and self._connectors[name] is not connector:
            raise ConfigError(f"connector {name} is already registered")
        self._connectors[name] = connector
        return connector

    def get(self, name: str) -> Connector:
        try:
            return self._connectors[name]
        except KeyError:
            raise ConnectorError(
                f"no connector named {name} is registered (known: {sorted(self._connectors)})",
                error_class="validation_error",
            ) from None

    def names(self) -> list[str]:
        return sorted(self._connectors)

    def clear(self) -> None:
        self._connectors.clear()
        self._declared.clear()


registry = ConnectorRegistry()


def register_connector(connector: Connector) -> Connector:
    """Add a connector to the process-wide registry used by the worker."""
    return registry.register(connector)
