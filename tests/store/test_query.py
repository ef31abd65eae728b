"""find/count against a plain-Python oracle over the same seeded random data."""

from __future__ import annotations

import random
from typing import Any

import pytest

from osis.store import Cond, Engine, InvalidQuery, Query

from . import oracle
from .conftest import AUDIT


@pytest.fixture
def loaded(audit_engine: Engine) -> tuple[Engine, list[dict[str, Any]]]:
    rng = random.Random(7)
    docs = [oracle.random_audit(rng) for _ in range(300)]
    sids = audit_engine.insert_many("audit", docs[:200])
    sids += [audit_engine.insert("audit", d)["sid"] for d in docs[200:]]
    return audit_engine, [{"sid": s, **d} for s, d in zip(sids, docs)]


def _sids(docs: list[dict[str, Any]]) -> list[str]:
    return [d["sid"] for d in docs]


def test_random_queries_match_the_oracle(loaded: tuple[Engine, list[dict[str, Any]]]) -> None:
    engine, docs = loaded
    rng = random.Random(11)
    for _ in range(250):
        query = oracle.random_query(rng, AUDIT, docs)
        expected = oracle.select(AUDIT, docs, query)
        assert _sids(engine.find("audit", query)) == _sids(expected), query
        unlimited = Query(filters=query.filters, search=query.search)
        assert engine.count("audit", query) == len(oracle.select(AUDIT, docs, unlimited)), query


@pytest.mark.parametrize("field", [f.name for f in AUDIT.indexed])
def test_every_operator_on_every_kind(loaded: tuple[Engine, list[dict[str, Any]]], field: str) -> None:
    engine, docs = loaded
    for op in ("eq", "in", "gt", "gte", "lt", "lte"):
        rng = random.Random(f"{op}{field}")
        for _ in range(5):
            value: Any = oracle.random_value(rng, AUDIT, docs, field)
            if op == "in":
                value = [value, oracle.random_value(rng, AUDIT, docs, field)]
            query = Query(filters=[Cond(field, op, value)], order_by=field)  # type: ignore[arg-type]
            assert _sids(engine.find("audit", query)) == _sids(oracle.select(AUDIT, docs, query)), query


def test_null_filter_and_null_ordering(loaded: tuple[Engine, list[dict[str, Any]]]) -> None:
    engine, docs = loaded
    missing = Query(filters=[Cond("score", "eq", None)])
    assert _sids(engine.find("audit", missing)) == _sids(oracle.select(AUDIT, docs, missing))
    assert engine.find("audit", missing)
    for descending in (False, True):
        query = Query(order_by="score", descending=descending)
        result = engine.find("audit", query)
        assert _sids(result) == _sids(oracle.select(AUDIT, docs, query))
        nulls_first = result[0].get("score") is None
        assert nulls_first is (not descending)


def test_default_order_is_sid_and_offset_without_limit(loaded: tuple[Engine, list[dict[str, Any]]]) -> None:
    engine, docs = loaded
    assert _sids(engine.find("audit")) == _sids(docs)
    assert _sids(engine.find("audit", Query(offset=295))) == _sids(docs[295:])
    assert engine.find("audit", Query(limit=0)) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (Query(filters=[Cond("arguments", "eq", "x")]), "cannot filter on 'arguments'; indexed fields of 'audit': attempt, created_at, level, score, success, tool_name, user_sid"),
        (Query(filters=[Cond("duration_ms", "gt", 1)]), "cannot filter on 'duration_ms'"),
        (Query(filters=[Cond("attempt", "like", 1)]), "unknown operator 'like' on 'attempt'"),  # type: ignore[arg-type]
        (Query(filters=[Cond("attempt", "eq", "1")]), "filter on 'attempt' \\(int\\): expected an integer, got str"),
        (Query(filters=[Cond("success", "eq", 1)]), "'success' \\(bool\\)"),
        (Query(filters=[Cond("created_at", "gt", "soon")]), "'created_at' \\(time\\)"),
        (Query(filters=[Cond("score", "gt", None)]), "'score' \\(float\\)"),
        (Query(filters=[Cond("level", "in", "low")]), "'in' on 'level' needs a list"),
        (Query(order_by="arguments"), "cannot order by 'arguments'"),
        (Query(limit=-1), "limit must be a non-negative integer"),
        (Query(offset=True), "offset must be"),  # type: ignore[arg-type]
        (Query(search="a\x00b"), "NUL"),
        (Query(search=5), "search must be a string"),  # type: ignore[arg-type]
        (Query(cursor="garbage!"), "not a valid paging cursor"),
        (Query(filters="tool_name"), "filters must be a list"),  # type: ignore[arg-type]
    ],
)
def test_bad_queries_raise_invalid_query(audit_engine: Engine, query: Query, message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        audit_engine.find("audit", query)


@pytest.mark.parametrize(
    ("valid", "invalid", "message"),
    [
        (Cond("success", "eq", True), Cond("success", "eq", 1), "'success' \\(bool\\)"),
        (Cond("attempt", "eq", 1), Cond("attempt", "eq", 1.0), "'attempt' \\(int\\)"),
        (Cond("success", "in", (True,)), Cond("success", "in", (1,)), "'success' \\(bool\\)"),
        (Cond("success", "in", frozenset({True})), Cond("success", "in", frozenset({1})), "'success' \\(bool\\)"),
        (Query(limit=1), Query(limit=True), "limit must be"),  # type: ignore[arg-type]
        (Query(offset=1), Query(offset=True), "offset must be"),  # type: ignore[arg-type]
        (Query(descending=True), Query(descending=1), "descending must be"),  # type: ignore[arg-type]
    ],
)
def test_an_equal_value_of_another_type_is_validated_afresh(
    audit_engine: Engine, valid: Cond | Query, invalid: Cond | Query, message: str
) -> None:
    # Resolutions are memoised, and 1 == 1.0 == True: the memo must not let the second,
    # invalid query reuse the first one's resolution.
    def query(part: Cond | Query) -> Query:
        return part if isinstance(part, Query) else Query(filters=[part])

    assert valid == invalid or query(valid) == query(invalid)
    audit_engine.find("audit", query(valid))
    with pytest.raises(InvalidQuery, match=message):
        audit_engine.find("audit", query(invalid))


def test_search_on_a_collection_without_search_fields(make_engine: Any) -> None:
    from osis.store import CollectionSpec, IndexedField

    engine = make_engine([CollectionSpec("plain", (IndexedField("a", "int"),))])
    with pytest.raises(InvalidQuery, match="no search fields"):
        engine.find("plain", Query(search="x"))
    with pytest.raises(InvalidQuery):
        engine.find("plain", "not a query")  # type: ignore[arg-type]
