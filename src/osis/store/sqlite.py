"""Embedded engine: one SQLite database file in WAL mode.

Durability
    The database runs in WAL mode with ``synchronous=NORMAL`` by default.  A
    write is acknowledged only after its transaction committed into the WAL, so
    it survives the process being killed at any point (including ``SIGKILL``),
    and the file always reopens consistent.  With ``NORMAL`` the WAL is not
    fsynced at every commit: an operating-system crash or power loss may lose the
    last transactions acknowledged before it (never corrupt the file).  Add
    ``?synchronous=full`` to the URL to fsync every commit and make acknowledged
    writes survive power loss too, at a large cost in single-row write speed.

Concurrency
    One writer connection, guarded by a lock, performs every write in a
    ``BEGIN IMMEDIATE`` transaction (so writers from other processes queue on
    SQLite's lock instead of deadlocking, up to the busy ``timeout``).  Reads use
    a small pool of read-only connections; WAL lets them run while a write is in
    progress, each statement on a consistent snapshot.  ``sqlite:///:memory:``
    uses a single private connection for everything.

Search
    See :mod:`osis.store.sqlite_search`: a lazily maintained FTS5 trigram index,
    kept off the write path, with exact results at any indexing backlog.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from . import sqlite_search as search
from .apply import Applier
from .codec import EncodedDoc, keys_of, loads, rows_of, wire_documents
from .engine import Engine, Row
from .errors import (
    DuplicateSid,
    InvalidQuery,
    SchemaMismatch,
    StoreError,
    StoreFull,
    StoreLocked,
    StoreUnavailable,
)
from .layout import BTreeIndex, Column, Layout
from .query import (
    Aggregation,
    Query,
    ResolvedAggregation,
    ResolvedCond,
    ResolvedQuery,
    fold_ascii,
    index_ordered,
    resolve_aggregation,
    resolve_query,
)
from .schema import Plan, SchemaRecord
from .sid import key_to_sid
from .sql import (
    Dialect,
    aggregate_sql,
    filters_sql,
    keyset_sql,
    limit_sql,
    order_sql,
    quote,
    where_sql,
)
from .url import SqliteConfig

FORMAT_VERSION = 1
_D = Dialect(param="?", spell_nulls=False)
_TYPES = {"str": "TEXT", "enum": "TEXT", "int": "INTEGER", "float": "REAL", "bool": "INTEGER", "time": "INTEGER"}
PAGE_SIZE = 2048
WAL_CHECKPOINT_PAGES = 16 * 1024 * 1024 // PAGE_SIZE  # every 16 MiB of WAL
ANALYZE_LIMIT = 1000  # rows sampled per index by ANALYZE: fast, and plenty for the planner
_MEMO_SIZE = 1024  # entries of the per-engine SQL and plan-choice memos
_WALK_TTL = 1.0  # seconds a walk-or-sort choice is reused ...
_WALK_WRITES = 1000  # ... unless this engine wrote that many rows to the collection since
_RANGE_OPS = frozenset({"gt", "gte", "lt", "lte"})
_PROBE_START = 1024  # first limit of the aggregation plan's counting probes (then x4 a round)
# Seconds an aggregation's plan choice is reused (also until _WALK_WRITES rows are
# written): its probes read index entries in proportion to the rows the aggregation
# reads, and the sizes they compare (a week of the log, a user's history, half the
# table) change slowly; a dashboard refreshes every 15 s.
_PLAN_TTL = 60.0


class _WriteTransaction:
    """``with engine._write_tx() as conn``: the writer, locked, inside ``BEGIN IMMEDIATE``.

    A plain class rather than a generator-based context manager: it wraps every
    single-row write, where those microseconds count.  Foreground (caller) writes
    are timestamped so the background indexer can tell a busy writer from an idle
    one; its own transactions are not.
    """

    __slots__ = ("engine", "foreground")

    def __init__(self, engine: SqliteEngine, *, foreground: bool) -> None:
        self.engine = engine
        self.foreground = foreground

    def __enter__(self) -> sqlite3.Connection:
        engine = self.engine
        engine._lock.acquire()
        try:
            engine._check_open()
            engine._writer.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            engine._lock.release()
            raise engine._error(exc, "begin write") from exc
        except BaseException:
            engine._lock.release()
            raise
        return engine._writer

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        engine = self.engine
        conn = engine._writer
        try:
            if kind is None:
                try:
                    conn.execute("COMMIT")
                except sqlite3.Error as error:
                    self._rollback(conn)
                    raise engine._error(error, "commit") from error
                return
            self._rollback(conn)
            if isinstance(exc, sqlite3.Error):
                raise engine._error(exc, "write") from exc
        finally:
            if self.foreground:
                engine._last_write = time.monotonic()
            engine._lock.release()

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")


class _Read:
    """``with engine._read() as conn``: a plain class, as it wraps every read."""

    __slots__ = ("engine", "conn")

    def __init__(self, engine: SqliteEngine) -> None:
        self.engine = engine
        self.conn: sqlite3.Connection | None = None

    def __enter__(self) -> sqlite3.Connection:
        engine = self.engine
        if engine._config.memory:
            engine._lock.acquire()
            try:
                engine._check_open()
            except BaseException:
                engine._lock.release()
                raise
            self.conn = engine._writer
        else:
            self.conn = engine._take_reader()
        return self.conn

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        engine = self.engine
        try:
            if isinstance(exc, sqlite3.Error):
                raise engine._error(exc, "read") from exc
        finally:
            if engine._config.memory:
                engine._lock.release()
            else:
                assert self.conn is not None
                engine._give_back(self.conn)


class _Page:
    """Collects one page from rows streamed in order, applying the exact search check:
    ``needle`` (already folded) occurs in one of ``fields`` (the collection's search
    fields).  The check is written out in :meth:`feed` rather than passed in as a
    closure: one call less per decoded document.  The field that matched last is
    checked first: a term tends to occur in the same field of most documents (an
    error in the result preview), and each field checked in vain costs folding its
    text."""

    def __init__(
        self, fields: tuple[str, ...], needle: str, offset: int, limit: int | None, *, wire: bool = False
    ) -> None:
        self.fields = list(fields)  # in the order to check them: last matched first
        self.needle = needle
        self.skip = offset
        self.limit = limit
        self.wire = wire  # collect wire-form documents instead of (key, body, value) rows
        self.rows: list[Any] = []

    def feed(self, cursor: sqlite3.Cursor, *, pause: bool = False) -> bool:
        """Consume prefilter matches streamed in order until the page is full.

        Returns whether the page is complete: full, or every match there is was
        read.  A row with a NULL key is a budget marker
        (:func:`~osis.store.sqlite_search.budgeted_walk`): with ``pause`` the feed
        stops there and returns False, otherwise it steps over it.  The rows are
        iterated rather than fetched in batches so that no row past the marker or
        the one that fills the page is asked for (``sqlite3`` still computes the
        next one, hence the second marker).
        """
        rows = self.rows
        fields = self.fields
        needle = self.needle
        wire = self.wire
        limit = self.limit
        if limit is not None and len(rows) >= limit:
            return True
        for key, doc, value in cursor:
            if key is None:
                if pause:
                    return False
                continue
            body = loads(doc)
            for field in fields:
                text = body.get(field)
                # fold_ascii, with its common case (ASCII text) written out.
                if text is not None and needle in (text.lower() if text.isascii() else fold_ascii(text)):
                    if field is not fields[0]:
                        fields.remove(field)  # the loop ends here, so changing its list is safe
                        fields.insert(0, field)
                    break
            else:
                continue  # the prefilter's match was outside the search fields
            if self.skip:
                self.skip -= 1
                continue
            if wire:  # as codec.wire_documents, written out: this loop is per match
                body["sid"] = key_to_sid(key)
                rows.append(body)
            else:
                rows.append((key, body, value))
            if limit is not None and len(rows) >= limit:
                return True
        return True  # exhausted: the page holds every match there is


@dataclass(frozen=True)
class _Statements:
    """Per-collection SQL built once at open (sqlite3 caches the prepared forms)."""

    insert_auto: str
    insert_key: str  # skips a taken key (rowcount 0)
    insert_keys: str  # fails on a taken key (batches: one error instead of a check per row)
    update: str
    select_doc: str
    delete: str

    @classmethod
    def build(cls, layout: Layout) -> _Statements:
        table = quote(layout.table)
        cols = [quote(c.name) for c in layout.columns]
        names = ", ".join([*cols, "doc"])
        marks = ", ".join("?" * (len(cols) + 1))
        sets = ", ".join(f"{c} = ?" for c in [*cols, "doc"])
        return cls(
            insert_auto=f"INSERT INTO {table} ({names}) VALUES ({marks})",
            insert_key=f"INSERT INTO {table} (id, {names}) VALUES (?, {marks}) ON CONFLICT(id) DO NOTHING",
            insert_keys=f"INSERT INTO {table} (id, {names}) VALUES (?, {marks})",
            update=f"UPDATE {table} SET {sets} WHERE id = ?",
            select_doc=f"SELECT doc FROM {table} WHERE id = ?",
            delete=f"DELETE FROM {table} WHERE id = ?",
        )


class _SqliteApplier(Applier):
    """SQLite's dialect for applying layout plans (see :mod:`osis.store.apply`)."""

    param = _D.param
    types = _TYPES
    # AUTOINCREMENT: keys (hence sids) are never reused, even after deleting the
    # newest row, which also keeps "id > watermark" equal to "not indexed yet".
    key_column = "id INTEGER PRIMARY KEY AUTOINCREMENT"
    # Typed columns precede the document so reading them never touches the
    # document's overflow pages when it is large.
    doc_column = "doc TEXT NOT NULL"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def qualify(self, name: str) -> str:
        return quote(name)

    def create_index(self, table: str, index: BTreeIndex) -> str:
        # Without payload the implicit rowid already ends every entry; with it,
        # id goes explicitly before the payload to keep (key..., id) order.
        cols = [quote(c.name) for c in index.key]
        if index.payload:
            cols += ["id", *(quote(c.name) for c in index.payload)]
        return f"CREATE INDEX {quote(index.name)} ON {table} ({', '.join(cols)})"

    def existing_indexes(self, layout: Layout) -> set[str]:
        # sql IS NULL marks the automatic indexes of constraints, which are not ours to drop.
        rows = self.fetch(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (layout.table,),
        )
        return {name for (name,) in rows}

    def document(self, stored: Any) -> dict[str, Any]:
        body: dict[str, Any] = loads(stored)
        return body

    def set_up_search(self, layout: Layout, plan: Plan) -> None:
        if plan.search_changed:
            search.create(self._conn, layout)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self._conn.execute(sql, params or ())

    def fetch(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, params or ()).fetchall()

    def execute_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self._conn.executemany(sql, rows)


