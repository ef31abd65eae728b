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
        assert fast.columns == batch.columns == general.columns == (ok, "x", 1795764946, 3)
        assert all(type(c[0]) is type(ok) for c in (fast.columns, general.columns))
        # The default (PostgreSQL's) keeps Python bools; the document text is the same.
        assert encode_document(bools, doc).columns[0] == (None if ok is None else bool(ok))
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
