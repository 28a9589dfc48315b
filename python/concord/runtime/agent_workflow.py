"""The DBOS workflow that drives one agent run: ``concord.run_agent(agent_run_id)`` (spec 28,
59-68), and the registry of agent runtimes (spec 68.1) a worker carries.

The kernel enqueues the workflow on queue ``agent_runs`` (workflow id
``agent:<agent_run_id>``) in the transaction that creates the run, when the run's swarm
names a ``runtime``. The workflow is a loop of DBOS steps:

1. ``begin_agent_run`` (created -> running); a run already terminal ends the workflow.
   Its answer carries the run's secret (``car_...``), issued once: every later SQL call
   is a transaction that first calls ``concord.authenticate`` with it, so the workflow acts
   as ``agent:<agent_run_id>`` and nothing else (the run id alone opens nothing).
2. Ask the runtime for the first move (``start_agent_run``, ``context["turn"] = 0``).
3. Before each move, read the run's status: a cancelled run calls ``cancel_agent_run`` and
   stops.
4. Execute the move through the SQL gateway: a tool call (``submit_agent_action``; a
   queued command, or one awaiting approval or input, is awaited durably until it is
   final, at most ``constraints.timeout_seconds`` (600 s by default)), a spawn (the same gateway,
   tool ``spawn_subagent``; a spawn awaiting approval or input is awaited the same way, and
   observed as the command ends: ``allowed`` with the child the worker created, or its
   refusal), a recorded step, a message, a wait for the children, a join, or the finish
   (``finish_agent_run``).
5. Hand the outcome to the runtime (``resume_agent_run``) as the observation of the next
   turn, and go to 3. Every observation repeats the run's identity and its setup
   (``goal``, ``context_scope``, ``constraints``), so a runtime that keeps no state of its
   own can read them at any move.

Every SQL call and every runtime call is a DBOS step, so a worker that crashes resumes
the loop where it was and replays the recorded answers (the begin step's recorded answer
gives the secret back: DBOS keeps step outputs in its system database, so whoever may
read ``dbos.operation_outputs`` may read a live run's secret; it never reaches the agent
runtime nor the workflow's answer). No step output holds a memory's content (forgetting
must reach everything): a retrieval's recorded answer names each memory by id and digest
and the runtime step reads the content again before handing it over, and a
``write_memory`` move is submitted inside the runtime step that made it, recorded with
its digest. A begin run again after a crash between its commit and its checkpoint answers
no secret (the kernel issues one per run): the workflow then acts as the worker's login,
which the gateway refuses for a run that has a secret, so the run ends refused and an
operator cancels it (``cancel_agent_run``). A run begun before secrets existed has none,
and its worker acts for it as before. A tool call's idempotency key is derived from the
turn (``turn:<n>``, which the gateway scopes to the run), so a step repeated after a
crash cannot create a second command. A limit the gateway reports (CN010), a runtime that
raises, or a move the workflow does not know ends the run ``failed``. DBOS's own
exceptions (``DBOSException``), and anything raised while this process's DBOS is not
launched or is being destroyed (a worker's SIGTERM drain), are not the agent's failure:
they are raised again, so the workflow is recovered where it was.
A copy of the workflow (``dbos workflow fork``, another id than the run's
``dbos_workflow_id``) stops after the begin step without a move: from the start the kernel
refuses it the begin; from a later step it would replay the original's secret.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

from dbos import DBOS
from dbos import error as dbos_error

from ..agent_contracts import AGENT_RUN_TERMINAL, RECORDED_STEP_TYPES, AgentRuntime
from ..errors import ConcordError
from .dbos_internals import dbos_is_down as _dbos_is_down
from .error_classes import DatabaseUnavailable
from .retry import RetryPolicy
from .workflows import _run_step, state

RUN_AGENT = "concord.run_agent"
AGENT_QUEUE = "agent_runs"
# Children run on their own queue, so coordinators waiting for them cannot hold every slot.
CHILD_QUEUE = "swarm_children"

# How long a move waits (a command to be final, the children to end) when the run's
# constraints set no timeout_seconds; and the polling schedule of that wait.
DEFAULT_WAIT_SECONDS = 600.0
FIRST_POLL_SECONDS = 0.2
MAX_POLL_SECONDS = 2.0
POLL_GROWTH = 1.5

# Command statuses an agent observes as the end of its tool call.
COMMAND_FINAL = frozenset({"succeeded", "failed", "cancelled", "expired", "compensated"})
# Gateway decisions that leave a command to wait for: the runtime runs a queued command,
# and an ``allowed`` one (a sync type: the worker that has its operation takes it when the
# gateway's transaction commits, spec 29); a person approves or completes the others.
AWAITED_DECISIONS = frozenset({"queued", "allowed", "require_approval", "require_input"})
# The budget of a sync tool's call (execution_mode ``sync``, spec 29): the agent waits at
# most this long (and never past its run's timeout_seconds) for the tool command's output;
# then it observes ``pending`` with the command's id, and the command keeps running.
SYNC_TOOL_SECONDS = 30.0
# A spawn is created at once (``allowed``) or refused, unless a person must decide: its
# command then runs (creating the child) once approved or completed.
AWAITED_SPAWN_DECISIONS = frozenset({"require_approval", "require_input"})
CANCELLED_STATUSES = frozenset({"cancelled", "cancelling"})

# A lost connection, a serialization failure or a deadlock is retried; every function
# called is idempotent on replay (tool calls carry their turn's idempotency key).
DB_RETRY = RetryPolicy(
    retryable=frozenset({"temporary_database_error"}),
    max_attempts=4,
    backoff_seconds=(0.2, 0.5, 1.0),
)


# ---------------------------------------------------------------------------
# The registry of agent runtimes
# ---------------------------------------------------------------------------

_runtimes: dict[str, AgentRuntime] = {}
_lock = threading.Lock()


def register_agent_runtime(name: str, runtime: AgentRuntime) -> None:
    """Make ``runtime`` run the agents of every swarm whose spec says ``runtime: name``.
    Call it from a module the worker loads (``concord worker --module ...``): a worker
    with agent runtimes also polls the queue ``agent_runs``. Registering a name again
    replaces its runtime."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("an agent runtime needs a non-empty name")
    missing = [
        method
        for method in ("start_agent_run", "resume_agent_run", "cancel_agent_run")
        if not callable(getattr(runtime, method, None))
    ]
    if missing:
        raise TypeError(
            f"agent runtime {name}: {type(runtime).__name__} lacks {', '.join(missing)} (spec 68.1)"
        )
    with _lock:
        _runtimes[name] = runtime


