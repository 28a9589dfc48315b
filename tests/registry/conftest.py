"""The registry fixtures of ``support.registry``, shared with this folder's test modules."""

from support.registry import before_the_worker, orgs, rdb, registry_dsn, registry_worker

__all__ = ["before_the_worker", "orgs", "rdb", "registry_dsn", "registry_worker"]
