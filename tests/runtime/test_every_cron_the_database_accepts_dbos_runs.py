"""The database judges a schedule's cron with the parser DBOS's scheduler runs it with
(croniter, seconds first), at the same version: every cron ``register_schedule`` accepts
is one the scheduler accepts and fires, and within Concord's shape (five or six fields,
or an @alias) every cron it refuses is one the scheduler would refuse or never fire.

Generated crons (hypothesis) mix what cron dialects offer: numbers in and out of range,
names, ``*``, ``?``, ``L``, ``W``, ``#``, ranges, steps and aliases. A real worker then
applies accepted crons the old PL/pgSQL check refused to DBOS and starts.
"""

from __future__ import annotations

import importlib.metadata
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from croniter import croniter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from concord.migrate import migrate
from support.databases import temporary_database
from support.workers import WorkerProcess, register_test_types


@pytest.fixture(scope="module")
def dsn(server_dsn: str) -> Iterator[str]:
    with temporary_database(server_dsn, "concord_crons") as d:
        migrate(d)
        register_test_types(d)
        yield d


@pytest.fixture(scope="module")
def db(dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        yield conn


def scheduler_runs(cron: str) -> bool:
    """What DBOS 3.4 does with a cron: apply_schedules checks croniter.is_valid, and the
    schedule's thread builds a croniter from now and asks for the next firing."""
    if not croniter.is_valid(cron, second_at_beginning=True):
        return False
    try:
        croniter(cron, datetime.now(UTC), second_at_beginning=True).get_next(datetime)
    except Exception:  # noqa: BLE001 - the thread dies on any of them
        return False
    return True


def register(db: psycopg.Connection, cron: str) -> bool:
    """Whether register_schedule accepts ``cron`` (CN005 a_schedule_cron_is_valid if not)."""
    spec = {"name": "gen_cron", "cron": cron, "command_type": "rt.echo", "enabled": False}
    try:
        db.execute("SELECT concord.register_schedule(%s)", (json.dumps(spec),))
    except psycopg.Error as exc:
        assert exc.sqlstate == "CN005", exc
        assert exc.diag.constraint_name in ("a_schedule_cron_is_valid", "schedule_spec_is_valid")
        return False
    return True


def in_concord_shape(cron: str) -> bool:
    fields = cron.split(" ")
    return (len(fields) == 1 and cron.startswith("@")) or len(fields) in (5, 6)


NUMBER = st.integers(0, 70).map(str)
NAME = st.sampled_from(["jan", "FEB", "dec", "mon", "Sun", "fri", "foo"])
ATOM = st.one_of(NUMBER, NAME, st.sampled_from(["*", "?", "L", "l", "W"]))
ITEM = st.one_of(
    ATOM,
    st.tuples(NUMBER, NUMBER).map("-".join),
    st.tuples(NAME, NAME).map("-".join),
    st.tuples(ATOM, st.integers(0, 70)).map(lambda t: f"{t[0]}/{t[1]}"),
    st.tuples(st.integers(0, 70), st.integers(0, 70)).map(lambda t: f"{t[0]}-{t[1]}/3"),
    st.integers(0, 35).map(lambda d: f"{d}W"),
    st.tuples(st.integers(0, 8), st.integers(0, 6)).map(lambda t: f"{t[0]}#{t[1]}"),
    st.sampled_from(["5L", "L-2", "LW", "mon#2"]),
)
FIELD = st.lists(ITEM, min_size=1, max_size=3).map(",".join)
CRON = st.one_of(
    st.lists(FIELD, min_size=4, max_size=7).map(" ".join),
    st.sampled_from(["@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually",
                     "@midnight", "@reboot", "@every", "@HOURLY"]),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(cron=CRON)
def test_register_schedule_answers_what_the_scheduler_would_do(
    db: psycopg.Connection, cron: str
) -> None:
    accepted = register(db, cron)
    if accepted:
        assert scheduler_runs(cron), f"the database accepted {cron!r}, which DBOS cannot run"
    elif in_concord_shape(cron):
        assert not scheduler_runs(cron), f"the database refused {cron!r}, which DBOS runs"


def test_the_database_has_the_workers_croniter(db: psycopg.Connection) -> None:
    db.execute(
        "CREATE FUNCTION pg_temp.croniter_version() RETURNS text LANGUAGE plpython3u AS "
        "$$import importlib.metadata as m; return m.version('croniter')$$"
    )
    server = db.execute("SELECT pg_temp.croniter_version()").fetchone()[0]
    assert server == importlib.metadata.version("croniter"), (
        f"the database checks crons with croniter {server}, the worker's DBOS runs "
        f"{importlib.metadata.version('croniter')}: run `make deps`"
    )


def test_a_worker_applies_the_crons_the_old_check_refused(dsn: str, db: psycopg.Connection):
    crons = {"alias": "@hourly", "last_day": "0 0 L * *", "weekday": "0 0 15W * *",
             "nth_weekday": "0 0 * * 5#3"}
    for name, cron in crons.items():
        spec = {"name": f"old_refused_{name}", "cron": cron, "command_type": "rt.echo"}
        db.execute("SELECT concord.register_schedule(%s)", (json.dumps(spec),))
    with WorkerProcess(dsn, executor_id=f"crons-{uuid.uuid4().hex[:8]}") as worker:
        applied = dict(
            db.execute(
                "SELECT schedule_name, schedule FROM dbos.workflow_schedules "
                "WHERE schedule_name LIKE 'concord.old_refused_%'"
            ).fetchall()
        )
        assert applied == {f"concord.old_refused_{n}": c for n, c in crons.items()}, worker.log()