def unregister_agent_runtime(name: str) -> None:
    """Forget a registered agent runtime (tests)."""
    with _lock:
        _runtimes.pop(name, None)


def agent_runtime(name: str | None) -> AgentRuntime | None:
    """The runtime registered under ``name``, or None."""
    if name is None:
        return None
    with _lock:
        return _runtimes.get(name)


def agent_runtime_names() -> list[str]:
    """The names of the agent runtimes registered in this process."""
    with _lock:
        return sorted(_runtimes)


# ---------------------------------------------------------------------------
# Steps. SQL answers come back as {"ok": value} or {"error": {...}} for a Concord error
# (CN code): what the loop decides from an error is then part of the recorded history.
# ---------------------------------------------------------------------------


def _sql(query: str, *params: Any, credential: str | None = None) -> dict[str, Any]:
    try:
        return {"ok": state().db.scalar_as(credential, query, *params)}
    except ConcordError as exc:
        return {
            "error": {
                "code": exc.sqlstate,
                "message": exc.message,
                "detail": exc.detail,
                "hint": exc.hint,
            }
        }


def _step(name: str, fn: Callable[..., Any], *args: Any) -> Any:
    return _run_step(name, fn, *args, policy=DB_RETRY)


def _sql_step(name: str, query: str, *params: Any) -> dict[str, Any]:
    return _step(name, _sql, query, *params)


def _poll_command(
    agent_run_id: str, command_id: str, credential: str | None = None
) -> dict[str, Any]:
    """The command's outcome as its agent may read it (``agent_command``) and the run's
    status, read together."""
    command = _sql(
        "SELECT concord.agent_command(%s, %s)", agent_run_id, command_id, credential=credential
    )
    run = _sql("SELECT concord.agent_run_state(%s)", agent_run_id, credential=credential)
    return {
        "command": command.get("ok"),
        "command_error": command.get("error"),
        "run_status": (run.get("ok") or {}).get("status"),
    }


