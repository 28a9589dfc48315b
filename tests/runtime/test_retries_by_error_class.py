"""The retry contract (spec 32-33): a ``RetryPolicy`` is valid or refused, waits its
declared schedule (spec 33's own (30, 120, 600) included), the retry decision follows
the error class, and a command retried after a transient failure calls its peer under the
effect's own idempotency key, so a peer that executed the first call (its answer lost)
does not execute it twice.

The tests check the RULE, not only the policy: a class the taxonomy marks
non-retryable is never retried whatever ``retryable`` says, and a Retry-After is not
retried sooner. The last tests run ``compile_policy`` options through a real DBOS
(launched in this process against a throwaway database, destroyed at the end of the
module) and count how often the step function really ran.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from dbos import DBOS
from dbos._core import StepOptions
from dbos._error import DBOSMaxStepRetriesExceeded

from concord.migrate import migrate
from concord.runtime.error_classes import (
    NON_RETRYABLE_CLASSES,
    RETRYABLE_CLASSES,
    ClassifiedError,
    ConnectorError,
    classify,
)
from concord.runtime.retry import (
    MAX_RETRY_AFTER_SECONDS,
    RetryPolicy,
    compile_policy,
)
from concord.runtime.schema import sqlalchemy_url
from support.databases import temporary_database
from support.workers import (
    Vendor,
    WorkerProcess,
    register_test_types,
    stop_workers,
    submit,
    wait_status,
)

ALL_CLASSES = RETRYABLE_CLASSES | NON_RETRYABLE_CLASSES
TERMINAL = {"succeeded", "failed", "cancelled"}


# ---------------------------------------------------------------------------
# RetryPolicy (spec 33)
# ---------------------------------------------------------------------------


def test_retry_policy_takes_the_spec_33_backoff_schedule() -> None:
    policy = RetryPolicy(
        retryable={"transient_connector_error"},
        max_attempts=4,
        backoff_seconds=(30, 120, 600),
    )
    assert [policy.delay(n) for n in (1, 2, 3)] == [30.0, 120.0, 600.0]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"backoff_seconds": ()}, "positive"),
        ({"backoff_seconds": (0,)}, "positive"),
        ({"backoff_seconds": (1, -2)}, "positive"),
        # NaN is not a positive delay: DBOS would crash in time.sleep(nan) on the first retry
        ({"backoff_seconds": (float("nan"),)}, "positive"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": -3}, "max_attempts"),
        ({"retryable": {"transient_connector_error", "flaky_vibes"}}, "flaky_vibes"),
        ({"retryable": {"TIMEOUT"}}, "TIMEOUT"),
    ],
)
def test_invalid_retry_policy_is_refused(kwargs: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match="invalid RetryPolicy") as err:
        RetryPolicy(**kwargs)
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"backoff_seconds": (5,)},
        {"backoff_seconds": (0.1, 0.2, 0.4)},
        {"backoff_seconds": (30, 90, 270)},
        {"backoff_seconds": (2, 2, 2)},
        {"max_attempts": 1, "retryable": set()},
        {"retryable": ALL_CLASSES},
    ],
)
def test_valid_retry_policy_is_accepted(kwargs: dict) -> None:
    policy = RetryPolicy(**kwargs)
    assert policy.problems() == []


@pytest.mark.parametrize(
    "backoff",
    [(1.0,), (0.5, 1.5, 4.5), (0.01, 0.02), (30.0, 120.0, 600.0), (3.0, 3.0), (1, 2, 4, 9)],
)
def test_the_declared_schedule_is_the_wait_before_each_retry(backoff: tuple[float, ...]) -> None:
    """Spec 33: retry n waits backoff[n-1] (the last value after the list ends), whatever
    the list's shape: DBOS waits the shortest delay and should_retry sleeps the rest."""
    policy = RetryPolicy(backoff_seconds=backoff, max_attempts=8)
    waits: list[float] = []
    options = compile_policy(policy, sleep=waits.append)
    assert options["backoff_rate"] == 1.0
    assert options["interval_seconds"] == pytest.approx(min(backoff))
    for n in range(1, 8):
        waits.clear()
        assert options["should_retry"](TimeoutError()) is True
        expected = backoff[min(n, len(backoff)) - 1]
        assert policy.delay(n) == pytest.approx(expected)
        # what DBOS waits plus what should_retry slept is the declared delay
        assert options["interval_seconds"] + sum(waits) == pytest.approx(expected)


# ---------------------------------------------------------------------------
# compile_policy: the rule outranks the configuration (spec 33)
# ---------------------------------------------------------------------------

BRIEF_POLICY = RetryPolicy(
    retryable={"validation_error", "transient_connector_error"},
    max_attempts=10,
    backoff_seconds=(0.01, 0.02),
)


