"""`AiStoreService`: the generated `AiService` traits implemented on an OSIS store.

CRUD of every root object comes from `osis.service.crud`; this module adds the
hero_agent queries of `schemas/ai/90_rpc.oschema`. Every query is a handful of SQL
statements whatever the data size: filters and ordering use indexed columns, substring
search the engine's search index, breakdowns the engine's grouped aggregation.

Every query is scoped like CRUD (see `osis.service.crud`): for a user token, its own
user's records only, whatever `user_sid` the input names.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from osis_ai import models as m
from osis_ai.server import AiService

from osis.auth.principal import scoped_owner
from osis.binding import DomainBinding, bind_package
from osis.rpc.errors import InvalidParams, NotFound
from osis.rpc.limits import Limits
from osis.scalars import format_otime
from osis.service.crud import crud_service
from osis.store.engine import Engine
from osis.store.query import Aggregation, Cond, Day, Metric, Query

from .window import day_start, utc_now, window_days

DEFAULT_LIMIT = 50
DEFAULT_USAGE_DAYS = 30
MAX_DAYS = 3660
TOP = 10

AUDIT, USAGE, MEMORY = "agent_audit_entry", "agent_usage_entry", "agent_memory"
CONVERSATION, MESSAGE = "agent_conversation", "agent_message"

_DURATION_PERCENTILES = (
    Metric("percentile", "duration_ms", "p50", q=0.5),
    Metric("percentile", "duration_ms", "p95", q=0.95),
)
_TOKENS = (
    Metric("sum", "prompt_tokens", "prompt_tokens"),
    Metric("sum", "completion_tokens", "completion_tokens"),
    Metric("sum", "total_tokens", "total_tokens"),
    Metric("count", None, "calls"),
)


def _days(days: int | None, default: int | None) -> int | None:
    value = default if days is None else days
    if value is not None and not 1 <= value <= MAX_DAYS:
        raise InvalidParams(f"days must be between 1 and {MAX_DAYS}, got {value}", data={"field": "days"})
    return value


def _eq(**values: Any) -> list[Cond]:
    return [Cond(field, "eq", value) for field, value in values.items() if value is not None]


OWNER = "user_sid"


def _own() -> list[Cond]:
    """The caller's scope: every ai root object is owned through its `user_sid` (checked below)."""
    owner = scoped_owner()
    return [] if owner is None else [Cond(OWNER, "eq", owner)]


def _since(days: int | None) -> list[Cond]:
    if days is None:
        return []
    return [Cond("created_at", "gte", format_otime(day_start(window_days(days)[0])))]


def _int(row: dict[str, Any], key: str) -> int:
    return int(row.get(key) or 0)


AI_BINDING = bind_package("osis_ai")
if any(root.spec.owner != OWNER for root in AI_BINDING.roots.values()):  # pragma: no cover - a schema change
    raise RuntimeError(f"every ai root object must have {OWNER!r} as its @owner field: the queries below scope by it")
_Base: type[AiService] = crud_service(AiService, AI_BINDING)


