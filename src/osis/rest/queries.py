"""The read-only views of hero_agent's activity: audit log, token usage, headline stats.

Each route is one call of the ai service (`audit_search`, `usage_summary`, `stats`) with
its query parameters as the call's input.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from osis_ai import models as m
from pydantic import BaseModel

from .client import Osis
from .errors import COMMON_RESPONSES
from .params import (
    DEFAULT_LIMIT,
    Days,
    Limit,
    Offset,
    OptionalDays,
    Rfc3339,
    UserFilter,
    blank_to_none,
    text_query,
)

router = APIRouter(prefix="/api", responses=COMMON_RESPONSES)


@router.get(
    "/audit",
    response_model=m.AuditSearchOutput,
    operation_id="audit_search",
    summary="Search the audit log of tool calls",
    tags=["audit"],
)
async def audit(
    osis: Osis,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    tool_name: Annotated[str | None, text_query("Only calls of this tool.")] = None,
    user_sid: UserFilter = None,
    success: Annotated[bool | None, Query(description="Only successful (true) or failed (false) calls.")] = None,
    q: Annotated[str | None, text_query("Case-insensitive substring of the arguments or the result preview.")] = None,
    since: Annotated[Rfc3339 | None, Query(description="Calls at or after this RFC 3339 time.")] = None,
    until: Annotated[Rfc3339 | None, Query(description="Calls before this RFC 3339 time.")] = None,
) -> m.AuditSearchOutput:
    """Tool calls matching every given filter, newest first, a page at a time, with the
    number of all matches in `total`."""
    return await osis.audit_search(
        m.AuditSearchInput(
            tool_name=blank_to_none(tool_name),
            user_sid=blank_to_none(user_sid),
            success=success,
            q=blank_to_none(q),
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )
    )


@router.get(
    "/usage",
    response_model=m.UsageSummaryOutput,
    operation_id="usage_summary",
    summary="Token usage: totals, by model, by day and by user",
    tags=["usage"],
)
async def usage(
    osis: Osis,
    days: Days = 30,
    user_sid: UserFilter = None,
    model: Annotated[str | None, text_query("Only calls of this model.")] = None,
) -> m.UsageSummaryOutput:
    """LLM token usage over the last `days` UTC days (today included). `daily` has one
    row per day, days without calls as zeros; `daily_by_model` splits each day by model."""
    return await osis.usage_summary(
        m.UsageSummaryInput(days=days, user_sid=blank_to_none(user_sid), model=blank_to_none(model))
    )


class Stats(BaseModel):
    """The headline numbers of the dashboard."""

    tool_calls: int
    tool_success_rate: float
    avg_tool_duration_ms: float
    total_tokens: int
    tokens_today: int
    memories: int
    conversations: int
    messages: int
    top_tools: list[m.ToolCount]
    top_models: list[m.ModelTokens]


@router.get(
    "/stats",
    response_model=Stats,
    operation_id="stats",
    summary="Headline numbers of the agent's activity",
    tags=["stats"],
)
async def stats(
    osis: Osis,
    user_sid: UserFilter = None,
    days: OptionalDays = None,
) -> Stats:
    """Tool calls, success rate, tokens and stored objects; `days` limits the tool-call and
    token numbers to the last N UTC days (default: all time). `tokens_today` counts since
    00:00 UTC. The dashboard's `/api/dashboard` adds the per-tool and per-day breakdowns."""
    out = await osis.stats(m.StatsInput(user_sid=blank_to_none(user_sid), days=days))
    return Stats.model_validate(out.model_dump(include=set(Stats.model_fields)))
