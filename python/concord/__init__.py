"""Concord: a Postgres-native kernel of contracts for work.

The rules live in PostgreSQL (schema ``concord``); this package is a thin caller:
:class:`Client` wraps the SQL API, ``concord migrate`` installs and upgrades it.
"""

from .errors import (
    AppendOnlyViolation,
    ConcordError,
    DependencyCycle,
    IdempotencyConflict,
    IllegalTransition,
    InvalidArgument,
    InvalidPayload,
    InvalidSpec,
    LimitExceeded,
    MigrationError,
    NotFound,
    ScopeViolation,
    StateConflict,
    UnknownCommandType,
)

__all__ = [
    "AppendOnlyViolation",
    "ConcordError",
    "DependencyCycle",
    "IdempotencyConflict",
    "IllegalTransition",
    "InvalidArgument",
    "InvalidPayload",
    "InvalidSpec",
    "LimitExceeded",
    "MigrationError",
    "NotFound",
    "ScopeViolation",
    "StateConflict",
    "UnknownCommandType",
]