class AiStoreService(_Base):  # type: ignore[misc, valid-type]
    """Serves the whole ai API from one store engine."""

    def __init__(self, engine: Engine, binding: DomainBinding | None = None, *,
                 max_page: int = Limits.max_page) -> None:
        super().__init__(engine, binding or AI_BINDING, max_page=max_page)

    def _page(self, limit: int | None, offset: int | None) -> tuple[int, int]:
        size = DEFAULT_LIMIT if limit is None else limit
        self.check_page(size)
        return size, offset or 0

    # -- audit ---------------------------------------------------------------------------
    async def audit_search(self, input: m.AuditSearchInput) -> m.AuditSearchOutput:
        limit, offset = self._page(input.limit, input.offset)
        filters = _eq(tool_name=input.tool_name, user_sid=input.user_sid, success=input.success) + _own()
        if input.since is not None:
            filters.append(Cond("created_at", "gte", format_otime(input.since)))
        if input.until is not None:
            filters.append(Cond("created_at", "lt", format_otime(input.until)))
        query = Query(filters=filters, search=input.q or None, order_by="created_at", descending=True,
                      limit=limit, offset=offset)

        def run() -> tuple[list[dict[str, Any]], int]:
            return self.engine.find(AUDIT, query), self.engine.count(AUDIT, query)

        docs, total = await self.run(run)
        return m.AuditSearchOutput(items=[m.AgentAuditEntry.model_validate(d) for d in docs], total=total)

    # -- usage ---------------------------------------------------------------------------
    async def usage_summary(self, input: m.UsageSummaryInput) -> m.UsageSummaryOutput:
        days = _days(input.days, DEFAULT_USAGE_DAYS)
        assert days is not None
        filters = _eq(user_sid=input.user_sid, model=input.model) + _since(days) + _own()
        day = Day("created_at")

        def run() -> dict[str, list[dict[str, Any]]]:
            agg = self.engine.aggregate
            return {
                "totals": agg(USAGE, Aggregation(metrics=_TOKENS, filters=filters)),
                "by_model": agg(USAGE, Aggregation(group_by=["model"], metrics=_TOKENS, filters=filters,
                                                   order_by="total_tokens")),
                "daily": agg(USAGE, Aggregation(group_by=[day], metrics=_TOKENS, filters=filters)),
                "daily_by_model": agg(USAGE, Aggregation(group_by=[day, "model"], metrics=_TOKENS, filters=filters)),
                "by_user": agg(USAGE, Aggregation(group_by=["user_sid"], metrics=_TOKENS, filters=filters,
                                                  order_by="total_tokens")),
            }

        rows = await self.run(run)
        total = rows["totals"][0] if rows["totals"] else {}
        daily = {r[day.key]: r for r in rows["daily"]}
        return m.UsageSummaryOutput(
            totals=m.UsageTotals(**{k: _int(total, k) for k in ("prompt_tokens", "completion_tokens", "total_tokens", "calls")}),
            by_model=[m.ModelUsage(model=r["model"], **_token_fields(r)) for r in rows["by_model"]],
            daily=[
                m.DailyUsage(date=d.isoformat(), **_token_fields(daily.get(d.isoformat(), {})))
                for d in window_days(days)
            ],
            daily_by_model=[
                m.DailyModelUsage(date=r[day.key], model=r["model"], total_tokens=_int(r, "total_tokens"),
                                  calls=_int(r, "calls"))
                for r in rows["daily_by_model"]
            ],
            by_user=[
                m.UserUsage(user_sid=r["user_sid"], total_tokens=_int(r, "total_tokens"), calls=_int(r, "calls"))
                for r in rows["by_user"]
            ],
        )

    # -- memories ------------------------------------------------------------------------
    async def memory_search(self, input: m.MemorySearchInput) -> m.MemorySearchOutput:
        limit, offset = self._page(input.limit, input.offset)
        order = input.order_by or m.MemoryOrder.CONFIDENCE
        query = Query(
            filters=_eq(user_sid=input.user_sid, category=input.category, key=input.key) + _own(),
            order_by=order.value,
            descending=True if input.descending is None else input.descending,
            limit=limit,
            offset=offset,
        )

        def run() -> tuple[list[dict[str, Any]], int]:
            return self.engine.find(MEMORY, query), self.engine.count(MEMORY, query)

        docs, total = await self.run(run)
        return m.MemorySearchOutput(items=[m.AgentMemory.model_validate(d) for d in docs], total=total)

    async def memory_touch(self, input: m.MemoryTouchInput) -> m.AgentMemory:
        now = format_otime(utc_now())
        doc = None
        # A user may touch only its own memories; another's is "not found", like a missing one.
        if scoped_owner() is None or await self.agent_memory_exists(input.sid):
            doc = await self.run(self.engine.increment, MEMORY, input.sid, "access_count", 1,
                                 set_fields={"updated_at": now})
        if doc is None:
            raise NotFound(f"AgentMemory {input.sid!r} not found", data={"type": "AgentMemory", "sid": input.sid})
        return m.AgentMemory.model_validate(doc)

    # -- dashboard -----------------------------------------------------------------------
    async def stats(self, input: m.StatsInput) -> m.StatsOutput:
        days = _days(input.days, None)
        scope = _eq(user_sid=input.user_sid) + _since(days) + _own()
        today = [Cond("created_at", "gte", format_otime(day_start(window_days(1)[0])))]
        day = Day("created_at")
        count, duration = Metric("count", None, "count"), Metric("avg", "duration_ms", "avg_duration_ms")
        tokens = Metric("sum", "total_tokens", "total_tokens")
        own = _own()

        def run() -> dict[str, Any]:
            agg, eng = self.engine.aggregate, self.engine
            owned = _eq(user_sid=input.user_sid) + own
            return {
                "by_tool": agg(AUDIT, Aggregation(group_by=["tool_name", "success"], metrics=[count, duration],
                                                  filters=scope)),
                "percentiles": agg(AUDIT, Aggregation(group_by=["tool_name"], metrics=_DURATION_PERCENTILES,
                                                      filters=scope)),
                "daily_calls": agg(AUDIT, Aggregation(group_by=[day, "success"], metrics=[count], filters=scope)),
                "tokens": agg(USAGE, Aggregation(metrics=[tokens], filters=scope)),
                "tokens_today": agg(USAGE, Aggregation(metrics=[tokens], filters=owned + today)),
                "by_model": agg(USAGE, Aggregation(group_by=["model"], metrics=[tokens], filters=scope,
                                                   order_by="total_tokens", limit=TOP)),
                "memories": agg(MEMORY, Aggregation(group_by=["category"], metrics=[count], filters=owned)),
                "conversations": eng.count(CONVERSATION, Query(filters=owned)),
                "messages": eng.count(MESSAGE, Query(filters=owned)),
            }

        r = await self.run(run)
        tools: dict[str, dict[str, float]] = {}
        for row in r["by_tool"]:
            t = tools.setdefault(row["tool_name"], {"calls": 0, "ok": 0, "ms": 0.0})
            t["calls"] += row["count"]
            t["ok"] += row["count"] if row["success"] else 0
            t["ms"] += (row["avg_duration_ms"] or 0.0) * row["count"]
        calls = int(sum(t["calls"] for t in tools.values()))
        ok = int(sum(t["ok"] for t in tools.values()))
        pct = {row["tool_name"]: row for row in r["percentiles"]}
        per_tool = [
            m.ToolStats(
                tool_name=name,
                calls=int(t["calls"]),
                success_rate=_rate(int(t["ok"]), int(t["calls"])),
                avg_duration_ms=t["ms"] / t["calls"] if t["calls"] else 0.0,
                p50_duration_ms=float(pct.get(name, {}).get("p50") or 0.0),
                p95_duration_ms=float(pct.get(name, {}).get("p95") or 0.0),
            )
            for name, t in sorted(tools.items(), key=lambda kv: (-kv[1]["calls"], kv[0]))
        ]
        daily: dict[str, list[int]] = {}
        for row in r["daily_calls"]:
            counts = daily.setdefault(row[day.key], [0, 0])
            counts[0] += row["count"]
            counts[1] += row["count"] if row["success"] else 0
        shown_days = window_days(days) if days is not None else [_date(d) for d in sorted(daily)]
        return m.StatsOutput(
            tool_calls=calls,
            tool_success_rate=_rate(ok, calls),
            avg_tool_duration_ms=sum(t["ms"] for t in tools.values()) / calls if calls else 0.0,
            total_tokens=_int(r["tokens"][0] if r["tokens"] else {}, "total_tokens"),
            tokens_today=_int(r["tokens_today"][0] if r["tokens_today"] else {}, "total_tokens"),
            memories=sum(row["count"] for row in r["memories"]),
            conversations=r["conversations"],
            messages=r["messages"],
            top_tools=[m.ToolCount(tool_name=t.tool_name, count=t.calls) for t in per_tool[:TOP]],
            top_models=[m.ModelTokens(model=row["model"], total_tokens=_int(row, "total_tokens")) for row in r["by_model"]],
            tools=per_tool,
            tool_calls_daily=[
                m.DailyToolCalls(date=d.isoformat(), calls=daily.get(d.isoformat(), [0, 0])[0],
                                 successes=daily.get(d.isoformat(), [0, 0])[1])
                for d in shown_days
            ],
            memories_by_category=[
                m.CategoryCount(category=row["category"], count=row["count"])
                for row in sorted(r["memories"], key=lambda row: (-row["count"], row["category"]))
            ],
        )

    # -- conversations -------------------------------------------------------------------
    async def conversation_list(self, input: m.ConversationListInput) -> m.ConversationListOutput:
        limit, offset = self._page(input.limit, input.offset)
        query = Query(filters=_eq(user_sid=input.user_sid) + _own(), order_by="updated_at", descending=True,
                      limit=limit, offset=offset)

        def run() -> tuple[list[dict[str, Any]], int]:
            return self.engine.find(CONVERSATION, query), self.engine.count(CONVERSATION, query)

        docs, total = await self.run(run)
        return m.ConversationListOutput(items=[m.AgentConversation.model_validate(d) for d in docs], total=total)

    async def message_history(self, input: m.MessageHistoryInput) -> m.MessageHistoryOutput:
        limit, offset = self._page(input.limit, input.offset)
        query = Query(filters=_eq(conversation_sid=input.conversation_sid) + _own(), order_by="created_at",
                      limit=limit, offset=offset)

        def run() -> tuple[list[dict[str, Any]], int]:
            return self.engine.find(MESSAGE, query), self.engine.count(MESSAGE, query)

        docs, total = await self.run(run)
        return m.MessageHistoryOutput(items=[m.AgentMessage.model_validate(d) for d in docs], total=total)


def _date(text: str) -> date:
    return date.fromisoformat(text)


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _token_fields(row: dict[str, Any]) -> dict[str, int]:
    return {k: _int(row, k) for k in ("prompt_tokens", "completion_tokens", "total_tokens", "calls")}
