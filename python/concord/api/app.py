"""Concord's REST API (spec 36): an ASGI application whose every route is one SQL function
called as the authenticated principal. The caller presents an API token
(``Authorization: Bearer cct_...``); each request's transaction starts with
``concord.authenticate(token)``, so the database decides who acts and what they see, and no
rule lives here. ``Concord-Project: org/project`` chooses the project new commands go to.

FastAPI, because it gives the OpenAPI document, request validation and a threadpool for
psycopg's blocking pool without code of ours; uvicorn serves it (``concord api``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from uuid import UUID

import psycopg
from fastapi import Body, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import console
from ..client import Client
from ..errors import ConcordError, InvalidArgument, NotFound, NotPermitted
from ..secrets import SecretUnavailable, read_secret
from . import problems, registry_routes
from .principal import Caller
from .webhooks import MAX_BODY_BYTES, event, load_sources, signed_by

API_VERSION = "1"
logger = logging.getLogger("concord.api")
# What the API needs of its database, as one answer: NULL when ready, else what is missing.
READINESS = """
SELECT CASE
    WHEN to_regnamespace('concord') IS NULL THEN 'Concord is not installed in this database'
    WHEN NOT pg_has_role(current_user, 'concord_app', 'MEMBER')
        THEN format('the login %%s does not hold concord_app', current_user)
    WHEN NOT pg_has_role(current_user, 'concord_approver', 'MEMBER')
        THEN format('the login %%s does not hold concord_approver', current_user)
