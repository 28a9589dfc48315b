"""Crash tests of the runtime (issue 4, section 7 "Proof"): a real ``concord worker``
subprocess killed with SIGKILL at random moments loses nothing and duplicates nothing;
two workers sharing the queues run each command once; a killed executor's workflows wait
for that executor id to come back (DBOS recovers by executor id and application version).

Each test has a database of its own and a local HTTP vendor (``support.workers.Vendor``)
that counts requests per Idempotency-Key and executes each key once, so "executed once"
is judged from the vendor's side, and repeated deliveries of a key are counted.

Run with ``-s`` to see the figures (kills, duplicate deliveries absorbed, recoveries).
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from concord.migrate import migrate
from support.databases import temporary_database
from support.workers import Vendor, WorkerProcess, register_test_types, submit, wait_for

# The seed of the kill schedule; CONCORD_CRASH_SEED replays another one.
SEED = int(os.environ.get("CONCORD_CRASH_SEED", "20261124"))
KILLS = 10
EXECUTOR = "crash-worker"
QUEUE_CONCURRENCY = 4
START_TIMEOUT = 90.0

# The audit trail of a command that ran once: each from_status is the previous to_status.
COMMAND_CHAIN = [
    ("created", "validated"),
    ("validated", "queued"),
    ("queued", "running"),
    ("running", "succeeded"),
]
EFFECT_CHAIN = [
    ("effect_planned", None, "planned"),
    ("effect_status_changed", "planned", "executing"),
    ("effect_status_changed", "executing", "succeeded"),
]


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


@contextmanager
def runtime_database(server_dsn: str, prefix: str) -> Iterator[str]:
    """A database of its own with Concord + DBOS installed and the test types registered."""
    with temporary_database(server_dsn, prefix) as dsn:
        migrate(dsn)
        register_test_types(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            # The test cluster is shared with other suites, and each worker holds DBOS's
            # connection pools and ours, which grow with the workflows it runs at once:
            # keep that to QUEUE_CONCURRENCY per queue.
            conn.execute(
                "UPDATE concord.runtime_queues SET worker_concurrency = "
                "least(worker_concurrency, %s)",
                (QUEUE_CONCURRENCY,),
            )
        yield dsn


def start_worker(
    dsn: str, executor_id: str, v: Vendor, args: tuple[str, ...] = ()
) -> WorkerProcess:
    """A started worker subprocess whose database sessions carry its executor id as their
    application_name (a loaded machine may take a while to start one)."""
    worker = WorkerProcess(
        dsn,
        executor_id=executor_id,
        vendor_url=v.url,
        extra_env={"PGAPPNAME": executor_id},
        args=args,
    )
    try:
        return worker.start(timeout=START_TIMEOUT)
    except BaseException:
        worker.kill()
        raise


def kill(conn: psycopg.Connection, worker: WorkerProcess) -> None:
    """SIGKILL, then wait for the dead worker's sessions to end: a statement it sent just
    before dying still runs to its end (and commits), so only then is the damage known."""
    worker.kill()
    assert worker.proc is not None and worker.proc.returncode == -signal.SIGKILL
    wait_for(
        lambda: conn.execute(
            "SELECT count(*) = 0 FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            (worker.executor_id,),
        ).fetchone()[0],
        timeout=30,
        message=f"the sessions of the killed worker {worker.executor_id} to end",
    )


@contextmanager
def running(
    dsn: str, executor_id: str, v: Vendor, args: tuple[str, ...] = ()
) -> Iterator[WorkerProcess]:
    """A worker subprocess for the block, stopped with SIGTERM at its end."""
    worker = start_worker(dsn, executor_id, v, args)
    try:
        yield worker
    finally:
        worker.__exit__(None, None, None)


@contextmanager
def vendor() -> Iterator[Vendor]:
    v = Vendor()
    # socketserver listens with a backlog of 5: a burst of connections would see resets
    # that have nothing to do with crashes. Widen it.
    v.server.socket.listen(512)
    base_handle_error = v.server.handle_error

    def handle_error(request: Any, client_address: Any) -> None:
        # a worker killed mid-request leaves the vendor a broken pipe: expected here
        if not isinstance(sys.exc_info()[1], ConnectionError):
            base_handle_error(request, client_address)

    v.server.handle_error = handle_error  # type: ignore[method-assign]
    try:
        yield v
    finally:
        v.close()


def submit_http(conn: psycopg.Connection, count: int, effects: int, tag: str) -> list[str]:
    return [
        submit(conn, "rt.http", {"effects": effects, "tag": f"{tag}-{i}"}) for i in range(count)
    ]


def unfinished(conn: psycopg.Connection, commands: list[str]) -> int:
    return conn.execute(
        "SELECT count(*) FROM concord.commands AS c JOIN concord.command_statuses AS s "
        "USING (status) WHERE c.command_id = ANY(%s::uuid[]) AND NOT s.terminal",
        (commands,),
    ).fetchone()[0]


def wait_all_terminal(
    conn: psycopg.Connection, commands: list[str], timeout: float, worker_logs: str = ""
) -> None:
    try:
        wait_for(
            lambda: unfinished(conn, commands) == 0,
            timeout=timeout,
            interval=0.1,
            message=f"{len(commands)} commands to end",
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- worker log ---\n{worker_logs}") from None


def kill_snapshot(conn: psycopg.Connection, commands: list[str]) -> dict[str, int]:
    """What a SIGKILL left behind: commands claimed but not finished (status running) and
    effects begun but not completed (status executing)."""
    claimed, executing = conn.execute(
        "SELECT (SELECT count(*) FROM concord.commands WHERE command_id = ANY(%s::uuid[]) "
        "        AND status = 'running'), "
        "       (SELECT count(*) FROM concord.domain_effects WHERE command_id = ANY(%s::uuid[]) "
        "        AND status = 'executing')",
        (commands, commands),
    ).fetchone()
    return {
        "running": claimed,
        "executing": executing,
        "unfinished": unfinished(conn, commands),
    }


def recoveries(conn: psycopg.Connection, commands: list[str]) -> dict[str, int]:
    """DBOS counts every dispatch of a workflow in recovery_attempts: a workflow run
    once has 1, each recovery after a crash adds one."""
    total, workflows = conn.execute(
        "SELECT coalesce(sum(recovery_attempts - 1), 0), count(*) FILTER (WHERE "
        "recovery_attempts > 1) FROM dbos.workflow_status WHERE workflow_uuid = ANY(%s)",
        (commands,),
    ).fetchone()
    return {"redispatches": int(total), "workflows_recovered": int(workflows)}


def check_exactly_once(
    conn: psycopg.Connection, v: Vendor, commands: list[str], effects_per_command: int
) -> dict[str, Any]:
    """Assert that every command succeeded exactly once with exactly its effects, each
    executed once by the vendor under its own key, with an unbroken audit trail.
    Returns the figures."""
    ids = list(commands)
    # -- commands ----------------------------------------------------------
    rows = conn.execute(
        "SELECT command_id::text, status, result, error, error_class, dbos_workflow_id, run_seq "
        "FROM concord.commands WHERE command_id = ANY(%s::uuid[])",
        (ids,),
    ).fetchall()
    assert len(rows) == len(ids)
    results = {}
    bad = [r for r in rows if r[1] != "succeeded"]
    assert not bad, (
        f"{len(bad)} of {len(ids)} commands did not succeed, e.g. "
        f"{[(r[0], r[1], r[3], r[4]) for r in bad[:5]]}"
    )
    for cid, _status, result, _error, _eclass, workflow_id, run_seq in rows:
        assert (workflow_id, run_seq) == (cid, 1), f"command {cid} ran as {workflow_id} ({run_seq})"
        results[cid] = result

    # -- effects -----------------------------------------------------------
    effects: dict[str, list[tuple]] = defaultdict(list)
    for row in conn.execute(
        "SELECT command_id::text, domain_effect_id::text, status, idempotency_key, "
        "effect_payload, result FROM concord.domain_effects "
        "WHERE command_id = ANY(%s::uuid[]) ORDER BY idempotency_key",
        (ids,),
    ):
        effects[row[0]].append(row[1:])
    all_effects = [e for cid in ids for e in effects[cid]]
    with v.lock:
        by_key = Counter(v.by_key)
        executed = {k: dict(a) for k, a in v.executed.items()}
        executions = sum(v.executions_by_path.values())
        keyless = sum(1 for r in v.requests if r["key"] is None)
        requests = len(v.requests)

    wrong_count = {
        cid: len(effects[cid]) for cid in ids if len(effects[cid]) != effects_per_command
    }
    assert not wrong_count, f"commands without exactly {effects_per_command} effects: {wrong_count}"
    problems = []
    for cid in ids:
        expected_keys = [f"{cid}:{n}" for n in range(1, effects_per_command + 1)]
        got = sorted(effects[cid], key=lambda e: int(e[2].rsplit(":", 1)[1]))
        if [e[2] for e in got] != expected_keys:
            problems.append(f"{cid}: keys {[e[2] for e in got]} != {expected_keys}")
            continue
        vendor_ids = []
        for n, (effect_id, status, key, payload, result) in enumerate(got):
            if status != "succeeded":
                problems.append(f"effect {effect_id} ({key}) is {status}")
            if payload["input"]["path"] != f"/effect/{n}":
                problems.append(f"effect {key} has path {payload['input']['path']}")
            if by_key[key] < 1 or key not in executed:
                problems.append(f"key {key} never reached the vendor")
                continue
            vendor_ids.append(executed[key]["id"])
            if (result or {}).get("json", {}).get("id") != executed[key]["id"]:
                problems.append(
                    f"effect {key} recorded {result} but the vendor executed {executed[key]['id']}"
                )
        if results[cid] != {"ids": vendor_ids}:
            problems.append(f"command {cid} result {results[cid]} != vendor ids {vendor_ids}")
    assert not problems, f"{len(problems)} effect problems, e.g. {problems[:5]}"

    # -- the vendor's side -------------------------------------------------
    keys = {e[2] for e in all_effects}
    assert keyless == 0, f"{keyless} requests reached the vendor without an idempotency key"
    assert set(by_key) == keys, (
        f"the vendor saw keys no effect has: {sorted(set(by_key) - keys)[:5]}; "
        f"effects whose key it never saw: {sorted(keys - set(by_key))[:5]}"
    )
    assert executions == len(all_effects) == len(executed) == len(keys), (
        f"vendor executions {executions}, executed keys {len(executed)}, effects {len(all_effects)}"
    )

    # -- audit -------------------------------------------------------------
    chains: dict[str, list[tuple]] = defaultdict(list)
    created: Counter[str] = Counter()
    effect_chains: dict[str, list[tuple]] = defaultdict(list)
    running_actor: dict[str, str] = {}
    for cid, target_type, target_id, event_type, from_s, to_s, actor, path in conn.execute(
        "SELECT command_id::text, target_type, target_id, event_type, from_status, to_status, "
        "actor, payload -> 'path' FROM concord.domain_events "
        "WHERE command_id = ANY(%s::uuid[]) ORDER BY event_seq",
        (ids,),
    ):
        if event_type == "command_created":
            # the submission's one row names the path its insert took
            created[cid] += 1
            chains[cid].append((None, path[0]))
            chains[cid].extend(zip(path, path[1:], strict=False))
        elif event_type == "command_status_changed":
            chains[cid].append((from_s, to_s))
            if to_s == "running":
                running_actor[cid] = actor
        elif target_type == "effect":
            effect_chains[target_id].append((event_type, from_s, to_s))
    gaps = []
    for cid in ids:
        if created[cid] != 1:
            gaps.append(f"{cid}: {created[cid]} command_created events")
        trail = chains[cid]
        if trail[1:] != COMMAND_CHAIN or trail[:1] != [(None, "created")]:
            gaps.append(f"{cid}: status trail {trail}")
        if not running_actor.get(cid, "").startswith("worker:"):
            gaps.append(f"{cid}: claimed by {running_actor.get(cid)}")
    for effect in all_effects:
        if effect_chains[effect[0]] != EFFECT_CHAIN:
            gaps.append(f"effect {effect[0]} ({effect[2]}): trail {effect_chains[effect[0]]}")
    assert not gaps, f"{len(gaps)} audit gaps, e.g. {gaps[:5]}"

    # -- DBOS --------------------------------------------------------------
    statuses = Counter(
        dict(
            conn.execute(
                "SELECT status, count(*) FROM dbos.workflow_status WHERE workflow_uuid = ANY(%s) "
                "GROUP BY status",
                (ids,),
            ).fetchall()
        )
    )
    assert statuses == Counter({"SUCCESS": len(ids)}), f"DBOS workflow statuses: {statuses}"
    invocations = Counter(
        dict(
            conn.execute(
                "SELECT status, count(*) FROM concord.connector_invocations "
                "WHERE command_id = ANY(%s::uuid[]) GROUP BY status",
                (ids,),
            ).fetchall()
        )
    )
    repeated = conn.execute(
        "SELECT count(*) FROM (SELECT domain_effect_id FROM concord.connector_invocations "
        "WHERE command_id = ANY(%s::uuid[]) GROUP BY 1 HAVING count(*) > 1) AS x",
        (ids,),
    ).fetchone()[0]
    return {
        "commands": len(ids),
        "effects_with_repeated_invocations": repeated,
        "effects": len(all_effects),
        "vendor_requests": requests,
        "vendor_executions": executions,
        "duplicate_deliveries_absorbed": sum(by_key.values()) - len(keys),
        "keys_delivered_more_than_once": sum(1 for n in by_key.values() if n > 1),
        "connector_invocations": dict(invocations),
        "claimed_by": dict(Counter(running_actor.values())),
        **recoveries(conn, ids),
    }


# ---------------------------------------------------------------------------
# 1. SIGKILL at random moments
# ---------------------------------------------------------------------------


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(server_dsn: str) -> None:
    """60 commands of 3 HTTP effects each (topped up by 30 whenever fewer than 20 are
    left, so that every kill lands on work in progress); one worker with a fixed executor
    id killed with SIGKILL at random moments at least 10 times, each time restarted under
    the same executor id and application version; the last one finishes. Nothing is lost,
    nothing runs twice, the audit has no gap."""
    rng = random.Random(SEED)
    print(f"\ncrash test: seed {SEED} (CONCORD_CRASH_SEED replays another), {KILLS} kills")
    with (
        runtime_database(server_dsn, "concord_crash") as dsn,
        vendor() as v,
        psycopg.connect(dsn, autocommit=True) as conn,
    ):
        v.delay["/effect/1"] = 0.02  # so that kills land mid-call too
        started = time.perf_counter()
        commands = submit_http(conn, 60, 3, "crash")
        refills = 0
        cut: list[dict[str, Any]] = []
        # At least KILLS kills, at least 10 of them on unfinished work (a kill that lands
        # after the backlog drained proves nothing); the backlog is topped up to keep it so.
        while len(cut) < KILLS or sum(1 for c in cut if c["unfinished"]) < 10:
            assert len(cut) < 3 * KILLS, "the kill loop does not converge"
            if unfinished(conn, commands) < 20:
                commands += submit_http(conn, 30, 3, f"crash-refill{refills}")
                refills += 1
            worker = start_worker(dsn, EXECUTOR, v)
            pause = rng.uniform(0.1, 0.8)
            try:
                time.sleep(pause)
            finally:
                kill(conn, worker)
            snap = kill_snapshot(conn, commands)
            cut.append(snap)
            print(
                f"  kill {len(cut):2d} after {pause:.2f} s: {snap['running']:3d} commands "
                f"running, {snap['executing']:2d} effects mid-call, "
                f"{snap['unfinished']:3d} unfinished"
            )
        with running(dsn, EXECUTOR, v) as last:
            wait_all_terminal(conn, commands, timeout=120, worker_logs=last.log())
        elapsed = time.perf_counter() - started
        figures = check_exactly_once(conn, v, commands, effects_per_command=3)

    kills_on_live_work = sum(1 for s in cut if s["unfinished"] > 0)
    kills_mid_call = sum(1 for s in cut if s["executing"] > 0)
    effects_cut = sum(s["executing"] for s in cut)
    print(
        f"  kills: {len(cut)} (on unfinished work: {kills_on_live_work}, with effects "
        f"mid-call: {kills_mid_call}), effects cut mid-call: {effects_cut}; commands: "
        f"{figures['commands']} (60 + {refills} top-ups of 30)"
    )
    print(
        f"  effects: {figures['effects']}, vendor requests: {figures['vendor_requests']}, "
        f"vendor executions: {figures['vendor_executions']}"
    )
    print(
        f"  duplicate deliveries absorbed by keys: {figures['duplicate_deliveries_absorbed']} "
        f"({figures['keys_delivered_more_than_once']} keys)"
    )
    print(
        f"  DBOS re-dispatches after crashes: {figures['redispatches']} "
        f"({figures['workflows_recovered']} workflows)"
    )
    print(
        f"  connector invocations: {figures['connector_invocations']}, effects recorded "
        f"with more than one invocation: {figures['effects_with_repeated_invocations']}"
    )
    print(f"  time: {elapsed:.1f} s")
    # the test proves something only if the kills hit work in progress
    assert kills_mid_call > 0, "no kill caught an effect mid-call"
    assert figures["workflows_recovered"] > 0, "no workflow was recovered after a kill"


# ---------------------------------------------------------------------------
# 2. Two workers sharing the queues
# ---------------------------------------------------------------------------


def test_two_workers_share_the_queues_and_run_each_command_once(server_dsn: str) -> None:
    """Two workers (executor ids share-a, share-b) on the same database and queues; 100
    commands of one HTTP effect each: every command is claimed once, has one effect, and
    the vendor executes each key once. Both workers take part."""
    with (
        runtime_database(server_dsn, "concord_two_workers") as dsn,
        vendor() as v,
        psycopg.connect(dsn, autocommit=True) as conn,
        running(dsn, "share-a", v) as a,
        running(dsn, "share-b", v) as b,
    ):
        started = time.perf_counter()
        commands = submit_http(conn, 100, 1, "share")
        wait_all_terminal(conn, commands, timeout=90, worker_logs=a.log() + b.log())
        elapsed = time.perf_counter() - started
        figures = check_exactly_once(conn, v, commands, effects_per_command=1)
        executors = Counter(
            dict(
                conn.execute(
                    "SELECT executor_id, count(*) FROM concord.connector_invocations "
                    "WHERE command_id = ANY(%s::uuid[]) GROUP BY executor_id",
                    (commands,),
                ).fetchall()
            )
        )
    print(
        f"\ntwo workers: {figures['commands']} commands in {elapsed:.1f} s; claimed by "
        f"{figures['claimed_by']}; connector calls by executor {dict(executors)}; "
        f"vendor executions {figures['vendor_executions']}"
    )
    assert set(figures["claimed_by"]) == {"worker:share-a", "worker:share-b"}, (
        f"the work did not split between the two workers: {figures['claimed_by']}"
    )


# ---------------------------------------------------------------------------
# 3. A killed executor's workflows wait for that executor id (when nobody adopts them)
# ---------------------------------------------------------------------------


def pending_of(
    conn: psycopg.Connection, executor_id: str, commands: list[str], claimed: bool = False
) -> list[str]:
    """The executor's PENDING workflows among these commands' (claimed: only those whose
    command it has claimed, i.e. that are running on it)."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT w.workflow_uuid FROM dbos.workflow_status AS w "
            "JOIN concord.commands AS c ON c.dbos_workflow_id = w.workflow_uuid "
            "WHERE w.executor_id = %s AND w.status = 'PENDING' AND w.workflow_uuid = ANY(%s) "
            "AND (NOT %s OR c.status = 'running') ORDER BY w.workflow_uuid",
            (executor_id, commands, claimed),
        )
    ]


