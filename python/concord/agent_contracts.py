"""Agents under governance (spec 17, 23, 28, 59, 60, 68): the contracts an agent runtime
speaks, the memory store protocol, and a deterministic scripted runtime.

An agent never calls a tool or a connector itself: every move it makes goes through the
SQL gateway (``concord.submit_agent_action``, ``concord.spawn_subagent``, ...), which
turns it into a governed command, a recorded step or a refusal. The DBOS workflow that
drives an agent (``concord.run_agent``, in :mod:`concord.runtime.agent_workflow`) asks an
:class:`AgentRuntime` for the agent's next move and hands it the gateway's answer.

Nothing here imports DBOS (spec 47): these are plain contracts and callers of SQL.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

# Run statuses (spec 58.2). A run in one of TERMINAL never moves again.
AGENT_RUN_TERMINAL = frozenset({"succeeded", "failed", "cancelled", "expired"})
SWARM_RUN_TERMINAL = frozenset(
    {"succeeded", "failed", "cancelled", "partially_succeeded", "expired"}
)
# Step kinds that are recorded (record_agent_step) rather than executed.
RECORDED_STEP_TYPES = frozenset(
    {"think", "plan", "observe", "decide", "evaluate", "final_answer", "note"}
)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _known(cls: type, doc: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of ``doc`` that are fields of ``cls`` and not null (a null takes the
    field's default)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in doc.items() if k in names and v is not None}


# ---------------------------------------------------------------------------
# Spec 28: the agent loop's action and result
# ---------------------------------------------------------------------------


@dataclass
class AgentAction:
    """A tool call an agent asks the gateway for (spec 17, 28)."""

    action_type: str
    tool_name: str
    payload: dict[str, Any]
    reason: str
    risk_level: str = "low"

    def to_json(self) -> dict[str, Any]:
        """The action as the JSON submit_agent_action takes (spec 17, 28)."""
        return asdict(self)


@dataclass
class AgentStepResult:
    """The gateway's answer to an action (spec 17, 28): ``decision`` is one of
    ``allowed``, ``queued``, ``require_approval``, ``require_input``, ``denied``,
    ``invalid``; ``output`` holds a gateway tool's answer (e.g. the created artifact)."""

    decision: str
    command_id: str | None
    output: dict[str, Any]
    message: str
    approval_id: str | None = None
    reasons: list[str] = field(default_factory=list)
    code: str | None = None
    step_index: int | None = None
    status: str | None = None

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> AgentStepResult:
        """The answer of ``concord.submit_agent_action`` as a result."""
        return cls(
            decision=doc["decision"],
            command_id=_str_or_none(doc.get("command_id")),
            output=doc.get("output") or {},
            message=doc.get("message") or "",
            approval_id=_str_or_none(doc.get("approval_id")),
            reasons=list(doc.get("reasons") or []),
            code=doc.get("code"),
            step_index=doc.get("step_index"),
            status=doc.get("status"),
        )


# ---------------------------------------------------------------------------
# Spec 59: spawning subagents
# ---------------------------------------------------------------------------


@dataclass
class SpawnSubagentRequest:
    """Spec 59.1. The child's tools, connectors and memory scope must be subsets of its
    parent's: the database refuses anything else (decision ``denied``, code CN004)."""

    parent_agent_run_id: str
    swarm_run_id: str | None
    agent_name: str
    agent_role: str
    delegated_goal: str
    allowed_tools: list[str]
    allowed_connectors: list[str]
    memory_scope: dict[str, Any]
    context_scope: dict[str, Any]
    constraints: dict[str, Any] = field(default_factory=dict)
    max_steps: int = 10
    invocation_type: str = "delegate"
    idempotency_key: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The request as ``concord.spawn_subagent`` takes it (unset optional keys are
        left out)."""
        doc = asdict(self)
        doc["parent_agent_run_id"] = str(self.parent_agent_run_id)
        if self.swarm_run_id is None:
            del doc["swarm_run_id"]
        else:
            doc["swarm_run_id"] = str(self.swarm_run_id)
        if self.idempotency_key is None:
            del doc["idempotency_key"]
        return doc


@dataclass
class SpawnSubagentResult:
    """Spec 59.2: ``decision`` is ``allowed``, ``denied`` or ``require_approval``; a
    denial carries its ``reasons`` and ``code`` (CN004 scope, CN010 limit)."""

    decision: str
    child_agent_run_id: str | None
    command_id: str | None
    reasons: list[str] = field(default_factory=list)
    invocation_id: str | None = None
    approval_id: str | None = None
    code: str | None = None
    step_index: int | None = None

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> SpawnSubagentResult:
        """The result from spawn_subagent's jsonb answer (spec 59.2)."""
        return cls(
            decision=doc["decision"],
            child_agent_run_id=_str_or_none(doc.get("child_agent_run_id")),
            command_id=_str_or_none(doc.get("command_id")),
            reasons=list(doc.get("reasons") or []),
            invocation_id=_str_or_none(doc.get("invocation_id")),
            approval_id=_str_or_none(doc.get("approval_id")),
            code=doc.get("code"),
            step_index=doc.get("step_index"),
        )


