"""Substring search: hostile input, exactness against an oracle, freshness, updates."""

from __future__ import annotations

import random
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from osis.store import Aggregation, Cond, Engine, Metric, Query
from osis.store.codec import format_time
from osis.store.postgres import PostgresEngine
from osis.store.sqlite import SqliteEngine

from . import oracle
from .conftest import AUDIT

HOSTILE = [
    '"', '""', '"*"', "*", "%", "_", "%_%", "\\", "\\%", "'", "''", "OR", "or", "AND", "NOT", "NEAR",
    "a OR b", "NEAR(a b)", "col:val", "^", "(", ")", "{x}", "-", "--", "+", "select * from audit",
    "日本", "日本語", "🙂", "emoji🙂", "ß", "STRASSE", "naïve", "NAÏVE", "ünïcödé", "ÜNÏCÖDÉ", "İ", "k",
    "\u212a", "\t", "\n", "tab\th", "  ", "ab", "abc", "ABC", "x%y", "50_50", "back\\sl", "it's", "100%",
]


@pytest.fixture
def searchable(audit_engine: Engine) -> tuple[Engine, list[dict[str, Any]]]:
    rng = random.Random(3)
    docs = [oracle.random_audit(rng) for _ in range(250)]
    sids = audit_engine.insert_many("audit", docs)
    return audit_engine, [{"sid": s, **d} for s, d in zip(sids, docs)]


def _check(engine: Engine, docs: list[dict[str, Any]], needle: str, **extra: Any) -> None:
    query = Query(search=needle, **extra)
    expected = [d["sid"] for d in oracle.select(AUDIT, docs, query)]
    assert [d["sid"] for d in engine.find("audit", query)] == expected, needle
    assert engine.count("audit", Query(search=needle)) == len(oracle.select(AUDIT, docs, Query(search=needle)))


def _index_everything(engine: Engine) -> None:
    assert isinstance(engine, (SqliteEngine, PostgresEngine))
    engine.index_search()
    assert engine.search_backlog("audit") == 0


@pytest.mark.parametrize("indexed", [False, True], ids=["tail", "indexed"])
def test_hostile_needles_are_literal(searchable: tuple[Engine, list[dict[str, Any]]], indexed: bool) -> None:
    engine, docs = searchable
    if indexed:
        _index_everything(engine)
    for needle in HOSTILE + oracle.WORDS:
        _check(engine, docs, needle)
        _check(engine, docs, needle, order_by="created_at", descending=True, limit=3)


def test_random_needles_match_the_oracle(searchable: tuple[Engine, list[dict[str, Any]]]) -> None:
    engine, docs = searchable
    _index_everything(engine)

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.one_of(
            st.text(min_size=1, max_size=8),
            st.text(alphabet=string.ascii_letters + '"*%_ ()\\\'', min_size=1, max_size=6),
            st.sampled_from([d.get("arguments") or "x" for d in docs]).flatmap(
                lambda text: st.integers(0, len(text)).flatmap(
                    lambda i: st.integers(i, len(text)).map(lambda j: text[i:j].swapcase() or "q")
                )
            ),
        )
    )
    def check(needle: str) -> None:
        if "\x00" in needle or any(0xD800 <= ord(c) <= 0xDFFF for c in needle):
            return
        _check(engine, docs, needle)

    check()


def test_search_combines_with_filters_order_and_aggregation(searchable: tuple[Engine, list[dict[str, Any]]]) -> None:
    engine, docs = searchable
    _index_everything(engine)
    filters = [Cond("user_sid", "in", ["u1", "u2"]), Cond("success", "eq", True)]
    for needle in ("error", "a", "abc", "日本"):
        _check(engine, docs, needle, filters=filters, order_by="tool_name", limit=7, offset=2)
        agg = Aggregation(group_by=["user_sid"], metrics=[Metric("count")], search=needle, filters=filters[1:])
        assert engine.aggregate("audit", agg) == oracle.aggregate(AUDIT, docs, agg)


