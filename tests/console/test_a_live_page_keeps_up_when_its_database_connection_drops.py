"""A command page that follows its command live keeps up when the connection it hears the
database through drops: the process's one LISTEN connection is terminated (a database
restart, a failover, an operator's pg_terminate_backend) at the very moment the command
changes, and the page still shows the change once the console listens again, and every
change after. In Debian's chromium, against the real server and database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import psycopg.sql
import pytest
from playwright.sync_api import expect

from support.console import Setup, console_world, signed_in, submit


@pytest.fixture(scope="module")
def console(server_dsn: str) -> Iterator[Setup]:
    with console_world(server_dsn) as world:
        yield world


def approval_of(console: Setup, command_id: str) -> str:
    with psycopg.connect(console.dsn) as db:
        row = db.execute(
            "SELECT approval_id FROM concord.approvals WHERE command_id = %s", (command_id,)
        ).fetchone()
    assert row is not None
    return str(row[0])


def reject_while_the_listener_is_gone(console: Setup, command_id: str) -> int:
    """In one transaction: terminate the console's listening connections (and wait until
    they are gone), then reject the command's approval; the notification of the commit goes
    to nobody. Returns how many listeners were terminated."""
    approval = approval_of(console, command_id)
    with psycopg.connect(console.dsn) as db:
        killed = db.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) "
            "FROM pg_stat_activity WHERE datname = current_database() "
            "AND usename = %s AND pid <> pg_backend_pid() AND query ~ '^(UN)?LISTEN '",
            (console.org.login,),
        ).fetchone()[0]
        db.execute("SELECT concord.authenticate(%s)", (console.tokens["approver"],))
        db.execute(
            "SELECT concord.resolve_approval(%s, 'rejected', NULL, 'not now')", (approval,)
        )
    return killed


def test_a_change_made_while_the_listener_reconnects_reaches_the_page(console: Setup) -> None:
    command_id = submit(console, f"Gritti {uuid.uuid4().hex[:6]}", 900)
    context, page = signed_in(console, "approver")
    try:
        page.goto(f"/console/commands/{command_id}")
        expect(page.locator("#status")).to_have_text("waiting_for_approval")
        # the page's stream is open once its ready event has come: wait for the LISTEN
        with psycopg.connect(console.dsn) as db:
            channel = f'LISTEN "concord_command_{uuid.UUID(command_id).hex}"'
            for _ in range(100):
                if db.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND query = %s",
                    (channel,),
                ).fetchone()[0]:
                    break
                page.wait_for_timeout(100)
        assert reject_while_the_listener_is_gone(console, command_id) >= 1
        expect(page.locator("#status")).to_have_text("failed", timeout=15_000)
        expect(page.locator("#approvals")).to_contain_text("not now")

        # and the console listens again: a later command's page follows it as before
        later = submit(console, f"Danieli {uuid.uuid4().hex[:6]}", 900)
        page.goto(f"/console/commands/{later}")
        expect(page.locator("#status")).to_have_text("waiting_for_approval")
        with psycopg.connect(console.dsn) as db:
            db.execute("SELECT concord.authenticate(%s)", (console.tokens["approver"],))
            db.execute(
                "SELECT concord.resolve_approval(%s, 'rejected', NULL, 'later')",
                (approval_of(console, later),),
            )
        expect(page.locator("#status")).to_have_text("failed", timeout=15_000)
    finally:
        context.close()


def test_a_page_whose_stream_was_refused_follows_once_the_database_is_back(
    console: Setup,
) -> None:
    """The console cannot listen (new connections refused): the page's stream is answered
    503, after which a browser's EventSource never tries again by itself. The page must."""
    command_id = submit(console, f"Cipriani {uuid.uuid4().hex[:6]}", 900)
    context, page = signed_in(console, "approver")
    login = psycopg.sql.Identifier(console.org.login)
    try:
        page.goto(f"/console/commands/{command_id}")
        expect(page.locator("#status")).to_have_text("waiting_for_approval")
        with psycopg.connect(console.dsn, autocommit=True) as db:
            db.execute(psycopg.sql.SQL("ALTER ROLE {} CONNECTION LIMIT 0").format(login))
            try:
                db.execute(
                    "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND usename = %s "
                    "AND query ~ '^(UN)?LISTEN '",
                    (console.org.login,),
                )
                page.wait_for_timeout(1500)  # the console notices it no longer listens
                with page.expect_response(lambda r: r.url.endswith("/events")) as refused:
                    page.reload()
                assert refused.value.status == 503
            finally:
                db.execute(psycopg.sql.SQL("ALTER ROLE {} CONNECTION LIMIT -1").format(login))
        with psycopg.connect(console.dsn) as db:
            db.execute("SELECT concord.authenticate(%s)", (console.tokens["approver"],))
            db.execute(
                "SELECT concord.resolve_approval(%s, 'rejected', NULL, 'back again')",
                (approval_of(console, command_id),),
            )
        expect(page.locator("#status")).to_have_text("failed", timeout=30_000)
    finally:
        context.close()
