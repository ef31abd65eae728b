"""GET /api/audit, /api/usage, /api/stats and /api/dashboard against plain-Python oracles
over the seeded data, on both engines."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import pytest
from osis_ai import models as m

from osis.scalars import format_otime
from tests.ai import seed
from tests.rest.conftest import Seeded


def _audit_keys(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["created_at"], e["sid"]) for e in items]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"tool_name": "web_search"},
        {"user_sid": "u2", "success": "false"},
        {"success": "true", "tool_name": "shell"},
        {"q": "PARIS"},
        {"q": "needle-1"},
        {"since_days": 10},
        {"until_days": 5, "user_sid": "u1"},
        {"since_days": 20, "until_days": 2, "q": "report"},
        {"tool_name": "", "user_sid": "", "q": ""},  # empty filters are no filters
    ],
)
def test_audit_matches_the_oracle(seeded: Seeded, params: dict[str, Any]) -> None:
    now = seed.now()
    query: dict[str, Any] = {k: v for k, v in params.items() if not k.endswith("_days")}
    since = now - timedelta(days=params["since_days"]) if "since_days" in params else None
    until = now - timedelta(days=params["until_days"]) if "until_days" in params else None
    if since:
        query["since"] = format_otime(since)
    if until:
        query["until"] = format_otime(until)

    def keep(e: m.AgentAuditEntry) -> bool:
        q = params.get("q")
        return (
            all(not params.get(f) or getattr(e, f) == params[f] for f in ("tool_name", "user_sid"))
            and ("success" not in params or e.success == (params["success"] == "true"))
            and (since is None or e.created_at >= since)
            and (until is None or e.created_at < until)
            and (not q or any(q.lower() in t.lower() for t in (e.arguments, e.result_preview)))
        )

    expected = sorted((e for e in seeded.audit if keep(e)), key=lambda e: (e.created_at, e.sid), reverse=True)
    answer = seeded.http.get("/api/audit", params={**query, "limit": 20, "offset": 2})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == len(expected)
    assert _audit_keys(body["items"]) == [(format_otime(e.created_at), e.sid) for e in expected[2:22]]


def test_audit_items_are_whole_entries_with_rfc3339_times(seeded: Seeded) -> None:
    body = seeded.http.get("/api/audit", params={"limit": 1}).json()
    newest = max(seeded.audit, key=lambda e: (e.created_at, e.sid))
    assert body["items"] == [newest.model_dump(mode="json")]
    assert body["items"][0]["created_at"].endswith("Z")
    assert len(seeded.http.get("/api/audit").json()["items"]) == 50  # the default page


def test_audit_accepts_rfc3339_with_an_offset(seeded: Seeded) -> None:
    moment = seed.now() - timedelta(days=3)
    same_instant = moment.astimezone(timezone(timedelta(hours=2))).isoformat()  # ...T14:00:00+02:00
    shifted = seeded.http.get("/api/audit", params={"since": same_instant}).json()
    utc = seeded.http.get("/api/audit", params={"since": format_otime(moment)}).json()
    assert shifted["total"] == utc["total"] == sum(1 for e in seeded.audit if e.created_at >= moment)


@pytest.mark.parametrize("days,user,model", [(30, None, None), (7, "u1", None), (45, None, "claude-haiku"), (1, None, None)])
def test_usage_matches_the_oracle(seeded: Seeded, days: int, user: str | None, model: str | None) -> None:
    params: dict[str, Any] = {"days": days}
    if user:
        params["user_sid"] = user
    if model:
        params["model"] = model
    answer = seeded.http.get("/api/usage", params=params)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    want = seed.usage_oracle(seeded.usage, days, user, model)
    assert got["totals"] == want["totals"]
    assert {r["model"]: {k: v for k, v in r.items() if k != "model"} for r in got["by_model"]} == want["by_model"]
    assert [r["total_tokens"] for r in got["by_model"]] == sorted((r["total_tokens"] for r in got["by_model"]), reverse=True)
    assert {r["user_sid"]: (r["total_tokens"], r["calls"]) for r in got["by_user"]} == {
        k: (v["total_tokens"], v["calls"]) for k, v in want["by_user"].items()
    }
    assert [d["date"] for d in got["daily"]] == [
        (seed.now().date() - timedelta(days=i)).isoformat() for i in range(days - 1, -1, -1)
    ]
    zero = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "calls": 0}
    for day in got["daily"]:
        assert {k: v for k, v in day.items() if k != "date"} == want["by_day"].get(day["date"], zero)
    assert sum(r["total_tokens"] for r in got["daily_by_model"]) == want["totals"]["total_tokens"]


def test_usage_defaults_to_30_days(seeded: Seeded) -> None:
    body = seeded.http.get("/api/usage").json()
    assert len(body["daily"]) == 30
    assert body["totals"] == seed.usage_oracle(seeded.usage, 30, None, None)["totals"]


STAT_FIELDS = {
    "tool_calls", "tool_success_rate", "avg_tool_duration_ms", "total_tokens", "tokens_today",
    "memories", "conversations", "messages", "top_tools", "top_models",
}


def stats_oracle(data: Seeded, user: str | None, days: int | None) -> dict[str, Any]:
    """The /api/stats numbers computed in Python: tool and token numbers within the
    window, stored objects (memories, conversations, messages) of the user at any time."""
    def mine(record: Any) -> bool:
        return user is None or bool(record.user_sid == user)

    audit = [e for e in data.audit if mine(e) and seed.in_window(e.created_at, days)]
    usage = [e for e in data.usage if mine(e) and seed.in_window(e.created_at, days)]
    today = [e for e in data.usage if mine(e) and seed.in_window(e.created_at, 1)]
    tools: dict[str, int] = {}
    for e in audit:
        tools[e.tool_name] = tools.get(e.tool_name, 0) + 1
    models: dict[str, int] = {}
    for u in usage:
        models[u.model] = models.get(u.model, 0) + u.total_tokens
    return {
        "tool_calls": len(audit),
        "tool_success_rate": sum(e.success for e in audit) / len(audit) if audit else 0.0,
        "avg_tool_duration_ms": sum(e.duration_ms for e in audit) / len(audit) if audit else 0.0,
        "total_tokens": sum(u.total_tokens for u in usage),
        "tokens_today": sum(u.total_tokens for u in today),
        "memories": sum(1 for x in data.memories if mine(x)),
        "conversations": sum(1 for x in data.conversations if mine(x)),
        "messages": sum(1 for x in data.messages if mine(x)),
        "top_tools": tools,
        "top_models": models,
    }


def assert_stats_equal(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert set(got) == STAT_FIELDS
    for key in ("tool_calls", "total_tokens", "tokens_today", "memories", "conversations", "messages"):
        assert got[key] == want[key], key
    assert got["tool_success_rate"] == pytest.approx(want["tool_success_rate"])
    assert got["avg_tool_duration_ms"] == pytest.approx(want["avg_tool_duration_ms"])
    # The seed has fewer than ten tools and models, so "top ten" is all of them, largest first.
    assert {t["tool_name"]: t["count"] for t in got["top_tools"]} == want["top_tools"]
    assert [t["count"] for t in got["top_tools"]] == sorted(want["top_tools"].values(), reverse=True)
    assert {t["model"]: t["total_tokens"] for t in got["top_models"]} == want["top_models"]
    assert [t["total_tokens"] for t in got["top_models"]] == sorted(want["top_models"].values(), reverse=True)


@pytest.mark.parametrize("user,days", [(None, None), ("u3", None), (None, 7), ("u1", 30), (None, 1)])
def test_stats_match_the_oracle(seeded: Seeded, user: str | None, days: int | None) -> None:
    params: dict[str, Any] = {}
    if user:
        params["user_sid"] = user
    if days:
        params["days"] = days
    answer = seeded.http.get("/api/stats", params=params)
    assert answer.status_code == 200, answer.text
    assert_stats_equal(answer.json(), stats_oracle(seeded, user, days))


def test_stats_of_an_empty_store(http: Any) -> None:
    body = http.get("/api/stats").json()
    assert body == {
        "tool_calls": 0, "tool_success_rate": 0.0, "avg_tool_duration_ms": 0.0, "total_tokens": 0,
        "tokens_today": 0, "memories": 0, "conversations": 0, "messages": 0, "top_tools": [], "top_models": [],
    }


@pytest.mark.parametrize("user,days", [(None, None), ("u2", 7)])
def test_dashboard_agrees_with_stats_and_usage(seeded: Seeded, user: str | None, days: int | None) -> None:
    params: dict[str, Any] = {}
    if user:
        params["user_sid"] = user
    if days:
        params["days"] = days
    board = seeded.http.get("/api/dashboard", params=params).json()
    stats = seeded.http.get("/api/stats", params=params).json()
    assert {k: v for k, v in board["stats"].items() if k in STAT_FIELDS} == stats
    assert_stats_equal(stats, stats_oracle(seeded, user, days))

    today = seed.now().date()
    if days is None:
        # All time: the axis starts on the day of the oldest tool or model call in scope.
        records: list[m.AgentAuditEntry | m.AgentUsageEntry] = [*seeded.audit, *seeded.usage]
        first = min(e.created_at for e in records if user is None or e.user_sid == user)
        span = (today - first.date()).days + 1
    else:
        span = days
    assert board["window"] == {"days": days, "span_days": span,
                               "start": (today - timedelta(days=span - 1)).isoformat(), "end": today.isoformat()}
    assert board["usage"] == seeded.http.get("/api/usage", params={**params, "days": span}).json()
    # The user filter offers every user with usage in the window, whichever is shown.
    everyone = seeded.http.get("/api/usage", params={"days": span}).json()["by_user"]
    assert board["users"] == everyone
    assert board["user_sid"] == user
    # Per-tool percentiles and daily calls for the charts.
    tools = {t["tool_name"]: t for t in board["stats"]["tools"]}
    assert {name: t["calls"] for name, t in tools.items()} == stats_oracle(seeded, user, days)["top_tools"]
    assert all(t["p50_duration_ms"] <= t["p95_duration_ms"] for t in tools.values())
    assert sum(d["calls"] for d in board["stats"]["tool_calls_daily"]) == stats["tool_calls"]


def test_dashboard_of_an_empty_store_spans_a_week(http: Any) -> None:
    board = http.get("/api/dashboard").json()
    assert board["window"]["span_days"] == 7
    assert len(board["usage"]["daily"]) == 7
    assert board["users"] == [] and board["stats"]["tool_calls"] == 0
