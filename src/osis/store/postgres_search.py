"""Substring search for the PostgreSQL engine: a trigram index filled off the write path.

Why lazy
    A ``pg_trgm`` GIN index over the documents is maintained by every insert:
    with two search fields it tripled the cost of a batched insert and added half
    again to a single-row one.  So the documents' table carries no search index.
    The folded search text lives in a side table, ``osis_<c>__search`` (``rid``,
    one ``s_<field>`` column per search field, ASCII letters lower-cased), with
    one GIN trigram index per column; a background thread fills it in batches,
    in row-key order, and a per-collection *watermark*
    (``osis_collections.search_watermark``) records that every row with a key up
    to it is in the side table with its current text.

Why nothing is ever missed
    A search reads the side table (through its trigram index) for keys up to the
    watermark *and* checks every row past it directly, in one statement.  Any
    watermark value at most the committed one gives exact results, since the
    watermark only grows and the side table stays exact below it; so the engine
    may use a slightly stale copy (``SearchMarks``) and save a round trip.  A row
    written a microsecond ago is past the watermark and found by the direct scan.

    What keeps "every key up to the watermark is indexed" true although
    transactions commit out of key order:

    * *Store-assigned keys.*  Before a batch the indexer takes ``SHARE`` lock on
      the table for an instant (``LOCK TABLE ... IN SHARE MODE``, with a short
      ``lock_timeout``): that waits for every in-flight insert, and every writer
      draws its keys while holding the table's ``ROW EXCLUSIVE`` lock (``INSERT``
      takes it before evaluating the key default; the ``COPY`` path takes it
      before drawing its keys).  The largest key then visible is a *horizon*:
      every smaller store-assigned key is committed or rolled back for good.  The
      indexer only advances the watermark up to a horizon.
    * *Explicit keys* (migrations) can be anywhere.  Their transaction reads the
      watermark ``FOR SHARE`` and indexes at once any key at or below it; the
      indexer updates the watermark ``FOR UPDATE SKIP LOCKED``, so the two never
      interleave: an explicit key is either below the watermark and indexed with
      its row, or above it and seen by the indexer's next batch.
    * *Replaced, incremented and deleted rows* update or delete their side-table
      row in the same transaction, whatever the watermark.  The indexer inserts
      ``ON CONFLICT DO NOTHING``, so a newer text written meanwhile always wins.
      (A row deleted while the indexer copies it may leave an orphan side row,
      which no search returns: searches join the side table to the documents.)

Plans
    ``find`` runs the indexed part and the tail as two branches of a
    ``UNION ALL``, each ordered and limited, merged by the outer query.  The
    watermark is a parameter of an unprepared statement, so the planner sees its
    value and knows the tail is short (a key range scan), and picks for the
    indexed part between walking the order's index (common terms) and the
    trigram index (rare terms) from the side table's statistics.  Search statements are never prepared server-side: a
    generic plan cannot know the pattern and would ignore the trigram index
    (``tests/store/test_postgres_engine.py`` checks the plans).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg

from .background import BackgroundWorker
from .layout import Layout, identifier
from .sql import quote


BATCH_ROWS = 2000  # rows per indexing transaction
LOCK_TIMEOUT = "100ms"  # the horizon's SHARE lock never makes writers queue for longer
IDLE_AFTER = 0.05  # seconds without a foreground write before indexing runs freely
# Under sustained writes, index only once the backlog passes BUSY_BACKLOG rows (a
# tail that long costs a search some 20-40 ms of direct checks), and then for at
# most BUSY_DUTY of the time.
BUSY_BACKLOG = 20_000
BUSY_DUTY = 0.25
MARK_TTL = 0.5  # seconds a cached watermark is used before it is read again


def side_table(layout: Layout) -> str:
    return identifier(f"{layout.table}__search")


def side_index(layout: Layout, field: str) -> str:
    return identifier(f"{layout.table}__search__s_{field}")


def side_column(field: str) -> str:
    return quote(f"s_{field}")


def text_expr(field: str, prefix: str = "") -> str:
    """The folded search text of ``field`` in a document row.

    Under the "C" collation ``lower()`` folds ASCII letters only, whatever the
    database locale: exactly the search's case folding.
    """
    return f"lower(({prefix}doc ->> '{field}') COLLATE \"C\")"


def document_text(prefix: str = "") -> str:
    """The whole stored document, folded like the search text: a superset of every
    field's text when :func:`prefilter_sound`, and no JSON parsing."""
    return f"lower(({prefix}doc)::text COLLATE \"C\")"


def prefilter_sound(needle: str) -> bool:
    """Whether a match in a field implies the needle appears verbatim in the document's
    JSON text: true unless the needle holds a character JSON escapes (``"``, ``\\``,
    controls)."""
    return not any(c in '"\\' or c < " " for c in needle)


