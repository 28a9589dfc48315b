"""The one place Concord reaches inside DBOS (the installed ``dbos`` package, pinned in
pyproject.toml). Everything else in the runtime uses DBOS's public API: ``DBOS``,
``DBOSClient`` and the exceptions of ``dbos.error``.

Why each reach is needed:

- :func:`dbos_is_down` reads the process's DBOS instance (``dbos._dbos._dbos_global_instance``)
  and three of its private fields. DBOS offers no public way to ask whether it is launched,
  or whether ``DBOS.destroy`` has begun its drain; the agent workflow needs to know, because
  whatever a step raises while DBOS shuts down (a worker's SIGTERM) is the shutdown's, not
  the agent's, and must not end the run ``failed``.
  - ``_launched``: set by ``DBOS.launch()``.
  - ``_sys_db_field``: the system database, ``None`` once ``destroy`` released it.
  - ``_background_jobs_stop_event``: set after the drain of ``DBOS.destroy``.

- :func:`running_here` reads ``_active_workflows_set`` (``ActiveWorkflowById``: the
  workflow ids whose execution runs in this process, each added when its thread starts and
  released when it ends) and :func:`resume_stranded` calls ``dbos._recovery._recover_workflow``
  (what ``DBOS._recover_pending_workflows`` does for each pending workflow at start: put a
  ``PENDING`` workflow of the given executors back on its queue, so the queue's atomic
  dequeue admits one runner). DBOS recovers only at start; a workflow whose execution died
  while the process lives (its checkpoint hit a database outage) would stay ``PENDING``
  until a restart. The worker's recovery loop uses both (worker.py, ``_recovery_loop``), and
  a stopping worker asks :func:`running_here` whether anything is in flight.

- :func:`make_queues_wakeable` lets a command start within milliseconds of the commit that
  made it runnable instead of at its queue's next poll (issue 16, section 3). DBOS polls each
  queue in a thread of its own (``dbos._queue.queue_worker_thread``) that sleeps between
  polls on the stop event its manager (``queue_thread``) hands every queue thread, and
  offers no way to cut a sleep short. Before ``DBOS.launch()``, the name
  ``queue_worker_thread`` in ``dbos._queue`` (the manager looks it up there each time it
  starts a queue thread) is replaced by a wrapper that hands the real function a
  :class:`QueueSleep` of its own instead of the shared event: ``is_set`` is the event's,
  ``wait`` sleeps on a condition of that one thread, which :func:`wake_queue` cuts short
  without touching the shared event (a ``notify_all`` on the event's own condition would
  make ``Event.wait`` answer True, which DBOS reads as "stop"). The shared event's class
  becomes :class:`_StopEvent`, whose ``set`` also rouses those sleeps, so DBOS still stops
  its queue threads at once. The process's ``_active_workflows_set`` (``ActiveWorkflowById``,
  the workflows running here by queue) gets a ``_remove`` that, when a workflow of a queue
  ends here, wakes that queue's thread if the queue was at its ``worker_concurrency``: a
  freed slot is work to claim. The worker's waker (``waker.py``) calls :func:`wake_queue`
  on each ``concord_runnable`` notification.

When DBOS is upgraded, check these names against its ``_dbos.py`` and ``_queue.py``: a
renamed field reads as missing, and a running DBOS would then look down (an agent's defect
re-raised for recovery instead of failing its run); a renamed ``queue_worker_thread`` or
``_remove`` makes :func:`make_queues_wakeable` raise at the worker's start, and a manager
that no longer looks ``queue_worker_thread`` up in ``dbos._queue`` leaves the queues to
their polling, which tests/runtime/test_a_runnable_command_wakes_its_worker.py catches.
"""

from __future__ import annotations

import math
import random
import threading
import time
from typing import Any

import dbos._dbos as _dbos_module
import dbos._queue as _queue_module

# While the worker hears concord_runnable, a queue thread sleeps at least this long between
# the polls nothing asked for: the poll is only the safety net (work enqueued without a
# notification: DBOS's own recovery, a workflow enqueued from outside the kernel, a
# notification lost with the listener's connection). A queue whose budget is shared with
# other workers keeps its own interval (QueueSleep.shared).
SAFETY_NET_POLL_SEC = 1.0
# Woken polls are paced by a token bucket: at once while the queue is woken less often than
# WOKEN_POLLS_PER_SEC on average (up to WOKEN_POLL_BURST in a row), else at that rate, each
# poll claiming all that the wakes since the last one announced. An empty poll costs the
# worker about 2-4 ms of Python (DBOS reloads the queue's row and claims in a transaction
# of four statements through SQLAlchemy): one per submitted command would take the CPU a
# burst's workflows need. The rate is what DBOS's 20 ms poll cost before the wake, which a
# burst therefore pays at most; an idle worker pays nothing.
WOKEN_POLLS_PER_SEC = 50.0
WOKEN_POLL_BURST = 4.0


