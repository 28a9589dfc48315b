"""Sync commands run (spec 29, issue 13 §2): a real ``concord worker`` subprocess runs
them from its queue like async ones, and the caller waits with a budget, from the Python
client (``Client.call_command``, woken by LISTEN/NOTIFY) and from SQL (``CALL
concord.call_command``). A caller is answered with the result, or at once when the
command is denied or waits for a person, or ``timed_out`` while the command keeps
running to its end; a retried call with the same key waits on the same command; an
agent's sync tool answers with the tool command's output, or ``pending`` with the
command's id. Nothing of Postgres or DBOS is mocked.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.types.json import Jsonb

from concord.client import Client
from concord.migrate import migrate
from support.databases import temporary_database
from support.workers import OPS_DIR, WorkerProcess, wait_for

OPS = '''
import time

from concord.agent_contracts import ScriptedAgentRuntime
from concord.runtime import operation
from concord.runtime.agent_workflow import register_agent_runtime


@operation("sync.echo")
def echo(ctx, payload):
    return {"echo": payload}


@operation("sync.slow")
def slow(ctx, payload):
    for _ in range(int(payload.get("steps", 10))):
        ctx.step(time.sleep, float(payload.get("seconds", 0.2)), name="sleep")
    return {"slept": payload.get("steps", 10)}


def report(obs):
    keys = ("decision", "status", "output", "command_id", "timed_out", "message")
    return {"action_type": "finish", "status": "succeeded",
            "result": {k: obs.get(k) for k in keys}}


register_agent_runtime("sync_scripted", ScriptedAgentRuntime({
    "sync_caller": [{"action_type": "tool_call", "tool_name": "sync_echo_tool",
                     "payload": {"q": "hi"}, "reason": "a quick lookup"}, report],
    "sync_waiter": [{"action_type": "tool_call", "tool_name": "sync_slow_tool",
                     "payload": {"steps": 15, "seconds": 0.2}, "reason": "a slow lookup"}, report],
}))
'''


@pytest.fixture(scope="module")
def dsn(server_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    ops_dir = tmp_path_factory.mktemp("sync_ops")
    (ops_dir / "concord_test_sync_ops.py").write_text(OPS)
    with temporary_database(server_dsn, "concord_sync") as db:
        migrate(db)
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute("SET client_min_messages = warning")
            conn.execute("""SELECT concord.register_approval_type(
                '{"name": "sy_at", "approver": {"principals": ["ann"]}}')""")
            conn.execute("""SELECT concord.register_policy('{"name": "sy_gate",
                "predicate": "$.payload.gate == true", "decision": "require_approval",
                "approval_type": "sy_at"}')""")
            conn.execute("""SELECT concord.register_policy('{"name": "sy_deny",
                "predicate": "$.payload.deny == true", "decision": "deny", "reasons": ["no"]}')""")
            for spec in (
                {"command_type": "sync.echo", "sync_allowed": True,
                 "policy_checks": ["sy_gate", "sy_deny"]},
                {"command_type": "sync.slow", "sync_allowed": True},
                {"command_type": "sync.parent", "sync_allowed": True},
            ):
                conn.execute("SELECT concord.register_command_type(%s)",
                             (Jsonb({"name": spec["command_type"], **spec}),))
            for tool in (
                {"name": "sync_echo_tool", "command_type": "sync.echo", "execution_mode": "sync"},
                {"name": "sync_slow_tool", "command_type": "sync.slow", "execution_mode": "sync"},
            ):
                conn.execute("SELECT concord.register_tool(%s)", (Jsonb(tool),))
        worker = WorkerProcess(
            db,
            executor_id=f"sync-{uuid.uuid4().hex[:8]}",
            modules=("concord_test_sync_ops",),
            extra_env={"PYTHONPATH": os.pathsep.join(
                [str(ops_dir), str(OPS_DIR), os.environ.get("PYTHONPATH", "")])},
        )
        with worker:
            yield db


@pytest.fixture()
def client(dsn: str) -> Iterator[Client]:
    with Client(dsn) as c:
        yield c


