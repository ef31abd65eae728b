"""Substring search for the SQLite engine: a lazily maintained FTS5 trigram index.

Why lazy
    Keeping an FTS5 trigram index current with a trigger costs about a
    millisecond per single-row transaction (each one writes and merges a new
    index segment): ten times the cost of the insert itself.  Indexing the same
    rows in batches costs a fraction of that per row, so writes never touch the
    index; rows reach it in batches, in row-key order, and a per-collection
    *watermark* (``osis_collections.fts_watermark``) records the highest row key
    indexed.  Row keys only grow (``AUTOINCREMENT``), so "not yet indexed" is
    exactly ``id > watermark``: a contiguous range at the end of the table.

Why nothing is ever missed
    A search reads, in one statement and so in one snapshot, the FTS candidates
    for the indexed part *and* every row past the watermark, and checks both
    against the real text.  A row written a microsecond ago is in the tail and is
    found.  Rows at or below the watermark that change are kept exact
    synchronously: replacing a row whose search text changes, or deleting it,
    removes its old index entry (FTS5 ``'delete'`` with the values it was indexed
    with, read from the row before it changes) and indexes the new text; an
    insert with an explicit sid at or below the watermark is indexed at once.

Index shape
    ``osis_<c>__search`` is a view exposing, per row, the ASCII-lower-cased text
    of each search field; ``osis_<c>__fts`` is an external-content FTS5 table
    over that view with the trigram tokenizer (case-sensitive, since the view
    already folded case) and ``detail=none`` (rowids only: about a quarter of the
    size of a full trigram index and cheaper to build).  Without positions FTS5
    cannot match phrases, so a needle of three or more characters is looked up as
    the AND of its distinct trigrams, which yields a superset of the true matches.

Exactness
    Every candidate (index hit or tail row) is checked against the real field
    text.  When the needle holds no character JSON escapes, a field match implies
    the needle occurs verbatim in the stored JSON text, so a ``LIKE`` on that text
    (no JSON parsing) filters first and ``find`` makes the exact decision in
    Python on the documents it decodes anyway; otherwise, and for ``count`` and
    ``aggregate``, the exact check runs in SQL on the extracted fields.  The
    ``LIKE`` looks for the needle's suffix from its rarest character, which is
    cheaper than the whole needle and still necessary (:func:`prefilter_part`).

Choosing a plan
    For an ordered query with a limit and a term that is *common*, walking the
    table in the requested order and stopping after ``limit`` matches is faster
    than collecting every candidate; for a rare or absent term the index wins by
    orders of magnitude.  ``find`` first walks a few hundred rows in order; if
    that fills the page the term was common.  Otherwise a probe counts index
    candidates up to the break-even point (see :func:`_is_dense`): past it the
    walk simply continues, below it the candidates come through the index.  The
    walk is one statement (:func:`budgeted_walk`) whose ``WHERE`` returns only the
    prefilter's matches, first among the budget's rows, then, after a pause
    for the probe, among the rest: walking on reads the same snapshot.
    Needles shorter than a trigram are always checked row by row.

Background work
    :class:`BackgroundIndexer` drains the backlog in batches on a daemon thread,
    sharing the engine's single writer connection and lock, and checkpoints the
    WAL after a drain so foreground commits do not pay for copying index pages.
    It runs flat out while no foreground write has happened for ``IDLE_AFTER``
    seconds; under sustained writes it stays out of the way unless the backlog
    grows past ``BUSY_BACKLOG`` rows, and even then holds the writer at most
    ``BUSY_DUTY`` of the time.  Searches stay correct at any backlog, they just
    check a longer tail.
"""

from __future__ import annotations

import functools
import math
import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from .background import BackgroundWorker
from .layout import Layout, identifier
from .sql import quote


TRIGRAM = 3
MAX_QUERY_TRIGRAMS = 24  # more terms add little selectivity and lengthen the FTS5 query
WALK_ATTEMPT_ROWS = 256  # rows find() walks in order before asking the index how common a term is
BATCH_ROWS = 500  # rows per indexing transaction: ~50 ms of writer time at most
IDLE_AFTER = 0.05  # seconds without a foreground write before indexing runs freely
BUSY_BACKLOG = 100_000
BUSY_DUTY = 0.1

