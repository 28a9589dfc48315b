"""The gateway answers every agent with a Concord answer that says what is wrong, and the
record obeys the same rules whoever writes:

1. A spawn request (``spawn_subagent`` or through ``submit_agent_action``) with a JSON
   ``null`` for ``memory_scope``, ``context_scope``, ``constraints`` or ``max_steps`` is
   refused with a Concord error (CN005), as ``start_swarm`` refuses it.
2. An invalid gateway-tool input (``create_artifact``, ``write_memory``,
   ``evaluate_output``) answers ``invalid`` with the problem it has.
3. "A swarm with agent templates spawns only the templates' roles" holds for any INSERT,
   the table owner's included, not only in the spawn policy (CN004).
4. A spawn repeated under its idempotency key through ``submit_agent_action`` (what a
   DBOS step re-run after a crash sends) returns the first answer.
"""

from __future__ import annotations

import json

import psycopg
import pytest
from psycopg.types.json import Jsonb

from support.swarms import LOOKUP, RUN_SQL, memory_scope, new_swarm, one

# ---------------------------------------------------------------------------
# 1. JSON nulls in a spawn request
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["memory_scope", "context_scope", "constraints", "max_steps"])
@pytest.mark.parametrize("through", ["spawn_subagent", "submit_agent_action"])
def test_a_spawn_request_with_a_json_null_field_is_refused_with_a_concord_error(
    swarm_conn: psycopg.Connection, field: str, through: str
) -> None:
    """Issue §2/§3: a scope is a typed value and errors name what was refused and why
    (never a raw Postgres error): a null memory_scope, context_scope, constraints or
    max_steps in the spec 59.1 request is CN005 (as start_swarm says for the same
    nulls) or an ``invalid`` answer, not a NOT NULL violation (23502) of agent_runs."""
    conn = swarm_conn
    _, _, lead = new_swarm(conn)
    request = {
        "agent_name": "w",
        "agent_role": "worker",
        "delegated_goal": "g",
        "allowed_tools": [LOOKUP],
        field: None,
    }
    try:
        if through == "spawn_subagent":
            answer = one(
                conn,
                "SELECT concord.spawn_subagent(%s)",
                Jsonb({"parent_agent_run_id": lead, **request}),
            )
        else:
            answer = one(
                conn,
                "SELECT concord.submit_agent_action(%s, %s)",
                lead,
                Jsonb({"tool_name": "spawn_subagent", "payload": request}),
            )
    except psycopg.Error as e:
        assert (e.sqlstate or "").startswith("CN"), (
            f"{through} with {field}: null raised a raw {e.sqlstate}: {e.diag.message_primary}"
        )
        return
    assert answer["decision"] in ("invalid", "denied"), (
        f"{through} with {field}: null was {answer['decision']}: {answer}"
    )


# ---------------------------------------------------------------------------
# 2. An invalid gateway tool input: the answer says what is wrong
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tool, payload, must_mention",
    [
        ("create_artifact", {"artifact_type": "report", "content": {"x": 1}}, "name"),
        (
            "write_memory",
            {"memory_type": "fact", "content": 5, "confidence": 0.9, "consent": True},
            "content",
        ),
        (
            "evaluate_output",
            {"decision": "pass", "confidence": 0.9, "evaluation_type": "quality"},
            "artifact_id",
        ),
    ],
)
def test_an_invalid_gateway_tool_input_answers_with_the_problem_it_has(
    swarm_conn: psycopg.Connection, tool: str, payload: dict, must_mention: str
) -> None:
    """Issue §2 ("errors name what was refused and why") and README ("CN005 lists every
    problem"): the answer of a refused gateway tool call carries the problem itself in
    ``reasons`` (or ``message``), not only "invalid artifact: 1 problem(s)"."""
    conn = swarm_conn
    _, _, lead = new_swarm(conn, memory_scope=memory_scope())
    answer = one(conn, f"SELECT concord.{tool}(%s, %s)", lead, Jsonb(payload))
    assert answer["decision"] == "invalid", answer
    said = json.dumps([answer.get("message"), answer.get("reasons")])
    assert must_mention in said, (
        f"{tool} refused {payload} but its answer never says what is wrong "
        f"(no mention of {must_mention!r}): {said}"
    )


# ---------------------------------------------------------------------------
# 3. The templates' roles are an invariant of the record, not only a policy
# ---------------------------------------------------------------------------


def test_a_swarm_with_templates_refuses_a_raw_agent_run_of_another_role(
    swarm_conn: psycopg.Connection,
) -> None:
    """README invariants (any INSERT, the owner's included): 'A swarm with agent
    templates spawns only the templates' roles' (CN004)."""
    conn = swarm_conn
    command_id, swarm, lead = new_swarm(
        conn,
        agents=[
            {
                "agent_name": "researcher",
                "agent_role": "researcher",
                "delegated_goal": "find",
                "allowed_tools": [RUN_SQL],
            }
        ],
    )
    # the gateway refuses the role
    answer = one(
        conn,
        "SELECT concord.spawn_subagent(%s)",
        Jsonb(
            {
                "parent_agent_run_id": lead,
                "agent_name": "x",
                "agent_role": "intruder",
                "delegated_goal": "g",
            }
        ),
    )
    assert answer["decision"] == "denied" and answer["code"] == "CN004", answer
    # the owner's raw INSERT must be refused too
    with pytest.raises(psycopg.Error) as refused:
        conn.execute(
            "INSERT INTO concord.agent_runs (command_id, swarm_run_id, parent_agent_run_id, "
            "agent_name, agent_role, goal, spawn_depth, allowed_tools) "
            "VALUES (%s, %s, %s, 'x', 'intruder', 'g', 1, '{run_sql}')",
            (command_id, swarm, lead),
        )
    assert refused.value.sqlstate == "CN004"


# ---------------------------------------------------------------------------
# 4. A spawn replayed under its key (the workflow's step re-run after a crash)
# ---------------------------------------------------------------------------


def test_a_spawn_repeated_under_its_idempotency_key_through_the_gateway_returns_the_first_answer(
    swarm_conn: psycopg.Connection,
) -> None:
    """README: submit_agent_action — "the same idempotency_key again returns the first
    answer"; DESIGN: every SQL function the worker calls is idempotent on replay. The
    action is the one concord.run_agent's _spawn sends at turn 0."""
    conn = swarm_conn
    _, swarm, lead = new_swarm(conn)
    request = {
        "agent_name": "helper",
        "agent_role": "worker",
        "delegated_goal": "help",
        "allowed_tools": [LOOKUP],
        "parent_agent_run_id": lead,
        "swarm_run_id": swarm,
        "idempotency_key": "turn:0",
    }
    action = Jsonb(
        {
            "action_type": "tool_call",
            "tool_name": "spawn_subagent",
            "payload": request,
            "reason": "help",
            "idempotency_key": "turn:0",
        }
    )
    first = one(conn, "SELECT concord.submit_agent_action(%s, %s)", lead, action)
    assert first["decision"] == "allowed", first
    try:
        again = one(conn, "SELECT concord.submit_agent_action(%s, %s)", lead, action)
    except psycopg.Error as exc:
        pytest.fail(f"the replayed spawn raised {exc.sqlstate}: {exc}")
    assert again["child_agent_run_id"] == first["child_agent_run_id"]
    assert again["command_id"] == first["command_id"]
    assert (
        one(conn, "SELECT count(*) FROM concord.agent_runs WHERE parent_agent_run_id = %s", lead)
        == 1
    )
    assert one(conn, "SELECT count(*) FROM concord.agent_steps WHERE agent_run_id = %s", lead) == 1
