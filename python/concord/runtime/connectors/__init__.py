"""Connectors (spec 19): the protocol, the registry, secret references and the built-in
connectors ``http``, ``notification`` and ``postgres``."""

from __future__ import annotations

from typing import Any

from ..error_classes import ConfigError, ConnectorError
from .base import (
    SECRET_KEY,
    SECRET_SCHEMES,
    Connector,
    ConnectorCall,
    ConnectorRegistry,
    ConnectorResult,
    check_config,
    is_secret_ref,
    register_connector,
    registry,
    require_clean_config,
    resolve_secret,
)
from .http import HttpConnector
from .notification import NotificationConnector
from .postgres import PostgresConnector

CONNECTOR_TYPES: dict[str, type[Connector]] = {
    "http": HttpConnector,
    "notification": NotificationConnector,
    "postgres": PostgresConnector,
}


def build_connector(
    name: str, connector_type: str, config: dict[str, Any], *, dsn: str | None = None
) -> Connector:
    """A built-in connector of ``connector_type`` named ``name``. ``dsn`` is the Concord
    database, used by the notification connector to store notifications."""
    if connector_type == "http":
        return HttpConnector(name, config)
    if connector_type == "notification":
        return NotificationConnector(name, config, dsn=dsn)
    if connector_type == "postgres":
        return PostgresConnector(name, config)
    raise ConfigError(
        f"connector {name}: unknown connector type {connector_type!r} "
        f"(known: {sorted(CONNECTOR_TYPES)})"
    )


__all__ = [
    "CONNECTOR_TYPES",
    "SECRET_KEY",
    "SECRET_SCHEMES",
    "ConfigError",
    "Connector",
    "ConnectorCall",
    "ConnectorError",
    "ConnectorRegistry",
    "ConnectorResult",
    "HttpConnector",
    "NotificationConnector",
    "PostgresConnector",
    "build_connector",
    "check_config",
    "is_secret_ref",
    "register_connector",
    "registry",
    "require_clean_config",
    "resolve_secret",
]