WriteContext = Callable[[], AbstractContextManager[sqlite3.Connection]]


def fts_table(layout: Layout) -> str:
    return identifier(f"{layout.table}__fts")


def search_view(layout: Layout) -> str:
    return identifier(f"{layout.table}__search")


def _text_expr(field: str, prefix: str = "") -> str:
    # SQLite's built-in lower() folds ASCII only (the engine checks this at open),
    # which is exactly the case folding the search semantics define.
    path = '$."' + field + '"'
    return f"lower(json_extract({prefix}doc, '{path}'))"


def prefilter_sound(needle: str) -> bool:
    """Whether a match in a field implies the needle appears verbatim in the JSON text:
    true unless the needle holds a character JSON escapes (``"``, ``\\``, controls)."""
    return not any(c in '"\\' or c < " " for c in needle)


def like_pattern(needle: str) -> str:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# ASCII characters from the most to the least common in an agent's JSON documents,
# in lower case (needles arrive folded; LIKE stops at either case of a letter):
# English letter frequencies, with the space, the punctuation of JSON
# keys and numbers, and digits (timestamps) placed among them.  Only the order
# matters, and only roughly (see :func:`prefilter_part`); characters not listed
# are rarer than all of these.
_COMMON_FIRST = " etaoinsrhldcu:,m0123456789pfgwy_b.v/-kxjqz"
_COMMONNESS = {c: len(_COMMON_FIRST) - i for i, c in enumerate(_COMMON_FIRST)}
_NON_ASCII = len(_COMMON_FIRST) + 1  # LIKE's slow path: see prefilter_part


@functools.lru_cache(maxsize=256)  # a search's needle recurs; the choice costs ~1 µs
def prefilter_part(needle: str) -> str:
    """The part of ``needle`` the prefilter looks for: the suffix that starts at its
    rarest character, keeping at least a trigram (or the whole of a shorter needle).

    Why not the whole needle: ``LIKE '%abc%'`` skips through the text with
    ``strcspn`` to each occurrence of ``a`` (either case) and tries to match the
    rest of the pattern there (SQLite's ``patternCompare``, ``func.c``), so its cost
    follows how often the pattern's first character occurs in the text, not how
    long the text is.  "error" stops at every ``e`` of a document (43 in the
    benchmark's 488 bytes), "rror" at every ``r`` (20).  A suffix matches
    wherever the needle does, so the prefilter stays a necessary condition; the
    few documents it lets through in vain are decoded and dropped by the exact
    check.  A non-ASCII first character gets no ``strcspn``: SQLite then decodes
    and compares every character of the text, so such a start comes last.
    """
    starts = needle[: len(needle) - min(len(needle), TRIGRAM) + 1]
    commonness = [_COMMONNESS.get(c, 0) if c < "\x80" else _NON_ASCII for c in starts]
    return needle[commonness.index(min(commonness)) :]  # the earliest of equals: the longest suffix


def prefilter_sql(params: list[Any], needle: str) -> str:
    """Necessary condition for a match: the needle's :func:`prefilter_part` occurs in
    the document's JSON text.

    ``LIKE`` folds ASCII case like the search does and needs no JSON parsing, so
    it costs a fraction of extracting the fields.  Only sound when
    :func:`prefilter_sound` says so.
    """
    params.append(like_pattern(prefilter_part(needle)))
    # The pattern is an expression, not a bare parameter, so that SQLite's LIKE
    # optimisation never reads its value: when it does (any WHERE term "x LIKE ?"),
    # SQLite marks the statement to be prepared again after every new binding: about
    # 0.25M instructions, a tenth of the benchmark's common-term search (callgrind).
    # The expression is constant, so SQLite computes it once per execution.
    return "t.doc LIKE (? || '') ESCAPE '\\'"


