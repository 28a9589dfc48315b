"""The revenue-investigation swarm of demo/05 (spec 39, 67, 70): the operation of the
command it works for, scripted agents and the operations behind their tools. The demo's
worker loads it next to demo_ops (``concord worker --module demo_ops --module
demo_agents``, with ``PYTHONPATH=demo``).

``investigate_revenue`` is alice's command: the worker runs it, waiting durably for the
swarm started on it to end, and succeeds with the swarm's result (or fails with it).

Agents (a :class:`ScriptedAgentRuntime` registered as ``demo_scripted``: no model, no
network; each move is a dict, or a function of the previous move's observation):

- ``revenue_coordinator`` plans, spawns the researcher and the analyst, asks for a
  Salesforce researcher it may not create (the child would hold a connector the
  coordinator lacks: refused, CN004), waits for its children, synthesizes a draft report
  from their results and artifacts, has the reviewer check it, then asks to publish it to
  ``external:finance@example.com`` (the ``external_sharing`` policy makes that wait for a
  data owner's approval), and finishes once it is published.
- ``revenue_researcher`` runs a ``run_sql`` query (weekly revenue by region) and stores
  the rows as a ``query_result`` artifact.
- ``revenue_analyst`` tries ``send_email``, a tool it does not hold (refused, CN004), runs
  a ``run_sql`` query (the change by region and channel) and writes an ``analysis``.
- ``revenue_reviewer`` reads the draft (``read_artifact``) and records a spec 66
  evaluation of it (``evaluate_output``).

Every move goes through the SQL gateway: a tool call becomes a command the worker runs
(``run_sql`` through the ``warehouse`` connector, a read-only PostgreSQL connection to the
database named by ``DEMO_WAREHOUSE_DSN``), or a refusal recorded as a step.

The scripted runtime keeps no state between moves (a crashed worker's replay asks for
the same move again), so each move is computed from the observation of the one before:
what a move needs later is carried in an artifact or an agent's result.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from dbos import DBOS

from concord.agent_contracts import ScriptedAgentRuntime
from concord.runtime import ClassifiedError, operation
from concord.runtime.agent_workflow import register_agent_runtime
from concord.runtime.workflows import state

RUNTIME_NAME = "demo_scripted"

if not os.environ.get("DEMO_WAREHOUSE_DSN"):
    raise RuntimeError(
        "demo_agents: set DEMO_WAREHOUSE_DSN to the DSN of the database whose schema "
        "demo_warehouse the warehouse connector reads (the demo's own database; make demo "
        "does all this)"
    )


# ---------------------------------------------------------------------------
# The command the swarm works for
# ---------------------------------------------------------------------------

SWARM_ENDED = ("succeeded", "partially_succeeded", "failed", "cancelled", "expired")
SWARM_WAIT_SECONDS = 180.0  # longer than the coordinator's own timeout (120 s in demo/05)
FIRST_SWARM_POLL_SECONDS = 0.2
MAX_SWARM_POLL_SECONDS = 1.0

READ_SWARM = """
SELECT jsonb_build_object(
    'swarm_run_id', s.swarm_run_id, 'name', s.name, 'status', s.status, 'error', s.error,
    'published', s.result -> 'published',
    'draft_report_artifact_id', (
        SELECT x.artifact_id FROM concord.artifacts AS x
        WHERE x.swarm_run_id = s.swarm_run_id AND x.name = 'revenue_drop_draft'
        ORDER BY x.version DESC LIMIT 1))