def like_pattern(needle: str) -> str:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# ---------------------------------------------------------------------- DDL


def ensure(conn: psycopg.Connection[Any], schema: str, layout: Layout, opclass: str) -> None:
    """Give the collection the side table its search fields need (none without search
    fields).  A new or changed side table starts empty with watermark 0: searches are
    exact at once and fast once the background indexer caught up."""
    name = side_table(layout)
    rows = conn.execute(
        "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped",
        (schema, name),
    ).fetchall()
    have = {r[0] for r in rows}
    want = {"rid", *(f"s_{f}" for f in layout.search)} if layout.search else set()
    if have == want:
        return
    table = f"{quote(schema)}.{quote(name)}"
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(
        f"UPDATE {quote(schema)}.osis_collections SET search_watermark = 0 WHERE name = %s", (layout.name,)
    )
    if not layout.search:
        return
    cols = "".join(f", {side_column(f)} text COLLATE \"C\"" for f in layout.search)
    conn.execute(f"CREATE TABLE {table} (rid bigint PRIMARY KEY{cols})")
    for field in layout.search:
        conn.execute(
            f"CREATE INDEX {quote(side_index(layout, field))} ON {table}"
            f" USING gin ({side_column(field)} {opclass})"
        )


# ---------------------------------------------------------------------- write-path upkeep


class SideTable:
    """SQL of one collection's side table, rendered once."""

    def __init__(self, schema: str, layout: Layout) -> None:
        self.layout = layout
        self.may_clean = True  # whether this role may merge the GIN pending lists (their owner)
        table = f"{quote(schema)}.{quote(layout.table)}"
        self.table = table
        self.side = f"{quote(schema)}.{quote(side_table(layout))}"
        self.meta = f"{quote(schema)}.osis_collections"
        cols = ", ".join(side_column(f) for f in layout.search)
        texts = ", ".join(text_expr(f) for f in layout.search)
        updates = ", ".join(f"{side_column(f)} = EXCLUDED.{side_column(f)}" for f in layout.search)
        self.upsert_sql = (
            f"INSERT INTO {self.side} (rid, {cols}) SELECT id, {texts} FROM {table} WHERE id = ANY(%s)"
            f" ON CONFLICT (rid) DO UPDATE SET {updates}"
        )
        self.delete_sql = f"DELETE FROM {self.side} WHERE rid = %s"
        self.mark_sql = f"SELECT search_watermark FROM {self.meta} WHERE name = %s"
        self.fill_sql = (
            f"INSERT INTO {self.side} (rid, {cols}) SELECT id, {texts} FROM {table}"
            " WHERE id > %s AND id <= %s ON CONFLICT (rid) DO NOTHING"
        )

    def index_rows(self, conn: psycopg.Connection[Any], keys: list[int]) -> None:
        """(Re)index rows with their current text, in the caller's transaction."""
        conn.execute(self.upsert_sql, (keys,))

    def unindex_row(self, conn: psycopg.Connection[Any], key: int) -> None:
        conn.execute(self.delete_sql, (key,))

    def index_explicit(self, conn: psycopg.Connection[Any], keys: list[int]) -> None:
        """Rows just inserted with explicit keys: those at or below the watermark are
        indexed now; the watermark stays locked until the caller's transaction ends,
        so the indexer cannot pass the others before they are visible to it."""
        row = conn.execute(self.mark_sql + " FOR SHARE", (self.layout.name,)).fetchone()
        mark = int(row[0]) if row else 0
        below = [k for k in keys if k <= mark]
        if below:
            self.index_rows(conn, below)

    # ------------------------------------------------------------------ indexing

    def watermark(self, conn: psycopg.Connection[Any]) -> int:
        row = conn.execute(self.mark_sql, (self.layout.name,)).fetchone()
        return int(row[0]) if row else 0

    def horizon(self, conn: psycopg.Connection[Any]) -> int | None:
        """The largest key below which every store-assigned key is settled, or None
        when in-flight writers held the table longer than ``LOCK_TIMEOUT``."""
        try:
            with conn.transaction():
                conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                conn.execute(f"LOCK TABLE {self.table} IN SHARE MODE")
                row = conn.execute(f"SELECT COALESCE(max(id), 0) FROM {self.table}").fetchone()
        except psycopg.errors.LockNotAvailable:
            return None
        assert row is not None
        return int(row[0])

    def index_batch(self, conn: psycopg.Connection[Any], horizon: int, limit: int) -> tuple[int, int]:
        """Index up to ``limit`` rows past the watermark, up to ``horizon``; returns
        (rows indexed, new watermark).  Nothing happens while another indexer or an
        explicit-key writer holds the watermark."""
        with conn.transaction():
            row = conn.execute(self.mark_sql + " FOR UPDATE SKIP LOCKED", (self.layout.name,)).fetchone()
            if row is None:
                return 0, -1
            mark = int(row[0])
            if mark >= horizon:
                return 0, mark
            found = conn.execute(
                f"SELECT count(*), max(id) FROM (SELECT id FROM {self.table} WHERE id > %s AND id <= %s"
                " ORDER BY id LIMIT %s) AS q",
                (mark, horizon, limit),
            ).fetchone()
            assert found is not None
            count = int(found[0])
            high = int(found[1]) if count == limit else horizon
            if count:
                conn.execute(self.fill_sql, (mark, high))
            conn.execute(f"UPDATE {self.meta} SET search_watermark = %s WHERE name = %s", (high, self.layout.name))
        return count, high

    def backlog(self, conn: psycopg.Connection[Any], *, exact: bool) -> int:
        """Rows past the watermark; without ``exact``, the key span (an upper bound,
        costing two index probes instead of a count)."""
        if exact:
            sql = f"SELECT count(*) FROM {self.table} WHERE id > ({self.mark_sql})"
        else:
            sql = f"SELECT GREATEST(COALESCE(max(id), 0) - ({self.mark_sql}), 0) FROM {self.table}"
        row = conn.execute(sql, (self.layout.name,)).fetchone()
        assert row is not None
        return int(row[0])

    def clean_pending(self, conn: psycopg.Connection[Any], schema: str) -> bool:
        """Merge the GIN pending lists the indexer filled, so searches do not scan them.

        Only the indexes' owner may: for any other role (one that reads and writes a
        store it does not own) this returns False the first time and does nothing
        after, leaving the lists to be merged when they reach ``gin_pending_list_limit``
        and by autovacuum.  ``conn`` is in autocommit mode, so the refusal aborts nothing.
        """
        if not self.may_clean:
            return True
        for field in self.layout.search:
            try:
                conn.execute(
                    "SELECT gin_clean_pending_list(%s::regclass)",
                    (f"{quote(schema)}.{quote(side_index(self.layout, field))}",),
                )
            except psycopg.errors.InsufficientPrivilege:
                self.may_clean = False
                return False
        return True


