"""An ai service on each engine, reached through the generated client (in-process transport)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from osis_ai import models as m
from osis_ai.client import AiClient
from osis_ai.server import AiDispatcher

from osis.ai.service import AiStoreService
from osis.rpc.transport import InProcessTransport
from osis.server import open_store
from tests.ai import seed
from tests.store.conftest import engine_kind, store_url  # noqa: F401 - the engine fixtures, shared


@dataclass
class Seeded:
    client: AiClient
    audit: list[m.AgentAuditEntry]
    usage: list[m.AgentUsageEntry]
    memories: list[m.AgentMemory]


@pytest.fixture
def client(store_url: str) -> Iterator[AiClient]:
    engine = open_store(store_url)
    with AiClient(transport=InProcessTransport(AiDispatcher(AiStoreService(engine)))) as client:
        yield client
    engine.close()


def _store(client: AiClient, crud_name: str, objects: list) -> list:  # type: ignore[type-arg]
    crud = getattr(client, crud_name)
    batch = client.batch()
    pending = [crud.batch_new(batch, o) for o in objects]
    batch.send()
    return [p.result() for p in pending]


@pytest.fixture
def seeded(client: AiClient) -> Seeded:
    rng = random.Random(20261127)
    return Seeded(
        client,
        _store(client, "agent_audit_entry", seed.audit_entries(rng, 400)),
        _store(client, "agent_usage_entry", seed.usage_entries(rng, 300)),
        _store(client, "agent_memory", seed.memories(rng, 120)),
    )