FROM concord.swarm_runs AS s
WHERE s.command_id = %s
ORDER BY s.created_at, s.swarm_run_id
LIMIT 1
""".strip()


def _read_swarm(command_id: str) -> dict[str, Any] | None:
    """The first swarm started on the command (None before one is), read as the worker's
    login: a read, so a plain step. The worker's login sees every project; reading
    concord.swarm_runs takes a login allowed to (make demo's worker is the superuser)."""
    return state().db.scalar(READ_SWARM, command_id)


@operation("investigate_revenue")
def investigate_revenue(ctx, payload):
    """The worker runs alice's investigation: demo/05 starts the revenue_investigation
    swarm on the command; this waits for the swarm to end (durably: each look is a step, each
    pause a DBOS sleep, so a restarted worker resumes the wait) and returns its result. A
    swarm that fails, is cancelled or expires fails the command; one that has not ended in
    SWARM_WAIT_SECONDS times it out. Cancelling the command cancels its swarm too, and
    stops the wait at its next look."""
    waited, delay = 0.0, FIRST_SWARM_POLL_SECONDS
    while True:
        swarm = ctx.step(_read_swarm, ctx.command_id, name="investigate_revenue.read_swarm")
        if swarm is not None and swarm["status"] in SWARM_ENDED:
            break
        if waited >= SWARM_WAIT_SECONDS:
            where = "no swarm was started" if swarm is None else f"swarm {swarm['name']}"
            state_now = "" if swarm is None else f" is still {swarm['status']}"
            raise ClassifiedError(
                f"{where}{state_now} after {SWARM_WAIT_SECONDS:g} s", error_class="timeout"
            )
        DBOS.sleep(delay)
        waited += delay
        delay = min(delay * 1.5, MAX_SWARM_POLL_SECONDS)
    if swarm["status"] not in ("succeeded", "partially_succeeded"):
        why = swarm["error"] or "no error recorded"
        raise ClassifiedError(
            f"swarm {swarm['name']} ended {swarm['status']}: {why}", error_class="dependency_failed"
        )
    return {
        "swarm_run_id": swarm["swarm_run_id"],
        "swarm_status": swarm["status"],
        "draft_report_artifact_id": swarm["draft_report_artifact_id"],
        "published": swarm["published"],
    }


# ---------------------------------------------------------------------------
# Operations: the code behind the agents' command tools
# ---------------------------------------------------------------------------


@operation("run_sql", produces=["connector.warehouse.query"])
def run_sql(ctx, payload):
    """One read-only query through the ``warehouse`` connector (type postgres: a READ ONLY
    transaction, a statement timeout, a row limit; parameters sent apart from the text)."""
    out = ctx.call("warehouse", "query", {"sql": payload["sql"], "params": payload.get("params")})
    return {"rows": out["rows"], "row_count": out["row_count"], "truncated": out["truncated"]}


@operation("publish_artifact", produces=["notification.artifact_published"])
def publish_artifact(ctx, payload):
    """Deliver a swarm's artifact to its destination. It runs only once a data owner has
    approved (the external_sharing policy). The demo has no mail server: the delivery is an
    app notification addressed to the destination."""
    sent = ctx.effect(
        "notification.artifact_published",
        connector="notification",
        capability="send_app_notification",
        input={
            "recipient": payload["destination"],
            "subject": payload["title"],
            "body": payload["summary"],
            "metadata": {"artifact_id": payload["artifact_id"]},
        },
    )
    return {
        "artifact_id": payload["artifact_id"],
        "delivered_to": payload["destination"],
        "notification_id": sent["notification_id"],
    }


@operation("send_email", produces=["notification.email"])
def send_email(ctx, payload):
    """The tool no agent of the demo holds: refused at the gateway, it never becomes a
    command. (Were it granted, the demo would deliver to the app inbox.)"""
    sent = ctx.effect(
        "notification.email",
        connector="notification",
        capability="send_app_notification",
        input={"recipient": payload["to"], "subject": payload["subject"], "body": payload["body"]},
    )
    return {"notification_id": sent["notification_id"]}


# ---------------------------------------------------------------------------
# The scripts
# ---------------------------------------------------------------------------

# "Last week" is the latest week loaded in the warehouse (spec 39: "Investigate why revenue
# dropped last week"): the queries find it themselves, so no move needs what an earlier
# one saw.
WEEKLY_REVENUE_BY_REGION = """
SELECT week, region, sum(revenue) AS revenue
FROM demo_warehouse.weekly_revenue
WHERE week IN (SELECT DISTINCT week FROM demo_warehouse.weekly_revenue
               ORDER BY week DESC LIMIT %(weeks)s)
GROUP BY week, region
ORDER BY region, week
""".strip()

CHANGE_BY_REGION_AND_CHANNEL = """
WITH last_two AS (
    SELECT max(week) AS week, min(week) AS previous_week
    FROM (SELECT DISTINCT week FROM demo_warehouse.weekly_revenue
          ORDER BY week DESC LIMIT 2) AS w
)
SELECT l.week, l.previous_week, r.region, r.channel,
       sum(r.revenue) FILTER (WHERE r.week = l.previous_week) AS previous,
       sum(r.revenue) FILTER (WHERE r.week = l.week) AS current,
       sum(r.revenue) FILTER (WHERE r.week = l.week)
           - sum(r.revenue) FILTER (WHERE r.week = l.previous_week) AS change
FROM demo_warehouse.weekly_revenue AS r
CROSS JOIN last_two AS l
WHERE r.week IN (l.week, l.previous_week)
GROUP BY l.week, l.previous_week, r.region, r.channel
ORDER BY change, r.region, r.channel
""".strip()


def _pct(before: Decimal, after: Decimal) -> str:
    return f"{(after - before) * 100 / before:+.1f}%"


def _artifact_named(observation: dict[str, Any], name: str) -> dict[str, Any]:
    for artifact in observation.get("artifacts") or []:
        if artifact["name"] == name:
            return artifact
    raise LookupError(f"no artifact {name} among {observation.get('artifacts')}")


def _child_result(observation: dict[str, Any], agent_name: str) -> dict[str, Any]:
    for child in observation.get("children") or []:
        if child["agent_name"] == agent_name and child["status"] == "succeeded":
            return child.get("result") or {}
    raise LookupError(f"no succeeded child {agent_name} among {observation.get('children')}")


# -- the researcher -------------------------------------------------------------------

RESEARCH_QUERY = {
    "action_type": "tool_call",
    "tool_name": "run_sql",
    "payload": {"sql": WEEKLY_REVENUE_BY_REGION, "params": {"weeks": 2}},
    "reason": "weekly revenue by region, last week and the week before",
    "expected_output": "rows of (week, region, revenue)",
}


def store_query_result(obs: dict[str, Any]) -> dict[str, Any]:
    rows = obs["result"]["rows"]
    previous_week, week = sorted({r["week"] for r in rows})
    totals = {
        w: sum(Decimal(r["revenue"]) for r in rows if r["week"] == w) for w in (previous_week, week)
    }
    return {
        "action_type": "tool_call",
        "tool_name": "create_artifact",
        "reason": "hand the figures to the coordinator as an artifact",
        "payload": {
            "artifact_type": "query_result",
            "name": "weekly_revenue_by_region",
            "status": "final",
            "content": {
                "rows": rows,
                "week": week,
                "previous_week": previous_week,
                "totals": {w: str(t) for w, t in totals.items()},
                "change": _pct(totals[previous_week], totals[week]),
            },
        },
    }


def finish_research(obs: dict[str, Any]) -> dict[str, Any]:
    content = obs["output"]["content"]
    return {
        "action_type": "finish",
        "status": "succeeded",
        "result": {
            "artifact_id": obs["output"]["artifact_id"],
            **{k: content[k] for k in ("week", "previous_week", "totals", "change")},
        },
    }


# -- the analyst ------------------------------------------------------------------------

ASK_SALES_BY_EMAIL = {
    "action_type": "tool_call",
    "tool_name": "send_email",
    "payload": {
        "to": "sales-leads@example.com",
        "subject": "Did deals slip last week?",
        "body": "Which deals slipped last week, and in which region?",
    },
    "reason": "ask the sales leads before analysing (a tool this agent does not hold)",
}

ANALYSIS_QUERY = {
    "action_type": "tool_call",
    "tool_name": "run_sql",
    "payload": {"sql": CHANGE_BY_REGION_AND_CHANNEL},
    "reason": "the change by region and channel, largest drop first",
    "expected_output": "rows of (week, previous_week, region, channel, previous, current, change)",
}


def write_analysis(obs: dict[str, Any]) -> dict[str, Any]:
    rows = obs["result"]["rows"]
    worst, others = rows[0], rows[1:]
    drop = -sum(Decimal(r["change"]) for r in rows)
    largest_other = max(abs(Decimal(r["change"]) * 100 / Decimal(r["previous"])) for r in others)
    finding = (
        f"{worst['region'].upper()} {worst['channel']} revenue fell "
        f"{-Decimal(worst['change']) * 100 / Decimal(worst['previous']):.1f}% "
        f"({worst['previous']} -> {worst['current']}), "
        f"{-Decimal(worst['change']) * 100 / drop:.0f}% of the net drop of {drop}; "
        f"no other region and channel moved by more than {largest_other:.1f}%."
    )
    return {
        "action_type": "tool_call",
        "tool_name": "create_artifact",
        "reason": "hand the analysis to the coordinator as an artifact",
        "payload": {
            "artifact_type": "analysis",
            "name": "revenue_change_analysis",
            "status": "final",
            "content": {"week": worst["week"], "finding": finding, "largest_changes": rows[:3]},
        },
    }


def finish_analysis(obs: dict[str, Any]) -> dict[str, Any]:
    return {
        "action_type": "finish",
        "status": "succeeded",
        "result": {
            "artifact_id": obs["output"]["artifact_id"],
            "finding": obs["output"]["content"]["finding"],
        },
    }


# -- the reviewer -----------------------------------------------------------------------


def read_draft(context: dict[str, Any]) -> dict[str, Any]:
    return {
        "action_type": "tool_call",
        "tool_name": "read_artifact",
        "payload": {"artifact_id": context["context_scope"]["draft_artifact_id"]},
        "reason": "read the draft report",
    }


def evaluate_draft(obs: dict[str, Any]) -> dict[str, Any]:
    """Deterministic checks of spec 66: the draft cites its sources, and its week-over-week
    change is the one its totals give."""
    draft = obs["output"]
    content = draft["content"]
    totals = {w: Decimal(t) for w, t in content["totals"].items()}
    consistent = (
        _pct(totals[content["previous_week"]], totals[content["week"]]) == content["change"]
    )
    sourced = len(draft["parent_artifact_ids"]) == 2
    issues = [] if consistent else ["the change does not follow from the totals"]
    if not sourced:
        issues.append("the draft does not cite both the query result and the analysis")
    issues.append("partner revenue is booked late: re-check it next week")
    passed = consistent and sourced
    return {
        "action_type": "tool_call",
        "tool_name": "evaluate_output",
        "reason": "check the draft before it leaves the company",
        "payload": {
            "artifact_id": draft["artifact_id"],
            "evaluation_type": "reviewer_agent",
            "decision": "pass" if passed else "revise",
            "confidence": 0.9 if passed else 0.4,
            "issues": issues,
            "recommendation": "publish" if passed else "revise the totals",
        },
    }


def finish_review(obs: dict[str, Any]) -> dict[str, Any]:
    evaluation = obs["output"]["content"]
    return {
        "action_type": "finish",
        "status": "succeeded",
        "result": {
            "evaluation_artifact_id": obs["output"]["artifact_id"],
            "decision": evaluation["decision"],
            "confidence": evaluation["confidence"],
        },
    }


# -- the coordinator --------------------------------------------------------------------


def spawn(agent_name: str, reason: str, **request: Any) -> dict[str, Any]:
    """A spawn move; what the request leaves out comes from the swarm's template of that
    agent name."""
    return {
        "action_type": "spawn_subagent",
        "reason": reason,
        "request": {"agent_name": agent_name, **request},
    }


def synthesize_draft(obs: dict[str, Any]) -> dict[str, Any]:
    research = _child_result(obs, "revenue_researcher")
    analysis = _child_result(obs, "revenue_analyst")
    totals = research["totals"]
    week, previous = research["week"], research["previous_week"]
    return {
        "action_type": "tool_call",
        "tool_name": "create_artifact",
        "reason": "synthesize the children's artifacts into a draft (coordinator_synthesis)",
        "payload": {
            "artifact_type": "report",
            "name": "revenue_drop_draft",
            "content": {
                "title": f"Why revenue dropped in {week}",
                "summary": (
                    f"Revenue was {totals[week]} in {week} against {totals[previous]} in "
                    f"{previous} ({research['change']}). {analysis['finding']}"
                ),
                "week": week,
                "previous_week": previous,
                "totals": totals,
                "change": research["change"],
            },
            "parent_artifact_ids": [research["artifact_id"], analysis["artifact_id"]],
        },
    }


def spawn_reviewer(obs: dict[str, Any]) -> dict[str, Any]:
    return spawn(
        "revenue_reviewer",
        "have the draft checked before it is shared",
        context_scope={"draft_artifact_id": obs["output"]["artifact_id"]},
    )


def publish_if_passed(obs: dict[str, Any]) -> dict[str, Any]:
    review = _child_result(obs, "revenue_reviewer")
    if review["decision"] != "pass":
        return {
            "action_type": "finish",
            "status": "failed",
            "error": f"the reviewer did not pass the draft: {review}",
        }
    draft = _artifact_named(obs, "revenue_drop_draft")
    return {
        "action_type": "tool_call",
        "tool_name": "publish_report",
        "reason": "The user asked to prepare the report for external sharing.",
        "payload": {
            "artifact_id": draft["artifact_id"],
            "destination": "external:finance@example.com",
            "title": "Revenue investigation: draft report",
            "summary": (
                f"Draft report {draft['artifact_id']} (version {draft['version']}), "
                f"reviewed: {review['decision']} at confidence {review['confidence']}."
            ),
        },
    }


def finish_coordination(obs: dict[str, Any]) -> dict[str, Any]:
    published = obs.get("status") == "succeeded"
    return {
        "action_type": "finish",
        "status": "succeeded" if published else "failed",
        "result": {
            "publish_command_id": obs.get("command_id"),
            "publish_decision": obs.get("decision"),
            "publish_status": obs.get("status"),
            "published": obs.get("result"),
        },
        "error": None if published else f"the publication ended {obs.get('status')}",
    }


SCRIPTS: dict[str, list[Any]] = {
    "revenue_coordinator": [
        {
            "action_type": "plan",
            "reason": "split the investigation",
            "output": {
                "plan": [
                    "research the weekly figures",
                    "analyse the change",
                    "check the pipeline in Salesforce",
                    "draft",
                    "review",
                    "publish to finance",
                ]
            },
        },
        spawn("revenue_researcher", "gather the weekly figures"),
        spawn("revenue_analyst", "explain the change"),
        # The coordinator holds the warehouse connector only: a child asking for
        # Salesforce is refused by the spawn_scope policy (subset, not union).
        spawn(
            "pipeline_researcher",
            "compare with the Salesforce pipeline",
            agent_role="researcher",
            delegated_goal="Find the deals that slipped in Salesforce.",
            allowed_tools=["run_sql"],
            allowed_connectors=["warehouse", "salesforce"],
        ),
        {
            "action_type": "message",
            "message_type": "status",
            "content": "researcher and analyst at work; the Salesforce check was refused",
        },
        {"action_type": "wait_children"},
        synthesize_draft,
        spawn_reviewer,
        {"action_type": "wait_children"},
        publish_if_passed,
        finish_coordination,
    ],
    "revenue_researcher": [RESEARCH_QUERY, store_query_result, finish_research],
    "revenue_analyst": [ASK_SALES_BY_EMAIL, ANALYSIS_QUERY, write_analysis, finish_analysis],
    "revenue_reviewer": [read_draft, evaluate_draft, finish_review],
}

register_agent_runtime(RUNTIME_NAME, ScriptedAgentRuntime(SCRIPTS))
