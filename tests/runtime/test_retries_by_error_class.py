"""The operation catalog's validator (spec 31.2, 41) and the retry contract (spec 32-33).

The catalog tests build fresh :class:`Catalog` instances (never the process-wide one).
The retry tests check the RULE, not only the policy: a class the taxonomy marks
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

from concord.runtime.catalog import (
    DBOS_CAPABILITIES,
    KNOWN_QUEUES,
    Catalog,
    ExternalCall,
    RuntimeCapability,
    queue_for,
)
from concord.runtime.error_classes import (
    NON_RETRYABLE_CLASSES,
    RETRYABLE_CLASSES,
    CatalogError,
    ClassifiedError,
    ConnectorError,
    classify,
)
from concord.runtime.retry import (
    DEFAULT_POLICY,
    MAX_RETRY_AFTER_SECONDS,
    RetryPolicy,
    compile_policy,
)
from concord.runtime.schema import sqlalchemy_url
from support.databases import temporary_database

SAGA = RuntimeCapability.SAGA_COMPENSATION_NATIVE
ALL_CLASSES = RETRYABLE_CLASSES | NON_RETRYABLE_CLASSES


def _fn(label: str):
    """A distinct function object per call (operations and compensations are functions)."""

    def fn(ctx: Any, payload: Any) -> dict:
        return {"label": label}

    fn.__qualname__ = f"fn_{label}"
    return fn


def _only(problems: list[str], *fragments: str) -> str:
    """The one problem that contains every fragment (fails if there is not exactly one)."""
    found = [p for p in problems if all(f in p for f in fragments)]
    assert len(found) == 1, f"expected one problem with {fragments}, got {found} in {problems}"
    return found[0]


def _hotel(cat: Catalog) -> None:
    """A clean operation + pure-counter compensation (spec 31.1's example)."""
    cat.operation(
        "hotel.book", produces=[ExternalCall("hotel_booking.book")], requires_compensation=True
    )(_fn("book_hotel"))
    cat.compensation(
        of="hotel.book",
        produces=[ExternalCall("hotel_booking.cancel", inverse_of="hotel_booking.book")],
        counter_effects=True,
        name="cancel_hotel",
    )(_fn("cancel_hotel"))


# ---------------------------------------------------------------------------
# Catalog (spec 31.2)
# ---------------------------------------------------------------------------


def test_clean_catalog_validates_to_no_problems() -> None:
    cat = Catalog()
    book = _fn("book")
    cat.operation(
        "hotel.book", produces=[ExternalCall("hotel_booking.book")], requires_compensation=True
    )(book)
    # `of` given as the operation's function, produces given as a plain string elsewhere
    cat.compensation(
        of=book,
        produces=[ExternalCall("hotel_booking.cancel", inverse_of="hotel_booking.book")],
        name="cancel",
    )(_fn("cancel"))
    cat.operation("report.generate")(_fn("report"))
    cat.operation("mail.send", produces=["notification.email"])(_fn("mail"))
    assert cat.validate() == []
    cat.check()  # does not raise
    assert cat.compensation_of("hotel.book").name == "cancel"


def test_operation_requiring_compensation_without_one_is_refused() -> None:
    cat = Catalog()
    cat.operation("ticket.open", produces=["connector.tickets.open"], requires_compensation=True)(
        _fn("open")
    )
    cat.operation("ticket.comment", produces=["connector.tickets.comment"])(_fn("comment"))
    problems = cat.validate()
    assert problems == [_only(problems, "ticket.open", "requires compensation")]
    assert "ticket.comment" not in problems[0]


def test_compensation_requiring_compensation_without_one_is_refused() -> None:
    cat = Catalog()
    _hotel(cat)
    cat.compensations.clear()
    cat.compensation(
        of="hotel.book",
        produces=[ExternalCall("hotel_booking.cancel", inverse_of="hotel_booking.book")],
        requires_compensation=True,
        name="cancel_with_cascade",
    )(_fn("cancel_with_cascade"))
    problems = cat.validate()
    assert problems == [_only(problems, "cancel_with_cascade", "requires compensation")]


def _chain(cat: Catalog, depth: int) -> None:
    """Operation chain.op compensated by c1, c1 by c2, ... c<depth>."""
    cat.operation("chain.op", produces=["chain.effect"], requires_compensation=True)(_fn("op"))
    target = "chain.op"
    for i in range(1, depth + 1):
        cat.compensation(
            of=target,
            produces=(),
            counter_effects=False,
            requires_compensation=i < depth,
            name=f"c{i}",
        )(_fn(f"c{i}"))
        target = f"c{i}"


@pytest.mark.parametrize(
    ("depth", "max_depth", "refused"),
    [(1, None, False), (2, None, False), (3, None, True), (3, 2, True), (3, 3, False),
     (4, 3, True)],
)  # fmt: skip
def test_compensation_chain_depth(depth: int, max_depth: int | None, refused: bool) -> None:
    cat = Catalog()
    _chain(cat, depth)
    kw = {} if max_depth is None else {"max_depth": max_depth}
    problems = cat.validate(**kw)
    if refused:
        msg = _only(problems, "chain.op", f"{depth} deep")
        assert problems == [msg]
        assert f"c{depth}" in msg  # the chain is spelled out down to its last link
        with pytest.raises(CatalogError) as err:
            cat.check(**kw)
        assert err.value.problems == problems
    else:
        assert problems == []


def test_cycle_of_compensations_by_name_is_refused() -> None:
    cat = Catalog()
    cat.compensation(of="comp_b", counter_effects=False, name="comp_a")(_fn("a"))
    cat.compensation(of="comp_a", counter_effects=False, name="comp_b")(_fn("b"))
    problems = cat.validate()
    msg = _only(problems, "cycle")
    assert "comp_a" in msg and "comp_b" in msg
    assert problems == [msg]  # the ring is reported once, not once per member


def test_compensation_of_itself_is_a_cycle() -> None:
    cat = Catalog()
    cat.compensation(of="self_comp", counter_effects=False, name="self_comp")(_fn("s"))
    problems = cat.validate()
    assert problems == [_only(problems, "cycle", "self_comp")]


def test_cycle_through_effect_types_is_refused() -> None:
    # create -> (compensated by) delete -> (compensated by) re-create: the counter-effect
    # of the second compensation is the effect the chain started from.
    cat = Catalog()
    cat.operation("doc.create", produces=["docs.create"], requires_compensation=True)(_fn("create"))
    cat.compensation(
        of="doc.create",
        produces=[ExternalCall("docs.delete", inverse_of="docs.create")],
        requires_compensation=True,
        name="delete_doc",
    )(_fn("delete"))
    cat.compensation(
        of="delete_doc",
        produces=[ExternalCall("docs.create", inverse_of="docs.delete")],
        name="recreate_doc",
    )(_fn("recreate"))
    problems = cat.validate()
    msg = _only(problems, "cycle", "docs.create", "docs.delete")
    assert problems == [msg]


def test_counter_effect_without_inverse_of_is_refused() -> None:
    cat = Catalog()
    cat.operation("hotel.book", produces=["hotel_booking.book"])(_fn("book"))
    cat.compensation(of="hotel.book", produces=["hotel_booking.cancel"], name="cancel_plain")(
        _fn("cancel")
    )
    problems = cat.validate()
    msg = _only(problems, "cancel_plain", "counter_effects=True", "hotel_booking.cancel")
    assert problems == [msg]


def test_counter_effect_naming_an_effect_the_parent_does_not_produce_is_refused() -> None:
    cat = Catalog()
    cat.operation("hotel.book", produces=["hotel_booking.book"])(_fn("book"))
    cat.compensation(
        of="hotel.book",
        produces=[
            ExternalCall("hotel_booking.cancel", inverse_of="hotel_booking.book"),  # fine
            ExternalCall("car_rental.cancel", inverse_of="car_rental.book"),  # not the parent's
        ],
        name="cancel_trip",
    )(_fn("cancel"))
    problems = cat.validate()
    msg = _only(problems, "cancel_trip", "car_rental.cancel")
    assert problems == [msg]
    assert "hotel_booking.cancel is not" not in msg


def test_counter_effects_false_does_not_require_inverses() -> None:
    cat = Catalog()
    cat.operation("notify.send", produces=["notification.email"], requires_compensation=True)(
        _fn("send")
    )
    cat.compensation(
        of="notify.send",
        produces=["notification.correction"],  # new work, not an inverse
        counter_effects=False,
        name="send_correction",
    )(_fn("correct"))
    assert cat.validate() == []
    # the same declaration claiming to be pure-counter is refused
    cat.compensations["send_correction"].counter_effects = True
    problems = cat.validate()
    assert problems == [_only(problems, "send_correction", "notification.correction")]


def test_dbos_capabilities_follow_the_spec_41_matrix() -> None:
    assert DBOS_CAPABILITIES == {
        RuntimeCapability.DURABLE_WORKFLOWS,
        RuntimeCapability.DURABLE_STEPS,
        RuntimeCapability.QUEUES,
        RuntimeCapability.SCHEDULES,
        RuntimeCapability.SUBWORKFLOWS,
        RuntimeCapability.EFFECT_INTERCEPTION,
    }
    assert SAGA not in DBOS_CAPABILITIES
    assert RuntimeCapability.WORKFLOW_VERSIONING not in DBOS_CAPABILITIES


def test_operation_needing_native_saga_is_refused_on_dbos_and_accepted_where_declared() -> None:
    cat = Catalog()
    cat.operation("payment.transfer", produces=["ledger.move"], requires=[SAGA])(_fn("pay"))
    cat.operation("payment.plain", produces=["ledger.read"])(_fn("plain"))
    problems = cat.validate(DBOS_CAPABILITIES)
    msg = _only(problems, "payment.transfer", "saga_compensation_native")
    assert problems == [msg]
    assert cat.validate() == problems  # DBOS is the default runtime
    with pytest.raises(CatalogError):
        cat.check()
    assert cat.validate(DBOS_CAPABILITIES | {SAGA}) == []
    cat.check(DBOS_CAPABILITIES | {SAGA})


def test_compensation_needing_native_saga_is_refused_on_dbos() -> None:
    cat = Catalog()
    _hotel(cat)
    cat.compensations["cancel_hotel"].requires = frozenset({SAGA})
    # declared as a string, through the decorator
    cat.compensation(of="cancel_hotel", counter_effects=False, name="cancel_cascade",
                     requires=["saga_compensation_native"])(_fn("cascade"))  # fmt: skip
    problems = cat.validate()
    _only(problems, "cancel_hotel", "saga_compensation_native")
    _only(problems, "cancel_cascade", "saga_compensation_native")
    assert len(problems) == 2
    assert cat.validate(frozenset(RuntimeCapability)) == []


def test_unknown_queue_is_refused() -> None:
    cat = Catalog()
    cat.operation("report.generate", queue="no_such_queue")(_fn("report"))
    cat.operation("report.other", queue="notifications")(_fn("other"))
    problems = cat.validate()
    assert problems == [_only(problems, "report.generate", "no_such_queue")]
    assert cat.validate(known_queues=[*KNOWN_QUEUES, "no_such_queue"]) == []


def test_two_operations_for_one_command_type_are_refused() -> None:
    cat = Catalog()
    first, second = _fn("first"), _fn("second")
    cat.operation("dup.type")(first)
    cat.operation("dup.type")(first)  # the same function again is not a conflict
    assert cat.validate() == []
    cat.operation("dup.type")(second)
    problems = cat.validate()
    msg = _only(problems, "dup.type")
    assert "fn_first" in msg and "fn_second" in msg
    assert problems == [msg]


def test_two_compensations_for_one_target_and_unknown_targets_are_refused() -> None:
    cat = Catalog()
    _hotel(cat)
    cat.compensation(
        of="hotel.book",
        produces=[ExternalCall("hotel_booking.cancel", inverse_of="hotel_booking.book")],
        name="cancel_again",
    )(_fn("cancel_again"))
    cat.compensation(of="no.such.operation", counter_effects=False, name="orphan")(_fn("o"))
    problems = cat.validate()
    msg = _only(problems, "hotel.book", "2 compensations")
    assert "cancel_hotel" in msg and "cancel_again" in msg
    _only(problems, "orphan", "no.such.operation")
    assert len(problems) == 2


def test_every_problem_is_listed_at_once() -> None:
    cat = Catalog()
    # 1. requires compensation, none registered
    cat.operation("a.needs_comp", requires_compensation=True)(_fn("needs"))
    # 2. unknown queue
    cat.operation("b.queue", queue="mystery_queue")(_fn("queue"))
    # 3. capability the runtime lacks
    cat.operation("c.saga", requires=[SAGA])(_fn("saga"))
    # 4. counter effect that is not an inverse
    cat.operation("d.book", produces=["d.booked"])(_fn("dbook"))
    cat.compensation(of="d.book", produces=["d.unrelated"], name="d_comp")(_fn("dcomp"))
    # 5. chain three deep
    _chain(cat, 3)
    # 6. cycle of compensations
    cat.compensation(of="ring_2", counter_effects=False, name="ring_1")(_fn("r1"))
    cat.compensation(of="ring_1", counter_effects=False, name="ring_2")(_fn("r2"))
    # 7. two operations for one command type
    cat.operation("e.dup")(_fn("dup1"))
    cat.operation("e.dup")(_fn("dup2"))

    with pytest.raises(CatalogError) as err:
        cat.check()
    problems = err.value.problems
    expected = [
        ("a.needs_comp", "requires compensation"),
        ("b.queue", "mystery_queue"),
        ("c.saga", "saga_compensation_native"),
        ("d_comp", "d.unrelated"),
        ("chain.op", "3 deep"),
        ("ring_1", "ring_2", "cycle"),
        ("e.dup", "fn_dup1", "fn_dup2"),
    ]
    for fragments in expected:
        msg = _only(problems, *fragments)
        assert msg in str(err.value)
    assert len(problems) == len(expected), problems
    assert f"{len(expected)} problem(s)" in str(err.value)
    assert cat.validate() == problems  # stable


@pytest.mark.parametrize(
    ("effects", "queue"),
    [
        (["connector.http.post"], "connector_calls"),
        (["connector.tickets.open"], "connector_calls"),
        (["agent.run"], "agent_runs"),
        (["agent.run_child"], "agent_runs"),
        (["agent.spawn"], "swarm_children"),
        (["agent.spawn_swarm"], "swarm_children"),
        (["notification.email"], "notifications"),
        (["db.insert"], "concord_default"),
        (["connector"], "concord_default"),  # the prefix is "connector.", dot included
        (["agent.other"], "concord_default"),
        ([], "concord_default"),
        (["notification.sms", "connector.http.post"], "notifications"),  # first effect wins
        (["hotel_booking.book", "connector.http.post"], "concord_default"),
    ],
)
def test_queue_for(effects: list[str], queue: str) -> None:
    assert queue_for(tuple(ExternalCall(e) for e in effects)) == queue
    cat = Catalog()
    cat.operation("q.op", produces=effects)(_fn("q"))
    assert cat.operations["q.op"].queue == queue
    assert queue in KNOWN_QUEUES


def test_explicit_queue_overrides_the_effect_mapping() -> None:
    cat = Catalog()
    cat.operation("q.op", produces=["connector.x"], queue="scheduled_maintenance")(_fn("q"))
    assert cat.operations["q.op"].queue == "scheduled_maintenance"
    assert cat.validate() == []


def test_to_json_rows() -> None:
    cat = Catalog()
    policy = RetryPolicy(
        retryable={"timeout"}, max_attempts=5, backoff_seconds=(0.5, 1.0),
        requires_idempotency_key=True,
    )  # fmt: skip
    cat.operation("z.last")(_fn("last"))
    book = _fn("book")
    cat.operation(
        "hotel.book",
        produces=["connector.hotel.book", ExternalCall("hotel.booked")],
        requires_compensation=True,
        retry=policy,
    )(book)
    cat.compensation(
        of=book,
        produces=[ExternalCall("connector.hotel.cancel", inverse_of="connector.hotel.book")],
        name="cancel_hotel",
    )(_fn("cancel"))
    rows = cat.to_json()
    assert rows == [
        {
            "command_type": "hotel.book",
            "queue": "connector_calls",
            "function_name": f"{__name__}.fn_book",
            "produces": ["connector.hotel.book", "hotel.booked"],
            "requires_compensation": True,
            "compensation": "cancel_hotel",
            "retry_policy": {
                "retryable": ["timeout"],
                "max_attempts": 5,
                "backoff_seconds": [0.5, 1.0],
                "requires_idempotency_key": True,
            },
        },
        {
            "command_type": "z.last",
            "queue": "concord_default",
            "function_name": f"{__name__}.fn_last",
            "produces": [],
            "requires_compensation": False,
            "compensation": None,
            "retry_policy": DEFAULT_POLICY.to_json(),
        },
    ]


def test_fresh_catalogs_are_independent() -> None:
    a, b = Catalog(), Catalog()
    a.operation("only.in.a", requires_compensation=True)(_fn("a"))
    assert b.operations == {} and b.validate() == []
    assert a.validate() != []
    a.clear()
    assert a.validate() == []


# ---------------------------------------------------------------------------
# RetryPolicy (spec 33)
# ---------------------------------------------------------------------------


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
