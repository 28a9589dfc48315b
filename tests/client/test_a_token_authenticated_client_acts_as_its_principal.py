"""A client that authenticates with an API token acts as the token's principal, through a
database login that is mapped to no principal at all; a revoked token stops working at
once; the project it chooses is where its commands go (spec 45, 46)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from concord import ApiToken, Client, NotFound, NotPermitted


@dataclass(frozen=True)
class Org:
    name: str
    project: str
    alice: str
    bob: str
    login_dsn: str
    command_type: str


@pytest.fixture
def org(concord_dsn: str, db: psycopg.Connection) -> Iterator[Org]:
    """An organisation with one project, alice and bob its members, a sync command type,
    and a LOGIN role holding concord_app that is mapped to no principal."""
    suffix = uuid.uuid4().hex[:10]
    name, alice, bob = f"tok-{suffix}", f"tok-alice-{suffix}", f"tok-bob-{suffix}"
    login = f"tok_login_{suffix}"
    db.execute("SELECT concord.create_organisation(%s)", (name,))
    db.execute("SELECT concord.create_project(%s, 'main')", (name,))
    for who in (alice, bob):
        db.execute("SELECT concord.create_principal(%s)", (who,))
        db.execute("SELECT concord.add_member(%s, %s, 'member')", (name, who))
    command_type = f"test.tok_{suffix}"
    db.execute(
        "SELECT concord.register_command_type(%s)",
        (psycopg.types.json.Jsonb({"command_type": command_type, "sync_allowed": True}),),
    )
    db.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE concord_app").format(sql.Identifier(login)))
    try:
        yield Org(
            name=name,
            project=f"{name}/main",
            alice=alice,
            bob=bob,
            login_dsn=make_conninfo(concord_dsn, user=login),
            command_type=command_type,
        )
    finally:
        db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (login,)
        )
        db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(login)))


def token_for(db: psycopg.Connection, principal: str) -> str:
    """A day's token issued by the superuser for principal."""
    return db.execute(
        "SELECT token FROM concord.create_api_token(%s, %s)", (principal, timedelta(days=1))
    ).fetchone()[0]


def requested_by(db: psycopg.Connection, command_id: object) -> tuple[str, str]:
    return db.execute(
        "SELECT c.requested_by, o.name || '/' || p.name FROM concord.commands AS c "
        "JOIN concord.projects AS p USING (project_id) "
        "JOIN concord.organisations AS o USING (org_id) "
        "WHERE c.command_id = %s",
        (command_id,),
    ).fetchone()


def test_a_login_mapped_to_nobody_is_nobody_without_a_token(org: Org) -> None:
    """Rule the_caller_is_authenticated: the login alone names no principal."""
    with Client(org.login_dsn) as client:
        assert client.current_principal() is None
        with pytest.raises(NotPermitted) as refused:
            client.submit_command(org.command_type, {})
        assert refused.value.rule == "the_caller_is_authenticated"


def test_a_token_authenticated_client_acts_as_its_principal(
    org: Org, db: psycopg.Connection
) -> None:
    """Every transaction of a client given a token acts as the token's principal: the
    command it submits is alice's, in alice's project, and naming bob is refused."""
    with Client(org.login_dsn, token=token_for(db, org.alice)) as client:
        assert client.current_principal() == org.alice
        submitted = client.submit_command(org.command_type, {})
        assert requested_by(db, submitted.command_id) == (org.alice, org.project)
        # and again, on whichever pooled connection: the token is presented every time
        again = client.submit_command(org.command_type, {}, org.alice.upper())
        assert requested_by(db, again.command_id) == (org.alice, org.project)
        with pytest.raises(NotPermitted) as refused:
            client.submit_command(org.command_type, {}, org.bob)
        assert refused.value.rule == "acting_for_another_needs_a_grant"


def test_authenticate_switches_identity_and_a_bad_token_keeps_the_old_one(
    org: Org, db: psycopg.Connection
) -> None:
    with Client(org.login_dsn) as client:
        assert client.authenticate(token_for(db, org.bob)) == org.bob
        with pytest.raises(NotPermitted) as refused:
            client.authenticate("cct_" + "0" * 64)
        assert refused.value.rule == "a_credential_is_valid"
        assert client.current_principal() == org.bob


def test_a_principal_creates_its_own_tokens_and_a_revoked_token_stops_working(
    org: Org, db: psycopg.Connection
) -> None:
    """A token is shown once (only its hash is kept); revoking it refuses the next call."""
    with Client(org.login_dsn, token=token_for(db, org.alice)) as alice:
        own = alice.create_api_token(expires_in=timedelta(hours=1), label="laptop")
        assert isinstance(own, ApiToken) and own.token.startswith("cct_")
        stored = db.execute(
            "SELECT token_sha256 = sha256(convert_to(%s, 'UTF8')) FROM concord.api_tokens "
            "WHERE token_id = %s",
            (own.token, own.token_id),
        ).fetchone()[0]
        assert stored is True
        with pytest.raises(NotPermitted) as refused:
            alice.create_api_token(org.bob)
        assert refused.value.rule == "a_token_is_created_by_its_principal"

        with Client(org.login_dsn, token=own.token) as laptop:
            assert laptop.current_principal() == org.alice
            assert alice.revoke_api_token(own.token_id) is True
            assert alice.revoke_api_token(own.token_id) is False
            with pytest.raises(NotPermitted) as refused:
                laptop.submit_command(org.command_type, {})
            assert refused.value.rule == "a_credential_is_valid"
            with pytest.raises(NotPermitted):
                laptop.current_principal()

    with Client(org.login_dsn, token=token_for(db, org.bob)) as bob:
        with pytest.raises(NotFound) as refused:
            bob.revoke_api_token(own.token_id)
        assert refused.value.rule == "the_token_exists"


def test_the_chosen_project_is_where_commands_go(org: Org, db: psycopg.Connection) -> None:
    """A principal of two projects chooses one; a project it is no member of does not exist
    for it."""
    db.execute("SELECT concord.create_project(%s, 'side')", (org.name,))
    with Client(org.login_dsn, token=token_for(db, org.alice)) as client:
        with pytest.raises(Exception) as unchosen:
            client.submit_command(org.command_type, {})
        assert getattr(unchosen.value, "rule", None) == "a_project_is_chosen"
        assert client.use_project(f"{org.name}/side") == f"{org.name}/side"
        submitted = client.submit_command(org.command_type, {})
        assert requested_by(db, submitted.command_id) == (org.alice, f"{org.name}/side")
        with pytest.raises(NotFound) as refused:
            client.use_project("default/default")
        assert refused.value.rule == "the_project_exists"
        # the refused choice left the previous one in place
        again = client.submit_command(org.command_type, {})
        assert requested_by(db, again.command_id) == (org.alice, f"{org.name}/side")