# ---------------------------------------------------------------------------
# Spec 60: tool calls
# ---------------------------------------------------------------------------


@dataclass
class AgentToolCallRequest:
    """Spec 60.2. :meth:`to_action` is the action ``concord.submit_agent_action`` takes
    for ``agent_run_id``."""

    agent_run_id: str
    swarm_run_id: str | None
    tool_name: str
    payload: dict[str, Any]
    reason: str
    expected_output: str
    idempotency_key: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    risk_level: str | None = None

    def to_action(self) -> dict[str, Any]:
        """The action as the JSON submit_agent_action takes (spec 17)."""
        action: dict[str, Any] = {
            "action_type": "tool_call",
            "tool_name": self.tool_name,
            "payload": self.payload,
            "reason": self.reason,
            "expected_output": self.expected_output,
            "metadata": self.metadata,
        }
        if self.idempotency_key is not None:
            action["idempotency_key"] = self.idempotency_key
        if self.risk_level is not None:
            action["risk_level"] = self.risk_level
        return action

    def to_json(self) -> dict[str, Any]:
        """The tool call as the JSON submit_agent_action takes (spec 60.2)."""
        return self.to_action()


def action_json(action: Any) -> dict[str, Any]:
    """An action for ``submit_agent_action`` from a dict, an :class:`AgentAction` or an
    :class:`AgentToolCallRequest`."""
    if isinstance(action, AgentToolCallRequest):
        return action.to_action()
    if isinstance(action, AgentAction):
        return action.to_json()
    if isinstance(action, Mapping):
        return dict(action)
    raise TypeError(f"not an agent action: {type(action).__name__}")


# ---------------------------------------------------------------------------
# Spec 23: memory
# ---------------------------------------------------------------------------


@dataclass
class MemoryScope:
    """What a reader may see (spec 61.2): one subject's memories of the allowed types
    (all types when ``allowed_memory_types`` is empty), at most ``max_results``."""

    subject_type: str
    subject_id: str
    allowed_memory_types: list[str] = field(default_factory=list)
    allow_semantic_retrieval: bool = False
    max_results: int = 10

    def to_json(self) -> dict[str, Any]:
        """The scope as the JSON of spec 61.2."""
        return asdict(self)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> MemoryScope:
        """A scope from its spec 61.2 JSON."""
        return cls(**_known(cls, doc))


# What an application writes of a memory (concord.remember); the rest the database sets.
_WRITABLE_MEMORY_KEYS = (
    "subject_type",
    "subject_id",
    "memory_type",
    "content",
    "memory_key",
    "confidence",
    "consent",
    "sensitive",
    "expires_at",
    "ttl_seconds",
    "metadata",
    "idempotency_key",
)