def events_since(conn: psycopg.Connection, commands: list[str], event_seq: int) -> list[tuple]:
    return conn.execute(
        "SELECT event_seq, command_id::text, event_type, from_status, to_status, actor "
        "FROM concord.domain_events WHERE command_id = ANY(%s::uuid[]) AND event_seq > %s "
        "ORDER BY event_seq",
        (commands, event_seq),
    ).fetchall()


def trace_of(conn: psycopg.Connection, commands: list[str]) -> dict[str, Any]:
    """Everything recorded about these commands so far: statuses, last audit event,
    connector calls by executor."""
    statuses = Counter(
        r[0]
        for r in conn.execute(
            "SELECT status FROM concord.commands WHERE command_id = ANY(%s::uuid[])", (commands,)
        )
    )
    last_event = conn.execute(
        "SELECT max(event_seq) FROM concord.domain_events WHERE command_id = ANY(%s::uuid[])",
        (commands,),
    ).fetchone()[0]
    calls_by = Counter(
        dict(
            conn.execute(
                "SELECT executor_id, count(*) FROM concord.connector_invocations "
                "WHERE command_id = ANY(%s::uuid[]) GROUP BY executor_id",
                (commands,),
            ).fetchall()
        )
    )
    return {"statuses": dict(statuses), "last_event": last_event, "calls_by": dict(calls_by)}


