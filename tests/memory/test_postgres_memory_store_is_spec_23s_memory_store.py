"""``PostgresMemoryStore`` is spec 23's memory store over the Client: insert, get,
supersede, delete and search keep spec 23's rules (a write without consent is a candidate
search never finds; a text query needs ``allow_semantic_retrieval``, else
``ScopeViolation``).
"""

from __future__ import annotations

import uuid

import pytest

from concord import Client
from concord.agent_contracts import Memory, MemoryScope
from concord.memory_store import PostgresMemoryStore


def test_postgres_memory_store_is_spec_23s_memory_store(client: Client) -> None:
    from concord import ScopeViolation

    store = PostgresMemoryStore(client, actor="alice")
    subject = f"user_{uuid.uuid4().hex[:8]}"
    concise = Memory(
        "user",
        subject,
        "preference",
        "Prefers concise executive summaries.",
        confidence=0.9,
        consent=True,
    )
    store.insert(concise)
    assert concise.memory_id is not None and concise.status == "active"
    got = store.get(concise.memory_id)
    assert got is not None and (got.content, got.written_by) == (concise.content, "alice")
    yoy = Memory(
        "user",
        subject,
        "preference",
        "Finance reports should include YoY comparison.",
        confidence=0.95,
        consent=True,
    )
    store.insert(yoy)
    store.supersede(concise.memory_id, yoy.memory_id)
    old = store.get(concise.memory_id)
    assert old is not None and old.status == "superseded"
    assert old.superseded_by_memory_id == yoy.memory_id
    # without consent the write waits for approval: a candidate, never found by search
    unsure = Memory("user", subject, "preference", "Maybe likes charts.", confidence=0.5)
    store.insert(unsure)
    assert unsure.status == "candidate"

    scope = MemoryScope(
        "user", subject, ["preference"], allow_semantic_retrieval=True, max_results=10
    )
    assert [m.memory_id for m in store.search(scope, None, 10)] == [yoy.memory_id]
    assert [m.memory_id for m in store.search(scope, "YoY finance", 10)] == [yoy.memory_id]
    assert store.search(scope, "penguins", 10) == []
    with pytest.raises(ScopeViolation):  # a text query needs allow_semantic_retrieval
        store.search(MemoryScope("user", subject, ["preference"]), "YoY", 10)
    store.delete(yoy.memory_id)
    deleted = store.get(yoy.memory_id)
    assert deleted is not None and deleted.status == "deleted"
    assert store.search(scope, None, 10) == []
    assert store.get(str(uuid.uuid4())) is None
