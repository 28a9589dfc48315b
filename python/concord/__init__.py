"""Concord: a Postgres-native kernel of contracts for work.

The rules live in PostgreSQL (schema ``concord``); this package is a thin caller:
:class:`Client` wraps the SQL API, ``concord migrate`` installs and upgrades it.
"""

from .client import (
    ApprovalResolution,
    Client,
    Command,
    Decision,
    Dependency,
    Dependent,
    Effect,
    PendingApproval,
    PolicyEvaluation,
    SubmitResult,
    TimelineEvent,
)
from .errors import (
    AlreadyResolved,
    AppendOnlyViolation,
    ApprovalExpired,
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
    NotPermitted,
    ScopeViolation,
    StateConflict,
    UnknownCommandType,
)

__all__ = [
    "ApprovalResolution",
    "Client",
    "Command",
    "Decision",
    "Dependency",
    "Dependent",
    "Effect",
    "PendingApproval",
    "PolicyEvaluation",
    "SubmitResult",
    "TimelineEvent",
    "AlreadyResolved",
    "AppendOnlyViolation",
    "ApprovalExpired",
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
    "NotPermitted",
    "ScopeViolation",
    "StateConflict",
    "UnknownCommandType",
]
