"""A world for the web console: a database of its own (the worker's), an organisation with a
requester and an approver, another organisation's owner, a booking type that asks the approver
above LIMIT, a worker that runs it, the API server on 127.0.0.1 and Debian's chromium. The
console's browser tests and ``make screenshots`` (tests/harness/screenshots.py) use it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, expect

from concord import Client
from concord.migrate import migrate
from support.api_server import Org, organisation, running_api, token_for
from support.browser import chromium
from support.databases import temporary_database
from support.workers import WorkerProcess

TYPE = "console.book"  # tests/support/runtime_ops/concord_console_ops.py
LIMIT = 500


@dataclass(frozen=True)
class Setup:
    dsn: str
    base: str
    org: Org
    tokens: dict[str, str]
    browser: Browser


@contextmanager
def console_world(server_dsn: str) -> Iterator[Setup]:
    """A database of its own (the worker's), an organisation with a requester and an approver,
    another organisation's owner, console.book asking the approver above LIMIT, a worker, the API
    server and a browser."""
    with temporary_database(server_dsn, "concord_console") as dsn:
        migrate(dsn)
        with (
            organisation(dsn, ("member", "approver")) as org,
            organisation(dsn, ("owner",)) as other,
            Client(dsn) as admin,
        ):
            approval_type = admin.register_approval_type(
                {
                    "name": "console_booking_approval",
                    "required_fields": ["hotel_name"],
                    "decision_values": ["approved", "rejected", "request_changes"],
                    "expiration": {"default_minutes": 30},
                    "approver": {"principals": [org.members["approver"]]},
                    "resume": {"on_approved": "continue_workflow", "on_rejected": "fail"},
                }
            )
            policy = admin.register_policy(
                {
                    "name": "console_booking_limit",
                    "predicate": "$.payload.total_price > $limit",
                    "vars": {"limit": LIMIT},
                    "decision": "require_approval",
                    "reasons": [f"Bookings above {LIMIT} need approval"],
                    "approval_type": approval_type,
                }
            )
            admin.register_command_type(
                {"command_type": TYPE, "async_required": True, "policy_checks": [policy]}
            )
            tokens = {who: token_for(dsn, p) for who, p in org.members.items()}
            tokens["outsider"] = token_for(dsn, other.members["owner"])
            with (
                WorkerProcess(dsn, executor_id="console-worker", modules=("concord_console_ops",)),
                running_api(org.login_dsn) as base,
                chromium() as browser,
            ):
                yield Setup(dsn, base, org, tokens, browser)


def submit(console: Setup, hotel: str, price: int) -> str:
    """The requester submits a booking over HTTP, as a person without SQL would."""
    answer = httpx.post(
        f"{console.base}/commands",
        json={"command_type": TYPE, "payload": {"hotel_name": hotel, "total_price": price}},
        headers={
            "Authorization": f"Bearer {console.tokens['member']}",
            "Concord-Project": console.org.project,
        },
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["status"] == "waiting_for_approval", created
    return created["command_id"]


def signed_in(console: Setup, who: str) -> tuple[BrowserContext, Page]:
    """A new browser context signed in through the sign-in form."""
    context = console.browser.new_context(base_url=console.base)
    page = context.new_page()
    page.goto("/console/approvals")
    expect(page).to_have_url(re.compile(r"/console/sign-in\?next="))
    page.fill("input[name=token]", console.tokens[who])
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/approvals$"))
    return context, page