def test_validation_error_listed_as_retryable_is_still_never_retried() -> None:
    should_retry = compile_policy(BRIEF_POLICY)["should_retry"]
    assert should_retry(ClassifiedError("bad", error_class="validation_error")) is False
    assert should_retry(ValueError("bad input")) is False
    assert should_retry(KeyError("missing")) is False
    assert should_retry(ConnectorError("503")) is True
    assert "validation_error" not in BRIEF_POLICY.effective_retryable


@pytest.mark.parametrize("error_class", sorted(NON_RETRYABLE_CLASSES))
def test_no_non_retryable_class_is_ever_retried(error_class: str) -> None:
    policy = RetryPolicy(retryable=ALL_CLASSES, max_attempts=50, backoff_seconds=(0.1,))
    options = compile_policy(policy)
    assert options["retries_allowed"] is True  # the transient classes keep it retrying
    assert options["should_retry"](ClassifiedError("no", error_class=error_class)) is False
    assert options["should_retry"](ConnectorError("no", error_class=error_class)) is False


@pytest.mark.parametrize("error_class", sorted(RETRYABLE_CLASSES))
def test_transient_class_is_retried_only_when_the_policy_lists_it(error_class: str) -> None:
    listed = compile_policy(RetryPolicy(retryable={error_class}))["should_retry"]
    unlisted = compile_policy(RetryPolicy(retryable=RETRYABLE_CLASSES - {error_class}))
    assert listed(ClassifiedError("t", error_class=error_class)) is True
    assert unlisted["should_retry"](ClassifiedError("t", error_class=error_class)) is False


@pytest.mark.parametrize(
    ("exc", "error_class"),
    [
        (TimeoutError("slow"), "timeout"),
        (ConnectionResetError("reset"), "transient_connector_error"),
        (OSError("no route"), "transient_connector_error"),
        (psycopg.OperationalError("server closed the connection"), "temporary_database_error"),
        (psycopg.errors.SerializationFailure("could not serialize"), "temporary_database_error"),
        (ValueError("v"), "validation_error"),
        (TypeError("t"), "validation_error"),
        (RuntimeError("bug"), "internal_error"),
    ],
)
def test_plain_exceptions_are_classified_before_the_decision(
    exc: BaseException, error_class: str
) -> None:
    assert classify(exc) == error_class
    retry_all = compile_policy(RetryPolicy(retryable=ALL_CLASSES))["should_retry"]
    retry_none = compile_policy(RetryPolicy(retryable=frozenset()))["should_retry"]
    assert retry_all(exc) is (error_class in RETRYABLE_CLASSES)
    assert retry_none(exc) is False


@pytest.mark.parametrize(
    ("kwargs", "allowed"),
    [
        ({"retryable": frozenset()}, False),
        ({"retryable": frozenset(), "max_attempts": 10}, False),
        ({"retryable": {"validation_error", "policy_denied"}, "max_attempts": 10}, False),
        ({"retryable": {"timeout"}, "max_attempts": 1}, False),
        ({"retryable": {"timeout"}, "max_attempts": 2}, True),
        ({}, True),
    ],
)
def test_retries_allowed(kwargs: dict, allowed: bool) -> None:
    assert compile_policy(RetryPolicy(**kwargs))["retries_allowed"] is allowed


def test_compiled_options_are_dbos_step_options_consistent_with_the_policy() -> None:
    policy = RetryPolicy(retryable={"timeout"}, max_attempts=7, backoff_seconds=(0.25, 0.75))
    options = compile_policy(policy, name="step.name")
    assert set(options) <= set(StepOptions.__annotations__)
    assert options["name"] == "step.name"
    assert options["max_attempts"] == 7
    assert options["interval_seconds"] == pytest.approx(0.25)
    assert options["backoff_rate"] == pytest.approx(1.0)
    assert callable(options["should_retry"])
    single = compile_policy(RetryPolicy(backoff_seconds=(4.0,)))
    assert single["interval_seconds"] == 4.0 and single["backoff_rate"] == 1.0
    assert "name" not in single


def test_on_attempt_sees_every_failed_attempt() -> None:
    seen: list[tuple[int, str]] = []
    should_retry = compile_policy(
        RetryPolicy(retryable={"timeout"}, max_attempts=5),
        on_attempt=lambda n, exc, cls: seen.append((n, cls)),
    )["should_retry"]
    assert should_retry(TimeoutError()) is True
    assert should_retry(TimeoutError()) is True
    assert should_retry(ValueError()) is False
    assert seen == [(1, "timeout"), (2, "timeout"), (3, "validation_error")]


