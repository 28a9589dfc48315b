"""``concord worker``: a DBOS worker that executes Concord commands.

It imports the modules that register operations and connectors, validates the operation
catalog (spec 31.2, 41) and refuses to start with every problem listed, launches DBOS
against the Concord database with an explicit executor id and application version,
registers the queues of ``concord.runtime_queues``, records the catalog in
``concord.runtime_operations``, applies the schedules of ``concord.schedules``, logs one
line per command start and finish (``concord.runtime.logs``), and stops on SIGTERM or
SIGINT within moments: work in flight is left to DBOS's recovery, which resumes it when
a worker of the same executor id starts again (``--drain-seconds`` waits for it first).
While it runs, its recovery loop resumes the workflows of its executor id that no
execution in the process runs any more (a database outage cut their checkpoint): DBOS
itself recovers only when a worker starts.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata

import psycopg

from ..errors import ConcordError
from .catalog import DBOS_CAPABILITIES, Catalog
from .catalog import catalog as default_catalog
from .connectors.base import ConnectorRegistry
from .connectors.base import registry as default_registry
from .db import RuntimeDB
from .dbos_internals import make_queues_wakeable, set_queue_limits, wake_queues
from .error_classes import RETRYABLE_CLASSES, CatalogError, ConfigError
from .waker import Waker

log = logging.getLogger("concord.worker")

APP_NAME = "concord"
# DBOS schedule of the reconciler (not a concord.* schedule: those mirror concord.schedules).
RECONCILE_SCHEDULE = "concord-internal.reconcile"
# How often the recovery loop looks for stranded workflows. One is resumed when two looks in
# a row found it PENDING on this executor, under the same ownership token, and not running
# in this process: a workflow just dequeued starts its thread long before the second look.
RECOVERY_INTERVAL_SECONDS = 2.0
# How often a worker makes the audit trail's coming month partitions (migration 0009).
AUDIT_UPKEEP_SECONDS = 3600.0


def default_executor_id() -> str:
    """The host name: recovery picks up only the workflows of the same executor id, so a
    restarted worker on the same host resumes its predecessor's work."""
    return socket.gethostname() or "concord-worker"


def default_application_version() -> str:
    try:
        return f"concord-{metadata.version('concord')}"
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "concord-dev"


@dataclass
class WorkerConfig:
    dsn: str
    modules: list[str] = field(default_factory=list)
    executor_id: str = field(default_factory=default_executor_id)
    application_version: str = field(default_factory=default_application_version)
    queues: list[str] | None = None  # listen only to these (default: Worker.listened_queues)
    pool_size: int = 16
    apply_schedules: bool = True
    promote_version: bool = False
    log_level: str = "WARNING"  # DBOS's own logger (logs.dbos_level)
    # Adopt the PENDING workflows of a gone worker (its executor lock free) silent this
    # long; 0 never adopts.
    adopt_after: float = 20.0


def _unprepared(conn: psycopg.Connection) -> str | None:
    """Why the database cannot take a worker yet, or None."""
    found = conn.execute(
        "SELECT to_regclass('concord.runtime_queues') IS NOT NULL, "
        "to_regclass('dbos.workflow_status') IS NOT NULL"
    ).fetchone()
    if all(found):
        return None
    return (
        "the database is not prepared for the runtime (no "
        + ("concord.runtime_queues" if not found[0] else "dbos schema")
        + "): run `concord migrate` on it first"
    )


def _load_queues(db: RuntimeDB) -> list[dict]:
    cols = (
        "queue_name, worker_concurrency, global_concurrency, rate_limit, rate_period_sec, "
        "polling_interval_sec"
    )
    rows = db.rows(f"SELECT {cols} FROM concord.runtime_queue_config ORDER BY queue_name")
    keys = [c.strip() for c in cols.split(",")]
    return [dict(zip(keys, r, strict=True)) for r in rows]


