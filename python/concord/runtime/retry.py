"""Retry by error class (spec 32-33). A :class:`RetryPolicy` per operation is the retry
contract; :func:`compile_policy` is the one place it becomes DBOS step options. Nothing
else in Concord carries retry numbers.

It is also the one place that says which database errors are transient
(:func:`is_transient_database_error`): those are retried inside Concord's own bookkeeping
(:func:`with_database_retry`, bounded by :data:`DATABASE_RETRY_SECONDS`), never recorded
as a command's or an effect's outcome.

The rule outranks the configuration: a class the taxonomy marks non-retryable is never
retried, whatever ``retryable`` says, and an error that says when to come back
(``retry_after``, e.g. HTTP 429 Retry-After) is not retried sooner than that.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .error_classes import NON_RETRYABLE_CLASSES, RETRYABLE_CLASSES, classify

# SQLSTATEs after which the same statement can succeed on a new attempt: connection
# exceptions (class 08), the server shutting down or restarting (57P01 admin_shutdown,
# 57P02 crash_shutdown, 57P03 cannot_connect_now), too many connections (53300), a
# transaction rolled back by a serialization failure or a deadlock (40001, 40P01), and a
# statement the server gave up on: cancelled (57014 query_canceled: pg_cancel_backend, a
# statement_timeout) or refused a lock it waited for (55P03 lock_not_available: a
# lock_timeout while another session held the row). Concord's bookkeeping steps are
# idempotent, so trying one again is safe; raising one of these instead would end the
# DBOS workflow ERROR with its command left running.
TRANSIENT_SQLSTATES = frozenset(
    {"57P01", "57P02", "57P03", "53300", "40001", "40P01", "57014", "55P03"}
)
# How long Concord's own bookkeeping waits for the database to come back before it gives
# up (the run then stops without an outcome and the worker's recovery resumes it), and the
# delays between attempts (the last one repeats).
DATABASE_RETRY_SECONDS = 60.0
DATABASE_BACKOFF = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)

# Retry-After beyond this is not slept through inside a step: the step fails
# (rate_limited) and the command can be retried later.
MAX_RETRY_AFTER_SECONDS = 300.0


@dataclass(frozen=True)
class RetryPolicy:
    """Spec 33. ``backoff_seconds`` is the delay before each retry: the first retry waits
    ``backoff_seconds[0]``, the second ``backoff_seconds[1]``, ..., and every later one the
    last value (spec 33's ``[30, 120, 600]`` is taken as it is)."""

    retryable: frozenset[str] = field(default_factory=lambda: RETRYABLE_CLASSES)
    max_attempts: int = 3
    backoff_seconds: tuple[float, ...] = (1.0, 2.0, 4.0)
    requires_idempotency_key: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "retryable", frozenset(self.retryable))
        object.__setattr__(self, "backoff_seconds", tuple(float(b) for b in self.backoff_seconds))
        problems = self.problems()
        if problems:
            raise ValueError("invalid RetryPolicy: " + "; ".join(problems))

    def problems(self) -> list[str]:
        out = []
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            out.append("max_attempts must be an integer >= 1")
        if not self.backoff_seconds or any(
            not math.isfinite(b) or b <= 0 for b in self.backoff_seconds
        ):
            out.append("backoff_seconds needs at least one positive, finite delay")
        unknown = self.retryable - RETRYABLE_CLASSES - NON_RETRYABLE_CLASSES
        if unknown:
            out.append(f"unknown error classes in retryable: {sorted(unknown)}")
        return out

    @property
    def effective_retryable(self) -> frozenset[str]:
        """The classes actually retried: the declared ones the taxonomy allows."""
        return self.retryable & RETRYABLE_CLASSES

    def delay(self, attempt: int) -> float:
        """Seconds before retry number ``attempt`` (1-based)."""
        return self.backoff_seconds[min(attempt, len(self.backoff_seconds)) - 1]

    def to_json(self) -> dict[str, Any]:
        return {
            "retryable": sorted(self.retryable),
            "max_attempts": self.max_attempts,
            "backoff_seconds": list(self.backoff_seconds),
            "requires_idempotency_key": self.requires_idempotency_key,
        }


