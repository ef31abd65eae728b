"""SmartIDs: short base-36 object ids, mapped one-to-one onto integer row keys.

A SmartID is a string of 4 to 12 characters from ``0-9a-z``.  Every such string
maps to a distinct integer (shortlex numbering: all 4-character ids first, then
all 5-character ids, ...), and that integer *is* the row's primary key.  So:

* the store assigns sids **sequentially**: the database's own auto-increment
  (SQLite ``AUTOINCREMENT``, PostgreSQL identity) picks the next key and the sid
  is derived from it, which makes assignment atomic and safe across processes;
* sids are never reused, even after deletes (both key generators only grow);
* the length grows by itself when a length's space is exhausted: key 1 679 615
  is ``zzzz``, the next one ``00000``;
* ordering by sid means ordering by that integer, i.e. assignment order for
  store-assigned sids (``0zzz`` < ``1000`` < ``zzzz`` < ``00000``);
* no separate sid index is needed, which keeps single-row inserts cheap.

Sequential ids are guessable; access control must not rely on their secrecy.
Twelve characters is the longest length whose whole space fits a signed 64-bit key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .errors import InvalidDocument, InvalidQuery

ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
MIN_LEN = 4
MAX_LEN = 12
SID_PATTERN = re.compile(r"^[0-9a-z]{4,12}$")  # what is_sid checks, for hot loops

# (length, first key of that length, first key of the next length)
_BANDS: list[tuple[int, int, int]] = []
_start = 0
for _length in range(MIN_LEN, MAX_LEN + 1):
    _BANDS.append((_length, _start, _start + 36**_length))
    _start += 36**_length
MAX_KEY = _start - 1
del _start, _length


def is_sid(value: object) -> bool:
    """True when ``value`` is a well-formed SmartID this store can hold."""
    return isinstance(value, str) and SID_PATTERN.match(value) is not None


# First key of each sid length: sid_to_key runs for every document written with a sid.
_FIRST_KEY: dict[int, int] = {length: start for length, start, _end in _BANDS}


def sid_to_key(sid: str) -> int:
    """Integer row key of a well-formed sid (no validation; see :func:`parse_sid`)."""
    return _FIRST_KEY.get(len(sid), 0) + int(sid, 36)


# Two base-36 digits at a time: key_to_sid runs for every document a query returns.
_PAIRS = [a + b for a in ALPHABET for b in ALPHABET]


_BAND5 = 36**4
_BAND6 = 36**4 + 36**5
_BAND7 = 36**4 + 36**5 + 36**6


def key_to_sid(key: int) -> str:
    """Inverse of :func:`sid_to_key`."""
    # Fast paths for the lengths nearly every store uses (up to ~2.2 billion rows).
    if 0 <= key < _BAND5:
        return _PAIRS[key // 1296] + _PAIRS[key % 1296]
    if _BAND5 <= key < _BAND6:
        value = key - _BAND5
        return ALPHABET[value // 1679616] + _PAIRS[value // 1296 % 1296] + _PAIRS[value % 1296]
    if _BAND6 <= key < _BAND7:
        value = key - _BAND6
        return _PAIRS[value // 1679616] + _PAIRS[value // 1296 % 1296] + _PAIRS[value % 1296]
    for length, start, end in _BANDS:
        if start <= key < end:
            value = key - start
            break
    else:  # pragma: no cover - keys come from our own columns, bounded by MAX_KEY
        raise ValueError(f"row key {key} is beyond the SmartID space")
    chunks = []
    for _ in range((length + 1) // 2):
        value, pair = divmod(value, 1296)
        chunks.append(_PAIRS[pair])
    text = "".join(reversed(chunks))
    return text[len(text) - length :]


def key_range_to_sids(keys: range) -> list[str]:
    """``[key_to_sid(k) for k in keys]`` for consecutive keys (a batch's assigned keys).

    Every length band starts at a multiple of 36², so within a run of keys sharing
    ``key // 1296`` the sids share all but their last two characters, which step
    through the 1296 pairs in order: one :func:`key_to_sid` per run and a string
    concatenation per key (a batch of 1000 spent ~1.5k instructions a key before).
    """
    if keys.step != 1:
        return [key_to_sid(k) for k in keys]
    out: list[str] = []
    key, stop = keys.start, keys.stop
    while key < stop:
        low = key % 1296
        run = min(1296 - low, stop - key)
        out.extend(map(key_to_sid(key)[:-2].__add__, _PAIRS[low : low + run]))
        key += run
    return out


def parse_sid(value: object) -> int:
    """Validate a sid passed to a read/delete call and return its key."""
    if not is_sid(value):
        raise InvalidQuery(
            f"malformed sid {value!r}: expected {MIN_LEN}-{MAX_LEN} characters from 0-9a-z"
        )
    assert isinstance(value, str)
    return sid_to_key(value)


def parse_sids(values: Iterable[object]) -> list[int]:
    """:func:`parse_sid` of each value: one pattern match and one conversion per
    well-formed sid (``get_many`` of a migration batch reads a thousand)."""
    match = SID_PATTERN.match
    first = _FIRST_KEY
    keys: list[int] = []
    for value in values:
        if type(value) is str and match(value) is not None:
            keys.append(first[len(value)] + int(value, 36))
        else:
            keys.append(parse_sid(value))
    return keys


def parse_document_sid(collection: str, value: object) -> int:
    """Validate a sid carried by a document being written and return its key."""
    if not is_sid(value):
        raise InvalidDocument(
            f"{collection}: field 'sid' is {value!r}; expected {MIN_LEN}-{MAX_LEN} characters"
            " from 0-9a-z, or leave it empty to have one assigned"
        )
    assert isinstance(value, str)
    return sid_to_key(value)
