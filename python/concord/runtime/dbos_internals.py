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

When DBOS is upgraded, check these names against its ``_dbos.py``: a renamed field reads as
missing, and a running DBOS would then look down (an agent's defect re-raised for recovery
instead of failing its run).
"""

from __future__ import annotations

import dbos._dbos as _dbos_module


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
