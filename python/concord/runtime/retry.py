"""Retry by error class (spec 32-33). A :class:`RetryPolicy` per operation is the retry
contract; :func:`compile_policy` is the one place it becomes DBOS step options. Nothing
else in Concord carries retry numbers.

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
        retry_after = getattr(exc, "retry_after", None)
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
