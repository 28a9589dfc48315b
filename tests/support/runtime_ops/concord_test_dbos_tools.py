"""Operations for the tests of DBOS's own tools on Concord's workflows (``--module
concord_test_dbos_tools``): each step body tells the vendor it ran (``/ping/<tag>``), so
a step body run by a workflow Concord did not authorise is counted."""

from __future__ import annotations

import json
import os
import time
import urllib.request

from concord.runtime import operation

VENDOR = os.environ["CONCORD_TEST_VENDOR_URL"]


def ping(tag: str) -> str:
    request = urllib.request.Request(
        f"{VENDOR}/ping/{tag}", data=json.dumps({}).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        answer.read()
    return tag


def ping_then_fail(tag: str) -> None:
    ping(tag)
    raise ValueError(f"step {tag} refuses its input")


@operation("dt.steps")
def steps(ctx, payload):
    """``n`` pinging steps, each followed by a sleep of ``sleep`` seconds; the step
    ``fail_at`` pings and then fails (validation_error: not retried)."""
    for i in range(int(payload.get("n", 3))):
        tag = f"{ctx.command_id}-{i}"
        if payload.get("fail_at") == i:
            ctx.step(ping_then_fail, tag, name="ping_then_fail")
        ctx.step(ping, tag, name="ping")
        if payload.get("sleep"):
            ctx.step(time.sleep, float(payload["sleep"]), name="sleep")
    return {"pinged": int(payload.get("n", 3))}


@operation("dt.parked", queue="dt_parked")
def parked(ctx, payload):
    """On a queue no test worker listens to: its commands stay queued."""
    ctx.step(ping, f"{ctx.command_id}-parked", name="ping")
    return {}
