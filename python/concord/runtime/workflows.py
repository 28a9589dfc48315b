"""The DBOS workflows that execute commands (spec 82, 90-92). They are thin: every decision
is a SQL function call made from a DBOS step, and every SQL function called is
idempotent on replay, so a step that runs again after a crash changes nothing more.

- ``concord.run_command(command_id)``: claim (queued -> running), run the operation,
  record the outcome; on a cancellation request, the cancellation path of spec 30.
- ``concord.finish_cancellation(command_id)``: the cancellation path for a command whose
  workflow was cancelled from DBOS's side (a cancelled workflow can run no more steps).
- ``concord.schedule_tick(tick, context)``: one tick of a schedule (spec 84).

Nothing an operation does leaves its command running: a result jsonb cannot take ends it
``failed`` (validation_error, "result is not JSON: ..."; text is kept with NUL as U+FFFD),
an error is recorded with its message cleaned the same way, and a ``BaseException`` that
is not control flow (``asyncio.CancelledError``, and ``SystemExit``/``KeyboardInterrupt``,
which no shutdown raises on a workflow's thread) ends it ``failed`` (internal_error) or
cancelled when a cancellation was asked for. Control flow is left alone: DBOS's own
exceptions (:data:`CONTROL_FLOW`). A database outage is not the command's either:
Concord's bookkeeping retries it (``RuntimeDB``), and past that bound, or when DBOS's
checkpoint hits it, the run stops with :class:`DatabaseUnavailable` and the worker's
recovery loop resumes it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dbos import DBOS
from dbos import error as dbos_error

from ..errors import NotPermitted, StateConflict
from . import logs
from .catalog import Catalog, Compensation, Operation
from .connectors.base import ConnectorCall, ConnectorRegistry, redact
from .db import RuntimeDB
from .error_classes import (
    Cancelled,
    ClassifiedError,
    ConnectorError,
    DatabaseUnavailable,
    NotServedHere,
    Superseded,
    classify,
    picklable,
    type_name,
)
from .retry import NO_RETRY, RetryPolicy, compile_policy, is_transient_database_error

# Runs this process met without their operation (workflow id -> command type): the
# recovery loop puts one back on its queue only while a live worker serves its type, so
# that DBOS's count of dispatches (it dead-letters a workflow past 100) is not spent
# while nobody could run it.
NOT_SERVED_HERE: dict[str, str] = {}
_not_served_lock = threading.Lock()

RUN_COMMAND = "concord.run_command"
FINISH_CANCELLATION = "concord.finish_cancellation"
SCHEDULE_TICK = "concord.schedule_tick"
RECONCILE = "concord.reconcile"


@dataclass
class RuntimeState:
    """What the workflows need from the worker process that runs them."""

    db: RuntimeDB
    executor_id: str
    catalog: Catalog
    connectors: ConnectorRegistry


_state: RuntimeState | None = None


def install(state: RuntimeState) -> None:
    global _state
    _state = state


def state() -> RuntimeState:
    if _state is None:
        raise RuntimeError("the Concord runtime is not started in this process")
    return _state


# ---------------------------------------------------------------------------
# Steps. Each is a plain function run through DBOS.run_step with options from
# compile_policy: the only place retry numbers come from.
# ---------------------------------------------------------------------------


# The rules by which SQL refuses a workflow that is not the command's run (a DBOS fork, a
# replaced run, a run resumed after its command ended): the workflow stops quietly.
NOT_THE_RUN = frozenset(
    {
        "only_the_current_workflow_acts_for_its_command",
        "a_connector_is_called_only_by_the_run_that_began_its_effect",
        "a_cancellation_follow_up_begins_only_compensations",
    }
)


def _as_the_run(fn):
    """``fn`` as a step body that stops its workflow (:class:`Superseded`, a
    BaseException DBOS neither records nor retries) when SQL says the workflow is not
    the command's run."""

    @functools.wraps(fn)
    def body(*args):
        try:
            return fn(*args)
        except StateConflict as exc:
            if exc.rule not in NOT_THE_RUN:
                raise
            raise Superseded(str(args[0]) if args else "?", exc.message) from None

    return body


def _run_step(name: str, fn, *args, policy: RetryPolicy = NO_RETRY):
    try:
        return DBOS.run_step(
            compile_policy(policy, name=name), _bookkeeping(_as_the_run(fn)), *args
        )
    except Exception as exc:  # the body's own outage is already DatabaseUnavailable: this
        _stop_on_outage(exc)  # one is DBOS's checkpoint of the step
        raise