def verify_sql(layout: Layout, needle: str, params: list[Any]) -> str:
    """True when ``needle`` (already folded) occurs in one of the search fields
    (exact, in SQL; the cheap prefilter runs first when it is sound)."""
    pre = prefilter_sql(params, needle) if prefilter_sound(needle) else None
    terms = []
    for field in layout.search:
        terms.append(f"instr({_text_expr(field, 't.')}, ?) > 0")
        params.append(needle)
    exact = "(" + " OR ".join(terms) + ")"
    return exact if pre is None else f"({pre} AND {exact})"


def fts_query(needle: str) -> str:
    """FTS5 expression matching rows that contain every trigram of ``needle``.

    Each trigram is a double-quoted FTS5 string (quotes doubled), so no character
    of the needle is ever read as FTS5 syntax.
    """
    grams = list(dict.fromkeys(needle[i : i + TRIGRAM] for i in range(len(needle) - TRIGRAM + 1)))
    if len(grams) > MAX_QUERY_TRIGRAMS:
        step = (len(grams) - 1) / (MAX_QUERY_TRIGRAMS - 1)
        grams = list(dict.fromkeys(grams[round(i * step)] for i in range(MAX_QUERY_TRIGRAMS)))
    return " AND ".join('"' + g.replace('"', '""') + '"' for g in grams)


# ---------------------------------------------------------------------- DDL


def create(conn: sqlite3.Connection, layout: Layout) -> None:
    """(Re)create the view and FTS table; everything is re-indexed lazily from row 0."""
    drop(conn, layout)
    if not layout.search:
        return
    cols = ", ".join(f"{_text_expr(f)} AS {quote('s_' + f)}" for f in layout.search)
    conn.execute(f"CREATE VIEW {quote(search_view(layout))} AS SELECT id, {cols} FROM {quote(layout.table)}")
    fts_cols = ", ".join(quote("s_" + f) for f in layout.search)
    conn.execute(
        f"CREATE VIRTUAL TABLE {quote(fts_table(layout))} USING fts5({fts_cols},"
        f" content={quote(search_view(layout))}, content_rowid='id',"
        " tokenize='trigram case_sensitive 1', detail=none)"
    )
    conn.execute("UPDATE osis_collections SET fts_watermark = 0 WHERE name = ?", (layout.name,))


def drop(conn: sqlite3.Connection, layout: Layout) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {quote(fts_table(layout))}")
    conn.execute(f"DROP VIEW IF EXISTS {quote(search_view(layout))}")


# ---------------------------------------------------------------------- maintenance


def watermark(conn: sqlite3.Connection, layout: Layout) -> int:
    row = conn.execute("SELECT fts_watermark FROM osis_collections WHERE name = ?", (layout.name,)).fetchone()
    return int(row[0]) if row else 0


def _cols(layout: Layout) -> str:
    return ", ".join(quote("s_" + f) for f in layout.search)


def index_row(conn: sqlite3.Connection, layout: Layout, key: int) -> None:
    """Add one row's current text to the index (caller holds a write transaction)."""
    cols = _cols(layout)
    conn.execute(
        f"INSERT INTO {quote(fts_table(layout))}(rowid, {cols})"
        f" SELECT id, {cols} FROM {quote(search_view(layout))} WHERE id = ?",
        (key,),
    )


def unindex_row(conn: sqlite3.Connection, layout: Layout, key: int) -> None:
    """Remove one row's index entry; must run *before* the row's text changes,
    because FTS5 needs the exact values that were indexed."""
    cols = _cols(layout)
    fts = quote(fts_table(layout))
    conn.execute(
        f"INSERT INTO {fts}({fts}, rowid, {cols})"
        f" SELECT 'delete', id, {cols} FROM {quote(search_view(layout))} WHERE id = ?",
        (key,),
    )


