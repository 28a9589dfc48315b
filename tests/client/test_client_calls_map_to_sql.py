"""The Python client against a real Concord database: every method, the dataclasses it
returns, and every error path mapped to its exception class with the server's message,
detail and hint.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

import psycopg
import pytest
from psycopg.types.json import Jsonb

import concord
from concord import (
    AppendOnlyViolation,
    Client,
    Command,
    ConcordError,
    Dependency,
    DependencyCycle,
    Dependent,
    Effect,
    IdempotencyConflict,
    IllegalTransition,
    InvalidArgument,
    InvalidPayload,
    InvalidSpec,
    NotFound,
    StateConflict,
    SubmitResult,
    TimelineEvent,
    UnknownCommandType,
)

BASE = ["ingress", "command", "context", "policy", "plan"]
TAIL = ["state_transition", "audit"]


def key() -> str:
    return f"test-key-{uuid.uuid4()}"


def submit_sync(client: Client, types, **kwargs) -> UUID:
    return client.submit_command(types.sync_type, {}, "alice", **kwargs).command_id


def submit_running(client: Client, types) -> UUID:
    """An async command claimed by its first run (workflow = the command id), as a worker
    claims it: only the worker moves a command into running."""
    command_id = client.submit_command(types.async_type, types.valid_payload, "alice").command_id
    claimed = client._value(
        "SELECT concord.runtime_claim(%s, %s, 'worker-1') ->> 'action'",
        (command_id, str(command_id)),
    )
    assert claimed == "run"
    return command_id


def run_step(client: Client, command_id: UUID, to_status: str, **outcome) -> str:
    """The command's current run moves it (runtime_finish): its outcome, its cancellation
    path. Returns the new status."""
    result = outcome.get("result")
    return client._value(
        "SELECT concord.runtime_finish(%s, c.dbos_workflow_id, %s, %s, %s, %s, %s) "
        "FROM concord.commands AS c WHERE c.command_id = %s",
        (
            command_id,
            to_status,
            None if result is None else Jsonb(result),
            outcome.get("error"),
            outcome.get("error_class"),
            outcome.get("reason"),
            command_id,
        ),
    )


def run_command(client: Client, command_id: UUID) -> None:
    """An operator queues a validated command and a worker claims its run."""
    client.transition_command(command_id, "queued", "oscar")
    workflow = client._value(
        "SELECT dbos_workflow_id FROM concord.commands WHERE command_id = %s", (command_id,)
    )
    assert (
        client._value(
            "SELECT concord.runtime_claim(%s, %s, 'worker-1') ->> 'action'", (command_id, workflow)
        )
        == "run"
    )


def assert_aware(value: object) -> None:
    assert isinstance(value, datetime), value
    assert value.tzinfo is not None and value.utcoffset() is not None, value


# -- command types -------------------------------------------------------------------


def test_register_command_type_returns_its_name_and_an_identical_spec_is_a_no_op(
    client: Client, db: psycopg.Connection
) -> None:
    """Rule: registering the same spec again changes nothing; a changed spec is a new
    version (spec 13.2)."""
    name = f"test.register_{uuid.uuid4().hex[:12]}"
    spec = {"command_type": name, "sync_allowed": True, "policy_checks": ["permission"]}
    assert client.register_command_type(spec) == name
    assert client.register_command_type(dict(spec)) == name

    def version() -> int:
        return db.execute(
            "SELECT version FROM concord.command_types WHERE command_type = %s", (name,)
        ).fetchone()[0]

    def audits() -> int:
        return db.execute(
            "SELECT count(*) FROM concord.domain_events "
            "WHERE event_type = 'command_type_registered' AND target_id = %s",
            (name,),
        ).fetchone()[0]

    assert version() == 1
    assert audits() == 1
    assert client.register_command_type({**spec, "risk_level": "high"}) == name
    assert version() == 2
    assert audits() == 2
    row = db.execute(
        "SELECT name, risk_level, sync_allowed FROM concord.command_types WHERE command_type = %s",
        (name,),
    ).fetchone()
    assert row == (name, "high", True)


def test_register_command_type_with_an_invalid_spec_lists_every_problem(client: Client) -> None:
    """Rule: CN005 names every problem of a spec at once, not just the first."""
    spec = {
        "command_type": "Bad Name",
        "risk_level": "extreme",
        "max_attempts": 0,
        "sync_allowed": "yes",
        "colour": "red",
        "required_inputs": ["a", "a"],
        "payload_schema": {"$ref": "https://example.com/schema.json"},
    }
    with pytest.raises(InvalidSpec) as caught:
        client.register_command_type(spec)
    exc = caught.value
    assert exc.sqlstate == "CN005"
    assert isinstance(exc, InvalidPayload) and isinstance(exc, ConcordError)
    assert exc.message == "invalid command type spec: 7 problem(s)"
    lines = exc.detail.splitlines()
    assert len(lines) == 7, exc.detail
    for fragment in (
        "unknown field colour",
        'command_type "Bad Name" must start with a lowercase letter',
        "max_attempts must be a whole number from 1 to 100, not 0",
        "risk_level must be one of low, medium, high, critical",
        "sync_allowed must be true or false, not string",
        "required_inputs lists a value twice",
        "https://example.com/schema.json' is not local",
    ):
        assert sum(fragment in line for line in lines) == 1, (fragment, exc.detail)
    assert exc.hint == "Fix every listed problem and register again."
    assert "DETAIL:" in str(exc) and "HINT:" in str(exc)
    assert isinstance(exc.__cause__, psycopg.Error)


def test_register_command_type_without_a_name_is_refused(client: Client) -> None:
    """Rule: command_type is required."""
    with pytest.raises(InvalidSpec) as caught:
        client.register_command_type({"sync_allowed": True})
    assert caught.value.detail == "- command_type is required"


def test_generate_report_of_spec_14_maps_to_its_primitives(client: Client) -> None:
    """Rule: spec 14's worked example maps to exactly the expected primitives."""
    name = f"test.generate_report_{uuid.uuid4().hex[:12]}"
    # data_access is no built-in policy: policy_checks must name registered ones (issue 3)
    client.register_policy(
        {
            "name": "data_access",
            "predicate": '$.payload.report_type == "payroll"',
            "decision": "deny",
            "reasons": ["payroll reports are restricted"],
        }
    )
    client.register_command_type(
        {
            "name": "Generate Report",
            "description": "Generate a report asynchronously.",
            "command_type": name,
            "function_name": "generate_report",
            "ingress_types": ["user_request", "scheduled_trigger"],
            "required_inputs": ["report_type", "date_range"],
            "async_required": True,
            "artifact_output_possible": True,
            "notification_required": True,
            "policy_checks": ["permission", "cost", "data_access"],
            "risk_level": "medium",
        }
    )
    assert client.map_task_to_primitives(name) == [
        "ingress",
        "command",
        "context",
        "policy",
        "plan",
        "queue",
        "async_task",
        "artifact_write",
        "notification",
        "state_transition",
        "audit",
    ]


