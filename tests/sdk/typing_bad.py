"""Misuses of the generated client; `mypy --strict` must reject each marked line."""

from __future__ import annotations

from osis_ai import AgentAuditEntry, AgentMemory, MemorySearchInput, UsageSummaryInput
from osis_ai.client import AiClient, AsyncAiClient


def misuse(client: AiClient, entry: AgentAuditEntry) -> None:
    client.agent_memory.new(entry)  # E: wrong model for this type
    client.memory_search(UsageSummaryInput())  # E: wrong input struct
    wrong: AgentMemory = client.agent_audit_entry.get("abcd")  # E: result is an audit entry
    client.memory_search(MemorySearchInput(), 1)  # E: too many arguments


async def misuse_async(client: AsyncAiClient) -> None:
    memory: AgentMemory = client.agent_memory.get("abcd")  # E: forgot await
