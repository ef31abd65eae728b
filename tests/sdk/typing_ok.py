"""Typed use of the generated osis_ai client; `mypy --strict` must accept this file."""

from __future__ import annotations

from osis_ai import AgentMemory, AgentMemoryFilter, MemoryCategory, MemorySearchInput, MemorySearchOutput
from osis_ai.client import AiClient, AsyncAiClient


def recall(client: AiClient, user: str) -> list[str]:
    memory: AgentMemory = client.agent_memory.get("abcd")
    found: list[AgentMemory] = client.agent_memory.find(
        AgentMemoryFilter(user_sid=user, category=MemoryCategory.FACT, confidence_gte=0.5), order_by="confidence"
    )
    page: MemorySearchOutput = client.memory_search(MemorySearchInput(user_sid=user))
    exists: bool = client.agent_memory.exists(memory.sid)
    assert exists
    return [m.key for m in found] + [m.key for m in page.items]


async def recall_async(client: AsyncAiClient) -> int:
    sids: list[str] = await client.agent_memory.list()
    return len(sids)
