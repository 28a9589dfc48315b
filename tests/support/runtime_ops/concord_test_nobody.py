"""An operation only some test workers load (``--module concord_test_nobody``): the type
``rt.nobody`` has no operation on the workers that load only ``concord_test_ops``."""

from __future__ import annotations

from concord.runtime import operation


@operation("rt.nobody")
def nobody(ctx, payload):
    return {"served": True}
