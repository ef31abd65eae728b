"""Random test data and a plain-Python oracle for queries, search and aggregation."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone
from typing import Any

from osis.store import Aggregation, Cond, Day, Query, fold_ascii, sid_to_key
from osis.store.codec import format_day, format_time, normalise
from osis.store.spec import CollectionSpec

TOOLS = ["grep", "Grep", "read_file", "ツール", "a", "run shell"]
WORDS = [
    "error", "Error", "ERR", "path", "/home/u", "100%", "50_50", "a_b", "x%y", '"quoted"', "it's",
    "OR", "AND", "NOT", "NEAR(a b)", "*star*", "col:val", "^caret", "back\\slash", "naïve", "Ünïcödé",
    "straße", "日本語", "🙂", "emoji🙂mix", "tab\there", "new\nline", "(", ")", "{", "}", "--", ";",
    "select * from x", "  ", "ab", "abc", "abcd", "xyz", "İstanbul", "KELVIN\u212a",
]
BASE_TIME = 1_790_000_000  # 2026-09-21


def random_text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def random_time(rng: random.Random) -> str:
    epoch = BASE_TIME + rng.randrange(0, 12 * 86400, rng.choice([1, 3600, 86400]))
    text = format_time(epoch)
    variant = rng.random()
    if variant < 0.1:  # same instant written with an offset
        return format_time(epoch + 7200).replace("Z", "+02:00")
    if variant < 0.2:
        return text.replace("Z", ".250Z")
    return text


def random_audit(rng: random.Random) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "tool_name": rng.choice(TOOLS),
        "user_sid": f"u{rng.randint(1, 5)}",
        "success": rng.random() < 0.7,
        "created_at": random_time(rng),
        "score": round(rng.uniform(-2, 2), 1),
        "level": rng.choice(["low", "mid", "high"]),
        "attempt": rng.randint(-3, 3),
        "duration_ms": rng.randint(0, 5000),
        "cost": round(rng.uniform(0, 1), 3),
        "arguments": random_text(rng, rng.randint(0, 6)),
        "result_preview": random_text(rng, rng.randint(0, 3)),
        "nested": {"k": [1, 2.5, None, True, "s"], "deep": {"x": rng.random()}},
    }
    # Missing and null values exercise NULL filtering and ordering.
    for field in ("tool_name", "success", "created_at", "score", "attempt", "result_preview", "cost"):
        if rng.random() < 0.08:
            if rng.random() < 0.5:
                del doc[field]
            else:
                doc[field] = None
    if rng.random() < 0.1:
        doc["score"] = rng.randint(-2, 2)  # ints are valid float values
    return doc


def column_value(spec: CollectionSpec, doc: dict[str, Any], field: str) -> Any:
    value = doc.get(field)
    if value is None:
        return None
    return normalise(spec.columns()[field].kind, value)


def cond_matches(spec: CollectionSpec, doc: dict[str, Any], cond: Cond) -> bool:
    kind = spec.columns()[cond.field].kind
    value = column_value(spec, doc, cond.field)
    if cond.op == "eq" and cond.value is None:
        return value is None
    if value is None:
        return False
    if cond.op == "in":
        return value in [normalise(kind, v) for v in cond.value]
    target = normalise(kind, cond.value)
    return {
        "eq": value == target,
        "gt": value > target,
        "gte": value >= target,
        "lt": value < target,
        "lte": value <= target,
    }[cond.op]


def search_matches(spec: CollectionSpec, doc: dict[str, Any], needle: str | None) -> bool:
    if not needle:
        return True
    folded = fold_ascii(needle)
    return any(folded in fold_ascii(doc.get(f) or "") for f in spec.search)


def select(spec: CollectionSpec, docs: list[dict[str, Any]], query: Query) -> list[dict[str, Any]]:
    """What find() must return, in order."""
    rows = [
        d for d in docs
        if all(cond_matches(spec, d, c) for c in query.filters) and search_matches(spec, d, query.search)
    ]

    def key(d: dict[str, Any]) -> tuple[Any, ...]:
        tie = sid_to_key(d["sid"])
        if query.order_by in (None, "sid"):
            return (tie,)
        value = column_value(spec, d, query.order_by)
        return (value is not None, value if value is not None else 0, tie)

    rows.sort(key=key, reverse=query.descending)
    rows = rows[query.offset:]
    return rows if query.limit is None else rows[: query.limit]


def random_value(rng: random.Random, spec: CollectionSpec, docs: list[dict[str, Any]], field: str) -> Any:
    present = [d[field] for d in docs if d.get(field) is not None]
    if present and rng.random() < 0.8:
        return rng.choice(present)
    kind = spec.columns()[field].kind
    return {
        "str": lambda: rng.choice(TOOLS + ["zzz", ""]),
        "enum": lambda: rng.choice(["low", "mid", "high", "none"]),
        "int": lambda: rng.randint(-5, 5),
        "float": lambda: rng.uniform(-3, 3),
        "bool": lambda: rng.random() < 0.5,
        "time": lambda: format_time(BASE_TIME + rng.randrange(-86400, 14 * 86400)),
    }[kind]()


def random_query(rng: random.Random, spec: CollectionSpec, docs: list[dict[str, Any]]) -> Query:
    fields = [f.name for f in spec.indexed]
    filters = []
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        field = rng.choice(fields)
        op = rng.choice(["eq", "in", "gt", "gte", "lt", "lte"])
        if op == "in":
            value: Any = [random_value(rng, spec, docs, field) for _ in range(rng.randint(0, 3))]
        elif op == "eq" and rng.random() < 0.1:
            value = None
        else:
            value = random_value(rng, spec, docs, field)
        filters.append(Cond(field, op, value))  # type: ignore[arg-type]
    return Query(
        filters=filters,
        search=rng.choice([None, None, None, "error", "a", "ab", "abc", "%", "_"]),
        order_by=rng.choice([None, "sid", *fields]),
        descending=rng.random() < 0.5,
        limit=rng.choice([None, 0, 1, 5, 20]),
        offset=rng.choice([0, 0, 0, 1, 7]),
    )


def assert_same_rows(actual: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """Aggregation rows equal to :func:`aggregate`'s, floats to rounding (sums run in
    another order on the server) but still floats."""
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert a.keys() == e.keys()
        for key, value in e.items():
            if isinstance(value, float):
                assert math.isclose(a[key], value, rel_tol=1e-9, abs_tol=1e-9), key
                assert isinstance(a[key], float), key
            else:
                assert a[key] == value and type(a[key]) is type(value), key


def aggregate(spec: CollectionSpec, docs: list[dict[str, Any]], agg: Aggregation) -> list[dict[str, Any]]:
    """What aggregate() must return (floats compared approximately by the caller)."""
    rows = [
        d for d in docs
        if all(cond_matches(spec, d, c) for c in agg.filters) and search_matches(spec, d, agg.search)
    ]
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for d in rows:
        key = []
        for g in agg.group_by:
            if isinstance(g, Day):
                value = column_value(spec, d, g.field)
                key.append(None if value is None else value // 86400)
            else:
                key.append(column_value(spec, d, g))
        groups.setdefault(tuple(key), []).append(d)
    if not agg.group_by and not groups:
        groups[()] = []
    out = []
    for key, members in groups.items():
        item: dict[str, Any] = {}
        for g, value in zip(agg.group_by, key):
            if isinstance(g, Day):
                item[g.key] = None if value is None else format_day(value)
            elif value is not None and spec.columns()[g].kind == "time":
                item[g] = format_time(value)
            else:
                item[g] = value
        for m in agg.metrics:
            values = [] if m.field is None else [
                column_value(spec, d, m.field) for d in members if d.get(m.field) is not None
            ]
            if m.op == "count":
                item[m.key] = len(members) if m.field is None else len(values)
            elif not values:
                item[m.key] = None
            elif m.op == "percentile":
                assert m.q is not None
                item[m.key] = sorted(values)[int(round(m.q * 10_000) * (len(values) - 1) // 10_000)]
            else:
                item[m.key] = {
                    "sum": sum, "min": min, "max": max, "avg": lambda v: sum(v) / len(v)
                }[m.op](values)
        out.append((key, item))

    def group_key(entry: tuple[tuple[Any, ...], dict[str, Any]]) -> tuple[Any, ...]:
        return tuple((v is not None, v if v is not None else 0) for v in entry[0])

    out.sort(key=group_key)
    if agg.order_by is not None:
        def metric_key(entry: tuple[tuple[Any, ...], dict[str, Any]]) -> tuple[Any, ...]:
            v = entry[1][agg.order_by]  # type: ignore[index]
            return (v is not None, v if v is not None else 0)

        # Stable sort: equal metrics keep the ascending group order, as in SQL.
        out.sort(key=metric_key, reverse=agg.descending)
    items = [item for _, item in out]
    return items if agg.limit is None else items[: agg.limit]


WINDOW_START = "2026-06-01T00:00:00Z"


def windowed_audit_log() -> list[dict[str, Any]]:
    """2400 audit entries before :data:`WINDOW_START` and 200 in the week from it, by
    user "busy" except 8 by user "rare": windowed aggregations must read the 200."""
    rng = random.Random(4)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    docs = []
    for i in range(2600):
        doc = random_audit(rng)
        day = rng.randint(0, 150) if i < 2400 else rng.randint(151, 157)  # day 151 is 2026-06-01
        doc["created_at"] = (start + timedelta(days=day, hours=rng.randint(0, 23))).strftime("%Y-%m-%dT%H:%M:%SZ")
        doc["user_sid"] = "rare" if i % 325 == 0 else "busy"
        docs.append(doc)
    return docs
