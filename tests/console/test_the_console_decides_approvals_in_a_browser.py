"""The web console (issue 15 section 4) in Debian's chromium, driven by Playwright, against the
real API server on 127.0.0.1, a real worker and a real database: a person signs in with a
token, clicks an approval through to a finished command (which another open page sees live),
a member of another organisation sees nothing, the session cookie is out of a script's
reach and a form without the session's secret is refused, and the registry shows two
versions side by side."""

from __future__ import annotations

import re
import uuid

import httpx
import psycopg
from playwright.sync_api import expect

from concord import Client
from support.console import Setup, signed_in, submit


def approval_of(command_id: str, dsn: str) -> dict:
    with psycopg.connect(dsn) as db:
        row = db.execute(
            "SELECT approval_id, status FROM concord.approvals WHERE command_id = %s",
            (command_id,),
        ).fetchone()
    return {"approval_id": str(row[0]), "status": row[1]}


def test_an_approval_is_clicked_through_to_a_finished_command(console: Setup) -> None:
    hotel = f"Ritz {uuid.uuid4().hex[:6]}"
    command_id = submit(console, hotel, 900)
    context, inbox = signed_in(console, "approver")
    try:
        # another page already open on the command follows it without a reload
        watching = context.new_page()
        watching.goto(f"/console/commands/{command_id}")
        expect(watching.locator("#status")).to_have_text("waiting_for_approval")
        expect(watching.locator("#explain")).to_contain_text("approval_pending")

        card = inbox.locator("section.approval", has_text=hotel)
        expect(card.locator(".review-packet")).to_contain_text(hotel)
        card.locator("input[name=reason]").fill("within budget")
        card.locator("button.approve").click()

        expect(inbox).to_have_url(re.compile(f"/console/commands/{command_id}$"))
        expect(watching.locator("#status")).to_have_text("succeeded", timeout=60_000)
        expect(watching.locator("#result")).to_contain_text(hotel)
        expect(watching.locator("#approvals")).to_contain_text(
            f"approved by {console.org.members['approver']}: within budget"
        )
        expect(watching.locator("#timeline")).to_contain_text("succeeded")
        assert approval_of(command_id, console.dsn)["status"] == "approved"
    finally:
        context.close()


def test_a_member_of_another_organisation_sees_nothing(console: Setup) -> None:
    command_id = submit(console, f"Savoy {uuid.uuid4().hex[:6]}", 700)
    context, page = signed_in(console, "outsider")
    try:
        expect(page.locator("#inbox-empty")).to_be_visible()
        page.goto("/console/commands")
        expect(page.locator("#commands")).not_to_contain_text(command_id[:8])
        answer = page.goto(f"/console/commands/{command_id}")
        assert answer is not None and answer.status == 404
        expect(page.locator("#problem-detail")).to_be_visible()
        expect(page.locator("body")).to_contain_text("CN006")
        events = page.request.get(f"/console/commands/{command_id}/events")
        assert events.status == 404
        assert approval_of(command_id, console.dsn)["status"] == "pending"
    finally:
        context.close()


def test_the_session_cookie_is_out_of_scripts_reach_and_forms_need_its_secret(
    console: Setup,
) -> None:
    command_id = submit(console, f"Plaza {uuid.uuid4().hex[:6]}", 800)
    approval = approval_of(command_id, console.dsn)["approval_id"]
    context, page = signed_in(console, "approver")
    try:
        (cookie,) = context.cookies()
        assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (
            True,
            "Strict",
            "/console",
        )
        assert console.tokens["approver"] not in cookie["value"]
        assert page.evaluate("document.cookie") == ""
        # the same session, a form without its secret (what another site's page would post)
        forged = httpx.post(
            f"{console.base}/console/approvals/{approval}/decide",
            data={"decision": "approved"},
            cookies={cookie["name"]: cookie["value"]},
        )
        assert forged.status_code == 403
        assert "a_console_form_carries_its_session_secret" in forged.text
        assert approval_of(command_id, console.dsn)["status"] == "pending"
        # signing out ends the session on the server, not only in this browser
        page.click("header button[type=submit]")
        expect(page).to_have_url(re.compile(r"/console/sign-in$"))
        replayed = httpx.get(
            f"{console.base}/console/approvals", cookies={cookie["name"]: cookie["value"]}
        )
        assert replayed.status_code == 303 and "/console/sign-in" in replayed.headers["location"]
    finally:
        context.close()


def test_a_wrong_token_is_refused_at_sign_in(console: Setup) -> None:
    context = console.browser.new_context(base_url=console.base)
    try:
        page = context.new_page()
        page.goto("/console/sign-in")
        page.fill("input[name=token]", "cct_" + "0" * 64)
        page.click("button[type=submit]")
        expect(page.locator(".error")).to_be_visible()
        # no session: only the sign-in form's own secret
        assert [c["name"] for c in context.cookies()] == ["concord_sign_in"]
    finally:
        context.close()


def test_the_registry_shows_two_versions_side_by_side(console: Setup) -> None:
    name = f"console.diff_{uuid.uuid4().hex[:6]}"
    with Client(console.dsn) as admin:
        admin.register_command_type({"command_type": name, "async_required": True})
        admin.register_command_type(
            {"command_type": name, "async_required": True, "max_attempts": 7}
        )
    context, page = signed_in(console, "approver")
    try:
        page.goto("/console/registry?entity_type=command_type")
        page.click(f"text={name}")
        expect(page.locator("#versions tr")).to_have_count(3)
        expect(page.locator("#diff")).to_contain_text("max_attempts")
        expect(page.locator("#compatibility")).not_to_be_empty()
        expect(page.locator("#manifest")).to_contain_text("7")
        expect(page.locator("#bindings")).to_contain_text("global")
    finally:
        context.close()
