"""The dashboard: `GET /` (a static page drawing its own SVG charts) and the one JSON
document it refreshes from, `GET /api/dashboard`.

The page needs nothing from the internet: its script, styles and charts are files of
this package. Every number on it comes from one `/api/dashboard` answer, so the tiles,
charts and tables of one refresh always agree with each other, and the tiles are the
`stats` call that `/api/stats` makes with the same filters.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from importlib.resources import files
from typing import Final

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from osis_ai import models as m
from osis_ai.client import AsyncAiClient
from pydantic import BaseModel, Field

from osis.scalars import OTime

from .client import Osis
from .errors import COMMON_RESPONSES
from .params import MAX_DAYS, OptionalDays, UserFilter, blank_to_none, utc_now

router = APIRouter(responses=COMMON_RESPONSES)

STATIC = files("osis.rest") / "static"
#: Chart span of an "all time" view of an empty store.
EMPTY_SPAN_DAYS: Final = 7


class Window(BaseModel):
    """The UTC days the charts cover."""

    days: int | None = Field(description="The window asked for; null for all time.")
    span_days: int = Field(description="Days on the charts' time axis, today included.")
    start: str = Field(description="First day on the axis, YYYY-MM-DD.")
    end: str = Field(description="Today, YYYY-MM-DD.")


class Dashboard(BaseModel):
    """Everything the dashboard draws, from one consistent set of calls."""

    window: Window
    user_sid: str | None
    stats: m.StatsOutput
    usage: m.UsageSummaryOutput
    users: list[m.UserUsage] = Field(description="Every user with token usage in the window, for the user filter.")
    generated_at: OTime


async def _first_activity(osis: AsyncAiClient, user_sid: str | None) -> datetime | None:
    """When the oldest tool call or model call in scope happened."""
    audit, usage = await asyncio.gather(
        osis.agent_audit_entry.find(m.AgentAuditEntryFilter(user_sid=user_sid) if user_sid else None,
                                    order_by="created_at", limit=1),
        osis.agent_usage_entry.find(m.AgentUsageEntryFilter(user_sid=user_sid) if user_sid else None,
                                    order_by="created_at", limit=1),
    )
    moments = [rows[0].created_at for rows in (audit, usage) if rows]
    return min(moments) if moments else None


def _span(days: int | None, today: date, first: datetime | None) -> int:
    if days is not None:
        return days
    if first is None:
        return EMPTY_SPAN_DAYS
    return max(1, min(MAX_DAYS, (today - first.date()).days + 1))


@router.get(
    "/api/dashboard",
    response_model=Dashboard,
    operation_id="dashboard",
    summary="Everything the dashboard shows",
    tags=["stats"],
)
async def dashboard(osis: Osis, user_sid: UserFilter = None, days: OptionalDays = None) -> Dashboard:
    """The `stats` of the window (all time when `days` is absent), its token usage by day,
    model and user, and the users to filter by. For all time, the time axis starts on the
    day of the oldest tool or model call."""
    user = blank_to_none(user_sid)
    now = utc_now()
    first = await _first_activity(osis, user) if days is None else None
    span = _span(days, now.date(), first)
    stats_call = osis.stats(m.StatsInput(user_sid=user, days=days))
    usage_call = osis.usage_summary(m.UsageSummaryInput(days=span, user_sid=user))
    if user is None:
        stats, usage = await asyncio.gather(stats_call, usage_call)
        users = usage.by_user
    else:
        # The user filter lists every user, not only the one shown.
        stats, usage, everyone = await asyncio.gather(
            stats_call, usage_call, osis.usage_summary(m.UsageSummaryInput(days=span))
        )
        users = everyone.by_user
    start = now.date() - timedelta(days=span - 1)
    return Dashboard(
        window=Window(days=days, span_days=span, start=start.isoformat(), end=now.date().isoformat()),
        user_sid=user,
        stats=stats,
        usage=usage,
        users=users,
        generated_at=now,
    )


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def page() -> HTMLResponse:
    # Revalidated on every load so a new version of the page is picked up at once.
    return HTMLResponse(STATIC.joinpath("index.html").read_text(encoding="utf-8"),
                        headers={"Cache-Control": "no-cache"})
