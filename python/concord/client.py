"""The thin Python client: one method per SQL API function, typed results, mapped errors.

All meaning lives in PostgreSQL; each method is a single call of a ``concord.*`` function
in its own transaction, taken from a psycopg connection pool.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import MISSING, Field, dataclass, field, fields, is_dataclass
from datetime import datetime, timedelta
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints
from uuid import UUID

import psycopg
from psycopg import sql as psql
from psycopg.rows import dict_row, tuple_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from .agent_contracts import action_json
from .errors import NotFound, from_psycopg

T = TypeVar("T")


@dataclass(frozen=True)
class SubmitResult:
    """What ``submit_command`` answered. ``created`` is false for an idempotent replay;
    ``errors`` lists every validation problem of a rejected payload, every input a
    command waiting for input needs (``kind`` ``missing_input``) or every reason a
    policy denied it (``kind`` ``policy_denied``); it is empty otherwise."""

    command_id: UUID
    status: str
    trace_id: str
    created: bool
    errors: list[dict[str, Any]]


@dataclass(frozen=True)
class CallResult:
    """What a caller waiting for a command is answered (:meth:`Client.call_command`,
    :meth:`Client.await_command`; ``concord.command_outcome`` in SQL). ``finished``: its
    status completes it (``result`` or ``error`` is final); ``answered``: finished, or it
    waits for a person (``waiting_for_approval`` with ``approval_id``, ``waiting_for_input``
    with the inputs in ``errors``); ``timed_out``: the budget ran out first, and the command
    keeps running on the worker: wait again, or poll it. ``created`` is false when an
    idempotency key named an earlier command (``None`` from :meth:`Client.await_command`)."""

    command_id: UUID
    command_type: str
    status: str
    trace_id: str
    finished: bool
    answered: bool
    timed_out: bool
    result: Any
    error: str | None
    error_class: str | None
    errors: list[dict[str, Any]]
    approval_id: UUID | None
    waited_seconds: float
    created: bool | None = None


@dataclass(frozen=True)
class ApiToken:
    """A new API token, as ``create_api_token`` answers: ``token`` is shown this once
    (only its SHA-256 is kept); pass it to :meth:`Client.authenticate` or
    ``Client(token=...)``."""

    token_id: UUID
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class Dependency:
    parent_command_id: UUID
    required_status: str
    propagate_cancellation: bool
    parent_status: str
    satisfied: bool


@dataclass(frozen=True)
class Dependent:
    child_command_id: UUID
    required_status: str
    child_status: str


@dataclass(frozen=True)
class Effect:
    domain_effect_id: UUID
    command_id: UUID
    effect_type: str
    effect_payload: Any
    idempotency_key: str | None
    status: str
    executed_by_dbos_workflow_id: str | None
    result: Any
    error: str | None
    error_class: str | None
    compensates_effect_id: UUID | None
    declared_compensation: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True)
class Command:
    """A command as ``get_command`` returns it."""

    command_id: UUID
    command_type: str
    requested_by: str
    ingress: str
    payload: Any
    context: dict[str, Any]
    status: str
    cancellation_mode: str
    idempotency_key: str | None
    dbos_workflow_id: str | None
    trace_id: str
    result: Any
    error: str | None
    error_class: str | None
    error_detail: Any
    cancellation_requested_at: datetime | None
    cancellation_requested_by: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    policy_evaluation: dict[str, Any] | None
    plan: dict[str, Any] | None
    dependencies_satisfied: bool
    allowed_next_statuses: list[str]
    dependencies: list[Dependency]
    dependents: list[Dependent]
    effects: list[Effect]


@dataclass(frozen=True)
class TimelineEvent:
    event_seq: int
    created_at: datetime
    purpose: str
    event_type: str
    actor: str
    from_status: str | None
    to_status: str | None
    reason: str | None
    target_type: str | None
    target_id: str | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class PolicyEvaluation:
    """The combined decision of a command's policies, as ``evaluate_policies`` and
    ``provide_input`` return it. ``evaluation_id`` is None when the type has no policies
    (nothing is recorded); ``status`` is the command's status after routing;
    ``approval_ids`` are the approvals this evaluation opened."""

    decision: str
    status: str
    evaluation_id: UUID | None = None
    reasons: list[str] = field(default_factory=list)
    missing_fields: list[str] = field(default_factory=list)
    approval_types: list[str] = field(default_factory=list)
    policies: list[dict[str, Any]] = field(default_factory=list)
    approval_ids: list[UUID] = field(default_factory=list)


@dataclass(frozen=True)
class ApprovalResolution:
    """What ``resolve_approval`` answered: the approval's and its command's new status."""

    approval_id: UUID
    command_id: UUID
    status: str
    command_status: str


@dataclass(frozen=True)
class PendingApproval:
    """A row of the ``pending_approvals`` view: one per approval and eligible approver."""

    approver: str
    approval_id: UUID
    command_id: UUID
    approval_type: str
    requested_by: str
    review_packet: dict[str, Any]
    expires_at: datetime | None
    created_at: datetime
    command_type: str
    trace_id: str


@dataclass(frozen=True)
class Decision:
    """A row of the ``decision_history`` view: a policy decision or an approval decision."""

    command_id: UUID
    decided_at: datetime
    kind: str
    name: str
    decision: str
    reasons: Any
    actor: str | None
    evaluation_id: UUID | None
    approval_id: UUID | None
    decision_id: int | None


def _columns(cls: type) -> str:
    """The dataclass's fields as a select list (the view may have more columns)."""
    return ", ".join(f.name for f in fields(cls))


def _convert(hint: Any, value: Any) -> Any:
    """A JSON value from the SQL API as the Python type its field declares."""
    if value is None:
        return None
    if get_origin(hint) in (Union, UnionType):
        (hint,) = (arg for arg in get_args(hint) if arg is not type(None))
    if get_origin(hint) is list:
        (item,) = get_args(hint)
        return [_convert(item, v) for v in value]
    if is_dataclass(hint):
        return _from_doc(hint, value)
    if hint is UUID:
        return UUID(str(value))
    if hint is datetime:
        return datetime.fromisoformat(value)
    return value


def _has_default(f: Field[Any]) -> bool:
    return f.default is not MISSING or f.default_factory is not MISSING


def _from_doc(cls: type[T], doc: dict[str, Any]) -> T:
    """``doc`` as ``cls``. A key that is missing or null takes the field's default when it
    has one (a field without a default is required); keys ``cls`` lacks are ignored."""
    hints = get_type_hints(cls)
    return cls(
        **{
            f.name: _convert(hints[f.name], doc[f.name])
            for f in fields(cls)
            if not _has_default(f) or doc.get(f.name) is not None
        }
    )


def _check_wait_budget(timeout: Any) -> None:
    """A caller's budget is a number of seconds from 0 to 3600 (what the SQL refuses with
    CN008 a_caller_waits_between_0_and_3600_seconds), checked before anything is sent."""
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not 0 <= timeout <= 3600
    ):
        raise ValueError(f"timeout must be a number of seconds from 0 to 3600, not {timeout!r}")


