"""DBOS's own tools cannot strand or ungovern a command (issue 13): an operator runs the
real ``dbos workflow cancel | resume | fork`` on Concord's workflows under a live worker,
and every command still ends in a terminal state that its audit explains, while no step
body and no connector call runs for a workflow Concord did not hand the command to (a
fork, a run resumed after its command ended). Each step body of ``dt.steps`` tells the
vendor it ran, so a body run twice is counted.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from concord.migrate import migrate
from concord.runtime.schema import sqlalchemy_url
from support.audit import workflows_handed_off
from support.databases import temporary_database
from support.workers import (
    ROOT,
    Vendor,
    WorkerProcess,
    register_test_types,
    stop_workers,
    submit,
    wait_for,
    wait_status,
)

DBOS_CLI = ROOT / ".venv" / "bin" / "dbos"
TERMINAL = {"succeeded", "failed", "cancelled"}
DONE = {"SUCCESS", "ERROR", "CANCELLED"}


class Runtime:
    def __init__(self, dsn: str, vendor: Vendor, worker: WorkerProcess):
        self.dsn = dsn
        self.vendor = vendor
        self.worker = worker


@pytest.fixture(scope="module")
def rt(server_dsn: str) -> Iterator[Runtime]:
    with temporary_database(server_dsn, "concord_dbos_tools") as dsn:
        migrate(dsn)
        register_test_types(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            for t in ("dt.steps", "dt.parked"):
                conn.execute(
                    "SELECT concord.register_command_type(%s::jsonb)",
                    (f'{{"command_type": "{t}", "async_required": true}}',),
                )
            conn.execute("SELECT concord.register_queue('{\"name\": \"dt_parked\"}')")
        vendor = Vendor()
        # the worker does not listen to dt_parked: its commands stay queued in DBOS
        worker = WorkerProcess(
            dsn,
            executor_id=f"dt-{uuid.uuid4().hex[:6]}",
            vendor_url=vendor.url,
            modules=("concord_test_ops", "concord_test_dbos_tools"),
            args=("--queue", "concord_default", "--queue", "connector_calls"),
        ).start()
        try:
            yield Runtime(dsn, vendor, worker)
        finally:
            stop_workers(worker)
            vendor.close()


@pytest.fixture
def db(rt: Runtime) -> Iterator[psycopg.Connection]:
    with psycopg.connect(rt.dsn, autocommit=True) as conn:
        yield conn


def dbos(rt: Runtime, *args: str) -> str:
    done = subprocess.run(
        [str(DBOS_CLI), "workflow", *args, "--sys-db-url", sqlalchemy_url(rt.dsn)],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, f"dbos workflow {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def fork(rt: Runtime, *origins: tuple[str, int]) -> list[str]:
    """``dbos workflow fork`` of each (workflow, step), the CLIs run side by side; returns
    the forks' ids."""
    forked = [f"fork-{uuid.uuid4().hex[:12]}" for _ in origins]
    url = sqlalchemy_url(rt.dsn)
    procs = [
        subprocess.Popen(
            [str(DBOS_CLI), "workflow", "fork", workflow_id, "--step", str(step),
             "--forked-workflow-id", f, "--sys-db-url", url],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for (workflow_id, step), f in zip(origins, forked, strict=True)
    ]
    for (workflow_id, step), proc in zip(origins, procs, strict=True):
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, f"dbos workflow fork {workflow_id} --step {step}:\n{out}"
    return forked


def one(conn: psycopg.Connection, query: str, *params):
    row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def workflow_of(conn: psycopg.Connection, command_id: str) -> str:
    return one(conn, "SELECT dbos_workflow_id FROM concord.commands WHERE command_id = %s",
               command_id)


def wf_status(conn: psycopg.Connection, workflow_id: str) -> str | None:
    return one(conn, "SELECT status FROM dbos.workflow_status WHERE workflow_uuid = %s",
               workflow_id)


def wait_workflow(conn: psycopg.Connection, workflow_id: str, timeout: float = 40.0) -> str:
    return wait_for(lambda: (s := wf_status(conn, workflow_id)) in DONE and s, timeout,
                    interval=0.1, message=f"workflow {workflow_id} to end")


def step_id(conn: psycopg.Connection, workflow_id: str, name: str, nth: int = 0) -> int:
    ids = [r[0] for r in conn.execute(
        "SELECT function_id FROM dbos.operation_outputs WHERE workflow_uuid = %s "
        "AND function_name = %s ORDER BY function_id", (workflow_id, name)).fetchall()]
    assert len(ids) > nth, f"workflow {workflow_id} has no step {name} #{nth}: {ids}"
    return ids[nth]


def pings(rt: Runtime, command_id: str) -> dict[str, int]:
    with rt.vendor.lock:
        paths = [r["path"] for r in rt.vendor.requests if command_id in r["path"]]
    return {p: paths.count(p) for p in sorted(set(paths))}


def effect_rows(conn: psycopg.Connection, command_id: str) -> list[tuple]:
    return conn.execute(
        "SELECT effect_type, status FROM concord.domain_effects WHERE command_id = %s "
        "ORDER BY created_at", (command_id,)).fetchall()


def events(conn: psycopg.Connection, command_id: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT event_type FROM concord.domain_events WHERE command_id = %s ORDER BY event_id",
        (command_id,)).fetchall()]