END
"""


class SubmitRequest(BaseModel):
    """A command to submit (spec 36 "Submit command")."""

    model_config = ConfigDict(extra="forbid")
    command_type: str = Field(description="A registered command type.")
    payload: Any = Field(default_factory=dict, description="The command's input.")
    context: dict[str, Any] = Field(default_factory=dict, description="Free context.")
    idempotency_key: str | None = Field(
        default=None, description="Also accepted as the Idempotency-Key header."
    )
    cancellation_mode: str | None = Field(
        default=None, description="graceful or compensate_then_stop."
    )
    ingress: Literal["api", "user_request"] = Field(
        default="api",
        description="How the request came: a program (api) or a person in a UI (user_request); "
        "webhooks, schedules and agents have their own routes.",
    )


class BatchItem(BaseModel):
    """One command of a batch."""

    model_config = ConfigDict(extra="forbid")
    command_type: str = Field(description="A registered command type.")
    payload: Any = Field(default_factory=dict, description="The command's input.")
    context: dict[str, Any] = Field(default_factory=dict, description="Free context.")
    idempotency_key: str | None = Field(default=None, description="This command's own key.")
    cancellation_mode: str | None = Field(
        default=None, description="graceful or compensate_then_stop."
    )
    ingress: Literal["api", "user_request"] = Field(default="api")


class BatchRequest(BaseModel):
    """Many commands in one call (``concord.submit_commands``)."""

    model_config = ConfigDict(extra="forbid")
    commands: list[BatchItem] = Field(description="1 to 1000 commands, answered in order.")
    all_or_nothing: bool = Field(
        default=False,
        description="Refuse the whole batch at the first refused command (nothing submitted); "
        "otherwise a refused command answers its refusal and the others stand.",
    )


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = None
    mode: str | None = Field(default=None, description="graceful or compensate_then_stop.")


class RetryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = None


class InputRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    payload_patch: dict[str, Any] = Field(description="RFC 7396 merge patch of the payload.")


class ResolveRequest(BaseModel):
    """Spec 36 "Resolve approval"."""

    model_config = ConfigDict(extra="forbid")
    decision: str = Field(description="approved, rejected or request_changes.")
    reason: str | None = None


def create_app(
    dsn: str | None = None, *, pool_size: int = 8, webhooks: str | Path | None = None
) -> FastAPI:
    """The ASGI application on database ``dsn`` (default ``$CONCORD_DSN``): a login that
    holds ``concord_app`` and ``concord_approver`` and speaks for no principal, so that only
    tokens say who acts. ``webhooks`` (default ``$CONCORD_WEBHOOKS``) is the webhook sources
    file (:mod:`concord.api.webhooks`); a file with problems refuses to start."""
    sources = load_sources(webhooks if webhooks is not None else os.environ.get("CONCORD_WEBHOOKS"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.client = Client(dsn, min_size=1, max_size=pool_size)
        try:
            yield
        finally:
            await console.shutdown(app)
            app.state.client.close()

    app = FastAPI(
        title="Concord",
        version=API_VERSION,
        description=__doc__,
        lifespan=lifespan,
    )
    app.add_exception_handler(ConcordError, problems.concord_error_handler)
    app.add_exception_handler(psycopg.Error, problems.database_error_handler)
    app.add_exception_handler(RequestValidationError, problems.validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, problems.http_error_handler)
    app.add_exception_handler(Exception, problems.unexpected_error_handler)
    app.include_router(registry_routes.router)

    @app.get("/health", tags=["operations"])
    def health() -> dict[str, str]:
        """The process is up (no database call)."""
        return {"status": "ok"}

    @app.get("/ready", tags=["operations"], responses=problems.responses(503))
    def ready(request: Request) -> Response:
        """The database answers, Concord is installed in it and the API's login holds the
        roles its routes call (concord_app, concord_approver): 200, else 503 saying which."""
        try:
            missing = request.app.state.client._value(READINESS, ())
        except psycopg.Error:
            missing = "the database does not answer"
        if missing:
            return problems.problem(503, "NotReady", missing, instance="/ready")
        return problems.JSONResponse({"status": "ready"})

    @app.post(
        "/commands",
        tags=["commands"],
        status_code=201,
        responses={200: {"description": "A replay of an idempotency key: the original command."}}
        | problems.responses(*problems.CHANGE),
    )
    def submit_command(
        request: SubmitRequest,
        response: Response,
        client: Caller,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        """Submit a command as the caller (``concord.submit_command``). 201 with the new
        command; 200 with the original for a replayed idempotency key (header
        ``Idempotency-Key`` or body ``idempotency_key``); 409 when the key was used for a
        different request."""
        if idempotency_key and request.idempotency_key not in (None, idempotency_key):
            raise InvalidArgument(
                "the Idempotency-Key header and the body's idempotency_key differ",
                rule="one_idempotency_key_per_request",
                hint="Send the key once, in the header or in the body.",
            )
        key = idempotency_key or request.idempotency_key
        result = client.submit_command(
            request.command_type,
            request.payload,
            None,
            ingress=request.ingress,
            context=request.context,
            idempotency_key=key,
            cancellation_mode=request.cancellation_mode,
        )
        response.status_code = 201 if result.created else 200
        response.headers["Location"] = f"/commands/{result.command_id}"
        return {
            "command_id": result.command_id,
            "state": result.status,
            "status": result.status,
            "trace_id": result.trace_id,
            "created": result.created,
            "errors": result.errors,
        }

    @app.post(
        "/commands/batch", tags=["commands"], responses=problems.responses(*problems.CHANGE)
    )
    def submit_commands(request: BatchRequest, client: Caller) -> dict[str, Any]:
        """Submit 1 to 1000 commands as the caller in one call (``concord.submit_commands``),
        each as if submitted alone (its own idempotency key, validation, policies, audit):
        200 with one result per command in order, ``refusal`` set for a refused one. With
        ``all_or_nothing`` the first refusal is the answer (4xx) and nothing is submitted."""
        results = client.submit_commands(
            [item.model_dump(exclude_none=True) for item in request.commands],
            all_or_nothing=request.all_or_nothing,
        )
        return {"results": results}

    @app.get("/commands", tags=["commands"], responses=problems.responses(*problems.CALLER))
    def list_commands(
        client: Caller,
        status: str | None = None,
        command_type: str | None = None,
        project: str | None = None,
        requested_by: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """The commands the caller may see, newest first (``concord.list_commands``); pass
        ``next_cursor`` as ``cursor`` for the next page."""
        return client.list_commands(
            status=status,
            command_type=command_type,
            project=project,
            requested_by=requested_by,
            created_after=created_after,
            created_before=created_before,
            page_size=limit,
            after=cursor,
        )

    @app.get(
        "/commands/{command_id}", tags=["commands"], responses=problems.responses(*problems.CALLER)
    )
    def get_command(command_id: UUID, client: Caller) -> dict[str, Any]:
        """The command with its dependencies, effects and allowed next statuses
        (``concord.get_command``); 404 for one the caller may not see."""
        return client._value("SELECT concord.get_command(%s)", (command_id,))

    @app.get(
        "/commands/{command_id}/timeline",
        tags=["commands"],
        responses=problems.responses(*problems.CALLER),
    )
    def command_timeline(command_id: UUID, client: Caller) -> list[dict[str, Any]]:
        """Every event of the command in order (``concord.command_timeline``)."""
        return client._all("SELECT * FROM concord.command_timeline(%s)", (command_id,))

    @app.get(
        "/commands/{command_id}/explain",
        tags=["commands"],
        responses=problems.responses(*problems.CALLER),
    )
    def explain(command_id: UUID, client: Caller) -> dict[str, Any]:
        """Why the command is where it is and what would move it (``concord.explain``)."""
        return client.explain(command_id)

    @app.post(
        "/commands/{command_id}/cancel",
        tags=["commands"],
        responses=problems.responses(*problems.CHANGE),
    )
    def cancel_command(
        command_id: UUID,
        client: Caller,
        request: Annotated[CancelRequest | None, Body()] = None,
    ) -> dict[str, Any]:
        """Cancel the command as the caller (``concord.cancel_command``)."""
        request = request or CancelRequest()
        status = client.cancel_command(command_id, None, reason=request.reason, mode=request.mode)
        return {"command_id": command_id, "status": status}

    @app.post(
        "/commands/{command_id}/retry",
        tags=["commands"],
        responses=problems.responses(*problems.CHANGE),
    )
    def retry_command(
        command_id: UUID,
        client: Caller,
        request: Annotated[RetryRequest | None, Body()] = None,
    ) -> dict[str, Any]:
        """Queue a failed command again (``concord.retry_command``): an owner or admin of its
        project, within its type's max_attempts; 409 for a command that is not failed."""
        reason = (request or RetryRequest()).reason
        status = client.retry_command(command_id, reason)
        return {"command_id": command_id, "status": status}

    @app.post(
        "/commands/{command_id}/input",
        tags=["commands"],
        responses=problems.responses(*problems.CHANGE),
    )
    def provide_input(command_id: UUID, request: InputRequest, client: Caller) -> dict[str, Any]:
        """Give a command waiting for input what it asked for (``concord.provide_input``):
        its requester only."""
        return client._value(
            "SELECT concord.provide_input(%s, %s, NULL)",
            (command_id, Jsonb(request.payload_patch)),
        )

    @app.get("/approvals", tags=["approvals"], responses=problems.responses(*problems.CALLER))
    def approval_inbox(client: Caller) -> list[dict[str, Any]]:
        """The approvals the caller may decide now, oldest first (``concord.approval_inbox``)."""
        return client.approval_inbox()

    @app.post(
        "/approvals/{approval_id}/resolve",
        tags=["approvals"],
        responses=problems.responses(*problems.CHANGE),
    )
    def resolve_approval(
        approval_id: UUID, request: ResolveRequest, client: Caller
    ) -> dict[str, Any]:
        """Decide an approval as the caller (``concord.resolve_approval``)."""
        return client._value(
            "SELECT concord.resolve_approval(%s, %s, NULL, %s)",
            (approval_id, request.decision, request.reason),
        )

    @app.post(
        "/webhooks/{source}",
        tags=["webhooks"],
        status_code=202,
        responses={200: {"description": "A redelivery: the command it made before."}}
        | problems.responses(401, 403, 404, 409, 413, 422, 503),
    )
    async def receive_webhook(source: str, request: Request, response: Response) -> dict[str, Any]:
        """A signed delivery of webhook source ``source`` becomes a command (ingress
        ``webhook``; idempotency key ``webhook:<source>:<delivery id>``) submitted as the
        source's principal: 202 with the new command, 200 with the same one for a
        redelivery; 401 for a missing or wrong signature, 404 for an unknown source, 413
        above 1 MiB, 422 without a delivery id or a JSON body."""
        configured = sources.get(source)
        if configured is None:
            raise NotFound(
                f"no webhook source {source!r} is configured",
                rule="the_webhook_source_exists",
                hint="Sources are listed in the file $CONCORD_WEBHOOKS names.",
            )
        if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
            return problems.problem(413, "PayloadTooLarge", "a delivery holds at most 1 MiB")
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return problems.problem(413, "PayloadTooLarge", "a delivery holds at most 1 MiB")
        try:
            secret, token = read_secret(configured.secret), read_secret(configured.token)
        except SecretUnavailable as exc:
            logger.error("webhook source %s: %s", source, exc)
            return problems.problem(
                503, "SourceUnavailable", f"webhook source {source} cannot read its secrets now"
            )
        if not signed_by(secret, body, request.headers.get(configured.signature_header)):
            raise NotPermitted(
                f"the delivery is not signed by webhook source {source}",
                rule="a_webhook_is_signed_by_its_source",
                hint=f"Send {configured.signature_header}: sha256=<hex HMAC-SHA256 of the body>.",
            )
        delivery = (request.headers.get(configured.delivery_header) or "").strip()
        if not delivery:
            raise InvalidArgument(
                f"the delivery has no {configured.delivery_header} header",
                rule="a_webhook_names_its_delivery",
            )
        try:
            payload = event(body)
        except ValueError:
            raise InvalidArgument(
                "the delivery's body is not JSON", rule="a_webhook_body_is_json"
            ) from None
        client = request.app.state.client.acting_as(token, configured.project)
        result = await run_in_threadpool(
            client.submit_command,
            configured.command_type,
            payload,
            None,
            ingress="webhook",
            context={"webhook": {"source": source, "delivery": delivery}},
            idempotency_key=f"webhook:{source}:{delivery}",
        )
        response.status_code = 202 if result.created else 200
        return {
            "command_id": result.command_id,
            "status": result.status,
            "trace_id": result.trace_id,
            "created": result.created,
        }

    problems.document_problems(app)
    console.install(app)
    return app


def app_from_environment() -> FastAPI:
    """``uvicorn concord.api.app:app_from_environment --factory``: the app on $CONCORD_DSN."""
    return create_app()