def index_batch(conn: sqlite3.Connection, layout: Layout, limit: int) -> int:
    """Index up to ``limit`` rows past the watermark; returns how many (caller holds a
    write transaction, which makes the read-index-advance sequence atomic)."""
    mark = watermark(conn, layout)
    row = conn.execute(
        f"SELECT count(*), max(id) FROM (SELECT id FROM {quote(layout.table)} WHERE id > ? ORDER BY id LIMIT ?)",
        (mark, limit),
    ).fetchone()
    count, high = int(row[0]), row[1]
    if not count:
        return 0
    cols = _cols(layout)
    conn.execute(
        f"INSERT INTO {quote(fts_table(layout))}(rowid, {cols})"
        f" SELECT id, {cols} FROM {quote(search_view(layout))} WHERE id > ? AND id <= ?",
        (mark, high),
    )
    conn.execute("UPDATE osis_collections SET fts_watermark = ? WHERE name = ?", (high, layout.name))
    return count


def backlog(conn: sqlite3.Connection, layout: Layout) -> int:
    """Rows not yet in the index."""
    mark = watermark(conn, layout)
    row = conn.execute(f"SELECT max(id) FROM {quote(layout.table)}").fetchone()
    if row[0] is None or row[0] <= mark:
        return 0
    # Keys can have gaps (deletes, explicit sids): count exactly only when it is cheap.
    span = int(row[0]) - mark
    if span <= 10_000:
        counted = conn.execute(f"SELECT count(*) FROM {quote(layout.table)} WHERE id > ?", (mark,)).fetchone()
        return int(counted[0])
    return span


# ---------------------------------------------------------------------- querying


def exact_source(layout: Layout, needle: str, params: list[Any]) -> tuple[str, list[str]]:
    """FROM clause and WHERE terms selecting exactly the rows that match ``needle``.

    Parameters of the FROM clause go to ``params`` first, then those of the terms.
    Used where every match counts (count, aggregate) and for needles the prefilter
    cannot serve.
    """
    source = f"{quote(layout.table)} AS t" if len(needle) < TRIGRAM else candidates_source(layout, needle, params)
    return source, [verify_sql(layout, needle, params)]


def candidates_source(layout: Layout, needle: str, params: list[Any]) -> str:
    """FROM clause over the index candidates plus the not-yet-indexed tail."""
    fts = quote(fts_table(layout))
    params.extend([fts_query(needle), layout.name])
    # CROSS JOIN pins the join order: drive from the (small) candidate set, never
    # from an ordered walk of the whole table probing the candidate list.
    return (
        f"(SELECT rowid AS rid FROM {fts} WHERE {fts} MATCH ?"
        f" UNION ALL SELECT id FROM {quote(layout.table)}"
        " WHERE id > (SELECT fts_watermark FROM osis_collections WHERE name = ?))"
        f" AS cand CROSS JOIN {quote(layout.table)} AS t ON t.id = cand.rid"
    )


def prefiltered_key_sql(params: list[Any], needle: str) -> str:
    """The key column of :func:`budgeted_walk`'s walk: the row's key where the
    prefilter passes, else NULL.

    Why the prefilter sits in the walk's column list, not in the ``WHERE`` over it:
    the walk's rows leave its co-routine in registers that point into the table's
    pages, and reading one outside it copies it first: the whole document, for the
    ``LIKE``'s argument.  Inside, ``LIKE`` reads the document in place, and the
    ``WHERE`` outside tests the key, an integer.  Only the matches' documents are
    copied, into the result row.
    """
    return f"CASE WHEN {prefilter_sql(params, needle)} THEN t.id END AS hit"