def _instance():
    return getattr(_dbos_module, "_dbos_global_instance", None)


def dbos_is_down() -> bool:
    """Whether this process's DBOS is not launched, destroyed, or past the drain of its
    destruction (``DBOS.destroy``: background jobs stopped, system database released). An
    exception raised then is the shutdown's, not the agent's."""
    instance = getattr(_dbos_module, "_dbos_global_instance", None)
    if instance is None or not getattr(instance, "_launched", False):
        return True
    if getattr(instance, "_sys_db_field", None) is None:
        return True
    stopped = getattr(instance, "_background_jobs_stop_event", None)
    return stopped is not None and stopped.is_set()


def running_here() -> set[str]:
    """The ids of the workflows whose execution is running in this process now."""
    instance = _instance()
    if instance is None:
        return set()
    return set(instance._active_workflows_set.activeList())


def resume_stranded(workflow_id: str, executor_id: str) -> None:
    """Put the ``PENDING`` workflow ``workflow_id`` of ``executor_id`` back on its queue
    (DBOS's own recovery of one workflow; a no-op unless it is still ``PENDING`` on that
    executor)."""
    from dbos._recovery import _recover_workflow
    from dbos._sys_db import GetPendingWorkflowsOutput

    _recover_workflow(
        _instance(), GetPendingWorkflowsOutput(workflow_id=workflow_id), [executor_id]
    )


# -- waking DBOS's queue threads ------------------------------------------------------

_listening = threading.Event()  # the waker hears concord_runnable: the poll can be slow
_sleeps_lock = threading.Lock()
_sleeps: list[QueueSleep] = []
# The limits the worker registered for each queue (set_queue_limits). DBOS's manager may
# start a queue's thread at launch from the queue's row as the previous run left it, before
# the worker registers the queue's current configuration; DBOS's thread reloads the row at
# each poll, but a QueueSleep reads its queue once: these take precedence.
_limits: dict[str, tuple[int | None, bool]] = {}


