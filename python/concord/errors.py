"""Concord's error codes (SQLSTATE class ``CN``) as Python exceptions.

The SQL API raises these codes; :func:`from_psycopg` turns a psycopg error carrying one
into the matching exception class. The table is the single source: the README lists the
same codes.

Every refusal also names the rule it enforces (``concord.rules``): the database raises it
as the diagnostic's constraint name, with the table when it is a table's rule. They are
:attr:`ConcordError.rule` and :attr:`ConcordError.table`; :func:`rule_of` reads the rule of
any error, a CHECK constraint's refusal (which keeps its own SQLSTATE and psycopg class)
included.
"""

from __future__ import annotations

import psycopg


class ConcordError(Exception):
    """Base class. ``sqlstate``, ``detail`` and ``hint`` come from the server, and so do
    ``rule`` (the name of the rule that refused, as listed in ``concord.rules``) and
    ``table`` (the table whose rule it is, when it is one)."""

    sqlstate: str | None = None

    def __init__(
        self,
        message: str,
        *,
        detail: str | None = None,
        hint: str | None = None,
        rule: str | None = None,
        table: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.hint = hint
        self.rule = rule
        self.table = table

    def __repr__(self) -> str:
        """The class, message, code and, when known, the rule and its table: what a log
        line or a debugger needs to find the rule in ``concord.rules``. ``str()`` stays
        the server's message (with DETAIL and HINT), the text the runtime records."""
        fields = [repr(self.message)]
        fields += [
            f"{name}={value!r}"
            for name, value in (
                ("sqlstate", self.sqlstate),
                ("rule", self.rule),
                ("table", self.table),
            )
            if value is not None
        ]
        return f"{type(self).__name__}({', '.join(fields)})"

    def __str__(self) -> str:
        parts = [self.message]
        if self.detail:
            parts.append(f"DETAIL: {self.detail}")
        if self.hint:
            parts.append(f"HINT: {self.hint}")
        return "\n".join(parts)


class IllegalTransition(ConcordError):
    """CN001: the state machine does not allow this transition now."""

    sqlstate = "CN001"


class IdempotencyConflict(ConcordError):
    """CN002: the idempotency key is taken by a different request."""

    sqlstate = "CN002"


class DependencyCycle(ConcordError):
    """CN003: the dependency would make a command wait on itself."""

    sqlstate = "CN003"


class ScopeViolation(ConcordError):
    """CN004: an agent asked for more than its parent holds."""

    sqlstate = "CN004"


class InvalidPayload(ConcordError):
    """CN005: an invalid payload or specification (every problem is in ``detail``)."""

    sqlstate = "CN005"


InvalidSpec = InvalidPayload


class NotFound(ConcordError):
    """CN006: no such command, effect or other object."""

    sqlstate = "CN006"


class AppendOnlyViolation(ConcordError):
    """CN007: the row is append-only or the column immutable."""

    sqlstate = "CN007"


class InvalidArgument(ConcordError):
    """CN008: an argument is missing, blank or not one of the allowed values."""

    sqlstate = "CN008"


class UnknownCommandType(ConcordError):
    """CN009: no command type of that name is registered."""

    sqlstate = "CN009"


class LimitExceeded(ConcordError):
    """CN010: a configured limit would be exceeded."""

    sqlstate = "CN010"


class StateConflict(ConcordError):
    """CN011: the request does not fit the object's current state."""

    sqlstate = "CN011"


class NotPermitted(ConcordError):
    """CN012: the actor may not do this (an ineligible approver, self-approval, input
    from someone other than the requester)."""

    sqlstate = "CN012"


class AlreadyResolved(ConcordError):
    """CN013: the approval has already been resolved (or expired or cancelled)."""

    sqlstate = "CN013"


class ApprovalExpired(ConcordError):
    """CN014: the approval's ``expires_at`` has passed, even if ``expire_approvals`` has
    not run yet."""

    sqlstate = "CN014"


class RuntimeNotInstalled(ConcordError):
    """CN015: a command became runnable but DBOS's system schema is not installed in the
    database (run ``concord migrate``)."""

    sqlstate = "CN015"


class ContractUnavailable(ConcordError):
    """CN016: nothing usable resolves for a registry capability or contract: its version
    is retired, no active binding matches, or the caller may not use it."""

    sqlstate = "CN016"


class IncompatibleVersion(ConcordError):
    """CN017: a registry version number does not match its change: a breaking change
    without a major bump, an additive one without at least a minor bump, or a number not
    above the latest."""

    sqlstate = "CN017"


class MigrationError(ConcordError):
    """The installer refused to run (edited migration, missing files, failed SQL)."""


ERRORS_BY_SQLSTATE: dict[str, type[ConcordError]] = {
    cls.sqlstate: cls
    for cls in (
        IllegalTransition,
        IdempotencyConflict,
        DependencyCycle,
        ScopeViolation,
        InvalidPayload,
        NotFound,
        AppendOnlyViolation,
        InvalidArgument,
        UnknownCommandType,
        LimitExceeded,
        StateConflict,
        NotPermitted,
        AlreadyResolved,
        ApprovalExpired,
        RuntimeNotInstalled,
        ContractUnavailable,
        IncompatibleVersion,
    )
}


def from_psycopg(exc: psycopg.Error) -> Exception:
    """The Concord exception for ``exc``, or ``exc`` itself when it is not a CN code."""
    cls = ERRORS_BY_SQLSTATE.get(exc.sqlstate or "")
    if cls is None:
        return exc
    diag = exc.diag
    return cls(
        diag.message_primary or str(exc),
        detail=diag.message_detail,
        hint=diag.message_hint,
        rule=diag.constraint_name,
        table=diag.table_name,
    )


def rule_of(exc: BaseException) -> str | None:
    """The name of the rule that refused, for a :class:`ConcordError` or a psycopg error
    (a CHECK constraint's name is its rule); ``None`` when the error names none."""
    if isinstance(exc, ConcordError):
        return exc.rule
    diag = getattr(exc, "diag", None)
    return getattr(diag, "constraint_name", None) if diag is not None else None
