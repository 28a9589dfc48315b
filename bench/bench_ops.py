"""The operation the runtime benchmark's ``concord worker`` loads (``--module bench_ops``,
with ``bench/`` on PYTHONPATH): ``bench.echo``, a trivial command that calls no connector,
so its ``run_command`` workflow is two DBOS steps (claim and finish) and nothing else."""

from __future__ import annotations

from concord.runtime import operation

COMMAND_TYPE = "bench.echo"


@operation(COMMAND_TYPE)
def echo(ctx, payload):
    return {"echo": payload}
