"""Which sid each legacy row gets: deterministic, collision-free, out of the store's way.

Every migrated object gets a **6-character sid**: its row key lies in the "legacy band",
the keys of the 6-character sids (`000000` to `zzzzzz`, 36**6, about 2.2 billion).  The
store numbers the objects it creates itself from `0001` upwards; 4 and 5 characters
cover its first 62 million objects of a type, so migrated objects do not collide with
the objects of a store that was in use before the migration (and if one did, the
migration reports the conflict and leaves that object alone).  After a migration the
store carries on numbering after the highest sid it has seen, so objects created later
get 6 (eventually 7) characters too.  The band is also the widest one whose sids the
store converts on its fast path, which matters at a million rows.

* Rows with an integer id (audit_log, usage_log, memories, messages): the sid is the
  id in base 36, zero-padded to 6 characters: id 1 is `000001`, id 36 is `000010`.
  Sid order is legacy id order.
* Conversations, whose ids are text (UUIDs in practice): the first 8 bytes of
  SHA-256("hero_agent conversation" NUL id) as a number, modulo 36**6, within the band.
  Two ids landing on the same key (in about one file in 170 with 5 000 conversations)
  are resolved by linear probing in byte order of the ids: the smaller id keeps the
  key, the next takes the next free one.  A sid depends on its id alone, except for
  such collisions, so a file that gained conversations still maps the old ones alike.

Each collection has its own key space, so the bands of different tables never meet.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Final

from osis.store import key_to_sid, sid_to_key

BAND_START: Final = sid_to_key("000000")
BAND_SIZE: Final = 36**6
_CONVERSATION_SALT: Final = b"hero_agent conversation\x00"


def key_for_id(legacy_id: int) -> int:
    """Row key of the object migrated from the row with this integer id.

    Raises ValueError for ids outside 0 .. 36**6 - 1, which have no 6-character sid.
    """
    if not 0 <= legacy_id < BAND_SIZE:
        raise ValueError(f"id {legacy_id} is outside 0..{BAND_SIZE - 1}, the ids a 6-character sid can hold")
    return BAND_START + legacy_id


def sid_for_id(legacy_id: int) -> str:
    return key_to_sid(key_for_id(legacy_id))


def conversation_keys(ids: Iterable[bytes]) -> dict[bytes, int]:
    """Row keys of conversations by their legacy id (as UTF-8 or raw bytes), all distinct."""
    taken: set[int] = set()
    keys: dict[bytes, int] = {}
    for legacy_id in sorted(set(ids)):
        digest = hashlib.sha256(_CONVERSATION_SALT + legacy_id).digest()
        offset = int.from_bytes(digest[:8], "big") % BAND_SIZE
        while BAND_START + offset in taken:
            offset = (offset + 1) % BAND_SIZE
        taken.add(BAND_START + offset)
        keys[legacy_id] = BAND_START + offset
    return keys


__all__ = ["BAND_SIZE", "BAND_START", "conversation_keys", "key_for_id", "sid_for_id"]