@pytest.mark.parametrize(
    ("flags", "middle"),
    [
        ({}, ["queue", "async_task"]),
        ({"sync_allowed": True}, ["sync_function"]),
        ({"sync_allowed": True, "async_required": True}, ["queue", "async_task"]),
        (
            {
                "approval_required": True,
                "sync_allowed": True,
                "connector_requirements": ["smtp"],
                "memory_write_possible": True,
            },
            ["human_approval", "sync_function", "connector_call", "memory_write"],
        ),
    ],
)
def test_map_task_to_primitives_follows_spec_14(
    client: Client, flags: dict, middle: list[str]
) -> None:
    """Rule: spec 14 (approval, then async/sync, connector, artifact, memory,
    notification), in that order."""
    name = f"test.map_{uuid.uuid4().hex[:12]}"
    client.register_command_type({"command_type": name, **flags})
    assert client.map_task_to_primitives(name) == BASE + middle + TAIL


def test_map_task_to_primitives_of_an_unknown_type_is_refused(client: Client) -> None:
    """Rule: CN009 for an unregistered command type."""
    with pytest.raises(UnknownCommandType) as caught:
        client.map_task_to_primitives("test.never_registered")
    assert caught.value.message == "unknown command type 'test.never_registered'"
    assert "register_command_type" in caught.value.hint


# -- submit ----------------------------------------------------------------------------


def test_submit_an_async_command_queues_it(client: Client, types) -> None:
    """Rule: a valid async command goes created -> validated -> queued in one submit."""
    result = client.submit_command(
        types.async_type, types.valid_payload, "alice", ingress="user_request"
    )
    assert isinstance(result, SubmitResult)
    assert isinstance(result.command_id, UUID)
    assert result.status == "queued"
    assert result.created is True
    assert result.errors == []
    assert result.trace_id.startswith("trace_")
    timeline = client.command_timeline(result.command_id)
    # one audit row names the whole path and the workflow it was handed to (issue 16)
    assert [(e.event_type, e.from_status, e.to_status) for e in timeline] == [
        ("command_created", None, "queued"),
    ]
    assert timeline[0].payload["path"] == ["created", "validated", "queued"]
    assert timeline[0].payload["workflow"]["workflow_id"] == str(result.command_id)
    assert {e.actor for e in timeline} == {"alice"}


def test_submit_a_sync_command_stops_at_validated(client: Client, types) -> None:
    """Rule: a sync-allowed type is validated, not queued."""
    result = client.submit_command(types.sync_type, {}, "alice")
    assert (result.status, result.created, result.errors) == ("validated", True, [])


def test_submit_takes_the_trace_id_from_the_context(client: Client, types) -> None:
    """Rule: a caller's trace_id in the context is the command's trace_id."""
    trace = f"trace-test-{uuid.uuid4().hex}"
    result = client.submit_command(types.sync_type, {}, "alice", context={"trace_id": trace})
    assert result.trace_id == trace
    assert client.get_command(result.command_id).trace_id == trace


