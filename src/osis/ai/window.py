"""UTC day windows: "the last N days, today included"."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


def window_days(days: int, now: datetime | None = None) -> list[date]:
    """The `days` UTC calendar days ending today, oldest first."""
    today = (now or utc_now()).astimezone(timezone.utc).date()
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
