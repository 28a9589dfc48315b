"""The loader of the scale benchmark (``bench/scale_bench.py``): a Concord database grown to N
commands with their events, in the shapes real use writes.

How the rows are made faithful and fast:

1. ``setup_world``: an organisation and project, a requester and an approver (each a database
   login mapped to its principal, as a deployment maps its users), command types (a plain
   asynchronous one, a governed one whose policy asks the approver above a limit, a sync one an
   agent's tool submits) and the tool, all through the public API.
2. ``make_templates``: one *wave* of commands made through the real API only
   (submit_command, add_dependency, runtime_claim / runtime_finish as a worker's steps,
   cancel_command, resolve_approval, start_swarm, begin_agent_run, submit_agent_action,
   spawn_subagent, finish_agent_run), with every trigger and rule on. The wave has two
   groups: *history* (commands that reached an end: succeeded, failed, cancelled, some after an
   approval or a rejection, some in dependency chains, some running a swarm of agents) and the
   *backlog* (queued, running, waiting_for_approval with a pending approval,
   waiting_for_input, queued children of running parents).
3. ``snapshot``: every row those calls wrote, in every table that holds one (commands,
   domain_events, policy_decisions, approvals, command_dependencies, swarm_runs, agent_runs,
   agent_steps, agent_invocations, dbos.workflow_status, ...), copied into schema
   ``scale_tpl`` with its group.
4. ``grow``: wave k (k = 1, 2, ...) is a copy of the history group with every id the wave made
   replaced by ``md5(id || ':' || k)::uuid`` (the same function everywhere, so references stay
   references), workflow ids, idempotency keys and trace ids rewritten alike, and every
   timestamp moved back by the same pseudo-random offset within the last twelve months (order
   within a command is kept). INSERT ... SELECT over generate_series, many waves a statement,
   as superuser with ``session_replication_role = replica``: triggers and foreign key checks
   off, which is why the rows must be copies of rows the rules accepted. The backlog group is
   copied only into the first ``backlog_waves`` waves, with offsets within the last two
   weeks: a live system's backlog is its recent work, it does not grow with its history.
   Rows go into ``concord.domain_events`` itself, never into a partition by name, so the load
   works whether the audit table is partitioned or not.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb

ORG = "scale"
PROJECT = "scale/main"
REQUESTER = "scale-requester"
APPROVER = "scale-approver"
TASK = "scale_task"
GOVERNED = "scale_governed"
SYNC = "scale_sync"
TOOL = "scale_sync_tool"
APPROVAL_TYPE = "scale_approval"
POLICY = "scale_amount_limit"
LIMIT = 1000
EXECUTOR = "scale-loader"
# Ends: a command in one of these is history; any other status is backlog.
ENDS = ("succeeded", "failed", "cancelled", "expired", "compensated")
# Offsets of wave k, in minutes back from the template's time: a multiplicative hash of k
# modulo a year (history) or two weeks (backlog), so that waves land all over the span at
# any size and a larger load only fills it more densely.
YEAR_MINUTES = 365 * 24 * 60
UUID_AT_START = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
BACKLOG_MINUTES = 14 * 24 * 60
HASH = 7919

# The tables a wave's rows are in. For each: the uuid columns that hold ids the wave made
# (remapped), the text columns that hold such an id or a key that must stay unique (a uuid at
# their start remapped, anything else suffixed), the timestamps (moved), and how a row finds
# its command, whose group is the row's.
@dataclass(frozen=True)
class Cloned:
    table: str
    ids: tuple[str, ...]
    texts: tuple[str, ...] = ()
    times: tuple[str, ...] = ("created_at",)
    epoch_ms: tuple[str, ...] = ()
    # SQL giving the row's command id from the row x (and scale_tpl's tables)
    owner: str = "x.command_id"


CLONED: list[Cloned] = [
    Cloned(
        "concord.commands",
        ("command_id",),
        ("idempotency_key", "dbos_workflow_id"),
        ("created_at", "updated_at", "completed_at", "cancellation_requested_at"),
    ),
    Cloned(
        "concord.swarm_runs",
        ("swarm_run_id", "command_id", "coordinator_agent_run_id"),
        (),
        ("created_at", "updated_at", "started_at", "completed_at", "cancelled_at"),
    ),
    Cloned(
        "concord.agent_runs",
        ("agent_run_id", "command_id", "swarm_run_id", "parent_agent_run_id"),
        ("dbos_workflow_id",),
        ("created_at", "updated_at", "started_at", "completed_at", "cancelled_at"),
    ),
    Cloned(
        "concord.agent_run_secrets",
        ("agent_run_id",),
        (),
        ("issued_at",),
        owner="(SELECT r.command_id FROM concord.agent_runs AS r "
        "WHERE r.agent_run_id = x.agent_run_id)",
    ),
    Cloned(
        "concord.approvals",
        ("approval_id", "command_id", "evaluation_id"),
        (),
        ("created_at", "decided_at", "expires_at"),
    ),
    Cloned("concord.policy_decisions", ("evaluation_id", "command_id"), (), ("decided_at",)),
    Cloned(
        "concord.command_dependencies",
        ("child_command_id", "parent_command_id"),
        owner="x.child_command_id",
    ),
    Cloned(
        "concord.agent_steps",
        (
            "agent_step_id",
            "agent_run_id",
            "command_id",
            "swarm_run_id",
            "created_command_id",
            "created_approval_id",
            "child_agent_run_id",
        ),
    ),
    Cloned(
        "concord.agent_invocations",
        ("invocation_id", "swarm_run_id", "parent_agent_run_id", "child_agent_run_id",
         "command_id"),
        (),
        ("created_at", "completed_at"),
    ),
    Cloned(
        "concord.registry_usage",
        ("registry_usage_id", "agent_run_id", "swarm_run_id", "command_id"),
        ("workflow_run_id",),
    ),
    Cloned(
        "concord.domain_effects",
        ("domain_effect_id", "command_id", "compensates_effect_id"),
        ("idempotency_key", "executed_by_dbos_workflow_id"),
        ("created_at", "started_at", "completed_at"),
    ),
    Cloned(
        "concord.domain_events",
        ("event_id", "command_id", "agent_run_id", "swarm_run_id"),
        ("target_id",),
    ),
    Cloned(
        "dbos.workflow_status",
        (),
        ("workflow_uuid",),
        (),
        ("created_at", "updated_at", "started_at_epoch_ms", "completed_at"),
        owner="(SELECT c.command_id FROM concord.commands AS c "
        "WHERE c.dbos_workflow_id = x.workflow_uuid)",
    ),
    Cloned(
        "dbos.workflow_input",
        (),
        ("workflow_uuid",),
        (),
        (),
        owner="(SELECT c.command_id FROM concord.commands AS c "
        "WHERE c.dbos_workflow_id = x.workflow_uuid)",
    ),
]


@dataclass
class LoadFigures:
    commands: int
    events: int
    seconds: float
    db_bytes: int
    biggest: list[tuple[str, int]]


def _exec(conn: psycopg.Connection, query: str, params: tuple = ()) -> None:
    conn.execute(query, params)  # type: ignore[arg-type]


def logins(dbname: str) -> tuple[str, str]:
    """The requester's and the approver's database logins (roles are the cluster's: named
    after the database, so that two loads side by side do not share them)."""
    return f"{dbname}_requester", f"{dbname}_approver"


def drop_logins(admin_dsn: str, dbname: str) -> None:
    """Drop the logins of dbname's load (after the database itself)."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        for login in logins(dbname):
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(login)))


