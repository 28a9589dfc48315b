"""A join decides by its strategy and nothing else (README "Joins", spec 53):

1. ``join_children`` refuses a child whose status is not an agent status (CN008).
2. consensus: two succeeded children that disagree do not agree by a tie.
3. best_of_n never ranks an artifact by the score its own author gave it ("nobody grades
   their own work").
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg.types.json import Jsonb

from support.swarms import new_swarm, one, spawned


def test_join_children_refuses_a_child_whose_status_is_not_an_agent_status(
    swarm_conn: psycopg.Connection,
) -> None:
    """Issue §6 / README: join_children is a pure function over
    ``[{agent_run_id, status, result, artifacts}]``; a malformed child is CN008 (as a
    child that is not an object is), not silently counted as a live agent."""
    children = [
        {"agent_run_id": str(uuid.uuid4()), "status": "succeeded", "artifacts": []},
        {"agent_run_id": str(uuid.uuid4()), "status": "finished-ish", "artifacts": []},
    ]
    with pytest.raises(psycopg.Error) as refused:
        decision = one(
            swarm_conn, "SELECT concord.join_children('all_success', %s, '{}')", Jsonb(children)
        )
        pytest.fail(f"join_children took status 'finished-ish': {decision}")
    assert refused.value.sqlstate == "CN008", refused.value


def test_consensus_is_not_reached_by_a_tie_between_disagreeing_children(
    swarm_conn: psycopg.Connection,
) -> None:
    """consensus (spec 53): agreement. Two succeeded children with different answers do
    not agree, whatever min_agreement a half reaches; the first spawned must not win a
    tie."""
    children = Jsonb(
        [
            {"agent_run_id": "a", "status": "succeeded", "result": {"revenue": "fell"}},
            {"agent_run_id": "b", "status": "succeeded", "result": {"revenue": "rose"}},
        ]
    )
    for options in ({"min_agreement": 0.5}, {"min_agreement": 1}):
        decision = one(
            swarm_conn,
            "SELECT concord.join_children('consensus', %s, %s)",
            children,
            Jsonb(options),
        )
        assert decision["decision"] == "failed", (options, decision)


def test_best_of_n_does_not_rank_an_artifact_by_the_score_its_author_gave_it(
    swarm_conn: psycopg.Connection,
) -> None:
    """README (Joins): "An evaluation counts only when another agent wrote it: nobody
    grades their own work." A child that scores its own artifact 1.0 on create_artifact
    outranks a peer-reviewed artifact scored 0.9 by another agent."""
    conn = swarm_conn
    tools = ["spawn_subagent", "create_artifact", "evaluate_output", "read_artifact"]
    _, swarm, lead = new_swarm(conn, join_strategy="best_of_n", tools=tools)
    boaster = spawned(conn, lead, "boaster", ["create_artifact"])
    modest = spawned(conn, lead, "modest", ["create_artifact"])
    reviewer = spawned(
        conn, lead, "reviewer", ["evaluate_output", "read_artifact"], role="reviewer"
    )
    mine = one(
        conn,
        "SELECT concord.create_artifact(%s, %s)",
        boaster,
        Jsonb(
            {
                "artifact_type": "draft",
                "name": "boast",
                "content": {"v": 1},
                "score": 1.0,
                "status": "final",
            }
        ),
    )
    theirs = one(
        conn,
        "SELECT concord.create_artifact(%s, %s)",
        modest,
        Jsonb({"artifact_type": "draft", "name": "modest", "content": {"v": 2}, "status": "final"}),
    )
    assert mine["decision"] == theirs["decision"] == "allowed", (mine, theirs)
    modest_artifact = theirs["output"]["artifact_id"]
    graded = one(
        conn,
        "SELECT concord.evaluate_output(%s, %s)",
        reviewer,
        Jsonb(
            {
                "artifact_id": modest_artifact,
                "evaluation_type": "quality",
                "decision": "pass",
                "confidence": 0.9,
                "score": 0.9,
            }
        ),
    )
    assert graded["decision"] == "allowed", graded
    for run in (boaster, modest, reviewer):
        one(conn, "SELECT concord.finish_agent_run(%s, 'succeeded')", run)
    joined = one(conn, "SELECT concord.join_swarm(%s)", swarm)
    assert joined["selected_artifact_id"] == modest_artifact, joined