def test_a_match_never_spans_two_fields(audit_engine: Engine) -> None:
    audit_engine.insert("audit", {"arguments": "left", "result_preview": "right"})
    for needle in ("leftright", "left right", "left\nright", "ftri"):
        assert audit_engine.find("audit", Query(search=needle)) == []
    assert audit_engine.find("audit", Query(search="TR")) == []  # "lef[t" + "r]ight"
    assert len(audit_engine.find("audit", Query(search="EfT"))) == 1


def test_a_term_in_either_field_in_any_order(audit_engine: Engine) -> None:
    """The term in the preview of some documents and in the arguments of others, in
    runs and alternating, and only outside the search fields of others."""
    docs = []
    for i, where in enumerate("PPAAPAPPPAXAXPA"):  # P: result_preview, A: arguments, X: tool_name only
        doc = {"created_at": format_time(oracle.BASE_TIME + i), "arguments": f"args {i}", "result_preview": f"pre {i}"}
        if where == "A":
            doc["arguments"] += " Hit"
        elif where == "P":
            doc["result_preview"] += " hit"
        else:
            doc["tool_name"] = "hit"
        docs.append(doc)
    sids = audit_engine.insert_many("audit", docs)
    stored = [{"sid": s, **d} for s, d in zip(sids, docs)]
    for query in (
        Query(search="hit"),
        Query(search="HIT", order_by="created_at", descending=True, limit=5, offset=2),
        Query(search="hIt", order_by="created_at", limit=100),
    ):
        expected = [d["sid"] for d in oracle.select(AUDIT, stored, query)]
        assert [d["sid"] for d in audit_engine.find("audit", query)] == expected, query


def test_just_written_entries_are_found_at_once(audit_engine: Engine) -> None:
    audit_engine.insert_many("audit", [{"arguments": f"filler {i}"} for i in range(200)])
    _index_everything(audit_engine)
    for i in range(20):
        sid = audit_engine.insert("audit", {"arguments": f"needle-{i}-Fresh"})["sid"]
        assert [d["sid"] for d in audit_engine.find("audit", Query(search=f"NEEDLE-{i}-fresh"))] == [sid]
        assert audit_engine.count("audit", Query(search="-fresh")) == i + 1


def test_replaced_and_deleted_rows_leave_the_index_exact(audit_engine: Engine) -> None:
    sids = audit_engine.insert_many("audit", [{"arguments": f"alpha {i}", "result_preview": "beta"} for i in range(50)])
    _index_everything(audit_engine)
    audit_engine.replace("audit", {"sid": sids[3], "arguments": "gamma", "result_preview": "beta"})
    audit_engine.delete("audit", sids[4])
    audit_engine.increment("audit", sids[5], "attempt", set_fields={"arguments": "delta"})
    audit_engine.increment("audit", sids[6], "attempt")  # search text unchanged
    assert [d["sid"] for d in audit_engine.find("audit", Query(search="gamma"))] == [sids[3]]
    assert [d["sid"] for d in audit_engine.find("audit", Query(search="delta"))] == [sids[5]]
    alpha = [d["sid"] for d in audit_engine.find("audit", Query(search="alpha"))]
    assert alpha == [s for i, s in enumerate(sids) if i not in (3, 4, 5)]
    assert audit_engine.count("audit", Query(search="beta")) == 49
    # An explicit sid below the indexed range is searchable at once.
    audit_engine.insert("audit", {"sid": "0000", "arguments": "epsilon"})
    assert [d["sid"] for d in audit_engine.find("audit", Query(search="epsilon"))] == ["0000"]
    _index_everything(audit_engine)
    assert [d["sid"] for d in audit_engine.find("audit", Query(search="epsilon"))] == ["0000"]
    assert audit_engine.count("audit", Query(search="alpha")) == 47


def test_empty_search_means_no_search(audit_engine: Engine) -> None:
    audit_engine.insert_many("audit", [{"arguments": "x"}, {}])
    assert len(audit_engine.find("audit", Query(search=""))) == 2