def setup_world(dsn: str) -> tuple[str, str]:
    """Organisation, project, requester and approver (mapped logins), types, policy, tool;
    returns the DSNs of the requester's and the approver's logins."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        _exec(conn, "SET client_min_messages = warning")
        (dbname,) = conn.execute("SELECT current_database()").fetchone()  # type: ignore[misc]
        requester_login, approver_login = logins(dbname)
        _exec(conn, "SELECT concord.create_organisation(%s)", (ORG,))
        _exec(conn, "SELECT concord.create_project(%s, 'main')", (ORG,))
        for who, role, login in (
            (REQUESTER, "member", requester_login),
            (APPROVER, "approver", approver_login),
        ):
            _exec(conn, "SELECT concord.create_principal(%s)", (who,))
            _exec(conn, "SELECT concord.add_member(%s, %s, %s)", (ORG, who, role))
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (login,)).fetchone():
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN IN ROLE concord_app, concord_approver").format(
                        sql.Identifier(login)
                    )
                )
            _exec(conn, "SELECT concord.map_login(%s, %s)", (login, who))
        schema = {
            "type": "object",
            "properties": {"n": {"type": "integer", "minimum": 0}},
            "required": ["n"],
        }
        approval_type = conn.execute(
            "SELECT concord.register_approval_type(%s)",
            (
                Jsonb(
                    {
                        "name": APPROVAL_TYPE,
                        "decision_values": ["approved", "rejected", "request_changes"],
                        # pending approvals of the backlog stay pending for the whole run
                        "expiration": {"default_minutes": 60 * 24 * 60},
                        "approver": {"principals": [APPROVER]},
                        "resume": {"on_approved": "continue_workflow", "on_rejected": "fail"},
                    }
                ),
            ),
        ).fetchone()[0]  # type: ignore[index]
        policy = conn.execute(
            "SELECT concord.register_policy(%s)",
            (
                Jsonb(
                    {
                        "name": POLICY,
                        "predicate": "$.payload.n > $limit",
                        "vars": {"limit": LIMIT},
                        "decision": "require_approval",
                        "reasons": [f"n above {LIMIT} needs approval"],
                        "approval_type": approval_type,
                    }
                ),
            ),
        ).fetchone()[0]  # type: ignore[index]
        for spec in (
            {"command_type": TASK, "name": "Scale task", "async_required": True,
             "payload_schema": schema},
            {"command_type": GOVERNED, "name": "Scale governed task", "async_required": True,
             "payload_schema": schema, "policy_checks": [policy]},
            {"command_type": SYNC, "name": "Scale tool call", "sync_allowed": True,
             "payload_schema": schema},
        ):
            _exec(conn, "SELECT concord.register_command_type(%s)", (Jsonb(spec),))
        _exec(
            conn,
            "SELECT concord.register_tool(%s)",
            (Jsonb({"name": TOOL, "command_type": SYNC, "execution_mode": "sync"}),),
        )
    return make_conninfo(dsn, user=requester_login), make_conninfo(dsn, user=approver_login)


class _Wave:
    """Makes the template wave through the public API: the requester submits (its own mapped
    login), the approver decides (its login), the superuser stands in for the worker."""

    def __init__(self, dsn: str, requester_dsn: str, approver_dsn: str) -> None:
        self.effects = 0.0  # connector calls a succeeded run makes, on average
        self.runs = 0
        self.kernel = psycopg.connect(dsn, autocommit=True)
        self.requester = psycopg.connect(requester_dsn, autocommit=True)
        self.approver = psycopg.connect(approver_dsn, autocommit=True)
        self.requester.execute("SELECT concord.use_project(%s)", (PROJECT,))
        self.n = 0

    def close(self) -> None:
        for conn in (self.kernel, self.requester, self.approver):
            conn.close()

    def submit(self, command_type: str = TASK, n: int | None = None) -> UUID:
        self.n += 1
        row = self.requester.execute(
            "SELECT command_id FROM concord.submit_command(%s, %s, NULL, 'api', '{}', %s)",
            (command_type, Jsonb({"n": self.n if n is None else n}), f"tpl-{self.n}"),
        ).fetchone()
        assert row is not None
        return row[0]

    def workflow(self, command_id: UUID) -> str:
        row = self.kernel.execute(
            "SELECT dbos_workflow_id FROM concord.commands WHERE command_id = %s", (command_id,)
        ).fetchone()
        assert row is not None and row[0], f"command {command_id} has no workflow"
        return row[0]

    def _dbos(self, workflow: str, status: str) -> None:
        # what DBOS records when it runs the workflow (no worker runs in the benchmark)
        _exec(
            self.kernel,
            "UPDATE dbos.workflow_status SET status = %s, executor_id = %s, "
            "updated_at = (extract(epoch FROM clock_timestamp()) * 1000)::bigint "
            "WHERE workflow_uuid = %s",
            (status, EXECUTOR, workflow),
        )

    def claim(self, command_id: UUID) -> None:
        workflow = self.workflow(command_id)
        answer = self.kernel.execute(
            "SELECT concord.runtime_claim(%s, %s, %s)", (command_id, workflow, EXECUTOR)
        ).fetchone()[0]  # type: ignore[index]
        assert answer["action"] == "run", answer
        self._dbos(workflow, "PENDING")

    def finish(self, command_id: UUID, status: str) -> None:
        workflow = self.workflow(command_id)
        if status == "succeeded":
            args = (Jsonb({"ok": True}), None, None)
        else:
            args = (None, "the connector answered 503", "transient")
        _exec(
            self.kernel,
            "SELECT concord.runtime_finish(%s, %s, %s, %s, %s, %s)",
            (command_id, workflow, status, *args),
        )
        self._dbos(workflow, "SUCCESS" if status == "succeeded" else "ERROR")

    def run(self, command_id: UUID, status: str = "succeeded") -> None:
        self.claim(command_id)
        if status == "succeeded":
            # the work itself: connector calls, each an effect planned, started, completed
            # between none and twice the mean, spread evenly over the runs (golden ratio)
            self.runs += 1
            calls = round(2 * self.effects * ((self.runs * 0.6180339887) % 1))
            for j in range(calls):
                self.effect(command_id, j)
        self.finish(command_id, status)

    def counts(self) -> tuple[int, int]:
        """The wave's commands and their events so far (the registry's own left out)."""
        row = self.kernel.execute(
            "SELECT (SELECT count(*) FROM concord.commands WHERE command_type NOT LIKE "
            "'concord.%%'), (SELECT count(*) FROM concord.domain_events AS e "
            "JOIN concord.commands AS c ON c.command_id = e.command_id "
            "WHERE c.command_type NOT LIKE 'concord.%%')"
        ).fetchone()
        assert row is not None
        return row[0], row[1]

    def effect(self, command_id: UUID, j: int) -> None:
        (answer,) = self.kernel.execute(
            "SELECT concord.runtime_begin_effect(%s, %s, 'scale.call', %s, %s)",
            (command_id, self.workflow(command_id), Jsonb({"call": j}), f"{command_id}/{j}"),
        ).fetchone()  # type: ignore[misc]
        assert answer["action"] == "execute", answer
        _exec(
            self.kernel,
            "SELECT concord.complete_effect(%s, %s)",
            (answer["effect_id"], Jsonb({"ok": True})),
        )

    def cancel(self, command_id: UUID) -> None:
        workflow = self.workflow(command_id)
        _exec(
            self.requester,
            "SELECT concord.cancel_command(%s, NULL, 'no longer needed')",
            (command_id,),
        )
        self._dbos(workflow, "CANCELLED")

    def depend(self, child: UUID, parent: UUID) -> None:
        _exec(self.requester, "SELECT concord.add_dependency(%s, %s)", (child, parent))

    def approval_of(self, command_id: UUID) -> UUID:
        row = self.kernel.execute(
            "SELECT approval_id FROM concord.approvals WHERE command_id = %s AND status = "
            "'pending'",
            (command_id,),
        ).fetchone()
        assert row is not None
        return row[0]

    def decide(self, command_id: UUID, decision: str) -> None:
        _exec(
            self.approver,
            "SELECT concord.resolve_approval(%s, %s, NULL, %s)",
            (self.approval_of(command_id), decision, f"{decision} by the benchmark"),
        )

    def swarm(self, command_id: UUID, tool_calls: int, children: int) -> None:
        """A swarm under the command: the coordinator calls the tool tool_calls times and
        spawns children who call it once each; all finish, then the command succeeds."""
        spec = {
            "name": "scale",
            "objective": "benchmark work",
            "limits": {"max_agents": 50, "max_depth": 3, "max_total_steps": 1000},
            "coordinator": {
                "agent_name": "coord",
                "agent_role": "coordinator",
                "max_steps": 100,
                "allowed_tools": [TOOL, "spawn_subagent"],
            },
        }
        self.claim(command_id)
        (swarm,) = self.kernel.execute(
            "SELECT concord.start_swarm(%s, %s)", (command_id, Jsonb(spec))
        ).fetchone()  # type: ignore[misc]
        (coord,) = self.kernel.execute(
            "SELECT coordinator_agent_run_id FROM concord.swarm_runs WHERE swarm_run_id = %s",
            (swarm,),
        ).fetchone()  # type: ignore[misc]
        _exec(self.kernel, "SELECT concord.begin_agent_run(%s)", (coord,))
        for i in range(tool_calls):
            self._tool(coord, i)
        kids = []
        for i in range(children):
            (answer,) = self.kernel.execute(
                "SELECT concord.spawn_subagent(%s)",
                (
                    Jsonb(
                        {
                            "parent_agent_run_id": str(coord),
                            "agent_name": f"worker{i}",
                            "agent_role": "worker",
                            "delegated_goal": "a part of the work",
                            "allowed_tools": [TOOL],
                            "max_steps": 10,
                        }
                    ),
                ),
            ).fetchone()  # type: ignore[misc]
            assert answer["decision"] == "allowed", answer
            kid = UUID(answer["child_agent_run_id"])
            _exec(self.kernel, "SELECT concord.begin_agent_run(%s)", (kid,))
            self._tool(kid, 100 + i)
            kids.append(kid)
        for agent in [*kids, coord]:
            _exec(
                self.kernel,
                "SELECT concord.finish_agent_run(%s, 'succeeded', %s)",
                (agent, Jsonb({"done": True})),
            )
        self.finish(command_id, "succeeded")

    def _tool(self, agent: UUID, n: int) -> None:
        (answer,) = self.kernel.execute(
            "SELECT concord.submit_agent_action(%s, %s)",
            (agent, Jsonb({"tool_name": TOOL, "payload": {"n": n}})),
        ).fetchone()  # type: ignore[misc]
        assert answer.get("decision", "allowed") == "allowed", answer


def make_templates(dsn: str, requester_dsn: str, approver_dsn: str,
                   events_per_command: float = 10, divisor: int = 1) -> None:
    """One wave through the public API (see the module's docstring); divisor > 1 makes a
    smaller one, every shape still in it (for tests)."""
    w = _Wave(dsn, requester_dsn, approver_dsn)

    def n(count: int) -> int:
        return max(1, count // divisor)

    try:
        # history (the plain successes come last, see below)
        for _ in range(n(8)):
            w.run(w.submit(), "failed")
        for _ in range(n(5)):
            w.cancel(w.submit())
        # chains of four: each waits for the one before, all succeeded in order
        for _ in range(n(5)):
            chain = [w.submit() for _ in range(4)]
            for parent, child in zip(chain, chain[1:], strict=False):
                w.depend(child, parent)
            for c in chain:
                w.run(c)
        # governed: approved then run, rejected
        for _ in range(n(6)):
            c = w.submit(GOVERNED, LIMIT + 1)
            w.decide(c, "approved")
            w.run(c)
        for _ in range(n(2)):
            w.decide(w.submit(GOVERNED, LIMIT + 1), "rejected")
        # agent work: a swarm, tool calls (sync commands of their own), a spawned child
        for i in range(n(8)):
            w.swarm(w.submit(), tool_calls=2 + i % 3, children=1 + i % 2)
        # backlog: queued, running, pending approvals, waiting for input, queued children
        for _ in range(n(4)):
            w.submit()
        for _ in range(n(3)):
            w.claim(w.submit())
        for _ in range(n(4)):
            w.submit(GOVERNED, LIMIT + 1)
        for _ in range(n(2)):
            w.decide(w.submit(GOVERNED, LIMIT + 1), "request_changes")
        for _ in range(n(2)):
            parent = w.submit()
            w.claim(parent)
            child = w.submit()
            w.depend(child, parent)
        # Plain successes, each a command with its hand-off, claim, connector calls (effects)
        # and outcome: as many calls a run as bring the wave to about events_per_command,
        # from what the rest of the wave wrote, what a run without calls writes and what a
        # call writes, all measured here (what a submission or an effect writes changes as
        # the kernel does).
        plain = max(3, n(60))
        commands, events = w.counts()
        w.run(w.submit())
        _, events_run = w.counts()
        per_run = events_run - events
        probe = w.submit()
        w.claim(probe)
        before = w.counts()[1]
        w.effect(probe, 0)
        per_call = max(1, w.counts()[1] - before)
        w.finish(probe, "succeeded")
        commands, events = w.counts()
        missing = events_per_command * (commands + plain - 2) - events - (plain - 2) * per_run
        w.effects = max(0.0, missing / (per_call * (plain - 2)))
        for _ in range(plain - 2):
            w.run(w.submit())
    finally:
        w.close()


def _group_sql() -> str:
    ends = ", ".join(f"'{s}'" for s in ENDS)
    return f"CASE WHEN c.status IN ({ends}) THEN 'history' ELSE 'backlog' END"


def snapshot(conn: psycopg.Connection) -> dict[str, int]:
    """Copy the template wave's rows into scale_tpl, each with its command's group; returns
    the rows per table."""
    _exec(conn, "DROP SCHEMA IF EXISTS scale_tpl CASCADE")
    _exec(conn, "CREATE SCHEMA scale_tpl")
    # Every command but the registry's own (registering the types made those, once).
    _exec(
        conn,
        f"CREATE TABLE scale_tpl.cmd AS SELECT c.command_id, {_group_sql()} AS grp "
        "FROM concord.commands AS c WHERE c.command_type NOT LIKE 'concord.%%'",
    )
    # A command an agent made (a tool call, a spawn) is in the group of the swarm's command.
    _exec(
        conn,
        "UPDATE scale_tpl.cmd AS t SET grp = o.grp FROM concord.agent_steps AS s "
        "JOIN scale_tpl.cmd AS o ON o.command_id = s.command_id "
        "WHERE s.created_command_id = t.command_id",
    )
    _exec(conn, "ALTER TABLE scale_tpl.cmd ADD PRIMARY KEY (command_id)")
    counts: dict[str, int] = {}
    for spec in CLONED:
        short = spec.table.split(".")[1]
        _exec(
            conn,
            f"CREATE TABLE scale_tpl.{short} AS SELECT x.*, t.grp AS scale_grp "
            f"FROM {spec.table} AS x JOIN scale_tpl.cmd AS t ON t.command_id = {spec.owner}",
        )
        (counts[spec.table],) = conn.execute(
            f"SELECT count(*) FROM scale_tpl.{short}"
        ).fetchone()  # type: ignore[misc]
    # A dependency's parent is in its child's group: a wave's copies stay within the wave.
    (crossing,) = conn.execute(
        "SELECT count(*) FROM scale_tpl.command_dependencies AS d "
        "JOIN scale_tpl.cmd AS p ON p.command_id = d.parent_command_id "
        "WHERE p.grp <> d.scale_grp"
    ).fetchone()  # type: ignore[misc]
    assert crossing == 0, "a template dependency crosses groups"
    # The ids the wave made, as text: an event's target_id that is one of them is remapped.
    _exec(
        conn,
        "CREATE TABLE scale_tpl.ids AS "
        "SELECT command_id::text AS id FROM scale_tpl.cmd "
        "UNION SELECT approval_id::text FROM scale_tpl.approvals "
        "UNION SELECT evaluation_id::text FROM scale_tpl.policy_decisions "
        "UNION SELECT agent_run_id::text FROM scale_tpl.agent_runs "
        "UNION SELECT swarm_run_id::text FROM scale_tpl.swarm_runs "
        "UNION SELECT agent_step_id::text FROM scale_tpl.agent_steps "
        "UNION SELECT invocation_id::text FROM scale_tpl.agent_invocations "
        "UNION SELECT domain_effect_id::text FROM scale_tpl.domain_effects "
        "UNION SELECT workflow_uuid FROM scale_tpl.workflow_status",
    )
    _exec(
        conn,
        "ALTER TABLE scale_tpl.domain_events ADD COLUMN target_is_ours boolean; "
        "UPDATE scale_tpl.domain_events AS e SET target_is_ours = EXISTS ("
        "SELECT 1 FROM scale_tpl.ids WHERE id = e.target_id)",
    )
    # Which text ids start with a uuid (remapped as one) and which do not (suffixed): decided
    # once here, not by a regular expression per copied row.
    for spec in CLONED:
        short = spec.table.split(".")[1]
        for name in spec.texts:
            _exec(
                conn,
                f"ALTER TABLE scale_tpl.{short} ADD COLUMN scale_uuid_{name} boolean; "
                f"UPDATE scale_tpl.{short} SET scale_uuid_{name} = {name} ~ '{UUID_AT_START}'",
            )
    _exec(conn, "ANALYZE scale_tpl.cmd")
    return counts


def _columns(conn: psycopg.Connection, table: str) -> list[tuple[str, bool]]:
    """(name, is identity) of table's columns in order."""
    return [
        (name, ident)
        for name, ident in conn.execute(
            "SELECT attname, attidentity <> '' FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (table,),
        )
    ]


def _offset(group: str) -> str:
    span = YEAR_MINUTES if group == "history" else BACKLOG_MINUTES
    return f"make_interval(mins => -mod(k::bigint * {HASH}, {span})::int)"


def _remap(text_id: str) -> str:
    """The copy of wave k of an id (given as text): deterministic, so that every reference to
    an id follows it. Written out, not a function: a call per copied value costs more."""
    return f"md5({text_id} || ':' || k)::uuid"


def _reid(text: str) -> str:
    """The copy of a text that starts with an id (a workflow id, a key): the id remapped."""
    return f"({_remap(f'left({text}, 36)')}::text || substr({text}, 37))"


def _clone_sql(conn: psycopg.Connection, spec: Cloned) -> str:
    """INSERT ... SELECT of the rows of spec.table of waves %(lo)s..%(hi)s of group %(grp)s;
    {offset} stands for the group's offset of wave k."""
    short = spec.table.split(".")[1]
    targets, values = [], []
    for name, ident in _columns(conn, spec.table):
        if ident:
            continue  # the sequence numbers the copy
        targets.append(name)
        if name in spec.ids:
            values.append(_remap(f"x.{name}::text"))
        elif name in spec.times:
            values.append(f"x.{name} + {{offset}}")
        elif name in spec.epoch_ms:
            values.append(f"x.{name} + (extract(epoch FROM {{offset}}) * 1000)::bigint")
        elif name == "target_id":
            values.append(f"CASE WHEN x.target_is_ours THEN {_reid('x.target_id')} "
                          "ELSE x.target_id END")
        elif name == "trace_id":
            values.append("'trace_' || md5(x.trace_id || ':' || k)")
        elif name in spec.texts:
            values.append(
                f"CASE WHEN x.scale_uuid_{name} THEN {_reid(f'x.{name}')} "
                f"ELSE x.{name} || ':' || k END"
            )
        elif name == "secret_sha256":
            values.append("sha256(x.secret_sha256 || int4send(k))")
        elif name == "inputs" and spec.table.startswith("dbos."):
            # DBOS's serialised arguments name the workflow
            values.append(f"replace(x.inputs, x.workflow_uuid, {_reid('x.workflow_uuid')})")
        else:
            values.append(f"x.{name}")
    # An identity column (event_seq, decision_id) numbers the copies in the order of the
    # originals: a command's events stay in the order they were written.
    order = "".join(f", x.{name}" for name, ident in _columns(conn, spec.table) if ident)
    return (
        f"INSERT INTO {spec.table} ({', '.join(targets)}) "
        f"SELECT {', '.join(values)} FROM generate_series(%(lo)s::int, %(hi)s::int) AS k "
        f"CROSS JOIN scale_tpl.{short} AS x WHERE x.scale_grp = %(grp)s"
        + (f" ORDER BY k{order}" if order else "")
    )


def wave_size(conn: psycopg.Connection) -> tuple[int, int]:
    """Commands of the history group and of the backlog group in one wave."""
    rows = dict(conn.execute("SELECT grp, count(*) FROM scale_tpl.cmd GROUP BY grp").fetchall())
    return rows.get("history", 0), rows.get("backlog", 0)


def commands_for_waves(conn: psycopg.Connection, waves: int, backlog_waves: int) -> int:
    history, backlog = wave_size(conn)
    return (waves + 1) * history + (min(waves, backlog_waves) + 1) * backlog


def waves_for(conn: psycopg.Connection, commands: int, backlog_waves: int) -> int:
    """The number of copies (beyond the template) that brings the database to about commands."""
    history, backlog = wave_size(conn)
    waves = 0
    step = 1 << 20
    while step:
        if commands_for_waves(conn, waves + step, backlog_waves) <= commands:
            waves += step
        step >>= 1
    del history, backlog
    return waves


def grow(dsn: str, first: int, last: int, backlog_waves: int, chunk_waves: int,
         loaders: int = 2, say=print) -> None:
    """Copy waves first..last (inclusive) into the database, chunk_waves a statement per
    table, a transaction per chunk, triggers off (see the module's docstring), on loaders
    connections at once (the copies of different waves share no row)."""
    if last < first:
        return
    with psycopg.connect(dsn) as conn:
        statements = [_clone_sql(conn, spec) for spec in CLONED]
    # at least two chunks a loader, so that the loaders finish together
    chunk_waves = max(1, min(chunk_waves, (last - first + 1) // (2 * loaders)))
    chunks = [(lo, min(last, lo + chunk_waves - 1)) for lo in range(first, last + 1, chunk_waves)]
    lock = threading.Lock()

    errors: list[BaseException] = []

    def copy(worker: int) -> None:
        try:
            copy_chunks(worker)
        except BaseException as error:  # noqa: BLE001 - raised again in the caller's thread
            with lock:
                errors.append(error)
                chunks.clear()

    def copy_chunks(worker: int) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            _exec(conn, "SET session_replication_role = replica")
            while True:
                with lock:
                    if not chunks:
                        return
                    lo, hi = chunks.pop(0)
                started = time.perf_counter()
                with conn.transaction():
                    for statement in statements:
                        for grp, top in (("history", hi), ("backlog", min(hi, backlog_waves))):
                            if top >= lo:
                                conn.execute(
                                    statement.replace("{offset}", _offset(grp)),  # type: ignore[arg-type]
                                    {"lo": lo, "hi": top, "grp": grp},
                                )
                say(f"  waves {lo}..{hi} copied in {time.perf_counter() - started:.1f} s "
                    f"(loader {worker})")

    threads = [threading.Thread(target=copy, args=(i,)) for i in range(loaders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def figures(conn: psycopg.Connection, seconds: float) -> LoadFigures:
    (commands,) = conn.execute("SELECT count(*) FROM concord.commands").fetchone()  # type: ignore[misc]
    (events,) = conn.execute("SELECT count(*) FROM concord.domain_events").fetchone()  # type: ignore[misc]
    (size,) = conn.execute("SELECT pg_database_size(current_database())").fetchone()  # type: ignore[misc]
    # a partitioned table's size is its partitions' (with their indexes)
    biggest = conn.execute(
        "SELECT n.nspname || '.' || c.relname AS name, pg_total_relation_size(c.oid) "
        "+ (SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0) "
        "   FROM pg_inherits AS i WHERE i.inhparent = c.oid) AS bytes "
        "FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('concord', 'dbos') "
        "AND NOT c.relispartition ORDER BY bytes DESC LIMIT 6"
    ).fetchall()
    return LoadFigures(commands, events, seconds, size, [(name, b) for name, b in biggest])
