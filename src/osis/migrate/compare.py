"""Content comparison and checksums of migrated objects, as verification defines them.

Two objects are the same when their canonical JSON (keys sorted, compact) is the same
bytes: stricter than ``==`` in Python, where ``True == 1``.  A table's checksum is the
SHA-256 of those canonical texts, one per line, in sid order; the expected checksum
comes from the legacy rows, the actual one from the objects the store returns for the
same sids, so the two are equal exactly when every object is as its row says.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

_SORTED = orjson.OPT_SORT_KEYS


def canonical(doc: Mapping[str, Any]) -> bytes:
    return orjson.dumps(doc, option=_SORTED)


def differing_fields(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> tuple[str, ...]:
    """Names of the fields whose values differ (either side may lack one)."""
    names = dict.fromkeys([*expected, *actual])
    return tuple(
        name
        for name in names
        if name not in expected
        or name not in actual
        or canonical({"v": expected[name]}) != canonical({"v": actual[name]})
    )


class SidOrderDigest:
    """SHA-256 over canonical lines in sid (row key) order.

    Lines given in key order are hashed as they come; tables whose rows arrive in
    another order (conversations, keyed by a hash) are held and sorted at the end.
    """

    def __init__(self, *, in_order: bool) -> None:
        self._hash = hashlib.sha256()
        self._held: list[tuple[int, bytes]] | None = None if in_order else []
        self._last = -1

    def add(self, key: int, line: bytes) -> None:
        if self._held is not None:
            self._held.append((key, line))
            return
        if key <= self._last:
            raise ValueError(f"row key {key} arrived after {self._last}: not in sid order")
        self._last = key
        self._hash.update(line)
        self._hash.update(b"\n")

    def copy(self) -> SidOrderDigest:
        """An independent digest that has seen the same lines."""
        twin = SidOrderDigest(in_order=self._held is None)
        twin._hash = self._hash.copy()
        twin._held = None if self._held is None else list(self._held)
        twin._last = self._last
        return twin

    def hexdigest(self) -> str:
        if self._held is not None:
            for _key, line in sorted(self._held):
                self._hash.update(line)
                self._hash.update(b"\n")
            self._held = None
        return f"sha256:{self._hash.hexdigest()}"


__all__ = ["SidOrderDigest", "canonical", "differing_fields"]