def _runs(dsn: str, command_id: uuid.UUID | str) -> int:
    """How many times the command went into running (its audit trail)."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT count(*) FROM concord.domain_events WHERE command_id = %s "
            "AND event_type = 'command_status_changed' AND to_status = 'running'",
            (str(command_id),),
        ).fetchone()[0]


def test_a_sync_call_answers_with_the_result_within_its_budget(
    client: Client, dsn: str
) -> None:
    started = time.monotonic()
    answer = client.call_command("sync.echo", {"n": 1}, "alice", timeout=30)
    took = time.monotonic() - started
    assert (answer.status, answer.finished, answer.timed_out, answer.created) == (
        "succeeded", True, False, True)
    assert answer.result == {"echo": {"n": 1}}
    print(f"client.call_command: {took * 1000:.0f} ms from submission to result")
    with psycopg.connect(dsn, autocommit=True) as conn:
        started = time.monotonic()
        outcome = conn.execute(
            "CALL concord.call_command('sync.echo', '{\"n\": 2}', 30, requested_by => 'alice')"
        ).fetchone()[0]
        print(f"CALL concord.call_command: {(time.monotonic() - started) * 1000:.0f} ms")
    assert (outcome["status"], outcome["finished"], outcome["timed_out"]) == (
        "succeeded", True, False)
    assert outcome["result"] == {"echo": {"n": 2}}
    assert _runs(dsn, answer.command_id) == 1


def test_a_call_past_its_budget_answers_timed_out_and_the_command_finishes(
    client: Client, dsn: str
) -> None:
    answer = client.call_command("sync.slow", {"steps": 10, "seconds": 0.2}, "alice",
                                 timeout=0.3)
    assert answer.timed_out and not answer.finished
    assert answer.status in {"queued", "running"}
    assert answer.waited_seconds < 5
    done = client.await_command(answer.command_id, timeout=60)
    assert (done.status, done.result, done.timed_out) == ("succeeded", {"slept": 10}, False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        late = conn.execute(
            "CALL concord.call_command('sync.slow', '{\"steps\": 10, \"seconds\": 0.2}', 0.2, "
            "requested_by => 'alice')"
        ).fetchone()[0]
        assert late["timed_out"] and late["status"] in {"queued", "running"}
        polled = conn.execute("SELECT concord.await_command(%s, 60)",
                              (late["command_id"],)).fetchone()[0]
    assert polled["status"] == "succeeded"
    assert _runs(dsn, answer.command_id) == 1 and _runs(dsn, late["command_id"]) == 1


def test_a_denied_or_gated_sync_call_answers_at_once(client: Client, dsn: str) -> None:
    denied = client.call_command("sync.echo", {"deny": True}, "alice", timeout=30)
    assert (denied.status, denied.error_class, denied.finished) == ("failed", "policy_denied", True)
    assert denied.errors[0]["kind"] == "policy_denied" and denied.waited_seconds < 5
    gated = client.call_command("sync.echo", {"gate": True}, "alice", timeout=30)
    assert (gated.status, gated.answered, gated.finished, gated.timed_out) == (
        "waiting_for_approval", True, False, False)
    assert gated.approval_id is not None and gated.waited_seconds < 5
    with psycopg.connect(dsn, autocommit=True) as conn:
        outcome = conn.execute(
            "CALL concord.call_command('sync.echo', '{\"gate\": true, \"n\": 3}', 30, "
            "requested_by => 'alice')"
        ).fetchone()[0]
    assert outcome["status"] == "waiting_for_approval" and outcome["approval_id"]
    assert outcome["waited_seconds"] < 5


def test_a_retried_call_with_its_key_waits_on_the_same_command(
    client: Client, dsn: str
) -> None:
    key = f"sync-{uuid.uuid4().hex}"
    payload = {"steps": 8, "seconds": 0.2}
    first = client.call_command("sync.slow", payload, "alice", timeout=0.2, idempotency_key=key)
    assert first.timed_out and first.created
    again = client.call_command("sync.slow", payload, "alice", timeout=60, idempotency_key=key)
    assert again.command_id == first.command_id and again.created is False
    assert (again.status, again.result) == ("succeeded", {"slept": 8})
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM concord.commands WHERE idempotency_key = %s",
                            (key,)).fetchone()[0] == 1
    assert _runs(dsn, first.command_id) == 1


def _agent_result(dsn: str, agent: str, constraints: dict | None = None) -> dict:
    with psycopg.connect(dsn, autocommit=True) as conn:
        parent = conn.execute(
            "SELECT command_id FROM concord.submit_command('sync.parent', %s, 'alice')",
            (Jsonb({"n": uuid.uuid4().hex}),),
        ).fetchone()[0]
        spec = {
            "name": f"swarm_{uuid.uuid4().hex[:10]}",
            "objective": "look something up",
            "join_strategy": "all_success",
            "runtime": "sync_scripted",
            "limits": {"max_agents": 2, "max_depth": 1, "max_total_steps": 20},
            "coordinator": {"agent_name": agent, "agent_role": "coordinator",
                            "allowed_tools": ["sync_echo_tool", "sync_slow_tool"],
                            "memory_scope": {}, "max_steps": 10,
                            "constraints": constraints or {}},
        }
        swarm = conn.execute(
            "SELECT concord.start_swarm(%s, %s)", (parent, Jsonb(spec))
        ).fetchone()[0]

        def finished() -> dict | None:
            row = conn.execute(
                "SELECT a.status, a.result FROM concord.agent_runs AS a "
                "INNER JOIN concord.swarm_runs AS s ON s.coordinator_agent_run_id = a.agent_run_id "
                "WHERE s.swarm_run_id = %s", (swarm,)).fetchone()
            return row if row and row[0] in {"succeeded", "failed", "cancelled"} else None

        status, result = wait_for(finished, timeout=90, interval=0.1,
                                  message=f"agent {agent} to finish")
    assert status == "succeeded", json.dumps(result)
    return result


def test_a_sync_agent_tool_answers_with_the_tool_commands_output(dsn: str) -> None:
    result = _agent_result(dsn, "sync_caller")
    assert (result["decision"], result["status"]) == ("allowed", "succeeded")
    assert result["output"] == {"echo": {"q": "hi"}}


def test_a_sync_agent_tool_past_its_budget_answers_pending_with_its_command(
    client: Client, dsn: str
) -> None:
    result = _agent_result(dsn, "sync_waiter", {"timeout_seconds": 0.5})
    assert (result["decision"], result["timed_out"]) == ("pending", True)
    assert result["command_id"] and result["command_id"] in result["message"]
    done = client.await_command(result["command_id"], timeout=60)
    assert (done.status, done.result) == ("succeeded", {"slept": 15})



def test_a_caller_whose_session_is_not_read_committed_is_still_answered(dsn: str) -> None:
    """A session defaulting to repeatable read (or serializable) would keep one snapshot
    for the whole wait and never see the worker finish: ``call_command`` waits in a read
    committed transaction, and ``await_command`` in a transaction that cannot see new
    commits refuses at once (CN011) rather than burning the budget."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET default_transaction_isolation = 'repeatable read'")
        started = time.monotonic()
        outcome = conn.execute(
            "CALL concord.call_command('sync.echo', '{\"n\": \"rr\"}', 15, requested_by => 'alice')"
        ).fetchone()[0]
        assert (outcome["status"], outcome["timed_out"]) == ("succeeded", False), outcome
        assert time.monotonic() - started < 10
        slow = conn.execute(
            "SELECT command_id FROM concord.submit_command('sync.slow', "
            "'{\"steps\": 10, \"seconds\": 0.2}', 'alice')"
        ).fetchone()[0]
        conn.execute("BEGIN")
        conn.execute("SELECT 1")  # the snapshot the wait would keep
        started = time.monotonic()
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("SELECT concord.await_command(%s, 5)", (slow,))
        conn.execute("ROLLBACK")
        assert refused.value.sqlstate == "CN011"
        rule = refused.value.diag.constraint_name
        assert rule == "a_caller_waits_in_a_read_committed_transaction"
        assert time.monotonic() - started < 2
        conn.execute("RESET default_transaction_isolation")
        done = conn.execute("SELECT concord.await_command(%s, 60)", (slow,)).fetchone()[0]
        assert done["status"] == "succeeded"
        # an answered command is answered whatever the isolation
        conn.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
        again = conn.execute("SELECT concord.await_command(%s, 5)", (slow,)).fetchone()[0]
        conn.execute("COMMIT")
        assert (again["status"], again["timed_out"]) == ("succeeded", False)