@dataclass
class Memory:
    """A durable piece of context (spec 23), addressed by its subject. ``memory_id`` is
    assigned by the store when left None; a memory with a ``memory_key`` supersedes the
    active one of the same subject, type and key. The database decides ``status``
    (``active`` or ``candidate``: a sensitive, broad, unconsented or unsure memory waits
    for approval). Keys of the stored document this class does not name are kept in
    ``extra``."""

    subject_type: str
    subject_id: str
    memory_type: str
    content: str
    memory_id: str | None = None
    memory_key: str | None = None
    confidence: float | None = None
    consent: bool | None = None
    sensitive: bool | None = None
    status: str | None = None
    expires_at: datetime | str | None = None
    supersedes_memory_id: str | None = None
    superseded_by_memory_id: str | None = None
    written_by: str | None = None
    command_id: str | None = None
    agent_run_id: str | None = None
    created_at: datetime | str | None = None
    updated_at: datetime | str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    ttl_seconds: int | None = None  # written instead of expires_at; never read back
    idempotency_key: str | None = None  # a repeated write with it is the first one
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The memory as ``concord.remember`` takes it: the keys an application writes,
        unset ones left out (the id, status, author, times and successors are the
        database's)."""
        doc: dict[str, Any] = {}
        for name in _WRITABLE_MEMORY_KEYS:
            value = getattr(self, name)
            if value is not None:
                doc[name] = value.isoformat() if isinstance(value, datetime) else value
        return doc

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Memory:
        """A memory from the JSON the memory functions answer."""
        known = _known(cls, doc)
        known.pop("extra", None)
        known.setdefault("content", "")  # a forgotten memory keeps no content
        for key in (
            "memory_id",
            "supersedes_memory_id",
            "superseded_by_memory_id",
            "command_id",
            "agent_run_id",
        ):
            if key in known:
                known[key] = str(known[key])
        if isinstance(known.get("content"), (dict, list)):
            import json

            known["content"] = json.dumps(known["content"])
        extra = {k: v for k, v in doc.items() if k not in {f.name for f in fields(cls)}}
        return cls(**known, extra=extra)


@runtime_checkable
class MemoryStore(Protocol):
    """Spec 23: where memories are kept. Consent, scope and audit are the semantic layer's
    (the database's) business; a store only stores and retrieves by scope."""

    def insert(self, memory: Memory) -> None:
        """Store a memory (its consent and policy are the semantic layer's)."""

    def get(self, memory_id: str) -> Memory | None:
        """The memory with this id, or None."""

    def search(self, scope: MemoryScope, query: str | None, limit: int) -> list[Memory]:
        """Active memories within scope, best first; ranked by query when given."""

    def supersede(self, old_id: str, new_id: str) -> None:
        """Mark old_id superseded by new_id."""

    def delete(self, memory_id: str) -> None:
        """Delete a memory (its content is cleared)."""


# ---------------------------------------------------------------------------
# Spec 68: runtime, planner and join interfaces
# ---------------------------------------------------------------------------


@runtime_checkable
class AgentRuntime(Protocol):
    """Spec 68.1: the agent behind a run. Each call returns the agent's next *move*, a
    dict with an ``action_type`` (see :class:`ScriptedAgentRuntime` for the moves the
    Concord workflow understands). The workflow calls these inside DBOS steps and records
    their answers, so an implementation must not rely on being called only once per move
    (a crashed worker's replay reuses the recorded answers; a step cut off mid-call is
    called again)."""

    def start_agent_run(
        self, agent_run_id: str, goal: str, context: dict[str, Any]
    ) -> dict[str, Any]:
        """Begin a run: the first move for goal, given the run's context (spec 68.1)."""

    def resume_agent_run(self, agent_run_id: str, observation: dict[str, Any]) -> dict[str, Any]:
        """The next move, given the observation of the last one (spec 68.1)."""

    def cancel_agent_run(self, agent_run_id: str, reason: str) -> dict[str, Any]:
        """Stop a run that was cancelled (spec 68.1)."""


@runtime_checkable
class SwarmPlanner(Protocol):
    """Spec 68.2: turns a command into a swarm specification (spec 67)."""

    def create_swarm_plan(self, command: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        """The plan of a swarm for a command (spec 68.2)."""


@runtime_checkable
class JoinStrategy(Protocol):
    """Spec 68.3: combines the children's results into the swarm's decision
    (``{decision, summary, selected_artifact_id, confidence, requires_human_review}``)."""

    def join(
        self, swarm_run: dict[str, Any], child_results: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Join the children's results (spec 68.3)."""


Move = dict[str, Any]
ScriptEntry = Move | Callable[[dict[str, Any]], Move]

FINISH_SUCCEEDED: Move = {"action_type": "finish", "status": "succeeded"}


class ScriptedAgentRuntime:
    """A deterministic :class:`AgentRuntime` (no model, no network) for tests and demos.

    ``scripts`` maps an agent name to its moves, in order. An entry is a move (a dict) or
    a callable that takes the latest observation (the start context for the first move)
    and returns the move. Past the end of its script an agent finishes
    (``{"action_type": "finish", "status": "succeeded"}``). A script named ``"*"`` serves
    agents without one of their own.

    It keeps no position of its own: the workflow says which move it wants, in
    ``context["turn"]`` (0 for :meth:`start_agent_run`) and ``observation["turn"]``, and
    names the agent in ``context["agent_name"]`` / ``observation["agent_name"]``. So a
    replay after a crash asks for the same move and gets the same answer.

    Every observation, not only the start context, carries the run's identity
    (``agent_run_id``, ``agent_name``, ``agent_role``, ``swarm_run_id``,
    ``parent_agent_name``) and its setup (``goal``, ``context_scope``, ``constraints``),
    so a callable entry at any turn can read what the agent was asked to do.

    The moves the Concord workflow executes:

    - ``{"action_type": "tool_call", "tool_name", "payload", "reason", ...}``: through
      ``submit_agent_action``; a command it creates is awaited and its outcome observed.
    - ``{"action_type": "spawn_subagent", "request": {...}}``: a child, through the same
      gateway (tool ``spawn_subagent``); a spawn awaiting approval or input is awaited
      like a tool call's command, then observed as ``allowed`` with its
      ``child_agent_run_id`` once the worker created it, or as refused.
    - ``{"action_type": "think"|"plan"|"observe"|"decide"|"evaluate"|"note"|
      "final_answer", "output": {...}}``: a recorded step (``record_agent_step``).
    - ``{"action_type": "message", "content", "message_role"?, "message_type"?}``:
      ``record_agent_message``.
    - ``{"action_type": "wait_children"}``: wait until every child is terminal.
    - ``{"action_type": "join"}``: ``join_swarm`` on the agent's swarm.
    - ``{"action_type": "finish", "status": "succeeded"|"failed", "result"?, "error"?}``.
    """

    def __init__(self, scripts: Mapping[str, list[ScriptEntry]]):
        for name, script in scripts.items():
            if not isinstance(name, str) or not name:
                raise ValueError("script names must be non-empty strings (agent names)")
            if not isinstance(script, (list, tuple)):
                raise TypeError(f"script {name}: a list of moves, not {type(script).__name__}")
            for i, entry in enumerate(script):
                if not (callable(entry) or isinstance(entry, Mapping)):
                    raise TypeError(f"script {name}, move {i}: a dict or a callable")
                if isinstance(entry, Mapping) and not entry.get("action_type"):
                    raise ValueError(f"script {name}, move {i}: no action_type")
        self._scripts = {name: tuple(script) for name, script in scripts.items()}

    def _script(self, agent_name: Any) -> tuple[ScriptEntry, ...]:
        if agent_name in self._scripts:
            return self._scripts[agent_name]
        if "*" in self._scripts:
            return self._scripts["*"]
        raise KeyError(f"no script for agent {agent_name!r}")

    def move(self, agent_name: str, turn: int, observation: dict[str, Any]) -> Move:
        """The move number ``turn`` of ``agent_name``'s script."""
        if not isinstance(turn, int) or isinstance(turn, bool) or turn < 0:
            raise ValueError(f"turn must be an integer >= 0, not {turn!r}")
        script = self._script(agent_name)
        if turn >= len(script):
            return dict(FINISH_SUCCEEDED)
        entry = script[turn]
        move = entry(copy.deepcopy(observation)) if callable(entry) else entry
        if not isinstance(move, Mapping) or not move.get("action_type"):
            raise ValueError(
                f"script {agent_name}, move {turn}: a move is a dict with an action_type, "
                f"not {move!r}"
            )
        return copy.deepcopy(dict(move))

    def start_agent_run(
        self, agent_run_id: str, goal: str, context: dict[str, Any]
    ) -> dict[str, Any]:
        """The first move of the agent's script (turn 0)."""
        return self.move(context["agent_name"], context.get("turn", 0), context)

    def resume_agent_run(self, agent_run_id: str, observation: dict[str, Any]) -> dict[str, Any]:
        """The move of the script the observation's turn names."""
        return self.move(observation["agent_name"], observation["turn"], observation)

    def cancel_agent_run(self, agent_run_id: str, reason: str) -> dict[str, Any]:
        """Acknowledge a cancellation: a script keeps nothing to stop."""
        return {"agent_run_id": agent_run_id, "cancelled": True, "reason": reason}
