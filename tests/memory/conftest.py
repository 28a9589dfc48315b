"""The swarm fixtures of ``support.swarms``, shared with this folder's test modules."""

from support.swarms import swarm_conn, swarm_dsn, swarm_worker

__all__ = ["swarm_conn", "swarm_dsn", "swarm_worker"]