def running(conn: psycopg.Connection, command_type: str, payload: dict) -> str:
    command_id = submit(conn, command_type, payload)
    wait_status(conn, command_id, "running")
    return command_id


def test_a_cancel_of_a_running_or_queued_commands_workflow_ends_the_command(
    rt: Runtime, db: psycopg.Connection
) -> None:
    busy = running(db, "dt.steps", {"n": 30, "sleep": 0.2})
    wait_for(lambda: pings(rt, busy), message="a first step")
    dbos(rt, "cancel", workflow_of(db, busy))
    assert wait_status(db, busy, TERMINAL, timeout=40) == "cancelled"
    parked = submit(db, "dt.parked")
    assert wf_status(db, workflow_of(db, parked)) == "ENQUEUED"
    dbos(rt, "cancel", workflow_of(db, parked))
    # no workflow of its own can record it: the reconciler (every 10 s) ends it
    assert wait_status(db, parked, TERMINAL, timeout=40) == "cancelled"
    assert pings(rt, parked) == {}
    assert workflows_handed_off(db, parked) == [str(parked)]


def test_a_cancel_in_dbos_of_a_command_being_cancelled_that_no_worker_runs_ends_it(
    rt: Runtime, db: psycopg.Connection
) -> None:
    # A run claimed by a worker that is gone (its workflow PENDING, run by no process);
    # the command's cancellation is asked for, then an operator cancels the run in DBOS.
    # DBOS recovers no cancelled workflow and no process is there to catch the cancel:
    # the reconciler (every 10 s) gives it the follow-up that finishes its cancellation.
    parked = submit(db, "dt.parked")
    workflow_id = workflow_of(db, parked)
    claim = one(db, "SELECT concord.runtime_claim(%s, %s, 'dt-gone')", parked, workflow_id)
    assert claim["action"] == "run", claim
    assert one(db, "SELECT concord.cancel_command(%s, 'alice', 'enough')", parked) == "cancelling"
    dbos(rt, "cancel", workflow_id)
    assert wait_status(db, parked, TERMINAL, timeout=40) == "cancelled"
    assert wf_status(db, workflow_id + "/cancel") in DONE | {"PENDING", "ENQUEUED"}
    assert pings(rt, parked) == {}


def test_a_resumed_workflow_of_a_cancelled_command_runs_nothing_more(
    rt: Runtime, db: psycopg.Connection
) -> None:
    command_id = running(db, "dt.steps", {"n": 30, "sleep": 0.2})
    wait_for(lambda: pings(rt, command_id), message="a first step")
    workflow_id = workflow_of(db, command_id)
    dbos(rt, "cancel", workflow_id)
    assert wait_status(db, command_id, TERMINAL, timeout=40) == "cancelled"
    before = pings(rt, command_id)
    dbos(rt, "resume", workflow_id)
    assert wait_workflow(db, workflow_id) == "SUCCESS"
    assert pings(rt, command_id) == before, "a resumed run of a cancelled command ran a step"
    assert one(db, "SELECT status FROM concord.commands WHERE command_id = %s",
               command_id) == "cancelled"
    # a finished one: resuming is a no-op
    done = submit(db, "dt.steps", {"n": 2})
    assert wait_status(db, done, TERMINAL) == "succeeded"
    wait_workflow(db, workflow_of(db, done))
    dbos(rt, "resume", workflow_of(db, done))
    assert wf_status(db, workflow_of(db, done)) == "SUCCESS"


def test_a_fork_of_a_succeeded_command_repeats_no_step_and_no_effect(
    rt: Runtime, db: psycopg.Connection
) -> None:
    steps = submit(db, "dt.steps", {"n": 3})
    http = submit(db, "rt.http", {"effects": 2})
    for c in (steps, http):
        assert wait_status(db, c, TERMINAL) == "succeeded"
        wait_workflow(db, workflow_of(db, c))
    pinged, effects, executed = pings(rt, steps), effect_rows(db, http), \
        dict(rt.vendor.executions_by_path)
    requests = len(rt.vendor.requests)
    audit = {c: events(db, c) for c in (steps, http)}
    forks = fork(
        rt,
        (workflow_of(db, steps), 1),
        (workflow_of(db, steps), step_id(db, workflow_of(db, steps), "ping", 1)),
        (workflow_of(db, http), 1),
        (workflow_of(db, http), step_id(
            db, workflow_of(db, http), "concord.effect:connector.vendor.request", 1)),
        (workflow_of(db, http), step_id(db, workflow_of(db, http), "concord.finish")),
    )
    for f in forks:
        assert wait_workflow(db, f) == "SUCCESS", f"fork {f} did not end cleanly"
    assert pings(rt, steps) == pinged
    assert effect_rows(db, http) == effects
    assert dict(rt.vendor.executions_by_path) == executed
    assert len(rt.vendor.requests) == requests, "a fork reached the vendor"
    for c in (steps, http):
        assert one(db, "SELECT status FROM concord.commands WHERE command_id = %s",
                   c) == "succeeded"
        assert events(db, c) == audit[c], "a fork wrote to the command's audit"