def _build_connectors(db: RuntimeDB, registry: ConnectorRegistry, dsn: str) -> list[str]:
    """Connectors configured in ``concord.connectors`` (unless a module registered that
    name itself), plus the default app ``notification`` connector."""
    from .connectors import build_connector

    problems = []
    rows = db.rows(
        "SELECT connector_name, connector_type, config, capabilities "
        "FROM concord.connector_catalog ORDER BY connector_name"
    )
    names = set(registry.names())
    for name, connector_type, config, capabilities in rows:
        if name not in names:
            try:
                registry.register(build_connector(name, connector_type, config, dsn=dsn))
            except (ConfigError, ValueError, TypeError) as exc:
                message = str(exc)
                prefix = f"connector {name}: "
                problems.append(message if message.startswith(prefix) else prefix + message)
                continue
        lacking = sorted(set(capabilities) - set(registry.get(name).capabilities()))
        if lacking:
            problems.append(
                f"connector {name}: declares capabilities its implementation lacks: "
                f"{', '.join(lacking)}"
            )
        registry.declare(name, capabilities)
    if "notification" not in registry.names():
        registry.register(build_connector("notification", "notification", {}, dsn=dsn))
    return problems


def _enabled_schedules(db: RuntimeDB) -> list[tuple[str, str, str]]:
    """(name, cron, queue) of every enabled schedule."""
    return db.rows(
        "SELECT schedule_name, cron, queue_name FROM concord.schedule_catalog WHERE enabled "
        "ORDER BY schedule_name"
    )


def preflight(
    config: WorkerConfig,
    db: RuntimeDB,
    catalog: Catalog,
    registry: ConnectorRegistry,
    schedules: list[tuple[str, str, str]],
) -> list[str]:
    """Every reason the worker must not start (empty when it may); ``schedules`` are the
    ones it would apply."""
    problems: list[str] = []
    queues = [q["queue_name"] for q in _load_queues(db)]
    problems += catalog.validate(DBOS_CAPABILITIES, known_queues=queues)
    known_types = {r[0] for r in db.rows("SELECT command_type FROM concord.command_catalog")}
    for command_type in sorted(catalog.operations):
        if command_type not in known_types:
            problems.append(
                f"operation {command_type}: no such command type in the database "
                "(register it with concord.register_command_type)"
            )
    retryable = {
        r[0] for r in db.rows("SELECT error_class FROM concord.error_taxonomy WHERE retryable")
    }
    if retryable != set(RETRYABLE_CLASSES):
        problems.append(
            f"the database's retryable error classes {sorted(retryable)} differ from the "
            f"runtime's {sorted(RETRYABLE_CLASSES)}"
        )
    if config.queues:
        unknown = sorted(set(config.queues) - set(queues))
        if unknown:
            problems.append(f"unknown queues to listen to: {', '.join(unknown)}")
    if schedules:
        from croniter import croniter  # a DBOS dependency: the parser DBOS itself uses

        for name, cron, _queue in schedules:
            if not croniter.is_valid(cron, second_at_beginning=True):
                problems.append(f"schedule {name}: DBOS cannot run the cron {cron!r}")
    problems += _build_connectors(db, registry, config.dsn)
    return problems


def _not_on_the_path(module: str, exc: Exception) -> str:
    """A hint when the module itself (or its package) was not found, not one it imports:
    the worker imports --module as Python does, and a console script does not look in
    the current folder."""
    missing = getattr(exc, "name", None) if isinstance(exc, ModuleNotFoundError) else None
    if not missing or not (module == missing or module.startswith(missing + ".")):
        return ""
    return (
        f" (--module is imported as Python imports it: install the package that holds "
        f"{module}, or put the folder that holds {missing.split('.')[0]} on PYTHONPATH, "
        f"e.g. PYTHONPATH=. from that folder)"
    )