class SqliteEngine(Engine):
    """Engine over one SQLite file (see the module docstring for guarantees)."""

    bools_as_ints = True  # cheaper to bind; see osis.store.codec.SQLITE_CONVERTERS

    def __init__(self, config: SqliteConfig) -> None:
        super().__init__()
        self._config = config
        self._lock = threading.Lock()
        self._idle_readers: list[sqlite3.Connection] = []
        self._statements: dict[str, _Statements] = {}
        self._last_write = 0.0
        self._writer = self._connect(writer=True)
        self._analyzed: dict[str, int] = {}  # table size (max key) at the last ANALYZE
        self._sql_memo: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._walk_memo: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        # (collection, resolved filters, grouped by a column) -> (aggregation plan, when, writes then)
        self._plan_memo: dict[tuple[Any, ...], tuple[tuple[bool, frozenset[Column]], float, int]] = {}
        self._writes: dict[str, int] = {}  # rows written per collection by this engine
        self._indexer = search.BackgroundIndexer(
            self._background_tx, lambda: self._last_write, self._checkpoint, self._maintain
        )

    # ------------------------------------------------------------------ connections

    @property
    def path(self) -> str:
        return self._config.path

    def _error(self, exc: sqlite3.Error, what: str) -> StoreError:
        msg = str(exc)
        where = f"SQLite database {self._config.path!r}"
        if isinstance(exc, sqlite3.OperationalError) and ("locked" in msg or "busy" in msg):
            return StoreLocked(
                f"{where} is locked by another connection or process"
                f" (gave up after {self._config.busy_timeout:g}s during {what})"
            )
        if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_FULL:
            return StoreFull(
                f"{where}: the disk is full, so {what} was refused and rolled back (nothing stored changed);"
                " free disk space to write again"
            )
        if "unable to open" in msg or "not a database" in msg or "disk I/O" in msg:
            return StoreUnavailable(f"cannot use {where}: {msg}")
        if "no such module: fts5" in msg:
            return StoreUnavailable(f"this SQLite build lacks FTS5, which search fields need ({where})")
        return StoreError(f"{where}: {what} failed: {msg}")

    def _connect(self, *, writer: bool) -> sqlite3.Connection:
        cfg = self._config
        if not cfg.memory:
            parent = os.path.dirname(os.path.abspath(cfg.path)) or "."
            if not os.path.isdir(parent):
                raise StoreUnavailable(
                    f"cannot open SQLite database {cfg.path!r}: directory {parent!r} does not exist"
                )
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                cfg.path,
                timeout=cfg.busy_timeout,
                isolation_level=None,  # transactions are explicit: BEGIN IMMEDIATE ... COMMIT
                check_same_thread=False,  # guarded by our own lock / handed out one thread at a time
                cached_statements=256,
            )
            if writer:
                # Single-row commits write every page they touch to the WAL, whole.
                # 2 KiB pages halve those bytes versus the 4 KiB default while still
                # holding typical documents inline.  Batches would rather have 4 KiB
                # (about 1 us less SQLite work per audit entry, fewer B-tree splits),
                # but single-row ingest then fell from 0.99x to 0.68x of the legacy
                # insert in an A/B run: the single-row path is the agent's.  Only takes
                # effect on a new file.
                conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
                if not cfg.memory:
                    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                    if str(mode).lower() != "wal":
                        raise StoreUnavailable(f"SQLite database {cfg.path!r} cannot use WAL mode (got {mode})")
                conn.execute(f"PRAGMA synchronous = {cfg.synchronous.upper()}")
                conn.execute("PRAGMA cache_size = -65536")
                # Each checkpoint costs two fsyncs, paid by whichever commit triggers it;
                # checkpointing every 16 MiB of WAL instead of every 2 MiB makes that
                # rare and lets pages rewritten many times be copied back once.
                conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
                conn.execute(f"PRAGMA journal_size_limit = {4 * WAL_CHECKPOINT_PAGES * PAGE_SIZE}")
                # lower() is the search's case folding; an ICU-enabled build would fold
                # non-ASCII letters too and silently change the semantics.
                if conn.execute("SELECT lower('\u00c0B')").fetchone()[0] != "\u00c0b":
                    raise StoreUnavailable("this SQLite build's lower() is not ASCII-only (ICU); unsupported")
            else:
                conn.execute("PRAGMA query_only = 1")
                conn.execute("PRAGMA cache_size = -16384")
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise self._error(exc, "open") from exc
        except StoreError:
            if conn is not None:
                conn.close()
            raise
        return conn

    def _background_tx(self) -> _WriteTransaction:
        return _WriteTransaction(self, foreground=False)

    def _write_tx(self, *, foreground: bool = True) -> _WriteTransaction:
        """The writer connection inside ``BEGIN IMMEDIATE``; commits on success."""
        return _WriteTransaction(self, foreground=foreground)

    def _read(self) -> _Read:
        """``with engine._read() as conn``: a read-only connection (the writer, locked, in memory)."""
        return _Read(self)

    # The idle readers are a plain list used without a lock: list.pop and list.append
    # are atomic, and the lock's acquire and release were a measurable share of an
    # ~8 µs indexed lookup (bench/README.md, "Store").  Two readers given back at once
    # may leave the pool a connection over its size, which costs nothing but a file
    # handle; close() is the one place that must not lose a connection (see there).

    def _take_reader(self) -> sqlite3.Connection:
        try:
            return self._idle_readers.pop()
        except IndexError:
            return self._connect(writer=False)

    def _give_back(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        idle = self._idle_readers
        if not self._closed and len(idle) < self._config.readers:
            idle.append(conn)
            if not self._closed:
                return
            # close() ran between the check and the append and may have drained the
            # pool before it: take the connection back out (unless close() already did).
            with contextlib.suppress(ValueError):
                idle.remove(conn)
        conn.close()

    # ------------------------------------------------------------------ lifecycle

    def _open(self, layouts: dict[str, Layout], schema: SchemaRecord | None) -> None:
        self._indexer.stop()
        with self._write_tx() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS osis_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS osis_collections (name TEXT PRIMARY KEY, spec TEXT NOT NULL,"
                " fts_watermark INTEGER NOT NULL DEFAULT 0)"
            )
            row = conn.execute("SELECT value FROM osis_meta WHERE key = 'format_version'").fetchone()
            if row is None:
                conn.execute("INSERT INTO osis_meta VALUES ('format_version', ?)", (str(FORMAT_VERSION),))
            elif int(row[0]) > FORMAT_VERSION:
                raise SchemaMismatch(
                    f"{self._config.path!r} uses store format {row[0]}; this version reads up to {FORMAT_VERSION}"
                )
            _SqliteApplier(conn).open(layouts, schema)
        self._statements = {name: _Statements.build(layout) for name, layout in layouts.items()}
        self._sql_memo.clear()
        self._walk_memo.clear()
        self._plan_memo.clear()
        if self._config.indexer:
            self._indexer.start(list(layouts.values()))

    def _close(self) -> None:
        self._indexer.stop()
        with self._lock:
            with contextlib.suppress(sqlite3.Error):
                self._writer.execute("PRAGMA optimize")
            self._writer.close()
        # _closed is set (Engine.close) before this runs, so a reader given back from
        # now on is closed by _give_back itself rather than left in the pool.
        idle = self._idle_readers
        while idle:
            try:
                conn = idle.pop()
            except IndexError:  # a concurrent _give_back took it back out
                break
            conn.close()

    # ------------------------------------------------------------------ planner statistics

    def _analyze(self, layouts: list[Layout]) -> None:
        """Sampled ``ANALYZE``, so quick on large tables.  The background thread runs it
        whenever a collection has doubled in size since its last analysis."""
        with self._write_tx(foreground=False) as conn:
            conn.execute(f"PRAGMA analysis_limit = {ANALYZE_LIMIT}")
            for layout in layouts:
                conn.execute(f"ANALYZE {quote(layout.table)}")
                row = conn.execute(f"SELECT max(id) FROM {quote(layout.table)}").fetchone()
                self._analyzed[layout.name] = int(row[0] or 0)

    def _maintain(self) -> None:
        for layout in list(self._layouts.values()):
            with self._read() as conn:
                row = conn.execute(f"SELECT max(id) FROM {quote(layout.table)}").fetchone()
            size = int(row[0] or 0)
            if size >= 1000 and size >= 2 * self._analyzed.get(layout.name, 0):
                self.analyze(layout.name)

    # ------------------------------------------------------------------ search index control

    def _checkpoint(self) -> None:
        """Copy the WAL back into the database now, without waiting for readers (PASSIVE)."""
        if self._config.memory:
            return
        with self._lock:
            self._check_open()
            try:
                self._writer.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error as exc:
                raise self._error(exc, "checkpoint") from exc

    def index_search(self, collection: str | None = None) -> int:
        """Index the whole search backlog now (normally the background thread does this);
        returns the number of rows indexed."""
        layouts = [self._layout(collection)] if collection else list(self._layouts.values())
        total = 0
        for layout in layouts:
            if not layout.search:
                continue
            while True:
                with self._background_tx() as conn:
                    done = search.index_batch(conn, layout, search.BATCH_ROWS * 4)
                total += done
                if not done:
                    break
        if total:
            self._checkpoint()
        return total

    def search_backlog(self, collection: str) -> int:
        """Rows of ``collection`` not yet in its search index (found by the tail scan)."""
        layout = self._layout(collection)
        if not layout.search:
            return 0
        with self._read() as conn:
            return search.backlog(conn, layout)

    # ------------------------------------------------------------------ writes

    def _insert(self, layout: Layout, docs: list[EncodedDoc]) -> Sequence[int]:
        st = self._statements[layout.name]
        self._count_writes(layout, len(docs))
        keys: list[int] = []
        with self._write_tx() as conn:
            auto = keys_of(docs).count(None) if len(docs) > 1 else 0
            if auto == len(docs):
                # AUTOINCREMENT hands out consecutive keys within one transaction, and
                # this one holds the only write lock: the keys end at the last rowid.
                conn.executemany(st.insert_auto, rows_of(docs))
                last = int(conn.execute("SELECT last_insert_rowid()").fetchone()[0])
                return range(last - len(docs) + 1, last + 1)
            if len(docs) > 1 and auto == 0:
                return self._insert_keyed(conn, layout, docs)
            mark: int | None = None
            for enc in docs:
                if enc.key is None:
                    cur = conn.execute(st.insert_auto, enc.row)
                    assert cur.lastrowid is not None
                    keys.append(cur.lastrowid)
                    continue
                cur = conn.execute(st.insert_key, (enc.key, *enc.row))
                if cur.rowcount == 0:
                    raise DuplicateSid(f"{layout.name}: sid {key_to_sid(enc.key)} already exists")
                if layout.search:
                    if mark is None:
                        mark = search.watermark(conn, layout)
                    if enc.key <= mark:  # below the watermark the index must be exact now
                        search.index_row(conn, layout, enc.key)
                keys.append(enc.key)
        return keys

    def _insert_keyed(self, conn: sqlite3.Connection, layout: Layout, docs: list[EncodedDoc]) -> list[int]:
        """A batch with explicit sids (a migration) in one executemany instead of a
        statement per row.  A taken sid fails the primary key: the batch is undone to a
        savepoint and only then is a taken sid looked up, to name it.  Checking first
        cost a lookup per row on every batch; now only a refused batch pays for one."""
        keys = [enc.key for enc in docs if enc.key is not None]
        conn.execute("SAVEPOINT osis_keyed")
        try:
            conn.executemany(
                self._statements[layout.name].insert_keys, [(enc.key, *enc.row) for enc in docs]
            )
        except sqlite3.IntegrityError:
            conn.execute("ROLLBACK TO osis_keyed")
            conn.execute("RELEASE osis_keyed")
            taken = self._first_taken(conn, layout, keys)
            if taken is None:  # pragma: no cover - the id is the table's only constraint
                raise
            raise DuplicateSid(f"{layout.name}: sid {key_to_sid(taken)} already exists") from None
        conn.execute("RELEASE osis_keyed")
        if layout.search:
            mark = search.watermark(conn, layout)
            for key in keys:
                if key <= mark:  # below the watermark the index must be exact now
                    search.index_row(conn, layout, key)
        return keys

    @staticmethod
    def _first_taken(conn: sqlite3.Connection, layout: Layout, keys: list[int]) -> int | None:
        table = quote(layout.table)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            taken = conn.execute(
                f"SELECT id FROM {table} WHERE id IN ({', '.join('?' * len(chunk))}) LIMIT 1", chunk
            ).fetchone()
            if taken is not None:
                return int(taken[0])
        return None

    def _count_writes(self, layout: Layout, rows: int) -> None:
        self._writes[layout.name] = self._writes.get(layout.name, 0) + rows

    def _rewrite(self, conn: sqlite3.Connection, layout: Layout, key: int, old: dict[str, Any], new: EncodedDoc) -> None:
        self._count_writes(layout, 1)
        changed = any(old.get(f) != v for f, v in zip(layout.search, new.search))
        reindex = changed and key <= search.watermark(conn, layout)
        if reindex:
            search.unindex_row(conn, layout, key)
        conn.execute(self._statements[layout.name].update, (*new.row, key))
        if reindex:
            search.index_row(conn, layout, key)

    def _replace(self, layout: Layout, key: int, doc: EncodedDoc) -> bool:
        with self._write_tx() as conn:
            row = conn.execute(self._statements[layout.name].select_doc, (key,)).fetchone()
            if row is None:
                return False
            self._rewrite(conn, layout, key, loads(row[0]), doc)
        return True

    def _update(
        self, layout: Layout, key: int, mutate: Callable[[dict[str, Any]], EncodedDoc]
    ) -> EncodedDoc | None:
        with self._write_tx() as conn:
            row = conn.execute(self._statements[layout.name].select_doc, (key,)).fetchone()
            if row is None:
                return None
            old = loads(row[0])
            new = mutate(old)
            self._rewrite(conn, layout, key, old, new)
        return new

    def _delete(self, layout: Layout, key: int) -> bool:
        self._count_writes(layout, 1)
        with self._write_tx() as conn:
            if layout.search and key <= search.watermark(conn, layout):
                search.unindex_row(conn, layout, key)
            cur = conn.execute(self._statements[layout.name].delete, (key,))
            return cur.rowcount > 0

    # ------------------------------------------------------------------ reads

    def _get(self, layout: Layout, keys: list[int]) -> dict[int, dict[str, Any]]:
        with self._read() as conn:
            if len(keys) == 1:
                row = conn.execute(self._statements[layout.name].select_doc, (keys[0],)).fetchone()
                return {} if row is None else {keys[0]: loads(row[0])}
            rows = conn.execute(
                f"SELECT id, doc FROM {quote(layout.table)} WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(keys),),
            ).fetchall()
        return {key: loads(doc) for key, doc in rows}

    def _exists(self, layout: Layout, key: int) -> bool:
        with self._read() as conn:
            return conn.execute(f"SELECT 1 FROM {quote(layout.table)} WHERE id = ?", (key,)).fetchone() is not None

    def _list_keys(self, layout: Layout) -> list[int]:
        with self._read() as conn:
            return [r[0] for r in conn.execute(f"SELECT id FROM {quote(layout.table)} ORDER BY id")]

    def _plain_sql(self, layout: Layout, rq: ResolvedQuery, limit: int | None, source: str,
                   clauses: list[str], params: list[Any], paged: bool = True, walk: bool = False,
                   key: str = "t.id") -> str:
        """SELECT of (key, document, ordering value) with filters, keyset and order, and
        with ``paged`` the limit and offset too (else the caller applies them).  With
        ``walk`` the filters stay off their indexes: the ordering index is walked.
        ``key`` is the key column's expression (its parameters already in ``params``)."""
        clauses = clauses + filters_sql(_D, rq.conds, params, walk=rq.order if walk else None)
        keyset = keyset_sql(_D, rq, params)
        if keyset:
            clauses.append(keyset)
        order_col = f"t.{quote(rq.order.name)}" if rq.order else "NULL"
        sql = f"SELECT {key}, t.doc, {order_col} FROM {source}{where_sql(clauses)} ORDER BY {order_sql(_D, rq)}"
        return sql + limit_sql(_D, limit, rq.offset, params) if paged else sql

    def _cached_sql(
        self, layout: Layout, rq: ResolvedQuery, limit: int | None, walk: bool
    ) -> tuple[str, tuple[Any, ...]]:
        # Only for queries without search or cursor: their SQL depends on nothing else.
        # Keyed by the resolution's identity (the engine memoises resolutions, so a
        # repeated query shape yields the same object): hashing a ResolvedQuery costs
        # more than running a primary-key lookup.  The entry holds the object, so its
        # id cannot be reused while the entry exists.
        memo_key = (id(rq), limit, walk)
        hit = self._sql_memo.get(memo_key)
        if hit is not None and hit[0] is rq:
            return hit[1], hit[2]
        params: list[Any] = []
        sql = self._plain_sql(layout, rq, limit, f"{quote(layout.table)} AS t", [], params, walk=walk)
        return self._remember_sql(memo_key, rq, sql, params)

    def _remember_sql(
        self, memo_key: tuple[Any, ...], rq: ResolvedQuery, sql: str, params: list[Any]
    ) -> tuple[str, tuple[Any, ...]]:
        if len(self._sql_memo) >= _MEMO_SIZE:
            self._sql_memo.clear()
        self._sql_memo[memo_key] = (rq, sql, tuple(params))
        return sql, tuple(params)

    def _search_walk_sql(self, layout: Layout, rq: ResolvedQuery) -> tuple[str, tuple[Any, ...]]:
        """The ordered walk of a search with a limit (offset and limit are applied in
        Python, after the exact check): the whole walk for needles too short for the
        index, else :func:`~osis.store.sqlite_search.budgeted_walk`.  Memoised as in
        :meth:`_cached_sql` (the resolution holds the needle) unless a cursor's
        position is part of it."""
        needle = rq.search
        assert needle is not None
        memo_key = (id(rq), None, "search walk")
        hit = self._sql_memo.get(memo_key)
        if hit is not None and hit[0] is rq:
            return hit[1], hit[2]
        params: list[Any] = []
        table = f"{quote(layout.table)} AS t"
        if len(needle) < search.TRIGRAM:  # no index to fall back on
            sql = self._plain_sql(layout, rq, None, table, [search.prefilter_sql(params, needle)], params, paged=False)
        else:
            key = search.prefiltered_key_sql(params, needle)
            walk = self._plain_sql(layout, rq, None, table, [], params, paged=False, key=key)
            sql, params = search.budgeted_walk(walk, params, search.WALK_ATTEMPT_ROWS)
        if rq.after is not None:
            return sql, tuple(params)
        return self._remember_sql(memo_key, rq, sql, params)

    def _walk_decision(self, conn: sqlite3.Connection, layout: Layout, rq: ResolvedQuery, want: int) -> bool:
        """:meth:`_should_walk`, remembered for a moment: a plan choice only, never a
        result, so a slightly stale one costs time, not correctness.  Reused for at
        most a second and as long as this engine wrote fewer than ``_WALK_WRITES``
        rows to the collection since."""
        if rq.order is None or not rq.conds:
            return False
        memo_key = (id(rq), want)
        hit = self._walk_memo.get(memo_key)
        writes = self._writes.get(layout.name, 0)
        now = time.monotonic()
        if hit is not None and hit[0] is rq and now - hit[2] < _WALK_TTL and writes - hit[3] < _WALK_WRITES:
            return bool(hit[1])
        walk = self._should_walk(conn, layout, rq, want)
        if len(self._walk_memo) >= _MEMO_SIZE:
            self._walk_memo.clear()
        self._walk_memo[memo_key] = (rq, walk, now, writes)
        return walk

    @functools.lru_cache(maxsize=512)  # noqa: B019 - as above
    def _probe_sql(self, layout: Layout, rq: ResolvedQuery) -> tuple[str, tuple[Any, ...]]:
        params: list[Any] = []
        where = where_sql(filters_sql(_D, rq.conds, params))
        return f"SELECT count(*) FROM (SELECT 1 FROM {quote(layout.table)}{where} LIMIT ?)", tuple(params)

    def _should_walk(self, conn: sqlite3.Connection, layout: Layout, rq: ResolvedQuery, want: int) -> bool:
        """For "filters, ordered by another field, first ``want``": walk the ordering
        index and test the filters, or collect the filter's matches and sort them?

        SQLite's statistics describe an average value, and agents' data is skewed
        (the most common tool may be a third of the log), so the planner often
        collects and sorts a huge match set.  Collecting costs ~m rows for m
        matches, walking ~want * n / m; they break even at m = sqrt(want * n).  A
        probe counts matches up to there, through the filter's own index.
        """
        if rq.order is None or not rq.conds or all(c.column == rq.order for c in rq.conds):
            return False
        if index_ordered(layout, rq):  # e.g. a (tool_name, created_at) index: nothing to choose
            return False
        row = conn.execute(f"SELECT max(id) FROM {quote(layout.table)}").fetchone()
        threshold = max(256, int(math.sqrt(want * int(row[0] or 0))))
        sql, params = self._probe_sql(layout, rq)
        found = conn.execute(sql, (*params, threshold)).fetchone()
        return int(found[0]) >= threshold

    def _plain_rows(
        self, conn: sqlite3.Connection, layout: Layout, rq: ResolvedQuery, limit: int | None
    ) -> list[tuple[int, str, Any]]:
        """(key, stored JSON, ordering value) rows of a query without search."""
        walk = limit is not None and self._walk_decision(conn, layout, rq, rq.offset + limit)
        if rq.after is None:
            sql, cached = self._cached_sql(layout, rq, limit, walk)
            return conn.execute(sql, cached).fetchall()
        params: list[Any] = []
        sql = self._plain_sql(layout, rq, limit, f"{quote(layout.table)} AS t", [], params, walk=walk)
        return conn.execute(sql, params).fetchall()

    def _find_docs(self, layout: Layout, rq: ResolvedQuery) -> list[dict[str, Any]]:
        if rq.search is not None:
            return self._search(layout, rq, rq.limit, wire=True)
        if rq.after is not None or self._config.memory or (
            rq.limit is not None and rq.order is not None and rq.conds
        ):
            # A cursor, the in-memory store's locked writer, or a walk-or-sort choice.
            with self._read() as conn:
                rows = self._plain_rows(conn, layout, rq, rq.limit)
            return wire_documents(rows)
        # The common case (a memoised statement, nothing to choose), inlined: the
        # helpers' calls were a measurable share of an ~8 µs indexed lookup (issue #4,
        # bench/README.md, "Fourth pass"); so are _cached_sql's memo hit and _take_reader.
        hit = self._sql_memo.get((id(rq), rq.limit, False))
        if hit is not None and hit[0] is rq:
            sql, params = hit[1], hit[2]
        else:
            sql, params = self._cached_sql(layout, rq, rq.limit, False)
        try:
            conn = self._idle_readers.pop()
        except IndexError:
            conn = self._connect(writer=False)
        try:
            rows = conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc, "read") from exc
        finally:
            self._give_back(conn)
        return wire_documents(rows)

    def _find(self, layout: Layout, rq: ResolvedQuery, limit: int | None) -> list[Row]:
        if rq.search is not None:
            return self._search(layout, rq, limit)
        with self._read() as conn:
            rows = self._plain_rows(conn, layout, rq, limit)
        return [(key, loads(doc), value) for key, doc, value in rows]

    def _search(self, layout: Layout, rq: ResolvedQuery, limit: int | None, *, wire: bool = False) -> list[Any]:
        """Rows (or with ``wire`` wire-form documents) of a query with search."""
        table = f"{quote(layout.table)} AS t"
        params: list[Any] = []
        needle = rq.search
        assert needle is not None
        with self._read() as conn:
            if not search.prefilter_sound(needle):  # exact SQL, through the index when possible
                source, clauses = search.exact_source(layout, needle, params)
                sql = self._plain_sql(layout, rq, limit, source, clauses, params)
                rows = conn.execute(sql, params).fetchall()
                if wire:
                    return wire_documents(rows)
                return [(key, loads(doc), value) for key, doc, value in rows]
            page = _Page(layout.search, needle, rq.offset, limit, wire=wire)
            if limit is not None:
                # Walk in order, the prefilter deciding in SQL which documents are worth decoding.
                sql, walk_params = self._search_walk_sql(layout, rq)
                cursor = conn.execute(sql, walk_params)
                try:
                    if page.feed(cursor, pause=True):
                        return page.rows
                    # The budget's rows did not fill the page: walk on if the term is common.
                    if search.is_dense(conn, layout, needle, rq.offset + limit):
                        page.feed(cursor)
                        return page.rows
                finally:
                    cursor.close()  # ends the statement, and with it its read snapshot
                page = _Page(layout.search, needle, rq.offset, limit, wire=wire)
            # Rare term (or no limit): fetch the index candidates and the unindexed tail.
            source = table if len(needle) < search.TRIGRAM else search.candidates_source(layout, needle, params)
            clauses = [search.prefilter_sql(params, needle)]
            sql = self._plain_sql(layout, rq, None, source, clauses, params, paged=False)
            cursor = conn.execute(sql, params)
            try:
                page.feed(cursor)
            finally:
                cursor.close()
            return page.rows

    @staticmethod
    def _exact_source(layout: Layout, needle: str | None, params: list[Any]) -> tuple[str, list[str]]:
        if needle is None:
            return f"{quote(layout.table)} AS t", []
        return search.exact_source(layout, needle, params)

    def _count(self, layout: Layout, rq: ResolvedQuery) -> int:
        params: list[Any] = []
        with self._read() as conn:
            source, clauses = self._exact_source(layout, rq.search, params)
            clauses += filters_sql(_D, rq.conds, params)
            row = conn.execute(f"SELECT count(*) FROM {source}{where_sql(clauses)}", params).fetchone()
        return int(row[0])

    def _aggregate_sql(
        self, conn: sqlite3.Connection, layout: Layout, ra: ResolvedAggregation, params: list[Any]
    ) -> str:
        source, clauses = self._exact_source(layout, ra.search, params)
        if ra.search is not None:  # the search index finds the rows; group them after
            groups_off_index, off_index = True, frozenset[Column]()
        else:
            groups_off_index, off_index = self._aggregate_plan(conn, layout, ra)
        return aggregate_sql(_D, source, ra, clauses, params, groups_off_index=groups_off_index,
                             off_index=off_index)

    def _aggregate_plan(
        self, conn: sqlite3.Connection, layout: Layout, ra: ResolvedAggregation
    ) -> tuple[bool, frozenset[Column]]:
        """How a filtered aggregation reads its rows: whether its group columns stay
        off their indexes, and which filter columns do.

        SQLite's planner would rather walk a group column's index (every row of the
        table, each looked up) than sort the filters' matches, so a 7-day window cost
        as much as the whole log.  That walk pays only when the matches are most of
        the table; otherwise the rows are read through the filters' indexes.  And
        with a window (a range on one column) and other filters (a user), through
        the window's index or the others', whichever matches fewer rows: SQLite
        cannot know (without STAT4 it guesses a quarter of the table for any range),
        and the answer changes with the data (a week of a busy log against one
        user's whole history).  Probes count the matches through the indexes
        (entries only, no row reads); the verdict is reused for up to
        ``_PLAN_TTL`` seconds or ``_WALK_WRITES`` rows written: it picks a plan,
        never a result.
        """
        groups = any(not g.day for g in ra.groups)  # a day expression has no index to walk
        window = {c.column for c in ra.conds if c.op in _RANGE_OPS}
        filtered = {c.column for c in ra.conds}
        choose = len(window) == 1 and filtered != window and not self._compound_window(layout, ra, window)
        if not (choose or (groups and ra.conds)):
            return False, frozenset()
        memo_key = (layout.name, ra.conds, groups)
        hit = self._plan_memo.get(memo_key)
        writes = self._writes.get(layout.name, 0)
        now = time.monotonic()
        if hit is not None and now - hit[1] < _PLAN_TTL and writes - hit[2] < _WALK_WRITES:
            return hit[0]
        row = conn.execute(f"SELECT max(id) FROM {quote(layout.table)}").fetchone()
        half = max(_PROBE_START, int(row[0] or 0) // 2)
        off_index: frozenset[Column] = frozenset()
        if choose:
            in_window = [c for c in ra.conds if c.column in window]
            others = [c for c in ra.conds if c.column not in window]
            window_rows, other_rows = self._count_both(conn, layout, in_window, others, half)
            off_index = frozenset(filtered - window if window_rows <= other_rows else window)
            matches = min(window_rows, other_rows)
        else:
            matches = self._count_up_to(conn, layout, list(ra.conds), half)
        plan = (groups and matches < half, off_index)
        if len(self._plan_memo) >= _MEMO_SIZE:
            self._plan_memo.clear()
        self._plan_memo[memo_key] = (plan, now, writes)
        return plan

    @staticmethod
    def _compound_window(layout: Layout, ra: ResolvedAggregation, window: set[Column]) -> bool:
        """Is there a compound index of equality-filtered fields then the window's
        (``("user_sid", "created_at")``)?  It reads exactly the rows of both, and the
        planner, which sees the equalities and the range on one index, picks it."""
        (field,) = (c.field for c in window)
        equal = {c.column.field for c in ra.conds if c.op == "eq"}
        return any(
            field in combo and 0 < combo.index(field) and set(combo[: combo.index(field)]) <= equal
            for combo in layout.spec.compound
        )

    @staticmethod
    def _count_up_to(conn: sqlite3.Connection, layout: Layout, conds: list[ResolvedCond], limit: int) -> int:
        params: list[Any] = []
        where = where_sql(filters_sql(_D, tuple(conds), params))
        sql = f"SELECT count(*) FROM (SELECT 1 FROM {quote(layout.table)}{where} LIMIT ?)"
        return int(conn.execute(sql, (*params, limit)).fetchone()[0])

    def _count_both(
        self, conn: sqlite3.Connection, layout: Layout, first: list[ResolvedCond], second: list[ResolvedCond],
        cap: int,
    ) -> tuple[int, int]:
        """The matches of ``first`` and of ``second``, each counted up to ``cap``, in
        rounds of growing limits until one side runs out: a few times the smaller
        side's index entries, never the larger side's.  The larger count may be
        short of the truth (it is only known to be larger)."""
        limit = min(_PROBE_START, cap)
        while True:
            a, b = (self._count_up_to(conn, layout, conds, limit) for conds in (first, second))
            if a < limit or b < limit or limit >= cap:
                return a, b
            limit = min(limit * 4, cap)

    def _aggregate(self, layout: Layout, ra: ResolvedAggregation) -> list[tuple[Any, ...]]:
        params: list[Any] = []
        with self._read() as conn:
            sql = self._aggregate_sql(conn, layout, ra, params)
            return [tuple(r) for r in conn.execute(sql, params).fetchall()]

    def explain(self, coll: str, query: Query) -> str:
        """SQLite's plan (``EXPLAIN QUERY PLAN``, one step a line) for :meth:`find` with
        ``query`` (without search), as the engine runs it, walk-or-sort choice included."""
        layout = self._layout(coll)
        rq = resolve_query(layout, query)
        if rq.search is not None:
            raise InvalidQuery("explain covers finds without search")
        params: list[Any] = []
        with self._read() as conn:
            limit = rq.limit
            walk = limit is not None and self._walk_decision(conn, layout, rq, rq.offset + limit)
            sql = self._plain_sql(layout, rq, limit, f"{quote(layout.table)} AS t", [], params, walk=walk)
            return "\n".join(str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params))

    def explain_aggregate(self, coll: str, agg: Aggregation) -> str:
        """SQLite's plan (``EXPLAIN QUERY PLAN``, one step a line) for :meth:`aggregate`
        with ``agg``, as the engine runs it."""
        layout = self._layout(coll)
        ra = resolve_aggregation(layout, agg)
        params: list[Any] = []
        with self._read() as conn:
            sql = self._aggregate_sql(conn, layout, ra, params)
            return "\n".join(str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params))

    def _iter_bodies(self, layout: Layout) -> Iterator[tuple[int, dict[str, Any]]]:
        with self._read() as conn:
            # One read transaction: every chunk comes from the same snapshot.
            if not self._config.memory:
                conn.execute("BEGIN")
            last = -1
            while True:
                rows = conn.execute(
                    f"SELECT id, doc FROM {quote(layout.table)} WHERE id > ? ORDER BY id LIMIT 1000", (last,)
                ).fetchall()
                if not rows:
                    break
                for key, doc in rows:
                    yield key, loads(doc)
                last = rows[-1][0]
            if not self._config.memory:
                conn.execute("COMMIT")