def test_a_waiting_caller_holds_up_no_other_call_of_its_client(dsn: str) -> None:
    """A wait listens on a connection of its own: callers waiting for slow commands do not
    hold the client's pool, so its other calls (a quick sync call here) are not queued
    behind them, and many concurrent callers each get their own answer."""
    with Client(dsn, max_size=2) as shared:
        answers: dict[int, tuple[float, object]] = {}

        def slow_caller(i: int) -> None:
            answer = shared.call_command("sync.slow", {"steps": 8, "seconds": 0.25, "i": i},
                                         "alice", timeout=60)
            answers[i] = (time.monotonic(), answer)

        callers = [threading.Thread(target=slow_caller, args=(i,)) for i in range(6)]
        for t in callers:
            t.start()
        wait_for(lambda: _count(dsn, "sync.slow", "running") >= 1, timeout=30, interval=0.05,
                 message="a slow command to run")
        quick = shared.call_command("sync.echo", {"n": "quick"}, "alice", timeout=30)
        quick_done = time.monotonic()
        for t in callers:
            t.join(90)
        assert (quick.status, quick.result) == ("succeeded", {"echo": {"n": "quick"}})
        assert len(answers) == 6
        assert all(a.status == "succeeded" and not a.timed_out for _, a in answers.values())
        assert len({a.command_id for _, a in answers.values()}) == 6
        assert quick_done < min(done for done, _ in answers.values()), (
            "the quick call was queued behind the slow callers' waits")