class Worker:
    """One DBOS worker process. :meth:`start` launches it; :meth:`stop` shuts it down."""

    def __init__(
        self,
        config: WorkerConfig,
        *,
        catalog: Catalog = default_catalog,
        registry: ConnectorRegistry = default_registry,
    ):
        self.config = config
        self.catalog = catalog
        self.registry = registry
        self.db: RuntimeDB | None = None
        self._lock_conn: psycopg.Connection | None = None
        self.schedules: list[tuple[str, str, str]] = []  # the enabled ones it applies
        self._stopped = threading.Event()
        self._watch_stop = threading.Event()
        self._watch: threading.Thread | None = None
        self._queues: list[str] = []
        self._recovery_stop = threading.Event()
        self._recovery_thread: threading.Thread | None = None
        self.resumed: list[str] = []  # workflows the recovery loop resumed
        self._next_audit_upkeep = 0.0  # time.monotonic() of the next audit partition upkeep
        self._waker: Waker | None = None

    def start(self) -> None:
        from dbos import DBOS

        # builtin registers its operations, agent_workflow the workflow concord.run_agent
        from . import agent_workflow, builtin, workflows  # noqa: F401
        from .schema import sqlalchemy_url

        import_problems = []
        for module in self.config.modules:
            try:
                importlib.import_module(module)
            except Exception as exc:  # a broken module is one more reason to refuse
                import_problems.append(
                    f"module {module} cannot be imported: {type(exc).__name__}: {exc}"
                    + _not_on_the_path(module, exc)
                )
        # One plain connection first: an unreachable database is refused at once, with
        # libpq's own message, rather than after the pool's retries. It stays open for
        # the life of the worker, holding the executor id's lock.
        self._lock_conn = psycopg.connect(self.config.dsn, connect_timeout=10, autocommit=True)
        unprepared = _unprepared(self._lock_conn)
        if unprepared:
            self._close_lock()
            raise CatalogError([unprepared])
        if not self._lock_executor_id():
            self._close_lock()
            raise CatalogError(
                [
                    f"executor id {self.config.executor_id} is in use by a running worker: "
                    "DBOS recovers the workflows of an executor id, so two live workers must "
                    "not share one; pass --executor-id (or set CONCORD_EXECUTOR_ID)"
                ]
            )
        self.db = RuntimeDB(self.config.dsn, max_size=self.config.pool_size)
        self.schedules = _enabled_schedules(self.db) if self.config.apply_schedules else []
        problems = import_problems + preflight(
            self.config, self.db, self.catalog, self.registry, self.schedules
        )
        if problems:
            self.db.close()
            self.db = None
            self._close_lock()
            raise CatalogError(problems)
        workflows.install(
            workflows.RuntimeState(
                db=self.db,
                executor_id=self.config.executor_id,
                catalog=self.catalog,
                connectors=self.registry,
            )
        )
        DBOS(
            config={
                "name": APP_NAME,
                "system_database_url": sqlalchemy_url(self.config.dsn),
                "executor_id": self.config.executor_id,
                "application_version": self.config.application_version,
                "log_level": self.config.log_level,
                "run_migrations": True,
                "notification_listener_polling_interval_sec": 0.05,
                "scheduler_polling_interval_sec": 5.0,
            }
        )
        self._queues = self.listened_queues()
        # Before DBOS dequeues anything: the claim reads this row to leave alone the
        # commands whose type this worker has no operation for.
        self._heartbeat()
        DBOS.listen_queues(self._queues)
        make_queues_wakeable()
        DBOS.launch()
        # woken on commit (a queue's own polling is the safety net): waker.py
        self._waker = Waker(self.config.dsn, self._queues, self.config.executor_id)
        self._waker.start()
        try:
            self._check_version(self.config.promote_version)
        except CatalogError:
            self.stop()
            raise
        for q in _load_queues(self.db):
            DBOS.register_queue(
                q["queue_name"],
                worker_concurrency=q["worker_concurrency"],
                global_concurrency=q["global_concurrency"],
                limiter=(
                    {"limit": q["rate_limit"], "period": q["rate_period_sec"]}
                    if q["rate_limit"]
                    else None
                ),
                polling_interval_sec=q["polling_interval_sec"],
                on_conflict="always_update",
            )
            set_queue_limits(
                q["queue_name"],
                q["worker_concurrency"],
                q["global_concurrency"] is not None or bool(q["rate_limit"]),
            )
        self.db.scalar(
            "SELECT concord.register_operations(%s, %s, %s)",
            self.catalog.to_json(),
            self.config.executor_id,
            self.config.application_version,
        )
        try:
            self.db.scalar("SELECT concord.runtime_reconcile(%s)", self.config.executor_id)
        except (ConcordError, psycopg.Error) as exc:  # it runs again every 10 s: start anyway
            log.warning(
                "worker %s: the reconciler failed at start: %s", self.config.executor_id, exc
            )
        self._apply_schedules()
        self._warn_unserved()
        self._watch = threading.Thread(target=self._watch_loop, name="concord-watch", daemon=True)
        self._watch.start()
        self._recovery_thread = threading.Thread(
            target=self._recovery_loop, name="concord-recovery", daemon=True
        )
        self._recovery_thread.start()
        log.warning(
            "concord worker %s (%s) started: %d operation(s), connectors %s",
            self.config.executor_id,
            self.config.application_version,
            len(self.catalog.operations),
            ", ".join(self.registry.names()),
        )

    def _stranded(self) -> dict[str, tuple]:
        """PENDING workflows of this executor and version that no execution in this
        process runs, with their ownership token and dispatch count."""
        from .dbos_internals import running_here

        rows = self.db.rows(
            "SELECT workflow_uuid, owner_xid, recovery_attempts FROM dbos.workflow_status "
            "WHERE status = 'PENDING' AND executor_id = %s AND application_version = %s",
            self.config.executor_id,
            self.config.application_version,
        )
        running = running_here()  # read after the rows: a run that ends in between is
        # no longer PENDING at the next look
        return {wid: (owner, attempts) for wid, owner, attempts in rows if wid not in running}

    def _recovery_loop(self) -> None:
        """Resume the workflows whose execution died in this live process: DBOS's
        checkpoint of a step or of the outcome hit a database outage and the workflow
        thread ended with it PENDING. Never one that runs here (DBOS's active set), so no
        workflow runs twice at once in this process."""
        from .dbos_internals import resume_stranded

        seen: dict[str, tuple] = {}
        while not self._recovery_stop.wait(RECOVERY_INTERVAL_SECONDS):
            try:
                now = self._stranded()
                waiting = self._not_served_yet(now)
                for workflow_id, token in now.items():
                    if workflow_id in waiting:
                        continue
                    if seen.get(workflow_id) == token and not self._recovery_stop.is_set():
                        # back on its queue for whichever worker polls it first: not
                        # woken here, or this worker, which may lack the run's operation
                        # (a run it holds for a live worker that has it), would win every time
                        resume_stranded(workflow_id, self.config.executor_id)
                        self.resumed.append(workflow_id)
                        log.warning("resumed stranded workflow %s", workflow_id)
                seen = now
            except Exception as exc:  # the database is away: look again later
                log.info("recovery loop: %s", exc)
                seen = {}

    def _not_served_yet(self, stranded: dict[str, tuple]) -> set[str]:
        """The stranded workflows this process met without their operation whose type no
        other live worker serves: they wait here (PENDING) rather than bounce on their
        queue, each dispatch counting towards DBOS's dead-letter limit."""
        from .workflows import NOT_SERVED_HERE, _not_served_lock

        with _not_served_lock:
            for workflow_id in [w for w in NOT_SERVED_HERE if w not in stranded]:
                del NOT_SERVED_HERE[workflow_id]  # it ran elsewhere, or ended
            held = dict(NOT_SERVED_HERE)
        if not held:
            return set()
        served = {
            t
            for (t,) in self.db.rows(
                "SELECT DISTINCT unnest(operations) FROM concord.live_workers "
                "WHERE executor_id <> %s",
                self.config.executor_id,
            )
        }
        return {w for w, command_type in held.items() if command_type not in served}

    def _lock_executor_id(self, wait_seconds: float = 10.0) -> bool:
        """Hold a session advisory lock on the executor id. A worker killed a moment ago
        releases it as soon as the server notices, so wait a little for it."""
        deadline = time.monotonic() + wait_seconds
        while True:
            got = self._lock_conn.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))",
                (f"concord.executor:{self.config.executor_id}",),
            ).fetchone()[0]
            if got or time.monotonic() > deadline:
                return got
            time.sleep(0.2)

    # -- heartbeat and adoption (issue 13: no command is stranded) ----------------------

    def heartbeat_interval(self) -> float:
        """Seconds between heartbeats and adoption scans: a quarter of ``adopt_after``,
        between 1 and 5."""
        return max(1.0, min(5.0, (self.config.adopt_after or 20.0) / 4))

    def _heartbeat(self) -> None:
        """Record this worker's row of concord.workers, on the connection that holds the
        executor lock (the SQL function checks it holds it)."""
        self._lock_conn.execute(
            "SELECT concord.runtime_heartbeat(%s, %s, %s, %s, %s, %s)",
            (
                self.config.executor_id,
                self.config.application_version,
                socket.gethostname(),
                os.getpid(),
                self._queues,
                sorted(self.catalog.operations),
            ),
        )

    def _warn_unserved(self) -> None:
        rows = self.db.rows(
            "SELECT command_type, queued FROM concord.unserved_command_types ORDER BY 1"
        )
        if rows:
            log.warning(
                "queued commands no live worker can run (no operation for their type): %s",
                ", ".join(f"{t} ({n})" for t, n in rows),
            )

    def _relock(self) -> None:
        """The lock connection was lost (a database outage): connect again and take the
        executor lock back. Raises while it cannot."""
        try:
            self._close_lock()
        except Exception:  # noqa: BLE001 - the connection is already broken
            self._lock_conn = None
        self._lock_conn = psycopg.connect(self.config.dsn, connect_timeout=10, autocommit=True)
        if not self._lock_executor_id(wait_seconds=0):
            self._close_lock()
            raise RuntimeError(f"executor lock of {self.config.executor_id} is held elsewhere")

    def _watch_loop(self) -> None:
        while not self._watch_stop.wait(self.heartbeat_interval()):
            try:
                if self._lock_conn is None or self._lock_conn.closed:
                    self._relock()
                self._heartbeat()
                if self.config.adopt_after > 0:
                    self._adopt_orphans()
                self._audit_upkeep()
            except Exception as exc:  # noqa: BLE001 - the next round tries again
                log.warning("worker %s: heartbeat failed: %s", self.config.executor_id, exc)
                if self._lock_conn is not None and self._lock_conn.broken:
                    self._lock_conn = None

    def _audit_upkeep(self) -> None:
        """Once an hour, create the audit trail's coming month partitions and move any rows
        its default partition caught (``concord.maintain_audit_partitions``: one cheap query
        when nothing is missing), so a new month never finds its partition absent."""
        now = time.monotonic()
        if now < self._next_audit_upkeep:
            return
        self._next_audit_upkeep = now + AUDIT_UPKEEP_SECONDS
        self.db.rows("SELECT concord.maintain_audit_partitions()")

    def _adopt_orphans(self) -> int:
        """Recover, in this process, the PENDING workflows of workers that are gone (no
        session holds their executor lock) and silent for ``adopt_after`` seconds. The
        orphan's lock is taken first and held while adopting, so two live workers never
        adopt the same executor, and a worker that is alive (however slow) never has its
        workflows taken: it holds its lock for as long as its session lives."""
        from dbos import DBOS

        conn = self._lock_conn
        rows = conn.execute(
            "SELECT orphan, application_version, pending "
            "FROM concord.runtime_orphaned_executors(%s, make_interval(secs => %s))",
            (self.config.executor_id, float(self.config.adopt_after)),
        ).fetchall()
        adopted = 0
        for orphan, version, pending in rows:
            if version != self.config.application_version:
                continue  # DBOS recovers a workflow only on its own application version
            key = f"concord.executor:{orphan}"
            got = conn.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (key,)
            ).fetchone()[0]
            if not got:
                continue  # it came back, or another worker is adopting it
            try:
                handles = DBOS._recover_pending_workflows([orphan])
                wake_queues()  # back on their queues, and no notification says so
                adopted += len(handles)
                log.warning(
                    "worker %s adopted %d workflow(s) of gone worker %s (%d pending)",
                    self.config.executor_id,
                    len(handles),
                    orphan,
                    pending,
                )
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))
        return adopted

    def _close_lock(self) -> None:
        if self._lock_conn is not None:
            self._lock_conn.close()
            self._lock_conn = None

    def _check_version(self, promote: bool) -> None:
        """Workflows are enqueued without an application version, and DBOS dequeues those
        only on its latest version: a worker of another version would start and run
        nothing. Refuse it, unless told to promote its version (a rollback)."""
        from dbos import DBOS

        latest = DBOS.get_latest_application_version()["version_name"]
        mine = self.config.application_version
        if latest == mine:
            return
        if promote:
            DBOS.set_latest_application_version(mine)
            log.warning("application version %s promoted to latest (was %s)", mine, latest)
            return
        raise CatalogError(
            [
                f"application version {mine} is not DBOS's latest ({latest}): this worker "
                "would dequeue no new command; run version "
                f"{latest}, or pass --promote-version to make {mine} the latest (a rollback)"
            ]
        )

    def listened_queues(self) -> list[str]:
        """``--queue`` when given; otherwise the queues this worker's commands can be on:
        concord_default (types without an operation of their own, and cancellation
        follow-ups), the queues of its operations, and scheduled_maintenance when it
        applies schedules, and agent_runs and swarm_children (coordinators, children) when
        a module registered an agent runtime. A queue nobody's operation uses is not
        polled (each polled queue costs a query per polling interval)."""
        from .agent_workflow import AGENT_QUEUE, CHILD_QUEUE, agent_runtime_names

        if self.config.queues:
            return list(self.config.queues)
        queues = {"concord_default"} | {op.queue for op in self.catalog.operations.values()}
        if agent_runtime_names():
            queues |= {AGENT_QUEUE, CHILD_QUEUE}
        if self.config.apply_schedules:
            queues.add("scheduled_maintenance")
            queues |= {queue for _, _, queue in self.schedules}
        return sorted(queues)

    def _apply_schedules(self) -> None:
        from dbos import DBOS

        from .workflows import reconcile, schedule_tick

        rows = self.schedules
        wanted = {f"concord.{name}" for name, _, _ in rows}
        for existing in DBOS.list_schedules(schedule_name_prefix="concord."):
            if existing["schedule_name"] not in wanted:
                DBOS.delete_schedule(existing["schedule_name"])
        DBOS.apply_schedules(
            [
                {
                    "schedule_name": f"concord.{name}",
                    "workflow_fn": schedule_tick,
                    "schedule": cron,
                    "context": {"schedule_name": name},
                    "queue_name": queue,
                }
                for name, cron, queue in rows
            ]
            + [
                {
                    "schedule_name": RECONCILE_SCHEDULE,
                    "workflow_fn": reconcile,
                    "schedule": "*/10 * * * * *",
                    "queue_name": "concord_default",
                }
            ]
        )

    def wait(self) -> None:
        self._stopped.wait()

    def request_stop(self, *_args) -> None:
        """SIGTERM or SIGINT: stop; a second one while stopping ends the process now."""
        if self._stopped.is_set():
            _exit_now(1)
        self._stopped.set()

    def shutdown(self, *, drain_seconds: int = 0) -> bool:
        """Stop after a signal. With nothing in flight, as :meth:`stop`. Otherwise, after
        waiting up to ``drain_seconds`` for it, say what is left and return False without
        destroying DBOS: the caller ends the process at once (``_exit_now``). What was in
        flight stays PENDING in DBOS and resumes where it was when a worker of the same
        executor id starts (every step is idempotent on replay); destroying DBOS under
        running workflows would only make their threads fail with tracebacks, and wait
        for them."""
        from . import logs
        from .dbos_internals import running_here as active_workflow_ids

        def wait_for_workflows(seconds: float) -> list[dict]:
            """Wait up to ``seconds`` for this process's workflows to end; what is left."""
            deadline = time.monotonic() + seconds
            while active_workflow_ids() and time.monotonic() < deadline:
                time.sleep(0.05)
            return logs.in_flight()

        busy = logs.in_flight()
        if (busy or active_workflow_ids()) and drain_seconds > 0:
            log.warning(
                "stopping: waiting up to %d s for %d command(s) in flight",
                drain_seconds,
                len(busy),
            )
            busy = wait_for_workflows(drain_seconds)
        if not busy:
            # no command: what runs is the worker's own (a reconcile, a schedule tick, a
            # run just past its finish line), over in a moment
            busy = wait_for_workflows(2.0)
        if not busy and not active_workflow_ids():
            self.stop()
            return True
        self._recovery_stop.set()
        self._stop_waker()
        logs.silence_dbos()
        if busy:
            log.warning(
                "stopping: %d command(s) in flight will resume on restart: %s",
                len(busy),
                ", ".join(sorted(b["command_id"] for b in busy)[:10]),
            )
        else:
            log.info("stopping: the worker's own workflows still running will resume on restart")
        self._close_lock()
        return False

    def _stop_waker(self) -> None:
        if self._waker is not None:
            self._waker.stop()
            self._waker = None

    def stop(self, *, drain_seconds: int = 0) -> None:
        from dbos import DBOS

        self._watch_stop.set()
        if self._watch is not None:
            self._watch.join(timeout=15)
            self._watch = None
        self._recovery_stop.set()
        self._stop_waker()
        DBOS.destroy(workflow_completion_timeout_sec=drain_seconds)
        if self.db is not None:
            self.db.close()
            self.db = None
        self._close_lock()


