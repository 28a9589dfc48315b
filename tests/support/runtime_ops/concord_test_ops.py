"""Operations the runtime tests' workers load (``--module concord_test_ops``). The vendor
URL comes from CONCORD_TEST_VENDOR_URL."""

from __future__ import annotations

import os
import time

from concord.runtime import ExternalCall, RetryPolicy, compensation, operation, register_connector
from concord.runtime.connectors import HttpConnector

register_connector(
    HttpConnector("vendor", {"base_url": os.environ["CONCORD_TEST_VENDOR_URL"],
                             "timeout_seconds": 5})
)

FAST = RetryPolicy(max_attempts=4, backoff_seconds=(0.05, 0.1, 0.2))


@operation("rt.echo")
def echo(ctx, payload):
    return {"echo": payload}


@operation("rt.http", produces=["connector.vendor.request"], retry=FAST)
def http_effects(ctx, payload):
    ids = []
    for i in range(int(payload.get("effects", 1))):
        out = ctx.call("vendor", "request", {"method": "POST", "path": f"/effect/{i}",
                                               "json": {"i": i, "tag": payload.get("tag")}})
        ids.append(out["json"]["id"])
    return {"ids": ids}


@operation("rt.flaky", produces=["connector.vendor.request"], retry=FAST)
def flaky(ctx, payload):
    out = ctx.call("vendor", "request", {"method": "POST", "path": "/flaky"})
    return {"id": out["json"]["id"]}


@operation("rt.invalid", produces=["connector.vendor.request"],
           retry=RetryPolicy(max_attempts=10, backoff_seconds=(0.01, 0.02)))
def invalid(ctx, payload):
    ctx.call("vendor", "request", {"method": "POST", "path": "/invalid"})
    return {}


@operation("rt.slow")
def slow(ctx, payload):
    for _ in range(int(payload.get("steps", 20))):
        ctx.step(time.sleep, float(payload.get("seconds", 0.2)), name="sleep")
    return {"steps": payload.get("steps", 20)}


@operation("rt.gated", produces=["connector.vendor.request"], retry=FAST)
def gated(ctx, payload):
    out = ctx.call("vendor", "request", {"method": "POST", "path": "/publish"})
    return {"id": out["json"]["id"]}


def _book(ctx, payload, path="/book"):
    out = ctx.effect("hotel_booking.book", connector="vendor", capability="request",
                     input={"method": "POST", "path": path, "json": {"room": payload.get("room")}})
    booking = out["json"]["id"]
    # then wait (in steps) for a confirmation that never comes: a cancel arrives meanwhile
    for _ in range(int(payload.get("wait_steps", 50))):
        ctx.step(time.sleep, 0.1, name="wait_for_confirmation")
    return {"booking_id": booking}


@operation("hotel.book", produces=[ExternalCall("hotel_booking.book")],
           requires_compensation=True, retry=FAST)
def book_hotel(ctx, payload):
    return _book(ctx, payload)


@compensation(of=book_hotel, produces=[ExternalCall("hotel_booking.cancel",
                                                    inverse_of="hotel_booking.book")],
              retry=FAST)
def cancel_hotel(ctx, effect):
    booking = effect["result"]["json"]["id"]
    ctx.effect("hotel_booking.cancel", connector="vendor", capability="request",
               input={"method": "POST", "path": "/cancel", "json": {"booking_id": booking}})


@operation("hotel.book_drift", produces=[ExternalCall("hotel_booking.book")],
           requires_compensation=True, retry=FAST)
def book_hotel_drift(ctx, payload):
    return _book(ctx, payload)


@compensation(of=book_hotel_drift, produces=[ExternalCall("hotel_booking.cancel",
                                                          inverse_of="hotel_booking.book")],
              retry=FAST)
def cancel_hotel_drift(ctx, effect):
    booking = effect["result"]["json"]["id"]
    ctx.effect("hotel_booking.cancel", connector="vendor", capability="request",
               input={"method": "POST", "path": "/cancel", "json": {"booking_id": booking}})
    # not in the manifest: the drift detector must notice
    ctx.effect("notification.apology", connector="vendor", capability="request",
               input={"method": "POST", "path": "/apology", "json": {"booking_id": booking}})


@operation("hotel.book_stuck", produces=[ExternalCall("hotel_booking.book")],
           requires_compensation=True, retry=FAST)
def book_hotel_stuck(ctx, payload):
    _book(ctx, payload, path="/book")
    return {}


@compensation(of=book_hotel_stuck, produces=[ExternalCall("hotel_booking.cancel",
                                                          inverse_of="hotel_booking.book")],
              retry=FAST)
def cancel_hotel_stuck(ctx, effect):
    ctx.effect("hotel_booking.cancel", connector="vendor", capability="request",
               input={"method": "POST", "path": "/cancel_fails", "json": {}})


@operation("hotel.book_notify",
           produces=[ExternalCall("hotel_booking.book"), "notification.booked"],
           requires_compensation=True, retry=FAST)
def book_and_notify(ctx, payload):
    """Two effects, one compensable: only the booking is countered on cancel."""
    ctx.effect("notification.booked", connector="vendor", capability="request",
               input={"method": "POST", "path": "/notify", "json": {}})
    return _book(ctx, payload)


@compensation(of=book_and_notify, produces=[ExternalCall("hotel_booking.cancel",
                                                         inverse_of="hotel_booking.book")],
              retry=FAST)
def cancel_booked_and_notified(ctx, effect):
    booking = effect["result"]["json"]["id"]
    ctx.effect("hotel_booking.cancel", connector="vendor", capability="request",
               input={"method": "POST", "path": "/cancel", "json": {"booking_id": booking}})
