"""The REST app on each engine, reached the way `osis serve` reaches it: the generated
async client on an in-process transport. Seeded with the ai service tests' data."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from osis_ai import models as m
from osis_ai.client import AiClient, AsyncAiClient
from osis_ai.server import AiDispatcher

from osis.ai.service import AiStoreService
from osis.rest import create_rest_app
from osis.rpc.transport import AsyncInProcessTransport, InProcessTransport
from osis.server import open_store
from osis.store.engine import Engine
from tests.ai import seed
from tests.store.conftest import engine_kind, store_url  # noqa: F401 - the engine fixtures, shared


@dataclass
class Seeded:
    http: TestClient
    audit: list[m.AgentAuditEntry]
    usage: list[m.AgentUsageEntry]
    memories: list[m.AgentMemory]
    conversations: list[m.AgentConversation]
    messages: list[m.AgentMessage]


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = open_store(store_url)
    yield engine
    engine.close()


def rest_app_on(engine: Engine) -> Any:
    dispatcher = AiDispatcher(AiStoreService(engine))
    return create_rest_app(lambda: AsyncAiClient(transport=AsyncInProcessTransport(dispatcher)))


@pytest.fixture
def http(engine: Engine) -> Iterator[TestClient]:
    with TestClient(rest_app_on(engine)) as client:
        yield client


def store(client: AiClient, collection: str, objects: list[Any]) -> list[Any]:
    crud = getattr(client, collection)
    batch = client.batch()
    pending = [crud.batch_new(batch, o) for o in objects]
    batch.send()
    return [p.result() for p in pending]


def conversations(rng: random.Random, count: int) -> list[m.AgentConversation]:
    now = seed.now()
    out = []
    for i in range(count):
        created = now - timedelta(hours=rng.randint(0, 24 * 40))
        out.append(m.AgentConversation(title=f"conversation {i}", context="", user_sid=rng.choice(seed.USERS),
                                       created_at=created, updated_at=created))
    return out


@pytest.fixture
def seeded(engine: Engine, http: TestClient) -> Iterator[Seeded]:
    rng = random.Random(20261127)
    client = AiClient(transport=InProcessTransport(AiDispatcher(AiStoreService(engine))))
    try:
        convs = store(client, "agent_conversation", conversations(rng, 12))
        messages = [
            m.AgentMessage(conversation_sid=c.sid, role=rng.choice(list(m.MessageRole)), content=f"message {j}",
                           user_sid=c.user_sid, created_at=c.created_at)
            for c in convs for j in range(rng.randint(0, 5))
        ]
        yield Seeded(
            http,
            store(client, "agent_audit_entry", seed.audit_entries(rng, 300)),
            store(client, "agent_usage_entry", seed.usage_entries(rng, 250)),
            store(client, "agent_memory", seed.memories(rng, 90)),
            convs,
            store(client, "agent_message", messages),
        )
    finally:
        client.close()
