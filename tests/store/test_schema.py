"""Opening a populated store with a changed spec: additive changes apply, others are refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from osis.store import (
    CollectionSpec,
    Cond,
    Engine,
    IndexedField,
    InvalidSpec,
    Metric,
    Aggregation,
    Query,
    SchemaMismatch,
)

V1 = CollectionSpec(
    "memory",
    (IndexedField("user_sid", "str"), IndexedField("confidence", "float")),
    search=("value",),
    numeric=(IndexedField("access_count", "int"),),
)


def _populate(engine: Engine) -> None:
    engine.insert_many(
        "memory",
        [
            {"user_sid": f"u{i % 3}", "confidence": i / 10, "value": f"fact {i}", "category": ["a", "b"][i % 2],
             "access_count": i, "key": f"k{i}", "updated_at": f"2026-01-0{1 + i % 5}T00:00:00Z"}
            for i in range(40)
        ],
    )
    engine.insert("memory", {"user_sid": "u9", "value": "no category"})


def test_new_indexed_field_is_added_and_backfilled(make_engine: Callable[..., Engine]) -> None:
    engine = make_engine([V1])
    _populate(engine)
    engine.close()
    v2 = replace(V1, indexed=(*V1.indexed, IndexedField("category", "enum"), IndexedField("updated_at", "time")))
    engine = make_engine([v2])
    assert engine.count("memory", Query(filters=[Cond("category", "eq", "a")])) == 20
    assert engine.count("memory", Query(filters=[Cond("category", "eq", None)])) == 1
    newest = engine.find("memory", Query(order_by="updated_at", descending=True, limit=1))
    assert newest[0]["updated_at"] == "2026-01-05T00:00:00Z"
    # New writes maintain the new columns too.
    engine.insert("memory", {"category": "c", "value": "x"})
    assert engine.count("memory", Query(filters=[Cond("category", "eq", "c")])) == 1
    assert engine.collections["memory"] == v2


def test_numeric_field_becomes_indexed_and_fields_can_be_dropped(make_engine: Callable[..., Engine]) -> None:
    engine = make_engine([V1])
    _populate(engine)
    engine.close()
    v2 = replace(V1, indexed=(IndexedField("user_sid", "str"), IndexedField("access_count", "int")), numeric=())
    engine = make_engine([v2])
    assert engine.count("memory", Query(filters=[Cond("access_count", "gte", 30)])) == 10
    with pytest.raises(Exception, match="cannot filter on 'confidence'"):
        engine.find("memory", Query(filters=[Cond("confidence", "gt", 0.5)]))
    engine.close()
    # Re-adding a dropped field backfills it again from the documents.
    engine = make_engine([V1])
    assert engine.count("memory", Query(filters=[Cond("confidence", "gt", 0.55)])) == 34
    agg = engine.aggregate("memory", Aggregation(metrics=[Metric("sum", "access_count")]))
    assert agg == [{"sum_access_count": sum(range(40))}]


def test_search_fields_can_change(make_engine: Callable[..., Engine]) -> None:
    engine = make_engine([V1])
    _populate(engine)
    assert engine.count("memory", Query(search="k1")) == 0
    engine.close()
    engine = make_engine([replace(V1, search=("value", "key"))])
    assert engine.count("memory", Query(search="k1")) == 11  # k1, k10..k19
    assert engine.count("memory", Query(search="fact 3")) == 11
    engine.close()
    engine = make_engine([replace(V1, search=())])
    with pytest.raises(Exception, match="no search fields"):
        engine.find("memory", Query(search="fact"))


def test_kind_change_is_refused_naming_collection_and_field(make_engine: Callable[..., Engine]) -> None:
    engine = make_engine([V1])
    _populate(engine)
    engine.close()
    bad = replace(V1, indexed=(IndexedField("user_sid", "str"), IndexedField("confidence", "int")))
    with pytest.raises(SchemaMismatch, match="collection 'memory': field 'confidence' changed kind from float to int"):
        make_engine([bad])
    bad_numeric = replace(V1, numeric=(IndexedField("access_count", "float"),))
    with pytest.raises(SchemaMismatch, match="'access_count' changed kind from int to float"):
        make_engine([bad_numeric])
    # Nothing was changed: the old spec still opens and works.
    engine = make_engine([V1])
    assert engine.count("memory") == 41


def test_backfill_meeting_an_incompatible_value_is_refused(make_engine: Callable[..., Engine]) -> None:
    engine = make_engine([V1])
    _populate(engine)
    engine.insert("memory", {"key": 5})
    engine.close()
    with pytest.raises(SchemaMismatch, match="cannot add str field 'key': document 0016: expected a string, got int 5"):
        make_engine([replace(V1, indexed=(*V1.indexed, IndexedField("key", "str")))])
    assert make_engine([V1]).count("memory") == 42


def test_compound_indexes_can_be_added_and_removed(make_engine: Callable[..., Engine]) -> None:
    engine = make_engine([V1])
    _populate(engine)
    engine.close()
    with_compound = replace(V1, compound=(("user_sid", "confidence"),))
    engine = make_engine([with_compound])
    top = engine.find("memory", Query(filters=[Cond("user_sid", "eq", "u1")], order_by="confidence", descending=True, limit=2))
    assert [d["confidence"] for d in top] == [3.7, 3.4]
    engine.close()
    assert make_engine([V1]).count("memory", Query(filters=[Cond("user_sid", "eq", "u1")])) == 13


def test_new_collection_is_created_alongside(make_engine: Callable[..., Engine]) -> None:
    engine = make_engine([V1])
    _populate(engine)
    engine.close()
    other = CollectionSpec("usage", (IndexedField("model", "str"),))
    engine = make_engine([V1, other])
    engine.insert("usage", {"model": "m"})
    assert engine.count("memory") == 41 and engine.count("usage") == 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (CollectionSpec("Bad-Name", ()), "collection name 'Bad-Name'"),
        (CollectionSpec("x" * 41, ()), "at most 40"),
        (CollectionSpec("ok", (IndexedField("sid", "str"),)), "'sid' is always indexed"),
        (CollectionSpec("ok", (IndexedField("a", "date"),)), "unknown kind 'date'"),  # type: ignore[arg-type]
        (CollectionSpec("ok", (IndexedField("a", "str"), IndexedField("a", "int"))), "listed twice"),
        (CollectionSpec("ok", (), numeric=(IndexedField("n", "str"),)), "must be int or float"),
        (CollectionSpec("ok", (IndexedField("n", "int"),), numeric=(IndexedField("n", "float"),)), "indexed as int but numeric as float"),
        (CollectionSpec("ok", (IndexedField("n", "int"),), search=("n",)), "must be a str field"),
        (CollectionSpec("ok", (), search=("a", "a")), "twice"),
        (CollectionSpec("ok", (), owner="Bad Owner"), "owner field"),
        (CollectionSpec("ok", [IndexedField("a", "str")]), "must be a tuple"),  # type: ignore[arg-type]
        (CollectionSpec("ok", (IndexedField("a", "str"),), compound=(("a",),)), "two or more distinct fields"),
        (CollectionSpec("ok", (IndexedField("a", "str"),), compound=(("a", "b"),)), "names 'b', which is not an indexed field"),
        (CollectionSpec("ok", (IndexedField("a", "str"), IndexedField("b", "int")), compound=(("a", "b"), ("a", "b"))), "listed twice"),
        (CollectionSpec("ok", (), compound=["a"]), "compound must be a tuple of tuples"),  # type: ignore[arg-type]
    ],
)
def test_invalid_specs(make_engine: Callable[..., Engine], spec: CollectionSpec, message: str) -> None:
    with pytest.raises(InvalidSpec, match=message):
        make_engine([spec])


def test_duplicate_collection(make_engine: Callable[..., Engine]) -> None:
    with pytest.raises(InvalidSpec, match="specified twice"):
        make_engine([V1, V1])