def test_an_idempotent_replay_returns_the_original(
    client: Client, types, db: psycopg.Connection
) -> None:
    """Rule: spec 11 — the same key, type and payload answer the original command with
    created=False and write nothing."""
    k = key()
    first = client.submit_command(types.async_type, types.valid_payload, "alice", idempotency_key=k)
    events = len(client.command_timeline(first.command_id))
    again = client.submit_command(
        types.async_type, dict(types.valid_payload), "bob", idempotency_key=k
    )
    assert first.created is True and again.created is False
    assert again.command_id == first.command_id
    assert (again.status, again.trace_id, again.errors) == (first.status, first.trace_id, [])
    assert (
        db.execute(
            "SELECT count(*) FROM concord.commands WHERE idempotency_key = %s", (k,)
        ).fetchone()[0]
        == 1
    )
    assert len(client.command_timeline(first.command_id)) == events
    assert client.get_command(first.command_id).idempotency_key == k


def test_the_same_key_for_a_different_payload_is_an_idempotency_conflict(
    client: Client, types
) -> None:
    """Rule: one key names one request (CN002)."""
    k = key()
    first = client.submit_command(types.async_type, types.valid_payload, "alice", idempotency_key=k)
    with pytest.raises(IdempotencyConflict) as caught:
        client.submit_command(
            types.async_type, {**types.valid_payload, "copies": 2}, "alice", idempotency_key=k
        )
    assert caught.value.sqlstate == "CN002"
    assert str(first.command_id) in caught.value.message
    assert "different payload" in caught.value.message
    assert caught.value.hint == "Use a new idempotency key for a different request."
    with pytest.raises(IdempotencyConflict) as caught:
        client.submit_command(types.sync_type, types.valid_payload, "alice", idempotency_key=k)
    assert f"different command type ({types.async_type})" in caught.value.message


def test_an_invalid_payload_is_recorded_as_failed_with_every_problem(client: Client, types) -> None:
    """Rule: spec 4.1 — a rejected request is still recorded, failed, with every reason
    (missing required inputs and every JSON Schema violation)."""
    k = key()
    result = client.submit_command(
        types.async_type,
        {"report_type": "profits", "copies": 0, "date_range": "  "},
        "alice",
        idempotency_key=k,
    )
    assert (result.status, result.created) == ("failed", True)
    problems = {(e["kind"], e["path"], e.get("keyword")) for e in result.errors}
    assert problems == {
        ("required_input", "$.date_range", None),
        ("schema", "$.copies", "minimum"),
        ("schema", "$.date_range", "pattern"),
        ("schema", "$.report_type", "enum"),
    }
    assert len(result.errors) == 4
    assert all(e["message"] for e in result.errors)
    command = client.get_command(result.command_id)
    assert command.status == "failed"
    assert command.error_class == "validation_error"
    assert command.error_detail == {"errors": result.errors}
    assert command.error.startswith("invalid payload: ")
    assert "$.copies: 0 is less than the minimum of 1" in command.error
    assert_aware(command.completed_at)
    replay = client.submit_command(
        types.async_type,
        {"report_type": "profits", "copies": 0, "date_range": "  "},
        "alice",
        idempotency_key=k,
    )
    assert (replay.command_id, replay.status, replay.created) == (
        result.command_id,
        "failed",
        False,
    )
    assert replay.errors == result.errors


def test_missing_required_inputs_are_each_listed(client: Client) -> None:
    """Rule: every absent, null or blank required input is reported."""
    name = f"test.inputs_{uuid.uuid4().hex[:12]}"
    client.register_command_type({"command_type": name, "required_inputs": ["a", "b", "c"]})
    result = client.submit_command(name, {"b": None, "c": " "}, "alice")
    assert result.status == "failed"
    assert [(e["kind"], e["path"]) for e in result.errors] == [
        ("required_input", "$.a"),
        ("required_input", "$.b"),
        ("required_input", "$.c"),
    ]


def test_a_payload_that_is_not_an_object_is_failed(client: Client, types) -> None:
    """Rule: a payload must be a JSON object."""
    result = client.submit_command(types.sync_type, [1, 2], "alice")
    assert result.status == "failed"
    assert result.errors == [
        {"path": "$", "kind": "type", "message": "payload must be a JSON object, not array"}
    ]


def test_submit_errors_map_to_their_exceptions(client: Client, types) -> None:
    """Rule: CN009 unknown type, CN005 NULL payload, CN008 blank or unknown arguments."""
    with pytest.raises(UnknownCommandType):
        client.submit_command("test.no_such_type", {}, "alice")
    with pytest.raises(InvalidPayload) as caught:
        client.submit_command(types.sync_type, None, "alice")
    assert caught.value.message == "payload must not be NULL"
    with pytest.raises(InvalidArgument) as caught:
        client.submit_command(types.sync_type, {}, "  ")
    assert caught.value.message == "requested_by is required and must not be blank"
    with pytest.raises(InvalidArgument) as caught:
        client.submit_command(types.sync_type, {}, "alice", ingress="")
    assert caught.value.message == "ingress is required and must not be blank"
    with pytest.raises(InvalidArgument) as caught:
        client.submit_command(types.sync_type, {}, "alice", idempotency_key=" ")
    assert caught.value.message == "idempotency_key is required and must not be blank"
    with pytest.raises(InvalidArgument) as caught:
        client.submit_command(types.sync_type, {}, "alice", cancellation_mode="abrupt")
    assert "unknown cancellation mode 'abrupt'" in caught.value.message
    with pytest.raises(InvalidArgument) as caught:
        client.submit_command(types.sync_type, {}, "alice", context=["not", "an", "object"])
    assert caught.value.message == "context must be a JSON object, not array"


