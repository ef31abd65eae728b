"""How the PostgreSQL engine runs an aggregation: on the planner's plan, or streamed over a covering index.

Why it overrides the planner at all
    An aggregation over a whole collection grouped by an indexed field ("tokens per
    user", "calls per model") reads every row.  PostgreSQL's own plan reads the
    documents' heap (a parallel sequential scan) and hashes each row into its group.
    The heap carries every document whole, about three times the width of the typed
    columns the aggregation reads, and the covering B-tree indexes of
    :meth:`osis.store.layout.Layout.btree_indexes` already hold those columns sorted
    by group.  Read in order, that index gives each group's rows one after another,
    so the groups are summed as they stream by (a ``GroupAggregate``) with no hash
    table, and the heap is never read.  At 200k usage entries on 2 cores that took
    30 against 38 ms (``bench/README.md``, "Ninth pass"), but the planner's costs
    (random page reads for index pages, parallel workers for the heap) rank it last,
    so the engine asks for it: ``SET LOCAL`` in the statement's own transaction turns
    off sequential scans, hash aggregation and parallel workers for that one
    statement (a parallel index scan merged back in order cost more than it gained).

When
    Only where it cannot go badly wrong:

    * no filter, no search, no percentile, every group a plain field (not a day);
    * one index's key starts with the group fields, in order, and holds every
      column the aggregation reads (key or covering payload);
    * the heap has at least ``MIN_PAGES`` pages (below that, any plan is quick), and
      the visibility map covers at least ``MIN_VISIBLE`` of it.  An index-only scan
      must read the heap for every entry on a page not marked all-visible, in index
      order, which is far slower than the sequential scan.  ``VACUUM`` marks pages
      (autovacuum does it for insert-only tables by itself); the fraction is
      ``pg_class.relallvisible`` (set by ``VACUUM`` and ``ANALYZE``) over the heap's
      pages now, so rows appended since count as not visible.  It is read at most
      once every ``RECHECK`` seconds per table.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg

from .layout import Layout
from .query import ResolvedAggregation

MIN_PAGES = 1024  # 8 MiB of heap
MIN_VISIBLE = 0.9  # share of the heap's pages the visibility map must cover
RECHECK = 10.0  # seconds a table's visibility verdict is reused

#: One statement, so the settings cost one round trip; undone at the transaction's end.
_SETTINGS = (
    "SET LOCAL enable_seqscan = off; SET LOCAL enable_hashagg = off;"
    " SET LOCAL max_parallel_workers_per_gather = 0"
)
#: Prefixed to a streamed statement: its text differs from the planner's own plan's, so
#: psycopg never runs one's prepared plan for the other.
_MARK = "/* streamed over a covering index */ "

_VISIBLE_SQL = (
    "SELECT c.relallvisible, pg_relation_size(c.oid) / current_setting('block_size')::bigint"
    " FROM pg_class c WHERE c.oid = %s::regclass"
)


def indexed_grouping(layout: Layout, ra: ResolvedAggregation) -> bool:
    """Whether ``ra`` has the shape a covering index can stream (see the module's "When")."""
    if ra.search is not None or ra.conds or not ra.groups:
        return False
    if any(g.day for g in ra.groups) or any(m.op == "percentile" for m in ra.metrics):
        return False
    groups = tuple(g.column for g in ra.groups)
    read = set(groups) | {m.column for m in ra.metrics if m.column is not None}
    return layout.grouping_index(groups, read) is not None


class AggregatePlans:
    """Per engine: which tables' visibility maps allow streaming, re-read now and then."""

    def __init__(self) -> None:
        self._verdicts: dict[str, tuple[bool, float]] = {}  # table -> (streams, monotonic time)

    def clear(self) -> None:
        self._verdicts.clear()

    def streams(self, conn: psycopg.Connection[Any], table: str, layout: Layout, ra: ResolvedAggregation) -> bool:
        """Whether to stream ``ra`` over ``layout``'s qualified ``table``."""
        if not indexed_grouping(layout, ra):
            return False
        now = time.monotonic()
        hit = self._verdicts.get(table)
        if hit is not None and now - hit[1] < RECHECK:
            return hit[0]
        row = conn.execute(_VISIBLE_SQL, (table,)).fetchone()
        visible, pages = (int(row[0]), int(row[1])) if row is not None else (0, 0)
        verdict = pages >= MIN_PAGES and visible >= MIN_VISIBLE * pages
        self._verdicts[table] = (verdict, now)
        return verdict


def run(conn: psycopg.Connection[Any], text: str, params: list[Any], *, streamed: bool, prepare: bool | None
        ) -> list[Any]:
    """Execute the aggregation ``text``, streamed or on the planner's plan (``prepare``
    as for psycopg's ``execute``)."""
    if not streamed:
        return conn.execute(text, params, prepare=prepare).fetchall()
    with conn.transaction():
        conn.execute(_SETTINGS)
        return conn.execute(_MARK + text, params, prepare=prepare).fetchall()
