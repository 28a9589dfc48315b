"""Operations whose outcomes are hostile to the runtime (``--module concord_test_hostile``):
results jsonb cannot take, error texts with NUL bytes, BaseExceptions, exceptions that
cannot be pickled. ``CONCORD_TEST_FLAG_DIR`` is a folder the test drives them with."""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from concord.runtime import RetryPolicy, operation
from concord.runtime.error_classes import ClassifiedError

FLAGS = Path(os.environ.get("CONCORD_TEST_FLAG_DIR", "/nonexistent"))

HOSTILE_TYPES = [
    "rt.hostile.datetime", "rt.hostile.nan", "rt.hostile.set", "rt.hostile.bytes",
    "rt.hostile.nul_result", "rt.hostile.nul_error", "rt.hostile.cancelled_error",
    "rt.hostile.cancelled_in_step", "rt.hostile.cancelled_when_asked",
    "rt.hostile.lock_error", "rt.hostile.init_error", "rt.hostile.unknown_class",
    "rt.hostile.system_exit", "rt.hostile.keyboard_interrupt",
    "rt.hostile.own_database_down", "rt.hostile.own_database_down_in_step",
    "rt.hostile.unhashable_class", "rt.hostile.unhashable_class_in_step",
    "rt.hostile.retry_after_text",
]


@operation("rt.hostile.datetime")
def returns_datetime(ctx, payload):
    return {"at": datetime(2026, 12, 5, tzinfo=UTC)}


@operation("rt.hostile.nan")
def returns_nan(ctx, payload):
    return {"x": math.nan}


@operation("rt.hostile.set")
def returns_set(ctx, payload):
    return {"s": {1, 2}}


@operation("rt.hostile.bytes")
def returns_bytes(ctx, payload):
    return b"\x00\x01"


@operation("rt.hostile.nul_result")
def returns_nul(ctx, payload):
    return {"text": "before\x00after", "key\x00": "v"}


@operation("rt.hostile.nul_error")
def raises_nul(ctx, payload):
    raise ValueError("bad\x00value")


@operation("rt.hostile.cancelled_error")
def raises_cancelled(ctx, payload):
    raise asyncio.CancelledError("the loop went away")


def _cancel_in_step():
    raise asyncio.CancelledError()


@operation("rt.hostile.cancelled_in_step")
def cancelled_in_step(ctx, payload):
    ctx.step(_cancel_in_step, name="cancel_in_step")
    return {}


@operation("rt.hostile.cancelled_when_asked")
def cancelled_when_asked(ctx, payload):
    """Waits (outside any step) for the test's flag, set once a cancellation was asked for."""
    flag = FLAGS / payload["flag"]
    deadline = time.monotonic() + 60
    while not flag.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    raise asyncio.CancelledError()


class LockedError(Exception):
    """Holds a lock: pickle refuses it."""

    def __init__(self, message):
        super().__init__(message)
        self.lock = threading.Lock()


class TwoArgError(Exception):
    """Its __init__ needs two arguments: pickle writes it, but cannot read it back."""

    def __init__(self, code, why):
        super().__init__(f"code {code}: {why}")
        self.code = code


def _raise_locked():
    raise LockedError("the vendor's ledger is locked")


def _raise_two_arg():
    raise TwoArgError(42, "the answer was refused")


@operation("rt.hostile.lock_error")
def lock_error(ctx, payload):
    ctx.step(_raise_locked, name="locked")
    return {}


@operation("rt.hostile.init_error")
def init_error(ctx, payload):
    ctx.step(_raise_two_arg, name="two_arg")
    return {}


@operation("rt.hostile.unknown_class")
def unknown_class(ctx, payload):
    raise ClassifiedError("a class nobody declared", error_class="made_up_class")


@operation("rt.hostile.unhashable_class")
def unhashable_class(ctx, payload):
    raise ClassifiedError("a class that is a list", error_class=["not", "a", "class"])


def _raise_unhashable_class():
    raise ClassifiedError("a class that is a dict", error_class={"not": "a class"})


@operation("rt.hostile.unhashable_class_in_step",
           retry=RetryPolicy(max_attempts=2, backoff_seconds=(0.05,)))
def unhashable_class_in_step(ctx, payload):
    ctx.step(_raise_unhashable_class, name="unhashable_class")
    return {}


def _rate_limited_soon():
    raise ClassifiedError("slow down", error_class="rate_limited", retry_after="soon")


@operation("rt.hostile.retry_after_text",
           retry=RetryPolicy(max_attempts=2, backoff_seconds=(0.05,)))
def retry_after_text(ctx, payload):
    ctx.step(_rate_limited_soon, name="rate_limited_soon")
    return {}


def _ran(name: str) -> None:
    """Count one execution of the operation name (a line in the flag folder)."""
    with open(FLAGS / f"{name}.runs", "a") as runs:
        runs.write("ran\n")


@operation("rt.hostile.system_exit")
def system_exit(ctx, payload):
    """What argparse (or click, or a library calling sys.exit) does on a bad argument: a
    SystemExit raised on the workflow's thread, which no shutdown of the worker raises."""
    _ran("system_exit")
    raise SystemExit("usage: report [-h] --date DATE")


def _interrupt():
    raise KeyboardInterrupt("interrupted by the vendor's SDK")


@operation("rt.hostile.keyboard_interrupt")
def keyboard_interrupt(ctx, payload):
    _ran("keyboard_interrupt")
    ctx.step(_interrupt, name="interrupt")
    return {}


# Nothing listens on port 1: the operation's own database (not Concord's) is down.
NO_DATABASE = "host=127.0.0.1 port=1 dbname=vendor connect_timeout=2"


def _query_own_database():
    with psycopg.connect(NO_DATABASE) as conn:
        return conn.execute("SELECT 1").fetchone()[0]


@operation("rt.hostile.own_database_down")
def own_database_down(ctx, payload):
    """Its own database is unreachable: that is its failure (temporary_database_error, a
    class a retry may get past), not an outage of Concord's database to wait out."""
    _ran("own_database_down")
    return {"n": _query_own_database()}


@operation("rt.hostile.own_database_down_in_step",
           retry=RetryPolicy(max_attempts=2, backoff_seconds=(0.05,)))
def own_database_down_in_step(ctx, payload):
    _ran("own_database_down_in_step")
    return {"n": ctx.step(_query_own_database, name="query_own_database")}