def test_retry_after_is_slept_off_beyond_the_backoff() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(retryable={"rate_limited"}, max_attempts=5, backoff_seconds=(1.0, 2.0))
    should_retry = compile_policy(policy, sleep=sleeps.append)["should_retry"]

    def limited(after: float) -> ConnectorError:
        return ConnectorError("429", error_class="rate_limited", retry_after=after)

    # DBOS waits 1.0 (the shortest delay); should_retry sleeps the rest of
    # max(retry_after, backoff delay).
    assert should_retry(limited(3.5)) is True  # attempt 1: max(3.5, 1.0) -> sleep 2.5
    assert should_retry(limited(3.5)) is True  # attempt 2: max(3.5, 2.0) -> sleep 2.5
    assert should_retry(limited(1.5)) is True  # attempt 3: max(1.5, 2.0) -> sleep 1.0
    assert should_retry(limited(0.5)) is True  # attempt 4: max(0.5, 2.0) -> sleep 1.0
    assert sleeps == pytest.approx([2.5, 2.5, 1.0, 1.0])
    # attempt 5 is the last one: nothing follows it, so nothing is slept
    assert should_retry(limited(100.0)) is True
    assert sleeps == pytest.approx([2.5, 2.5, 1.0, 1.0])


def test_retry_after_of_a_class_the_policy_does_not_retry_is_not_slept() -> None:
    sleeps: list[float] = []
    should_retry = compile_policy(
        RetryPolicy(retryable={"timeout"}, max_attempts=5), sleep=sleeps.append
    )["should_retry"]
    assert should_retry(ConnectorError("429", error_class="rate_limited", retry_after=9)) is False
    assert (
        should_retry(ClassifiedError("v", error_class="validation_error", retry_after=9)) is False
    )
    assert sleeps == []


def test_retry_after_beyond_the_cap_is_not_slept_and_not_retried() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(retryable={"rate_limited"}, max_attempts=5, backoff_seconds=(1.0,))
    should_retry = compile_policy(policy, sleep=sleeps.append)["should_retry"]
    over = ConnectorError(
        "429", error_class="rate_limited", retry_after=MAX_RETRY_AFTER_SECONDS + 1
    )
    assert should_retry(over) is False
    assert sleeps == []
    # exactly the cap is still slept (minus the backoff DBOS waits anyway)
    should_retry = compile_policy(policy, sleep=sleeps.append)["should_retry"]
    at_cap = ConnectorError("429", error_class="rate_limited", retry_after=MAX_RETRY_AFTER_SECONDS)
    assert should_retry(at_cap) is True
    assert sleeps == pytest.approx([MAX_RETRY_AFTER_SECONDS - 1.0])
    assert all(s <= MAX_RETRY_AFTER_SECONDS for s in sleeps)


def test_each_compiled_policy_counts_its_own_attempts() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(retryable={"rate_limited"}, max_attempts=2, backoff_seconds=(1.0,))
    exc = ConnectorError("429", error_class="rate_limited", retry_after=5.0)
    for _ in range(3):  # a fresh step: attempt 1 again, so the Retry-After is slept again
        assert compile_policy(policy, sleep=sleeps.append)["should_retry"](exc) is True
    assert sleeps == pytest.approx([4.0, 4.0, 4.0])


# ---------------------------------------------------------------------------
# A retried command keeps the effect's idempotency key (spec 33)
# ---------------------------------------------------------------------------


@pytest.fixture
def rt_dsn(server_dsn: str) -> Iterator[str]:
    with temporary_database(server_dsn, "concord_retry_key") as dsn:
        migrate(dsn)
        register_test_types(dsn)
        yield dsn


class LostAnswerVendor(Vendor):
    """On /flaky, while ``lose`` is set: executes the first request of a key, then answers
    503 to every request (the answer is lost, the effect happened)."""

    def __init__(self) -> None:
        self.lose = True
        super().__init__()

    def _handle(self, path: str, key: str | None, body: Any, headers: Any):
        if path == "/flaky" and self.lose:
            with self.lock:
                self.requests.append({"path": path, "key": key, "body": body, "at": time.time(),
                                      "trace": None})
                if key is not None:
                    self.by_key[key] += 1
                    if key not in self.executed:
                        self.executions_by_path[path] += 1
                        self.executed[key] = {"ok": True, "id": uuid.uuid4().hex, "key": key}
            return 503, {"error": "gateway lost the answer"}, {}
        return super()._handle(path, key, body, headers)


