"""Create/read/update/delete, sids, document validation and checksums on both engines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from osis.store import (
    CollectionSpec,
    Cond,
    DuplicateSid,
    Engine,
    IndexedField,
    InvalidDocument,
    InvalidQuery,
    Query,
    StoreClosed,
    UnknownCollection,
    is_sid,
    key_to_sid,
    sid_to_key,
)

from osis.store.sid import MAX_KEY

from .conftest import AUDIT

DOC = {
    "tool_name": "grep",
    "user_sid": "u1",
    "success": True,
    "created_at": "2026-11-27T07:35:46Z",
    "arguments": '{"pattern": "x"}',
    "nested": {"list": [1, 2.5, None, False, "ünï 🙂"], "obj": {}},
}


def test_insert_assigns_sequential_sids_and_get_returns_the_document(audit_engine: Engine) -> None:
    first = audit_engine.insert("audit", DOC)
    second = audit_engine.insert("audit", {**DOC, "sid": ""})
    assert first["sid"] == "0001" and second["sid"] == "0002"
    assert first == {"sid": "0001", **DOC}
    assert audit_engine.get("audit", "0001") == first
    assert audit_engine.get("audit", "0009") is None
    assert audit_engine.exists("audit", "0002") and not audit_engine.exists("audit", "0003")


def test_sid_numbering_is_a_bijection_that_grows_in_length() -> None:
    assert key_to_sid(0) == "0000" and key_to_sid(36**4 - 1) == "zzzz"
    assert key_to_sid(36**4) == "00000"
    for key in (0, 1, 35, 36**4 - 1, 36**4, 36**5 + 36**4, 10**15, MAX_KEY):
        sid = key_to_sid(key)
        assert is_sid(sid) and sid_to_key(sid) == key
    assert not is_sid("abc") and not is_sid("ABCD") and not is_sid("a" * 13) and not is_sid(12345)


def test_sids_are_never_reused_after_deleting_the_newest(audit_engine: Engine) -> None:
    sids = [audit_engine.insert("audit", DOC)["sid"] for _ in range(3)]
    assert audit_engine.delete("audit", sids[-1])
    assert not audit_engine.delete("audit", sids[-1])
    assert audit_engine.insert("audit", DOC)["sid"] == "0004"
    assert audit_engine.list_sids("audit") == ["0001", "0002", "0004"]


def test_explicit_sid_is_kept_and_later_assignments_skip_it(audit_engine: Engine) -> None:
    assert audit_engine.insert("audit", {**DOC, "sid": "00zz"})["sid"] == "00zz"
    assert audit_engine.insert("audit", DOC)["sid"] == "0100"
    with pytest.raises(DuplicateSid, match="00zz"):
        audit_engine.insert("audit", {**DOC, "sid": "00zz"})
    assert audit_engine.list_sids("audit") == ["00zz", "0100"]


def test_insert_many_is_one_transaction(audit_engine: Engine) -> None:
    sids = audit_engine.insert_many("audit", [DOC, {**DOC, "sid": "zzzz"}, DOC])
    assert sids == ["0001", "zzzz", "00000"]
    with pytest.raises(DuplicateSid):
        audit_engine.insert_many("audit", [DOC, {**DOC, "sid": "zzzz"}])
    with pytest.raises(InvalidDocument, match="attempt"):
        audit_engine.insert_many("audit", [DOC, {**DOC, "attempt": "three"}])
    with pytest.raises(InvalidDocument, match="twice"):
        audit_engine.insert_many("audit", [{**DOC, "sid": "aaaa"}, {**DOC, "sid": "aaaa"}])
    assert audit_engine.list_sids("audit") == ["0001", "zzzz", "00000"]
    assert audit_engine.insert_many("audit", []) == []


def test_get_many_keeps_order_and_reports_missing(audit_engine: Engine) -> None:
    audit_engine.insert_many("audit", [{**DOC, "attempt": i} for i in range(3)])
    got = audit_engine.get_many("audit", ["0003", "0009", "0001", "0003"])
    assert [d and d["attempt"] for d in got] == [2, None, 0, 2]
    assert got[0] == got[3] == audit_engine.get("audit", "0003") and list(got[0] or {})[0] == "sid"
    assert audit_engine.get_many("audit", []) == []
    with pytest.raises(InvalidQuery, match="malformed sid 'ABCD'"):
        audit_engine.get_many("audit", ["0001", "ABCD"])


def test_replace_and_delete(audit_engine: Engine) -> None:
    sid = audit_engine.insert("audit", DOC)["sid"]
    assert audit_engine.replace("audit", {"sid": sid, "tool_name": "ls", "attempt": 2})
    assert audit_engine.get("audit", sid) == {"sid": sid, "tool_name": "ls", "attempt": 2}
    assert not audit_engine.replace("audit", {"sid": "0zzz", "tool_name": "ls"})
    with pytest.raises(InvalidDocument, match="sid"):
        audit_engine.replace("audit", {"tool_name": "ls"})
    assert audit_engine.delete("audit", sid) and audit_engine.get("audit", sid) is None


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"attempt": "3"}, "'attempt' \\(int\\): expected an integer"),
        ({"attempt": True}, "'attempt' \\(int\\)"),
        ({"attempt": 2**63}, "64-bit"),
        ({"score": float("nan")}, "score"),
        ({"success": 1}, "'success' \\(bool\\)"),
        ({"created_at": "yesterday"}, "'created_at' \\(time\\).*RFC 3339"),
        ({"created_at": "2026-02-30T00:00:00Z"}, "valid date"),
        ({"tool_name": 5}, "'tool_name' \\(str\\)"),
        ({"arguments": 5}, "search field 'arguments'"),
        ({"x": {"y": [1, "a\x00b"]}}, "document.x.y\\[1\\].*NUL"),
        ({"x": "\ud800"}, "document.x.*surrogate"),
        ({"x": {1: 2}}, "keys must be strings"),
        ({"x": {1, 2}}, "not JSON-compatible"),
        ({"x": float("inf")}, "document.x"),
        ({"sid": "ABCD"}, "'sid' is 'ABCD'"),
        ({"sid": 12}, "'sid' is 12"),
    ],
)
@pytest.mark.parametrize("batch", [False, True], ids=["insert", "insert_many"])
def test_invalid_documents_are_rejected_with_the_field_named(
    audit_engine: Engine, doc: dict[str, Any], message: str, batch: bool
) -> None:
    """insert_many has its own encoding loop: it must refuse the same documents alike."""
    with pytest.raises(InvalidDocument, match=message):
        if batch:
            audit_engine.insert_many("audit", [{**DOC, "sid": "0a00"}, doc])
        else:
            audit_engine.insert("audit", doc)
    assert audit_engine.list_sids("audit") == []


def test_insert_many_stores_what_insert_stores(audit_engine: Engine) -> None:
    """The batch encoding loop and the single-document one agree on every kind of value."""
    docs: list[dict[str, Any]] = [  # store-assigned sids follow the highest: b00a, b00b, b00c
        {**DOC, "sid": "b009"},
        {**DOC, "sid": ""},
        {**DOC, "sid": None, "score": 0.5, "level": "high"},
        {"sid": "a001", "created_at": "2026-01-02T03:04:05.9+01:00", "attempt": -(2**63), "x": {"y": [1, 2.5]}},
        {"sid": "a002", "tool_name": "caf\u00e9 \U0001f600", "success": False, "score": 3, "nested": [{"a": None}]},
        {"tool_name": "no sid at all"},
        {"sid": "00000a003", "attempt": 7, "arguments": "a \\u0000 that is not a NUL"},
    ]
    batch = audit_engine.insert_many("audit", docs)
    single = [audit_engine.insert("audit", {k: v for k, v in d.items() if k != "sid"}) for d in docs]
    assert batch == ["b009", "b00a", "b00b", "a001", "a002", "b00c", "00000a003"]
    for sid, one in zip(batch, single):
        assert audit_engine.get("audit", sid) == {**one, "sid": sid}
    for field, value in [("created_at", "2026-01-02T02:04:05Z"), ("score", 3.0), ("level", "high")]:
        found = audit_engine.find("audit", Query(filters=[Cond(field, "eq", value)]))
        assert len(found) == 2 and found[0]["sid"] in batch and found[1]["sid"] in [d["sid"] for d in single]


def test_not_a_dict_and_unknown_collection(audit_engine: Engine) -> None:
    with pytest.raises(InvalidDocument, match="JSON object"):
        audit_engine.insert("audit", ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(UnknownCollection, match="'nope'.*audit"):
        audit_engine.insert("nope", DOC)
    with pytest.raises(InvalidQuery, match="malformed sid"):
        audit_engine.get("audit", "AB")


def test_time_values_accept_rfc3339_variants(audit_engine: Engine) -> None:
    audit_engine.insert("audit", {"created_at": "2026-11-27T09:35:46+02:00"})
    audit_engine.insert("audit", {"created_at": "2026-11-27t07:35:46.999z"})
    from osis.store import Cond, Query

    found = audit_engine.find("audit", Query(filters=[Cond("created_at", "eq", "2026-11-27T07:35:46Z")]))
    assert [d["sid"] for d in found] == ["0001", "0002"]
    # Documents keep the text they were given.
    assert found[0]["created_at"] == "2026-11-27T09:35:46+02:00"


def test_increment(audit_engine: Engine) -> None:
    sid = audit_engine.insert("audit", {**DOC, "duration_ms": 5})["sid"]
    doc = audit_engine.increment("audit", sid, "duration_ms", 3, set_fields={"level": "high"})
    assert doc is not None and doc["duration_ms"] == 8 and doc["level"] == "high"
    assert audit_engine.increment("audit", sid, "attempt") == {**doc, "attempt": 1}
    doc = audit_engine.increment("audit", sid, "cost", 0.5)
    assert doc is not None and doc["cost"] == 0.5
    assert audit_engine.get("audit", sid) == doc
    assert audit_engine.increment("audit", "0zzz", "attempt") is None
    with pytest.raises(InvalidQuery, match="cannot increment 'tool_name'; numeric fields: attempt, cost, duration_ms, score"):
        audit_engine.increment("audit", sid, "tool_name")
    with pytest.raises(InvalidQuery, match="int field 'attempt' by 0.5"):
        audit_engine.increment("audit", sid, "attempt", 0.5)
    with pytest.raises(InvalidQuery, match="set_fields"):
        audit_engine.increment("audit", sid, "attempt", set_fields={"attempt": 3})
    with pytest.raises(InvalidDocument, match="level"):
        audit_engine.increment("audit", sid, "attempt", set_fields={"level": 3})
    from osis.store import Cond, Query

    assert audit_engine.count("audit", Query(filters=[Cond("attempt", "eq", 1), Cond("level", "eq", "high")])) == 1


def test_checksum_tracks_content_not_history(make_engine: Callable[..., Engine], tmp_path: Any) -> None:
    a = make_engine([AUDIT])
    b = make_engine([AUDIT], url=f"sqlite:///{tmp_path}/other.db")
    for engine in (a, b):
        engine.insert_many("audit", [{**DOC, "attempt": i, "score": 1.0} for i in range(5)])
    assert a.checksum("audit") == b.checksum("audit")
    b.increment("audit", "0002", "attempt")
    assert a.checksum("audit") != b.checksum("audit")
    b.increment("audit", "0002", "attempt", -1)
    assert a.checksum("audit") == b.checksum("audit")
    assert a.checksum("audit").startswith("sha256:")


def test_closed_engine_refuses_work(make_engine: Callable[..., Engine]) -> None:
    engine = make_engine([AUDIT])
    engine.close()
    engine.close()
    with pytest.raises(StoreClosed):
        engine.get("audit", "0001")


def test_collections_are_independent(make_engine: Callable[..., Engine]) -> None:
    other = CollectionSpec("other_thing", (IndexedField("tool_name", "int"),))
    engine = make_engine([AUDIT, other])
    engine.insert("audit", DOC)
    assert engine.insert("other_thing", {"tool_name": 3})["sid"] == "0001"
    assert engine.list_sids("other_thing") == ["0001"] and engine.list_sids("audit") == ["0001"]
    assert set(engine.collections) == {"audit", "other_thing"}


def test_insert_many_with_explicit_sids_is_all_or_nothing_and_searchable(audit_engine: Engine) -> None:
    # The all-explicit batch (what a migration writes) takes a faster path; it must
    # keep the same guarantees as the mixed one.
    first = audit_engine.insert_many("audit", [{**DOC, "sid": "a000"}, {**DOC, "sid": "a002"}])
    assert first == ["a000", "a002"]
    with pytest.raises(DuplicateSid, match="a002"):
        audit_engine.insert_many("audit", [{**DOC, "sid": "a001"}, {**DOC, "sid": "a002"}, {**DOC, "sid": "a003"}])
    assert audit_engine.list_sids("audit") == ["a000", "a002"]
    # The refused batch left the writer usable; a generator of documents is a batch
    # too, and the sids come back as given.
    assert audit_engine.insert_many("audit", ({**DOC, "sid": s} for s in ("a001", "a003"))) == ["a001", "a003"]
    assert audit_engine.list_sids("audit") == ["a000", "a001", "a002", "a003"]
    # Rows below the search watermark are indexed at once: a search finds them.
    audit_engine.insert_many("audit", [{**DOC, "sid": f"z{i:03d}", "arguments": f"needle-{i}"} for i in range(3)])
    if hasattr(audit_engine, "index_search"):
        audit_engine.index_search()
    audit_engine.insert_many("audit", [{**DOC, "sid": "0009", "arguments": "late-needle"}, {**DOC, "sid": "000a"}])
    assert [d["sid"] for d in audit_engine.find("audit", Query(search="late-needle"))] == ["0009"]
    assert sorted(d["sid"] for d in audit_engine.find("audit", Query(search="needle-"))) == ["z000", "z001", "z002"]


def test_insert_many_sids_across_a_change_of_their_leading_characters(audit_engine: Engine) -> None:
    # Assigned keys come back as a range, spelt run by run (sid.key_range_to_sids);
    # 00zy is key 1294, the last but one of the run that shares "00"; zzzz is 36**4 - 1.
    audit_engine.insert("audit", {**DOC, "sid": "00zy"})
    sids = audit_engine.insert_many("audit", [DOC] * 4)
    assert sids == ["00zz", "0100", "0101", "0102"] == [key_to_sid(k) for k in range(1295, 1299)]
    audit_engine.insert("audit", {**DOC, "sid": "zzzy"})
    assert audit_engine.insert_many("audit", [DOC] * 3) == ["zzzz", "00000", "00001"]
    found = audit_engine.get_many("audit", ["00zz", "0102", "zzzz", "00001"])
    assert [d["sid"] for d in found if d is not None] == ["00zz", "0102", "zzzz", "00001"]
