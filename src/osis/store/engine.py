"""The storage engine interface and :func:`open_engine`.

:class:`Engine` is the one narrow, synchronous interface the rest of OSIS uses.
It is thread-safe: the async server calls it from worker threads.  The public
methods live here, once: they validate arguments, encode documents and decode
results, so every engine accepts and rejects exactly the same input.  Engines
implement a handful of storage primitives (the ``_``-prefixed abstract methods).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from . import cursor as _cursor
from .codec import (
    EncodedDoc,
    canonical_json,
    decode_document,
    encode_document,
    encode_many,
    format_day,
    format_time,
    keys_of,
)
from .errors import InvalidDocument, InvalidQuery, StoreClosed, UnknownCollection
from .layout import Column, Layout
from .query import (
    Aggregation,
    Page,
    Query,
    ResolvedAggregation,
    ResolvedQuery,
    resolve_aggregation,
    resolve_query,
)
from .schema import SchemaRecord
from .sid import key_range_to_sids, key_to_sid, parse_sid, parse_sids
from .spec import CollectionSpec, validate_specs
from .url import PostgresConfig, SqliteConfig, parse_url

DEFAULT_PAGE_SIZE = 100

Row = tuple[int, dict[str, Any], Any]
"""What ``_find`` yields: row key, document body, value of the ordering column."""


class Engine(ABC):
    """A document store holding one table per collection.  See ``docs/store.md``."""

    bools_as_ints = False
    """Whether this engine's layouts write ``bool`` columns as 0/1 (:class:`Layout`)."""

    def __init__(self) -> None:
        self._layouts: dict[str, Layout] = {}
        self._closed = False
        # Agents repeat the same few query shapes; validating one costs more than
        # running it when an index answers, so resolutions are memoised.  Keyed by a
        # plain tuple of the query's parts: hashing and comparing that in C costs a
        # fraction of the dataclasses' generated __hash__ and __eq__.
        self._resolutions: dict[tuple[Any, ...], ResolvedQuery] = {}

    # ------------------------------------------------------------------ lifecycle

    def open(self, specs: Iterable[CollectionSpec], schema: SchemaRecord | None = None) -> None:
        """Create missing tables and apply additive spec changes (see :mod:`osis.store.schema`).

        With ``schema``, the stored schema record is checked first and replaced by
        ``schema.document`` in the same transaction.  May be called again with a new
        schema; collections not listed are left untouched in the database but become
        unusable through this engine.
        """
        self._check_open()
        by_name = validate_specs(list(specs))
        layouts = {name: Layout(spec, bools_as_ints=self.bools_as_ints) for name, spec in by_name.items()}
        self._open(layouts, schema)
        for layout in layouts.values():
            layout.encode_fast  # compiled now (~0.5 ms each) rather than on the first write  # noqa: B018
        self._layouts = layouts
        self._resolutions = {}

    def close(self) -> None:
        """Release connections and background work. Idempotent."""
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def collections(self) -> dict[str, CollectionSpec]:
        return {name: layout.spec for name, layout in self._layouts.items()}

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed(f"{type(self).__name__} is closed")

    # ------------------------------------------------------------------ planner statistics

    def analyze(self, collection: str | None = None) -> None:
        """Refresh the query planner's statistics of one collection, or of every one.

        The background thread does this by itself once a collection has changed a lot
        since its last analysis (see ``docs/store.md``); call it after a bulk load so
        the first queries are planned on real statistics without waiting for it.
        """
        self._check_open()
        layouts = list(self._layouts.values()) if collection is None else [self._layout(collection)]
        self._analyze(layouts)

    def _resolve(self, layout: Layout, query: Query | None) -> ResolvedQuery:
        if query is None:
            query = _EMPTY_QUERY
        if type(query) is not Query:
            return resolve_query(layout, query)
        # Query.__init__ fills __dict__, and reading it by item costs a fraction of
        # attribute loads, which CPython 3.11 cannot specialise for an instance whose
        # __dict__ was materialised (each falls back to the generic lookup).
        fields = query.__dict__
        if fields["cursor"] is not None:
            return resolve_query(layout, query)
        # Equal values of different types (1, 1.0, True) must not share a resolution:
        # only one of them may be valid (for a field, or as a limit).  So the key carries
        # each value's type, or its elements' types for a tuple; other containers (sets,
        # whose equal members may differ in type) are not memoised.
        descending, limit, offset = fields["descending"], fields["limit"], fields["offset"]
        key: tuple[Any, ...] = (
            layout.name, fields["search"], fields["order_by"],
            descending, limit, offset, type(descending), type(limit), type(offset),
        )
        try:
            for cond in fields["filters"]:
                value = cond.value
                kind: Any = type(value)
                if kind is tuple:
                    kind = tuple(map(type, value))
                elif kind not in _SCALARS:
                    return resolve_query(layout, query)
                key += (cond.field, cond.op, value, kind)
            resolved = self._resolutions.get(key)
        except (TypeError, AttributeError):  # unhashable values, or filters that are not Conds
            return resolve_query(layout, query)
        if resolved is None:
            resolved = resolve_query(layout, query)
            if len(self._resolutions) >= _RESOLUTIONS:
                self._resolutions = {}
            self._resolutions[key] = resolved
        return resolved

    def _layout(self, coll: str) -> Layout:
        if self._closed:
            raise StoreClosed(f"{type(self).__name__} is closed")
        layout = self._layouts.get(coll)
        if layout is None:
            known = ", ".join(sorted(self._layouts)) or "(none opened)"
            raise UnknownCollection(f"unknown collection {coll!r}; known: {known}")
        return layout

    # ------------------------------------------------------------------ writes

    def insert(self, coll: str, doc: Mapping[str, Any]) -> dict[str, Any]:
        """Store a new document; assigns a sid when ``sid`` is missing or empty.

        Returns the stored document (with its sid).  Raises :class:`DuplicateSid`
        when an explicit sid is taken.
        """
        layout = self._layout(coll)
        enc = encode_document(layout, doc)
        key = self._insert(layout, [enc])[0]
        return decode_document(key, enc.body)

    def insert_many(self, coll: str, docs: Iterable[Mapping[str, Any]]) -> list[str]:
        """Insert several documents in one transaction (all or nothing); returns their sids."""
        layout = self._layout(coll)
        if isinstance(docs, Mapping) or not isinstance(docs, Iterable):
            raise InvalidDocument(f"{coll}: insert_many takes a list of documents")
        if type(docs) is not list:
            docs = list(docs)
        encoded = encode_many(layout, docs)
        keys_given = keys_of(encoded)
        given = [] if keys_given.count(None) == len(keys_given) else [k for k in keys_given if k is not None]
        if len(set(given)) != len(given):
            seen: set[int] = set()
            for key in given:
                if key in seen:
                    raise InvalidDocument(f"{coll}: sid {key_to_sid(key)} appears twice in the batch")
                seen.add(key)
        if not encoded:
            return []
        keys = self._insert(layout, encoded)
        if len(given) == len(encoded):
            # Every sid was given, well-formed, and a sid is the only spelling of its
            # key: hand them back rather than spelling each key again (a migration).
            return [str(doc["sid"]) for doc in docs]
        if type(keys) is range:
            return key_range_to_sids(keys)
        return [key_to_sid(k) for k in keys]

    def replace(self, coll: str, doc: Mapping[str, Any]) -> bool:
        """Overwrite the document with ``doc["sid"]``; False when it does not exist."""
        layout = self._layout(coll)
        enc = encode_document(layout, doc, require_sid=True)
        assert enc.key is not None
        return self._replace(layout, enc.key, enc)

    def delete(self, coll: str, sid: str) -> bool:
        """Remove a document; False when it did not exist."""
        layout = self._layout(coll)
        return self._delete(layout, parse_sid(sid))

    def increment(
        self,
        coll: str,
        sid: str,
        field: str,
        by: int | float = 1,
        *,
        set_fields: Mapping[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Atomically add ``by`` to a numeric field (a missing value counts as 0) and
        set ``set_fields``; returns the updated document, or None if it does not exist.

        Concurrent increments of the same document are serialised, never lost.
        """
        layout = self._layout(coll)
        key = parse_sid(sid)
        column = layout.numeric.get(field) if isinstance(field, str) else None
        if column is None:
            names = ", ".join(sorted(layout.numeric)) or "(none)"
            raise InvalidQuery(f"{coll}: cannot increment {field!r}; numeric fields: {names}")
        if isinstance(by, bool) or not isinstance(by, (int, float)) or (
            column.kind == "int" and not isinstance(by, int)
        ):
            raise InvalidQuery(f"{coll}: increment of {column.kind} field {field!r} by {by!r}")
        updates = dict(set_fields or {})
        if not all(isinstance(k, str) for k in updates):
            raise InvalidQuery(f"{coll}: set_fields keys must be strings")
        if "sid" in updates or field in updates:
            raise InvalidQuery(f"{coll}: set_fields may not change 'sid' or the incremented field {field!r}")

        def mutate(body: dict[str, Any]) -> EncodedDoc:
            current = body.get(field)
            if current is None:
                current = 0
            new_body = dict(body)
            new_body[field] = current + by
            new_body.update(updates)
            new_body["sid"] = sid
            return encode_document(layout, new_body, require_sid=True)

        result = self._update(layout, key, mutate)
        return None if result is None else decode_document(key, result.body)

    # ------------------------------------------------------------------ reads

    def get(self, coll: str, sid: str) -> dict[str, Any] | None:
        layout = self._layout(coll)
        key = parse_sid(sid)
        found = self._get(layout, [key])
        body = found.get(key)
        return None if body is None else decode_document(key, body)

    def get_many(self, coll: str, sids: Sequence[str]) -> list[dict[str, Any] | None]:
        """Documents for ``sids`` in the same order, None where missing (one query)."""
        layout = self._layout(coll)
        if isinstance(sids, str) or not isinstance(sids, Sequence):
            raise InvalidQuery(f"{coll}: get_many takes a list of sids")
        keys = parse_sids(sids)
        if not keys:
            return []
        found = self._get(layout, list(dict.fromkeys(keys)))
        # decode_document with the sid as given: a well-formed sid is the only
        # spelling of its key, so it need not be spelled again from the key.
        get = found.get
        return [
            None if (body := get(key)) is None else {"sid": sid if type(sid) is str else key_to_sid(key), **body}
            for sid, key in zip(sids, keys)
        ]

    def exists(self, coll: str, sid: str) -> bool:
        layout = self._layout(coll)
        return self._exists(layout, parse_sid(sid))

    def list_sids(self, coll: str) -> list[str]:
        """Every sid of the collection, in sid order."""
        layout = self._layout(coll)
        return [key_to_sid(k) for k in self._list_keys(layout)]

    def find(self, coll: str, query: Query | None = None) -> list[dict[str, Any]]:
        """Documents matching ``query`` (one SQL query)."""
        layout = self._layouts.get(coll)
        if layout is None or self._closed:  # the checks of _layout, off the common path
            layout = self._layout(coll)
        return self._find_docs(layout, self._resolve(layout, query))

    def find_page(self, coll: str, query: Query | None = None) -> Page:
        """A page of ``query.limit`` (default 100) documents and the cursor of the next page.

        Pass the cursor back as ``Query(cursor=...)`` with otherwise the same query.
        Keyset paging visits every row exactly once, however deep.
        """
        layout = self._layout(coll)
        rq = self._resolve(layout, query)
        size = DEFAULT_PAGE_SIZE if rq.limit is None else rq.limit
        if size == 0:
            raise InvalidQuery(f"{coll}: find_page needs a limit of at least 1")
        rows = self._find(layout, rq, size + 1)
        next_cursor = None
        if len(rows) > size:
            rows = rows[:size]
            key, _, value = rows[-1]
            next_cursor = _cursor.encode(rq.fingerprint, _to_python(rq.order, value), key)
        return Page([decode_document(k, b) for k, b, _ in rows], next_cursor)

    def count(self, coll: str, query: Query | None = None) -> int:
        """Number of documents matching the query's filters and search (limit/offset ignored)."""
        layout = self._layout(coll)
        return self._count(layout, self._resolve(layout, query))

    def aggregate(self, coll: str, agg: Aggregation) -> list[dict[str, Any]]:
        """Grouped metrics (see :class:`Aggregation`), computed in one SQL query."""
        layout = self._layout(coll)
        ra = resolve_aggregation(layout, agg)
        out = []
        for row in self._aggregate(layout, ra):
            item: dict[str, Any] = {}
            for i, g in enumerate(ra.groups):
                value = row[i]
                if value is not None:
                    value = format_day(int(value)) if g.day else _to_wire(g.column, value)
                item[g.key] = value
            for j, m in enumerate(ra.metrics):
                item[m.key] = _metric_value(m.op, m.column, row[len(ra.groups) + j])
            out.append(item)
        return out

    def checksum(self, coll: str) -> str:
        """Content hash of every document (with sid) in sid order; equal across engines
        for equal content, so it verifies migrations."""
        layout = self._layout(coll)
        digest = hashlib.sha256()
        for key, body in self._iter_bodies(layout):
            digest.update(canonical_json(decode_document(key, body)).encode())
            digest.update(b"\n")
        return f"sha256:{digest.hexdigest()}"

    # ------------------------------------------------------------------ primitives

    @abstractmethod
    def _open(self, layouts: dict[str, Layout], schema: SchemaRecord | None) -> None:
        """In one transaction: check ``schema`` against the stored record, apply the layouts, record ``schema``.

        Engines make their metadata tables and check the store format, then hand the
        rest to their :class:`osis.store.apply.Applier`, which owns those steps.
        """

    @abstractmethod
    def _close(self) -> None: ...

    @abstractmethod
    def _analyze(self, layouts: list[Layout]) -> None:
        """Refresh the planner's statistics of these collections' tables, search index included."""

    @abstractmethod
    def _insert(self, layout: Layout, docs: list[EncodedDoc]) -> Sequence[int]:
        """Insert in one transaction; return row keys (a ``range`` when they are
        consecutive, which spells their sids faster); raise DuplicateSid on a taken key."""

    @abstractmethod
    def _replace(self, layout: Layout, key: int, doc: EncodedDoc) -> bool: ...

    @abstractmethod
    def _delete(self, layout: Layout, key: int) -> bool: ...

    @abstractmethod
    def _update(
        self, layout: Layout, key: int, mutate: Callable[[dict[str, Any]], EncodedDoc]
    ) -> EncodedDoc | None:
        """Read-modify-write one row atomically (no concurrent writer in between)."""

    @abstractmethod
    def _get(self, layout: Layout, keys: list[int]) -> dict[int, dict[str, Any]]: ...

    @abstractmethod
    def _exists(self, layout: Layout, key: int) -> bool: ...

    @abstractmethod
    def _list_keys(self, layout: Layout) -> list[int]: ...

    @abstractmethod
    def _find(self, layout: Layout, rq: ResolvedQuery, limit: int | None) -> list[Row]: ...

    def _find_docs(self, layout: Layout, rq: ResolvedQuery) -> list[dict[str, Any]]:
        """Wire-form documents of :meth:`find`; engines may fuse fetching and decoding."""
        return [decode_document(key, body) for key, body, _ in self._find(layout, rq, rq.limit)]

    @abstractmethod
    def _count(self, layout: Layout, rq: ResolvedQuery) -> int: ...

    @abstractmethod
    def _aggregate(self, layout: Layout, ra: ResolvedAggregation) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def _iter_bodies(self, layout: Layout) -> Iterator[tuple[int, dict[str, Any]]]: ...


_EMPTY_QUERY = Query()
_RESOLUTIONS = 512  # memoised query resolutions per engine
# Filter values whose resolution is memoised as they are (with their type).
_SCALARS = frozenset({str, int, float, bool, type(None), datetime})


def _to_python(column: Column | None, value: Any) -> Any:
    """Column value as the normalised Python value (SQLite returns 0/1 for booleans)."""
    if column is None or value is None:
        return None
    if column.kind == "bool":
        return bool(value)
    if column.kind == "float":
        return float(value)
    return value


def _to_wire(column: Column, value: Any) -> Any:
    """Column value as it appears in documents (times as RFC 3339 text)."""
    if column.kind == "time":
        return format_time(int(value))
    return _to_python(column, value)


def _metric_value(op: str, column: Column | None, value: Any) -> Any:
    if value is None:
        return None
    if op == "count":
        return int(value)
    if op == "avg" or (column is not None and column.kind == "float"):
        return float(value)
    return int(value) if isinstance(value, (int, Decimal)) else value


def open_engine(url: str) -> Engine:
    """Connect to the store at ``url`` (see :mod:`osis.store.url`); call :meth:`Engine.open` next.

    Raises :class:`InvalidURL` for a malformed URL and :class:`StoreUnavailable`
    (or :class:`StoreLocked`) when the database cannot be reached or opened.
    """
    config = parse_url(url)
    if isinstance(config, SqliteConfig):
        from .sqlite import SqliteEngine

        return SqliteEngine(config)
    assert isinstance(config, PostgresConfig)
    from .postgres import PostgresEngine

    return PostgresEngine(config)
