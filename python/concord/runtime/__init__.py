"""Concord's DBOS runtime: the only package that imports ``dbos`` (spec 47).

Register the code that executes a command type with :func:`operation`, its
compensation with :func:`compensation`, and connectors with
:func:`register_connector`; then run ``concord worker --module your.module``.
"""

from .catalog import (
    DBOS_CAPABILITIES,
    Catalog,
    ExternalCall,
    RuntimeCapability,
    catalog,
    compensation,
    operation,
)
from .connectors.base import (
    Connector,
    ConnectorCall,
    ConnectorResult,
    register_connector,
    registry,
)
from .error_classes import (
    Cancelled,
    CatalogError,
    ClassifiedError,
    ConfigError,
    ConnectorError,
    classify,
)
from .retry import RetryPolicy, compile_policy

__all__ = [
    "DBOS_CAPABILITIES",
    "Cancelled",
    "Catalog",
    "CatalogError",
    "ClassifiedError",
    "ConfigError",
    "Connector",
    "ConnectorCall",
    "ConnectorError",
    "ConnectorResult",
    "ExternalCall",
    "RetryPolicy",
    "RuntimeCapability",
    "catalog",
    "classify",
    "compensation",
    "compile_policy",
    "operation",
    "register_connector",
    "registry",
]
