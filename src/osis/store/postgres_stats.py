"""Planner statistics for the PostgreSQL engine: ``ANALYZE`` on demand, and when a table changed a lot.

Why the engine does it at all
    PostgreSQL's autovacuum analyses tables by itself, but it may be off (as on the
    shared test server), it visits each database once a minute, and it counts a
    writer's changes only once that writer's counters reach the statistics views.
    Right after a bulk load (``osis migrate``, an ``insert_many`` of a log) the
    planner would then plan on statistics of an empty table, or none at all: a
    sequential scan instead of an index, the wrong side of a walk-or-sort choice.
    :meth:`Engine.analyze` refreshes them at once; the background thread does it by
    itself for tables that changed a lot.

When the background thread analyses a table
    Every ``CHECK_EVERY`` seconds it reads, in one catalogue query, for the tables of
    the store's collections (documents and search side tables): the row and page
    counts of their last analysis (``pg_class.reltuples``/``relpages``, which
    ``ANALYZE`` and ``VACUUM`` set), the table's size now (its file size: exact and
    immediate), the rows changed since the last analysis
    (``pg_stat_user_tables.n_mod_since_analyze``: every writer's, including other
    processes', reaching the view within about ten seconds) and when it was last
    analysed, by anyone.  A table is *stale* when

    * it changed by at least as many rows as it had (and at least ``MIN_ROWS``), or
    * its heap at least doubled (and holds at least ``MIN_PAGES`` pages): a bulk
      load shows here at once, before its counters are flushed;

    the doubling rule of the SQLite engine, so a growing table is analysed a
    logarithmic number of times.

Not fighting autovacuum
    A table analysed within ``RECENT`` seconds (by autovacuum, anyone's ``ANALYZE``,
    or an attempt of this engine) is left alone.  That also spaces the analyses of
    a table that keeps doubling during a fast load (each would be stale again
    soon): the last one comes at most ``RECENT`` plus ``CHECK_EVERY`` seconds after
    the load ends.  Autovacuum's own threshold is a
    tenth of the table, so where it runs it normally gets there first and resets
    the counters.  And the background ``ANALYZE`` waits at most ``LOCK_TIMEOUT`` for
    its lock: PostgreSQL cancels an autovacuum that blocks another session's lock
    request for ``deadlock_timeout`` (1 s by default), so waiting longer would cancel
    autovacuum's work; a table it is busy with is skipped until a later round.
    Each ``ANALYZE`` is its own short transaction, holding no lock writers wait for.

A role that may not analyse a table
    Only a table's owner, the database's owner or a superuser (from PostgreSQL 17
    also a role with the table's ``MAINTAIN`` privilege) may analyse it; anyone else's
    ``ANALYZE`` skips it with a server warning, not an error, and leaves its counters
    as they were.  The catalogue query says which tables the role may analyse: the
    background thread leaves the others alone (the engine says so once), and an
    explicit analysis raises :class:`NotPermitted` naming them rather than report
    statistics it did not refresh.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg

from .errors import NotPermitted
from .layout import Layout
from .postgres_search import side_table
from .sql import quote

CHECK_EVERY = 1.0  # seconds between two looks at the catalogue
MIN_ROWS = 1000  # changed rows below which a table is never stale (as on SQLite)
MIN_PAGES = 32  # heap pages (256 KiB) below which growth alone never makes a table stale
RECENT = 5.0  # seconds after an analysis (anyone's) during which a table is left alone
LOCK_TIMEOUT = "100ms"  # the background ANALYZE's wait for its lock: well under deadlock_timeout


def table_names(layouts: Iterable[Layout]) -> list[str]:
    """The tables whose statistics serve the collections' queries: the documents' table
    and, with search fields, the search side table (its trigram indexes' selectivity)."""
    names = []
    for layout in layouts:
        names.append(layout.table)
        if layout.search:
            names.append(side_table(layout))
    return names


@dataclass(frozen=True)
class TableStats:
    """What the catalogue says about one table's statistics."""

    name: str
    rows_then: float  # rows at the last analysis (or vacuum); 0 when never
    pages_then: int  # heap pages then
    pages_now: int  # heap pages now
    changed: int  # rows inserted, updated or deleted since the last analysis
    analyzed_ago: float | None  # seconds since the last analysis, by anyone; None: never
    permitted: bool = True  # whether this role may analyse it

    @property
    def stale(self) -> bool:
        if self.changed >= max(MIN_ROWS, self.rows_then):
            return True
        return self.pages_now >= max(MIN_PAGES, 2 * self.pages_then)


# Who may analyse a table (the rule ANALYZE applies; superusers are members of every role).
_PERMITTED = (
    "(pg_has_role(c.relowner, 'USAGE')"
    " OR pg_has_role((SELECT datdba FROM pg_database WHERE datname = current_database()), 'USAGE'){maintain})"
)
_MAINTAIN = " OR has_table_privilege(c.oid, 'MAINTAIN')"  # PostgreSQL 17 and later
_MAINTAIN_SINCE = 170000

_READ_SQL = (
    "SELECT c.relname, greatest(c.reltuples, 0), c.relpages,"
    " pg_relation_size(c.oid) / current_setting('block_size')::bigint,"
    " COALESCE(s.n_mod_since_analyze, 0),"
    " extract(epoch FROM now() - greatest(s.last_analyze, s.last_autoanalyze)),"
    f" {_PERMITTED}"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid"
    " WHERE n.nspname = %s AND c.relname = ANY(%s) AND c.relkind = 'r'"
)


def read(conn: psycopg.Connection[Any], schema: str, names: list[str]) -> list[TableStats]:
    maintain = _MAINTAIN if conn.info.server_version >= _MAINTAIN_SINCE else ""
    rows = conn.execute(_READ_SQL.format(maintain=maintain), (schema, names)).fetchall()
    return [
        TableStats(
            name, float(then), int(pages), int(now), int(changed), None if ago is None else float(ago), bool(permitted)
        )
        for name, then, pages, now, changed, ago, permitted in rows
    ]


def analyze_all(conn: psycopg.Connection[Any], schema: str, names: list[str]) -> None:
    """``ANALYZE`` each of ``names``, waiting for locks as needed; raises
    :class:`NotPermitted` naming the tables this role may not analyse (after
    analysing the others), since PostgreSQL itself would only warn and skip them."""
    refused = {t.name for t in read(conn, schema, names) if not t.permitted}
    for name in names:
        if name not in refused:
            analyze(conn, schema, name)
    if refused:
        raise NotPermitted(_refusal(conn, schema, sorted(refused)))


def _refusal(conn: psycopg.Connection[Any], schema: str, names: list[str]) -> str:
    tables = ", ".join(f"{schema}.{name}" for name in names)
    return (
        f"role {conn.info.user!r} may not ANALYZE {tables}: only a table's owner, the database's owner"
        " or a superuser may; run osis as the owner, or leave the statistics to autovacuum"
    )


def analyze(conn: psycopg.Connection[Any], schema: str, name: str, *, background: bool = False) -> bool:
    """``ANALYZE`` one table in a transaction of its own; returns False when ``background``
    and its lock was not to be had within ``LOCK_TIMEOUT`` (autovacuum, DDL)."""
    sql = f"ANALYZE {quote(schema)}.{quote(name)}"
    if not background:
        conn.execute(sql)
        return True
    try:
        with conn.transaction():
            conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            conn.execute(sql)
    except psycopg.errors.LockNotAvailable:
        return False
    return True


class Upkeep:
    """The background thread's bookkeeping: when it last looked, what it last analysed."""

    def __init__(self) -> None:
        self._checked = float("-inf")
        self._attempted: dict[str, float] = {}  # table -> monotonic time of this engine's last ANALYZE
        self._refused: set[str] = set()  # tables this role may not analyse, already reported

    def due(self) -> bool:
        """Whether ``CHECK_EVERY`` has passed since the last look (and count this one)."""
        now = time.monotonic()
        if now - self._checked < CHECK_EVERY:
            return False
        self._checked = now
        return True

    def stale(self, tables: list[TableStats]) -> list[str]:
        """The tables to analyse now: stale, permitted, and not analysed within ``RECENT`` seconds."""
        now = time.monotonic()
        return [
            t.name
            for t in tables
            if t.stale
            and t.permitted
            and (t.analyzed_ago is None or t.analyzed_ago >= RECENT)
            and now - self._attempted.get(t.name, float("-inf")) >= RECENT
        ]

    def newly_refused(self, tables: list[TableStats]) -> list[str]:
        """The tables this role may not analyse that were not reported before (reported once)."""
        fresh = [t.name for t in tables if not t.permitted and t.name not in self._refused]
        self._refused.update(fresh)
        return fresh

    def attempted(self, names: Iterable[str]) -> None:
        now = time.monotonic()
        for name in names:
            self._attempted[name] = now
