"""Every Concord error code the SQL raises, raised for real by the server and mapped by
``concord.errors.from_psycopg`` to its exception class; non-Concord errors pass through
unchanged; the code table in errors.py agrees with docs/reference/error-codes.md.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

import concord
from concord import errors
from concord.errors import (
    ERRORS_BY_SQLSTATE,
    AlreadyResolved,
    AppendOnlyViolation,
    ApprovalExpired,
    ConcordError,
    ContractUnavailable,
    DependencyCycle,
    IdempotencyConflict,
    IllegalTransition,
    IncompatibleVersion,
    InvalidArgument,
    InvalidPayload,
    LimitExceeded,
    NotFound,
    NotPermitted,
    RuntimeNotInstalled,
    ScopeViolation,
    StateConflict,
    UnknownCommandType,
    from_psycopg,
)

ROOT = Path(__file__).resolve().parents[2]

# The table every layer must agree on.
EXPECTED = {
    "CN001": IllegalTransition,
    "CN002": IdempotencyConflict,
    "CN003": DependencyCycle,
    "CN004": ScopeViolation,
    "CN005": InvalidPayload,
    "CN006": NotFound,
    "CN007": AppendOnlyViolation,
    "CN008": InvalidArgument,
    "CN009": UnknownCommandType,
    "CN010": LimitExceeded,
    "CN011": StateConflict,
    "CN012": NotPermitted,
    "CN013": AlreadyResolved,
    "CN014": ApprovalExpired,
    "CN015": RuntimeNotInstalled,
    "CN016": ContractUnavailable,
    "CN017": IncompatibleVersion,
}


def codes_raised_by_the_sql() -> set[str]:
    found: set[str] = set()
    for folder in ("sql", "migrations"):
        for path in (ROOT / folder).rglob("*.sql"):
            found |= set(re.findall(r"ERRCODE\s*=\s*'(CN\d{3})'", path.read_text()))
    return found


def submit(
    conn: psycopg.Connection, command_type: str, payload: object = None, key: str | None = None
) -> dict:
    row = conn.execute(
        "SELECT command_id, status FROM concord.submit_command(%s, %s, 'alice', "
        "idempotency_key => %s)",
        (command_type, Jsonb({} if payload is None else payload), key),
    ).fetchone()
    return {"command_id": row[0], "status": row[1]}


# Each case provokes one code through the SQL API (or a direct write the triggers guard),
# on an autocommit connection to the session database.
def _cn001(conn: psycopg.Connection, types) -> None:
    command = submit(conn, types.sync_type)
    conn.execute(
        "SELECT concord.transition_command(%s, 'succeeded', 'worker')", (command["command_id"],)
    )


def _cn002(conn: psycopg.Connection, types) -> None:
    key = f"errors-{uuid.uuid4()}"
    submit(conn, types.sync_type, {"n": 1}, key=key)
    submit(conn, types.sync_type, {"n": 2}, key=key)


def _cn003(conn: psycopg.Connection, types) -> None:
    command = submit(conn, types.sync_type)["command_id"]
    conn.execute("SELECT concord.add_dependency(%s, %s)", (command, command))


def _cn005(conn: psycopg.Connection, types) -> None:
    conn.execute(
        "SELECT concord.register_command_type(%s)",
        (Jsonb({"command_type": "x", "risk_level": "extreme", "sync_allowed": 1}),),
    )


def _cn006(conn: psycopg.Connection, types) -> None:
    conn.execute("SELECT concord.get_command(%s)", (uuid.uuid4(),))


def _cn007(conn: psycopg.Connection, types) -> None:
    command = submit(conn, types.sync_type)["command_id"]
    conn.execute(
        "UPDATE concord.domain_events SET actor = 'mallory' WHERE command_id = %s", (command,)
    )


def _cn008(conn: psycopg.Connection, types) -> None:
    conn.execute("SELECT concord.submit_command(%s, '{}', '   ')", (types.sync_type,))


def _cn009(conn: psycopg.Connection, types) -> None:
    conn.execute("SELECT concord.submit_command('test.never_registered', '{}', 'alice')")


def _cn011(conn: psycopg.Connection, types) -> None:
    child = submit(conn, types.sync_type)["command_id"]
    parent = submit(conn, types.sync_type)["command_id"]
    # a worker runs the child: queued, then claimed by its first run
    conn.execute("SELECT concord.transition_command(%s, 'queued', 'op')", (child,))
    conn.execute("SELECT concord.runtime_claim(%s, %s, 'worker')", (child, str(child)))
    conn.execute("SELECT concord.add_dependency(%s, %s)", (child, parent))


def approval_of(conn: psycopg.Connection, command_id: object) -> object:
    """The one approval the submit of an approval_required command opened."""
    (approval_id,) = conn.execute(
        "SELECT approval_id FROM concord.approvals WHERE command_id = %s", (command_id,)
    ).fetchone()
    return approval_id


def _cn012(conn: psycopg.Connection, types) -> None:
    conn.execute("SELECT concord.add_team_member('team:approvers', 'approver1')")
    command = submit(conn, types.approval_type)
    assert command["status"] == "waiting_for_approval", command
    conn.execute(
        "SELECT concord.resolve_approval(%s, 'approved', 'alice')",
        (approval_of(conn, command["command_id"]),),
    )


def _cn013(conn: psycopg.Connection, types) -> None:
    conn.execute("SELECT concord.add_team_member('team:approvers', 'approver1')")
    approval = approval_of(conn, submit(conn, types.approval_type)["command_id"])
    for decision in ("approved", "rejected"):
        conn.execute("SELECT concord.resolve_approval(%s, %s, 'approver1')", (approval, decision))


def _cn014(conn: psycopg.Connection, types) -> None:
    # No approval type expires in under a minute, and expires_at is immutable: the owner
    # moves it into the past with triggers off (as time passing would), then decides.
    command = submit(conn, types.approval_type)["command_id"]
    conn.execute("SET session_replication_role = replica")
    (approval,) = conn.execute(
        "UPDATE concord.approvals SET expires_at = now() - interval '1 minute' "
        "WHERE command_id = %s RETURNING approval_id",
        (command,),
    ).fetchone()
    conn.execute("RESET session_replication_role")
    conn.execute("SELECT concord.add_team_member('team:approvers', 'approver1')")
    conn.execute("SELECT concord.resolve_approval(%s, 'approved', 'approver1')", (approval,))


def _cn015(conn: psycopg.Connection, types) -> None:
    # A database without DBOS's schema cannot take a runnable command: hide the schema
    # inside a transaction that is always rolled back.
    with conn.transaction(force_rollback=True):
        conn.execute("ALTER SCHEMA dbos RENAME TO dbos_hidden_for_test")
        submit(conn, types.async_type, types.valid_payload)


def _swarm_root(conn: psycopg.Connection, types, limits: dict) -> tuple[str, str]:
    command = submit(conn, types.sync_type)["command_id"]
    spec = {
        "name": "errors",
        "objective": "raise a code",
        "limits": limits,
        "coordinator": {"agent_name": "lead", "allowed_tools": ["spawn_subagent"]},
    }
    (swarm,) = conn.execute(
        "SELECT concord.start_swarm(%s, %s)", (command, json.dumps(spec))
    ).fetchone()
    (root,) = conn.execute(
        "SELECT coordinator_agent_run_id FROM concord.swarm_runs WHERE swarm_run_id = %s",
        (swarm,),
    ).fetchone()
    return str(swarm), str(root)


def _raw_child(conn: psycopg.Connection, swarm: str, root: str, tools: str) -> None:
    conn.execute(
        "INSERT INTO concord.agent_runs (command_id, swarm_run_id, parent_agent_run_id, "
        "agent_name, agent_role, goal, allowed_tools, spawn_depth, trace_id) "
        "SELECT command_id, swarm_run_id, agent_run_id, 'child', 'worker', 'g', %s, 1, 't' "
        "FROM concord.agent_runs WHERE agent_run_id = %s",
        (tools, root),
    )


def _cn004(conn: psycopg.Connection, types) -> None:
    # A child holding a tool its parent lacks, written straight into the table.
    with conn.transaction(force_rollback=True):
        conn.execute(
            'SELECT concord.register_command_type(\'{"command_type": "test.cn004", '
            '"name": "x", "sync_allowed": true}\')'
        )
        conn.execute(
            'SELECT concord.register_tool(\'{"name": "test_cn004_tool", '
            '"command_type": "test.cn004"}\')'
        )
        swarm, root = _swarm_root(conn, types, {"max_agents": 3, "max_depth": 2})
        _raw_child(conn, swarm, root, "{spawn_subagent,test_cn004_tool}")


def _cn010(conn: psycopg.Connection, types) -> None:
    # A second agent in a swarm of max_agents 1.
    with conn.transaction(force_rollback=True):
        swarm, root = _swarm_root(conn, types, {"max_agents": 1, "max_depth": 2})
        _raw_child(conn, swarm, root, "{}")


def _registry_tool(conn: psycopg.Connection) -> str:
    name = f"err_tool_{uuid.uuid4().hex[:10]}"
    conn.execute(
        "SELECT concord.create_registry_entity('tool', %s, 'Errors', 'platform')", (name,)
    )
    return name


def _cn016(conn: psycopg.Connection, types) -> None:
    # A tool that no binding puts in force resolves to nothing usable.
    with conn.transaction(force_rollback=True):
        conn.execute("SELECT concord.resolve_registry_entity('tool', %s)", (_registry_tool(conn),))


def _cn017(conn: psycopg.Connection, types) -> None:
    # A version number below the latest published one (published here by the kernel's own
    # step, which a worker runs otherwise).
    with conn.transaction(force_rollback=True):
        name = _registry_tool(conn)
        conn.execute(
            "SELECT concord._registry_publish(concord.create_registry_version("
            "'tool', %s, '1.0.0', '{\"mode\": \"sync\"}'), NULL)",
            (name,),
        )
        conn.execute(
            "SELECT concord.create_registry_version('tool', %s, '0.9.0', '{\"mode\": \"sync\"}')",
            (name,),
        )


CASES: dict[str, Callable[[psycopg.Connection, object], None]] = {
    "CN004": _cn004,
    "CN010": _cn010,
    "CN001": _cn001,
    "CN002": _cn002,
    "CN003": _cn003,
    "CN005": _cn005,
    "CN006": _cn006,
    "CN007": _cn007,
    "CN008": _cn008,
    "CN009": _cn009,
    "CN011": _cn011,
    "CN012": _cn012,
    "CN013": _cn013,
    "CN014": _cn014,
    "CN015": _cn015,
    "CN016": _cn016,
    "CN017": _cn017,
}


def test_every_code_the_sql_raises_has_a_case_here() -> None:
    """Rule: every CN code the SQL raises is tested for real (add a case with a new
    code), and none is raised that the client cannot map."""
    raised = codes_raised_by_the_sql()
    assert raised, "no ERRCODE = 'CN...' found under sql/ or migrations/"
    assert raised == set(CASES), raised ^ set(CASES)
    assert raised <= set(ERRORS_BY_SQLSTATE)


@pytest.mark.parametrize("code", sorted(CASES))
def test_a_real_server_error_maps_to_its_class(code: str, concord_dsn: str, types) -> None:
    """Rule: from_psycopg turns each CN code into its class, keeping the server's
    message, detail and hint."""
    with psycopg.connect(concord_dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as caught:
            CASES[code](conn, types)
    exc = caught.value
    assert exc.sqlstate == code, exc
    mapped = from_psycopg(exc)
    assert type(mapped) is EXPECTED[code]
    assert isinstance(mapped, ConcordError)
    assert mapped.sqlstate == code
    assert mapped.message == exc.diag.message_primary
    assert mapped.message
    assert mapped.detail == exc.diag.message_detail
    assert mapped.hint == exc.diag.message_hint
    assert str(mapped).startswith(mapped.message)


def test_the_client_raises_the_mapped_class_from_the_server_error(client, types) -> None:
    """Rule: the Client raises the Concord class, chained to the psycopg error."""
    with pytest.raises(DependencyCycle) as caught:
        command = client.submit_command(types.sync_type, {}, "alice").command_id
        client.add_dependency(command, command)
    assert isinstance(caught.value.__cause__, psycopg.Error)
    assert caught.value.__cause__.sqlstate == "CN003"


def test_non_concord_errors_pass_through_unchanged(concord_dsn: str, client) -> None:
    """Rule: from_psycopg returns any other error itself, and the Client re-raises it
    as it is."""
    with psycopg.connect(concord_dsn, autocommit=True) as conn:
        for statement, cls in (
            ("SELECT 1 / 0", psycopg.errors.DivisionByZero),
            ("SELECT concord.get_command('not-a-uuid')", psycopg.errors.InvalidTextRepresentation),
            ("SELEC 1", psycopg.errors.SyntaxError),
            ("SELECT concord.no_such_function()", psycopg.errors.UndefinedFunction),
        ):
            with pytest.raises(psycopg.Error) as caught:
                conn.execute(statement)
            assert type(caught.value) is cls
            assert from_psycopg(caught.value) is caught.value
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        client.get_command("not-a-uuid")
    custom = psycopg.errors.lookup("P0001")("raised by a user function")
    assert from_psycopg(custom) is custom


def test_the_code_table_is_the_agreed_one() -> None:
    """Rule: each exception class carries its code, and the table maps every code to
    exactly that class (InvalidSpec is InvalidPayload)."""
    assert ERRORS_BY_SQLSTATE == EXPECTED
    for code, cls in EXPECTED.items():
        assert cls.sqlstate == code
        assert issubclass(cls, ConcordError)
        assert getattr(concord, cls.__name__) is cls
    assert errors.InvalidSpec is InvalidPayload
    assert ConcordError.sqlstate is None
    assert errors.MigrationError.sqlstate is None


def test_the_error_code_reference_matches_errors_py() -> None:
    """Rule: docs/reference/error-codes.md lists the same codes and classes as errors.py."""
    page = ROOT / "docs" / "reference" / "error-codes.md"
    rows = re.findall(r"^\|\s*(CN\d{3})\s*\|([^|]*)\|", page.read_text(), re.M)
    assert rows, "error-codes.md has no error table rows (| CN0xx | ... |)"
    table = {code: re.findall(r"`(\w+)`", names) for code, names in rows}
    assert len(table) == len(rows), "a code is listed twice"
    assert set(table) == set(ERRORS_BY_SQLSTATE)
    for code, names in table.items():
        assert names, code
        assert names[0] == ERRORS_BY_SQLSTATE[code].__name__, (code, names)
        for name in names:
            cls = getattr(errors, name, None)
            assert cls is not None and cls.sqlstate == code, (code, name)