def test_a_fork_from_the_middle_of_a_failed_command_does_not_run_its_failing_step(
    rt: Runtime, db: psycopg.Connection
) -> None:
    command_id = submit(db, "dt.steps", {"n": 3, "fail_at": 1})
    assert wait_status(db, command_id, TERMINAL) == "failed"
    workflow_id = workflow_of(db, command_id)
    wait_workflow(db, workflow_id)
    error_class = one(db, "SELECT error_class FROM concord.commands WHERE command_id = %s",
                      command_id)
    assert error_class == "validation_error"
    before, audit = pings(rt, command_id), events(db, command_id)
    assert before[f"/ping/{command_id}-1"] == 1
    forks = fork(
        rt,
        (workflow_id, step_id(db, workflow_id, "ping_then_fail")),
        (workflow_id, step_id(db, workflow_id, "concord.finish")),
        (workflow_id, 1),
    )
    for f in forks:
        assert wait_workflow(db, f) == "SUCCESS", f"fork {f} did not end cleanly"
    assert pings(rt, command_id) == before, "a fork ran the failing step again"
    assert one(db, "SELECT (status, error_class) FROM concord.commands WHERE command_id = %s",
               command_id) == ("failed", "validation_error")
    assert events(db, command_id) == audit


def test_a_fork_of_a_running_command_is_refused_and_the_command_still_finishes(
    rt: Runtime, db: psycopg.Connection
) -> None:
    command_id = running(db, "dt.steps", {"n": 6, "sleep": 0.5})
    workflow_id = workflow_of(db, command_id)
    wait_for(lambda: one(db, "SELECT count(*) FROM dbos.operation_outputs WHERE workflow_uuid = %s "
                         "AND function_name = 'ping'", workflow_id) >= 2,
             timeout=40, message="two steps checkpointed")
    forks = fork(
        rt,
        (workflow_id, 1),
        (workflow_id, step_id(db, workflow_id, "ping", 1)),
        (workflow_id, step_id(db, workflow_id, "sleep", 0)),
    )
    for f in forks:
        assert wait_workflow(db, f) == "SUCCESS", f"fork {f} did not end cleanly"
    assert wait_status(db, command_id, TERMINAL, timeout=40) == "succeeded"
    assert set(pings(rt, command_id).values()) == {1}, pings(rt, command_id)
    assert len(pings(rt, command_id)) == 6
    assert wait_workflow(db, workflow_id) == "SUCCESS"


def test_forks_and_resumes_of_a_compensation_counter_each_effect_once(
    rt: Runtime, db: psycopg.Connection
) -> None:
    command_id = running(db, "hotel.book", {"room": "12", "wait_steps": 100})
    wait_for(lambda: any(e == ("hotel_booking.book", "succeeded")
                         for e in effect_rows(db, command_id)), message="the booking")
    workflow_id = workflow_of(db, command_id)
    dbos(rt, "cancel", workflow_id)  # cancelled in DBOS: <id>/cancel compensates
    assert wait_status(db, command_id, TERMINAL, timeout=40) == "cancelled"
    follow_up = workflow_id + "/cancel"
    assert wait_workflow(db, follow_up) == "SUCCESS"
    cancels = rt.vendor.executions_by_path["/cancel"]
    effects = effect_rows(db, command_id)
    assert effects == [("hotel_booking.book", "succeeded"), ("hotel_booking.cancel", "succeeded")]
    dbos(rt, "resume", workflow_id)
    forks = fork(
        rt,
        (follow_up, 1),
        (follow_up, step_id(db, follow_up, "concord.begin_effect:hotel_booking.cancel")),
        (follow_up, step_id(db, follow_up, "concord.effect:hotel_booking.cancel")),
        (workflow_id, step_id(db, workflow_id, "wait_for_confirmation")),
    )
    for f in [*forks, workflow_id]:
        assert wait_workflow(db, f) == "SUCCESS", f"workflow {f} did not end cleanly"
    assert rt.vendor.executions_by_path["/cancel"] == cancels
    assert effect_rows(db, command_id) == effects
    assert events(db, command_id).count("compensation_completed") == 1
    assert one(db, "SELECT status FROM concord.commands WHERE command_id = %s",
               command_id) == "cancelled"
