"""The console's pages: sign-in, the approvals inbox, commands (list, page, live updates) and
swarms. Each page is one or two SQL calls as the signed-in person; a decision is a form
posted back with the session's CSRF secret."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from ..api import problems
from ..errors import ConcordError, NotFound
from .live import CommandEvents
from .pages import (
    SECURITY_HEADERS,
    Person,
    check_csrf,
    check_sign_in_secret,
    redirect,
    render,
    sessions_of,
    set_console_cookie,
    sign_in_form,
    viewer,
)
from .sessions import COOKIE, SIGN_IN_COOKIE

router = APIRouter(prefix="/console", include_in_schema=False)

DECISIONS = ("approved", "rejected", "request_changes")
TERMINAL = ("succeeded", "failed", "cancelled", "rejected", "expired")
# how long one live-update stream stays open; the browser opens the next one by itself
STREAM_SECONDS = 300.0
KEEPALIVE_SECONDS = 15.0
SUBSCRIBE_SECONDS = 10.0
# The swarms page: the newest 200 swarms (bench/scale_bench.py measures this statement).
SWARMS_LIST = (
    "SELECT swarm_run_id, swarm_name, swarm_status, agents, created_at AS started_at, "
    "completed_at FROM concord.swarm_summaries "
    "ORDER BY created_at DESC, swarm_run_id DESC LIMIT 200"
)


def live_events(app: FastAPI) -> CommandEvents:
    """The process's one listener for live updates, started at its first use."""
    if getattr(app.state, "console_events", None) is None:
        app.state.console_events = CommandEvents(app.state.client._pool.conninfo)
    return app.state.console_events


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a console page, never another site."""
    if target and target.startswith("/console/") and not target.startswith("/console//"):
        return target
    return "/console/approvals"


@router.get("")
@router.get("/")
def home() -> RedirectResponse:
    return redirect("/console/approvals")


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> HTMLResponse:
    return sign_in_form(request, next=_safe_next(next), error=None)


@router.post("/sign-in")
def sign_in(
    request: Request,
    token: Annotated[str, Form(max_length=500)],
    next: Annotated[str | None, Form(max_length=2000)] = None,
    csrf: Annotated[str | None, Form()] = None,
) -> Response:
    """A valid API token, posted by the console's own sign-in form, opens a session; the
    token stays in the server."""
    check_sign_in_secret(request, csrf)
    try:
        principal = request.app.state.client.acting_as(token.strip()).current_principal()
    except ConcordError as exc:
        principal, error = None, exc.message
    else:
        error = None if principal else "this token names no principal"
    if principal is None:
        return sign_in_form(request, status_code=401, next=_safe_next(next), error=error)
    session_id = sessions_of(request).open(token.strip(), principal)
    answer = redirect(_safe_next(next))
    set_console_cookie(request, answer, COOKIE, session_id)
    answer.delete_cookie(SIGN_IN_COOKIE, path="/console")
    return answer


@router.post("/sign-out")
def sign_out(
    request: Request, who: Person, csrf: Annotated[str | None, Form()] = None
) -> Response:
    check_csrf(who, csrf)
    sessions_of(request).close(who.session_id)
    answer = redirect("/console/sign-in")
    answer.delete_cookie(COOKIE, path="/console")
    return answer


@router.get("/approvals")
def approvals(request: Request, who: Person) -> HTMLResponse:
    """The approvals the person may decide now, each with its review packet."""
    return render(request, "approvals.html", who, items=who.client.approval_inbox(), error=None)


@router.post("/approvals/{approval_id}/decide")
def decide(
    request: Request,
    approval_id: UUID,
    who: Person,
    decision: Annotated[str, Form()],
    reason: Annotated[str | None, Form(max_length=2000)] = None,
    csrf: Annotated[str | None, Form()] = None,
) -> Response:
    """approve, reject or request changes (``concord.resolve_approval`` as the person)."""
    check_csrf(who, csrf)
    answer = who.client._value(
        "SELECT concord.resolve_approval(%s, %s, NULL, %s)",
        (approval_id, decision, (reason or "").strip() or None),
    )
    return redirect(f"/console/commands/{answer['command_id']}")


@router.get("/commands")
def commands(
    request: Request,
    who: Person,
    status: str | None = None,
    command_type: str | None = None,
    project: str | None = None,
    requested_by: str | None = None,
    created_after: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> HTMLResponse:
    filters = {
        "status": status or None,
        "command_type": command_type or None,
        "project": project or None,
        "requested_by": requested_by or None,
        "created_after": created_after,
    }
    page = who.client.list_commands(**filters, page_size=limit, after=cursor or None)
    shown = {k: v for k, v in filters.items() if v is not None}
    return render(request, "commands.html", who, page=page, filters=shown, limit=limit)


def _command_view(who: Any, command_id: UUID) -> dict[str, Any]:
    """What the command page shows: the command, why it is where it is, its timeline."""
    command = who.client._value("SELECT concord.get_command(%s)", (command_id,))
    return {
        "command": command,
        "why": who.client.explain(command_id),
        "timeline": who.client._all(
            "SELECT * FROM concord.command_timeline(%s)", (command_id,)
        ),
        "finished": command["status"] in TERMINAL,
    }


@router.get("/commands/{command_id}")
def command_page(request: Request, command_id: UUID, who: Person) -> HTMLResponse:
    return render(request, "command.html", who, **_command_view(who, command_id))


@router.get("/commands/{command_id}/live")
def command_live(request: Request, command_id: UUID, who: Person) -> HTMLResponse:
    """The part of the command page that moves, for the page's live updates."""
    return render(request, "command_live.html", who, **_command_view(who, command_id))


