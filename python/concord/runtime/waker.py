"""The worker's waker: a command made runnable wakes the queue thread that can run it at the
commit that made it so, not at the queue's next poll (issue 16, section 3).

The kernel's hand-off (``concord._enqueue``, ``concord._enqueue_workflow``) sends
``NOTIFY concord_runnable, '<queue>'`` in the transaction that enqueues the workflow;
PostgreSQL delivers it at commit, once per queue however many commands the transaction
handed off. The waker LISTENs on a connection of its own and wakes the DBOS queue thread of
each queue this worker polls (``dbos_internals.wake_queue``). While it listens, the queue
threads' own polling is only the safety net (``dbos_internals.SAFETY_NET_POLL_SEC``). When
its connection is lost, the queues poll at their own interval again and each polls at once;
the waker connects again after ``RECONNECT_SECONDS`` and, listening again, wakes every queue
once for what was handed off while it was deaf.
"""

from __future__ import annotations

import logging
import threading

import psycopg

from . import dbos_internals

log = logging.getLogger("concord.worker")

CHANNEL = "concord_runnable"
# How long one wait for notifications lasts before the waker looks whether to stop; the
# notifications themselves are handled as they come.
TURN_SECONDS = 1.0
RECONNECT_SECONDS = 1.0


def application_name(executor_id: str) -> str:
    """The waker's session in pg_stat_activity."""
    return f"concord waker {executor_id}"[:63]


class Waker:
    """One thread and one connection per worker process; :meth:`start`, :meth:`stop`."""

    def __init__(self, dsn: str, queues: list[str], executor_id: str) -> None:
        self.dsn = dsn
        self.queues = frozenset(queues)
        self.executor_id = executor_id
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="concord-waker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=TURN_SECONDS + 1)
            self._thread = None

    def _run(self) -> None:
        deaf = False  # said once per loss, not once per attempt to connect again
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    self.dsn,
                    autocommit=True,
                    connect_timeout=10,
                    application_name=application_name(self.executor_id),
                ) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    dbos_internals.set_listening(True)
                    if deaf:
                        log.warning("worker %s: woken on commit again", self.executor_id)
                        deaf = False
                    while not self._stop.is_set():
                        for notify in conn.notifies(timeout=TURN_SECONDS):
                            if notify.payload in self.queues:
                                dbos_internals.wake_queue(notify.payload)
            except Exception as exc:  # noqa: BLE001 - whatever it was, listen again
                if not self._stop.is_set() and not deaf:
                    log.warning(
                        "worker %s: not woken on commit (%s); the queues poll at their own "
                        "interval until it listens again",
                        self.executor_id,
                        str(exc).strip() or type(exc).__name__,
                    )
                deaf = True
            finally:
                # a stopping worker claims nothing more
                dbos_internals.set_listening(False, wake=not self._stop.is_set())
            self._stop.wait(RECONNECT_SECONDS)