def adopt_after_seconds(text: str) -> float:
    """``--adopt-after``: 0 (never adopt), or a finite number of seconds of at least 1 (the
    silence runtime_orphaned_executors accepts). Anything else is refused at the command
    line, not met by a heartbeat that fails every second for the life of the worker. A
    string default (``$CONCORD_ADOPT_AFTER``) goes through here too."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if seconds != 0 and not (math.isfinite(seconds) and seconds >= 1):
        raise argparse.ArgumentTypeError(
            f"{text!r}: give 0 (never adopt) or at least 1 second"
        )
    return seconds


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="concord worker")
    parser.add_argument(
        "--module",
        action="append",
        default=[],
        metavar="PKG.MOD",
        help="import this module (it registers operations and connectors); repeatable",
    )
    parser.add_argument("--dsn", help="the Concord database (default: $CONCORD_DSN)")
    parser.add_argument(
        "--executor-id",
        default=os.environ.get("CONCORD_EXECUTOR_ID") or default_executor_id(),
        help="DBOS executor id (default: $CONCORD_EXECUTOR_ID or the host name); recovery "
        "resumes the workflows of the same executor id and application version",
    )
    parser.add_argument(
        "--application-version",
        default=os.environ.get("CONCORD_APP_VERSION") or default_application_version(),
        help="DBOS application version (default: $CONCORD_APP_VERSION or concord-<version>)",
    )
    parser.add_argument(
        "--queue",
        action="append",
        dest="queues",
        metavar="NAME",
        help="listen only to this queue; repeatable (default: concord_default, the queues of "
        "the loaded operations and, with schedules, scheduled_maintenance)",
    )
    parser.add_argument("--no-schedules", action="store_true", help="do not apply schedules")
    parser.add_argument(
        "--promote-version",
        action="store_true",
        help="make this worker's application version DBOS's latest (a rollback); without it a "
        "worker whose version is not the latest refuses to start",
    )
    parser.add_argument(
        "--drain-seconds",
        type=int,
        default=os.environ.get("CONCORD_DRAIN_SECONDS") or "0",
        help="on SIGTERM or SIGINT, wait this long for the commands in flight before stopping "
        "(default $CONCORD_DRAIN_SECONDS, else 0: stop at once; what is in flight resumes when "
        "a worker of the same executor id starts)",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("CONCORD_LOG_LEVEL", "INFO"),
        help="level of Concord's loggers (default $CONCORD_LOG_LEVEL, else INFO: a line per "
        "command start and finish); DBOS's own logger stays at WARNING unless DEBUG",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=os.environ.get("CONCORD_LOG_FORMAT", "text"),
        help="text lines, or one JSON object per line (default $CONCORD_LOG_FORMAT, else text)",
    )
    parser.add_argument(
        "--adopt-after",
        type=adopt_after_seconds,
        default=os.environ.get("CONCORD_ADOPT_AFTER", "20"),
        metavar="SECONDS",
        help="adopt the pending workflows of a worker that is gone (its executor lock free) "
        "and silent this long (default 20, or $CONCORD_ADOPT_AFTER; 0 never adopts; else at "
        "least 1)",
    )
    return parser


def _exit_now(code: int) -> None:
    """End the process without joining the threads of workflows in flight (DBOS
    recovers them) and without atexit handlers."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def _refuse(log_format: str, message: str, event: str, problems: list[str]) -> None:
    """Say why the worker does not start, on stderr: as text, or, with ``--log-format
    json``, as one JSON object like every other line of its log (``event`` and the list of
    ``problems`` as fields), so that a collector reading JSON lines loses nothing."""
    if log_format == "json":
        log.error("%s", message, extra={"concord": {"event": event, "problems": problems}})
        return
    print(f"concord worker: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    dsn = args.dsn or os.environ.get("CONCORD_DSN")
    if not dsn:
        print("concord worker: no database given: pass --dsn or set CONCORD_DSN", file=sys.stderr)
        return 2
    from . import logs

    try:
        logs.configure(args.log_level, args.log_format)
    except ValueError as exc:
        print(f"concord worker: {exc}", file=sys.stderr)
        return 2
    worker = Worker(
        WorkerConfig(
            dsn=dsn,
            modules=list(args.module),
            executor_id=args.executor_id,
            application_version=args.application_version,
            queues=args.queues,
            apply_schedules=not args.no_schedules,
            promote_version=args.promote_version,
            log_level=logs.dbos_level(args.log_level),
            adopt_after=args.adopt_after,
        )
    )
    signal.signal(signal.SIGTERM, worker.request_stop)
    signal.signal(signal.SIGINT, worker.request_stop)
    try:
        worker.start()
    except CatalogError as exc:
        _refuse(args.log_format, f"refusing to start: {exc}", "worker_refused", exc.problems)
        return 2
    except psycopg.OperationalError as exc:
        _refuse(args.log_format, f"cannot reach the database: {exc}", "worker_unreachable",
                [str(exc)])
        return 2
    print(f"concord worker {args.executor_id} ready", flush=True)
    worker.wait()
    clean = worker.shutdown(drain_seconds=max(args.drain_seconds, 0))
    print(f"concord worker {args.executor_id} stopped", flush=True)
    if not clean:
        _exit_now(0)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))