class Client:
    """Concord's SQL API over a psycopg connection pool.

    ``dsn`` defaults to ``$CONCORD_DSN``. Every method runs one SQL function in its own
    transaction and raises the :mod:`concord.errors` class of a ``CN`` error code.
    Use as a context manager, or call :meth:`close`.

    Who the client is: with ``token`` (an API token, see :meth:`create_api_token`) every
    transaction it runs starts with ``concord.authenticate(token)`` and acts as the token's
    principal; without one, as the principal the database login is mapped to. ``project``
    (``'organisation/project'``) is chosen with ``concord.use_project`` at the start of every
    transaction: where new commands go when the principal may write in more than one.
    """

    def __init__(
        self,
        dsn: str | None = None,
        *,
        token: str | None = None,
        project: str | None = None,
        min_size: int = 1,
        max_size: int = 4,
    ):
        dsn = dsn or os.environ.get("CONCORD_DSN")
        if not dsn:
            raise ValueError("no database given: pass dsn or set CONCORD_DSN")
        self._token = token
        self._project = project
        self._owns_pool = True
        self._pool = ConnectionPool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            open=True,
            kwargs={"row_factory": dict_row},
            # a connection the server dropped (a restart, a terminated backend) is replaced
            # when it is taken, not handed to a caller to fail on
            check=ConnectionPool.check_connection,
        )

    def close(self) -> None:
        """Close every pooled connection (a client made by :meth:`acting_as` leaves the
        pool it shares open)."""
        if self._owns_pool:
            self._pool.close()

    def acting_as(self, token: str | None, project: str | None = None) -> Client:
        """A client on the same pool whose every transaction authenticates with ``token``
        and chooses ``project``: one per request of a server that acts for many callers.
        Closing it leaves the pool open."""
        other = copy.copy(self)
        other._token, other._project, other._owns_pool = token, project, False
        return other

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _cursor(self) -> Iterator[psycopg.Cursor]:
        try:
            with self._pool.connection() as conn, conn.cursor() as cur:
                self._present_token(cur)
                if self._project is not None:
                    cur.execute("SELECT concord.use_project(%s)", (self._project,))
                yield cur
        except psycopg.Error as exc:
            mapped = from_psycopg(exc)
            if mapped is exc:
                raise
            raise mapped from exc

    def _present_token(self, cur: psycopg.Cursor) -> None:
        # the credential lives for one transaction: every transaction presents it
        if self._token is not None:
            cur.execute("SELECT concord.authenticate(%s)", (self._token,))

    @contextmanager
    def _listening(self, command_id: UUID) -> Iterator[psycopg.Connection]:
        """A connection of its own LISTENing on the command's channel, READ COMMITTED,
        errors mapped to their classes. Not the pool's: a wait or a watch holds it for its
        whole budget, and the client's other calls must not queue behind it."""
        channel = psql.Identifier(f"concord_command_{command_id.hex}")
        try:
            with psycopg.connect(self._pool.conninfo, row_factory=dict_row) as conn:
                # it must see each commit of the worker, whatever the server's default
                conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
                conn.execute(psql.SQL("LISTEN {}").format(channel))
                conn.commit()
                try:
                    yield conn
                finally:
                    conn.rollback()
        except psycopg.Error as exc:
            mapped = from_psycopg(exc)
            if mapped is exc:
                raise
            raise mapped from exc

    def _one(self, sql: str, params: tuple[Any, ...]) -> dict[str, Any]:
        with self._cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()

    def _value(self, sql: str, params: tuple[Any, ...]) -> Any:
        return next(iter(self._one(sql, params).values()))

    def _agent_value(self, secret: str | None, sql: str, params: tuple[Any, ...]) -> Any:
        """:meth:`_value` in a transaction that first authenticates with an agent run's
        ``secret`` (what ``begin_agent_run`` handed out), so the call acts as that agent;
        without one, as the client's own session (which the gateway refuses unless it is a
        superuser's)."""
        if secret is None:
            return self._value(sql, params)
        with self._cursor() as cur:
            cur.execute("SELECT concord.authenticate(%s)", (secret,))
            cur.execute(sql, params)
            return next(iter(cur.fetchone().values()))

    def _all(self, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        with self._cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    # -- identity ------------------------------------------------------------------

    def authenticate(self, token: str) -> str:
        """Act as the principal of ``token`` from now on: every later transaction of this
        client starts with ``concord.authenticate(token)``. Returns the principal's name;
        raises :class:`~concord.errors.NotPermitted` (``a_credential_is_valid``) for an
        unknown, expired or revoked token, and then keeps the previous identity."""
        previous, self._token = self._token, token
        try:
            return self.current_principal()
        except BaseException:
            self._token = previous
            raise

    def use_project(self, project: str | None) -> str | None:
        """Choose the project (``'organisation/project'`` or its id) new commands, schedules,
        notifications and memories go to, for every later transaction; ``None`` chooses none.
        Returns the project's full name; raises :class:`~concord.errors.NotFound` for a
        project the principal is no member of, and then keeps the previous choice."""
        previous, self._project = self._project, project
        if project is None:
            return None
        try:
            return self._value("SELECT concord.use_project(%s)", (project,))
        except BaseException:
            self._project = previous
            raise

    def current_principal(self) -> str | None:
        """The principal this client acts as (``None`` for a superuser's or worker's
        session that is no principal)."""
        return self._value("SELECT concord.current_principal()", ())

    def create_api_token(
        self,
        principal: str | None = None,
        *,
        expires_in: timedelta = timedelta(days=90),
        scopes: list[str] | None = None,
        label: str | None = None,
    ) -> ApiToken:
        """Issue an API token for ``principal`` (default: the caller; only a superuser issues
        for others), valid for ``expires_in`` (at most 366 days), limited to the membership
        roles in ``scopes`` when given. The token is in the answer once: keep it."""
        row = self._one(
            "SELECT * FROM concord.create_api_token(%s, %s, %s, %s)",
            (principal, expires_in, scopes, label),
        )
        return ApiToken(token_id=row["token_id"], token=row["token"], expires_at=row["expires_at"])

    def api_tokens(self) -> list[dict[str, Any]]:
        """The caller's own tokens (``concord.my_api_tokens``: never a token's value), newest
        first."""
        return self._all("SELECT * FROM concord.my_api_tokens ORDER BY created_at DESC", ())

    def live_workers(self) -> list[dict[str, Any]]:
        """The workers up now, with their queues and operations (``concord.live_workers``)."""
        return self._all("SELECT * FROM concord.live_workers ORDER BY executor_id", ())

    def revoke_api_token(self, token_id: UUID | str) -> bool:
        """Revoke one of the caller's tokens (a superuser: anyone's); true when revoked now,
        false when it already was. Raises :class:`~concord.errors.NotFound` for a token that
        is not the caller's."""
        return self._value("SELECT concord.revoke_api_token(%s)", (token_id,))

    # -- command types -------------------------------------------------------------

    def register_command_type(self, spec: dict[str, Any]) -> str:
        """Insert or replace a command type (spec 13.2 fields plus ``payload_schema``);
        returns its ``command_type``. Raises :class:`~concord.errors.InvalidSpec`
        listing every problem."""
        return self._value("SELECT concord.register_command_type(%s)", (Jsonb(spec),))

    def map_task_to_primitives(self, command_type: str) -> list[str]:
        """The primitives of spec 14 for a registered command type."""
        return list(self._value("SELECT concord.map_task_to_primitives(%s)", (command_type,)))

    # -- commands ------------------------------------------------------------------

    def submit_command(
        self,
        command_type: str,
        payload: Any,
        requested_by: str | None = None,
        *,
        ingress: str = "api",
        context: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        cancellation_mode: str | None = None,
    ) -> SubmitResult:
        """Record and validate a command; an invalid payload comes back ``failed`` with
        ``errors``. Replaying an idempotency key returns the original with
        ``created=False``. ``requested_by`` is who asks: ``None`` (or the client's own
        principal) for the client itself; another principal only for a service holding an
        act-as grant (:class:`~concord.errors.NotPermitted` otherwise)."""
        row = self._one(
            "SELECT * FROM concord.submit_command(%s, %s, %s, %s, %s, %s, %s)",
            (
                command_type,
                None if payload is None else Jsonb(payload),
                requested_by,
                ingress,
                Jsonb(context if context is not None else {}),
                idempotency_key,
                cancellation_mode,
            ),
        )
        return SubmitResult(
            command_id=row["command_id"],
            status=row["status"],
            trace_id=row["trace_id"],
            created=row["created"],
            errors=list(row["errors"]),
        )

    def submit_commands(
        self,
        commands: list[dict[str, Any]],
        requested_by: str | None = None,
        *,
        all_or_nothing: bool = False,
    ) -> list[dict[str, Any]]:
        """Submit up to 1000 commands in one call (``concord.submit_commands``): each item
        ``{command_type, payload, context?, idempotency_key?, cancellation_mode?, ingress?}``
        is submitted as :meth:`submit_command` would submit it alone. Answers one row per
        item, in order: ``{ordinal, command_id, status, trace_id, created, errors, refusal}``,
        ``refusal`` (``{code, rule, message, detail?, hint?}``) set for an item that was
        refused while the others stand. With ``all_or_nothing`` the first refusal is raised
        (its :class:`~concord.errors.ConcordError`) and nothing is submitted. Raises
        :class:`~concord.errors.InvalidArgument` for a batch that is not 1 to 1000 items."""
        return self._all(
            "SELECT * FROM concord.submit_commands(%s, %s, %s)",
            (Jsonb(commands), all_or_nothing, requested_by),
        )

    def call_command(
        self,
        command_type: str,
        payload: Any,
        requested_by: str | None = None,
        *,
        timeout: float = 30.0,
        ingress: str = "api",
        context: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        cancellation_mode: str | None = None,
    ) -> CallResult:
        """Submit a command (as :meth:`submit_command`: the same policies, approvals,
        effects and audit) and wait at most ``timeout`` seconds for the worker to finish it
        (spec 29). A denied or invalid command, or one that waits for an approval or input,
        answers at once; one not finished within the budget answers ``timed_out`` and keeps
        running: :meth:`await_command` it again. Retrying with the same ``idempotency_key``
        waits on the same command. Woken by ``LISTEN``/``NOTIFY``, not by polling."""
        _check_wait_budget(timeout)
        started = time.monotonic()
        submitted = self.submit_command(
            command_type,
            payload,
            requested_by,
            ingress=ingress,
            context=context,
            idempotency_key=idempotency_key,
            cancellation_mode=cancellation_mode,
        )
        waited = self._await(submitted.command_id, timeout - (time.monotonic() - started))
        return CallResult(**{**waited.__dict__, "created": submitted.created})

    def await_command(self, command_id: UUID | str, *, timeout: float = 30.0) -> CallResult:
        """Wait at most ``timeout`` seconds (0 to 3600) for a committed command to finish or
        to wait for a person; see :class:`CallResult`. Woken by ``LISTEN`` on
        ``concord.command_channel(command_id)``, not by polling."""
        _check_wait_budget(timeout)
        return self._await(command_id, timeout)

    def watch_command(
        self, command_id: UUID | str, *, timeout: float = 3600.0
    ) -> Iterator[dict[str, Any]]:
        """The command's timeline events (rows of ``concord.command_timeline``) as they are
        recorded: first those already there, then each new one, until the command finishes
        or ``timeout`` seconds (0 to 3600) pass. Woken by ``LISTEN`` on
        ``concord.command_channel(command_id)``, not by polling; on a connection of its own.
        Raises :class:`~concord.errors.NotFound` for a command the caller may not see."""
        _check_wait_budget(timeout)
        started = time.monotonic()
        command_id = UUID(str(command_id))
        seen: set[int] = set()
        with self._listening(command_id) as conn:
            while True:
                # read after LISTEN took effect: an event before it is read here, one after
                # it is notified; events are told by their seq, not by order, since a
                # concurrent transaction may commit a lower one later
                with conn.cursor() as cur:
                    self._present_token(cur)
                    cur.execute("SELECT * FROM concord.command_timeline(%s)", (command_id,))
                    events = [e for e in cur.fetchall() if e["event_seq"] not in seen]
                    cur.execute("SELECT concord.command_outcome(%s) AS o", (command_id,))
                    finished = cur.fetchone()["o"]["finished"]
                conn.commit()
                for event in events:
                    seen.add(event["event_seq"])
                    yield event
                remaining = timeout - (time.monotonic() - started)
                if finished or remaining <= 0:
                    return
                for _ in conn.notifies(timeout=remaining, stop_after=1):
                    pass

    def _await(self, command_id: UUID | str, timeout: float) -> CallResult:
        started = time.monotonic()
        command_id = UUID(str(command_id))
        with self._listening(command_id) as conn:
            while True:
                # read after LISTEN took effect: a change before it is seen here, one after
                # it is notified
                with conn.cursor() as cur:
                    self._present_token(cur)
                    cur.execute("SELECT concord.command_outcome(%s) AS o", (command_id,))
                    doc = cur.fetchone()["o"]
                conn.commit()
                remaining = timeout - (time.monotonic() - started)
                if doc["answered"] or remaining <= 0:
                    break
                for _ in conn.notifies(timeout=remaining, stop_after=1):
                    pass
        return CallResult(
            command_id=UUID(doc["command_id"]),
            command_type=doc["command_type"],
            status=doc["status"],
            trace_id=doc["trace_id"],
            finished=doc["finished"],
            answered=doc["answered"],
            timed_out=not doc["answered"],
            result=doc["result"],
            error=doc["error"],
            error_class=doc["error_class"],
            errors=list(doc["errors"] or []),
            approval_id=UUID(doc["approval_id"]) if doc["approval_id"] else None,
            waited_seconds=round(time.monotonic() - started, 3),
        )

    def transition_command(
        self,
        command_id: UUID | str,
        to_status: str,
        actor: str,
        *,
        reason: str | None = None,
        result: Any = None,
        error: str | None = None,
        error_class: str | None = None,
    ) -> str:
        """An operator's move along the state machine (``concord_admin``); returns the new
        status. The moves only a command's run makes (into ``running``, its outcome, its
        cancellation and compensation path) raise :class:`~concord.errors.NotPermitted`: a
        worker makes them with the ``runtime_*`` functions."""
        return self._value(
            "SELECT concord.transition_command(%s, %s, %s, %s, %s, %s, %s)",
            (
                command_id,
                to_status,
                actor,
                reason,
                None if result is None else Jsonb(result),
                error,
                error_class,
            ),
        )

    def cancel_command(
        self,
        command_id: UUID | str,
        actor: str,
        *,
        reason: str | None = None,
        mode: str | None = None,
    ) -> str:
        """Cancel a command (spec 30); returns the resulting status."""
        return self._value(
            "SELECT concord.cancel_command(%s, %s, %s, %s)", (command_id, actor, reason, mode)
        )

    def get_command(self, command_id: UUID | str) -> Command:
        """The command with its dependencies, dependents and effects."""
        return _from_doc(Command, self._value("SELECT concord.get_command(%s)", (command_id,)))

    def command_timeline(self, command_id: UUID | str) -> list[TimelineEvent]:
        """Every event of the command, in order."""
        rows = self._all("SELECT * FROM concord.command_timeline(%s)", (command_id,))
        return [TimelineEvent(**row) for row in rows]

    def retry_command(self, command_id: UUID | str, reason: str | None = None) -> str:
        """Queue a failed command again as the authenticated principal, an owner or admin of
        its project (``concord.retry_command``); returns the new status. Raises
        :class:`~concord.errors.StateConflict` for a command that is not failed or has had its
        type's max_attempts, :class:`~concord.errors.NotPermitted` for anyone else."""
        return self._value("SELECT concord.retry_command(%s, %s)", (command_id, reason))

    def explain(self, command_id: UUID | str) -> dict[str, Any]:
        """Why the command is where it is (``concord.explain``): who asked, its contract
        version, policy decisions, approvals and who may decide them, missing inputs,
        dependencies, queue and live workers, attempts, effects and connector calls;
        ``held_by`` lists what holds it (each a ``reason`` code, a ``detail`` and a
        ``next_step``). Raises :class:`~concord.errors.NotFound` for a command the caller
        may not see."""
        return self._value("SELECT concord.explain(%s)", (command_id,))

    def list_commands(
        self,
        *,
        status: str | None = None,
        command_type: str | None = None,
        project: str | None = None,
        requested_by: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int = 50,
        after: str | None = None,
    ) -> dict[str, Any]:
        """One page of the commands the caller may see, newest first
        (``concord.list_commands``): ``{"commands": [...], "next_cursor": ...}``; pass
        ``next_cursor`` as ``after`` for the next page (``None`` on the last). Raises
        :class:`~concord.errors.InvalidArgument` for an unknown status, a page size outside
        1..500 or a cursor it did not give."""
        return self._value(
            "SELECT concord.list_commands(%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                status,
                command_type,
                project,
                requested_by,
                created_after,
                created_before,
                page_size,
                after,
            ),
        )

    def can_transition(self, from_status: str, to_status: str) -> bool:
        """Whether the state machine allows ``from_status -> to_status``."""
        return self._value("SELECT concord.can_transition(%s, %s)", (from_status, to_status))

    # -- dependencies --------------------------------------------------------------

    def add_dependency(
        self,
        child: UUID | str,
        parent: UUID | str,
        *,
        required_status: str = "succeeded",
        propagate_cancellation: bool = True,
    ) -> None:
        """Make ``child`` wait for ``parent``; raises
        :class:`~concord.errors.DependencyCycle` on a self-edge or cycle."""
        with self._cursor() as cur:
            cur.execute(
                "SELECT concord.add_dependency(%s, %s, %s, %s)",
                (child, parent, required_status, propagate_cancellation),
            )

    def dependencies_satisfied(self, command_id: UUID | str) -> bool:
        """True when every parent is in its required status."""
        return self._value("SELECT concord.dependencies_satisfied(%s)", (command_id,))

    # -- effects -------------------------------------------------------------------

    def plan_effect(
        self,
        command_id: UUID | str,
        effect_type: str,
        payload: Any,
        *,
        idempotency_key: str | None = None,
        declared_compensation: str | None = None,
        compensates_effect_id: UUID | str | None = None,
    ) -> UUID:
        """Record a planned side effect for the command's current run, while it is running;
        returns its id (the same id on replay). No role but the owner may call it: a worker
        plans and starts effects with ``runtime_begin_effect``."""
        return self._value(
            "SELECT concord.plan_effect(%s, %s, %s, %s, %s, %s)",
            (
                command_id,
                effect_type,
                None if payload is None else Jsonb(payload),
                idempotency_key,
                declared_compensation,
                compensates_effect_id,
            ),
        )

    def start_effect(self, effect_id: UUID | str, workflow_id: str) -> str:
        """planned -> executing for ``workflow_id``, which must be the command's current
        run; returns the effect's status."""
        return self._value("SELECT concord.start_effect(%s, %s)", (effect_id, workflow_id))

    def complete_effect(self, effect_id: UUID | str, result: Any) -> str:
        """executing -> succeeded with ``result``, for the run that started it while it is
        the command's current run (``concord_worker``); returns the effect's status."""
        return self._value(
            "SELECT concord.complete_effect(%s, %s)",
            (effect_id, None if result is None else Jsonb(result)),
        )

    def fail_effect(self, effect_id: UUID | str, error: str, error_class: str) -> str:
        """executing -> failed with ``error`` and ``error_class``, for the run that started
        it while it is the command's current run (``concord_worker``); returns the status."""
        return self._value(
            "SELECT concord.fail_effect(%s, %s, %s)", (effect_id, error, error_class)
        )

    # -- governance: policies, approval types, grants, teams (admin) ----------------

    def register_policy(self, spec: dict[str, Any]) -> str:
        """Insert or update a policy (declarative ``predicate``, executable ``function``, or
        a built-in's ``config``); returns its name. An identical spec is a no-op, a changed
        one a new version. Raises :class:`~concord.errors.InvalidSpec` listing every
        problem."""
        return self._value("SELECT concord.register_policy(%s)", (Jsonb(spec),))

    def register_approval_type(self, spec: dict[str, Any]) -> str:
        """Insert or update an approval type (spec 107.3); returns its name. Raises
        :class:`~concord.errors.InvalidSpec` listing every problem."""
        return self._value("SELECT concord.register_approval_type(%s)", (Jsonb(spec),))

    # -- runtime configuration (issue 4) -----------------------------------------------

    def register_connector(self, spec: dict[str, Any]) -> str:
        """Create or replace a connector ``{name, connector_type, capabilities, config,
        risk_level, description}``; returns its name. A config carrying a raw secret
        instead of ``env://NAME`` / ``file://PATH`` raises
        :class:`~concord.errors.InvalidPayload` (CN005)."""
        return self._value("SELECT concord.register_connector(%s)", (Jsonb(spec),))

    def register_queue(self, spec: dict[str, Any]) -> str:
        """Create or replace a queue's runtime configuration ``{name, worker_concurrency,
        global_concurrency, rate_limit, rate_period_sec, polling_interval_sec,
        description}``; workers apply it when they start. Returns its name."""
        return self._value("SELECT concord.register_queue(%s)", (Jsonb(spec),))

    def register_schedule(self, spec: dict[str, Any]) -> str:
        """Create or replace a schedule ``{name, cron, command_type, payload_template,
        queue, enabled}`` (spec 84); workers apply schedules when they start. Returns its
        name."""
        return self._value("SELECT concord.register_schedule(%s)", (Jsonb(spec),))

    def hand_off_queued(self) -> int:
        """Hand every queued command without a workflow (and without unmet dependencies)
        to DBOS, e.g. after upgrading from 0002; returns how many."""
        return self._value("SELECT concord.hand_off_queued()", ())

    def grant_command_type(self, command_type: str, principal: str) -> bool:
        """Let ``principal`` (a user or a team) request ``command_type``; false when it
        already could."""
        return self._value("SELECT concord.grant_command_type(%s, %s)", (command_type, principal))

    def revoke_command_type(self, command_type: str, principal: str) -> bool:
        """Withdraw a grant of ``command_type`` from ``principal``; false when there was
        none."""
        return self._value("SELECT concord.revoke_command_type(%s, %s)", (command_type, principal))

    def add_team_member(self, team: str, principal: str) -> bool:
        """Make ``principal`` a member of ``team``; false when it already was."""
        return self._value("SELECT concord.add_team_member(%s, %s)", (team, principal))

    def remove_team_member(self, team: str, principal: str) -> bool:
        """Remove ``principal`` from ``team``; false when it was not a member."""
        return self._value("SELECT concord.remove_team_member(%s, %s)", (team, principal))

    # -- governance: evaluation, input, approvals ------------------------------------

    def evaluate_policies(self, command_id: UUID | str) -> PolicyEvaluation:
        """Re-run the policies of a ``validated`` command and route it by the combined
        decision (deny > require_input > require_approval > allow); raises
        :class:`~concord.errors.StateConflict` in any other status."""
        return _from_doc(
            PolicyEvaluation,
            self._value("SELECT concord.evaluate_policies(%s)", (command_id,)),
        )

    def provide_input(
        self, command_id: UUID | str, payload_patch: dict[str, Any], actor: str
    ) -> PolicyEvaluation:
        """Merge ``payload_patch`` (RFC 7396: ``None`` deletes a key) into the payload of a
        command ``waiting_for_input``, then validate and evaluate it again. Only the
        requester may (:class:`~concord.errors.NotPermitted`)."""
        return _from_doc(
            PolicyEvaluation,
            self._value(
                "SELECT concord.provide_input(%s, %s, %s)",
                (command_id, Jsonb(payload_patch), actor),
            ),
        )

    def resolve_approval(
        self,
        approval_id: UUID | str,
        decision: str,
        actor: str,
        reason: str | None = None,
    ) -> ApprovalResolution:
        """Decide a pending approval (``approved``, ``rejected`` or ``request_changes``) and
        route its command. Raises :class:`~concord.errors.NotPermitted` for the requester
        or an ineligible actor, :class:`~concord.errors.AlreadyResolved` for a decided
        approval, :class:`~concord.errors.ApprovalExpired` past ``expires_at``."""
        return _from_doc(
            ApprovalResolution,
            self._value(
                "SELECT concord.resolve_approval(%s, %s, %s, %s)",
                (approval_id, decision, actor, reason),
            ),
        )

    def expire_approvals(self, at: datetime | None = None) -> int:
        """Expire pending approvals whose ``expires_at`` is at or before ``at`` (default:
        the server's ``now()``), and their waiting commands; returns how many."""
        if at is None:
            return self._value("SELECT concord.expire_approvals()", ())
        return self._value("SELECT concord.expire_approvals(%s)", (at,))

    def pending_approvals(self, approver: str | None = None) -> list[PendingApproval]:
        """Pending approvals, one row per eligible approver (never the requester); only
        ``approver``'s when given. Oldest first."""
        where = "" if approver is None else " WHERE approver = %s"
        rows = self._all(
            f"SELECT {_columns(PendingApproval)} FROM concord.pending_approvals{where} "
            "ORDER BY created_at, approval_id, approver",
            () if approver is None else (approver,),
        )
        return [PendingApproval(**row) for row in rows]

    def approval_inbox(self) -> list[dict[str, Any]]:
        """The pending approvals the authenticated principal may decide, oldest first
        (``concord.approval_inbox``)."""
        return self._all("SELECT * FROM concord.approval_inbox()", ())

    def decision_history(self, command_id: UUID | str) -> list[Decision]:
        """Every policy and approval decision on the command, in the order they were
        made (an evaluation's policies in the type's order, then approvals)."""
        rows = self._all(
            f"SELECT {_columns(Decision)} FROM concord.decision_history "
            "WHERE command_id = %s ORDER BY decided_at, decision_id NULLS LAST, approval_id",
            (command_id,),
        )
        return [Decision(**row) for row in rows]

    # -- plans -----------------------------------------------------------------------

    def plan_command(self, command_id: UUID | str) -> dict[str, Any]:
        """The command's execution plan (spec 13.3: ``execution_mode``, ``primitives``,
        ``steps``, ``queues``), stored on the command."""
        return self._value("SELECT concord.plan_command(%s)", (command_id,))

    def choose_queue(self, effect_type: str) -> str:
        """The queue an effect type runs on (spec 10)."""
        return self._value("SELECT concord.choose_queue(%s)", (effect_type,))

    # -- agents under governance (issue 5; spec 17, 23, 24, 57-68) ------------------------
    #
    # These return what the SQL functions return: jsonb as plain dicts and lists, uuids as
    # strings. An agent's refusals (a tool outside its scope, a child asking for more than
    # its parent holds) are answers with ``decision`` ``denied``, not exceptions.

    def register_tool(self, spec: dict[str, Any]) -> str:
        """Create or replace a command tool agents may call (admin): ``{name, command_type,
        description, input_schema, output_schema, execution_mode ('sync'|'async'),
        risk_level, requires_approval, connector, capability, function_name,
        metadata}``. An agent's call of the tool becomes a command of ``command_type``
        (its payload checked against ``input_schema`` first). Returns the tool's name;
        raises :class:`~concord.errors.InvalidSpec` listing every problem and
        :class:`~concord.errors.UnknownCommandType`."""
        return self._value("SELECT concord.register_tool(%s)", (Jsonb(spec),))

    def start_swarm(self, command_id: UUID | str, spec: dict[str, Any]) -> str:
        """Start the swarm of spec 67 (``{name, objective, execution_mode, join_strategy,
        limits, coordinator, agents, runtime?, ...}``) under ``command_id``: the swarm
        (``running``) and its coordinator's agent run (``created``). With ``runtime``,
        every agent run of the swarm gets its DBOS workflow ``concord.run_agent`` (queue
        ``agent_runs`` for the coordinator, ``swarm_children`` for the others) in the same
        transaction. The same command and spec give the same
        swarm again. Returns the swarm run id."""
        return str(self._value("SELECT concord.start_swarm(%s, %s)", (command_id, Jsonb(spec))))

    def begin_agent_run(
        self, agent_run_id: UUID | str, workflow_id: str | None = None
    ) -> dict[str, Any]:
        """Move an agent run ``created -> running`` (a running one is left as it is) and
        return its document (see :meth:`agent_run_state`) with ``secret``: the run's
        credential (``car_...``), handed out once, to the first begin of a live run (``None``
        on any later call). Pass it as ``secret=`` to the agent methods below (each then
        authenticates its transaction with it): the run id alone lets nobody act as the
        agent. A run with a runtime is begun by its worker, not here."""
        return self._value("SELECT concord.begin_agent_run(%s, %s)", (agent_run_id, workflow_id))

    def agent_run_state(
        self, agent_run_id: UUID | str, *, secret: str | None = None
    ) -> dict[str, Any]:
        """An agent run as its agent sees it: ``{agent_run_id, swarm_run_id, command_id,
        parent_agent_name, agent_name, agent_role, status, goal, spawn_depth, max_steps, step_count,
        allowed_tools, allowed_connectors, memory_scope, context_scope, constraints,
        runtime, swarm_status, result, children, artifacts}``. Raises
        :class:`~concord.errors.NotFound` for an unknown run."""
        return self._agent_value(secret, "SELECT concord.agent_run_state(%s)", (agent_run_id,))

    def spawn_subagent(self, request: Any, *, secret: str | None = None) -> dict[str, Any]:
        """Ask for a child agent run (spec 59; ``request`` a dict or a
        :class:`~concord.agent_contracts.SpawnSubagentRequest`). Returns ``{decision
        ('allowed'|'denied'|'require_approval'), child_agent_run_id, command_id,
        invocation_id, approval_id, reasons, code, step_index}``: a child asking for more
        than its parent holds is *denied* (code ``CN004``; a swarm limit ``CN010``), and
        the denial is recorded. Raises for a malformed request
        (:class:`~concord.errors.InvalidArgument`, :class:`~concord.errors.InvalidPayload`),
        an unknown run, a parent no longer live (:class:`~concord.errors.StateConflict`)
        or a parent out of steps (:class:`~concord.errors.LimitExceeded`)."""
        doc = request.to_json() if hasattr(request, "to_json") else dict(request)
        return self._agent_value(secret, "SELECT concord.spawn_subagent(%s)", (Jsonb(doc),))

    def submit_agent_action(
        self, agent_run_id: UUID | str, action: Any, *, secret: str | None = None
    ) -> dict[str, Any]:
        """The primitive gateway (spec 17, 28, 60): turn an agent's action (a dict, an
        :class:`~concord.agent_contracts.AgentAction` or an
        :class:`~concord.agent_contracts.AgentToolCallRequest`) into a governed command, a gateway
        tool call or a refusal. Returns ``{decision ('allowed'|'queued'|
        'require_approval'|'require_input'|'denied'|'invalid'), command_id, approval_id,
        message, status, reasons, code, step_index, output}``. A tool or connector outside
        the agent's scope is ``denied`` with code ``CN004``. Raises
        :class:`~concord.errors.LimitExceeded` when the run's step budget is spent and
        :class:`~concord.errors.StateConflict` when the run is no longer live."""

        return self._agent_value(
            secret,
            "SELECT concord.submit_agent_action(%s, %s)",
            (agent_run_id, Jsonb(action_json(action))),
        )

    def record_agent_step(
        self, agent_run_id: UUID | str, step: dict[str, Any], *, secret: str | None = None
    ) -> dict[str, Any]:
        """Record a step that executes nothing (``action_type`` ``think``, ``plan``,
        ``observe``, ``decide``, ``evaluate``, ``final_answer`` or ``note``, with
        ``output``, ``observation``, ``latency_ms``, ``token_usage``, ``cost_units``);
        returns ``{agent_step_id, step_index}``. It counts against the step budget."""
        return self._agent_value(
            secret, "SELECT concord.record_agent_step(%s, %s)", (agent_run_id, Jsonb(step))
        )

    def record_agent_message(
        self, agent_run_id: UUID | str, message: dict[str, Any], *, secret: str | None = None
    ) -> str:
        """Append a message ``{message_role, message_type, content, metadata}`` to the
        run's conversation (spec 57.5); returns its id."""
        return str(
            self._agent_value(
                secret,
                "SELECT concord.record_agent_message(%s, %s)",
                (agent_run_id, Jsonb(message)),
            )
        )

    def finish_agent_run(
        self,
        agent_run_id: UUID | str,
        status: str,
        result: Any = None,
        error: str | None = None,
        *,
        secret: str | None = None,
    ) -> str:
        """End an agent run ``succeeded`` or ``failed``; returns its status. A run with
        live children cannot succeed (:class:`~concord.errors.StateConflict`)."""
        return self._agent_value(
            secret,
            "SELECT concord.finish_agent_run(%s, %s, %s, %s)",
            (agent_run_id, status, None if result is None else Jsonb(result), error),
        )

    def cancel_swarm(
        self,
        swarm_run_id: UUID | str,
        actor: str | None = None,
        reason: str | None = None,
        mode: str | None = None,
    ) -> str:
        """Cancel a swarm as ``actor`` (default: the login): every live agent run is
        cancelled, and so is every unfinished command its agents asked for, finished
        agents' included (in the parent command's cancellation mode unless ``mode`` is
        given): a pending approval is closed, a memory candidate deleted. Returns the
        swarm's status."""
        return self._value(
            "SELECT concord.cancel_swarm(%s, %s, %s, %s)", (swarm_run_id, actor, reason, mode)
        )

    def cancel_agent_run(
        self, agent_run_id: UUID | str, actor: str | None = None, reason: str | None = None
    ) -> str:
        """Cancel one agent run and its descendants (and the unfinished commands they asked
        for); cancelling a coordinator cancels its swarm. Returns the run's status."""
        return self._value(
            "SELECT concord.cancel_agent_run(%s, %s, %s)", (agent_run_id, actor, reason)
        )

    def agent_command(
        self, agent_run_id: UUID | str, command_id: UUID | str, *, secret: str | None = None
    ) -> dict[str, Any]:
        """The outcome of a command the agent asked for (only its own:
        :class:`~concord.errors.NotFound` otherwise): ``{command_id, command_type, status,
        terminal, result, error, error_class, approval_id}``."""
        return self._agent_value(
            secret, "SELECT concord.agent_command(%s, %s)", (agent_run_id, command_id)
        )

    def join_swarm(self, swarm_run_id: UUID | str, *, secret: str | None = None) -> dict[str, Any]:
        """Apply the swarm's join strategy to its children's statuses and artifacts (spec
        53, 68.3): stores and returns ``{strategy, decision, summary,
        selected_artifact_id, confidence, requires_human_review, ...}`` and moves the
        swarm. :class:`~concord.errors.StateConflict` while children the strategy needs
        are live; joining again returns the stored decision. Once joined, the swarm
        spawns no new agent."""
        return self._agent_value(secret, "SELECT concord.join_swarm(%s)", (swarm_run_id,))

    def join_children(
        self, strategy: str, children: list[dict[str, Any]], options: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The pure join rule (spec 68.3): the decision of ``strategy`` over ``children``
        (``[{agent_run_id, agent_name, agent_role, status, result, artifacts}]``)."""
        return self._value(
            "SELECT concord.join_children(%s, %s, %s)",
            (strategy, Jsonb(children), Jsonb(options or {})),
        )

    # The gateway tools, one function each: the same path, answer and recorded step as
    # submit_agent_action with that tool (the tool must be in the run's allowed_tools).
    # Each returns the gateway's answer; the tool's own answer is in its ``output``.

    def create_artifact(
        self, agent_run_id: UUID | str, artifact: dict[str, Any], *, secret: str | None = None
    ) -> dict[str, Any]:
        """Write an artifact in the agent's swarm (spec 24, 63): ``{artifact_type, name,
        location | content, metadata, parent_artifact_ids, status, score}``; the
        artifact is the answer's ``output``."""
        return self._agent_value(
            secret, "SELECT concord.create_artifact(%s, %s)", (agent_run_id, Jsonb(artifact))
        )

    def read_artifact(
        self, agent_run_id: UUID | str, request: Any, *, secret: str | None = None
    ) -> dict[str, Any]:
        """Read an artifact of the agent's swarm: ``request`` is ``{artifact_id}`` or the
        id itself; the artifact is the answer's ``output``."""
        if not isinstance(request, dict):
            request = {"artifact_id": str(request)}
        return self._agent_value(
            secret, "SELECT concord.read_artifact(%s, %s)", (agent_run_id, Jsonb(request))
        )

    def evaluate_output(
        self, agent_run_id: UUID | str, evaluation: dict[str, Any], *, secret: str | None = None
    ) -> dict[str, Any]:
        """Record a structured evaluation (spec 66) of an artifact of the swarm:
        ``{artifact_id, evaluation_type, decision, confidence, score, issues,
        recommendation}``."""
        return self._agent_value(
            secret, "SELECT concord.evaluate_output(%s, %s)", (agent_run_id, Jsonb(evaluation))
        )

    def write_memory(
        self, agent_run_id: UUID | str, memory: dict[str, Any], *, secret: str | None = None
    ) -> dict[str, Any]:
        """Write a memory within the agent's memory scope (spec 23, 61): active at once
        when confident, consented, not sensitive and not broad, else a candidate awaiting
        approval; outside the scope the answer is ``denied`` (CN004)."""
        return self._agent_value(
            secret, "SELECT concord.write_memory(%s, %s)", (agent_run_id, Jsonb(memory))
        )

    def retrieve_memory(
        self, agent_run_id: UUID | str, query: dict[str, Any], *, secret: str | None = None
    ) -> dict[str, Any]:
        """Retrieve memories within the agent's memory scope: ``{memory_type,
        memory_types, text, limit}`` (a text query needs ``allow_semantic_retrieval``)."""
        return self._agent_value(
            secret, "SELECT concord.retrieve_memory(%s, %s)", (agent_run_id, Jsonb(query))
        )

    # -- memory for applications (spec 23: the PostgresMemoryStore's calls) ---------------

    def remember(self, memory: dict[str, Any], actor: str) -> dict[str, Any]:
        """Write a memory ``{subject_type, subject_id, memory_type, content, memory_key,
        confidence, consent, sensitive, expires_at | ttl_seconds, metadata,
        idempotency_key}`` as ``actor`` (a ``concord.write_memory`` command through the
        memory_write policy): active at once, superseding the active memory of the same
        key, or a candidate awaiting approval. Returns ``{memory_id, status, command_id,
        command_status, approval_id, superseded_memory_id, decision, reasons}``; raises
        :class:`~concord.errors.InvalidPayload` listing every problem."""
        return self._value("SELECT concord.remember(%s, %s)", (Jsonb(memory), actor))

    def get_memory(self, memory_id: UUID | str) -> dict[str, Any]:
        """One memory, whatever its status (a deleted one has no content); raises
        :class:`~concord.errors.NotFound`."""
        return self._value("SELECT concord.get_memory(%s)", (memory_id,))

    def search_memory(
        self, scope: dict[str, Any], query: str | None = None, max_results: int = 10
    ) -> dict[str, Any]:
        """Active, unexpired memories of the scope's subject and allowed types (``{subject_type,
        subject_id, allowed_memory_types, allow_semantic_retrieval, max_results}``), newest
        first, or ranked by full-text search for ``query`` (which needs
        ``allow_semantic_retrieval``: :class:`~concord.errors.ScopeViolation`); at most
        ``max_results`` and the scope's own. Returns ``{memories, count}``."""
        return self._value(
            "SELECT concord.search_memory(%s, %s, %s)", (Jsonb(scope), query, max_results)
        )

    def supersede_memory(
        self, old_memory_id: UUID | str, new_memory_id: UUID | str, actor: str
    ) -> dict[str, Any]:
        """Mark the active memory ``old_memory_id`` superseded by ``new_memory_id`` (same
        subject and type), which becomes active. Idempotent. Returns ``{old_memory_id,
        old_status, new_memory_id, new_status, also_superseded_memory_id}``."""
        return self._value(
            "SELECT concord.supersede_memory(%s, %s, %s)", (old_memory_id, new_memory_id, actor)
        )

    def forget_memory(self, memory_id: UUID | str, actor: str) -> dict[str, Any]:
        """Forget a memory: status ``deleted``, content cleared (the row and its audit
        stay); a write still awaiting approval is cancelled. Idempotent. Returns the
        memory with ``previous_status``."""
        return self._value("SELECT concord.forget_memory(%s, %s)", (memory_id, actor))

    def expire_memories(self, at: datetime | None = None) -> int:
        """Expire the memories whose ``expires_at`` is at or before ``at`` (default: the
        server's ``now()``); returns how many."""
        if at is None:
            return self._value("SELECT concord.expire_memories()", ())
        return self._value("SELECT concord.expire_memories(%s)", (at,))

    # -- domain registry (spec 103-121) -------------------------------------------

    def create_registry_entity(
        self,
        entity_type: str,
        name: str,
        display_name: str,
        owner: str,
        *,
        description: str | None = None,
        domain: str | None = None,
        organisation: str | None = None,
    ) -> UUID:
        """Create a registry entity of one of the twelve types (``command_type``, ``skill``,
        ``tool``, ``connector``, ...) and return its id; creating it again returns the same
        id. ``organisation`` defaults to the chosen project's (an operator without one
        creates a platform entity). The caller is an owner or admin of that organisation
        (:class:`~concord.errors.NotPermitted` otherwise). Recorded as a
        ``concord.registry.create_entity`` command."""
        return self._value(
            "SELECT concord.create_registry_entity(%s, %s, %s, %s, %s, %s, %s)",
            (entity_type, name, display_name, owner, description, domain, organisation),
        )

    def create_registry_version(
        self,
        entity_type: str,
        name: str,
        version: str,
        manifest: dict[str, Any],
        *,
        artifact_refs: list[dict[str, Any]] | None = None,
    ) -> UUID:
        """Create a draft version of an entity and return its id (the same version with the
        same manifest again returns the first). The manifest is checked against its type
        (:class:`~concord.errors.InvalidPayload` lists every problem), its change classified
        against the latest published version and its number checked against the change
        (:class:`~concord.errors.IncompatibleVersion`)."""
        return self._value(
            "SELECT concord.create_registry_version(%s, %s, %s, %s, %s)",
            (entity_type, name, version, Jsonb(manifest), Jsonb(artifact_refs or [])),
        )

    def validate_registry_version(self, version_id: UUID | str) -> dict[str, Any]:
        """Validate a draft: its manifest, that its required relationships resolve to
        published versions, its compatibility. Answers ``{version_id, status, valid,
        problems, change_class, change_reasons, high_risk_changes, approval_required,
        ...}``; a valid draft becomes ``validated``."""
        return self._value("SELECT concord.validate_registry_version(%s)", (version_id,))

    def publish_registry_version(
        self, version_id: UUID | str, *, wait: float | None = None
    ) -> dict[str, Any]:
        """Publish a version (validated first when it is a draft) through a
        ``concord.registry.publish_version`` command that a DBOS worker runs; a high-risk
        version first waits for another owner of its organisation to approve it. Answers
        ``{command_id, command_status, approval_id, result, error, version}``. With
        ``wait`` (seconds), waits that long for the command's outcome and answers the final
        one (see :meth:`_registry_wait`)."""
        answer = self._value("SELECT concord.publish_registry_version(%s)", (version_id,))
        return self._registry_wait(answer, wait)

    def bind_registry_version(
        self,
        version_id: UUID | str,
        binding_scope: str,
        binding_target: str | None,
        *,
        environment: str | None = None,
        rollout_strategy: str = "pinned",
        rollout_config: dict[str, Any] | None = None,
        wait: float | None = None,
    ) -> dict[str, Any]:
        """Bind a published version at a scope (``user``, ``team``, ``tenant``,
        ``workflow_type``, ``command_type``, ``agent_role``, ``agent_name``, ``app``,
        ``environment`` or ``global``) and target, in ``environment`` (default: the
        database's), pinned or canary (``rollout_config`` ``{"percent": 0-100, "subject":
        "user" | "tenant" | "app"}``), through a ``concord.registry.bind_version`` command a
        worker runs. Answers ``{command_id, command_status, approval_id, result, error}``;
        ``result`` holds ``binding_id`` once it ran (``wait``: see
        :meth:`publish_registry_version`)."""
        answer = self._value(
            "SELECT concord.bind_registry_version(%s, %s, %s, %s, %s, %s)",
            (
                version_id,
                binding_scope,
                binding_target,
                environment,
                rollout_strategy,
                None if rollout_config is None else Jsonb(rollout_config),
            ),
        )
        return self._registry_wait(answer, wait)

    def rollback_registry_binding(
        self,
        binding_id: UUID | str,
        target_version_id: UUID | str,
        reason: str,
        *,
        wait: float | None = None,
    ) -> dict[str, Any]:
        """Point an active binding back at a prior (published or deprecated) version of its
        entity, with a reason, through a ``concord.registry.rollback_binding`` command a
        worker runs. Answers as :meth:`bind_registry_version` (``wait`` likewise)."""
        answer = self._value(
            "SELECT concord.rollback_registry_binding(%s, %s, %s)",
            (binding_id, target_version_id, reason),
        )
        return self._registry_wait(answer, wait)

    def deprecate_registry_version(self, version_id: UUID | str, reason: str) -> dict[str, Any]:
        """Deprecate a published version: it still resolves, with a warning, and takes no
        new binding. Runs at once (a ``concord.registry.deprecate_version`` command run by
        the kernel); answers the version."""
        return self._value(
            "SELECT concord.deprecate_registry_version(%s, %s)", (version_id, reason)
        )

    def retire_registry_version(
        self,
        version_id: UUID | str,
        reason: str,
        *,
        emergency: bool = False,
        migrate_to_version_id: UUID | str | None = None,
        wait: float | None = None,
    ) -> dict[str, Any]:
        """Retire a version: it never resolves again, its active bindings are migrated to
        ``migrate_to_version_id`` (a published version of the same entity) or disabled, and
        its owners are notified, through a ``concord.registry.retire_version`` command a
        worker runs. ``emergency=True`` retires it in this very call (resolution is refused
        from its commit on) and records a ``registry_incident``; the worker then notifies
        the owners. Answers ``{command_id, command_status, approval_id, result, error,
        version?}`` (``wait``: see :meth:`publish_registry_version`)."""
        answer = self._value(
            "SELECT concord.retire_registry_version(%s, %s, %s, %s)",
            (version_id, reason, emergency, migrate_to_version_id),
        )
        return self._registry_wait(answer, wait)

    def reject_registry_version(self, version_id: UUID | str, reason: str) -> dict[str, Any]:
        """Withdraw a version that is not published (draft, validated, pending_approval or
        approved) for good, with a reason; answers the version."""
        return self._value("SELECT concord.reject_registry_version(%s, %s)", (version_id, reason))

    def _registry_wait(self, answer: dict[str, Any], wait: float | None) -> dict[str, Any]:
        """``answer`` of an asynchronous registry call, or, with ``wait`` seconds, its final
        form: the command's outcome once it finished or waits for an approval (or when the
        budget ran out) in ``command_status``, ``result``, ``error``, ``approval_id``, plus
        ``finished`` and ``timed_out``; a publication's ``version`` is its result once
        published. A command that is already settled is answered at once."""
        if wait is None or not answer.get("command_id"):
            return answer
        outcome = self.await_command(answer["command_id"], timeout=wait)
        final = {
            **answer,
            "command_status": outcome.status,
            "result": outcome.result,
            "error": outcome.error,
            "error_class": outcome.error_class,
            "approval_id": str(outcome.approval_id) if outcome.approval_id else None,
            "finished": outcome.finished,
            "timed_out": outcome.timed_out,
        }
        if (
            outcome.command_type == "concord.registry.publish_version"
            and outcome.status == "succeeded"
            and isinstance(outcome.result, dict)
        ):
            final["version"] = outcome.result
        return final

    def resolve_command_type_contract(
        self,
        command_type: str,
        context: dict[str, Any] | None = None,
        environment: str | None = None,
    ) -> dict[str, Any]:
        """The command type contract in force for the caller (spec 112): ``{resolved,
        entity_id, version_id, version, status, deprecated, manifest, checksum, binding,
        explanation}``, the explanation listing every binding considered and why it matched
        or not. ``context`` may add ``workflow_type``, ``agent_role``, ``agent_name`` (an
        identity in it is refused). Raises :class:`~concord.errors.ContractUnavailable`
        when nothing usable resolves (retired, unbound)."""
        return self._value(
            "SELECT concord.resolve_command_type_contract(%s, %s, %s)",
            (command_type, Jsonb(context or {}), environment),
        )

    def resolve_registry_entity(
        self,
        entity_type: str,
        name: str,
        context: dict[str, Any] | None = None,
        environment: str | None = None,
    ) -> dict[str, Any]:
        """The version of any registry entity in force for the caller: as
        :meth:`resolve_command_type_contract`, for an entity of any type."""
        return self._value(
            "SELECT concord.resolve_registry_entity(%s, %s, %s, %s)",
            (entity_type, name, Jsonb(context or {}), environment),
        )

    def resolve_agent_runtime_manifest(
        self,
        agent_run_id: UUID | str | None,
        agent_name: str | None = None,
        agent_role: str | None = None,
        context: dict[str, Any] | None = None,
        environment: str | None = None,
        *,
        secret: str | None = None,
    ) -> dict[str, Any]:
        """The minimized runtime manifest of an agent (spec 112.4): only the skills, tools,
        connectors, memory and artifact scopes it may use, with no drafts, retired versions,
        other tenants' entities or secrets. For a run (``agent_run_id``), or for an
        ``agent_name``/``agent_role`` in the caller's project; ``secret`` acts as the run's
        agent (an agent reads its own run's manifest only)."""
        return self._agent_value(
            secret,
            "SELECT concord.resolve_agent_runtime_manifest(%s, %s, %s, %s, %s)",
            (agent_run_id, agent_name, agent_role, Jsonb(context or {}), environment),
        )

    def can_use_capability(
        self,
        source_version_id: UUID | str,
        relationship_type: str,
        target_entity_type: str,
        target_entity_name: str,
        context: dict[str, Any] | None = None,
    ) -> bool:
        """Whether a registry version may use a capability: it is published or deprecated,
        declares ``relationship_type`` (``uses_tool``, ``invokes_connector_operation``,
        ...) to the target, and the target resolves for the caller within the
        relationship's version constraint. :meth:`explain_capability_use` says why."""
        return self._value(
            "SELECT concord.can_use_capability(%s, %s, %s, %s, %s)",
            (
                source_version_id,
                relationship_type,
                target_entity_type,
                target_entity_name,
                Jsonb(context or {}),
            ),
        )

    def explain_capability_use(
        self,
        source_version_id: UUID | str,
        relationship_type: str,
        target_entity_type: str,
        target_entity_name: str,
        context: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Why :meth:`can_use_capability` answers as it does: ``{allowed, why, source,
        relationships, resolution}``."""
        return self._value(
            "SELECT concord.explain_capability_use(%s, %s, %s, %s, %s)",
            (
                source_version_id,
                relationship_type,
                target_entity_type,
                target_entity_name,
                Jsonb(context or {}),
            ),
        )

    def registry_impact(
        self, target_type: str, target_name: str, target_version: str | None = None
    ) -> list[dict[str, Any]]:
        """What breaks if a capability changes (spec 116): every published or deprecated
        version that depends on it, transitively (up to depth 10), as rows ``{depth,
        entity_type, name, version, version_id, status, relationship_type, required,
        active_bindings, via}``; with ``target_version``, only through edges whose version
        range holds it."""
        return self._all(
            "SELECT * FROM concord.registry_impact(%s, %s, %s)",
            (target_type, target_name, target_version),
        )

    def registry_entities(
        self,
        entity_type: str | None = None,
        name: str | None = None,
        organisation: str | None = None,
    ) -> list[dict[str, Any]]:
        """The registry entities the caller may see (``concord.registry_entity_versions``:
        platform entities and those of its organisations), one row each, by type and name:
        ``{entity_id, entity_type, name, organisation, owner, versions, latest_version,
        published_versions}``. ``entity_type``, ``name`` and ``organisation`` filter
        (exactly); an entity is listed once it has a version."""
        return self._all(
            """
            SELECT entity_id, entity_type, entity AS name, organisation, owner,
                   count(*)::integer AS versions,
                   (array_agg(version ORDER BY created_at DESC, version_id))[1] AS latest_version,
                   coalesce(array_agg(version ORDER BY created_at)
                            FILTER (WHERE status IN ('published', 'deprecated')), '{}')
                       AS published_versions
            FROM concord.registry_entity_versions
            WHERE (%(type)s::text IS NULL OR entity_type = %(type)s)
              AND (%(name)s::text IS NULL OR entity = %(name)s)
              AND (%(org)s::text IS NULL OR organisation = %(org)s)
            GROUP BY entity_id, entity_type, entity, organisation, owner
            ORDER BY entity_type, entity
            """,
            {"type": entity_type, "name": name, "org": organisation},
        )

    def registry_entity(self, entity_type: str, name: str) -> dict[str, Any]:
        """One registry entity the caller may see: ``{entity_type, name, entity_id,
        organisation, owner, versions, bindings}``, its versions (oldest first, from
        ``concord.registry_entity_versions``: status, change class, checksum, lifecycle
        times) and its active bindings (``concord.registry_active_bindings``). Raises
        :class:`~concord.errors.NotFound` (``the_registry_entity_exists``) for an entity
        that does not exist, is another organisation's or has no version yet."""
        versions = self._all(
            "SELECT * FROM concord.registry_entity_versions"
            " WHERE entity_type = %s AND entity = %s ORDER BY created_at, version_id",
            (entity_type, name),
        )
        if not versions:
            raise NotFound(
                f"no registry entity {entity_type} {name} (none you may see, with a version)",
                rule="the_registry_entity_exists",
                hint="`concord registry list` (GET /registry/entities) lists the entities "
                "you may see.",
            )
        bindings = self._all(
            "SELECT * FROM concord.registry_active_bindings"
            " WHERE entity_type = %s AND entity = %s ORDER BY created_at, binding_id",
            (entity_type, name),
        )
        first = versions[0]
        return {
            "entity_type": entity_type,
            "name": name,
            "entity_id": first["entity_id"],
            "organisation": first["organisation"],
            "owner": first["owner"],
            "versions": versions,
            "bindings": bindings,
        }

    def registry_version(self, version_id: UUID | str) -> dict[str, Any]:
        """One registry version with its manifest, relationships and artifacts
        (``concord.registry_version``). Raises :class:`~concord.errors.NotFound`
        (``the_registry_version_exists``) for one the caller may not see."""
        return self._value("SELECT concord.registry_version(%s)", (version_id,))

    def commands_under_contract(self, version_id: UUID | str) -> list[dict[str, Any]]:
        """The commands judged under a command type contract version, oldest first, as rows
        ``{command_id, command_type, status, created_at, requested_by, project_id}`` (those
        the caller may see)."""
        return self._all("SELECT * FROM concord.commands_under_contract(%s)", (version_id,))

    def registry_manifest_problems(
        self, entity_type: str, manifest: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Every problem of a manifest of a registry type, as ``[{path, message, kind}]``
        (empty when it is valid). Writes nothing."""
        return list(
            self._value(
                "SELECT concord.registry_manifest_problems(%s, %s)", (entity_type, Jsonb(manifest))
            )
        )

    def registry_classify_change(
        self, entity_type: str, old: dict[str, Any] | None, new: dict[str, Any]
    ) -> dict[str, Any]:
        """How ``new`` changes the contract of ``old`` (spec 110): ``{change_class: initial
        | doc | additive | breaking, reasons, high_risk_changes}``."""
        return self._value(
            "SELECT concord.registry_classify_change(%s, %s, %s)",
            (entity_type, None if old is None else Jsonb(old), Jsonb(new)),
        )

    def registry_json_schema_change(
        self, old: dict[str, Any], new: dict[str, Any], direction: str = "full"
    ) -> dict[str, Any]:
        """Every change from one JSON Schema to another, each breaking, additive or doc
        with its JSON Pointer; ``direction`` is ``input``, ``output`` or ``full``."""
        return self._value(
            "SELECT concord.registry_json_schema_change(%s, %s, %s)",
            (Jsonb(old), Jsonb(new), direction),
        )

    def registry_version_range(self, version_constraint: str) -> str:
        """A version constraint (``^1.2``, ``>=1.2 <2``, ``~1.4.0``, ...) as a semver range,
        in its text form; :class:`~concord.errors.InvalidPayload` when it does not parse."""
        return self._value("SELECT concord.registry_version_range(%s)::text", (version_constraint,))

    def registry_version_satisfies(self, version: str, version_constraint: str) -> bool:
        """Whether ``version`` lies within ``version_constraint``."""
        return self._value(
            "SELECT concord.registry_version_satisfies(%s, %s)", (version, version_constraint)
        )

    def registry_checksum(self, manifest: dict[str, Any]) -> str:
        """The checksum a version of this manifest gets: ``sha256:<hex>`` of its canonical
        JSON (:meth:`registry_canonical_json`)."""
        return self._value("SELECT concord.registry_checksum(%s)", (Jsonb(manifest),))

    def registry_canonical_json(self, document: Any) -> str:
        """The canonical JSON text of ``document`` (sorted keys, no insignificant space)
        over which checksums are computed."""
        return self._value("SELECT concord.registry_canonical_json(%s)", (Jsonb(document),))

    def registry_subject_bucket(self, binding_id: UUID | str, subject: str) -> int:
        """The sticky bucket (0-9999) a subject (a principal, organisation or project name)
        falls in for a canary binding: a subject always lands on the same side of it."""
        return self._value("SELECT concord.registry_subject_bucket(%s, %s)", (binding_id, subject))

    def registry_manifest_relationships(
        self, entity_type: str, manifest: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The relationships a manifest declares, as a version of it would record them:
        ``[{relationship_type, target_entity_type, target_entity_name, version, required,
        metadata}]``. Writes nothing."""
        return list(
            self._value(
                "SELECT concord.registry_manifest_relationships(%s, %s)",
                (entity_type, Jsonb(manifest)),
            )
        )

    # -- audit retention -----------------------------------------------------------

    def set_audit_retention(self, retain_for: timedelta | str | None) -> Any:
        """Keep the audit trail for ``retain_for`` (a ``timedelta`` or an interval such as
        ``'400 days'``; ``None`` keeps everything). Operators only
        (:class:`~concord.errors.NotPermitted` otherwise). Returns the age set."""
        return self._value("SELECT concord.set_audit_retention(%s::interval)", (retain_for,))

    def audit_partitions(self) -> list[dict[str, Any]]:
        """The audit trail's partitions: ``partition_name``, ``range_from``, ``range_to``,
        ``estimated_rows`` and ``is_due`` (past the retention age). Operators only."""
        return self._all("SELECT * FROM concord.audit_partitions()", ())

    def maintain_audit_partitions(self, months_ahead: int = 2) -> int:
        """Create the audit trail's month partitions up to ``months_ahead`` months ahead and
        empty its default partition; returns how many partitions were created."""
        return self._value("SELECT concord.maintain_audit_partitions(%s)", (months_ahead,))

    def retain_audit(self, folder: str | os.PathLike[str]) -> list[Any]:
        """Export every audit partition past the retention age to ``folder`` (a CSV file a
        partition, ``<partition>.csv``, and its ``<partition>.csv.sha256``) and drop it, each
        in its own transaction (see :mod:`concord.audit_retention`). Returns a
        :class:`~concord.audit_retention.RetainedPartition` per partition dropped; raises
        the refusal of ``concord.drop_audit_partition`` (that partition stays, and its files
        are removed), after the partitions before it were dropped."""
        from pathlib import Path

        from .audit_retention import due_partitions, export_and_drop

        target = Path(folder)
        with self._cursor() as cur:
            cur.row_factory = tuple_row
            due = due_partitions(cur)
        done = []
        for name in due:
            with self._cursor() as cur:
                cur.row_factory = tuple_row
                retained = export_and_drop(cur, name, target)
            if retained is not None:
                done.append(retained)
        return done
