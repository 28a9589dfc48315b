"""An agent runtime that raises a BaseException ends its run (issue 13): ``SystemExit``
(a library calling ``sys.exit``), ``KeyboardInterrupt`` or ``asyncio.CancelledError``
raised by the runtime's code is its answer, an error the agent loop records as the run's
failure, once. Before, it escaped the workflow like a shutdown: the run stayed live and
the worker's recovery resumed it every few seconds until DBOS dead-lettered it."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from concord.runtime.agent_workflow import (
    _call_runtime,
    register_agent_runtime,
    unregister_agent_runtime,
)


class Raising:
    def __init__(self, exc: BaseException):
        self.exc = exc

    def start_agent_run(self, *args):
        raise self.exc

    def resume_agent_run(self, *args):
        raise self.exc

    def cancel_agent_run(self, *args):
        raise self.exc


@pytest.mark.parametrize(
    "exc",
    [SystemExit(3), KeyboardInterrupt(), asyncio.CancelledError("stop"), ValueError("bad")],
    ids=lambda e: type(e).__name__,
)
def test_what_a_runtime_raises_is_its_error_answer(exc: BaseException) -> None:
    name = f"raising-{uuid.uuid4().hex[:8]}"
    register_agent_runtime(name, Raising(exc))
    try:
        for method in ("start_agent_run", "resume_agent_run", "cancel_agent_run"):
            answer = _call_runtime(name, method, "run-1", "a goal", {})
            assert answer == {
                "error": f"agent runtime {name} raised {type(exc).__name__}: {exc}"
            }, answer
    finally:
        unregister_agent_runtime(name)
