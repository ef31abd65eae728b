"""Keyset paging: every row exactly once, in order, however the table changes."""

from __future__ import annotations

import random
from typing import Any

import pytest

from osis.store import Cond, Engine, InvalidQuery, Query

from . import oracle
from .conftest import AUDIT


def _walk(engine: Engine, query: Query) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(10_000):
        page = engine.find_page("audit", Query(**{**query.__dict__, "cursor": cursor}))
        seen += [d["sid"] for d in page.items]
        assert len(page.items) <= (query.limit or 100)
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("paging did not terminate")


@pytest.fixture
def loaded(audit_engine: Engine) -> tuple[Engine, list[dict[str, Any]]]:
    rng = random.Random(5)
    docs = [oracle.random_audit(rng) for _ in range(230)]
    sids = audit_engine.insert_many("audit", docs)
    return audit_engine, [{"sid": s, **d} for s, d in zip(sids, docs)]


@pytest.mark.parametrize("order_by", [None, "sid", "created_at", "score", "success", "tool_name", "attempt"])
def test_cursor_paging_visits_every_row_once_in_order(loaded: tuple[Engine, list[dict[str, Any]]], order_by: str | None) -> None:
    engine, docs = loaded
    for descending in (False, True):
        for size in (1, 7, 100):
            query = Query(order_by=order_by, descending=descending, limit=size)
            expected = [d["sid"] for d in oracle.select(AUDIT, docs, Query(order_by=order_by, descending=descending))]
            assert _walk(engine, query) == expected, (order_by, descending, size)


def test_cursor_paging_with_filters_and_search(loaded: tuple[Engine, list[dict[str, Any]]]) -> None:
    engine, docs = loaded
    for search in (None, "a", "error"):
        query = Query(filters=[Cond("success", "eq", True)], search=search, order_by="created_at", descending=True, limit=9)
        expected = [d["sid"] for d in oracle.select(AUDIT, docs, Query(**{**query.__dict__, "limit": None}))]
        assert _walk(engine, query) == expected


def test_rows_written_between_pages_are_neither_repeated_nor_skipped(audit_engine: Engine) -> None:
    audit_engine.insert_many("audit", [{"attempt": i % 3} for i in range(30)])
    query = Query(order_by="attempt", limit=4)
    page = audit_engine.find_page("audit", query)
    seen = [d["sid"] for d in page.items]
    audit_engine.delete("audit", seen[0])
    late = audit_engine.insert("audit", {"attempt": 2})["sid"]
    cursor = page.next_cursor
    while cursor:
        page = audit_engine.find_page("audit", Query(order_by="attempt", limit=4, cursor=cursor))
        seen += [d["sid"] for d in page.items]
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 31 and seen[-1] == late


def test_cursor_misuse_is_reported(loaded: tuple[Engine, list[dict[str, Any]]]) -> None:
    engine, _ = loaded
    page = engine.find_page("audit", Query(order_by="created_at", limit=5))
    assert page.next_cursor is not None
    with pytest.raises(InvalidQuery, match="different query"):
        engine.find_page("audit", Query(order_by="score", limit=5, cursor=page.next_cursor))
    with pytest.raises(InvalidQuery, match="cursor and an offset"):
        engine.find_page("audit", Query(order_by="created_at", limit=5, offset=1, cursor=page.next_cursor))
    with pytest.raises(InvalidQuery, match="limit of at least 1"):
        engine.find_page("audit", Query(limit=0))
    for bad in ("", "e30", "WzEsIngiLG51bGwsMV0", 42):
        with pytest.raises(InvalidQuery, match="cursor"):
            engine.find_page("audit", Query(cursor=bad))  # type: ignore[arg-type]


def test_default_page_size(loaded: tuple[Engine, list[dict[str, Any]]]) -> None:
    engine, docs = loaded
    page = engine.find_page("audit")
    assert [d["sid"] for d in page.items] == [d["sid"] for d in docs[:100]]


@pytest.mark.parametrize("field", ["limit", "offset"])
def test_counts_beyond_64_bits_are_invalid_queries(audit_engine: Engine, field: str) -> None:
    # Both engines bind them as signed 64-bit integers; SQLite used to fail with an OverflowError.
    assert audit_engine.find("audit", Query(**{field: 2**63 - 1})) == []
    with pytest.raises(InvalidQuery, match=f"{field} must be at most 9223372036854775807, got 9223372036854775808"):
        audit_engine.find("audit", Query(**{field: 2**63}))