def _stop_on_outage(exc: BaseException) -> None:
    """Raise :class:`DatabaseUnavailable` when ``exc`` is a transient database error (the
    runtime's bookkeeping past its retries, or DBOS's checkpoint): the run stops without
    recording it as anyone's outcome."""
    if is_transient_database_error(exc):
        raise DatabaseUnavailable(f"{type(exc).__name__}: {exc}") from None


def _bookkeeping(fn):
    """``fn`` as the body of one of the runtime's own steps: a database outage stops the
    run (:func:`_stop_on_outage`) instead of being checkpointed as the step's error, and
    any other error crosses the step boundary picklable (:func:`picklable`)."""

    def body(*args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:
            _stop_on_outage(exc)
            safe = picklable(exc)
            if safe is exc:
                raise
            raise safe from None

    body.__name__ = getattr(fn, "__name__", "step")
    return body


def _operation_step(fn):
    """``fn`` as the body of an operation's step: its error crosses the step boundary
    picklable, with its message and class (DBOS pickles step errors). A transient database
    error of the operation's own (its database is down) is its failure, of class
    temporary_database_error (retried by the step's policy): it is raised as a
    :class:`ClassifiedError`, which nothing takes for an outage of Concord's database."""

    def body(*args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:
            if is_transient_database_error(exc):
                raise _own_database_error(exc) from None
            safe = picklable(exc)
            if safe is exc:
                raise
            raise safe from None

    body.__name__ = getattr(fn, "__name__", "step")
    return body


def _own_database_error(exc: BaseException) -> ClassifiedError:
    """A transient database error raised by operation code, as its failure."""
    try:
        message = str(exc)
    except Exception:
        message = ""
    return ClassifiedError(
        storable_text(message or type_name(exc)),
        error_class="temporary_database_error",
        detail={"type": type_name(exc)},
    )


def _claim(command_id: str, workflow_id: str) -> dict:
    s = state()
    return s.db.scalar(
        "SELECT concord.runtime_claim(%s, %s, %s)", command_id, workflow_id, s.executor_id
    )


def _finish(
    command_id: str,
    workflow_id: str,
    to_status: str,
    result: dict | None = None,
    error: str | None = None,
    error_class: str | None = None,
    reason: str | None = None,
) -> str:
    return state().db.scalar(
        "SELECT concord.runtime_finish(%s, %s, %s, %s, %s, %s, %s)",
        command_id,
        workflow_id,
        to_status,
        result,
        error,
        error_class,
        reason,
    )


def _move(
    step_name: str,
    command_id: str,
    workflow_id: str,
    to_status: str,
    *,
    result: dict | None = None,
    error: str | None = None,
    error_class: str | None = None,
    reason: str | None = None,
) -> str:
    """Record a status move of the command as one step (runtime_finish, idempotent)."""
    return _run_step(
        step_name, _finish, command_id, workflow_id, to_status, result, error, error_class, reason
    )


def _check(command_id: str, workflow_id: str) -> dict:
    return state().db.scalar("SELECT concord.runtime_check(%s, %s)", command_id, workflow_id)


def _audit(command_id: str, workflow_id: str, event_type: str, payload: dict) -> None:
    state().db.scalar(
        "SELECT concord.runtime_audit(%s, %s, %s, %s)", command_id, workflow_id, event_type, payload
    )


def _begin_effect(
    command_id: str,
    workflow_id: str,
    effect_type: str,
    payload: dict,
    key: str,
    compensation: str | None,
    compensates: str | None,
) -> dict:
    return state().db.scalar(
        "SELECT concord.runtime_begin_effect(%s, %s, %s, %s, %s, %s, %s)",
        command_id,
        workflow_id,
        effect_type,
        payload,
        key,
        compensation,
        compensates,
    )


def _create_artifact(command_id: str, workflow_id: str, doc: dict, key: str) -> dict:
    return state().db.scalar(
        "SELECT concord.runtime_create_artifact(%s, %s, %s, %s)", command_id, workflow_id, doc, key
    )


def _fail_effect(effect_id: str, error: str, error_class: str) -> str:
    return state().db.scalar(
        "SELECT concord.fail_effect(%s, %s, %s)", effect_id, error, error_class
    )


def _input_hash(data: Any) -> str:
    """The hash of the input as recorded: redacted first, so that the hash of a row cannot
    be used to test guesses of the credential it hides."""
    return hashlib.sha256(
        json.dumps(redact(data), sort_keys=True, default=str, separators=(",", ":")).encode()
    ).hexdigest()


def storable_text(text: str) -> str:
    """``text`` as PostgreSQL stores it: NUL as U+FFFD, and a lone surrogate (no UTF-8 for
    it) as U+FFFD too. Nothing else changes."""
    text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return text


def storable(value: Any) -> Any:
    """``value`` as PostgreSQL's jsonb takes it: NUL characters replaced (U+FFFD),
    non-finite numbers as null, anything else not JSON as its string. A peer's answer
    that jsonb would refuse must not turn an executed effect into a failed one."""
    if isinstance(value, dict):
        return {storable_text(str(k)): storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(v) for v in value]
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def _execute_effect(
    effect_id: str,
    connector_name: str,
    capability: str,
    call_input: dict,
    key: str,
    command_id: str,
    trace_id: str,
    workflow_id: str,
    side_effect: bool,
) -> dict:
    """Call the connector once (DBOS retries this step by the policy) and complete the
    effect. A step re-run after a crash finds a succeeded effect and returns its result
    without calling again; a call cut off before completion is repeated under the same
    idempotency key, which the peer uses to execute it once."""
    s = state()
    # refused (CN011) unless this workflow began the effect and still runs the command
    current = s.db.scalar("SELECT concord.runtime_call_effect(%s, %s)", effect_id, workflow_id)
    if current["status"] == "succeeded":
        return current["result"]
    if current["status"] == "failed":
        raise ConnectorError(current["error"], error_class=current["error_class"])
    step = DBOS.step_status
    attempt = (step.current_attempt or 0) + 1 if step is not None else 1
    connector = s.connectors.get(connector_name)
    call_input = storable(call_input)
    record: dict[str, Any] = {
        "command_id": command_id,
        "domain_effect_id": effect_id,
        "connector_name": connector_name,
        "capability": capability,
        "side_effect": side_effect,
        "idempotency_key": key,
        "attempt": attempt,
        "input": call_input,
        "input_hash": _input_hash(call_input),
        "workflow_id": workflow_id,
        "executor_id": s.executor_id,
    }
    started = time.perf_counter()
    try:
        if not s.connectors.allows(connector_name, capability):
            raise ConnectorError(
                f"connector {connector_name} is configured without capability {capability}",
                error_class="validation_error",
            )
        if capability not in connector.capabilities():
            raise ConnectorError(
                f"connector {connector_name} has no capability {capability} "
                f"(it has {sorted(connector.capabilities())})",
                error_class="validation_error",
            )
        result = connector.call(
            ConnectorCall(
                connector_name=connector_name,
                capability=capability,
                input=call_input,
                context={"workflow_id": workflow_id},
                command_id=command_id,
                idempotency_key=key,
                trace_id=trace_id,
            )
        )
        if not result.ok:
            raise ConnectorError(
                result.error or f"{connector_name}.{capability} failed",
                error_class=result.error_class or "transient_connector_error",
                retry_after=result.retry_after,
            )
    except BaseException as exc:
        if not isinstance(exc, Exception):
            raise
        error_class = classify(exc)
        record.update(
            error=storable(str(exc))[:2000],
            error_class=error_class,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
        s.db.scalar("SELECT concord.record_connector_invocation(%s)", record)
        if isinstance(exc, ClassifiedError):
            raise
        raise ConnectorError(str(exc), error_class=error_class) from None
    output = storable(
        result.output if isinstance(result.output, dict) else {"value": result.output}
    )
    record.update(
        output_summary=storable(connector.summarize(output)),
        latency_ms=(time.perf_counter() - started) * 1000,
    )
    s.db.scalar("SELECT concord.record_connector_invocation(%s)", record)
    # The effect keeps no credential the peer answered with (a token, say); the
    # operation gets the answer itself (and DBOS checkpoints it for replays).
    s.db.scalar("SELECT concord.complete_effect(%s, %s)", effect_id, redact(output))
    return output


def _unwrap(exc: BaseException) -> BaseException:
    """The error behind DBOS's 'retries exhausted' wrapper."""
    if isinstance(exc, dbos_error.DBOSMaxStepRetriesExceeded) and exc.errors:
        return exc.errors[-1]
    return exc


# ---------------------------------------------------------------------------
# What operation code sees
# ---------------------------------------------------------------------------


@dataclass
class EffectContext:
    """Passed to operations and compensations. Every side effect goes through
    :meth:`effect` (or :meth:`call`): planned, executed as a DBOS step through a
    connector, completed or failed, each step idempotent on replay."""

    command: dict
    workflow_id: str
    retry: RetryPolicy
    compensates: dict | None = None  # the effect a compensation counters
    compensation: Compensation | None = None
    declared_compensation: str | None = None
    compensated_types: frozenset[str] = frozenset()  # effect types that compensation counters
    emitted: list[str] = field(default_factory=list)
    _ordinal: int = 0
    _artifacts: int = 0

    @property
    def command_id(self) -> str:
        return str(self.command["command_id"])

    @property
    def payload(self) -> dict:
        return self.command["payload"]

    @property
    def trace_id(self) -> str:
        return self.command["trace_id"]

    def _key(self) -> str:
        self._ordinal += 1
        if self.compensates is not None:
            return f"{self.command_id}:compensate:{self.compensates['effect_id']}:{self._ordinal}"
        return f"{self.command_id}:{self._ordinal}"

    def effect(
        self,
        effect_type: str,
        *,
        connector: str,
        capability: str,
        input: dict | None = None,
        idempotency_key: str | None = None,
        side_effect: bool = True,
        retry: RetryPolicy | None = None,
    ) -> dict:
        """Perform one effect through ``connector``; returns the connector's output.

        The idempotency key defaults to ``<command>:<n>`` (n counts this
        operation's effects), and travels to the connector. Raises :class:`Cancelled`
        when the command's cancellation was requested before the effect began."""
        call_input = storable(dict(input or {}))
        key = self._key() if idempotency_key is None else idempotency_key
        if idempotency_key is not None:
            self._ordinal += 1
        policy = retry or self.retry
        if policy.requires_idempotency_key and not key:
            raise ConnectorError(
                "this operation requires an idempotency key", error_class="validation_error"
            )
        try:
            begun = self._begin(effect_type, connector, capability, call_input, key)
        except StateConflict as exc:  # the run no longer owns the command, or it stopped
            raise Superseded(self.command_id, exc.message) from None
        except NotPermitted as exc:  # a connector the command's contract does not declare
            raise ConnectorError(
                f"{exc.message} [{exc.rule}]", error_class="permission_denied"
            ) from None
        if begun["action"] == "cancelled":
            raise Cancelled(self.command_id, begun["mode"])
        return self._perform(
            begun, effect_type, connector, capability, call_input, key, policy, side_effect
        )

    def _begin(self, effect_type, connector, capability, call_input, key) -> dict:
        return _run_step(
            f"concord.begin_effect:{effect_type}",
            _begin_effect,
            self.command_id,
            self.workflow_id,
            effect_type,
            {"connector": connector, "capability": capability, "input": call_input},
            key,
            self.declared_compensation if effect_type in self.compensated_types else None,
            self.compensates["effect_id"] if self.compensates else None,
        )

    def _perform(
        self, begun, effect_type, connector, capability, call_input, key, policy, side_effect
    ) -> dict:
        effect_id = str(begun["effect_id"])
        if begun["action"] == "done":
            if begun["status"] == "failed":
                raise ConnectorError(begun["error"], error_class=begun["error_class"])
            self.emitted.append(effect_type)
            return begun["result"]
        try:
            output = DBOS.run_step(
                compile_policy(policy, name=f"concord.effect:{effect_type}"),
                _bookkeeping(_as_the_run(_execute_effect)),
                effect_id,
                connector,
                capability,
                call_input,
                begun.get("connector_key") or begun["idempotency_key"],
                self.command_id,
                self.trace_id,
                self.workflow_id,
                side_effect,
            )
        except Exception as exc:
            # DBOS's checkpoint of a call the peer may have executed: not the effect's failure
            _stop_on_outage(exc)
            message, error_class = _failure(exc)
            _run_step("concord.fail_effect", _fail_effect, effect_id, message, error_class)
            raise ConnectorError(message, error_class=error_class) from None
        self.emitted.append(effect_type)
        return output

    def call(self, connector: str, capability: str, input: dict | None = None, **kw: Any) -> dict:
        """:meth:`effect` with the effect type ``connector.<connector>.<capability>``
        unless ``effect_type=`` names another."""
        effect_type = kw.pop("effect_type", None) or f"connector.{connector}.{capability}"
        return self.effect(
            effect_type, connector=connector, capability=capability, input=input, **kw
        )

    def artifact(
        self,
        artifact_type: str,
        name: str,
        *,
        content: Any = None,
        location: str | None = None,
        metadata: dict | None = None,
        parent_artifact_ids: list[str] | tuple[str, ...] = (),
        status: str = "draft",
        score: float | None = None,
        idempotency_key: str | None = None,
    ) -> dict:
        """Create an artifact of this command (spec 24, 37): a report, an export, a query
        result; ``content`` (JSON, at most 64 kB) or ``location`` (a URI or path). It belongs
        to the command (lineage to it, its project); ``parent_artifact_ids`` name artifacts
        of the same project it derives from. One step after the cancellation prelude,
        idempotent: a step run again, or a later run of the command, gets the artifact it
        created under the key (default ``<command>:artifact:<n>``, n counting this
        operation's artifacts). The command type must declare
        ``artifact_output_possible``. Returns the artifact document."""
        self._artifacts += 1
        key = idempotency_key or f"{self.command_id}:artifact:{self._artifacts}"
        doc: dict[str, Any] = {"artifact_type": artifact_type, "name": name, "status": status}
        if content is not None:
            doc["content"] = storable(content)
        if location is not None:
            doc["location"] = location
        if metadata:
            doc["metadata"] = storable(dict(metadata))
        if parent_artifact_ids:
            doc["parent_artifact_ids"] = [str(p) for p in parent_artifact_ids]
        if score is not None:
            doc["score"] = score
        self.check_cancelled()
        # a NUL in a name, a location or a key is cleaned like a result, not a database
        # error that fails the command
        doc = storable(doc)
        try:
            return _run_step(
                storable_text(f"concord.artifact:{artifact_type}"),
                _create_artifact,
                self.command_id,
                self.workflow_id,
                doc,
                storable_text(key),
            )
        except StateConflict as exc:  # the command stopped running meanwhile
            raise Superseded(self.command_id, exc.message) from None

    def check_cancelled(self) -> None:
        """The prelude of spec 30.1 as a step of its own: raise :class:`Cancelled` when
        the command's cancellation has been requested, and :class:`Superseded` when this
        run no longer owns it or it no longer runs (blocked, finished)."""
        _run_step("concord.prelude", _prelude, self.command_id, self.workflow_id)

    def step(self, fn, *args: Any, name: str | None = None, retry: RetryPolicy | None = None):
        """Run ``fn(*args)`` as a DBOS step whose body begins with the cancellation
        prelude (for work without an effect of its own, e.g. a computation or a read).
        The prelude is in the same step, so that no copy of the workflow resumed past
        it (``dbos workflow fork --step``) runs ``fn`` for a command it does not run."""
        command_id, workflow_id = self.command_id, self.workflow_id

        def body(*step_args: Any) -> Any:
            _bookkeeping(_prelude)(command_id, workflow_id)
            return fn(*step_args)

        try:
            return DBOS.run_step(
                compile_policy(retry or self.retry, name=name or getattr(fn, "__name__", "step")),
                _operation_step(body),
                *args,
            )
        except Exception as exc:  # fn's own database errors are classified in the body:
            _stop_on_outage(exc)  # a transient one here is DBOS's checkpoint of the step
            raise


def _prelude(command_id: str, workflow_id: str) -> None:
    """Raise :class:`Cancelled` when the command's cancellation is requested,
    :class:`Superseded` when the workflow no longer runs it."""
    check = _check(command_id, workflow_id)
    if check["action"] == "cancel":
        raise Cancelled(command_id, check["cancellation_mode"])
    if check["action"] != "run":
        raise Superseded(command_id, f"the command is {check['status']}")


# ---------------------------------------------------------------------------
# Workflows
# ---------------------------------------------------------------------------


def _failure(exc: BaseException) -> tuple[str, str]:
    """The message (cleaned: :func:`storable_text`) and error class to record for ``exc``."""
    cause = _unwrap(exc)
    try:
        message = str(cause)
    except Exception:  # a __str__ that raises still leaves the type's name
        message = ""
    message = message or type_name(cause)
    declared = getattr(cause, "error_class", None)
    if isinstance(cause, ClassifiedError) and declared != classify(cause):
        message = f"{message} (unknown error class {declared!r})"
    return storable_text(message)[:2000], classify(cause)


# What stops a run without being its outcome: DBOS's own exceptions (a cancellation in
# DBOS, a conflict) and a database outage; the run is resumed. Every other BaseException
# escaping operation code is the operation's outcome, SystemExit and KeyboardInterrupt
# included: no shutdown of the worker raises one on a workflow's thread (signals reach
# the main thread, and a stopping worker ends the process without raising into its
# workflows), so one there comes from the operation (argparse, a library's sys.exit), and
# resuming it would run it again, every few seconds, until DBOS dead-letters the workflow
# under a command left running.
CONTROL_FLOW = (dbos_error.DBOSBaseException, DatabaseUnavailable)


def _outcome_of(exc: BaseException, what: str = "operation") -> tuple[str, str]:
    """The message and error class to record for ``exc`` escaping operation code: an
    Exception as :func:`_failure` says, any other BaseException as internal_error "<type>
    escaped the <what>: <its text>" (``what``: operation or compensation). An outage of
    Concord's database never gets here (the runtime's steps and DBOS's checkpoints of them
    raise :class:`DatabaseUnavailable`): a transient database error here is the
    operation's own database's, its failure
    (temporary_database_error), not a reason to resume the run over and over."""
    if isinstance(exc, Exception):
        return _failure(exc)
    try:
        detail = storable_text(str(exc))
    except Exception:  # a __str__ that raises still leaves the type's name
        detail = ""
    message = f"{type_name(exc)} escaped the {what}" + (f": {detail}" if detail else "")
    return message[:2000], "internal_error"


class ResultNotJSON(ValueError):
    """An operation's result that jsonb cannot take (spec 32: validation_error)."""


def _result_of(value: Any) -> dict:
    """The operation's return value as the command's result: None as ``{}``, a non-dict
    as ``{"value": ...}``, text cleaned (NUL as U+FFFD). Raises :class:`ResultNotJSON` for
    anything JSON has no value for (a datetime, NaN, a set, bytes): storing its string
    instead would pass off a different value as the operation's."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        value = {"value": value}

    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {(storable_text(k) if isinstance(k, str) else k): clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        return storable_text(v) if isinstance(v, str) else v

    value = clean(value)
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ResultNotJSON(f"result is not JSON: {exc}") from None
    return value


def _cancellation_path(command: dict, workflow_id: str) -> dict:
    """Spec 30: graceful -> cancelled; compensate_then_stop -> compensating, each
    succeeded effect with a declared compensation countered newest first (a swarm's
    command's include those of the finished commands its agents asked for, spec 65;
    their compensations are effects of this command), compensated, cancelled. A
    compensation that keeps failing halts the chain: compensation_halted says how far it
    got and the command fails with compensation_failed."""
    s = state()
    command_id = str(command["command_id"])
    if command["cancellation_mode"] != "compensate_then_stop":
        status = _move(
            "concord.cancel",
            command_id,
            workflow_id,
            "cancelled",
            reason="cancelled gracefully: later steps skipped",
        )
        return {"status": status}
    _move(
        "concord.compensating",
        command_id,
        workflow_id,
        "compensating",
        reason="compensate_then_stop: compensating succeeded effects",
    )
    effects = _run_step("concord.compensations", _list_compensations, command_id)
    _run_step(
        "concord.audit",
        _audit,
        command_id,
        workflow_id,
        "compensation_started",
        {
            "effects": [str(e["effect_id"]) for e in effects],
            # a swarm's command also counters its agents' finished commands' effects (spec 65)
            "commands": [str(e.get("command_id") or command_id) for e in effects],
        },
    )
    for done, effect in enumerate(effects):
        comp = s.catalog.compensations.get(effect["declared_compensation"])
        if comp is None:
            return _halt(
                command_id,
                workflow_id,
                effects,
                done,
                effect,
                f"no compensation {effect['declared_compensation']} is registered on this worker",
                "compensation_failed",
            )
        ctx = EffectContext(
            command=command,
            workflow_id=workflow_id,
            retry=comp.retry,
            compensates=effect,
            compensation=comp,
        )
        try:
            comp.fn(ctx, effect)
        except (Cancelled, Superseded, *CONTROL_FLOW):
            raise
        except BaseException as exc:
            message, error_class = _outcome_of(exc, "compensation")
            return _halt(command_id, workflow_id, effects, done, effect, message, error_class)
        # Drift (spec 31.3) is detected by the database, per effect, when the command
        # becomes compensated (runtime_finish): this code cannot skip it.
    _run_step(
        "concord.audit",
        _audit,
        command_id,
        workflow_id,
        "compensation_completed",
        {"compensated": len(effects)},
    )
    _move(
        "concord.compensated",
        command_id,
        workflow_id,
        "compensated",
        reason=f"{len(effects)} effect(s) compensated",
    )
    status = _move(
        "concord.cancel",
        command_id,
        workflow_id,
        "cancelled",
        reason="cancelled after compensation",
    )
    return {"status": status, "compensated": len(effects)}


def _list_compensations(command_id: str) -> list[dict]:
    return state().db.scalar("SELECT concord.runtime_compensations(%s)", command_id)


def _halt(command_id, workflow_id, effects, done, effect, message, error_class) -> dict:
    _run_step(
        "concord.audit",
        _audit,
        command_id,
        workflow_id,
        "compensation_halted",
        {
            "compensated": done,
            "of": len(effects),
            "failed_effect_id": str(effect["effect_id"]),
            "remaining": [str(e["effect_id"]) for e in effects[done:]],
            "error": message,
            "error_class": error_class,
        },
    )
    status = _move(
        "concord.finish",
        command_id,
        workflow_id,
        "failed",
        error=f"compensation halted after {done} of {len(effects)}: {message}",
        error_class="compensation_failed",
        reason="a compensation kept failing",
    )
    return {"status": status, "compensated": done}


def _cancelled_in_dbos(workflow_id: str) -> bool:
    return (
        state().db.scalar(
            "SELECT status FROM dbos.workflow_status WHERE workflow_uuid = %s", workflow_id
        )
        == "CANCELLED"
    )


def _after_cancel_from_dbos(command_id: str, workflow_id: str) -> None:
    """The workflow was cancelled in DBOS (a BaseException): it may run no more steps,
    so the command's cancellation is recorded directly and a follow-up workflow
    finishes it."""
    s = state()
    logs.forget(workflow_id)
    try:
        s.db.scalar(
            "SELECT concord.runtime_workflow_cancelled(%s, %s, %s)",
            command_id,
            workflow_id,
            s.executor_id,
        )
    except StateConflict as exc:  # a fork, or a replaced run: not the command's to cancel
        if exc.rule not in NOT_THE_RUN:
            DBOS.logger.exception("recording the DBOS cancellation of %s failed", workflow_id)
    except Exception:  # the command may already be terminal: nothing to finish
        DBOS.logger.exception("recording the DBOS cancellation of %s failed", workflow_id)


def _operation_for(command: dict) -> Operation | None:
    return state().catalog.operations.get(command["command_type"])


def _not_this_run(claim: dict, workflow_id: str, suffix: str = "") -> str | None:
    """Why this workflow must not act on the command its claim describes, or None. A claim
    names the run it was made for: a copy of a workflow (``dbos workflow fork --step N``)
    replays its original's claim under another id, and stops before any step."""
    command = claim.get("command") or {}
    bound = command.get("workflow_id")
    if bound is None or bound + suffix == workflow_id:
        return None
    return f"workflow {workflow_id} is not the run of command {command.get('command_id')} ({bound})"


@DBOS.workflow(name=RUN_COMMAND)
def run_command(command_id: str) -> dict:
    workflow_id = DBOS.workflow_id
    answer: dict = {"action": "interrupted"}
    try:
        answer = _run(command_id, workflow_id)
        return answer
    except Superseded as stop:
        answer = {"action": "stopped", "why": stop.why}
        return answer
    except Exception as exc:  # DBOS's checkpoint hit an outage: resumed, never ERROR
        _stop_on_outage(exc)
        raise
    except dbos_error.DBOSWorkflowCancelledError:
        _after_cancel_from_dbos(command_id, workflow_id)
        raise
    except dbos_error.DBOSWorkflowConflictIDError:
        # DBOS's cancel also drops this execution's ownership: the step in flight then
        # fails to record with a conflict. Only a cancelled workflow ends the command.
        if _cancelled_in_dbos(workflow_id):
            _after_cancel_from_dbos(command_id, workflow_id)
        raise
    finally:
        logs.command_finished(workflow_id, answer)


def _run(command_id: str, workflow_id: str) -> dict:
    claim = _run_step("concord.claim", _claim, command_id, workflow_id)
    action = claim["action"]
    why = _not_this_run(claim, workflow_id)
    if why is not None:
        return {"action": "stopped", "why": why}
    if action == "unserved":
        # This worker has no operation for the type: it did not claim the command, which
        # stays queued for a worker that has it (runtime_claim, runtime_unserved).
        logging.getLogger("concord.worker").warning(
            "worker %s has no operation for command type %s: command %s stays queued for a "
            "worker that has it",
            state().executor_id,
            claim.get("command_type"),
            command_id,
        )
        return {"action": action, "status": claim.get("status")}
    if action in ("run", "cancel"):
        logs.command_started(workflow_id, claim["command"])
    if action == "cancel":
        return _cancellation_path(claim["command"], workflow_id)
    if action != "run":
        return {"action": action, "status": claim.get("status")}
    command = claim["command"]
    op = _operation_for(command)
    if op is None:
        # A run begun elsewhere (recovered or adopted here) that this worker cannot go on
        # with: it stays PENDING and the recovery loop puts it back on its queue, where a
        # worker with the operation takes it (the claim above replays there).
        stop = NotServedHere(command_id, command["command_type"], state().executor_id)
        logging.getLogger("concord.worker").warning("%s", stop)
        with _not_served_lock:
            NOT_SERVED_HERE[workflow_id] = command["command_type"]
        raise stop
    comp = state().catalog.compensation_of(op.command_type)
    ctx = EffectContext(
        command=command,
        workflow_id=workflow_id,
        retry=op.retry,
        declared_compensation=comp.name if comp else None,
        compensated_types=state().catalog.compensated_types(op.command_type),
    )
    try:
        result = _result_of(op.fn(ctx, command["payload"]))
    except Superseded as stop:
        return {"action": "stopped", "why": stop.why}
    except Cancelled:
        return _cancel_now(command_id, workflow_id)
    except CONTROL_FLOW:
        raise  # DBOS's, an outage's: the run stops and is resumed
    except BaseException as exc:  # an Exception, asyncio.CancelledError, SystemExit, ...
        message, error_class = _outcome_of(exc)
        return _fail(command_id, workflow_id, message, error_class)
    status = _move("concord.finish", command_id, workflow_id, "succeeded", result=result)
    if status in ("cancelling", "compensating"):
        return _cancel_now(command_id, workflow_id)
    return {"status": status}


def _fail(command_id: str, workflow_id: str, message: str, error_class: str) -> dict:
    """Record the command failed (or take the cancellation path when one was asked for)."""
    status = _move(
        "concord.finish",
        command_id,
        workflow_id,
        "failed",
        error=message,
        error_class=error_class,
    )
    if status in ("cancelling", "compensating"):
        return _cancel_now(command_id, workflow_id)
    return {"status": status, "error_class": error_class}


def _cancel_now(command_id: str, workflow_id: str) -> dict:
    claim = _run_step("concord.prelude", _claim, command_id, workflow_id)
    if claim["action"] != "cancel":
        return {"status": claim["command"]["status"]}
    return _cancellation_path(claim["command"], workflow_id)


@DBOS.workflow(name=FINISH_CANCELLATION)
def finish_cancellation(command_id: str) -> dict:
    workflow_id = DBOS.workflow_id
    answer: dict = {"action": "interrupted"}
    try:
        claim = _run_step("concord.claim", _claim, command_id, workflow_id)
        why = _not_this_run(claim, workflow_id, "/cancel")
        if why is not None:
            return {"action": "stopped", "why": why}
        if claim["action"] != "cancel":
            return {"action": claim["action"]}
        logs.command_started(workflow_id, claim["command"])
        answer = _cancellation_path(claim["command"], workflow_id)
        return answer
    except Superseded as stop:
        answer = {"action": "stopped", "why": stop.why}
        return answer
    except Exception as exc:
        _stop_on_outage(exc)
        raise
    finally:
        logs.command_finished(workflow_id, answer)


def _submit_scheduled(schedule_name: str, tick: str) -> str | None:
    command_id = state().db.scalar(
        "SELECT concord.submit_scheduled(%s, %s::timestamptz)", schedule_name, tick
    )
    return None if command_id is None else str(command_id)


@DBOS.workflow(name=SCHEDULE_TICK)
def schedule_tick(tick: datetime, context: Any) -> str | None:
    """One tick: submit the schedule's command with the key schedule:<name>:<tick> (None
    when the schedule has been disabled since the worker applied it)."""
    return _run_step(
        "concord.submit_scheduled", _submit_scheduled, context["schedule_name"], tick.isoformat()
    )


def _reconcile() -> int:
    s = state()
    return s.db.scalar("SELECT concord.runtime_reconcile(%s)", s.executor_id)


@DBOS.workflow(name=RECONCILE)
def reconcile(tick: datetime, context: Any) -> int:
    """Commands whose DBOS workflow was cancelled from DBOS's side before it ran."""
    return _run_step("concord.reconcile", _reconcile)
