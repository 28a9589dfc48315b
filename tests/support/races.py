"""Races stepped in a fixed order instead of released together by a barrier.

Each contender runs on a connection (and a thread) of its own. A step starts one
contender's action; before the next step the helper waits, in ``pg_stat_activity``, until
that action has either finished or is waiting on a lock (``wait_event_type = 'Lock'``).
So the interleaving a barrier hits only now and then happens every time, and one run of a
test proves what rounds of a barrier race made likely:

- :meth:`Race.in_turn`: every contender in a transaction of its own, started one after
  another and left open, so each later one runs while the earlier ones hold what they
  locked (the "last slot" race: all of them in flight, one holding the slot). Then each
  commits, earliest first among those whose statement is done.
- :meth:`Race.behind`: the helper holds one row (``SELECT ... FOR UPDATE``) and the
  contenders, autocommit, queue up behind it in the order given; then it lets go. Two
  callers that lock two rows in opposite orders deadlock (40P01) for one of the rows and
  one of the orders, every time: a test tries each row both callers touch, both ways.

A contender is told apart by its ``application_name``: a :class:`concord.Client` built
on :meth:`Race.dsn_for` is watched like the helper's own connections.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import IsolationLevel
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

Action = Callable[[psycopg.Connection], Any]
SETTLE_TIMEOUT = 15.0


@dataclass
class Outcome:
    """What one contender got: its action's value, or the error it raised."""

    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def sqlstate(self) -> str | None:
        return getattr(self.error, "sqlstate", None)


class Race:
    """``n`` contender connections plus the helper's own (the observer, the holder of a
    row); reusable for several races in one test.

    ``map_error`` turns a contender's ``psycopg.Error`` into what the test compares (e.g.
    ``concord.errors.from_psycopg``); ``setup`` runs on each new connection."""

    def __init__(
        self,
        dsn: str,
        n: int,
        *,
        row_factory: Any = dict_row,
        map_error: Callable[[psycopg.Error], BaseException] | None = None,
        setup: str | None = None,
    ) -> None:
        self.dsn = dsn
        self.map_error = map_error
        self.tag = f"race_{uuid.uuid4().hex[:12]}"
        self.observer = psycopg.connect(dsn, autocommit=True)
        self.holder = psycopg.connect(dsn)
        # Contenders connect (and run ``setup``) at the same time: a session's first call
        # may load something slow (plpython's jsonschema takes about 0.25 s), which n
        # sessions would otherwise pay one after another before the race even starts.
        self.conns: list[psycopg.Connection] = []
        errors: list[BaseException] = []
        slots: list[psycopg.Connection | None] = [None] * n

        def open_contender(i: int) -> None:
            try:
                conn = psycopg.connect(self.dsn_for(i), autocommit=True, row_factory=row_factory)
                slots[i] = conn
                if setup:
                    conn.execute(setup)
            except BaseException as exc:  # noqa: BLE001 - raised below, in this thread
                errors.append(exc)

        openers = [threading.Thread(target=open_contender, args=(i,)) for i in range(n)]
        for t in openers:
            t.start()
        for t in openers:
            t.join()
        self.conns = [c for c in slots if c is not None]
        if errors:
            self.close()
            raise errors[0]

    def dsn_for(self, i: int) -> str:
        """A DSN whose sessions the helper watches as contender ``i``'s."""
        return make_conninfo(
            "", **{**conninfo_to_dict(self.dsn), "application_name": f"{self.tag}_{i}"}
        )

    def __enter__(self) -> Race:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for conn in [*self.conns, self.holder, self.observer]:
            conn.close()

    # -- stepping ------------------------------------------------------------------------

    def _waits_on_a_lock(self, i: int) -> bool:
        return bool(
            self.observer.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name = %s AND wait_event_type = 'Lock'",
                (f"{self.tag}_{i}",),
            ).fetchone()[0]
        )

    def _start(self, i: int, action: Action, outcome: Outcome) -> threading.Event:
        """Run ``action`` on contender ``i``; return once it is done or waits on a lock."""
        done = threading.Event()

        def run() -> None:
            try:
                outcome.value = action(self.conns[i])
            except psycopg.Error as exc:
                outcome.error = self.map_error(exc) if self.map_error else exc
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                outcome.error = exc
            finally:
                done.set()

        threading.Thread(target=run, daemon=True).start()
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while not done.wait(0.002):
            if self._waits_on_a_lock(i):
                return done
            if time.monotonic() > deadline:
                raise AssertionError(f"contender {i} neither finished nor waited on a lock")
        return done

    @staticmethod
    def _join(events: Sequence[threading.Event]) -> None:
        for event in events:
            assert event.wait(SETTLE_TIMEOUT * 2), "a contender never finished"

    def in_turn(
        self, actions: Sequence[Action], *, isolation: IsolationLevel | None = None
    ) -> list[Outcome]:
        """Start each action in its own open transaction, in order; then commit them,
        always the earliest whose statement is done (a later one may be waiting on it).
        A transaction whose action failed is rolled back."""
        outcomes = [Outcome() for _ in actions]
        for conn in self.conns[: len(actions)]:
            conn.autocommit = False
            conn.isolation_level = isolation
        try:
            events = [self._start(i, action, outcomes[i]) for i, action in enumerate(actions)]
            open_ = list(range(len(actions)))
            deadline = time.monotonic() + SETTLE_TIMEOUT * 2
            while open_:
                ready = [i for i in open_ if events[i].is_set()]
                if not ready:
                    assert time.monotonic() < deadline, "no contender finished its statement"
                    time.sleep(0.002)
                    continue
                i = ready[0]
                open_.remove(i)
                conn = self.conns[i]
                if outcomes[i].error is not None:
                    conn.rollback()
                    continue
                try:
                    conn.commit()
                except psycopg.Error as exc:
                    outcomes[i].error = self.map_error(exc) if self.map_error else exc
        finally:
            for conn in self.conns[: len(actions)]:
                conn.rollback()
                conn.autocommit = True
        return outcomes

    def behind(self, lock: str, params: Sequence[Any], actions: Sequence[Action]) -> list[Outcome]:
        """Hold the row(s) ``lock`` locks, start each action (autocommit) in order behind
        it, let go, and return what each action got."""
        outcomes = [Outcome() for _ in actions]
        self.holder.execute(lock, params)
        try:
            events = [self._start(i, action, outcomes[i]) for i, action in enumerate(actions)]
        finally:
            self.holder.commit()
        self._join(events)
        return outcomes


def in_turn(dsn: str, actions: Sequence[Action], **options: Any) -> list[Outcome]:
    """:meth:`Race.in_turn` on connections of its own (``isolation`` goes to the race,
    the other options to :class:`Race`)."""
    isolation = options.pop("isolation", None)
    with Race(dsn, len(actions), **options) as race:
        return race.in_turn(actions, isolation=isolation)


def in_turn_pair(
    dsn: str, a: Action, b: Action, *, a_first: bool, **options: Any
) -> tuple[Outcome, Outcome]:
    """:func:`in_turn` of two actions, ``a`` first or ``b`` first; returns (a's, b's)."""
    if a_first:
        first, second = in_turn(dsn, [a, b], **options)
        return first, second
    second, first = in_turn(dsn, [b, a], **options)
    return first, second
