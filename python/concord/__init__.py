"""Concord: a Postgres-native kernel of contracts for work.

The rules live in PostgreSQL (schema ``concord``); this package is a thin caller:
:class:`Client` wraps the SQL API, ``concord migrate`` installs and upgrades it.
"""

from .client import (
    Client,
    Command,
    Dependency,
    Dependent,
    Effect,
    SubmitResult,
    TimelineEvent,
)
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
    "Client",
    "Command",
    "Dependency",
    "Dependent",
    "Effect",
    "SubmitResult",
    "TimelineEvent",
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
