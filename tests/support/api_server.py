"""The real REST API (``concord api``, uvicorn) in a process of its own on 127.0.0.1, and an
organisation to call it as: the tests talk HTTP to it like any client would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import httpx
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_api(
    dsn: str, *, args: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> Iterator[str]:
    """``concord api`` on ``dsn`` (with ``args`` and ``env`` added) on a free port of
    127.0.0.1; yields its base URL once ``/health`` answers, and stops it after; fails if
    the server logged a failure."""
    port = free_port()
    # a file, not a pipe: nobody reads the log while the server runs, and a full pipe would
    # stop the server at its next log line
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "concord", "api", "--dsn", dsn, "--port", str(port), *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "CONCORD_DSN": "", "CONCORD_WEBHOOKS": "", **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"concord api exited: {log.read()}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("concord api did not answer /health within 30 s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.seek(0)
        errors = [line for line in log if "Traceback" in line or " failed" in line]
        log.close()
        if errors:
            raise AssertionError(f"concord api logged failures: {errors[:5]}")


@dataclass(frozen=True)
class Org:
    """An organisation with its project ``<name>/main`` and members by role; ``login_dsn``
        is a login holding concord_app and concord_approver that speaks for nobody (what the API
    runs as)."""

    name: str
    project: str
    members: dict[str, str]  # role -> principal
    login: str
    login_dsn: str


@contextmanager
def organisation(concord_dsn: str, roles: tuple[str, ...]) -> Iterator[Org]:
    """A new organisation whose members hold ``roles`` (one principal each), and a login."""
    suffix = uuid.uuid4().hex[:10]
    name, login = f"api-{suffix}", f"api_login_{suffix}"
    with psycopg.connect(concord_dsn, autocommit=True) as db:
        db.execute("SELECT concord.create_organisation(%s)", (name,))
        db.execute("SELECT concord.create_project(%s, 'main')", (name,))
        members = {}
        for role in roles:
            who = f"{role}-{suffix}"
            db.execute("SELECT concord.create_principal(%s)", (who,))
            db.execute("SELECT concord.add_member(%s, %s, %s)", (name, who, role))
            members[role] = who
        db.execute(
            sql.SQL("CREATE ROLE {} LOGIN IN ROLE concord_app, concord_approver").format(
                sql.Identifier(login)
            )
        )
        try:
            yield Org(name, f"{name}/main", members, login, make_conninfo(concord_dsn, user=login))
        finally:
            db.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (login,),
            )
            db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(login)))


def token_for(concord_dsn: str, principal: str) -> str:
    """A token for principal, issued by the superuser, valid for a day."""
    with psycopg.connect(concord_dsn, autocommit=True) as db:
        return db.execute(
            "SELECT token FROM concord.create_api_token(%s, %s)", (principal, timedelta(days=1))
        ).fetchone()[0]


def assert_problem(answer: httpx.Response, status: int, code: str | None, rule: str | None) -> dict:
    """answer is an RFC 9457 problem of status (and, when given, of code and rule)."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    if code is not None:
        assert body["code"] == code
    if rule is not None:
        assert body["rule"] == rule
    return body
