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

- :func:`make_queues_wakeable` and :func:`wake_queues` let a command that becomes runnable
  start within milliseconds of its commit instead of at the queue's next poll. DBOS's queue
  threads sleep on their stop event between polls (``dbos._queue.queue_thread`` and
  ``queue_worker_thread``: ``stop_event.wait(polling_interval)``) and offer no way to cut a
  sleep short. Before ``DBOS.launch()``, :func:`make_queues_wakeable` replaces the name
  ``queue_thread`` in ``dbos._dbos`` (``launch`` starts the queue manager with it) by a
  wrapper that gives the manager's stop event, before any thread waits on it, a ``wait`` that
  can be woken without stopping (it returns the flag, not "notified"). The worker then
  LISTENs for the kernel's ``concord_runnable`` notifications and calls :func:`wake_queues`,
  and the queue threads poll at once; their own polling stays as the safety net.

When DBOS is upgraded, check these names against its ``_dbos.py``: a renamed field reads as
missing, and a running DBOS would then look down (an agent's defect re-raised for recovery
instead of failing its run).
"""

from __future__ import annotations

import threading

import dbos._dbos as _dbos_module


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


class _WakeableEvent(threading.Event):
    """A stop event whose sleepers can be woken without being told to stop. A wake is
    not lost on a thread that was busy when it came: each thread's next wait returns at
    once if a wake came since its last one (a generation count per thread)."""

    def wait(self, timeout: float | None = None) -> bool:
        me = threading.get_ident()
        with self._cond:  # type: ignore[attr-defined]
            generation = getattr(self, "_generation", 0)
            seen = self.__dict__.setdefault("_seen", {})
            if not self._flag and seen.get(me, 0) == generation:  # type: ignore[attr-defined]
                self._cond.wait(timeout)  # type: ignore[attr-defined]
            seen[me] = getattr(self, "_generation", 0)
            return self._flag  # type: ignore[attr-defined]

    def wake(self) -> None:
        with self._cond:  # type: ignore[attr-defined]
            self._generation = getattr(self, "_generation", 0) + 1
            self._cond.notify_all()  # type: ignore[attr-defined]


_wakeable: list[_WakeableEvent] = []


def make_queues_wakeable() -> None:
    """Before ``DBOS.launch()``: make the stop event of DBOS's queue threads wakeable (see
    the module's notes). Idempotent."""
    original = _dbos_module.queue_thread
    if getattr(original, "concord_wakeable", False):
        return

    def queue_thread(stop_event: threading.Event, dbos: object) -> None:
        stop_event.__class__ = _WakeableEvent
        _wakeable.append(stop_event)  # type: ignore[arg-type]
        try:
            original(stop_event, dbos)
        finally:
            _wakeable.remove(stop_event)  # type: ignore[arg-type]

    queue_thread.concord_wakeable = True  # type: ignore[attr-defined]
    _dbos_module.queue_thread = queue_thread


def wake_queues() -> bool:
    """Make every queue thread of this process poll now; whether any was there to wake."""
    for event in list(_wakeable):
        event.wake()
    return bool(_wakeable)
