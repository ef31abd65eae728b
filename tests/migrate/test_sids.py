"""The sid mapping: 6-character sids, legacy id order, deterministic conversation hashes."""

from __future__ import annotations

import hashlib

import pytest

from osis.migrate import sids
from osis.store import is_sid, key_to_sid, sid_to_key


def test_integer_ids_are_base_36_in_six_characters() -> None:
    assert sids.sid_for_id(0) == "000000"
    assert sids.sid_for_id(1) == "000001"
    assert sids.sid_for_id(36) == "000010"
    assert sids.sid_for_id(sids.BAND_SIZE - 1) == "zzzzzz"
    # sid order (the row key) is legacy id order
    assert sid_to_key(sids.sid_for_id(35)) < sid_to_key(sids.sid_for_id(36)) < sid_to_key(sids.sid_for_id(10**9))
    # above every sid the store hands out before its 62-millionth object of a type
    assert sids.BAND_START == sid_to_key("000000") == 36**4 + 36**5


@pytest.mark.parametrize("legacy_id", [-1, sids.BAND_SIZE])
def test_ids_outside_the_band_are_refused(legacy_id: int) -> None:
    with pytest.raises(ValueError, match="outside 0..2176782335"):
        sids.key_for_id(legacy_id)


def _documented_offset(legacy_id: bytes, size: int) -> int:
    """docs/legacy-schema.md: the first 8 bytes of SHA-256("hero_agent conversation" NUL id)."""
    digest = hashlib.sha256(b"hero_agent conversation\x00" + legacy_id).digest()
    return int.from_bytes(digest[:8], "big") % size


def test_conversation_keys_follow_the_documented_scheme() -> None:
    ids = [f"{i:08x}-conversation".encode() for i in range(2000)] + [b"", "caf\u00e9".encode(), b"\xff\xfe"]
    keys = sids.conversation_keys(ids)
    assert len(set(keys.values())) == len(ids)
    assert keys == {i: sids.BAND_START + _documented_offset(i, sids.BAND_SIZE) for i in ids}
    assert all(is_sid(key_to_sid(k)) and len(key_to_sid(k)) == 6 for k in keys.values())
    # an id's key does not depend on the other ids: a file that gained or lost
    # conversations maps the others alike, and the order they come in does not matter
    assert sids.conversation_keys(ids[:10]) == {i: keys[i] for i in ids[:10]}
    assert sids.conversation_keys(reversed(ids)) == keys


def test_colliding_conversations_probe_in_id_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sids, "BAND_SIZE", 5)  # a tiny band: collisions are certain
    ids = [b"a", b"b", b"c", b"d", b"e"]
    keys = sids.conversation_keys(reversed(ids))
    assert sorted(keys.values()) == [sids.BAND_START + i for i in range(5)]
    # the smallest id keeps its own slot; each next one takes the next free slot after its own
    assert keys[b"a"] == sids.BAND_START + _documented_offset(b"a", 5)
    taken = {keys[b"a"]}
    for legacy_id in ids[1:]:
        slot = _documented_offset(legacy_id, 5)
        while sids.BAND_START + slot in taken:
            slot = (slot + 1) % 5
        assert keys[legacy_id] == sids.BAND_START + slot
        taken.add(keys[legacy_id])
