"""Seeded synthetic agent activity for the ai service tests, plus plain-Python oracles."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any

from osis_ai import models as m

TOOLS = ["web_search", "read_file", "write_file", "shell", "calendar", "email_send", "weather"]
MODELS = ["gpt-4o-mini", "claude-haiku", "llama-3-70b", "mistral-large"]
USERS = ["u1", "u2", "u3", "u4"]


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def audit_entries(rng: random.Random, count: int) -> list[m.AgentAuditEntry]:
    base = now()
    out = []
    for i in range(count):
        tool = rng.choices(TOOLS, weights=[8, 5, 3, 3, 1, 1, 1])[0]
        args = {"query": rng.choice(["paris weather", "quarterly report", "needle-%d" % i, "Ünïcode ✓"]), "n": i}
        out.append(
            m.AgentAuditEntry(
                tool_name=tool,
                arguments=json.dumps(args),
                result_preview=rng.choice(["ok", "200 results", "error: timeout", "%_literal*"]),
                success=rng.random() < 0.85,
                duration_ms=rng.randint(1, 5000),
                user_sid=rng.choice(USERS),
                created_at=base - timedelta(minutes=rng.randint(0, 60 * 24 * 40)),
            )
        )
    return out


def usage_entries(rng: random.Random, count: int) -> list[m.AgentUsageEntry]:
    base = now()
    out = []
    for _ in range(count):
        prompt, completion = rng.randint(10, 4000), rng.randint(1, 1500)
        out.append(
            m.AgentUsageEntry(
                model=rng.choice(MODELS),
                prompt_tokens=prompt,
                completion_tokens=completion,
                total_tokens=prompt + completion,
                user_sid=rng.choice(USERS),
                created_at=base - timedelta(minutes=rng.randint(0, 60 * 24 * 45)),
            )
        )
    return out


def memories(rng: random.Random, count: int) -> list[m.AgentMemory]:
    base = now()
    out = []
    for i in range(count):
        created = base - timedelta(days=rng.randint(0, 90))
        out.append(
            m.AgentMemory(
                user_sid=rng.choice(USERS),
                category=rng.choice(list(m.MemoryCategory)),
                key=f"key_{i % 17}",
                value=f"value {i}",
                source=rng.choice([None, "user", "conversation"]),
                confidence=round(rng.random(), 3),
                access_count=rng.randint(0, 50),
                tags=rng.sample(["a", "b", "c"], rng.randint(0, 2)),
                created_at=created,
                updated_at=created + timedelta(hours=rng.randint(0, 100)),
            )
        )
    return out


def in_window(moment: datetime, days: int | None) -> bool:
    if days is None:
        return True
    start = datetime.combine(now().date() - timedelta(days=days - 1), datetime.min.time(), tzinfo=timezone.utc)
    return moment >= start


def usage_oracle(entries: list[m.AgentUsageEntry], days: int, user: str | None, model: str | None) -> dict[str, Any]:
    rows = [e for e in entries if in_window(e.created_at, days) and (user is None or e.user_sid == user)
            and (model is None or e.model == model)]

    def sums(items: list[m.AgentUsageEntry]) -> dict[str, int]:
        return {
            "prompt_tokens": sum(e.prompt_tokens for e in items),
            "completion_tokens": sum(e.completion_tokens for e in items),
            "total_tokens": sum(e.total_tokens for e in items),
            "calls": len(items),
        }

    by_model = {k: sums([e for e in rows if e.model == k]) for k in {e.model for e in rows}}
    by_user = {k: sums([e for e in rows if e.user_sid == k]) for k in {e.user_sid for e in rows}}
    by_day = {k: sums([e for e in rows if e.created_at.date().isoformat() == k])
              for k in {e.created_at.date().isoformat() for e in rows}}
    return {"totals": sums(rows), "by_model": by_model, "by_user": by_user, "by_day": by_day}