# -- transitions -------------------------------------------------------------------------


def test_transition_command_moves_along_the_state_machine(client: Client, types) -> None:
    """Rule: a legal transition returns the new status and is audited with actor and
    reason (an operator's, with transition_command: running -> blocked); the run's
    outcome is stored with its result and completed_at stamped."""
    command_id = submit_running(client, types)
    assert (
        client.transition_command(command_id, "blocked", "oscar", reason="peer hangs") == "blocked"
    )
    last = client.command_timeline(command_id)[-1]
    assert (last.from_status, last.to_status, last.actor, last.reason) == (
        "running",
        "blocked",
        "oscar",
        "peer hangs",
    )
    command_id = submit_running(client, types)
    status = run_step(client, command_id, "succeeded", reason="done", result={"artifact": "r.pdf"})
    assert status == "succeeded"
    command = client.get_command(command_id)
    assert command.status == "succeeded"
    assert command.result == {"artifact": "r.pdf"}
    assert_aware(command.completed_at)
    assert command.allowed_next_statuses == []
    last = client.command_timeline(command_id)[-1]
    assert (last.event_type, last.from_status, last.to_status, last.actor, last.reason) == (
        "command_status_changed",
        "running",
        "succeeded",
        f"workflow:{command_id}",
        "done",
    )
    assert last.payload["result"] == {"artifact": "r.pdf"}


def test_an_approval_command_waits_for_its_decision(client: Client, types) -> None:
    """Rule: spec 12 and issue 3 — a command of an approval_required type waits for
    approval from submit, with a 'standard' approval opened for team:approvers; from
    waiting_for_approval a command is approved, cancelled, expired, failed or sent back
    for input, never run directly, and it is approved only through its approval (which
    then queues it)."""
    client.add_team_member("team:approvers", "approver1")
    result = client.submit_command(types.approval_type, {}, "alice")
    assert result.status == "waiting_for_approval"
    command_id = result.command_id
    assert client.get_command(command_id).allowed_next_statuses == [
        "approved",
        "cancelled",
        "expired",
        "failed",
        "waiting_for_input",
    ]
    with pytest.raises(IllegalTransition):
        client.transition_command(command_id, "running", "worker-1")
    with pytest.raises(IllegalTransition):
        client.transition_command(command_id, "approved", "carol")
    assert client.get_command(command_id).status == "waiting_for_approval"
    [approval] = [a for a in client.pending_approvals("approver1") if a.command_id == command_id]
    assert (approval.approval_type, approval.requested_by) == ("standard", "alice")
    resolution = client.resolve_approval(approval.approval_id, "approved", "approver1")
    assert (resolution.status, resolution.command_status) == ("approved", "queued")
    moves = [
        (e.from_status, e.to_status)
        for e in client.command_timeline(command_id)
        if e.event_type == "command_status_changed"
    ]
    assert moves[-2:] == [("waiting_for_approval", "approved"), ("approved", "queued")]
    assert client.get_command(command_id).status == "queued"


def test_a_failure_records_its_error(client: Client, types) -> None:
    """Rule: running -> failed keeps error and error_class; failed -> queued (retry)
    starts clean, and only when the error_class is retryable (issue 3)."""
    command_id = submit_running(client, types)
    assert (
        run_step(
            client, command_id, "failed", error="boom", error_class="transient_connector_error"
        )
        == "failed"
    )
    command = client.get_command(command_id)
    assert (command.error, command.error_class) == ("boom", "transient_connector_error")
    assert client.transition_command(command_id, "queued", "worker-1", reason="retry") == "queued"
    command = client.get_command(command_id)
    assert (command.error, command.error_class, command.completed_at) == (None, None, None)

    final = submit_running(client, types)
    run_step(client, final, "failed", error="bad", error_class="validation_error")
    with pytest.raises(IllegalTransition):
        client.transition_command(final, "queued", "worker-1", reason="retry")
    assert client.get_command(final).status == "failed"


def test_an_illegal_transition_is_refused_with_the_allowed_ones(client: Client, types) -> None:
    """Rule: CN001 for an edge not in command_transitions; DETAIL names the legal ones."""
    command_id = submit_sync(client, types)
    with pytest.raises(IllegalTransition) as caught:
        client.transition_command(command_id, "succeeded", "worker-1")
    assert caught.value.message == (
        f"illegal transition: command {command_id} cannot go from validated to succeeded"
    )
    assert caught.value.detail == (
        "From validated the allowed next statuses are: cancelled, failed, queued, running, "
        "waiting_for_approval, waiting_for_input."
    )
    assert client.get_command(command_id).status == "validated"


