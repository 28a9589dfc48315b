"""The operation the console's browser tests run (``--module concord_console_ops``): a
booking that answers with what it was asked."""

from __future__ import annotations

from concord.runtime import operation


@operation("console.book")
def book(ctx, payload):
    return {"booked": payload}