def test_a_command_retried_after_a_transient_failure_reuses_the_effects_key(
    rt_dsn: str,
) -> None:
    v = LostAnswerVendor()
    w = WorkerProcess(rt_dsn, executor_id="retry-keeps-key", vendor_url=v.url)
    try:
        w.start()
        with psycopg.connect(rt_dsn, autocommit=True) as conn:
            command_id = submit(conn, "rt.flaky", {})
            assert wait_status(conn, command_id, TERMINAL, timeout=30) == "failed"
            row = conn.execute(
                "SELECT error_class FROM concord.commands WHERE command_id = %s", (command_id,)
            ).fetchone()
            assert row[0] == "transient_connector_error"
            assert v.executions_by_path["/flaky"] == 1  # the peer did it; the answer was lost
            v.lose = False
            conn.execute(
                "SELECT concord.transition_command(%s, 'queued', 'ops', 'retry after outage')",
                (command_id,),
            )
            assert wait_status(conn, command_id, TERMINAL, timeout=30) == "succeeded"
            keys = {r["key"] for r in v.requests if r["path"] == "/flaky"}
            assert keys == {f"{command_id}:1"}, f"the peer saw the effect under {sorted(keys)}"
            assert v.executions_by_path["/flaky"] == 1, "the retried command booked twice"
    finally:
        stop_workers(w)
        v.close()


# ---------------------------------------------------------------------------
# The rule through a real DBOS
# ---------------------------------------------------------------------------

CALLS: dict[str, list[float]] = defaultdict(list)
RATE_LIMITED_POLICY = RetryPolicy(
    retryable={"rate_limited"}, max_attempts=3, backoff_seconds=(0.01,)
)


def _step(scenario: str) -> str:
    CALLS[scenario].append(time.monotonic())
    kind, _, key = scenario.partition(":")
    n = len(CALLS[scenario])
    if kind == "validation":
        raise ClassifiedError("payload is invalid", error_class="validation_error")
    if kind == "value_error":
        raise ValueError("payload is invalid")
    if kind == "transient_twice":
        if n <= 2:
            raise ConnectorError(f"503 #{n}")
        return f"ok after {n}"
    if kind == "always_transient":
        raise ConnectorError(f"503 #{n}")
    if kind == "rate_limited_once":
        if n == 1:
            raise ConnectorError("429", error_class="rate_limited", retry_after=0.4)
        return "ok"
    raise AssertionError(scenario)


@DBOS.workflow(name="concord_test.catalog_retry_wf")
def retry_workflow(scenario: str) -> str:
    policy = RATE_LIMITED_POLICY if scenario.startswith("rate_limited") else BRIEF_POLICY
    return DBOS.run_step(compile_policy(policy, name="retry_step"), _step, scenario)


@pytest.fixture(scope="module")
def dbos_runtime(server_dsn: str) -> Iterator[None]:
    with temporary_database(server_dsn, "concord_retrytest") as dsn:
        DBOS(
            config={
                "name": "retrytest",
                "system_database_url": sqlalchemy_url(dsn),
                "executor_id": "t",
                "application_version": "t",
            }
        )
        try:
            DBOS.launch()
            yield
        finally:
            DBOS.destroy(destroy_registry=False)


def _scenario(kind: str) -> str:
    return f"{kind}:{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("kind", ["validation", "value_error"])
def test_dbos_never_retries_a_non_retryable_class(dbos_runtime: None, kind: str) -> None:
    scenario = _scenario(kind)
    with pytest.raises((ClassifiedError, ValueError)) as err:
        retry_workflow(scenario)
    assert classify(err.value) == "validation_error"
    assert not isinstance(err.value, DBOSMaxStepRetriesExceeded)
    assert len(CALLS[scenario]) == 1  # despite max_attempts=10 and validation_error listed


def test_dbos_retries_a_transient_error_until_it_succeeds(dbos_runtime: None) -> None:
    scenario = _scenario("transient_twice")
    assert retry_workflow(scenario) == "ok after 3"
    assert len(CALLS[scenario]) == 3


def test_dbos_gives_up_after_max_attempts(dbos_runtime: None) -> None:
    scenario = _scenario("always_transient")
    with pytest.raises(DBOSMaxStepRetriesExceeded) as err:
        retry_workflow(scenario)
    calls = CALLS[scenario]
    assert len(calls) == BRIEF_POLICY.max_attempts == 10
    assert err.value.max_retries == 10
    assert len(err.value.errors) == 10
    last = err.value.errors[-1]
    assert isinstance(last, ConnectorError)
    assert classify(last) == "transient_connector_error"
    assert str(last) == "503 #10"
    # DBOS waited the policy's delay(n) before retry n (interval x rate^(n-1))
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    for n, gap in enumerate(gaps, start=1):
        assert gap >= BRIEF_POLICY.delay(n) * 0.95, (n, gap)
        if BRIEF_POLICY.delay(n) >= 0.5:  # not the doubled schedule interval x rate^n
            assert gap < BRIEF_POLICY.delay(n) + 0.3, (n, gap)


def test_dbos_waits_out_retry_after(dbos_runtime: None) -> None:
    scenario = _scenario("rate_limited_once")
    assert retry_workflow(scenario) == "ok"
    calls = CALLS[scenario]
    assert len(calls) == 2
    assert calls[1] - calls[0] >= 0.4 * 0.95  # not the 0.01 s backoff