def test_a_terminal_command_never_moves(client: Client, types) -> None:
    """Rule: succeeded, cancelled and expired are terminal."""
    command_id = submit_sync(client, types)
    assert client.cancel_command(command_id, "alice") == "cancelled"
    for target in ("queued", "running", "failed"):
        with pytest.raises(IllegalTransition):
            client.transition_command(command_id, target, "worker-1")


def test_repeating_a_transition_is_a_no_op_and_a_different_outcome_a_conflict(
    client: Client, types
) -> None:
    """Rule: a runtime step may run twice — the actor who moved a command to its status
    may repeat the call: it returns the status and writes nothing; naming a different
    result or error is CN002 (a status is reached once). Anyone else is refused (CN001)."""
    command_id = submit_running(client, types)  # worker-1 claimed it
    events = len(client.command_timeline(command_id))
    assert client.transition_command(command_id, "running", "worker:worker-1") == "running"
    with pytest.raises(IllegalTransition) as late:
        client.transition_command(command_id, "running", "worker-0")
    assert "worker:worker-1 moved it there" in late.value.detail
    done = run_step(client, command_id, "succeeded", result={"n": 1})
    assert done == "succeeded"
    events += 1
    run = f"workflow:{command_id}"
    assert client.transition_command(command_id, "succeeded", run, result={"n": 1}) == "succeeded"
    with pytest.raises(IllegalTransition):
        client.transition_command(command_id, "succeeded", "worker-2")
    with pytest.raises(IdempotencyConflict) as caught:
        client.transition_command(command_id, "succeeded", run, result={"n": 2})
    assert caught.value.message == (
        f"command {command_id} is already succeeded with a different outcome"
    )
    with pytest.raises(IdempotencyConflict):
        client.transition_command(command_id, "succeeded", run, error="late")
    assert len(client.command_timeline(command_id)) == events
    command = client.get_command(command_id)
    assert (command.result, command.error) == ({"n": 1}, None)


def test_no_command_change_escapes_the_audit_trail(client: Client, types) -> None:
    """Rule: every change of a command is audited in the same transaction (spec 25) — a
    transition request that changes no status must not rewrite the command's error or
    result unseen."""
    command_id = submit_running(client, types)
    events = len(client.command_timeline(command_id))
    try:
        client.transition_command(
            command_id,
            "running",
            "mallory",
            result={"forged": True},
            error="forged",
            error_class="timeout",
        )
    except ConcordError:
        pass
    command = client.get_command(command_id)
    changed = (command.result, command.error, command.error_class) != (None, None, None)
    audited = len(client.command_timeline(command_id)) > events
    assert audited or not changed, (
        f"result/error rewritten without an audit row: {command.result}, {command.error}"
    )


def test_transition_errors_map_to_their_exceptions(client: Client, types) -> None:
    """Rule: CN008 unknown status or blank actor, CN006 unknown command, a malformed id
    is psycopg's own error (not a Concord one)."""
    command_id = submit_sync(client, types)
    with pytest.raises(InvalidArgument) as caught:
        client.transition_command(command_id, "finished", "worker-1")
    assert caught.value.message == "to_status: unknown command status 'finished'"
    assert "command_statuses" in caught.value.hint
    with pytest.raises(InvalidArgument):
        client.transition_command(command_id, "running", "")
    missing = uuid.uuid4()
    with pytest.raises(NotFound) as caught:
        client.transition_command(missing, "running", "worker-1")
    assert caught.value.message == f"command {missing} not found"
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        client.transition_command("not-a-uuid", "running", "worker-1")


def test_can_transition_reads_the_state_machine(client: Client) -> None:
    """Rule: can_transition is the transitions table as a lookup."""
    assert client.can_transition("queued", "running") is True
    assert client.can_transition("running", "cancelling") is True
    assert client.can_transition("succeeded", "running") is False
    assert client.can_transition("running", "running") is False
    assert client.can_transition("nonsense", "running") is False


# -- cancellation -------------------------------------------------------------------------


def test_cancel_command_follows_spec_30(client: Client, types) -> None:
    """Rule: not started -> cancelled at once; running -> cancelling with the request
    recorded; a second cancel changes nothing."""
    queued = client.submit_command(types.async_type, types.valid_payload, "alice").command_id
    assert client.cancel_command(queued, "bob", reason="not needed") == "cancelled"
    command = client.get_command(queued)
    assert command.cancellation_requested_by == "bob"
    assert_aware(command.cancellation_requested_at)
    assert_aware(command.completed_at)
    assert client.cancel_command(queued, "carol") == "cancelled"
    assert client.get_command(queued).cancellation_requested_by == "bob"

    running = submit_running(client, types)
    assert client.cancel_command(running, "bob", mode="compensate_then_stop") == "cancelling"
    command = client.get_command(running)
    assert (command.status, command.cancellation_mode) == ("cancelling", "compensate_then_stop")
    assert command.completed_at is None
    assert client.cancel_command(running, "bob") == "cancelling"
    with pytest.raises(IllegalTransition) as caught:
        client.transition_command(running, "cancelled", "worker-1")
    assert "compensate_then_stop" in caught.value.message
    assert run_step(client, running, "compensating") == "compensating"
    assert run_step(client, running, "compensated") == "compensated"
    assert run_step(client, running, "cancelled") == "cancelled"


