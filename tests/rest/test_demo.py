"""`osis demo-data`: plausible, consistent, deterministic activity, written quickly through
the generated client into an empty store only."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from osis_ai import models as m

from osis import cli
from osis.demo import TOOLS, USERS, Activity, StoreNotEmpty, fill_store, generate
from osis.server import open_store
from osis.store.engine import Engine

NOW = datetime(2026, 5, 6, 15, 30, tzinfo=timezone.utc)  # a Wednesday afternoon


def _moments(activity: Activity) -> list[datetime]:
    """Every timestamp of the activity."""
    return [
        *(e.created_at for e in activity.audit),
        *(u.created_at for u in activity.usage),
        *(t for c in activity.conversations for t in (c.created_at, c.updated_at)),
        *(msg.created_at for _, msg in activity.messages),
    ]


def test_the_same_seed_gives_the_same_activity() -> None:
    one, again, other = generate(14, 5, NOW), generate(14, 5, NOW), generate(14, 6, NOW)
    assert one == again
    assert one.audit != other.audit


def test_activity_is_spread_over_the_window_and_never_in_the_future() -> None:
    activity = generate(30, 1, NOW)
    first = (NOW - timedelta(days=29)).date()
    moments = _moments(activity)
    assert all(first <= t.date() and t <= NOW for t in moments)
    active_days = {e.created_at.date() for e in activity.audit}
    assert len(active_days) >= 27  # a quiet day may happen, a quiet week may not
    weekday = Counter(e.created_at.weekday() for e in activity.audit)
    assert weekday[5] + weekday[6] < weekday[1] + weekday[2]  # weekends are quieter
    assert 800 <= len(activity.audit) <= 4000


def test_just_after_midnight_nothing_lies_in_the_future_or_before_the_window() -> None:
    early = datetime(2026, 5, 6, 0, 40, tzinfo=timezone.utc)
    activity = generate(2, 8, early)
    moments = _moments(activity)
    assert moments and all(datetime(2026, 5, 5, tzinfo=timezone.utc) <= t <= early for t in moments)


def test_tools_models_and_users_are_varied_and_skewed() -> None:
    activity = generate(30, 1, NOW)
    calls = Counter(e.tool_name for e in activity.audit)
    assert len(TOOLS) >= 20 and set(calls) == {t.name for t in TOOLS}
    ranked = calls.most_common()
    assert ranked[0][1] >= 8 * ranked[-1][1]  # a few tools do most of the work
    assert 0.85 < sum(e.success for e in activity.audit) / len(activity.audit) < 0.99
    assert len({u.model for u in activity.usage}) >= 5
    per_user = Counter(e.user_sid for e in activity.usage)
    assert set(per_user) == {u.sid for u in USERS}
    assert per_user.most_common()[0][1] >= 3 * per_user.most_common()[-1][1]


def test_records_tell_one_story() -> None:
    activity = generate(10, 3, NOW)
    # Every tool call has its tool message, every model call belongs to a turn.
    tool_messages = Counter(msg.tool_name for _, msg in activity.messages if msg.role == m.MessageRole.TOOL)
    assert tool_messages == Counter(e.tool_name for e in activity.audit)
    answers = [msg for _, msg in activity.messages if msg.role == m.MessageRole.ASSISTANT]
    assert len(activity.usage) == len(activity.audit) + len(answers)
    assert all(u.total_tokens == u.prompt_tokens + u.completion_tokens for u in activity.usage)
    for index, msg in activity.messages:
        conversation = activity.conversations[index]
        assert msg.user_sid == conversation.user_sid
        assert conversation.created_at <= msg.created_at <= conversation.updated_at


def test_every_user_has_memories_in_every_category_and_one_per_key() -> None:
    activity = generate(30, 2, NOW)
    memories = [mem for _, mem in activity.memories]
    for user in USERS:
        own = [mem for mem in memories if mem.user_sid == user.sid]
        assert {mem.category for mem in own} == set(m.MemoryCategory)
        assert len({mem.key for mem in own}) == len(own)
    assert all(mem.created_at <= mem.updated_at <= NOW and 0 <= mem.confidence <= 1 for mem in memories)


def test_fill_store_writes_everything_through_the_client(store_url: str) -> None:
    written = fill_store(store_url, days=3, seed=4)
    engine: Engine = open_store(store_url)
    try:
        counts = {name: len(engine.list_sids(name)) for name in
                  ("agent_audit_entry", "agent_usage_entry", "agent_conversation", "agent_message", "agent_memory")}
    finally:
        engine.close()
    assert counts == {"agent_audit_entry": written.audit, "agent_usage_entry": written.usage,
                      "agent_conversation": written.conversations, "agent_message": written.messages,
                      "agent_memory": written.memories}
    assert written.audit > 0 and written.memories > 0
    with pytest.raises(StoreNotEmpty, match="empty store"):
        fill_store(store_url, days=1, seed=4)


def test_cli(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/demo.db"
    assert cli.main(["demo-data", "--store", url, "--days", "2", "--seed", "9"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("wrote ") and "tool calls" in out and "memories" in out
    assert cli.main(["demo-data", "--store", url]) == 2
    assert "already holds agent records" in capsys.readouterr().err
    assert cli.main(["demo-data", "--store", url, "--days", "0"]) == 2
    assert "--days must be between 1 and 365" in capsys.readouterr().err
    assert cli.main(["demo-data", "--store", "mysql://nope"]) == 2
    assert capsys.readouterr().err.startswith("osis: error:")