def test_killed_executor_workflows_wait_for_that_executor_id(server_dsn: str) -> None:
    """Kill worker A of two mid-run: worker B, which never adopts a gone worker's
    workflows (--adopt-after 0; tests/runtime/test_a_gone_worker_is_adopted.py covers
    adoption), finishes everything else but does not take A's pending workflows (DBOS
    recovers by executor id); restarting A's executor id recovers them, and every command
    still runs exactly once."""
    with (
        runtime_database(server_dsn, "concord_recover_by_id") as dsn,
        vendor() as v,
        psycopg.connect(dsn, autocommit=True) as conn,
        running(dsn, "owner-a", v) as a,
        running(dsn, "owner-b", v, ("--adopt-after", "0")) as b,
    ):
        v.delay["/effect/1"] = 0.3  # every command takes a while: A holds some when killed
        commands = submit_http(conn, 40, 3, "owner")
        wait_for(
            lambda: len(pending_of(conn, "owner-a", commands, claimed=True)) >= 3,
            timeout=60,
            message="worker A to run some commands",
        )
        kill(conn, a)
        stranded = pending_of(conn, "owner-a", commands)
        assert stranded, "worker A held no pending workflow when it was killed"
        at_kill = trace_of(conn, stranded)
        others = [c for c in commands if c not in set(stranded)]
        wait_all_terminal(conn, others, timeout=90, worker_logs=b.log())
        # B has drained everything else; give it many more queue polls (20 ms each)
        time.sleep(1.5)
        still = pending_of(conn, "owner-a", commands)
        after_wait = trace_of(conn, stranded)
        print(
            f"\nrecover by executor id: A killed holding {len(stranded)} pending workflows "
            f"(commands {at_kill['statuses']}); B finished the other {len(others)}; then "
            f"{len(still)} still pending for A, commands {after_wait['statuses']}, their "
            f"connector calls by executor {after_wait['calls_by']}"
        )
        assert still == stranded, "A's pending workflows were taken over before A returned"
        assert after_wait == at_kill, (
            "another executor ran A's pending workflows: "
            f"{events_since(conn, stranded, at_kill['last_event'] or 0)}"
        )

        with running(dsn, "owner-a", v) as again:
            wait_all_terminal(conn, commands, timeout=90, worker_logs=again.log() + b.log())
        finished_by = Counter(
            r[0]
            for r in conn.execute(
                "SELECT executor_id FROM dbos.workflow_status WHERE workflow_uuid = ANY(%s)",
                (stranded,),
            )
        )
        figures = check_exactly_once(conn, v, commands, effects_per_command=3)
    print(
        f"  after owner-a restarted: its {len(stranded)} stranded workflows were finished by "
        f"{dict(finished_by)} (recovery puts them back on their queue); duplicate deliveries "
        f"absorbed {figures['duplicate_deliveries_absorbed']}; re-dispatches "
        f"{figures['redispatches']}"
    )