def test_cancel_errors_map_to_their_exceptions(client: Client, types) -> None:
    """Rule: CN008 unknown mode or blank actor, CN006 unknown command."""
    command_id = submit_sync(client, types)
    with pytest.raises(InvalidArgument):
        client.cancel_command(command_id, "bob", mode="now")
    with pytest.raises(InvalidArgument):
        client.cancel_command(command_id, " ")
    with pytest.raises(NotFound):
        client.cancel_command(uuid.uuid4(), "bob")
    assert client.get_command(command_id).status == "validated"


# -- get_command and timeline ----------------------------------------------------------


def test_get_command_returns_the_whole_command(client: Client, types) -> None:
    """Rule: get_command returns the row with its dependencies, dependents, effects and
    allowed next statuses, typed."""
    parent = submit_sync(client, types)
    child = submit_sync(client, types)
    grandchild = submit_sync(client, types)
    client.add_dependency(child, parent)
    client.add_dependency(grandchild, child, required_status="failed", propagate_cancellation=False)
    runner = submit_running(client, types)  # effects belong to a running command's run
    effect_id = client.plan_effect(
        runner,
        "send_email",
        {"to": "x@example.com"},
        idempotency_key=key(),
        declared_compensation="unsend",
    )

    command = client.get_command(child)
    assert isinstance(command, Command)
    assert command.command_id == child and isinstance(command.command_id, UUID)
    assert (command.command_type, command.requested_by, command.ingress) == (
        types.sync_type,
        "alice",
        "api",
    )
    assert (command.payload, command.context, command.status) == ({}, {}, "validated")
    assert command.cancellation_mode == "graceful"
    assert command.dbos_workflow_id is None and command.result is None
    assert_aware(command.created_at)
    assert_aware(command.updated_at)
    assert command.updated_at >= command.created_at
    assert command.completed_at is None
    assert command.dependencies_satisfied is False
    assert command.allowed_next_statuses == [
        "cancelled",
        "failed",
        "queued",
        "running",
        "waiting_for_approval",
        "waiting_for_input",
    ]
    assert command.dependencies == [
        Dependency(
            parent_command_id=parent,
            required_status="succeeded",
            propagate_cancellation=True,
            parent_status="validated",
            satisfied=False,
        )
    ]
    assert command.dependents == [
        Dependent(child_command_id=grandchild, required_status="failed", child_status="validated")
    ]
    assert command.effects == []
    (effect,) = client.get_command(runner).effects
    assert isinstance(effect, Effect)
    assert (effect.domain_effect_id, effect.command_id, effect.effect_type) == (
        effect_id,
        runner,
        "send_email",
    )
    assert effect.effect_payload == {"to": "x@example.com"}
    assert (effect.status, effect.declared_compensation) == ("planned", "unsend")
    assert_aware(effect.created_at)
    assert effect.started_at is None and effect.completed_at is None


def test_get_command_of_an_unknown_id_is_not_found(client: Client) -> None:
    """Rule: CN006."""
    missing = uuid.uuid4()
    with pytest.raises(NotFound) as caught:
        client.get_command(missing)
    assert caught.value.message == f"command {missing} not found"


def test_command_timeline_lists_every_event_in_order(client: Client, types) -> None:
    """Rule: every state change writes its audit row; the timeline is ordered by
    event_seq."""
    command_id = submit_running(client, types)
    client.plan_effect(command_id, "write_artifact", {"path": "r.pdf"})
    run_step(client, command_id, "succeeded")
    timeline = client.command_timeline(command_id)
    assert all(isinstance(e, TimelineEvent) for e in timeline)
    seqs = [e.event_seq for e in timeline]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(isinstance(s, int) for s in seqs)
    for event in timeline:
        assert_aware(event.created_at)
        assert event.purpose == "audit"
        assert isinstance(event.payload, dict)
    assert [e.event_type for e in timeline] == [
        "command_created",
        "command_status_changed",
        "effect_planned",
        "command_status_changed",
    ]
    statuses = timeline[0].payload["path"] + [
        e.to_status for e in timeline if e.event_type == "command_status_changed"
    ]
    assert statuses == ["created", "validated", "queued", "running", "succeeded"]
    effect_event = timeline[2]
    assert (effect_event.target_type, effect_event.to_status) == ("effect", "planned")
    with pytest.raises(NotFound):
        client.command_timeline(uuid.uuid4())


# -- dependencies --------------------------------------------------------------------------


