"""Physical layout of a collection, derived from its spec and shared by all engines.

One table per collection: an integer primary key ``id`` (the sid's number, see
:mod:`osis.store.sid`), the document body ``doc`` (without ``sid``), and one
column ``f_<field>`` per indexed or numeric field.  Field columns carry a
prefix so no document key can collide with ``id``/``doc``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .codec import CONVERTERS, FAST_BOOL01, FAST_INT64, FAST_TIME, SQLITE_CONVERTERS, FastEncoder, fast_encoder
from .spec import NUMERIC_KINDS, CollectionSpec, FieldKind

_PASS_THROUGH: dict[str, type | str] = {
    "str": str,
    "enum": str,
    "bool": bool,
    "float": float,
    "int": FAST_INT64,
    "time": FAST_TIME,
}
_MAX_IDENT = 63  # PostgreSQL silently truncates longer identifiers; never let it


def identifier(name: str) -> str:
    """Shorten a derived identifier deterministically if it would exceed 63 bytes."""
    if len(name) <= _MAX_IDENT:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:10]
    return f"{name[: _MAX_IDENT - 11]}_{digest}"


@dataclass(frozen=True)
class Column:
    """A typed column mirroring one top-level document field."""

    field: str
    kind: FieldKind
    name: str
    indexed: bool

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS


@dataclass(frozen=True)
class BTreeIndex:
    """``key`` columns (then the row key), carrying ``payload`` columns for covering reads.

    The name encodes the payload, so a change of numeric fields renames, and thereby
    rebuilds, the index.
    """

    name: str
    key: tuple[Column, ...]
    payload: tuple[Column, ...]


class Layout:
    """Everything an engine needs to know about one collection's table."""

    def __init__(self, spec: CollectionSpec, *, bools_as_ints: bool = False) -> None:
        """``bools_as_ints``: encode ``bool`` columns as 0/1 (SQLite, see
        :data:`osis.store.codec.SQLITE_CONVERTERS`); the engine's own choice."""
        self.spec = spec
        self.name = spec.name
        self.table = spec.table
        indexed = {f.name for f in spec.indexed}
        self.columns: tuple[Column, ...] = tuple(
            Column(f.name, f.kind, f"f_{f.name}", f.name in indexed) for f in spec.columns().values()
        )
        self.by_field: dict[str, Column] = {c.field: c for c in self.columns}
        self.indexed: dict[str, Column] = {c.field: c for c in self.columns if c.indexed}
        self.numeric: dict[str, Column] = {c.field: c for c in self.columns if c.numeric}
        self.search: tuple[str, ...] = spec.search
        convert = SQLITE_CONVERTERS if bools_as_ints else CONVERTERS
        passed = {**_PASS_THROUGH, "bool": FAST_BOOL01} if bools_as_ints else _PASS_THROUGH
        # (field, kind, converter) per column, resolved once for the write path.
        self.converters: tuple[tuple[str, FieldKind, Callable[[object], Any]], ...] = tuple(
            (c.field, c.kind, convert[c.kind]) for c in self.columns
        )
        # (field, type passed through unchanged or the check made inline, converter) for
        # the encoder's fast path: an int's range, a canonical time, a bool written as 0/1
        # are checked there (see osis.store.codec.FAST_INT64); the rest go to the converter.
        self.fast_converters: tuple[tuple[str, type | str, Callable[[object], Any]], ...] = tuple(
            (c.field, passed[c.kind], convert[c.kind]) for c in self.columns
        )

    @functools.cached_property
    def encode_fast(self) -> FastEncoder:
        """The encoder's fast path, written out for these columns (see
        :func:`osis.store.codec.fast_encoder`); compiled on first use (~0.5 ms: an engine's
        ``open`` asks for it), so the layouts a schema comparison builds never pay for it."""
        return fast_encoder(self.fast_converters, self.search)

    def btree_indexes(self) -> list[BTreeIndex]:
        """Every B-tree index the table should have (engines render and reconcile them).

        One per indexed field (except ``spec.compound_only`` fields, whose
        compound index serves them) plus one per compound index, each keyed by its
        field(s) then the row key, so ordering by the (last) field with ties by
        sid walks the index.  Numeric-only fields ride along as covering payload:
        an aggregation grouped or filtered by an indexed field then reads the
        index alone and never the (much wider) document rows.
        """
        payload = tuple(c for c in self.columns if not c.indexed)
        alone = set(self.spec.compound_only)
        keys: list[tuple[Column, ...]] = [(c,) for c in self.indexed.values() if c.field not in alone]
        keys += [tuple(self.indexed[f] for f in combo) for combo in self.spec.compound]
        out = []
        for key in keys:
            name = f"{self.table}__{'__'.join(c.field for c in key)}"
            if payload:
                digest = hashlib.sha1(",".join(c.name for c in payload).encode()).hexdigest()[:6]
                name += f"__cover_{digest}"
            out.append(BTreeIndex(identifier(name), key, payload))
        return out

    def serves(self, equal: frozenset[str] | set[str], order: str) -> bool:
        """Does one B-tree index answer "equality on ``equal``, ordered by ``order``"
        directly: its key is the ``equal`` fields (any order) then ``order``, so the
        matching rows are one contiguous range already in order (ties by sid)."""
        width = len(equal)
        for index in self._index_keys:
            if len(index) > width and index[width] == order and set(index[:width]) == equal:
                return True
        return False

    def grouping_index(self, groups: tuple[Column, ...], read: set[Column]) -> BTreeIndex | None:
        """A B-tree index whose key starts with ``groups``, in order, and which holds
        every column of ``read`` (in its key or as covering payload): read in order, it
        yields the rows group by group without the documents."""
        width = len(groups)
        for index in self._indexes:
            if index.key[:width] == groups and read <= {*index.key, *index.payload}:
                return index
        return None

    @functools.cached_property
    def _indexes(self) -> tuple[BTreeIndex, ...]:
        return tuple(self.btree_indexes())

    @functools.cached_property
    def _index_keys(self) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(c.field for c in index.key) for index in self._indexes)

    def __repr__(self) -> str:
        return f"Layout({self.name!r})"