def _count(dsn: str, command_type: str, status: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT count(*) FROM concord.commands WHERE command_type = %s AND status = %s",
            (command_type, status),
        ).fetchone()[0]


def test_a_sync_call_with_bound_parameters_runs_and_one_inside_a_block_is_refused(
    dsn: str,
) -> None:
    """``CALL concord.call_command`` with bound parameters (the extended protocol every
    driver uses) answers like any call; inside a transaction block that already wrote it
    is refused by name (CN011) before it submits, instead of a raw 2D000 at its COMMIT."""
    marker = uuid.uuid4().hex
    with psycopg.connect(dsn, autocommit=True) as conn:
        outcome = conn.execute(
            "CALL concord.call_command(%s, %s, %s, requested_by => %s)",
            ("sync.echo", Jsonb({"n": marker}), 30, "alice"),
        ).fetchone()[0]
    assert (outcome["status"], outcome["result"]) == ("succeeded", {"echo": {"n": marker}})
    with psycopg.connect(dsn) as conn:  # not autocommit: a transaction block
        conn.execute("SELECT concord.submit_command('sync.echo', %s, 'alice')",
                     (Jsonb({"n": f"before {marker}"}),))
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("CALL concord.call_command(%s, %s, %s, requested_by => %s)",
                         ("sync.echo", Jsonb({"n": f"in {marker}"}), 5, "alice"))
        conn.rollback()
    assert refused.value.sqlstate == "CN011"
    assert refused.value.diag.constraint_name == "a_sync_call_is_made_outside_a_transaction_block"
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM concord.commands WHERE payload ->> 'n' LIKE %s",
                            (f"% {marker}",)).fetchone()[0] == 0


@pytest.mark.parametrize("budget", [None, -1, 3601, float("nan"), "30", True])
def test_a_budget_that_is_not_0_to_3600_seconds_is_refused_before_submitting(
    client: Client, dsn: str, budget: object
) -> None:
    before = _count(dsn, "sync.echo", "succeeded") + _count(dsn, "sync.echo", "queued")
    with pytest.raises(ValueError, match="timeout must be a number of seconds from 0 to 3600"):
        client.call_command("sync.echo", {"n": 9}, "alice", timeout=budget)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout must be a number of seconds from 0 to 3600"):
        client.await_command(uuid.uuid4(), timeout=budget)  # type: ignore[arg-type]
    assert _count(dsn, "sync.echo", "succeeded") + _count(dsn, "sync.echo", "queued") == before
