"""What every console page shares: the signed-in person (:func:`viewer`), the templates,
security headers, and the turn of an error into a page instead of a problem document."""

from __future__ import annotations

import hmac
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from ..client import Client
from ..errors import NotPermitted
from .sessions import COOKIE, IDLE_SECONDS, SIGN_IN_COOKIE, Session, Sessions

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["pretty"] = lambda value: json.dumps(value, indent=2, sort_keys=True)
templates.env.filters["short"] = lambda value: str(value).split(":")[-1][:12] if value else ""
templates.env.filters["when"] = lambda value: str(value)[:19].replace("T", " ") if value else ""

# No inline script or style, nothing from elsewhere, never framed: what a page shows stays the
# page's own even when a manifest or a payload holds markup.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class SignInRequired(Exception):
    """The request has no live session: the answer is the sign-in page."""


@dataclass(frozen=True)
class Viewer:
    """The person a console request acts as."""

    session_id: str
    session: Session
    client: Client

    @property
    def principal(self) -> str:
        return self.session.principal


def sessions_of(request: Request) -> Sessions:
    return request.app.state.console_sessions


def viewer(request: Request) -> Viewer:
    session_id = request.cookies.get(COOKIE)
    session = sessions_of(request).get(session_id)
    if session is None:
        raise SignInRequired()
    client = request.app.state.client.acting_as(session.token)
    return Viewer(session_id, session, client)


Person = Annotated[Viewer, Depends(viewer)]


def render(
    request: Request,
    template: str,
    who: Viewer | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    answer = templates.TemplateResponse(
        request,
        template,
        {"who": who, "csrf": who.session.csrf if who else "", **context},
        status_code=status_code,
    )
    answer.headers.update(SECURITY_HEADERS)
    return answer


def redirect(url: str) -> RedirectResponse:
    """A 303 to another console page, with the pages' security headers."""
    answer = RedirectResponse(url, 303)
    answer.headers.update(SECURITY_HEADERS)
    return answer


def to_sign_in(request: Request, exc: Exception) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(f"/console/sign-in?next={quote(target, safe='')}")


def sign_in_form(
    request: Request, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """The sign-in page. Its form carries a secret that its browser also holds in an
    HttpOnly, SameSite=Strict cookie: another site's page cannot post a token of its own to
    sign the visitor in as someone else (login CSRF), for it has neither."""
    secret = request.cookies.get(SIGN_IN_COOKIE, "")
    if not re.fullmatch(r"[A-Za-z0-9_-]{43}", secret):
        secret = secrets.token_urlsafe(32)
    answer = render(request, "sign_in.html", None, status_code=status_code, csrf=secret, **context)
    set_console_cookie(request, answer, SIGN_IN_COOKIE, secret)
    return answer


def set_console_cookie(request: Request, answer: Response, name: str, value: str) -> None:
    """A console cookie: for /console only, out of scripts' reach (HttpOnly), never sent by
    another site's page (SameSite=Strict), Secure over HTTPS, forgotten after IDLE_SECONDS."""
    answer.set_cookie(
        name,
        value,
        max_age=IDLE_SECONDS,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def check_sign_in_secret(request: Request, presented: str | None) -> None:
    """A sign-in is posted by the console's own sign-in form, or is refused."""
    expected = request.cookies.get(SIGN_IN_COOKIE)
    matches = bool(expected and presented) and hmac.compare_digest(
        expected.encode(), presented.encode()
    )
    if not matches:
        raise NotPermitted(
            "this sign-in did not come from the console's sign-in form",
            rule="a_console_form_carries_its_session_secret",
            hint="Open the console's sign-in page and sign in there.",
        )


def check_csrf(who: Viewer, presented: str | None) -> None:
    """A form posted to the console carries its session's CSRF secret, or is refused."""
    if not who.session.csrf_matches(presented):
        raise NotPermitted(
            "this form did not come from your console session",
            rule="a_console_form_carries_its_session_secret",
            hint="Reload the page and submit the form again.",
        )


def for_the_console(api_handler: Any) -> Any:
    """An exception handler that answers console pages with an HTML error page (status,
    title and what the problem document would say) and everything else as ``api_handler``."""

    def handler(request: Request, exc: Exception) -> Any:
        answer = api_handler(request, exc)
        if not request.url.path.startswith("/console") or request.url.path.startswith(
            "/console/static"
        ):
            return answer
        if answer.status_code == 401:
            # the session's token was revoked or has expired: the session ends with it
            sessions_of(request).close(request.cookies.get(COOKIE))
            return to_sign_in(request, exc)
        problem = json.loads(answer.body)
        session = sessions_of(request).get(request.cookies.get(COOKIE))
        who = (
            Viewer(request.cookies.get(COOKIE, ""), session, request.app.state.client)
            if session
            else None
        )
        return render(request, "error.html", who, status_code=answer.status_code, problem=problem)

    return handler
