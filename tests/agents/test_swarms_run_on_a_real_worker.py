"""Agents under governance, run by the DBOS runtime: the runtime registry a worker polls
agent runs with, the agent loop leaving DBOS's errors and a shutdown to DBOS, and real
swarms: a real ``concord worker`` subprocess on a database of its
own loads ``tests/support/runtime_ops/concord_test_agents.py`` (a ScriptedAgentRuntime named
``scripted``); swarms are started through SQL; every tool call of an agent becomes a
command the same worker runs; a spawn that needs approval is awaited by the runtime
(``tests/support/runtime_ops/concord_test_gated_spawn.py``) and joined once approved.
Nothing of Postgres or DBOS is mocked.
"""

from __future__ import annotations

import base64
import json
import pickle
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

from concord.agent_contracts import ScriptedAgentRuntime
from concord.migrate import migrate
from concord.runtime.agent_workflow import (
    AGENT_QUEUE,
    agent_runtime,
    register_agent_runtime,
    unregister_agent_runtime,
)
from concord.runtime.worker import Worker, WorkerConfig
from support.databases import temporary_database
from support.swarms import GATED_SPAWN_RUNTIME, new_swarm, one
from support.workers import WorkerProcess, register_test_types, wait_for


def test_a_worker_with_an_agent_runtime_polls_agent_runs() -> None:
    worker = Worker(WorkerConfig(dsn="dbname=unused", apply_schedules=False))
    name = f"unit-{uuid.uuid4().hex[:8]}"
    assert AGENT_QUEUE not in worker.listened_queues() or agent_runtime("scripted") is not None
    with pytest.raises(TypeError, match="cancel_agent_run"):

        class Half:
            def start_agent_run(self, *a):
                return {}

            def resume_agent_run(self, *a):
                return {}

        register_agent_runtime(name, Half())  # type: ignore[arg-type]
    register_agent_runtime(name, ScriptedAgentRuntime({}))
    try:
        assert AGENT_QUEUE in worker.listened_queues()
    finally:
        unregister_agent_runtime(name)
    assert agent_runtime(name) is None


def _loop_for(run_doc: dict[str, Any]) -> Any:
    from concord.runtime.agent_workflow import AgentLoop

    loop = AgentLoop("run-1", "agent:run-1")
    loop.run_doc = dict(run_doc)
    loop.runtime_name = run_doc.get("runtime")
    return loop


