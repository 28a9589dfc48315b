"""The operations the demo's worker runs (``concord worker --module demo_ops``, with
``PYTHONPATH=demo``): the code behind the command types of demo/02-04.

- ``generate_report`` (spec 37): renders the report (a deterministic step), records it as
  a report artifact of the command (``ctx.artifact``) and tells the
  requester it is ready with an app notification (the built-in ``notification``
  connector).
- ``publish_report`` (spec 38): delivers the report to its destination. The demo has no
  mail server, so the delivery is an app notification addressed to the destination.
- ``book_hotel`` (spec 81.2): books through the ``hotel_booking`` connector (HTTP, the demo
  vendor of ``DEMO_HOTEL_VENDOR_URL``), then waits for the hotel's confirmation. Its
  compensation cancels the booking: cancelled under ``compensate_then_stop``, the
  command's succeeded bookings are cancelled at the vendor before it stops.

Every side effect goes through ``ctx.effect``: planned, run as a DBOS step through a
connector under an idempotency key, completed or failed, all recorded in Postgres.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request

from concord.runtime import (
    ConnectorError,
    ExternalCall,
    RetryPolicy,
    compensation,
    operation,
    register_connector,
)
from concord.runtime.connectors import HttpConnector

VENDOR_URL = os.environ.get("DEMO_HOTEL_VENDOR_URL", "")
if not VENDOR_URL.startswith("http://"):
    raise RuntimeError(
        "demo_ops: set DEMO_HOTEL_VENDOR_URL to the hotel vendor's URL "
        "(python demo/hotel_vendor.py prints it; make demo does all this)"
    )

register_connector(HttpConnector("hotel_booking", {"base_url": VENDOR_URL, "timeout_seconds": 5}))

# Transient vendor failures (5xx, timeouts) are retried quickly; a validation error never.
VENDOR_RETRY = RetryPolicy(max_attempts=4, backoff_seconds=(0.2, 0.4, 0.8))
CONFIRMATION_POLL_SECONDS = 0.5
CONFIRMATION_POLLS = 240  # two minutes: then the booking fails with error class timeout


# ---------------------------------------------------------------------------
# Spec 37: the deterministic report
# ---------------------------------------------------------------------------


def _render_report(report_type: str, date_range: str) -> dict:
    """The report itself: deterministic, so a replay renders the same thing."""
    return {"artifact": f"reports/{report_type}-{date_range}.pdf", "pages": 3}


@operation("generate_report", produces=["notification.report_ready"])
def generate_report(ctx, payload):
    report = ctx.step(
        _render_report, payload["report_type"], payload["date_range"], name="render_report"
    )
    # The report itself is an artifact of the command (spec 24, 37): lineage to it, its
    # project; created once however often the step runs.
    artifact = ctx.artifact(
        "report",
        report["artifact"],
        location=report["artifact"],
        metadata={
            "report_type": payload["report_type"],
            "date_range": payload["date_range"],
            "pages": report["pages"],
        },
        status="final",
    )
    sent = ctx.effect(
        "notification.report_ready",
        connector="notification",
        capability="send_app_notification",
        input={
            "recipient": ctx.command["requested_by"],
            "subject": f"Your {payload['report_type']} report for {payload['date_range']} is ready",
            "body": f"{report['artifact']} ({report['pages']} pages)",
        },
    )
    return {
        **report,
        "artifact_id": artifact["artifact_id"],
        "notification_id": sent["notification_id"],
    }


# ---------------------------------------------------------------------------
# Spec 38: the approval-gated publication
# ---------------------------------------------------------------------------


@operation("publish_report", produces=["notification.report_published"])
def publish_report(ctx, payload):
    sent = ctx.effect(
        "notification.report_published",
        connector="notification",
        capability="send_app_notification",
        input={
            "recipient": payload["destination"],
            "subject": f"Report from {ctx.command['requested_by']}",
            "body": f"Attached: {payload['report']}",
            "metadata": {"report": payload["report"]},
        },
    )
    return {"delivered_to": payload["destination"], "notification_id": sent["notification_id"]}


# ---------------------------------------------------------------------------
# Spec 81.2: the hotel booking, compensated by a cancellation
# ---------------------------------------------------------------------------

BOOKING_FIELDS = (
    "booking_draft_id",
    "hotel_name",
    "check_in_date",
    "check_out_date",
    "guests",
    "total_price",
    "currency",
)


def _booking_status(booking_id: str) -> str:
    """Read the booking's status at the vendor, waiting a moment first: a read, no side
    effect, so a plain step rather than an effect."""
    time.sleep(CONFIRMATION_POLL_SECONDS)
    with urllib.request.urlopen(f"{VENDOR_URL}/bookings/{booking_id}", timeout=5) as answer:
        return json.load(answer)["status"]


@operation(
    "book_hotel",
    produces=[ExternalCall("hotel_booking.book")],
    requires_compensation=True,
    retry=VENDOR_RETRY,
    queue="connector_calls",
)
def book_hotel(ctx, payload):
    booked = ctx.effect(
        "hotel_booking.book",
        connector="hotel_booking",
        capability="request",
        input={
            "method": "POST",
            "path": "/bookings",
            "json": {f: payload[f] for f in BOOKING_FIELDS},
        },
    )["json"]
    booking_id, status = booked["booking_id"], booked["status"]
    # Some hotels confirm later. Each wait is a step whose prelude checks for a
    # cancellation request: a cancel arriving now stops the wait and compensates. (The
    # polls are counted, not timed: a workflow replays deterministically.)
    for _ in range(CONFIRMATION_POLLS):
        if status != "pending_confirmation":
            break
        status = ctx.step(_booking_status, booking_id, name="hotel_booking.await_confirmation")
    if status == "pending_confirmation":
        raise ConnectorError(
            f"{payload['hotel_name']} did not confirm {booking_id} in time",
            error_class="timeout",
        )
    if status != "confirmed":
        raise ConnectorError(f"booking {booking_id} is {status}", error_class="validation_error")
    return {"booking_id": booking_id, "status": status, "hotel_name": payload["hotel_name"]}


@compensation(
    of=book_hotel,
    produces=[ExternalCall("hotel_booking.cancel", inverse_of="hotel_booking.book")],
    retry=VENDOR_RETRY,
)
def cancel_booking(ctx, effect):
    booking_id = effect["result"]["json"]["booking_id"]
    ctx.effect(
        "hotel_booking.cancel",
        connector="hotel_booking",
        capability="request",
        input={"method": "POST", "path": f"/bookings/{booking_id}/cancel"},
    )