def _call_runtime(runtime_name: str, method: str, *args: Any) -> dict[str, Any]:
    """One call of the runtime: {"move": ...} or {"error": "..."} (a runtime that raises
    ends its run; the error is recorded, not retried)."""
    runtime = agent_runtime(runtime_name)
    if runtime is None:
        return {"error": f"no agent runtime {runtime_name!r} is registered on this worker"}
    try:
        answer = getattr(runtime, method)(*args)
    except DatabaseUnavailable:
        raise  # the runtime's own bookkeeping: the run stops and is resumed
    except BaseException as exc:  # SystemExit, CancelledError...: the runtime's outcome,
        # not a shutdown of this worker (nothing stops a worker by raising on this thread)
        return {"error": f"agent runtime {runtime_name} raised {type(exc).__name__}: {exc}"}
    if not isinstance(answer, dict):
        return {
            "error": f"agent runtime {runtime_name}.{method} returned "
            f"{type(answer).__name__}, not a dict"
        }
    try:  # what DBOS records must survive a round trip through JSON for the SQL calls
        return {"move": json.loads(json.dumps(answer, default=str))}
    except (TypeError, ValueError) as exc:
        return {"error": f"agent runtime {runtime_name}.{method} returned no JSON: {exc}"}


# ---------------------------------------------------------------------------
# Memory content by reference. A memory's content lives in its memories row only, which
# forgetting clears; DBOS keeps every step's output in its system tables for as long as
# it keeps the workflow, out of Concord's reach. So no step output of this workflow holds
# memory content: a retrieval's recorded answer keeps each memory's id and digest, and the
# content is read again inside the runtime step that hands the observation over (step
# inputs are not recorded); a write_memory move is submitted inside the runtime step that
# produced it, and recorded with its content's digest.
# ---------------------------------------------------------------------------


def _digest(content: Any) -> dict[str, Any]:
    text = content if isinstance(content, str) else json.dumps(content)
    return {
        "content_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "content_length": len(text),
    }


def _memories_by_reference(answer: Any) -> Any:
    """A gateway answer with each retrieved memory's content replaced by its digest."""
    if not isinstance(answer, dict) or answer.get("tool_name") != "retrieve_memory":
        return answer
    output = answer.get("output")
    if not isinstance(output, dict) or not isinstance(output.get("memories"), list):
        return answer
    memories = [
        {**{k: v for k, v in m.items() if k != "content"}, **_digest(m["content"])}
        if isinstance(m, dict) and "content" in m
        else m
        for m in output["memories"]
    ]
    return {**answer, "output": {**output, "memories": memories}}


def _submit_action(
    agent_run_id: str, action: dict[str, Any], credential: str | None = None
) -> dict[str, Any]:
    """``submit_agent_action`` as a step records it: memories by reference."""
    answer = _sql(
        "SELECT concord.submit_agent_action(%s, %s)", agent_run_id, action, credential=credential
    )
    if "ok" in answer:
        return {"ok": _memories_by_reference(answer["ok"])}
    return answer


def _recall_memories(
    agent_run_id: str,
    action: dict[str, Any] | None,
    observation: dict[str, Any],
    credential: str | None,
) -> dict[str, Any]:
    """The observation of a retrieval with its memories' content read again: the same
    action under the same key is a replay, which the gateway answers from its step and
    the memories rows (a memory forgotten since comes back marked ``forgotten``)."""
    output = observation.get("output")
    if (
        action is None
        or observation.get("tool_name") != "retrieve_memory"
        or not isinstance(output, dict)
        or not isinstance(output.get("memories"), list)
    ):
        return observation
    again = _sql(
        "SELECT concord.submit_agent_action(%s, %s)", agent_run_id, action, credential=credential
    )
    recalled = ((again.get("ok") or {}).get("output") or {}).get("memories") or []
    by_id = {m.get("memory_id"): m for m in recalled if isinstance(m, dict)}
    memories = []
    for m in output["memories"]:
        if isinstance(m, dict) and "content" not in m:
            found = by_id.get(m.get("memory_id")) or {}
            if "content" in found:
                m = {**m, "content": found["content"]}
            else:
                m = {**m, "forgotten": True}
        memories.append(m)
    return {**observation, "output": {**output, "memories": memories}}


