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

When DBOS is upgraded, check these names against its ``_dbos.py``: a renamed field reads as
missing, and a running DBOS would then look down (an agent's defect re-raised for recovery
instead of failing its run).
"""

from __future__ import annotations

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
