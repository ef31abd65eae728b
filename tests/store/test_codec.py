"""The write path's encoding shortcuts: each must agree with the general path it bypasses."""

from __future__ import annotations

import pytest

from osis.store import CollectionSpec, IndexedField, InvalidDocument
from osis.store.codec import _encode_checked, encode_document, encode_many
from osis.store.layout import Layout
from osis.store.sid import MAX_KEY, key_range_to_sids, key_to_sid

SPEC = CollectionSpec(
    "flags",
    (IndexedField("ok", "bool"), IndexedField("name", "str"), IndexedField("at", "time")),
    numeric=(IndexedField("n", "int"),),
)
DOC = {"ok": True, "name": "x", "at": "2026-11-27T07:35:46Z", "n": 3}


def test_sqlite_layouts_write_bools_as_0_and_1_on_every_path() -> None:
    ints, bools = Layout(SPEC, bools_as_ints=True), Layout(SPEC)
    for doc, ok in ((DOC, 1), ({**DOC, "ok": False}, 0), ({**DOC, "ok": None}, None)):
        fast, batch, general = encode_document(ints, doc), encode_many(ints, [doc])[0], _encode_checked(ints, doc)
        assert fast.row[:-1] == batch.row[:-1] == general.row[:-1] == (ok, "x", 1795764946, 3)
        assert all(type(c[0]) is type(ok) for c in (fast.row, general.row))
        # The default (PostgreSQL's) keeps Python bools; the document text is the same.
        assert encode_document(bools, doc).row[0] == (None if ok is None else bool(ok))
        assert fast.text == encode_document(bools, doc).text
    for layout in (ints, bools):
        with pytest.raises(InvalidDocument, match=r"field 'ok' \(bool\): expected true or false, got int 1"):
            encode_document(layout, {**DOC, "ok": 1})
        with pytest.raises(InvalidDocument, match=r"expected true or false, got str 'yes'"):
            encode_many(layout, [DOC, {**DOC, "ok": "yes"}])


@pytest.mark.parametrize(
    "start, stop",
    [
        (0, 1),
        (1, 3000),  # two runs of 1296 and a part
        (1290, 1300),  # across a change of the leading pair
        (36**4 - 5, 36**4 + 5),  # 4-character sids to 5-character ones
        (36**4 + 36**5 - 1300, 36**4 + 36**5 + 1300),  # 5 to 6 characters
        (MAX_KEY - 2, MAX_KEY + 1),
        (7, 7),
    ],
)
def test_a_range_of_keys_spells_the_same_sids_as_one_key_at_a_time(start: int, stop: int) -> None:
    assert key_range_to_sids(range(start, stop)) == [key_to_sid(k) for k in range(start, stop)]


def test_a_range_with_gaps_is_spelt_one_key_at_a_time() -> None:
    assert key_range_to_sids(range(1, 4000, 7)) == [key_to_sid(k) for k in range(1, 4000, 7)]


KINDS = CollectionSpec(
    "kinds",
    (
        IndexedField("name", "str"),
        IndexedField("level", "enum"),
        IndexedField("ok", "bool"),
        IndexedField("at", "time"),
    ),
    search=("note",),
    numeric=(IndexedField("n", "int"), IndexedField("x", "float")),
)
KINDS_DOC = {"name": "a", "level": "low", "ok": False, "at": "2026-11-27T07:35:46Z", "n": 7, "x": 1.5, "note": "hi"}
# One field changed per case: what each column's fast path checks inline, and its edges.
KINDS_CASES: list[dict[str, object]] = [
    {},
    {"sid": "abcd"},
    {"sid": ""},
    {"name": None, "level": None, "ok": None, "at": None, "n": None, "x": None, "note": None},
    {"name": 3},
    {"name": "a\x00b"},
    {"level": "high"},
    {"ok": True},
    {"ok": 1},
    {"ok": "true"},
    {"at": "1970-01-01T00:00:00Z"},
    {"at": "0001-01-01T00:00:00Z"},
    {"at": "9999-12-31T23:59:59Z"},
    {"at": "2026-11-27T07:35:46z"},  # not canonical: the general parser
    {"at": "2026-11-27T07:35:46.5+01:00"},
    {"at": "2026-12-31T23:59:60Z"},  # a leap second: canonical-looking, the general parser
    {"at": "2026-02-30T00:00:00Z"},  # canonical-looking, not a date
    {"at": "2026-11-27T24:00:00Z"},
    {"at": "2026-11-27 07:35:46Z"},
    {"at": "2026-11-27T07:35:4６Z"},  # a non-ASCII digit
    {"at": "2026-11-27T07:35:46"},
    {"at": 1795764946},
    {"n": 2**63 - 1},
    {"n": -(2**63)},
    {"n": 2**63},
    {"n": -(2**63) - 1},
    {"n": True},
    {"n": 1.0},
    {"n": "1"},
    {"x": 2},
    {"x": float("nan")},
    {"x": True},
    {"note": 5},
    {"note": None},
    {"extra": [1, {"a": "b"}]},
    {"extra": float("inf")},
]


@pytest.mark.parametrize("bools_as_ints", [True, False])
@pytest.mark.parametrize("change", KINDS_CASES, ids=repr)
def test_the_compiled_fast_path_agrees_with_the_general_path(bools_as_ints: bool, change: dict[str, object]) -> None:
    layout = Layout(KINDS, bools_as_ints=bools_as_ints)
    doc = {**KINDS_DOC, **change}
    try:
        expected = _encode_checked(layout, doc)
    except InvalidDocument as exc:
        message = str(exc)
        assert layout.encode_fast(doc) is None
        with pytest.raises(InvalidDocument) as single:
            encode_document(layout, doc)
        with pytest.raises(InvalidDocument) as batch:
            encode_many(layout, [KINDS_DOC, doc])
        assert str(single.value) == str(batch.value) == message
        return
    fast = layout.encode_fast(doc)
    for got in (fast, encode_document(layout, doc), encode_many(layout, [doc])[0]):
        if got is None:  # handed to the general path, which accepts it
            continue
        assert got == expected
        assert [type(v) for v in got.row] == [type(v) for v in expected.row]
        assert got.row[:-1] == expected.row[:-1] and got.row[-1] == got.text
    if change in ({}, {"sid": "abcd"}, {"level": "high"}, {"ok": True}, {"n": 2**63 - 1}, {"at": "1970-01-01T00:00:00Z"}):
        assert fast is not None  # the common spellings take the fast path


def test_a_batch_still_names_an_out_of_range_int_or_an_invalid_time() -> None:
    """The fast path checks these inline and hands the document to the general path,
    whose message names the field and the problem."""
    layout = Layout(SPEC, bools_as_ints=True)
    assert layout.encode_fast(DOC) == _encode_checked(layout, DOC)
    assert layout.encode_fast({**DOC, "n": 2**63}) is None
    with pytest.raises(InvalidDocument, match=r"field 'n' \(int\): 9223372036854775808 does not fit a signed 64-bit"):
        encode_many(layout, [DOC, {**DOC, "n": 2**63}])
    with pytest.raises(InvalidDocument, match=r"field 'at' \(time\): '2026-02-30T00:00:00Z' is not a valid date"):
        encode_many(layout, [{**DOC, "at": "2026-02-30T00:00:00Z"}])