def _tool_action(move: dict[str, Any], key: str) -> dict[str, Any]:
    """The gateway action of a tool_call move (its turn's key unless it names one)."""
    action = {
        k: move[k]
        for k in (
            "tool_name",
            "payload",
            "reason",
            "risk_level",
            "expected_output",
            "idempotency_key",
            "metadata",
        )
        if move.get(k) is not None
    }
    action["action_type"] = "tool_call"
    action.setdefault("payload", {})
    action.setdefault("idempotency_key", key)
    return action


def _runtime_turn(
    runtime_name: str,
    method: str,
    *args: Any,
    agent_run_id: str,
    key: str,
    credential: str | None,
    recall: dict[str, Any] | None = None,
    may_act: bool = True,
) -> dict[str, Any]:
    """One runtime call as a step whose recorded output holds no memory content: the
    observation (the last argument) gets its retrieved memories' content back first, and
    a write_memory move is submitted here, its recorded payload keeping the content's
    digest and its answer under ``submitted``. A step run again after a crash before its
    checkpoint asks the runtime again: the same write under the same key is a replay,
    another one is refused (CN002) and ends the run. A write past the turn limit (the loop
    then fails the run) is submitted nowhere, and recorded with its digest only too."""
    if args and isinstance(args[-1], dict):
        args = (*args[:-1], _recall_memories(agent_run_id, recall, args[-1], credential))
    reply = _call_runtime(runtime_name, method, *args)
    move = reply.get("move")
    if (
        not isinstance(move, dict)
        or move.get("action_type") != "tool_call"
        or move.get("tool_name") != "write_memory"
        or not isinstance(move.get("payload"), dict)
        or "content" not in move["payload"]
    ):
        return reply
    payload = {k: v for k, v in move["payload"].items() if k != "content"}
    payload.update(_digest(move["payload"]["content"]))
    if not may_act:
        return {"move": {**move, "payload": payload}}
    submitted = _submit_action(agent_run_id, _tool_action(move, key), credential)
    return {"move": {**move, "payload": payload, "submitted": submitted}}


def _is_dbos_own(exc: BaseException) -> bool:
    """An exception that belongs to DBOS (a ``DBOSException``, also as the cause or
    context of another) or to its shutdown: never the agent's failure."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        # a step whose retries ran out while DBOS is up is the run's failure
        own = isinstance(current, dbos_error.DBOSException)
        if own and not isinstance(current, dbos_error.DBOSMaxStepRetriesExceeded):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return _dbos_is_down()


# ---------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------


class _Stop(Exception):
    """Ends the loop with the workflow's answer."""

    def __init__(self, answer: dict[str, Any]):
        super().__init__(answer.get("status"))
        self.answer = answer


