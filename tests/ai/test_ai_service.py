"""The ai service methods against plain-Python oracles over the same seeded data, on both engines."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from osis_ai import models as m
from osis_ai.client import AiClient

from osis.rpc.errors import InvalidParams, NotFound
from tests.ai import seed
from tests.ai.conftest import Seeded


def _keys(items: list[m.AgentAuditEntry]) -> list[tuple[object, str]]:
    return [(e.created_at, e.sid) for e in items]


@pytest.mark.parametrize(
    "criteria",
    [
        {},
        {"tool_name": "web_search"},
        {"user_sid": "u2", "success": False},
        {"q": "needle-1"},
        {"q": "PARIS"},
        {"q": "%_literal*"},
        {"q": "absent-term-xyz"},
        {"tool_name": "shell", "q": "report"},
        {"since_days": 10},
        {"until_days": 5, "user_sid": "u1"},
    ],
)
def test_audit_search_matches_the_oracle(seeded: Seeded, criteria: dict[str, object]) -> None:
    now = seed.now()
    args: dict[str, object] = {k: v for k, v in criteria.items() if not k.endswith("_days")}
    if "since_days" in criteria:
        args["since"] = now - timedelta(days=int(criteria["since_days"]))  # type: ignore[arg-type]
    if "until_days" in criteria:
        args["until"] = now - timedelta(days=int(criteria["until_days"]))  # type: ignore[arg-type]

    def keep(e: m.AgentAuditEntry) -> bool:
        q = args.get("q")
        return (
            all(getattr(e, f) == args[f] for f in ("tool_name", "user_sid", "success") if f in args)
            and ("since" not in args or e.created_at >= args["since"])  # type: ignore[operator]
            and ("until" not in args or e.created_at < args["until"])  # type: ignore[operator]
            and (q is None or any(str(q).lower() in t.lower() for t in (e.arguments, e.result_preview)))
        )

    expected = sorted((e for e in seeded.audit if keep(e)), key=lambda e: (e.created_at, e.sid), reverse=True)
    page = seeded.client.audit_search(m.AuditSearchInput(**args, limit=25, offset=3))  # type: ignore[arg-type]
    assert page.total == len(expected)
    assert _keys(page.items) == _keys(expected[3:28])


def test_audit_search_finds_a_just_written_entry(seeded: Seeded) -> None:
    entry = seeded.client.agent_audit_entry.new(
        m.AgentAuditEntry(tool_name="shell", arguments='{"cmd": "zebra-unique-42"}', result_preview="", success=True,
                          duration_ms=1, user_sid="u9", created_at=seed.now())
    )
    page = seeded.client.audit_search(m.AuditSearchInput(q="zebra-unique"))
    assert [e.sid for e in page.items] == [entry.sid]


def test_audit_search_limits(seeded: Seeded) -> None:
    with pytest.raises(InvalidParams):
        seeded.client.audit_search(m.AuditSearchInput(limit=100_000))
    assert len(seeded.client.audit_search(m.AuditSearchInput()).items) == 50


@pytest.mark.parametrize("days,user,model", [(30, None, None), (7, "u1", None), (45, None, "claude-haiku"), (1, None, None)])
def test_usage_summary_matches_the_oracle(seeded: Seeded, days: int, user: str | None, model: str | None) -> None:
    got = seeded.client.usage_summary(m.UsageSummaryInput(days=days, user_sid=user, model=model))
    want = seed.usage_oracle(seeded.usage, days, user, model)
    assert got.totals.model_dump() == want["totals"]
    assert {r.model: r.model_dump(exclude={"model"}) for r in got.by_model} == want["by_model"]
    assert [r.total_tokens for r in got.by_model] == sorted((r.total_tokens for r in got.by_model), reverse=True)
    assert {r.user_sid: {"total_tokens": r.total_tokens, "calls": r.calls} for r in got.by_user} == {
        k: {"total_tokens": v["total_tokens"], "calls": v["calls"]} for k, v in want["by_user"].items()
    }
    assert len(got.daily) == days and got.daily[-1].date == seed.now().date().isoformat()
    for day in got.daily:
        assert day.model_dump(exclude={"date"}) == want["by_day"].get(
            day.date, {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "calls": 0}
        )
    assert sum(r.total_tokens for r in got.daily_by_model) == want["totals"]["total_tokens"]


def test_usage_summary_rejects_a_bad_window(seeded: Seeded) -> None:
    with pytest.raises(InvalidParams):
        seeded.client.usage_summary(m.UsageSummaryInput(days=0))


@pytest.mark.parametrize(
    "criteria",
    [
        {"user_sid": "u1"},
        {"user_sid": "u2", "category": "fact"},
        {"key": "key_3"},
        {"order_by": "access_count"},
        {"order_by": "updated_at", "descending": False},
        {},
    ],
)
def test_memory_search_matches_the_oracle(seeded: Seeded, criteria: dict[str, object]) -> None:
    order = str(criteria.get("order_by", "confidence"))
    descending = bool(criteria.get("descending", True))
    hits = [x for x in seeded.memories if all(getattr(x, f) == criteria[f] for f in ("user_sid", "category", "key") if f in criteria)]
    hits.sort(key=lambda x: (getattr(x, order), x.sid), reverse=descending)
    page = seeded.client.memory_search(m.MemorySearchInput(**criteria, limit=10))  # type: ignore[arg-type]
    assert page.total == len(hits)
    assert [x.sid for x in page.items] == [x.sid for x in hits[:10]]


def test_memory_touch_increments_atomically_under_concurrency(seeded: Seeded) -> None:
    target = seeded.memories[0]
    before = seeded.client.agent_memory.get(target.sid)
    client = seeded.client
    errors: list[BaseException] = []

    def touch() -> None:
        try:
            for _ in range(25):
                client.memory_touch(m.MemoryTouchInput(sid=target.sid))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=touch) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    after = seeded.client.agent_memory.get(target.sid)
    assert after.access_count == before.access_count + 100
    assert after.updated_at >= before.updated_at
    with pytest.raises(NotFound):
        seeded.client.memory_touch(m.MemoryTouchInput(sid="zzzz"))


def test_conversations_and_message_history(client: AiClient) -> None:
    now = seed.now()
    convs = [
        client.agent_conversation.new(m.AgentConversation(title=f"t{i}", context="", user_sid="u1" if i % 2 else "u2",
                                                          created_at=now, updated_at=now - timedelta(hours=i)))
        for i in range(6)
    ]
    listed = client.conversation_list(m.ConversationListInput(user_sid="u1"))
    assert listed.total == 3
    assert [c.sid for c in listed.items] == [c.sid for c in sorted(convs, key=lambda c: c.updated_at, reverse=True) if c.user_sid == "u1"]
    msgs = [
        client.agent_message.new(m.AgentMessage(conversation_sid=convs[0].sid, role="user" if i % 2 else "assistant",
                                                content=f"message {i}", user_sid="u2", created_at=now + timedelta(seconds=i)))
        for i in range(7)
    ]
    client.agent_message.new(m.AgentMessage(conversation_sid=convs[1].sid, role="user", content="other", user_sid="u1", created_at=now))
    history = client.message_history(m.MessageHistoryInput(conversation_sid=convs[0].sid, limit=5, offset=1))
    assert history.total == 7
    assert [x.sid for x in history.items] == [x.sid for x in msgs[1:6]]


def test_crud_through_the_store(client: AiClient) -> None:
    memory = client.agent_memory.new(
        m.AgentMemory(user_sid="u1", category="fact", key="city", value="Ghent", confidence=0.9, access_count=0,
                      created_at=seed.now(), updated_at=seed.now())
    )
    assert len(memory.sid) >= 4 and set(memory.sid) <= set("0123456789abcdefghijklmnopqrstuvwxyz")
    assert client.agent_memory.get(memory.sid) == memory
    changed = client.agent_memory.set(memory.model_copy(update={"value": "Antwerp", "tags": ["moved"]}))
    assert client.agent_memory.get(memory.sid) == changed
    assert client.agent_memory.exists(memory.sid)
    assert memory.sid in client.agent_memory.list()
    assert [x.sid for x in client.agent_memory.find(m.AgentMemoryFilter(key="city", confidence_gt=0.5))] == [memory.sid]
    assert [x.sid for x in client.agent_memory.list_full()] == [memory.sid]
    client.agent_memory.delete(memory.sid)
    assert not client.agent_memory.exists(memory.sid)
    with pytest.raises(NotFound):
        client.agent_memory.set(memory)
    with pytest.raises(NotFound):
        client.agent_memory.delete(memory.sid)
    with pytest.raises(InvalidParams):
        client.agent_memory.find(order_by="value")


@pytest.mark.parametrize(
    "criteria,order_by,descending",
    [
        ({}, None, False),
        ({"user_sid": "u2"}, "confidence", True),
        ({"category": "fact", "access_count_gte": 3}, "access_count", False),
        ({"user_sid_in": ["u1", "u3"]}, "updated_at", True),
        ({"key": "absent-key"}, None, False),
    ],
)
def test_find_page_walks_every_match_once_and_count_gives_the_total(
    seeded: Seeded, criteria: dict[str, object], order_by: str | None, descending: bool
) -> None:
    flt = m.AgentMemoryFilter(**criteria)  # type: ignore[arg-type]

    def keep(x: m.AgentMemory) -> bool:
        for name, want in criteria.items():
            if name.endswith("_in"):
                if getattr(x, name[:-3]) not in want:  # type: ignore[operator]
                    return False
            elif name.endswith("_gte"):
                if getattr(x, name[:-4]) < want:  # type: ignore[operator]
                    return False
            elif getattr(x, name) != want:
                return False
        return True

    matches = [x for x in seeded.memories if keep(x)]
    assert seeded.client.agent_memory.count(flt) == len(matches)

    seen: list[m.AgentMemory] = []
    cursor: str | None = None
    while True:
        page = seeded.client.agent_memory.find_page(flt, order_by=order_by, descending=descending, limit=7, cursor=cursor)
        assert len(page.items) <= 7
        seen.extend(page.items)
        if page.next_cursor is None:
            break
        assert len(page.items) == 7
        cursor = page.next_cursor
    assert sorted(x.sid for x in seen) == sorted(x.sid for x in matches)
    if order_by is not None:
        values = [getattr(x, order_by) for x in seen]
        assert values == sorted(values, reverse=descending)
    walked = list(seeded.client.agent_memory.find_all(flt, order_by=order_by, descending=descending, page_size=5))
    assert [x.sid for x in walked] == [x.sid for x in seen]


def test_find_page_does_not_repeat_or_skip_when_objects_are_added_meanwhile(seeded: Seeded) -> None:
    first = seeded.client.agent_memory.find_page(limit=50)
    newer = _memory("late-key")
    added = seeded.client.agent_memory.new(newer)
    rest = list(seeded.client.agent_memory.find_all(page_size=50))[50:]
    sids = [x.sid for x in first.items] + [x.sid for x in rest]
    assert len(sids) == len(set(sids)) == len(seeded.memories) + 1
    assert sids[-1] == added.sid


def test_find_page_rejects_bad_paging(seeded: Seeded) -> None:
    crud = seeded.client.agent_memory
    page = crud.find_page(m.AgentMemoryFilter(user_sid="u1"), order_by="confidence", limit=2)
    assert page.next_cursor is not None
    with pytest.raises(InvalidParams, match="cursor"):
        crud.find_page(cursor="not-a-cursor")
    with pytest.raises(InvalidParams, match="cursor"):  # a cursor belongs to one filter and ordering
        crud.find_page(m.AgentMemoryFilter(user_sid="u2"), order_by="confidence", limit=2, cursor=page.next_cursor)
    with pytest.raises(InvalidParams, match="limit"):
        crud.find_page(limit=0)
    with pytest.raises(InvalidParams, match="cannot order by"):
        crud.find_page(order_by="value")


def _memory(key: str) -> m.AgentMemory:
    return m.AgentMemory(user_sid="u1", category="fact", key=key, value="v", confidence=0.5, access_count=0,
                         created_at=seed.now(), updated_at=seed.now())


def _percentile(values: list[int], q: float) -> float:
    """Nearest-rank on the sorted values: the element at index floor(q * (n - 1))."""
    ordered = sorted(values)
    return float(ordered[int(q * (len(ordered) - 1))]) if ordered else 0.0


@pytest.mark.parametrize("user,days", [(None, None), ("u3", None), (None, 7), ("u1", 30)])
def test_stats_match_the_oracle(seeded: Seeded, user: str | None, days: int | None) -> None:
    client = seeded.client
    convs = [client.agent_conversation.new(m.AgentConversation(title="t", context="", user_sid=u, created_at=seed.now(),
                                                               updated_at=seed.now())) for u in ("u1", "u3", "u3")]
    client.agent_message.new(m.AgentMessage(conversation_sid=convs[1].sid, role="user", content="hi", user_sid="u3",
                                            created_at=seed.now()))
    got = client.stats(m.StatsInput(user_sid=user, days=days))

    audit = [e for e in seeded.audit if (user is None or e.user_sid == user) and seed.in_window(e.created_at, days)]
    usage = [e for e in seeded.usage if (user is None or e.user_sid == user) and seed.in_window(e.created_at, days)]
    assert got.tool_calls == len(audit)
    assert got.tool_success_rate == pytest.approx(sum(e.success for e in audit) / len(audit))
    assert got.avg_tool_duration_ms == pytest.approx(sum(e.duration_ms for e in audit) / len(audit))
    assert got.total_tokens == sum(e.total_tokens for e in usage)
    today = seed.now().date()
    assert got.tokens_today == sum(e.total_tokens for e in seeded.usage
                                   if e.created_at.date() == today and (user is None or e.user_sid == user))
    assert got.memories == sum(1 for x in seeded.memories if user is None or x.user_sid == user)
    assert got.conversations == sum(1 for c in convs if user is None or c.user_sid == user)
    assert got.messages == (1 if user in (None, "u3") else 0)
    by_tool: dict[str, list[m.AgentAuditEntry]] = {}
    for e in audit:
        by_tool.setdefault(e.tool_name, []).append(e)
    expected_top = sorted(by_tool, key=lambda t: (-len(by_tool[t]), t))[:10]
    assert [(t.tool_name, t.count) for t in got.top_tools] == [(t, len(by_tool[t])) for t in expected_top]
    for stats in got.tools:
        entries = by_tool[stats.tool_name]
        assert stats.calls == len(entries)
        assert stats.success_rate == pytest.approx(sum(e.success for e in entries) / len(entries))
        assert stats.p50_duration_ms == _percentile([e.duration_ms for e in entries], 0.5)
        assert stats.p95_duration_ms == _percentile([e.duration_ms for e in entries], 0.95)
    tokens_by_model: dict[str, int] = {}
    for e in usage:
        tokens_by_model[e.model] = tokens_by_model.get(e.model, 0) + e.total_tokens
    assert [(x.model, x.total_tokens) for x in got.top_models] == sorted(tokens_by_model.items(), key=lambda kv: (-kv[1], kv[0]))
    assert sum(d.calls for d in got.tool_calls_daily) == len(audit)
    assert sum(d.successes for d in got.tool_calls_daily) == sum(e.success for e in audit)
    if days is not None:
        assert len(got.tool_calls_daily) == days
    assert {c.category: c.count for c in got.memories_by_category} == {
        cat: n for cat in m.MemoryCategory
        if (n := sum(1 for x in seeded.memories if x.category == cat and (user is None or x.user_sid == user)))
    }
