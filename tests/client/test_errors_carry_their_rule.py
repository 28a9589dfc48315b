"""A refusal names the rule that refused it: ``ConcordError.rule`` and ``.table`` are the
server's constraint and table names (a trigger rule such as 'events_are_append_only', a
guard such as 'command_type_is_registered'), next to the CN code; a CHECK constraint's
refusal keeps its own SQLSTATE and class, and :func:`concord.errors.rule_of` reads its
rule ('requested_by_is_not_blank'). ``str()`` stays the server's message.

Refusals are raised for real against the session database, each inside a transaction
that is rolled back.
"""

from __future__ import annotations

import pickle
import uuid

import psycopg
import pytest

from concord import Client
from concord.errors import (
    AppendOnlyViolation,
    ConcordError,
    UnknownCommandType,
    from_psycopg,
    rule_of,
)


def refused(conn: psycopg.Connection, statement: str, params: tuple = ()) -> psycopg.Error:
    """The error the server raises for ``statement``; nothing it did is kept."""
    with pytest.raises(psycopg.Error) as caught:
        with conn.transaction():
            conn.execute(statement, params)
    return caught.value


def test_a_trigger_rule_names_itself_and_its_table(
    client: Client, db: psycopg.Connection, types
) -> None:
    """Rule 'events_are_append_only': the owner's UPDATE of an event is refused with CN007,
    and the mapped exception carries the trigger's name as its rule and the table."""
    submitted = client.submit_command(types.sync_type, {}, "alice")
    error = refused(
        db,
        "UPDATE concord.domain_events SET event_type = event_type WHERE command_id = %s",
        (submitted.command_id,),
    )
    mapped = from_psycopg(error)
    assert type(mapped) is AppendOnlyViolation
    assert mapped.sqlstate == "CN007"
    assert mapped.rule == "events_are_append_only"
    assert mapped.table == "domain_events"
    assert rule_of(mapped) == "events_are_append_only"
    assert str(mapped).splitlines()[0] == error.diag.message_primary
    assert "rule='events_are_append_only'" in repr(mapped)
    assert "table='domain_events'" in repr(mapped)
    assert "sqlstate='CN007'" in repr(mapped)


def test_a_check_constraint_is_its_own_rule(client: Client, db: psycopg.Connection, types) -> None:
    """Rule 'requested_by_is_not_blank': a direct insert of a command with a blank
    requested_by is refused by the CHECK constraint of that name, whose SQLSTATE (23514)
    and psycopg class stay as they are; rule_of reads the rule from it."""
    error = refused(
        db,
        "INSERT INTO concord.commands (command_type, requested_by, ingress, trace_id) "
        "VALUES (%s, '  ', 'api', %s)",
        (types.sync_type, f"trace-{uuid.uuid4().hex}"),
    )
    assert isinstance(error, psycopg.errors.CheckViolation)
    assert error.sqlstate == "23514"
    assert from_psycopg(error) is error
    assert rule_of(error) == "requested_by_is_not_blank"
    assert error.diag.table_name == "commands"


def test_the_client_raises_with_the_rule(client: Client) -> None:
    """Rule 'command_type_is_registered': the client's exception for an unknown command
    type carries the rule and the table, so a caller can look it up in concord.rules."""
    with pytest.raises(UnknownCommandType) as caught:
        client.submit_command(f"test.absent_{uuid.uuid4().hex[:12]}", {}, "alice")
    assert caught.value.rule == "command_type_is_registered"
    assert caught.value.table == "commands"


def test_the_rule_is_one_of_the_rule_book(db: psycopg.Connection) -> None:
    """The rule names an error carries are the names concord.rules lists."""
    listed = {
        row[0]
        for row in db.execute(
            "SELECT rule FROM concord.rules WHERE rule = ANY(%s)",
            (
                [
                    "events_are_append_only",
                    "requested_by_is_not_blank",
                    "command_type_is_registered",
                ],
            ),
        ).fetchall()
    }
    assert listed == {
        "events_are_append_only",
        "requested_by_is_not_blank",
        "command_type_is_registered",
    }


def test_an_error_without_a_rule_still_prints_as_before() -> None:
    """An exception made in Python (no server diagnostics) has no rule and no table; its
    str() is the message with DETAIL and HINT, as it always was, and the rule and table
    survive the pickling DBOS does to a step's error."""
    plain = ConcordError("no such command", detail="id 7", hint="check the id")
    assert plain.rule is None and plain.table is None
    assert rule_of(plain) is None
    assert str(plain) == "no such command\nDETAIL: id 7\nHINT: check the id"
    assert repr(plain) == "ConcordError('no such command')"
    named = AppendOnlyViolation("is append-only", rule="events_are_append_only", table="t")
    copy = pickle.loads(pickle.dumps(named))
    assert (type(copy), copy.message, copy.rule, copy.table) == (
        AppendOnlyViolation,
        "is append-only",
        "events_are_append_only",
        "t",
    )
    assert rule_of(ValueError("not a database error")) is None
