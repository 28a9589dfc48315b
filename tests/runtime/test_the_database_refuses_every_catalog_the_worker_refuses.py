"""The database refuses every operation catalog the worker's validator refuses (spec
31.2): each bad catalog ``Catalog.validate`` lists problems for, registered raw with
``concord.register_operations(catalog.to_json())``, is refused with CN005
``operation_catalog_is_valid`` listing its problems, so a worker whose validation was
skipped or patched cannot record it; a clean catalog is recorded, its compensations
with their manifests. The constants both sides use agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from concord.runtime.catalog import (
    DBOS_CAPABILITIES,
    DEFAULT_MAX_DEPTH,
    Catalog,
    ExternalCall,
    RuntimeCapability,
)
from support.databases import temporary_database


def _fn(label: str):
    def fn(ctx: Any, payload: Any) -> dict:
        return {"label": label}

    fn.__qualname__ = f"fn_{label}"
    return fn


def _book(cat: Catalog, requires_compensation: bool = True) -> None:
    cat.operation(
        "hotel.book",
        produces=[ExternalCall("hotel_booking.book")],
        requires_compensation=requires_compensation,
    )(_fn("book"))


def _cancel(cat: Catalog, **kw: Any) -> None:
    kw.setdefault(
        "produces", [ExternalCall("hotel_booking.cancel", inverse_of="hotel_booking.book")]
    )
    kw.setdefault("name", "cancel_hotel")
    cat.compensation(of=kw.pop("of", "hotel.book"), **kw)(_fn(kw["name"]))


def missing_compensation(cat: Catalog) -> None:
    _book(cat)


def compensation_requiring_one(cat: Catalog) -> None:
    _book(cat)
    _cancel(cat, requires_compensation=True)


def chain_too_deep(cat: Catalog) -> None:
    _book(cat)
    _cancel(cat, counter_effects=False, produces=["h.c1"], requires_compensation=True)
    _cancel(
        cat,
        of="cancel_hotel",
        counter_effects=False,
        produces=["h.c2"],
        requires_compensation=True,
        name="c2",
    )
    _cancel(cat, of="c2", counter_effects=False, produces=["h.c3"], name="c3")


def ring_of_compensations(cat: Catalog) -> None:
    _cancel(cat, of="comp_b", counter_effects=False, produces=(), name="comp_a")
    _cancel(cat, of="comp_a", counter_effects=False, produces=(), name="comp_b")


def compensation_of_itself(cat: Catalog) -> None:
    _cancel(cat, of="self_comp", counter_effects=False, produces=(), name="self_comp")


def cycle_through_effect_types(cat: Catalog) -> None:
    cat.operation("doc.create", produces=["docs.create"], requires_compensation=True)(_fn("c"))
    _cancel(
        cat,
        of="doc.create",
        produces=[ExternalCall("docs.delete", inverse_of="docs.create")],
        requires_compensation=True,
        name="delete_doc",
    )
    _cancel(
        cat,
        of="delete_doc",
        produces=[ExternalCall("docs.create", inverse_of="docs.delete")],
        name="recreate_doc",
    )


def counter_effect_without_inverse(cat: Catalog) -> None:
    _book(cat)
    _cancel(cat, produces=["hotel_booking.cancel"])


def counter_effect_of_another_effect(cat: Catalog) -> None:
    _book(cat)
    _cancel(cat, produces=[ExternalCall("car_rental.cancel", inverse_of="car_rental.book")])


def operation_needing_native_saga(cat: Catalog) -> None:
    cat.operation("saga.op", requires=[RuntimeCapability.SAGA_COMPENSATION_NATIVE])(_fn("s"))


def compensation_needing_native_saga(cat: Catalog) -> None:
    _book(cat)
    _cancel(cat, requires=[RuntimeCapability.SAGA_COMPENSATION_NATIVE])


def two_compensations_of_one_target(cat: Catalog) -> None:
    _book(cat)
    _cancel(cat)
    _cancel(cat, name="cancel_again")


def compensation_of_an_unknown_target(cat: Catalog) -> None:
    _cancel(cat, of="nothing.here", counter_effects=False, produces=())


BAD: list[Callable[[Catalog], None]] = [
    missing_compensation,
    compensation_requiring_one,
    chain_too_deep,
    ring_of_compensations,
    compensation_of_itself,
    cycle_through_effect_types,
    counter_effect_without_inverse,
    counter_effect_of_another_effect,
    operation_needing_native_saga,
    compensation_needing_native_saga,
    two_compensations_of_one_target,
    compensation_of_an_unknown_target,
]


@pytest.fixture(scope="module")
def db(server_dsn: str) -> Iterator[psycopg.Connection]:
    from concord.migrate import migrate

    with temporary_database(server_dsn, "concord_catalog_parity") as dsn:
        migrate(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            for t in ("hotel.book", "doc.create", "saga.op"):
                conn.execute(
                    "SELECT concord.register_command_type(%s)",
                    (Jsonb({"command_type": t, "name": t}),),
                )
            yield conn


def _register(db: psycopg.Connection, cat: Catalog) -> psycopg.Error | None:
    try:
        db.execute(
            "SELECT concord.register_operations(%s, 'parity', 'v1')", (Jsonb(cat.to_json()),)
        )
    except psycopg.Error as exc:
        return exc
    return None


@pytest.mark.parametrize("build", BAD, ids=[b.__name__ for b in BAD])
def test_a_catalog_the_validator_refuses_is_refused_by_the_database(
    db: psycopg.Connection, build: Callable[[Catalog], None]
) -> None:
    cat = Catalog()
    build(cat)
    assert cat.validate() != [], "the fixture must be a catalog the validator refuses"
    error = _register(db, cat)
    assert error is not None, f"register_operations recorded {build.__name__}"
    assert (error.sqlstate, error.diag.constraint_name) == (
        "CN005",
        "operation_catalog_is_valid",
    ), error
    assert error.diag.message_detail, "the refusal lists the problems"


def test_a_clean_catalog_is_recorded_with_its_compensations(db: psycopg.Connection) -> None:
    cat = Catalog()
    _book(cat)
    _cancel(cat)
    assert cat.validate() == []
    assert _register(db, cat) is None
    row = db.execute(
        "SELECT compensates, produces, counter_effects FROM concord.runtime_compensations "
        "WHERE compensation_name = 'cancel_hotel'"
    ).fetchone()
    assert row == (
        "hotel.book",
        [{"effect_type": "hotel_booking.cancel", "inverse_of": "hotel_booking.book"}],
        True,
    )


def test_both_sides_use_the_same_constants(db: psycopg.Connection) -> None:
    capabilities = db.execute("SELECT concord._runtime_capabilities()").fetchone()[0]
    assert sorted(capabilities) == sorted(str(c) for c in DBOS_CAPABILITIES)
    assert db.execute("SELECT concord._max_compensation_depth()").fetchone()[0] == DEFAULT_MAX_DEPTH
