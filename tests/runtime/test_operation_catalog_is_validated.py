"""The operation catalog's validator (spec 31.2, 41): an operation that requires
compensation has one, compensation chains stay within their depth and never cycle (by name
or through effect types), a counter-effect names the effect it inverts, an operation or a
compensation that needs native saga support is refused on DBOS, queues are known, one
operation per command type and one compensation per target, and every problem is listed at
once. ``queue_for`` maps effect types to queues, and ``to_json`` gives the rows the worker
registers.

Each test builds fresh :class:`Catalog` instances (never the process-wide one).
"""

from __future__ import annotations

from typing import Any

import pytest

from concord.runtime.catalog import (
    DBOS_CAPABILITIES,
    KNOWN_QUEUES,
    Catalog,
    ExternalCall,
    RuntimeCapability,
    queue_for,
)
from concord.runtime.error_classes import CatalogError
from concord.runtime.retry import DEFAULT_POLICY, RetryPolicy

SAGA = RuntimeCapability.SAGA_COMPENSATION_NATIVE


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
            "requires": [],
        },
        {
            "command_type": "z.last",
            "queue": "concord_default",
            "function_name": f"{__name__}.fn_last",
            "produces": [],
            "requires_compensation": False,
            "compensation": None,
            "retry_policy": DEFAULT_POLICY.to_json(),
            "requires": [],
        },
        {
            "name": "cancel_hotel",
            "of": "hotel.book",
            "function_name": f"{__name__}.fn_cancel",
            "produces": [
                {"effect_type": "connector.hotel.cancel", "inverse_of": "connector.hotel.book"}
            ],
            "counter_effects": True,
            "requires_compensation": False,
            "retry_policy": DEFAULT_POLICY.to_json(),
            "requires": [],
        },
    ]


def test_fresh_catalogs_are_independent() -> None:
    a, b = Catalog(), Catalog()
    a.operation("only.in.a", requires_compensation=True)(_fn("a"))
    assert b.operations == {} and b.validate() == []
    assert a.validate() != []
    a.clear()
    assert a.validate() == []