def budgeted_walk(walk: str, walk_params: list[Any], budget: int) -> tuple[str, list[Any]]:
    """The statement ``find`` walks in order with: the rows of ``walk`` (a SELECT of
    :func:`prefiltered_key_sql`, document and ordering value in the query's total order)
    that passed the prefilter, in two parts separated by *budget markers* (rows of
    NULLs).

    The first part is the prefilter's matches among the first ``budget`` rows of the
    walk; the second, the matches among the rows after them.  A ``WHERE`` over each
    part keeps the matches, so only they reach Python, and one statement keeps
    both parts on one read snapshot however long the engine pauses at the markers
    to decide whether to walk on (:func:`is_dense`, run on the same connection).
    SQLite does not flatten a subquery with a ``LIMIT`` into an outer ``WHERE`` or
    push the ``WHERE`` down into it: each part runs as a co-routine, in the
    subquery's order, stepped only as far as rows are fetched (a test checks the
    plan).  The second part skips the first ``budget`` rows of the same walk by
    ``OFFSET`` (index entries only when the order has an index); it is only read
    when the term turned out dense.

    Two markers, not one: Python's ``sqlite3`` computes the row after each row it
    returns, so fetching the first marker computes the second, which is free,
    rather than the first match of the second part, which for a rare term means
    reading the whole table before the engine decided to walk on.
    """
    params = [*walk_params, budget, *walk_params, budget]
    first = f"SELECT * FROM ({walk} LIMIT ?) AS w WHERE w.hit IS NOT NULL"
    rest = f"SELECT * FROM ({walk} LIMIT -1 OFFSET ?) AS w WHERE w.hit IS NOT NULL"
    marker = " UNION ALL SELECT NULL, NULL, NULL"
    return first + marker + marker + " UNION ALL " + rest, params


def is_dense(conn: sqlite3.Connection, layout: Layout, needle: str, want: int) -> bool:
    """Whether ``needle`` is common enough that walking in order beats the index."""
    return len(needle) < TRIGRAM or _is_dense(conn, layout, fts_query(needle), want)


def _is_dense(conn: sqlite3.Connection, layout: Layout, query: str, want: int) -> bool:
    """Whether walking the table in order beats collecting every candidate.

    Walking costs ~``want * n / c`` cheap row checks for ``c`` matches in ``n``
    rows; collecting costs ~``c`` candidates, each about five times dearer
    (index lookup, field extraction, sort).  They break even at
    ``c = sqrt(want * n / 5)``; the probe stops counting there.
    """
    row = conn.execute(f"SELECT max(id) FROM {quote(layout.table)}").fetchone()
    rows = int(row[0] or 0)
    threshold = max(64, int(math.sqrt(max(want, 1) * rows / 5)))
    fts = quote(fts_table(layout))
    found = conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM {fts} WHERE {fts} MATCH ? LIMIT ?)", (query, threshold)
    ).fetchone()
    return int(found[0]) >= threshold


# ---------------------------------------------------------------------- background indexing


class BackgroundIndexer(BackgroundWorker):
    """Daemon thread draining the search backlog of every collection with search fields."""

    thread_name = "osis-search-indexer"
    task = "search indexing and planner statistics"

    def __init__(
        self,
        write: WriteContext,
        last_write: Callable[[], float],
        checkpoint: Callable[[], None],
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self._write = write
        self._last_write = last_write
        # Indexing fills the WAL; copying those pages back is part of its cost, so it
        # checkpoints after a drain rather than leave that to the next foreground commit.
        self._checkpoint = checkpoint
        self._on_idle = on_idle  # other upkeep the engine wants done off the write path
        self._layouts: list[Layout] = []

    def start(self, layouts: list[Layout]) -> None:
        self._layouts = [layout for layout in layouts if layout.search]
        if self._layouts or self._on_idle is not None:
            self.start_thread()

    def round(self) -> None:
        indexed = sum(self._drain(layout) for layout in list(self._layouts))
        if indexed:
            self._checkpoint()
        if self._on_idle is not None and time.monotonic() - self._last_write() >= IDLE_AFTER:
            self._on_idle()

    def _drain(self, layout: Layout) -> int:
        """Index batches until the backlog is gone or writers need the lock; returns rows indexed."""
        total = 0
        while not self.stopping:
            busy = time.monotonic() - self._last_write() < IDLE_AFTER
            started = time.monotonic()
            with self._write() as conn:
                if busy and backlog(conn, layout) < BUSY_BACKLOG:
                    return total
                done = index_batch(conn, layout, BATCH_ROWS)
            total += done
            if done < BATCH_ROWS:
                return total
            if busy:
                spent = time.monotonic() - started
                self.pause(spent * (1 / BUSY_DUTY - 1))
        return total