@router.get("/commands/{command_id}/events")
async def command_events(request: Request, command_id: UUID) -> Response:
    """Server-sent events: ``ready`` once the server listens, ``changed`` each time the
    command records an event (LISTEN on its channel, not polling), a comment every 15 s; the
    stream ends after 5 minutes and the browser opens the next one."""
    who = viewer(request)
    # visibility is the database's: the caller must see the command to follow it
    await run_in_threadpool(who.client.get_command, command_id)
    events = live_events(request.app)
    try:
        queue = await asyncio.wait_for(events.subscribe(command_id), SUBSCRIBE_SECONDS)
    except TimeoutError:
        return problems.problem(
            503, "LiveUpdatesUnavailable", "the console cannot listen to the database now"
        )

    async def stream() -> AsyncIterator[str]:
        try:
            yield "retry: 2000\nevent: ready\ndata: {}\n\n"
            ends = asyncio.get_running_loop().time() + STREAM_SECONDS
            while asyncio.get_running_loop().time() < ends:
                try:
                    await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                while not queue.empty():
                    queue.get_nowait()
                yield "event: changed\ndata: {}\n\n"
        finally:
            events.unsubscribe(command_id, queue)

    headers = {**SECURITY_HEADERS, "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@router.get("/swarms")
def swarms(request: Request, who: Person) -> HTMLResponse:
    rows = who.client._all(SWARMS_LIST, ())
    return render(request, "swarms.html", who, swarms=rows)


@router.get("/swarms/{swarm_run_id}")
def swarm_page(request: Request, swarm_run_id: UUID, who: Person) -> HTMLResponse:
    """The tree of agent runs, each with its steps; refusals stand out."""
    runs = who.client._all(
        "SELECT * FROM concord.swarm_tree WHERE swarm_run_id = %s", (swarm_run_id,)
    )
    if not runs:
        raise NotFound(
            f"no swarm {swarm_run_id} that you may see",
            rule="the_swarm_is_visible",
            hint="Swarms are seen by the members of their command's project.",
        )
    steps = who.client._all(
        "SELECT * FROM concord.agent_step_log WHERE swarm_run_id = %s", (swarm_run_id,)
    )
    by_run: dict[Any, list[dict[str, Any]]] = {}
    for step in steps:
        by_run.setdefault(step["agent_run_id"], []).append(step)
    children: dict[Any, list[dict[str, Any]]] = {}
    for run in runs:
        children.setdefault(run["parent_agent_run_id"], []).append(run)
    return render(
        request,
        "swarm.html",
        who,
        swarm=runs[0],
        roots=children.get(None, []),
        children=children,
        steps=by_run,
    )