def test_add_dependency_and_dependencies_satisfied(client: Client, types) -> None:
    """Rule: spec 13.4 — a child waits for its parent; the same edge again is a no-op;
    the child cannot run before the parent succeeded."""
    parent = submit_sync(client, types)
    child = submit_sync(client, types)
    assert client.dependencies_satisfied(child) is True
    assert client.add_dependency(child, parent) is None
    client.add_dependency(child, parent)
    assert len(client.get_command(child).dependencies) == 1
    assert client.dependencies_satisfied(child) is False
    with pytest.raises(IllegalTransition) as caught:
        client.transition_command(child, "running", "worker-1")
    assert caught.value.detail == f"Unmet: {parent} is validated, needs succeeded."
    run_command(client, parent)
    run_step(client, parent, "succeeded")
    assert client.dependencies_satisfied(child) is True
    assert client.get_command(parent).dependents[0].child_command_id == child
    run_command(client, child)
    assert client.get_command(child).status == "running"


def test_a_parent_that_can_no_longer_succeed_cancels_its_child(client: Client, types) -> None:
    """Rule: a parent cancelled settles its propagating children, in the same
    transaction; a non-propagating child is failed with dependency_failed."""
    parent = submit_sync(client, types)
    propagating = submit_sync(client, types)
    failing = submit_sync(client, types)
    client.add_dependency(propagating, parent)
    client.add_dependency(failing, parent, propagate_cancellation=False)
    client.cancel_command(parent, "bob")
    assert client.get_command(propagating).status == "cancelled"
    failed = client.get_command(failing)
    assert (failed.status, failed.error_class) == ("failed", "dependency_failed")
    assert failed.error_detail == {
        "parent_command_id": str(parent),
        "parent_status": "cancelled",
        "required_status": "succeeded",
    }


def test_dependency_errors_map_to_their_exceptions(client: Client, types) -> None:
    """Rule: CN003 self-edge and cycle, CN011 conflicting edge or started child, CN006
    unknown command, CN008 unknown required status."""
    a = submit_sync(client, types)
    b = submit_sync(client, types)
    c = submit_sync(client, types)
    with pytest.raises(DependencyCycle) as caught:
        client.add_dependency(a, a)
    assert caught.value.message == f"dependency cycle: command {a} cannot depend on itself"
    client.add_dependency(a, b)
    client.add_dependency(b, c)
    with pytest.raises(DependencyCycle) as caught:
        client.add_dependency(c, a)
    assert caught.value.message == (
        f"dependency cycle: {a} already depends, directly or through other commands, on {c}"
    )
    assert caught.value.detail == (
        f"Adding {c} -> {a} would make both wait for each other forever."
    )
    with pytest.raises(StateConflict) as caught:
        client.add_dependency(a, b, required_status="failed")
    assert "Dependencies are immutable" in caught.value.hint
    with pytest.raises(NotFound):
        client.add_dependency(a, uuid.uuid4())
    with pytest.raises(NotFound):
        client.dependencies_satisfied(uuid.uuid4())
    with pytest.raises(InvalidArgument):
        client.add_dependency(c, b, required_status="done")
    running = submit_running(client, types)
    with pytest.raises(StateConflict) as caught:
        client.add_dependency(running, c)
    assert caught.value.message == (
        f"command {running} is running: a dependency can only be added before a command runs"
    )
    finished = submit_sync(client, types)
    client.cancel_command(finished, "bob")
    with pytest.raises(StateConflict) as caught:
        client.add_dependency(c, finished)
    assert caught.value.hint == "A dependency on it could never be satisfied."
    assert [d.parent_command_id for d in client.get_command(c).dependencies] == []


# -- effects --------------------------------------------------------------------------------


def test_effects_go_planned_executing_succeeded_and_replay_safely(client: Client, types) -> None:
    """Rule: spec 13.5 — planned -> executing -> succeeded; every call is idempotent on
    replay (a DBOS step may run twice)."""
    command_id = submit_running(client, types)
    k = key()
    effect_id = client.plan_effect(
        command_id, "send_email", {"to": "a@example.com"}, idempotency_key=k
    )
    assert isinstance(effect_id, UUID)
    assert (
        client.plan_effect(command_id, "send_email", {"to": "a@example.com"}, idempotency_key=k)
        == effect_id
    )
    run = str(command_id)  # the command's current (first) run
    assert client.start_effect(effect_id, run) == "executing"
    assert client.start_effect(effect_id, run) == "executing"
    assert client.complete_effect(effect_id, {"message_id": "m-1"}) == "succeeded"
    assert client.complete_effect(effect_id, {"message_id": "m-1"}) == "succeeded"
    (effect,) = client.get_command(command_id).effects
    assert (effect.status, effect.executed_by_dbos_workflow_id, effect.result) == (
        "succeeded",
        run,
        {"message_id": "m-1"},
    )
    assert effect.idempotency_key == k
    assert_aware(effect.started_at)
    assert_aware(effect.completed_at)
    changes = [
        (e.from_status, e.to_status)
        for e in client.command_timeline(command_id)
        if e.target_type == "effect"
    ]
    assert changes == [(None, "planned"), ("planned", "executing"), ("executing", "succeeded")]


