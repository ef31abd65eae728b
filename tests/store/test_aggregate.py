"""aggregate() against the oracle: by field, by UTC day, windows, ordering, limits."""

from __future__ import annotations

import random
from typing import Any

import pytest

from osis.store import Aggregation, Cond, Day, Engine, InvalidQuery, Metric

from . import oracle
from .conftest import AUDIT

METRICS = [
    Metric("count"),
    Metric("count", "score", name="scored"),
    Metric("sum", "duration_ms"),
    Metric("avg", "duration_ms"),
    Metric("min", "cost"),
    Metric("max", "attempt"),
    Metric("sum", "cost"),
]


@pytest.fixture
def loaded(audit_engine: Engine) -> tuple[Engine, list[dict[str, Any]]]:
    rng = random.Random(9)
    docs = [oracle.random_audit(rng) for _ in range(400)]
    # A few timestamps just around UTC midnight and before 1970 test day bucketing.
    docs[0]["created_at"] = "2026-09-21T23:59:59Z"
    docs[1]["created_at"] = "2026-09-22T00:00:00Z"
    docs[2]["created_at"] = "2026-09-22T01:00:00+02:00"
    docs[3]["created_at"] = "1969-12-31T23:59:59Z"
    sids = audit_engine.insert_many("audit", docs)
    return audit_engine, [{"sid": s, **d} for s, d in zip(sids, docs)]


@pytest.mark.parametrize(
    "agg",
    [
        Aggregation(metrics=METRICS),
        Aggregation(group_by=["tool_name"], metrics=METRICS),
        Aggregation(group_by=[Day("created_at")], metrics=METRICS),
        Aggregation(group_by=["user_sid", Day("created_at")], metrics=[Metric("count"), Metric("sum", "duration_ms")]),
        Aggregation(group_by=["success", "level"], metrics=[Metric("count")], order_by="count", limit=4),
        Aggregation(group_by=["created_at"], metrics=[Metric("count")]),
        Aggregation(group_by=["tool_name"], metrics=[Metric("sum", "duration_ms")], order_by="sum_duration_ms", descending=False),
        Aggregation(
            group_by=[Day("created_at")],
            metrics=[Metric("count"), Metric("avg", "cost")],
            filters=[Cond("created_at", "gte", "2026-09-23T00:00:00Z"), Cond("created_at", "lt", "2026-09-27T00:00:00Z")],
        ),
        Aggregation(group_by=["user_sid"], metrics=[Metric("count")], filters=[Cond("tool_name", "eq", "nothing")]),
        Aggregation(metrics=[Metric("count"), Metric("sum", "cost")], filters=[Cond("tool_name", "eq", "nothing")]),
        Aggregation(group_by=["attempt"], metrics=[Metric("count"), Metric("max", "score")], order_by="count", limit=3),
        Aggregation(
            group_by=["tool_name"],
            metrics=[Metric("percentile", "duration_ms", q=0.5), Metric("percentile", "duration_ms", q=0.95),
                     Metric("percentile", "score", q=1.0), Metric("count"), Metric("avg", "cost")],
        ),
        Aggregation(metrics=[Metric("percentile", "cost", "p90", q=0.9)], filters=[Cond("success", "eq", True)]),
        Aggregation(group_by=[Day("created_at")], metrics=[Metric("percentile", "attempt", q=0.25)], order_by="p25_attempt"),
    ],
    ids=lambda a: repr(a)[:80],
)
def test_aggregations_match_the_oracle(loaded: tuple[Engine, list[dict[str, Any]]], agg: Aggregation) -> None:
    engine, docs = loaded
    oracle.assert_same_rows(engine.aggregate("audit", agg), oracle.aggregate(AUDIT, docs, agg))


def test_day_groups_are_utc_calendar_days(loaded: tuple[Engine, list[dict[str, Any]]]) -> None:
    engine, _ = loaded
    rows = engine.aggregate(
        "audit",
        Aggregation(group_by=[Day("created_at")], filters=[Cond("created_at", "lt", "2026-09-22T00:30:00Z"), Cond("created_at", "gte", "2026-09-21T23:59:59Z")]),
    )
    assert rows == [{"created_at_day": "2026-09-21", "count": 1}, {"created_at_day": "2026-09-22", "count": 2}]
    early = engine.aggregate("audit", Aggregation(group_by=[Day("created_at")], filters=[Cond("created_at", "lt", "1970-01-02T00:00:00Z")]))
    assert early == [{"created_at_day": "1969-12-31", "count": 1}]


@pytest.mark.parametrize(
    ("agg", "message"),
    [
        (Aggregation(group_by=["arguments"]), "cannot group by 'arguments'"),
        (Aggregation(group_by=[Day("tool_name")]), "Day\\(\\) needs a time field"),
        (Aggregation(metrics=[Metric("sum", "tool_name")]), "cannot compute sum of 'tool_name'; numeric fields: attempt, cost, duration_ms, score"),
        (Aggregation(metrics=[Metric("sum")]), "cannot compute sum of None"),
        (Aggregation(metrics=[Metric("percentile", "cost", q=1.5)]), "0 < q <= 1"),
        (Aggregation(metrics=[Metric("percentile", "cost")]), "0 < q <= 1"),
        (Aggregation(metrics=[Metric("sum", "cost", q=0.5)]), "only percentile"),
        (Aggregation(metrics=[Metric("median", "cost")]), "op one of"),  # type: ignore[arg-type]
        (Aggregation(metrics=[]), "at least one metric"),
        (Aggregation(order_by="nope"), "order_by must name a metric"),
        (Aggregation(group_by=["attempt"], metrics=[Metric("count", name="attempt")]), "collide"),
        (Aggregation(limit=-2), "limit"),
        (Aggregation(group_by="tool_name"), "group_by must be a list"),  # type: ignore[arg-type]
    ],
)
def test_bad_aggregations(audit_engine: Engine, agg: Aggregation, message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        audit_engine.aggregate("audit", agg)
