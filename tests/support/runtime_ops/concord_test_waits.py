"""One operation that waits for the test's flag (``--module concord_test_waits``):
``CONCORD_TEST_FLAG_DIR`` is the folder of the flags."""

from __future__ import annotations

import os
import time
from pathlib import Path

from concord.runtime import operation

FLAGS = Path(os.environ.get("CONCORD_TEST_FLAG_DIR", "/nonexistent"))


@operation("rt.waits")
def waits(ctx, payload):
    """Waits (outside any step) for the flag ``payload["flag"]``, then succeeds."""
    flag = FLAGS / payload["flag"]
    deadline = time.monotonic() + 60
    while not flag.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return {"waited": flag.exists()}