def test_a_failed_effect_keeps_its_error_and_compensations_are_linked(
    client: Client, types
) -> None:
    """Rule: a failed effect carries error and error_class; a replay with the same error
    is a no-op; a compensation names the effect it undoes."""
    command_id = submit_running(client, types)
    run = str(command_id)
    done = client.plan_effect(command_id, "charge", {"amount": 5})
    client.start_effect(done, run)
    client.complete_effect(done, {"ok": True})
    # a compensation is planned while the command compensates
    client.cancel_command(command_id, "bob", mode="compensate_then_stop")
    run_step(client, command_id, "compensating")
    undo = client.plan_effect(command_id, "refund", {"amount": 5}, compensates_effect_id=done)
    client.start_effect(undo, run)
    assert client.fail_effect(undo, "gateway down", "transient_connector_error") == "failed"
    assert client.fail_effect(undo, "gateway down", "transient_connector_error") == "failed"
    effects = {e.domain_effect_id: e for e in client.get_command(command_id).effects}
    assert effects[undo].compensates_effect_id == done
    assert (effects[undo].status, effects[undo].error, effects[undo].error_class) == (
        "failed",
        "gateway down",
        "transient_connector_error",
    )


def test_an_effect_without_payload_or_result_records_empty_objects(client: Client, types) -> None:
    """Rule: plan_effect records a missing payload as {} and complete_effect a missing
    result as {} (the SQL coalesces NULL to '{}'; effect_payload defaults to '{}'); the
    client passes Python None as SQL NULL, as submit_command does."""
    command_id = submit_running(client, types)
    effect_id = client.plan_effect(command_id, "ping", None)
    client.start_effect(effect_id, str(command_id))
    client.complete_effect(effect_id, None)
    (effect,) = client.get_command(command_id).effects
    assert (effect.effect_payload, effect.result) == ({}, {})


def test_effect_errors_map_to_their_exceptions(client: Client, types) -> None:
    """Rule: CN002 a key or an outcome reused for something else, CN001 skipping
    executing, CN007 another workflow or a finished effect, CN006 unknown ids, CN008
    blank arguments or a compensation across commands, CN011 a terminal command."""
    command_id = submit_running(client, types)
    other = submit_running(client, types)
    k = key()
    effect_id = client.plan_effect(command_id, "send_email", {"to": "a"}, idempotency_key=k)
    with pytest.raises(IdempotencyConflict):
        client.plan_effect(command_id, "send_email", {"to": "b"}, idempotency_key=k)
    with pytest.raises(IllegalTransition) as caught:
        client.complete_effect(effect_id, {})
    assert "cannot go from planned to succeeded" in caught.value.message
    client.start_effect(effect_id, str(command_id))
    with pytest.raises(AppendOnlyViolation) as caught:
        client.start_effect(effect_id, "wf-2")
    assert f"already executed by workflow {command_id}" in caught.value.message
    client.complete_effect(effect_id, {"n": 1})
    with pytest.raises(IdempotencyConflict):
        client.complete_effect(effect_id, {"n": 2})
    with pytest.raises(IllegalTransition):
        client.fail_effect(effect_id, "late", "timeout")
    with pytest.raises(NotFound):
        client.start_effect(uuid.uuid4(), "wf-1")
    with pytest.raises(NotFound):
        client.plan_effect(uuid.uuid4(), "send_email", {})
    with pytest.raises(InvalidArgument):
        client.plan_effect(command_id, " ", {})
    with pytest.raises(InvalidArgument):
        client.start_effect(effect_id, "")
    with pytest.raises(InvalidArgument) as caught:
        client.plan_effect(other, "refund", {}, compensates_effect_id=effect_id)
    assert "a compensation is planned on the same command" in caught.value.message
    second = client.plan_effect(command_id, "notify", {})
    client.start_effect(second, str(command_id))
    with pytest.raises(InvalidArgument):
        client.fail_effect(second, "boom", "")
    run_step(client, command_id, "succeeded")
    with pytest.raises(StateConflict) as caught:
        client.plan_effect(command_id, "late", {})
    assert "effects are planned only while it is running" in caught.value.message


# -- the client itself -------------------------------------------------------------------


def test_client_takes_its_dsn_from_the_environment(
    concord_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rule: Client() reads CONCORD_DSN; with neither a dsn nor the variable it refuses
    clearly."""
    monkeypatch.setenv("CONCORD_DSN", concord_dsn)
    with Client() as c:
        assert c.can_transition("created", "validated") is True
    monkeypatch.delenv("CONCORD_DSN")
    with pytest.raises(ValueError, match="CONCORD_DSN"):
        Client()


def test_a_closed_client_refuses_work(concord_dsn: str) -> None:
    """Rule: close() (and leaving the with block) closes the pool."""
    with Client(concord_dsn) as c:
        assert c.can_transition("created", "validated") is True
    with pytest.raises(Exception, match="closed"):
        c.can_transition("created", "validated")


def test_the_package_exports_every_exception_and_dataclass() -> None:
    """Rule: the public names of the package are importable from ``concord``."""
    for name in concord.__all__:
        assert hasattr(concord, name), name
