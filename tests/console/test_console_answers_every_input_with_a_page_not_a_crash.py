"""Whatever a browser (or anyone) sends the console, the answer is a page: a refusal is an HTML
error page with its status, Concord code, rule and hint, never a 500. Forms with a secret
that is not ASCII, decisions raced by two sessions (an approval is decided once), bad ids,
filters and cursors. Plain HTTP: no browser needed (a 500 would also fail the module, for
the server logs it and the world's teardown looks for it)."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import httpx
import psycopg
import pytest

from support.console import Setup, submit


def session_of(console: Setup, who: str) -> tuple[httpx.Client, str]:
    """An HTTP client signed in as ``who`` through the sign-in form, and its CSRF secret."""
    http = httpx.Client(base_url=console.base, timeout=30)
    page = http.get("/console/sign-in")
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    signed = http.post("/console/sign-in", data={**fields, "token": console.tokens[who]})
    assert signed.status_code == 303, signed.text
    secret = re.search(r'name="csrf" value="([^"]+)"', http.get("/console/approvals").text)
    assert secret is not None
    return http, secret.group(1)


def approval_of(console: Setup, command_id: str) -> tuple[str, str]:
    with psycopg.connect(console.dsn) as db:
        row = db.execute(
            "SELECT approval_id, status FROM concord.approvals WHERE command_id = %s",
            (command_id,),
        ).fetchone()
    assert row is not None
    return str(row[0]), row[1]


def refused(answer: httpx.Response, status: int, rule: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert 'id="problem-detail"' in answer.text
    if rule is not None:
        assert rule in answer.text


@pytest.mark.parametrize("secret", ["é", "\u00ff" * 43, "%ED%A0%80", "%FF%FE"])
def test_a_form_whose_secret_is_not_ascii_is_refused(console: Setup, secret: str) -> None:
    http, _ = session_of(console, "approver")
    command_id = submit(console, f"Crillon {uuid.uuid4().hex[:6]}", 900)
    approval, _ = approval_of(console, command_id)
    raw = {"content-type": "application/x-www-form-urlencoded"}

    # the secret as a browser sends it: percent-encoded bytes (some not even UTF-8)
    encoded = secret if secret.startswith("%") else quote(secret)

    def posted(path: str, body: str) -> httpx.Response:
        return http.post(path, content=f"{body}&csrf={encoded}", headers=raw)

    refused(
        posted(f"/console/approvals/{approval}/decide", "decision=approved"),
        403,
        "a_console_form_carries_its_session_secret",
    )
    refused(posted("/console/sign-out", "x=1"), 403, "a_console_form_carries_its_session_secret")
    with httpx.Client(base_url=console.base) as stranger:
        stranger.get("/console/sign-in")
        refused(
            stranger.post(
                "/console/sign-in",
                content=f"token={console.tokens['approver']}&csrf={encoded}",
                headers=raw,
            ),
            403,
            "a_console_form_carries_its_session_secret",
        )
    assert approval_of(console, command_id)[1] == "pending"
    http.close()


def test_two_sessions_deciding_at_once_decide_once(console: Setup) -> None:
    command_id = submit(console, f"Adlon {uuid.uuid4().hex[:6]}", 900)
    approval, _ = approval_of(console, command_id)
    sessions = [session_of(console, "approver") for _ in range(4)]

    def decide(session: tuple[httpx.Client, str], decision: str) -> httpx.Response:
        http, secret = session
        return http.post(
            f"/console/approvals/{approval}/decide",
            data={"decision": decision, "csrf": secret, "reason": "at once"},
        )

    decisions = ["approved", "rejected", "approved", "request_changes"]
    with ThreadPoolExecutor(len(sessions)) as pool:
        answers = list(pool.map(decide, sessions, decisions))
    assert sorted(a.status_code for a in answers) == [303, 409, 409, 409], [
        (a.status_code, a.text[-300:]) for a in answers
    ]
    for answer in answers:
        if answer.status_code == 409:
            refused(answer, 409, "an_approval_is_decided_once")
    assert approval_of(console, command_id)[1] in ("approved", "rejected", "request_changes")
    for http, _ in sessions:
        http.close()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/console/commands/not-a-uuid", 422),
        ("/console/commands/00000000-0000-0000-0000-000000000000", 404),
        ("/console/commands/00000000-0000-0000-0000-000000000000/live", 404),
        ("/console/commands/00000000-0000-0000-0000-000000000000/events", 404),
        ("/console/commands?status=bogus", 422),
        ("/console/commands?cursor=garbage", 422),
        ("/console/commands?limit=0", 422),
        ("/console/commands?created_after=yesterday", 422),
        ("/console/commands?requested_by=%00", 422),
        ("/console/swarms/not-a-uuid", 422),
        ("/console/swarms/00000000-0000-0000-0000-000000000000", 404),
        ("/console/registry/nothing/nobody", 404),
        ("/console/registry/command_type/" + "x" * 5000, 404),
        ("/console/no-such-page", 404),
    ],
)
def test_a_bad_address_is_an_error_page(console: Setup, path: str, status: int) -> None:
    http, _ = session_of(console, "approver")
    refused(http.get(path), status)
    http.close()