class QueueSleep:
    """What one DBOS queue thread sleeps on between polls, in place of its manager's stop
    event (see the module's notes). ``wait`` returns early, with False (not "stop"), after
    :meth:`wake`; a wake that comes while the thread polls is kept for its next ``wait``,
    so a command made runnable during a poll that missed it is not left to the next one."""

    def __init__(self, stop: threading.Event, queue: Any, active: Any) -> None:
        self.stop = stop
        self.queue_name: str = queue.name
        self.worker_concurrency: int | None = queue._worker_concurrency
        # A budget shared with other workers (a global concurrency, a rate limit): its poll
        # is how this worker hears of a slot another worker freed, of the limiter's window
        # moving on, or of a claim it lost to a peer's lock; it keeps its own interval.
        self.shared = any(
            limit is not None
            for limit in (
                queue._concurrency,
                queue._limiter,
                queue._partition_concurrency,
                queue._partition_limiter,
            )
        )
        self._active = active
        self._cond = threading.Condition()
        # A wake is pending. A thread started after the notification of its work (the
        # manager starts one within a second of a queue's registration) polls at once.
        self._woken = True
        self._tokens = WOKEN_POLL_BURST  # woken polls it may make at once
        self._refilled = time.monotonic()

    def is_set(self) -> bool:
        return self.stop.is_set()

    def full(self) -> bool:
        """Whether as many of its workflows run here as its worker_concurrency allows:
        a poll now would claim nothing, and the end of one of them wakes it (``_remove``)."""
        limit = self.worker_concurrency
        return limit is not None and self._active.count_for_queue(self.queue_name) >= limit

    def wait(self, timeout: float | None = None) -> bool:
        """DBOS's sleep between two polls of the queue: ``timeout`` is its polling interval
        (with jitter, or backed off after contention); raised to the safety net's while the
        worker hears notifications, unless the queue's budget is shared. True: stop."""
        if timeout is not None and _listening.is_set() and not self.shared:
            timeout = max(timeout, SAFETY_NET_POLL_SEC * random.uniform(0.95, 1.05))
        deadline = math.inf if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self.stop.is_set():
                now = time.monotonic()
                self._tokens = min(
                    WOKEN_POLL_BURST,
                    self._tokens + (now - self._refilled) * WOKEN_POLLS_PER_SEC,
                )
                self._refilled = now
                if self._woken and self._tokens >= 1:
                    self._tokens -= 1
                    break
                if now >= deadline:
                    break
                pause = deadline - now
                if self._woken:
                    pause = min(pause, (1 - self._tokens) / WOKEN_POLLS_PER_SEC)
                self._cond.wait(None if pause == math.inf else pause)
            self._woken = False
        return self.stop.is_set()

    def wake(self) -> None:
        """Poll as soon as the pace of woken polls allows (at once, unless the queue was
        woken more often than ``WOKEN_POLLS_PER_SEC`` lately)."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def rouse(self) -> None:
        """The stop event was set: end the sleep (``wait`` answers True)."""
        with self._cond:
            self._cond.notify_all()


class _StopEvent(threading.Event):
    """The stop event DBOS gives its queue threads, whose ``set`` also ends the sleeps
    that stand in for it (``wait`` and ``is_set`` are Event's own)."""

    def set(self) -> None:
        super().set()
        for sleep in _sleeps_of(lambda s: s.stop is self):
            sleep.rouse()


def _sleeps_of(which) -> list[QueueSleep]:
    with _sleeps_lock:
        return [s for s in _sleeps if which(s)]


def make_queues_wakeable() -> None:
    """After ``DBOS(...)``, before ``DBOS.launch()``: give each queue thread DBOS starts a
    :class:`QueueSleep`, and wake a queue's thread when one of its workflows that filled it
    ends here (see the module's notes). Idempotent."""
    original = _queue_module.queue_worker_thread
    if not getattr(original, "concord_wakeable", False):

        def queue_worker_thread(stop_event: threading.Event, dbos: Any, queue: Any) -> None:
            if type(stop_event) is threading.Event:
                stop_event.__class__ = _StopEvent
            sleep = QueueSleep(stop_event, queue, dbos._active_workflows_set)
            with _sleeps_lock:
                if sleep.queue_name in _limits:
                    sleep.worker_concurrency, sleep.shared = _limits[sleep.queue_name]
                _sleeps.append(sleep)
            try:
                original(sleep, dbos, queue)
            finally:
                with _sleeps_lock:
                    _sleeps.remove(sleep)

        queue_worker_thread.concord_wakeable = True  # type: ignore[attr-defined]
        _queue_module.queue_worker_thread = queue_worker_thread

    active = _instance()._active_workflows_set
    if getattr(active, "concord_wakes", False):
        return
    remove = active._remove

    def _remove(key: str, bucket: Any) -> None:
        remove(key, bucket)
        if bucket is not None:
            _slot_freed(active, bucket[0])

    active._remove = _remove
    active.concord_wakes = True


def _slot_freed(active: Any, queue_name: str) -> None:
    """A workflow of ``queue_name`` ended in this process: wake the queue's thread if the
    queue may have work it could not claim for want of a slot of its own (it was full, or
    one short: a claimed workflow counts only once its thread starts). A shared budget
    (another worker's slot) is its own poll's."""
    sleeps = _sleeps_of(lambda s: s.queue_name == queue_name and s.worker_concurrency)
    if not sleeps:
        return
    running = active.count_for_queue(queue_name)
    for sleep in sleeps:
        if running >= sleep.worker_concurrency - 2:
            sleep.wake()


def set_queue_limits(queue_name: str, worker_concurrency: int | None, shared: bool) -> None:
    """The worker registered ``queue_name`` with these limits (``shared``: a global
    concurrency or a rate limit): its thread's sleep judges by them from now on, whatever
    row DBOS started the thread from."""
    with _sleeps_lock:
        _limits[queue_name] = (worker_concurrency, shared)
        for sleep in _sleeps:
            if sleep.queue_name == queue_name:
                sleep.worker_concurrency, sleep.shared = worker_concurrency, shared
    wake_queue(queue_name)


def wake_queue(queue_name: str) -> bool:
    """Work became runnable on ``queue_name``: make its thread poll now (or as soon as its
    poll in progress and the pace of woken polls allow), unless it is full (the end of one of its
    workflows wakes it then). Whether this process polls that queue."""
    sleeps = _sleeps_of(lambda s: s.queue_name == queue_name)
    for sleep in sleeps:
        if not sleep.full():
            sleep.wake()
    return bool(sleeps)


def wake_queues() -> None:
    """Make every queue thread of this process poll now."""
    for sleep in _sleeps_of(lambda s: True):
        sleep.wake()


def set_listening(listening: bool, *, wake: bool = True) -> None:
    """Whether the waker hears concord_runnable now. While it does not, queue threads poll
    at their own interval again (from their next sleep). ``wake``: each polls once at once,
    for what was handed off while nothing listened."""
    if listening:
        _listening.set()
    else:
        _listening.clear()
    if wake:
        wake_queues()
