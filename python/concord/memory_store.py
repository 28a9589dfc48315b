"""The default :class:`~concord.agent_contracts.MemoryStore`: Concord's own ``memories``
table, reached through the client (spec 23, 61)."""

from __future__ import annotations

from collections.abc import Mapping

from .agent_contracts import Memory, MemoryScope
from .client import Client
from .errors import NotFound


class PostgresMemoryStore:
    """The default :class:`MemoryStore`: Concord's own ``memories`` table, through the SQL
    functions ``remember``, ``get_memory``, ``search_memory``, ``supersede_memory`` and
    ``forget_memory`` (which apply scope, supersession and audit).

    ``client_or_dsn`` is a :class:`~concord.Client` (left open by :meth:`close`) or a DSN
    (a client of its own is made, and closed by :meth:`close`). ``actor`` is recorded as
    the author of every write.
    """

    def __init__(self, client_or_dsn: Client | str, *, actor: str = "memory_store"):
        if isinstance(client_or_dsn, str):
            self._client = Client(client_or_dsn)
            self._owns_client = True
        else:
            self._client = client_or_dsn
            self._owns_client = False
        if not actor:
            raise ValueError("actor must name who writes the memories")
        self.actor = actor

    @property
    def client(self) -> Client:
        """The Concord client this store calls."""
        return self._client

    def close(self) -> None:
        """Close the client if this store opened it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> PostgresMemoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def insert(self, memory: Memory) -> None:
        """Write ``memory`` (a ``concord.write_memory`` command through the memory_write
        policy); ``memory.memory_id`` and ``memory.status`` become the stored memory's:
        ``active``, or ``candidate`` when it awaits approval. A write the policy denies
        leaves ``memory_id`` None."""
        stored = self._client.remember(memory.to_json(), self.actor)
        if isinstance(stored, Mapping) and stored.get("memory_id") is not None:
            memory.memory_id = str(stored["memory_id"])
            memory.status = stored.get("status")

    def get(self, memory_id: str) -> Memory | None:
        """concord.get_memory; None when there is no such memory."""
        try:
            doc = self._client.get_memory(memory_id)
        except NotFound:
            return None
        return None if doc is None else Memory.from_json(doc)

    def search(self, scope: MemoryScope, query: str | None, limit: int) -> list[Memory]:
        """concord.search_memory within scope (full-text ranked when query is given)."""
        found = self._client.search_memory(scope.to_json(), query, limit)
        if isinstance(found, Mapping):
            found = found.get("memories") or []
        return [Memory.from_json(doc) for doc in found or []]

    def supersede(self, old_id: str, new_id: str) -> None:
        """concord.supersede_memory(old_id, new_id) as this store's actor."""
        self._client.supersede_memory(old_id, new_id, self.actor)

    def delete(self, memory_id: str) -> None:
        """concord.forget_memory as this store's actor."""
        self._client.forget_memory(memory_id, self.actor)