def test_the_agent_loop_leaves_dbos_errors_and_a_shutdown_to_dbos(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker's SIGTERM drain destroys DBOS under a running agent: what DBOS raises
    then (its own DBOSException, or anything once it is down) is not the agent failing.
    It is raised again (the workflow is recovered later), never turned into a failed run;
    a plain defect still fails the run."""
    import dbos._dbos as dbos_module
    from dbos._error import DBOSException, DBOSMaxStepRetriesExceeded

    from concord.runtime import agent_workflow as ra

    name = f"unit-{uuid.uuid4().hex[:8]}"
    register_agent_runtime(name, ScriptedAgentRuntime({}))
    failed: list[str] = []
    monkeypatch.setattr(ra, "_sql_step", lambda *a: {"ok": {"status": "running", "runtime": name}})

    def fail(self: Any, error: str) -> None:
        failed.append(error)
        raise ra._Stop(self._answer("failed", error=error))

    monkeypatch.setattr(ra.AgentLoop, "_fail", fail)
    down = {"value": False}
    monkeypatch.setattr(ra, "_dbos_is_down", lambda: down["value"])

    def run_raising(exc: BaseException) -> dict[str, Any]:
        def loop(self: Any) -> dict[str, Any]:
            raise exc

        monkeypatch.setattr(ra.AgentLoop, "_loop", loop)
        return ra.AgentLoop("run-1", "agent:run-1").run()

    try:
        for exc in (
            DBOSException("No DBOS was created yet"),
            DBOSException("System database accessed before DBOS was launched"),
        ):
            with pytest.raises(type(exc)):
                run_raising(exc)
        try:
            raise RuntimeError("a step failed") from DBOSException("No DBOS was created yet")
        except RuntimeError as wrapped:
            with pytest.raises(RuntimeError):
                run_raising(wrapped)
        down["value"] = True  # DBOS destroyed: whatever a step raises is the shutdown's
        with pytest.raises(RuntimeError):
            run_raising(RuntimeError("the connection pool is closed"))
        assert failed == []
        down["value"] = False  # DBOS up: a defect fails the run
        answer = run_raising(RuntimeError("a defect"))
        assert answer["status"] == "failed" and failed == [
            "the agent workflow failed: RuntimeError: a defect"
        ]
        # a step whose retries ran out while DBOS is up: the run fails, it does not hang
        answer = run_raising(DBOSMaxStepRetriesExceeded("concord.agent.state", 4, []))
        assert answer["status"] == "failed" and len(failed) == 2, failed
    finally:
        unregister_agent_runtime(name)

    # what "down" means: no instance, not launched, or past the drain of DBOS.destroy
    import threading

    class Instance:
        _launched = True
        _sys_db_field = object()
        _background_jobs_stop_event = threading.Event()

    monkeypatch.undo()
    instance = Instance()
    monkeypatch.setattr(dbos_module, "_dbos_global_instance", instance)
    assert ra._dbos_is_down() is False
    instance._background_jobs_stop_event.set()
    assert ra._dbos_is_down() is True
    instance._background_jobs_stop_event = threading.Event()
    instance._sys_db_field = None
    assert ra._dbos_is_down() is True
    monkeypatch.setattr(dbos_module, "_dbos_global_instance", None)
    assert ra._dbos_is_down() is True


def test_a_spawn_awaiting_a_person_is_awaited_and_observed_as_its_command_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A spawn answered require_approval / require_input is awaited on its command like a
    tool call's (same polling, same timeout); the observation is the command's outcome:
    the child the worker created (decision allowed), or the refusal."""
    from concord.runtime import agent_workflow as ra

    loop = _loop_for({"status": "running", "swarm_run_id": "s-1", "agent_name": "lead"})
    waiting = {
        "decision": "require_approval",
        "command_id": "c-1",
        "approval_id": "a-1",
        "status": "waiting_for_approval",
        "child_agent_run_id": None,
        "output": None,
        "step_index": 1,
    }
    submitted: list[dict[str, Any]] = []
    awaited: list[str] = []
    command: dict[str, Any] = {}
    monkeypatch.setattr(
        ra.AgentLoop, "_submit", lambda self, action: submitted.append(action) or dict(answer)
    )
    monkeypatch.setattr(
        ra.AgentLoop,
        "_await_command",
        lambda self, cid, wait=True: awaited.append(cid) or dict(command),
    )
    move = {
        "action_type": "spawn_subagent",
        "request": {"agent_name": "auditor", "agent_role": "auditor"},
    }

    answer = waiting
    command = {
        "status": "succeeded",
        "result": {"child_agent_run_id": "child-1", "invocation_id": "inv-1"},
        "error": None,
        "error_class": None,
        "approval_id": None,
        "waited_seconds": 1.4,
        "timed_out": False,
    }
    seen = loop._spawn(move)
    assert awaited == ["c-1"] and submitted[0]["payload"]["parent_agent_run_id"] == "run-1"
    assert (
        seen["decision"],
        seen["child_agent_run_id"],
        seen["invocation_id"],
        seen["status"],
    ) == ("allowed", "child-1", "inv-1", "succeeded")

    command = {
        "status": "failed",
        "result": None,
        "error": "spawning an auditor: denied",
        "error_class": "policy_denied",
        "approval_id": None,
        "waited_seconds": 0.2,
        "timed_out": False,
    }
    seen = loop._spawn(move)
    assert (seen["decision"], seen["child_agent_run_id"], seen["error_class"], seen["reasons"]) == (
        "denied",
        None,
        "policy_denied",
        ["spawning an auditor: denied"],
    )

    command = {
        "status": "cancelled",
        "result": None,
        "error": None,
        "error_class": None,
        "approval_id": None,
        "waited_seconds": 0.2,
        "timed_out": False,
    }
    assert loop._spawn(move)["decision"] == "cancelled"

    command = {
        "status": "waiting_for_approval",
        "result": None,
        "error": "not final after 5 s",
        "error_class": None,
        "approval_id": "a-1",
        "waited_seconds": 5.0,
        "timed_out": True,
    }
    seen = loop._spawn(move)
    assert (seen["decision"], seen["timed_out"], seen["child_agent_run_id"]) == (
        "require_approval",
        True,
        None,
    )

    # a spawn allowed at once is not awaited, and its child is observed
    awaited.clear()
    answer = {
        "decision": "allowed",
        "command_id": "c-2",
        "child_agent_run_id": "child-2",
        "invocation_id": "inv-2",
        "status": "succeeded",
    }
    seen = loop._spawn(move)
    assert awaited == [] and seen["child_agent_run_id"] == "child-2"
    # nor is a denied one
    answer = {
        "decision": "denied",
        "command_id": "c-3",
        "child_agent_run_id": None,
        "code": "CN004",
        "status": "failed",
    }
    assert loop._spawn(move)["decision"] == "denied" and awaited == []


def test_every_observation_carries_the_runs_goal_and_scopes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stateless runtime sees the run's setup at every move, not only at the first:
    every observation resume_agent_run gets carries goal, context_scope and
    constraints (and the run's identity)."""
    from concord.runtime import agent_workflow as ra

    seen: list[dict[str, Any]] = []

    def look(obs: dict[str, Any]) -> dict[str, Any]:
        seen.append(obs)
        return {"action_type": "note", "output": {"turn": obs["turn"]}}

    name = f"unit-{uuid.uuid4().hex[:8]}"
    register_agent_runtime(name, ScriptedAgentRuntime({"auditor": [look, look, look]}))
    run_doc = {
        "status": "running",
        "runtime": name,
        "agent_name": "auditor",
        "agent_role": "auditor",
        "swarm_run_id": "s-1",
        "parent_agent_name": "lead",
        "goal": "audit the figures",
        "context_scope": {"month": "2026-05"},
        "constraints": {"timeout_seconds": 30},
        "max_steps": 10,
    }
    monkeypatch.setattr(ra, "_step", lambda name, fn, *args: fn(*args))
    monkeypatch.setattr(ra.AgentLoop, "_prelude", lambda self: None)
    execute = ra.AgentLoop._execute  # a note is recorded; the finish is the real one

    def execute_moves(self: Any, move: dict[str, Any]) -> dict[str, Any]:
        if move["action_type"] == "note":
            return {"action_type": "note", "decision": "recorded"}
        return execute(self, move)

    monkeypatch.setattr(ra.AgentLoop, "_execute", execute_moves)

    def finish(self: Any, status: str, result: Any = None, error: str | None = None) -> None:
        raise ra._Stop(self._answer(status, result=result, error=error))

    monkeypatch.setattr(ra.AgentLoop, "_finish", finish)
    try:
        loop = _loop_for(run_doc)
        with pytest.raises(ra._Stop) as stopped:
            loop._loop()
    finally:
        unregister_agent_runtime(name)
    assert stopped.value.answer["status"] == "succeeded"
    assert [obs["turn"] for obs in seen] == [0, 1, 2]
    for obs in seen:
        assert (obs["goal"], obs["context_scope"], obs["constraints"]) == (
            "audit the figures",
            {"month": "2026-05"},
            {"timeout_seconds": 30},
        ), obs
        assert (obs["agent_run_id"], obs["agent_name"], obs["swarm_run_id"]) == (
            "run-1",
            "auditor",
            "s-1",
        )
    assert seen[1]["decision"] == seen[2]["decision"] == "recorded"


# ---------------------------------------------------------------------------
# Part 2: real swarms on a real worker
# ---------------------------------------------------------------------------

RUNTIME = "scripted"  # the name concord_test_agents registers its ScriptedAgentRuntime under
PARENT_TYPE = "rt.swarm_parent"  # the command a swarm works for (sync: it stays validated)
AGENT_TERMINAL = {"succeeded", "failed", "cancelled", "expired"}
SWARM_TERMINAL = {"succeeded", "failed", "cancelled", "partially_succeeded", "expired"}
TOOLS = [
    {
        "name": "echo_tool",
        "command_type": "rt.echo",
        "execution_mode": "async",
        "description": "echo the payload (a command the worker runs)",
    },
    {
        "name": "slow_tool",
        "command_type": "rt.slow",
        "execution_mode": "async",
        "description": "sleep in steps (a command the worker runs)",
    },
    {
        "name": "danger_tool",
        "command_type": "rt.echo",
        "execution_mode": "async",
        "risk_level": "high",
        "description": "no agent in these tests is given it",
    },
    {
        "name": "gated_tool",
        "command_type": "rt.echo",
        "execution_mode": "async",
        "requires_approval": True,
        "description": "an echo a person approves first",
    },
]


@dataclass
class Swarms:
    """The module's database and its (restartable) worker."""

    dsn: str
    conn: psycopg.Connection
    executor_id: str = field(default_factory=lambda: f"agents-{uuid.uuid4().hex[:8]}")
    worker: WorkerProcess | None = None
    logs: list[WorkerProcess] = field(default_factory=list)

    def ensure_worker(self) -> WorkerProcess:
        if self.worker is None or self.worker.proc is None or self.worker.proc.poll() is not None:
            self.worker = WorkerProcess(
                self.dsn,
                executor_id=self.executor_id,
                modules=("concord_test_ops", "concord_test_agents"),
                extra_env={"PGAPPNAME": self.executor_id},
            ).start(timeout=60)
            self.logs.append(self.worker)
        return self.worker

    def full_log(self) -> str:
        return "".join("".join(w.output) for w in self.logs)

    def one(self, query: str, *params: Any) -> Any:
        row = self.conn.execute(query, params).fetchone()
        return None if row is None else row[0]

    def start(
        self,
        coordinator: str,
        tools: list[str],
        templates: list[dict[str, Any]],
        join_strategy: str = "all_success",
    ) -> tuple[str, str, str]:
        """A parent command and its swarm, coordinated by the scripted agent
        ``coordinator``; returns (command_id, swarm_run_id, coordinator's agent_run_id)."""
        command_id = self.one(
            "SELECT command_id FROM concord.submit_command(%s, %s, 'alice')",
            PARENT_TYPE,
            json.dumps({"goal": coordinator}),
        )
        spec = {
            "name": f"swarm_{coordinator}_{uuid.uuid4().hex[:6]}",
            "objective": f"test scenario {coordinator}",
            "execution_mode": "parallel",
            "join_strategy": join_strategy,
            "limits": {
                "max_agents": 5,
                "max_depth": 2,
                "max_total_steps": 100,
                "max_cost_units": 50,
            },
            "coordinator": {
                "agent_name": coordinator,
                "agent_role": "coordinator",
                "goal": f"coordinate {coordinator}",
                "max_steps": 20,
                "allowed_tools": tools,
                "allowed_connectors": [],
                "memory_scope": {},
                "context_scope": {},
            },
            "agents": templates,
            "runtime": RUNTIME,
        }
        swarm = str(self.one("SELECT concord.start_swarm(%s, %s)", command_id, json.dumps(spec)))
        coordinator_id = str(
            self.one(
                "SELECT coordinator_agent_run_id FROM concord.swarm_runs WHERE swarm_run_id = %s",
                swarm,
            )
        )
        return str(command_id), swarm, coordinator_id

    def swarm_status(self, swarm: str) -> str:
        return self.one("SELECT status FROM concord.swarm_runs WHERE swarm_run_id = %s", swarm)

    def wait_swarm(self, swarm: str, timeout: float = 40.0) -> str:
        try:
            return wait_for(
                lambda: (s := self.swarm_status(swarm)) in SWARM_TERMINAL and s,
                timeout,
                interval=0.1,
                message=f"swarm {swarm} to end",
            )
        except AssertionError:
            print(self.full_log())
            print(json.dumps(self.agents(swarm), indent=1, default=str))
            raise

    def wait_agents(self, swarm: str, timeout: float = 20.0) -> dict[str, dict[str, Any]]:
        """The swarm's agent runs once every one has ended (a join can end the swarm
        before its coordinator makes its last move)."""
        try:
            wait_for(
                lambda: all(a["status"] in AGENT_TERMINAL for a in self.agents(swarm).values()),
                timeout,
                interval=0.1,
                message=f"the agents of swarm {swarm} to end",
            )
        except AssertionError:
            print(self.full_log())
            raise AssertionError(self.summary(swarm)) from None
        return self.agents(swarm)

    def summary(self, swarm: str) -> str:
        """Each agent's status and error, for assertion messages."""
        return "; ".join(
            f"{name}: {a['status']} {a['error'] or ''}" for name, a in self.agents(swarm).items()
        )

    def agents(self, swarm: str) -> dict[str, dict[str, Any]]:
        """The swarm's agent runs by agent name."""
        rows = self.conn.execute(
            "SELECT agent_name, agent_run_id, parent_agent_run_id, status, result, error "
            "FROM concord.agent_runs WHERE swarm_run_id = %s ORDER BY created_at",
            (swarm,),
        ).fetchall()
        return {
            r[0]: {
                "id": str(r[1]),
                "parent": r[2] and str(r[2]),
                "status": r[3],
                "result": r[4],
                "error": r[5],
            }
            for r in rows
        }

    def commands_of(self, agent_run_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT command_id, command_type, status, idempotency_key, payload, result, context "
            "FROM concord.commands WHERE requested_by = %s ORDER BY created_at",
            (f"agent:{agent_run_id}",),
        ).fetchall()
        keys = (
            "command_id",
            "command_type",
            "status",
            "idempotency_key",
            "payload",
            "result",
            "context",
        )
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def steps_of(self, agent_run_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT step_index, action_type, tool_name, decision, created_command_id "
            "FROM concord.agent_steps WHERE agent_run_id = %s ORDER BY step_index",
            (agent_run_id,),
        ).fetchall()
        keys = ("step_index", "action_type", "tool_name", "decision", "created_command_id")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def artifacts(self, swarm: str) -> dict[str, dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT name, agent_run_id, artifact_type, content FROM concord.artifacts "
            "WHERE swarm_run_id = %s",
            (swarm,),
        ).fetchall()
        return {
            r[0]: {"agent_run_id": str(r[1]), "artifact_type": r[2], "content": r[3]} for r in rows
        }

    def workflow_status(self, agent_run_id: str) -> str | None:
        return self.one(
            "SELECT status FROM dbos.workflow_status WHERE workflow_uuid = %s",
            f"agent:{agent_run_id}",
        )


def workflow_output(swarms: Swarms, agent_run_id: str) -> Any:
    """What the workflow concord.run_agent returned (DBOS stores it as JSON or as a
    base64 pickle, by the workflow's serialization)."""
    text = swarms.one(
        "SELECT output FROM dbos.workflow_output WHERE workflow_uuid = %s", f"agent:{agent_run_id}"
    )
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return pickle.loads(base64.b64decode(text))


def template(name: str, role: str, tools: list[str]) -> dict[str, Any]:
    return {
        "agent_name": name,
        "agent_role": role,
        "delegated_goal": f"be {name}",
        "max_steps": 8,
        "allowed_tools": tools,
        "allowed_connectors": [],
    }


@pytest.fixture(scope="module")
def swarms(server_dsn: str) -> Iterator[Swarms]:
    with temporary_database(server_dsn, "agents_rt") as dsn:
        migrate(dsn)
        register_test_types(dsn)
        conn = psycopg.connect(dsn, autocommit=True)
        conn.execute(
            "SELECT concord.register_command_type(%s)",
            (json.dumps({"command_type": PARENT_TYPE, "name": PARENT_TYPE, "sync_allowed": True}),),
        )
        # rt.echo checks the agent_tool policy: a tool that requires approval asks for it
        conn.execute(
            "SELECT concord.register_command_type(%s)",
            (
                json.dumps(
                    {
                        "command_type": "rt.echo",
                        "name": "rt.echo",
                        "async_required": True,
                        "policy_checks": ["agent_tool"],
                    }
                ),
            ),
        )
        conn.execute("SELECT concord.add_team_member('team:approvers', 'carol')")
        for tool in TOOLS:
            conn.execute("SELECT concord.register_tool(%s)", (json.dumps(tool),))
        # the cluster is shared: keep each worker's pools small
        conn.execute(
            "UPDATE concord.runtime_queues SET worker_concurrency = least(worker_concurrency, 8)"
        )
        s = Swarms(dsn=dsn, conn=conn)
        try:
            s.ensure_worker()
            yield s
        finally:
            if s.worker is not None:
                s.worker.__exit__(None, None, None)
            conn.close()


CHILD_TOOLS = ["echo_tool", "create_artifact"]


def test_a_swarm_runs_its_agents_tool_calls_as_commands_denies_a_forbidden_tool_and_joins(
    swarms: Swarms,
) -> None:
    swarms.ensure_worker()
    command_id, swarm, coordinator = swarms.start(
        "coord_ok",
        ["spawn_subagent", "read_artifact", "create_artifact", *CHILD_TOOLS[:1]],
        [
            template("researcher_ok", "researcher", CHILD_TOOLS),
            template("analyst_ok", "analyst", CHILD_TOOLS),
        ],
    )
    assert swarms.wait_swarm(swarm) == "succeeded", swarms.summary(swarm)
    agents = swarms.wait_agents(swarm)
    assert set(agents) == {"coord_ok", "researcher_ok", "analyst_ok"}
    assert {a["status"] for a in agents.values()} == {"succeeded"}, agents
    for child in ("researcher_ok", "analyst_ok"):
        assert agents[child]["parent"] == coordinator
    # the join ended the swarm, and with it the coordinator, whose result is the decision
    join = swarms.one("SELECT join_decision FROM concord.swarm_runs WHERE swarm_run_id = %s", swarm)
    assert join["decision"] == "succeeded"
    assert agents["coord_ok"]["result"]["decision"] == "succeeded", agents["coord_ok"]

    # each child's echo_tool call became one rt.echo command that the worker ran
    for child, q in (("researcher_ok", "revenue"), ("analyst_ok", "margin")):
        commands = [
            c for c in swarms.commands_of(agents[child]["id"]) if c["command_type"] == "rt.echo"
        ]
        assert len(commands) == 1, commands
        (cmd,) = commands
        assert cmd["status"] == "succeeded" and cmd["result"] == {"echo": {"q": q}}
        assert cmd["context"]["agent_run_id"] == agents[child]["id"]
        assert cmd["context"]["tool_name"] == "echo_tool"
        assert cmd["idempotency_key"] == f"agent:{agents[child]['id']}:turn:0"

    # the forbidden tool was denied (CN004) and recorded; it ran nothing
    steps = swarms.steps_of(agents["researcher_ok"]["id"])
    denied = [s for s in steps if s["tool_name"] == "danger_tool"]
    assert [s["decision"] for s in denied] == ["denied"], steps
    assert not any(
        c["status"] == "succeeded" and c["payload"].get("echo_of") is not None
        for c in swarms.commands_of(agents["researcher_ok"]["id"])
    )

    # the children's artifacts record the observations the workflow handed them
    artifacts = swarms.artifacts(swarm)
    notes, analysis = artifacts["research_notes"], artifacts["analysis"]
    assert notes["agent_run_id"] == agents["researcher_ok"]["id"]
    assert notes["content"] == {
        "seen_turn": 2,
        "seen_decision": "denied",
        "seen_code": "CN004",
        "seen_status": notes["content"]["seen_status"],
    }
    # the analyst's create_artifact came after its command was final: the wait observed it
    assert analysis["content"]["seen_turn"] == 1
    assert analysis["content"]["seen_status"] == "succeeded"

    # the coordinator's spawns and message are on record
    coord_steps = swarms.steps_of(coordinator)
    assert [s["tool_name"] for s in coord_steps if s["tool_name"]] == [
        "spawn_subagent",
        "spawn_subagent",
    ]
    assert (
        swarms.one(
            "SELECT count(*) FROM concord.agent_messages WHERE agent_run_id = %s "
            "AND content = 'children spawned'",
            coordinator,
        )
        == 1
    )
    for agent in agents.values():  # each workflow ends once its run has
        wait_for(
            lambda a=agent: swarms.workflow_status(a["id"]) == "SUCCESS",
            10,
            message=f"the workflow of {agent} to succeed",
        )


def test_a_runtime_that_raises_fails_its_run(swarms: Swarms) -> None:
    swarms.ensure_worker()
    _, swarm, coordinator = swarms.start("broken", ["create_artifact"], [])
    assert swarms.wait_swarm(swarm) == "failed"
    run = swarms.wait_agents(swarm)["broken"]
    assert run["status"] == "failed"
    assert "ZeroDivisionError" in run["error"], run
    # the think move before it was recorded
    assert [s["action_type"] for s in swarms.steps_of(coordinator)] == ["think"]


def test_a_tool_call_waits_durably_for_its_approval_and_observes_the_outcome(
    swarms: Swarms,
) -> None:
    swarms.ensure_worker()
    _, swarm, agent = swarms.start("gated_agent", ["gated_tool", "create_artifact"], [])

    def pending() -> tuple[str, str] | None:
        row = swarms.conn.execute(
            "SELECT a.approval_id, a.command_id FROM concord.approvals AS a "
            "JOIN concord.commands AS c USING (command_id) "
            "WHERE c.requested_by = %s AND a.status = 'pending'",
            (f"agent:{agent}",),
        ).fetchone()
        return row and (str(row[0]), str(row[1]))

    approval, command = wait_for(pending, 20, interval=0.05, message="the approval request")
    time.sleep(0.5)  # the agent keeps waiting: nothing runs before the approval
    assert (
        swarms.one("SELECT status FROM concord.commands WHERE command_id = %s", command)
        == "waiting_for_approval"
    )
    assert (
        swarms.one("SELECT status FROM concord.agent_runs WHERE agent_run_id = %s", agent)
        == "waiting_for_approval"
    )
    assert swarms.artifacts(swarm) == {}
    swarms.one("SELECT concord.resolve_approval(%s, 'approved', 'carol')", approval)
    run = swarms.wait_agents(swarm)["gated_agent"]
    assert run["status"] == "succeeded", swarms.summary(swarm)
    seen = swarms.artifacts(swarm)["after_approval"]["content"]
    assert seen == {
        "seen_turn": 1,
        "seen_decision": "require_approval",
        "seen_code": None,
        "seen_status": "succeeded",
    }
    assert swarms.one("SELECT result FROM concord.commands WHERE command_id = %s", command) == {
        "echo": {"publish": "report"}
    }


def test_cancel_swarm_while_agents_wait_cancels_the_runs_and_their_commands(
    swarms: Swarms,
) -> None:
    swarms.ensure_worker()
    _, swarm, coordinator = swarms.start(
        "coord_cancel",
        ["spawn_subagent", "slow_tool"],
        [template("sleeper_cancel", "worker", ["slow_tool"])],
    )

    def running_command() -> str | None:
        sleeper = swarms.agents(swarm).get("sleeper_cancel")
        if sleeper is None:
            return None
        for c in swarms.commands_of(sleeper["id"]):
            if c["status"] == "running":
                return str(c["command_id"])
        return None

    command = wait_for(
        running_command, 30, interval=0.05, message="the sleeper's slow command to run"
    )
    assert swarms.agents(swarm)["coord_cancel"]["status"] not in AGENT_TERMINAL
    swarms.one("SELECT concord.cancel_swarm(%s, 'alice', 'user_requested')", swarm)
    assert swarms.wait_swarm(swarm, 20) == "cancelled"
    agents = swarms.agents(swarm)
    assert {a["status"] for a in agents.values()} == {"cancelled"}, agents
    wait_for(
        lambda: (
            swarms.one("SELECT status FROM concord.commands WHERE command_id = %s", command)
            == "cancelled"
        ),
        20,
        message="the sleeper's command to be cancelled",
    )
    # the workflows notice, tell the runtime (cancel_agent_run) and end
    for agent in agents.values():
        wait_for(
            lambda a=agent: swarms.workflow_status(a["id"]) == "SUCCESS",
            20,
            message=f"the workflow of {agent} to end",
        )
        output = workflow_output(swarms, agent["id"])
        assert output["status"] == "cancelled", output
        assert output["runtime"]["move"]["cancelled"] is True, output


def test_a_worker_killed_mid_swarm_resumes_it_without_duplicate_commands(
    swarms: Swarms,
) -> None:
    worker = swarms.ensure_worker()
    tools = ["slow_tool", "create_artifact"]
    _, swarm, coordinator = swarms.start(
        "coord_crash",
        ["spawn_subagent", *tools],
        [template("crash_a", "worker", tools), template("crash_b", "worker", tools)],
    )

    def some_done() -> bool:
        agents = swarms.agents(swarm)
        done = [
            c
            for name in ("crash_a", "crash_b")
            if name in agents
            for c in swarms.commands_of(agents[name]["id"])
            if c["status"] == "succeeded"
        ]
        return len(done) >= 1

    wait_for(some_done, 30, interval=0.05, message="a child's first command to succeed")
    assert swarms.swarm_status(swarm) == "running"
    worker.kill()
    wait_for(
        lambda: swarms.one(
            "SELECT count(*) = 0 FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = %s",
            swarms.executor_id,
        ),
        30,
        message="the killed worker's sessions to end",
    )
    swarms.ensure_worker()  # the same executor id: DBOS recovers its workflows
    assert swarms.wait_swarm(swarm, 45) == "succeeded", swarms.summary(swarm)
    agents = swarms.wait_agents(swarm)
    assert sorted(agents) == ["coord_crash", "crash_a", "crash_b"]  # no child spawned twice
    assert {a["status"] for a in agents.values()} == {"succeeded"}, agents
    for name in ("crash_a", "crash_b"):
        run_id = agents[name]["id"]
        commands = swarms.commands_of(run_id)
        # three tool calls, three commands: one per turn, none repeated by the replay
        assert [c["idempotency_key"] for c in commands] == [
            f"agent:{run_id}:turn:{t}" for t in range(3)
        ], commands
        assert [c["payload"]["job"] for c in commands] == [0, 1, 2]
        assert {c["status"] for c in commands} == {"succeeded"}
        steps = swarms.steps_of(run_id)
        assert [s["tool_name"] for s in steps] == [
            "slow_tool",
            "slow_tool",
            "slow_tool",
            "create_artifact",
        ], steps
    assert sorted(swarms.artifacts(swarm)) == ["crash_a_result", "crash_b_result"]
    # the second worker resumed the agents' workflows (DBOS counts each dispatch): the
    # test killed something that was running
    resumed = swarms.one(
        "SELECT count(*) FROM dbos.workflow_status WHERE workflow_uuid = ANY(%s) "
        "AND recovery_attempts > 1",
        [f"agent:{a['id']}" for a in agents.values()],
    )
    assert resumed >= 1


# ---------------------------------------------------------------------------
# A spawn that needs approval, run by the worker
# ---------------------------------------------------------------------------


def test_a_spawn_awaiting_approval_is_awaited_by_the_runtime_and_joined_once_approved(
    swarm_conn: psycopg.Connection, swarm_worker: WorkerProcess
) -> None:
    """README: "an approved spawn is created when the worker runs its command"; the
    workflow "waits durably for the commands the move created"; join_swarm is CN011
    "while children a deterministic strategy needs are still running". A coordinator
    that spawns an auditor (approval required), waits for its children and joins must
    see the auditor once approved, not join an empty swarm and fail."""
    conn = swarm_conn
    conn.execute(
        "SELECT concord.register_policy(%s)",
        (
            json.dumps(
                {
                    "name": "spawning_an_auditor_needs_approval",
                    "predicate": '$.payload.agent_role == "auditor"',
                    "decision": "require_approval",
                    "approval_type": "standard",
                    "reasons": ["spawning an auditor needs approval"],
                }
            ),
        ),
    )
    conn.execute(
        "SELECT concord.register_command_type(%s)",
        (
            json.dumps(
                {
                    "command_type": "spawn_subagent",
                    "name": "Spawn a subagent",
                    "sync_allowed": True,
                    "policy_checks": ["spawn_scope", "spawning_an_auditor_needs_approval"],
                }
            ),
        ),
    )
    try:
        _, swarm, lead = new_swarm(
            conn,
            runtime=GATED_SPAWN_RUNTIME,
            coordinator="gated_spawn_coordinator",
            tools=["spawn_subagent"],
            agents=[
                {
                    "agent_name": "auditor",
                    "agent_role": "auditor",
                    "delegated_goal": "audit the figures",
                    "allowed_tools": [],
                }
            ],
        )

        def swarm_status() -> str:
            return one(conn, "SELECT status FROM concord.swarm_runs WHERE swarm_run_id = %s", swarm)

        def pending() -> Any:
            approval = one(
                conn,
                "SELECT a.approval_id FROM concord.approvals AS a "
                "JOIN concord.commands AS c USING (command_id) "
                "WHERE c.requested_by = %s AND c.command_type = 'spawn_subagent' "
                "AND a.status = 'pending'",
                f"agent:{lead}",
            )
            return approval or (swarm_status() in SWARM_TERMINAL and "ended")

        got = wait_for(pending, 30, interval=0.05, message="the spawn's approval")
        if got != "ended":
            conn.execute("SELECT concord.resolve_approval(%s, 'approved', 'carol')", (got,))
        final = wait_for(
            lambda: (s := swarm_status()) in SWARM_TERMINAL and s,
            30,
            interval=0.1,
            message="the swarm to end",
        )
        agents = {
            r["agent_name"]: r["status"]
            for r in conn.execute(
                "SELECT agent_name, status FROM concord.agent_runs WHERE swarm_run_id = %s",
                (swarm,),
            ).fetchall()
        }
        error = one(conn, "SELECT error FROM concord.swarm_runs WHERE swarm_run_id = %s", swarm)
        assert final == "succeeded", f"swarm {final}: {error}; agents {agents}"
        assert agents.get("auditor") == "succeeded", agents
    finally:
        conn.execute(
            "SELECT concord.register_command_type(%s)",
            (
                json.dumps(
                    {
                        "command_type": "spawn_subagent",
                        "name": "Spawn a subagent",
                        "sync_allowed": True,
                        "policy_checks": ["spawn_scope"],
                    }
                ),
            ),
        )
