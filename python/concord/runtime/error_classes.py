"""Runtime errors, each carrying the error class of spec 32 that decides whether a step is
retried. Exceptions are classified before they leave a step (:func:`classify`): a class
the ``error_classes`` table marks non-retryable is never retried, whatever a
:class:`~concord.runtime.retry.RetryPolicy` says."""

from __future__ import annotations

import pickle
import socket

# Spec 32.  The SQL table concord.error_classes is the authority; the worker checks at
# start that these agree with it.
RETRYABLE_CLASSES = frozenset(
    {"transient_connector_error", "rate_limited", "timeout", "temporary_database_error"}
)
NON_RETRYABLE_CLASSES = frozenset(
    {
        "validation_error",
        "policy_denied",
        "approval_rejected",
        "permission_denied",
        "malformed_payload",
        "approval_expired",
        "cancelled",
        "internal_error",
        "compensation_failed",
        "contract_unavailable",
    }
)


class ClassifiedError(Exception):
    """Base of runtime errors that carry an ``error_class``."""

    error_class = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        error_class: str | None = None,
        retry_after: float | None = None,
        detail: dict | None = None,
    ):
        # PostgreSQL stores no NUL in text or jsonb: an error quoting a peer's answer
        # must still be recordable (storable() cleans success answers the same way).
        message = str(message).replace("\x00", "\ufffd")
        super().__init__(message)
        self.message = message
        if error_class is not None:
            self.error_class = error_class
        self.retry_after = retry_after
        self.detail = detail or {}

    def __reduce__(self):  # DBOS pickles step errors; keep every field across a replay
        return (
            _rebuild,
            (type(self), self.message, self.error_class, self.retry_after, self.detail),
        )

    @property
    def retryable(self) -> bool:
        return classify(self) in RETRYABLE_CLASSES


def _rebuild(cls, message, error_class, retry_after, detail):
    return cls(message, error_class=error_class, retry_after=retry_after, detail=detail)


class ConnectorError(ClassifiedError):
    """A connector call failed; ``error_class`` says how (spec 32)."""

    error_class = "transient_connector_error"


class CatalogError(Exception):
    """The operation catalog is inconsistent (spec 31.2); ``problems`` lists every issue."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s):\n{lines}")


class ConfigError(Exception):
    """A connector or worker configuration is refused (e.g. it carries a raw secret)."""


class Cancelled(BaseException):
    """Raised inside an operation when its command's cancellation was requested (spec 30.1).

    A ``BaseException`` like DBOS's own cancellation, so that ``except Exception`` in
    operation code cannot swallow it."""

    def __init__(self, command_id: str, mode: str):
        super().__init__(f"command {command_id} is being cancelled ({mode})")
        self.command_id = command_id
        self.mode = mode


def classify(exc: BaseException) -> str:
    """The spec 32 error class of an exception raised inside a step (internal_error for a
    :class:`ClassifiedError` whose class the taxonomy does not know)."""
    if isinstance(exc, ClassifiedError):
        declared = exc.error_class  # whatever operation code set: a list is no class
        known = isinstance(declared, str) and (
            declared in RETRYABLE_CLASSES or declared in NON_RETRYABLE_CLASSES
        )
        return declared if known else "internal_error"
    if getattr(exc, "sqlstate", None) == "CN016":
        # a retired or unbound contract (spec 111.4): retrying cannot bring it back
        return "contract_unavailable"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timeout"
    if isinstance(exc, (ConnectionError, OSError)):
        return "transient_connector_error"
    from .retry import is_transient_database_error  # local: retry imports this module

    if is_transient_database_error(exc):
        return "temporary_database_error"
    if isinstance(exc, (ValueError, TypeError, KeyError)):
        return "validation_error"
    return "internal_error"


class Superseded(BaseException):
    """Raised inside an operation when its run no longer owns the command (a later run
    was handed off, or the command stopped running: blocked, finished by someone else).
    The workflow stops without touching the command."""

    def __init__(self, command_id: str, why: str):
        super().__init__(f"run of command {command_id} stops: {why}")
        self.command_id = command_id
        self.why = why


class DatabaseUnavailable(BaseException):
    """Concord's own bookkeeping or DBOS's checkpointing could not reach the database, even
    after the bounded retries of :func:`~concord.runtime.retry.with_database_retry`. Not a
    failure of the command: the run stops without recording anything (a ``BaseException``,
    so that neither operation code nor DBOS records it), its DBOS workflow stays
    ``PENDING``, and the worker's recovery loop resumes it once the database is back."""

    def __init__(self, why: str):
        super().__init__(f"the database is unavailable: {why}")
        self.why = why


def type_name(exc: BaseException) -> str:
    cls = type(exc)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def picklable(exc: BaseException) -> BaseException:
    """``exc`` when DBOS can checkpoint it (pickle it and read it back); otherwise a
    :class:`ClassifiedError` with its message, its error class (:func:`classify` of the
    original) and its type name in ``detail["type"]``. An exception holding a lock or a
    lambda, or whose ``__init__`` needs other arguments than its ``args``, would otherwise
    reach DBOS's checkpoint and be replaced by pickle's own error."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        pass
    try:
        message = str(exc)
    except Exception:
        message = ""
    return ClassifiedError(
        message or type(exc).__name__,
        error_class=classify(exc),
        retry_after=getattr(exc, "retry_after", None)
        if isinstance(getattr(exc, "retry_after", None), int | float)
        else None,
        detail={"type": type_name(exc)},
    )


class NotServedHere(BaseException):
    """A run begun elsewhere (recovered or adopted here) whose command type this worker has
    no operation for. Not a failure of the command: the run stops without recording
    anything (a ``BaseException``, as :class:`DatabaseUnavailable`), its DBOS workflow stays
    ``PENDING``, and the recovery loop puts it back on its queue for a worker that has the
    operation."""

    def __init__(self, command_id: str, command_type: str, executor_id: str):
        super().__init__(
            f"worker {executor_id} has no operation for command type {command_type}: the run "
            f"of command {command_id} goes back to its queue"
        )
        self.command_id = command_id
        self.command_type = command_type