class AgentLoop:
    """One execution of ``concord.run_agent``: the state of the loop lives in local
    variables, rebuilt identically on replay from the recorded steps."""

    def __init__(self, agent_run_id: str, workflow_id: str):
        self.agent_run_id = agent_run_id
        self.workflow_id = workflow_id
        self.run_doc: dict[str, Any] = {}
        self.runtime_name: str | None = None
        self.turn = 0
        # the run's secret (begin_agent_run's first answer): never in an observation
        self.secret: str | None = None
        # the action of the last retrieve_memory move, whose memories' content the next
        # runtime step reads again (never recorded)
        self._last_retrieval: dict[str, Any] | None = None

    def _sql_step(self, name: str, query: str, *params: Any) -> dict[str, Any]:
        """One SQL call as a DBOS step, authenticated with the run's secret (bound here,
        not passed as a step argument)."""
        return _step(name, functools.partial(_sql, credential=self.secret), query, *params)

    # -- the run's identity, repeated in every observation ---------------------------

    @property
    def identity(self) -> dict[str, Any]:
        """The run's identity, repeated in every observation."""
        doc = self.run_doc
        return {
            "agent_run_id": self.agent_run_id,
            "agent_name": doc.get("agent_name"),
            "agent_role": doc.get("agent_role"),
            "swarm_run_id": doc.get("swarm_run_id"),
            "parent_agent_name": doc.get("parent_agent_name"),
        }

    @property
    def setup(self) -> dict[str, Any]:
        """What the run was given (bound at its creation, immutable), repeated in every
        observation: a runtime that keeps no state sees it at any move, not only the
        first."""
        doc = self.run_doc
        return {
            "goal": doc.get("goal"),
            "context_scope": doc.get("context_scope") or {},
            "constraints": doc.get("constraints") or {},
        }

    def _observation(self, outcome: dict[str, Any]) -> dict[str, Any]:
        """The observation of the turn that just ended: the move's outcome, the run's
        identity and setup, and the number of the move wanted next."""
        return {**outcome, **self.setup, **self.identity, "turn": self.turn}

    @property
    def wait_seconds(self) -> float:
        """How long a move may wait for its command (constraints.timeout_seconds)."""
        constraints = self.run_doc.get("constraints") or {}
        value = constraints.get("timeout_seconds")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
        return DEFAULT_WAIT_SECONDS

    @property
    def turn_limit(self) -> int:
        """A backstop against a runtime that never finishes: moves that are not steps
        (waits, joins) do not count against the database's step budget."""
        return 4 * int(self.run_doc.get("max_steps") or 20) + 20

    # -- entry -----------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Run the agent until it finishes, fails or is cancelled; returns the answer."""
        try:
            return self._run()
        except _Stop as stop:
            return stop.answer

    def _run(self) -> dict[str, Any]:
        begun = _sql_step(  # as the worker: the secret is what it answers
            "concord.agent.begin",
            "SELECT concord.begin_agent_run(%s, %s)",
            self.agent_run_id,
            self.workflow_id,
        )
        if "error" in begun:  # e.g. a run cancelled before it began: read what it is
            self.run_doc = self._read_state()
        else:
            doc = dict(begun["ok"])
            self.secret = doc.pop("secret", None)
            self.run_doc = doc
        bound = self.run_doc.get("dbos_workflow_id")
        if bound is not None and bound != self.workflow_id:
            # a copy of the run's workflow (`dbos workflow fork`): the kernel refused it the
            # begin, and a fork past the begin replays the original's secret; neither acts
            self.secret = None
            return self._answer(
                self.run_doc.get("status"),
                action="stopped",
                why=f"workflow {self.workflow_id} is not the run's workflow {bound}",
            )
        status = self.run_doc.get("status")
        if status in AGENT_RUN_TERMINAL:
            return self._answer(status)
        if status in CANCELLED_STATUSES:
            return self._cancel("the agent run was cancelled before it started")
        self.runtime_name = self.run_doc.get("runtime")
        if agent_runtime(self.runtime_name) is None:
            self._fail(
                f"no agent runtime {self.runtime_name!r} is registered on this worker "
                f"(registered: {', '.join(agent_runtime_names()) or 'none'})"
            )
        try:
            return self._loop()
        except (_Stop, dbos_error.DBOSWorkflowCancelledError):
            raise
        except Exception as exc:  # a defect or an unmapped database error: the run fails
            if _is_dbos_own(exc):
                # DBOS's own error, or the worker shutting down (DBOS destroyed under a
                # SIGTERM drain): the agent did not fail; the workflow is recovered later
                raise
            DBOS.logger.exception("agent run %s failed", self.agent_run_id)
            self._fail(f"the agent workflow failed: {type(exc).__name__}: {exc}")
            raise  # not reached: _fail stops

    def _runtime_step(self, name: str, method: str, *args: Any) -> dict[str, Any]:
        """One runtime call as a DBOS step (see ``_runtime_turn``): the secret, the turn's
        key and the last retrieval are bound here, not recorded."""
        fn = functools.partial(
            _runtime_turn,
            agent_run_id=self.agent_run_id,
            key=self._key(),
            credential=self.secret,
            recall=self._last_retrieval,
            may_act=self.turn < self.turn_limit,
        )
        return _step(name, fn, self.runtime_name, method, *args)

    def _loop(self) -> dict[str, Any]:
        context = {**self.run_doc, **self.identity, "turn": 0}
        reply = self._runtime_step(
            "concord.agent.runtime.start",
            "start_agent_run",
            self.agent_run_id,
            self.run_doc.get("goal") or "",
            context,
        )
        while True:
            if "error" in reply:
                self._fail(reply["error"])
            move = reply["move"]
            self._prelude()
            if self.turn >= self.turn_limit:
                self._fail(f"the agent made {self.turn} moves without finishing")
            outcome = self._execute(move)
            self.turn += 1
            observation = self._observation(outcome)
            reply = self._runtime_step(
                "concord.agent.runtime.resume",
                "resume_agent_run",
                self.agent_run_id,
                observation,
            )

    # -- status, cancellation, the end ---------------------------------------------

    def _read_state(self) -> dict[str, Any]:
        answer = self._sql_step(
            "concord.agent.state", "SELECT concord.agent_run_state(%s)", self.agent_run_id
        )
        if "error" in answer:
            raise _Stop({"agent_run_id": self.agent_run_id, "error": answer["error"]})
        return answer["ok"]

    def _prelude(self) -> None:
        """Before each move: a run cancelled (its swarm, its parent, its command) or ended
        by someone else makes no further move."""
        self._check_status(self._read_state().get("status"))

    def _check_status(self, status: str | None) -> None:
        if status in CANCELLED_STATUSES:
            self._cancel("the agent run was cancelled")
        if status in AGENT_RUN_TERMINAL:
            raise _Stop(self._answer(status))

    def _cancel(self, reason: str) -> dict[str, Any]:
        reply = _step(
            "concord.agent.runtime.cancel",
            _call_runtime,
            self.runtime_name or self.run_doc.get("runtime"),
            "cancel_agent_run",
            self.agent_run_id,
            reason,
        )
        raise _Stop({**self._answer("cancelled"), "runtime": reply})

    def _answer(self, status: str | None, **extra: Any) -> dict[str, Any]:
        return {"agent_run_id": self.agent_run_id, "status": status, "turns": self.turn, **extra}

    def _finish(self, status: str, result: Any = None, error: str | None = None) -> None:
        answer = self._sql_step(
            "concord.agent.finish",
            "SELECT concord.finish_agent_run(%s, %s, %s, %s)",
            self.agent_run_id,
            status,
            result,
            error,
        )
        if "ok" in answer:
            raise _Stop(self._answer(answer["ok"], result=result, error=error))
        # refused: a run cancelled meanwhile ends as cancelled; a success with children
        # still live (CN011) is not one
        now = self._read_state().get("status")
        self._check_status(now)
        if status == "succeeded":
            self._fail(f"the agent could not finish: {answer['error']['message']}")
        raise _Stop(self._answer(now, error=answer["error"]))

    def _fail(self, error: str) -> None:
        self._finish("failed", None, error[:2000])

    def _gateway_error(self, error: dict[str, Any]) -> None:
        """A raised gateway error ends the run: a limit (CN010) or a broken request fails
        it; a run no longer live (CN011) stops as it now is."""
        if error.get("code") == "CN011":
            self._prelude()
        self._fail(f"{error.get('code')}: {error.get('message')}")

    # -- moves -----------------------------------------------------------------------

    def _execute(self, move: dict[str, Any]) -> dict[str, Any]:
        kind = move.get("action_type")
        if kind == "tool_call":
            return self._tool_call(move)
        if kind == "spawn_subagent":
            return self._spawn(move)
        if kind in RECORDED_STEP_TYPES:
            return self._record_step(move)
        if kind == "message":
            return self._message(move)
        if kind == "wait_children":
            return self._wait_children()
        if kind == "join":
            return self._join()
        if kind == "finish":
            status = move.get("status", "succeeded")
            if status not in ("succeeded", "failed"):
                self._fail(f"a finish move's status is succeeded or failed, not {status!r}")
            self._finish(status, move.get("result"), move.get("error"))
        self._fail(f"unknown move {kind!r} at turn {self.turn}")
        raise AssertionError("not reached")

    def _key(self) -> str:
        """The idempotency key of this turn's action: the gateway scopes it to the run
        (a command tool's command gets ``agent:<run>:turn:<n>``, a spawn's
        ``spawn:<run>:turn:<n>``), so a step repeated after a crash finds the first answer."""
        return f"turn:{self.turn}"

    def _submit(self, action: dict[str, Any]) -> dict[str, Any]:
        answer = _step(
            "concord.agent.action",
            functools.partial(_submit_action, credential=self.secret),
            self.agent_run_id,
            action,
        )
        if "error" in answer:
            self._gateway_error(answer["error"])
        return answer["ok"]

    def _tool_call(self, move: dict[str, Any]) -> dict[str, Any]:
        action = _tool_action(move, self._key())
        self._last_retrieval = action if action.get("tool_name") == "retrieve_memory" else None
        if "submitted" in move:  # a memory write, submitted by the runtime step
            answer = move["submitted"]
            if "error" in answer:
                self._gateway_error(answer["error"])
            answer = answer["ok"]
        else:
            answer = self._submit(action)
        observation = {"action_type": "tool_call", "tool_name": move.get("tool_name"), **answer}
        if answer.get("output") is None and answer.get("command_id"):
            sync = answer.get("execution_mode") == "sync" and answer.get("decision") in (
                "allowed",
                "queued",
            )
            observation.update(
                self._await_command(
                    str(answer["command_id"]),
                    wait=answer.get("decision") in AWAITED_DECISIONS,
                    budget=min(self.wait_seconds, SYNC_TOOL_SECONDS) if sync else None,
                )
            )
            if sync and observation.get("status") == "succeeded":
                observation["output"] = observation.get("result")
            elif sync and observation.get("timed_out"):
                observation["decision"] = "pending"
                observation["message"] = (
                    f"command {answer['command_id']} is {observation.get('status')} after "
                    f"{observation['waited_seconds']:g} s: it keeps running; read it with "
                    "agent_command"
                )
                observation.pop("error", None)
        return observation

    def _await_command(
        self, command_id: str, *, wait: bool = True, budget: float | None = None
    ) -> dict[str, Any]:
        """Poll the command until it is final (DBOS.sleep between polls: durable, and
        skipped on replay), at most ``budget`` seconds (``wait_seconds`` by default); the
        run's cancellation ends the wait. Without ``wait``, one look at it."""
        limit = self.wait_seconds if budget is None else budget
        waited, delay = 0.0, FIRST_POLL_SECONDS
        while True:
            polled = _step(
                "concord.agent.poll_command",
                functools.partial(_poll_command, credential=self.secret),
                self.agent_run_id,
                command_id,
            )
            self._check_status(polled.get("run_status"))
            if polled.get("command_error"):
                return {"error": polled["command_error"], "timed_out": False}
            command = {
                k: polled["command"].get(k)
                for k in ("status", "result", "error", "error_class", "approval_id")
            }
            final = polled["command"].get("terminal") or command["status"] in COMMAND_FINAL
            # still validated once the gateway's transaction committed: no worker has its
            # type's operation, nothing would move it (spec 29), so it is observed as it is
            if final or not wait or command["status"] == "validated":
                return {**command, "waited_seconds": round(waited, 3), "timed_out": False}
            if waited >= limit:
                return {
                    **command,
                    "waited_seconds": round(waited, 3),
                    "timed_out": True,
                    "error": f"the command was not final after {limit:g} s",
                }
            nap = min(delay, max(limit - waited, 0.01))
            DBOS.sleep(nap)
            waited += nap
            delay = min(delay * POLL_GROWTH, MAX_POLL_SECONDS)

    def _spawn(self, move: dict[str, Any]) -> dict[str, Any]:
        request = dict(move.get("request") or {})
        request.setdefault("parent_agent_run_id", self.agent_run_id)
        if self.run_doc.get("swarm_run_id") is not None:
            request.setdefault("swarm_run_id", self.run_doc["swarm_run_id"])
        request.setdefault("idempotency_key", self._key())
        action = {
            "action_type": "tool_call",
            "tool_name": "spawn_subagent",
            "payload": request,
            "reason": move.get("reason") or request.get("delegated_goal") or "spawn a subagent",
            "idempotency_key": request["idempotency_key"],
        }
        answer = self._submit(action)
        output = answer.get("output") or {}
        observation = {
            "action_type": "spawn_subagent",
            **answer,
            "child_agent_run_id": answer.get("child_agent_run_id")
            or output.get("child_agent_run_id"),
        }
        if (
            answer.get("decision") in AWAITED_SPAWN_DECISIONS
            and answer.get("command_id")
            and not observation["child_agent_run_id"]
        ):
            # a person decides: wait for the spawn's command as for a tool call's
            observation.update(_spawn_outcome(self._await_command(str(answer["command_id"]))))
        return observation

    def _record_step(self, move: dict[str, Any]) -> dict[str, Any]:
        step = {
            k: move[k]
            for k in (
                "action_type",
                "reason",
                "output",
                "observation",
                "latency_ms",
                "token_usage",
                "cost_units",
            )
            if move.get(k) is not None
        }
        step["idempotency_key"] = self._key()  # a replayed step records nothing new
        answer = self._sql_step(
            "concord.agent.record_step",
            "SELECT concord.record_agent_step(%s, %s)",
            self.agent_run_id,
            step,
        )
        if "error" in answer:
            self._gateway_error(answer["error"])
        return {"action_type": move["action_type"], "decision": "recorded", **answer["ok"]}

    def _message(self, move: dict[str, Any]) -> dict[str, Any]:
        content = move.get("content", "")
        if not isinstance(content, str):
            content = json.dumps(content, sort_keys=True)
        message = {
            "message_role": move.get("message_role") or "agent",
            "message_type": move.get("message_type") or "note",
            "content": content,
            "metadata": move.get("metadata") or {},
            "idempotency_key": self._key(),  # a replayed message records nothing new
        }
        answer = self._sql_step(
            "concord.agent.message",
            "SELECT concord.record_agent_message(%s, %s)",
            self.agent_run_id,
            message,
        )
        if "error" in answer:
            self._gateway_error(answer["error"])
        return {"action_type": "message", "agent_message_id": str(answer["ok"])}

    def _wait_children(self) -> dict[str, Any]:
        waited, delay = 0.0, FIRST_POLL_SECONDS
        while True:
            doc = self._read_state()
            self._check_status(doc.get("status"))
            children = doc.get("children") or []
            done = all(c.get("status") in AGENT_RUN_TERMINAL for c in children)
            if done or waited >= self.wait_seconds:
                observation = {
                    "action_type": "wait_children",
                    "children": children,
                    "artifacts": doc.get("artifacts") or [],
                    "waited_seconds": round(waited, 3),
                    "timed_out": not done,
                }
                if not done:
                    observation["error"] = f"children still live after {self.wait_seconds:g} s"
                return observation
            DBOS.sleep(delay)
            waited += delay
            delay = min(delay * POLL_GROWTH, MAX_POLL_SECONDS)

    def _join(self) -> dict[str, Any]:
        answer = self._sql_step(
            "concord.agent.join",
            "SELECT concord.join_swarm(%s)",
            self.run_doc.get("swarm_run_id"),
        )
        if "error" in answer:
            if answer["error"].get("code") == "CN011":
                self._prelude()
            return {"action_type": "join", "error": answer["error"]}
        return {"action_type": "join", "join": answer["ok"]}


def _spawn_outcome(command: dict[str, Any]) -> dict[str, Any]:
    """A spawn's observation from the outcome of its command (``_await_command``): a
    command that succeeded created the child (its result names it), decision
    ``allowed``; one that failed was refused (``denied``: policy, rejected approval,
    scope or limit), one cancelled or expired is observed as such. A wait that timed out,
    or a command the agent could not read, leaves the gateway's decision as it was."""
    outcome = dict(command)
    status = command.get("status")
    if command.get("timed_out") or status is None:
        return outcome
    if status == "succeeded":
        result = command.get("result") or {}
        outcome.update(
            decision="allowed",
            child_agent_run_id=result.get("child_agent_run_id"),
            invocation_id=result.get("invocation_id"),
        )
    elif status in COMMAND_FINAL:
        outcome["decision"] = "denied" if status == "failed" else status
        if command.get("error"):
            outcome["reasons"] = [str(command["error"])]
    return outcome


@DBOS.workflow(name=RUN_AGENT)
def run_agent(agent_run_id: str) -> dict:
    """Drive one agent run to its end (see the module's docstring)."""
    return AgentLoop(agent_run_id, DBOS.workflow_id).run()