class SearchMarks:
    """A per-engine copy of each collection's watermark, for search statements.

    Any value at most the committed watermark keeps searches exact (see the module
    doc), so a copy that lags only makes the directly scanned tail longer.  The
    engine's own indexer raises it as it commits; otherwise it is re-read after
    ``MARK_TTL`` seconds.
    """

    def __init__(self) -> None:
        self._marks: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def get(self, conn: psycopg.Connection[Any], side: SideTable) -> int:
        name = side.layout.name
        cached = self._marks.get(name)
        now = time.monotonic()
        if cached is not None and now - cached[1] < MARK_TTL:
            return cached[0]
        mark = side.watermark(conn)
        self.raise_to(name, mark, now)
        return mark

    def raise_to(self, name: str, mark: int, now: float | None = None) -> None:
        with self._lock:
            old = self._marks.get(name)
            self._marks[name] = (max(mark, old[0]) if old else mark, time.monotonic() if now is None else now)

    def clear(self) -> None:
        with self._lock:
            self._marks.clear()


# ---------------------------------------------------------------------- background indexing


class BackgroundIndexer(BackgroundWorker):
    """Daemon thread draining the search backlog of every collection with search fields.

    Indexing runs in the database server, so it does not hold the engine's
    connections for long: one pooled connection per batch.  It runs flat out while
    no foreground write happened for ``IDLE_AFTER`` seconds; under sustained writes
    it waits until the backlog passes ``BUSY_BACKLOG`` rows and then takes at most
    ``BUSY_DUTY`` of the time.  Searches are exact at any backlog.  After each round
    it runs the engine's other upkeep (``maintain``: planner statistics), whatever
    the writers do: that work takes no lock they wait for.
    """

    thread_name = "osis-pg-search-indexer"
    task = "search indexing and planner statistics"

    def __init__(
        self,
        drain: Callable[[SideTable, bool], int],
        last_write: Callable[[], float],
        maintain: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self._drain = drain
        self._last_write = last_write
        self._maintain = maintain
        self._sides: list[SideTable] = []

    def start(self, sides: list[SideTable]) -> None:
        self._sides = sides
        if sides or self._maintain is not None:
            self.start_thread()

    def round(self) -> None:
        for side in list(self._sides):
            started = time.monotonic()
            busy = started - self._last_write() < IDLE_AFTER
            if self._drain(side, busy) and busy:
                self.pause((time.monotonic() - started) * (1 / BUSY_DUTY - 1))
        if self._maintain is not None and not self.stopping:
            self._maintain()
