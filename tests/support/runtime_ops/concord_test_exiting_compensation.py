"""An operation whose compensation raises SystemExit (``--module
concord_test_exiting_compensation``): what argparse does on a bad argument, on the
workflow's thread. The vendor URL comes from CONCORD_TEST_VENDOR_URL; each run of the
compensation adds a line to ``compensation.runs`` in CONCORD_TEST_FLAG_DIR."""

from __future__ import annotations

import os
import time
from pathlib import Path

from concord.runtime import ExternalCall, RetryPolicy, compensation, operation, register_connector
from concord.runtime.connectors import HttpConnector

register_connector(
    HttpConnector("vendor", {"base_url": os.environ["CONCORD_TEST_VENDOR_URL"],
                             "timeout_seconds": 5})
)

FLAGS = Path(os.environ.get("CONCORD_TEST_FLAG_DIR", "/nonexistent"))
FAST = RetryPolicy(max_attempts=2, backoff_seconds=(0.05,))


@operation("rt.exit_comp.book", produces=[ExternalCall("hotel_booking.book")],
           requires_compensation=True, retry=FAST)
def book(ctx, payload):
    ctx.effect("hotel_booking.book", connector="vendor", capability="request",
               input={"method": "POST", "path": "/book", "json": {}})
    for _ in range(300):  # a cancellation arrives meanwhile
        ctx.step(time.sleep, 0.1, name="wait_for_confirmation")
    return {}


@compensation(of=book, produces=[ExternalCall("hotel_booking.cancel",
                                              inverse_of="hotel_booking.book")], retry=FAST)
def cancel_booking(ctx, effect):
    with open(FLAGS / "compensation.runs", "a") as runs:
        runs.write("ran\n")
    raise SystemExit("usage: cancel [-h] --booking ID")
