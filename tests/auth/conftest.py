"""`osis serve`'s app with tokens, on each engine, served by uvicorn in a thread of the test
process, so tests call it over real HTTP with the generated client and still reach the
engine directly. Tokens are trusted for 0 s here: revocation shows on the next call."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from osis_ai import models as m
from osis_ai.client import AiClient

from osis.auth.principal import Kind
from osis.auth.tokens import TokenStore, now_text
from osis.server import build_app, open_store
from osis.store.engine import Engine
from tests.ai import seed
from tests.servers import free_port
from tests.store.conftest import engine_kind, store_url  # noqa: F401 - the engine fixtures, shared

USERS = ("u1", "u2", "u3")


@dataclass
class Live:
    url: str
    engine: Engine
    tokens: dict[str, str] = field(default_factory=dict)  # "admin" and each user sid -> token
    token_ids: dict[str, str] = field(default_factory=dict)
    _clients: list[AiClient] = field(default_factory=list)

    def client(self, who: str | None) -> AiClient:
        """The generated client with `who`'s token ("admin", a user sid), or none (None)."""
        client = AiClient(self.url, token=None if who is None else self.tokens[who])
        self._clients.append(client)
        return client

    def http(self, who: str | None = None) -> httpx.Client:
        headers = {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}
        return httpx.Client(base_url=self.url, headers=headers)

    def issue(self, who: str) -> str:
        kind: Kind = "admin" if who == "admin" else "user"
        token, info = TokenStore(self.engine).create(kind, None if kind == "admin" else who, now=now_text())
        self.tokens[who], self.token_ids[who] = token, info.id
        return token


class _ThreadServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test process keeps its own handlers
        pass


def serve_in_thread(app: Any) -> Iterator[str]:
    port = free_port()
    server = _ThreadServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = open_store(store_url)
    yield engine
    engine.close()


@pytest.fixture
def live(engine: Engine) -> Iterator[Live]:
    """A server whose store has an admin token and one token per user of USERS."""
    for url in serve_in_thread(build_app(engine, token_ttl=0)):
        server = Live(url, engine)
        for who in ("admin", *USERS):
            server.issue(who)
        yield server
        for client in server._clients:
            client.close()


@dataclass
class Data:
    """What the admin stored, per type."""

    audit: list[m.AgentAuditEntry]
    usage: list[m.AgentUsageEntry]
    memories: list[m.AgentMemory]
    conversations: list[m.AgentConversation]
    messages: list[m.AgentMessage]


def _store(client: AiClient, crud_name: str, objects: list[Any]) -> list[Any]:
    crud = getattr(client, crud_name)
    batch = client.batch()
    pending = [batch.add(f"{crud_name}.new", {"obj": o}, crud._one) for o in objects]
    batch.send()
    return [p.result() for p in pending]


@pytest.fixture
def data(live: Live) -> Data:
    """Activity of every user of USERS (and of u4, who has no token), stored by the admin."""
    rng = random.Random(7)
    admin = live.client("admin")
    now = seed.now()
    conversations = _store(admin, "agent_conversation", [
        m.AgentConversation(title=f"conversation {i}", context="", user_sid=seed.USERS[i % 4],
                            created_at=now - timedelta(hours=i), updated_at=now - timedelta(hours=i))
        for i in range(12)
    ])
    messages = _store(admin, "agent_message", [
        m.AgentMessage(conversation_sid=c.sid, role=m.MessageRole.USER, content=f"message {j}", user_sid=c.user_sid,
                       created_at=now - timedelta(minutes=j))
        for c in conversations for j in range(3)
    ])
    return Data(
        audit=_store(admin, "agent_audit_entry", seed.audit_entries(rng, 80)),
        usage=_store(admin, "agent_usage_entry", seed.usage_entries(rng, 60)),
        memories=_store(admin, "agent_memory", seed.memories(rng, 40)),
        conversations=conversations,
        messages=messages,
    )