DEFAULT_POLICY = RetryPolicy()
NO_RETRY = RetryPolicy(retryable=frozenset(), max_attempts=1, backoff_seconds=(1.0,))


def _seconds(value: Any) -> float | None:
    """``value`` as a number of seconds to wait, or None when it is none (text, a bool, NaN,
    a negative number: what operation code put in an error's ``retry_after`` must not turn
    the retry decision itself into the command's error)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    seconds = float(value)
    return seconds if seconds >= 0 and not math.isnan(seconds) else None


def compile_policy(
    policy: RetryPolicy,
    *,
    name: str | None = None,
    on_attempt: Callable[[int, BaseException, str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """DBOS step options for ``policy`` (the only sanctioned way to get them).

    DBOS waits ``interval_seconds`` (the schedule's shortest delay, rate 1) between
    attempts; ``should_retry`` classifies each exception, retries only an effective
    retryable class, and first sleeps whatever the schedule (or a longer ``retry_after``,
    e.g. HTTP 429 Retry-After) asks beyond DBOS's wait. ``on_attempt(attempt, exc,
    error_class)`` sees every failed attempt.
    """
    attempts = {"n": 0}
    base = min(policy.backoff_seconds)

    def should_retry(exc: BaseException) -> bool:
        attempts["n"] += 1
        error_class = classify(exc)
        if on_attempt is not None:
            on_attempt(attempts["n"], exc, error_class)
        if error_class not in policy.effective_retryable:
            return False
        wait = policy.delay(attempts["n"])
        retry_after = _seconds(getattr(exc, "retry_after", None))
        if retry_after is not None:
            if retry_after > MAX_RETRY_AFTER_SECONDS:
                return False
            wait = max(wait, float(retry_after))
        if attempts["n"] < policy.max_attempts and wait > base:
            sleep(wait - base)
        return True

    options: dict[str, Any] = {
        "retries_allowed": policy.max_attempts > 1 and bool(policy.effective_retryable),
        "max_attempts": policy.max_attempts,
        "interval_seconds": base,
        "backoff_rate": 1.0,
        "should_retry": should_retry,
    }
    if name is not None:
        options["name"] = name
    return options


def is_transient_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a database error that a later attempt of the same statement can
    get past: a lost or refused connection (psycopg's ``OperationalError``, SQLSTATE class
    08), a server shutting down or starting (57P01-57P03), too many connections (53300), a
    serialization failure or deadlock (40001, 40P01), a cancelled statement (57014) or a
    lock not granted in time (55P03). SQLAlchemy's wrappers (DBOS's
    checkpoints) and psycopg_pool's checkout timeout count by what they wrap."""
    import psycopg  # local: only error paths need it
    from psycopg_pool import PoolTimeout

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, PoolTimeout):
            return True
        sqlstate = getattr(exc, "sqlstate", None)
        if isinstance(exc, psycopg.Error):
            if sqlstate and (sqlstate.startswith("08") or sqlstate in TRANSIENT_SQLSTATES):
                return True
            # no SQLSTATE: libpq lost the connection or could not open one
            return isinstance(exc, psycopg.OperationalError) and (
                not sqlstate or sqlstate.startswith("08")
            )
        exc = getattr(exc, "orig", None) or exc.__cause__  # SQLAlchemy's DBAPIError.orig
    return False


def with_database_retry(
    fn: Callable[[], Any],
    *,
    seconds: float = DATABASE_RETRY_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """``fn()``, attempted again after a transient database error
    (:func:`is_transient_database_error`) with the :data:`DATABASE_BACKOFF` delays for up to
    ``seconds``; the last error is raised after that, any other error at once. ``fn`` must
    be safe to repeat: a statement whose commit was cut off may have committed (every
    runtime SQL function is idempotent for that reason)."""
    deadline = time.monotonic() + seconds
    attempt = 0
    while True:
        try:
            return fn()
        except Exception as exc:
            if not is_transient_database_error(exc):
                raise
            wait = DATABASE_BACKOFF[min(attempt, len(DATABASE_BACKOFF) - 1)]
            if time.monotonic() + wait > deadline:
                raise
            attempt += 1
            sleep(wait)
