"""An operation only some test workers load (``--module concord_test_nobody``): the type
``rt.nobody`` has no operation on the workers that load only ``concord_test_ops``."""

from __future__ import annotations

import time

from concord.runtime import operation


@operation("rt.nobody")
def nobody(ctx, payload):
    """Served only here; sleeps ``sleep`` seconds first (a run to kill midway)."""
    time.sleep(float(payload.get("sleep", 0)))
    return {"served": True}
