"""PostgreSQL engine: psycopg 3 with a connection pool.

Layout
    Same shape as every engine (see :mod:`osis.store.layout`): ``id bigint``
    identity primary key (the sid's number), one typed column per indexed/numeric
    field, then ``doc json`` without the sid (columns added later follow it; tables
    created before that keep ``doc`` second).  ``json`` rather than ``jsonb``: the
    server returns it as stored instead of re-serialising every document it
    reads (about 6 us each), and writes only check its syntax.  Nothing queries
    inside documents except the search expressions and backfills.  Tables created
    by earlier versions keep their ``jsonb`` column and work unchanged.  Text columns use ``COLLATE "C"`` so
    comparisons and ordering are by code point, as on SQLite and in Python,
    whatever the database's locale.  B-tree indexes are ``(field NULLS FIRST, id)``
    so ordered queries and keyset paging walk an index in either direction with
    NULLs placed as on SQLite.

Search
    See :mod:`osis.store.postgres_search`: ``pg_trgm`` GIN indexes on a side
    table filled off the write path by a background thread, with exact results
    at any backlog.  :meth:`PostgresEngine.explain` shows the plan a query gets.

Durability and concurrency
    Each write is one transaction committed with the server's settings (by
    default ``synchronous_commit=on``: acknowledged writes survive a crash).
    ``increment`` locks the row (``SELECT ... FOR UPDATE``) for its
    read-modify-write, so concurrent increments serialise.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from . import postgres_search as search
from . import postgres_aggregate as aggregate
from . import postgres_stats as stats
from .apply import Applier
from .codec import EncodedDoc, loads, rows_of, wire_documents
from .engine import Engine, Row
from .errors import (
    DuplicateSid,
    ExtensionUnavailable,
    NotPermitted,
    SchemaMismatch,
    StoreError,
    StoreFull,
    StoreUnavailable,
)
from .layout import BTreeIndex, Layout
from .outage import Outage
from .query import (
    Aggregation,
    Query,
    ResolvedAggregation,
    ResolvedCond,
    ResolvedQuery,
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
from .url import PostgresConfig

# 2: search text in side tables with a watermark (version 1 indexed the documents'
# table itself, and its writers would not keep the side tables current).
FORMAT_VERSION = 2
_D = Dialect(param="%s", spell_nulls=True, mod="%%")
_TYPES = {
    "str": 'text COLLATE "C"',
    "enum": 'text COLLATE "C"',
    "int": "bigint",
    "float": "double precision",
    "bool": "boolean",
    "time": "bigint",
}


log = logging.getLogger("osis.store")

# Whether the schema already has the store's metadata tables, as this version makes them.
_METADATA_CURRENT_SQL = (
    "SELECT count(*) = 2 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
    " JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = %s AND NOT a.attisdropped AND ((c.relname = 'osis_meta' AND a.attname = 'value')"
    " OR (c.relname = 'osis_collections' AND a.attname = 'search_watermark'))"
)
_SQL_MEMO_SIZE = 1024  # memoised find statements per engine
_COPY_MIN_ROWS = 64  # batches at least this large are written with COPY
# While the server is unreachable, a request waits at most this long for a connection, so
# callers get a prompt "unreachable" instead of queueing behind each other's timeouts. Each
# such request lets the pool start a connection attempt; once one succeeds, requests get
# through again (a local connection takes milliseconds).
_OUTAGE_WAIT = 0.25
# The pool's background reconnection gives up after this long; then the next request that
# finds the pool empty starts a fresh attempt. Reconnecting is thus driven by demand,
# instead of an exponential backoff that, after a 30 s outage, waits 30 s more.
_RECONNECT_WINDOW = 2.0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _qualified(schema: str, name: str) -> str:
    return f"{quote(schema)}.{quote(name)}"


def _configure(conn: psycopg.Connection[Any]) -> None:
    # Documents are read as text (``doc::text``) and decoded by codec.loads (orjson), as
    # on SQLite, rather than by a JSON loader set on the connection: an adapters map
    # customised per connection cost every statement ~20k instructions (~4 µs) of
    # adaptation, documents or not (bench/README.md, "Ninth pass").
    # Prepare a statement server-side on its second run instead of its sixth (psycopg's
    # default): the pool hands requests to its connections in turn, so with the default
    # each connection parses and plans a repeated query five more times.  A statement
    # seen once (DDL at open) is still never prepared.  Which statements may be
    # prepared at all: see _prepare.
    conn.prepare_threshold = 1


def _prepare(layout: Layout, rq: ResolvedQuery, limit: int | None, params: list[Any]) -> bool | None:
    """How :meth:`PostgresEngine.find` runs its statement: ``False`` unprepared, ``None``
    prepared by psycopg on its second run (see :func:`_configure`), after which
    PostgreSQL may switch to a generic plan (after five custom ones), one plan for
    every value.

    Statements without values have nothing to plan for (their limits are written out).
    Ordered, limited queries with values are not prepared: walking the ordering index
    is right for a common tool and a table scan for a rare one, and a generic plan cannot
    tell them apart (for a search, it walks an index instead of the trigram index) --
    unless one index holds the matches in order (:func:`index_ordered`, e.g. tool_name
    then created_at for "a tool's newest"): that range scan is every value's best plan,
    so the generic plan is too, and preparing spares the planning.  Filters without a
    limit fetch every match, and PostgreSQL keeps re-planning them while the generic
    plan's estimate is worse than the values' own plans."""
    if rq.search is not None or (params and limit is not None and not index_ordered(layout, rq)):
        return False
    return None


class _Checkout:
    """What :meth:`PostgresEngine._conn` returns: a connection taken from the pool on
    entry and given back on exit, with database failures raised as store errors.

    A class calling ``getconn``/``putconn`` rather than a generator around the pool's
    ``connection()``: those two generator layers and the connection's own context
    manager (a commit on exit, which for the engine's autocommit connections does
    nothing: its transactions are explicit ``conn.transaction()`` blocks) cost ~12 µs of
    client CPU a call, a twentieth of a single-row insert.  ``putconn`` still rolls back
    a transaction left open and replaces a broken connection.
    """

    __slots__ = ("_engine", "_what", "_taken")

    def __init__(self, engine: PostgresEngine, what: str) -> None:
        self._engine = engine
        self._what = what

    def __enter__(self) -> psycopg.Connection[Any]:
        engine = self._engine
        engine._check_open()
        try:
            self._taken = engine._pool.getconn(timeout=_OUTAGE_WAIT if engine._outage.ongoing else None)
        except PoolTimeout as exc:
            error = engine._store_error(self._what, exc, None)
            assert error is not None
            raise error from exc
        return self._taken

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        engine, conn = self._engine, self._taken
        engine._pool.putconn(conn)
        if exc is None:
            engine._outage.reached()
            return
        error = engine._store_error(self._what, exc, conn)
        if error is not None:
            raise error from exc


class _PostgresApplier(Applier):
    """PostgreSQL's dialect for applying layout plans (see :mod:`osis.store.apply`)."""

    param = _D.param
    types = _TYPES
    key_column = "id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    # The document last: reading a typed column then never steps over it (the
    # aggregations, which read only typed columns, run about 10 % faster).
    doc_column = "doc json NOT NULL"
    drop_column = "DROP COLUMN IF EXISTS"

    def __init__(self, conn: psycopg.Connection[Any], schema: str) -> None:
        self._conn = conn
        self._schema = schema
        self._opclass = ""  # pg_trgm's GIN operator class, once a collection has search fields

    def qualify(self, name: str) -> str:
        return _qualified(self._schema, name)

    def create_index(self, table: str, index: BTreeIndex) -> str:
        keys = ", ".join(f"{quote(c.name)} ASC NULLS FIRST" for c in index.key)
        include = f" INCLUDE ({', '.join(quote(c.name) for c in index.payload)})" if index.payload else ""
        return f"CREATE INDEX {quote(index.name)} ON {table} ({keys}, id){include}"

    def existing_indexes(self, layout: Layout) -> set[str]:
        # Includes the GIN indexes format 1 kept on the documents' table (now in side tables).
        rows = self.fetch(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = %s", (self._schema, layout.table)
        )
        return {name for (name,) in rows} - {f"{layout.table}_pkey"}

    doc_text = "doc::text"

    def document(self, stored: Any) -> dict[str, Any]:
        body: dict[str, Any] = loads(stored)
        return body

    def before_apply(self, layouts: Mapping[str, Layout]) -> None:
        if any(layout.search for layout in layouts.values()):
            self._opclass = self._trigram_opclass()

    def set_up_search(self, layout: Layout, plan: Plan) -> None:
        # Every open, not only when the search fields changed: format 1 stores move
        # their search index to the side table here.
        search.ensure(self._conn, self._schema, layout, self._opclass)

    def _trigram_opclass(self) -> str:
        """Make sure pg_trgm is installed and return its GIN operator class, schema-qualified."""
        conn = self._conn
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('osis-store:pg_trgm'))")
        row = conn.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'pg_trgm'"
        ).fetchone()
        if row is None:
            try:
                with conn.transaction():
                    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            except psycopg.Error as exc:
                raise ExtensionUnavailable(
                    "search fields need the pg_trgm extension, which is not installed and could not be"
                    f" created ({_first_line(exc)}); ask a superuser to run CREATE EXTENSION pg_trgm"
                ) from exc
            row = conn.execute(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
                " WHERE e.extname = 'pg_trgm'"
            ).fetchone()
            assert row is not None
        return f"{quote(row[0])}.gin_trgm_ops"

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self._conn.execute(sql, params)

    def fetch(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, params).fetchall()

    def execute_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(sql, rows)


class PostgresEngine(Engine):
    """Engine over one PostgreSQL schema (``?schema=`` in the URL, default ``public``)."""

    def __init__(self, config: PostgresConfig) -> None:
        super().__init__()
        self._config = config
        self._doc_types: dict[str, str] = {}
        self._schema = config.schema
        self._sides: dict[str, search.SideTable] = {}
        self._sql_memo: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        # Per collection, its INSERT statements (assigned key in autocommit, assigned key
        # in a transaction, explicit key): rendered once per open rather than on every
        # insert (~10 µs of a 250 µs single insert).
        self._insert_sqls: dict[str, tuple[str, str, str]] = {}
        self._marks = search.SearchMarks()
        self._aggregate_plans = aggregate.AggregatePlans()
        self._last_write = 0.0  # monotonic time of the last foreground write
        self._upkeep = stats.Upkeep()
        self._indexer = (
            search.BackgroundIndexer(self._drain_search, lambda: self._last_write, self._maintain)
            if config.indexer
            else None
        )
        timeout = max(1, math.ceil(config.connect_timeout))
        # A plain connection first: its error says *why* (refused, auth, no such database),
        # where a pool would only report a timeout.
        try:
            with psycopg.connect(config.conninfo, connect_timeout=timeout, autocommit=True) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            raise StoreUnavailable(f"cannot connect to {config.redacted}: {_first_line(exc)}") from exc
        self._pool = ConnectionPool(
            config.conninfo,
            min_size=1,
            max_size=config.pool_max,
            kwargs={"autocommit": True, "connect_timeout": timeout},
            timeout=config.connect_timeout * 6,
            reconnect_timeout=_RECONNECT_WINDOW,
            name="osis-store",
            configure=_configure,
            open=False,
        )
        self._outage = Outage("PostgreSQL", config.redacted, self._drop_stale_connections)
        try:
            self._pool.open(wait=True, timeout=config.connect_timeout * 2)
        except PoolTimeout as exc:
            self._pool.close()
            raise StoreUnavailable(f"cannot open a connection pool to {config.redacted}") from exc

    # ------------------------------------------------------------------ plumbing

    def _table(self, layout: Layout) -> str:
        return _qualified(self._schema, layout.table)

    def _doc_type(self, layout: Layout) -> str:
        """``json`` (tables created by this version) or ``jsonb`` (earlier ones)."""
        return self._doc_types.get(layout.name, "json")

    def _meta(self, name: str) -> str:
        return _qualified(self._schema, name)

    def _conn(self, what: str) -> _Checkout:
        """``with engine._conn(what) as conn``: a pooled connection for ``what`` (named in
        errors), its failures raised as store errors (see :meth:`_store_error`)."""
        return _Checkout(self, what)

    def _store_error(
        self, what: str, exc: BaseException, conn: psycopg.Connection[Any] | None
    ) -> StoreError | None:
        """The store error a failure during ``what`` means, or None to let it through."""
        outage = self._outage
        if isinstance(exc, PoolTimeout):
            # No connection at all (none busy either) means the server cannot be reached;
            # otherwise every connection was busy for the whole wait.
            if outage.ongoing or self._pool.get_stats().get("pool_size", 0) == 0:
                return StoreUnavailable(outage.lost(f"no connection could be made during {what}"))
            return StoreUnavailable(f"no connection to {self._config.redacted} became available during {what}")
        if isinstance(exc, psycopg.errors.DiskFull):
            # The server could not extend a file: the statement failed whole, nothing changed.
            return StoreFull(
                f"{self._config.redacted}: the database server's disk is full, so {what} was refused and rolled"
                " back (nothing stored changed); free disk space on the server to write again"
            )
        if isinstance(exc, psycopg.OperationalError):
            if conn is None or conn.broken:
                return StoreUnavailable(outage.lost(f"{what} failed: {_first_line(exc)}"))
            return StoreUnavailable(f"{self._config.redacted}: {what} failed: {_first_line(exc)}")
        if isinstance(exc, psycopg.Error):
            return StoreError(f"{self._config.redacted}: {what} failed: {_first_line(exc)}")
        return None

    def _drop_stale_connections(self) -> None:
        """At the start of an outage, test the idle connections in the background: those
        the server dropped are replaced, so none is handed out once it is back."""
        threading.Thread(target=self._pool.check, name="osis-store-pool-check", daemon=True).start()

    # ------------------------------------------------------------------ lifecycle

    def _open(self, layouts: dict[str, Layout], record: SchemaRecord | None) -> None:
        schema = quote(self._schema)
        with self._conn("open") as conn, conn.transaction():
            # Serialise concurrent openers of the same schema (DDL races otherwise).
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"osis-store:{self._schema}",))
            # Looked up before any DDL: even "IF NOT EXISTS" needs the privilege to create,
            # and a role that only reads and writes an existing store has none.
            current = conn.execute(_METADATA_CURRENT_SQL, (self._schema,)).fetchone()
            if not (current and current[0]):
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {self._meta('osis_meta')} (key text PRIMARY KEY, value text NOT NULL)"
                )
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {self._meta('osis_collections')}"
                    " (name text PRIMARY KEY, spec text NOT NULL)"
                )
                conn.execute(
                    f"ALTER TABLE {self._meta('osis_collections')}"
                    " ADD COLUMN IF NOT EXISTS search_watermark bigint NOT NULL DEFAULT 0"
                )
            row = conn.execute(f"SELECT value FROM {self._meta('osis_meta')} WHERE key = 'format_version'").fetchone()
            if row is None:
                conn.execute(
                    f"INSERT INTO {self._meta('osis_meta')} VALUES ('format_version', %s)", (str(FORMAT_VERSION),)
                )
            elif int(row[0]) > FORMAT_VERSION:
                raise SchemaMismatch(
                    f"schema {self._schema!r} uses store format {row[0]}; this version reads up to {FORMAT_VERSION}"
                )
            elif int(row[0]) < FORMAT_VERSION:
                # The applier's search set-up moves every collection's search index to its side table below.
                conn.execute(
                    f"UPDATE {self._meta('osis_meta')} SET value = %s WHERE key = 'format_version'",
                    (str(FORMAT_VERSION),),
                )
            try:
                _PostgresApplier(conn, self._schema).open(layouts, record)
            except psycopg.errors.InsufficientPrivilege as exc:
                raise NotPermitted(
                    f"{self._config.redacted}: role {conn.info.user!r} may not change the store's layout"
                    f" ({_first_line(exc)}); open it once as the owner of schema {self._schema!r} to apply"
                    " the schema change, then again as this role"
                ) from exc
            doc_types = {}
            for name, layout in layouts.items():
                row = conn.execute(
                    "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                    " WHERE attrelid = %s::regclass AND attname = 'doc'",
                    (self._table(layout),),
                ).fetchone()
                doc_types[name] = "jsonb" if row is not None and row[0] == "jsonb" else "json"
        self._doc_types = doc_types
        self._sql_memo = {}
        self._insert_sqls = {}
        self._aggregate_plans.clear()
        self._sides = {name: search.SideTable(self._schema, l) for name, l in layouts.items() if l.search}
        self._marks.clear()
        if self._indexer is not None:
            self._indexer.start(list(self._sides.values()))

    def _close(self) -> None:
        if self._indexer is not None:
            self._indexer.stop()
        self._pool.close()

    # ------------------------------------------------------------------ planner statistics

    def _analyze(self, layouts: list[Layout]) -> None:
        """``ANALYZE`` of each collection's table and search side table, each in a
        transaction of its own (see :mod:`osis.store.postgres_stats`)."""
        names = stats.table_names(layouts)
        with self._conn("analyze") as conn:
            try:
                stats.analyze_all(conn, self._schema, names)
            finally:
                self._upkeep.attempted(names)

    def _maintain(self) -> None:
        """Background: analyse the tables that changed a lot since their last analysis.

        Not while the server is unreachable: requests find out when it is back (the
        outage is logged once, at its start and end).  An outage met here is left to
        that report rather than raised, which would log a traceback a round; a full
        disk is raised, as the worker reports it once.
        """
        if self._outage.ongoing or not self._upkeep.due():
            return
        names = stats.table_names(list(self._layouts.values()))
        if not names:
            return
        try:
            with self._conn("planner statistics upkeep") as conn:
                tables = stats.read(conn, self._schema, names)
                refused = self._upkeep.newly_refused(tables)
                if refused:
                    log.warning(
                        "planner statistics: role %r may not ANALYZE %s (not the owner); left to autovacuum",
                        conn.info.user,
                        ", ".join(refused),
                    )
                stale = self._upkeep.stale(tables)
                self._upkeep.attempted(stale)
                for name in stale:
                    if not stats.analyze(conn, self._schema, name, background=True):
                        log.debug("planner statistics: %s is locked (autovacuum?); analysed later", name)
        except StoreFull:
            raise
        except StoreUnavailable as exc:
            log.debug("planner statistics upkeep skipped: %s", exc)

    # ------------------------------------------------------------------ search upkeep

    def _side(self, coll: str | None) -> list[search.SideTable]:
        if coll is None:
            return list(self._sides.values())
        layout = self._layout(coll)
        side = self._sides.get(layout.name)
        return [] if side is None else [side]

    def _drain_search(self, side: search.SideTable, busy: bool) -> int:
        """Index ``side``'s backlog in batches; returns rows indexed.  ``busy``: writers
        are active, so only a large backlog is worth their brief wait for the horizon."""
        total = 0
        while self._indexer is None or not self._indexer.stopping:
            with self._conn("search indexing") as conn:
                if busy and side.backlog(conn, exact=False) < search.BUSY_BACKLOG:
                    break
                horizon = side.horizon(conn)
                if horizon is None:
                    break
                done, mark = side.index_batch(conn, horizon, search.BATCH_ROWS)
            if mark >= 0:
                self._marks.raise_to(side.layout.name, mark)
            total += done
            if done < search.BATCH_ROWS or busy:
                break
        if total:
            self._clean_pending(side)
        return total

    def index_search(self, collection: str | None = None) -> int:
        """Index every row not yet in the search index (of one collection or all);
        returns how many.  The background indexer does this by itself; call it with
        ``indexer=off`` or to have the index complete now.  Searches are exact either way."""
        total = 0
        for side in self._side(collection):
            while True:
                with self._conn("search indexing") as conn:
                    horizon = side.horizon(conn)
                    if horizon is None:
                        continue  # a long writer held the table; ask again
                    done, mark = side.index_batch(conn, horizon, search.BATCH_ROWS)
                if mark < 0:
                    time.sleep(0.01)  # another indexer holds the watermark
                    continue
                self._marks.raise_to(side.layout.name, mark)
                total += done
                if mark >= horizon and done < search.BATCH_ROWS:
                    break
            self._clean_pending(side)
        return total

    def _clean_pending(self, side: search.SideTable) -> None:
        with self._conn("search indexing") as conn:
            if not side.clean_pending(conn, self._schema):
                log.info(
                    "search index of %s: role %r does not own it, so its pending entries are merged by"
                    " autovacuum or once they reach gin_pending_list_limit",
                    side.layout.name,
                    conn.info.user,
                )

    def search_backlog(self, collection: str) -> int:
        """Rows of ``collection`` not yet in its search index."""
        sides = self._side(collection)
        if not sides:
            return 0
        with self._conn("search backlog") as conn:
            return sides[0].backlog(conn, exact=True)

    # ------------------------------------------------------------------ writes

    def _insert_sql(self, layout: Layout, explicit: bool, skip_taken: bool = True) -> str:
        """The INSERT of one row, returning its key; ``skip_taken``: a row whose key is
        taken is not inserted (and returns nothing) instead of failing the statement."""
        # The columns, then the document: the order of EncodedDoc.row, bound as it is.
        cols = [quote(c.name) for c in layout.columns]
        names = ", ".join((["id"] if explicit else []) + [*cols, "doc"])
        marks = ", ".join((["%s"] if explicit else []) + ["%s"] * len(cols) + [f"%s::{self._doc_type(layout)}"])
        conflict = " ON CONFLICT (id) DO NOTHING" if skip_taken else ""
        return f"INSERT INTO {self._table(layout)} ({names}) VALUES ({marks}){conflict} RETURNING id"

    def _insert(self, layout: Layout, docs: list[EncodedDoc]) -> list[int]:
        sqls = self._insert_sqls.get(layout.name)
        if sqls is None:
            sqls = (
                self._insert_sql(layout, explicit=False, skip_taken=False),
                self._insert_sql(layout, explicit=False),
                self._insert_sql(layout, explicit=True),
            )
            self._insert_sqls[layout.name] = sqls
        single_sql, auto_sql, key_sql = sqls
        keys: list[int] = []
        self._last_write = time.monotonic()
        if len(docs) == 1 and docs[0].key is None:
            # One statement is atomic by itself: no BEGIN/COMMIT round trips.
            with self._conn("insert") as conn:
                return [self._insert_single(conn, single_sql, docs[0])]
        with self._conn("insert") as conn, conn.transaction():
            if all(enc.key is None for enc in docs):
                return self._insert_batch(conn, layout, auto_sql, docs)
            explicit: list[int] = []
            for enc in docs:
                if enc.key is None:
                    keys.append(self._insert_auto(conn, auto_sql, enc))
                    continue
                row = conn.execute(key_sql, (enc.key, *enc.row)).fetchone()
                if row is None:
                    raise DuplicateSid(f"{layout.name}: sid {key_to_sid(enc.key)} already exists")
                keys.append(enc.key)
                explicit.append(enc.key)
                # Move the identity sequence past explicit keys (never backwards), so later
                # assignments continue after the highest sid ever used, as on SQLite.
                conn.execute(
                    "SELECT setval(s, GREATEST(%s, COALESCE(pg_sequence_last_value(s), 0)))"
                    " FROM (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS s) AS q",
                    (enc.key, self._table(layout)),
                )
            side = self._sides.get(layout.name)
            if side is not None:
                side.index_explicit(conn, explicit)
        return keys

    @staticmethod
    def _insert_single(conn: psycopg.Connection[Any], sql: str, enc: EncodedDoc) -> int:
        """One row with an assigned key, in autocommit, by a plain INSERT: the speculative
        insertion of ``ON CONFLICT`` costs ~5 % of a single insert.  A key an explicit sid
        already took fails the primary key (nothing else is unique), which in autocommit
        aborts only that statement, and the next key is drawn."""
        while True:
            try:
                row = conn.execute(sql, enc.row).fetchone()
            except psycopg.errors.UniqueViolation:
                continue
            assert row is not None
            return int(row[0])

    @staticmethod
    def _insert_auto(conn: psycopg.Connection[Any], sql: str, enc: EncodedDoc) -> int:
        while True:
            row = conn.execute(sql, enc.row).fetchone()
            # None: the sequence handed out a key an explicit sid already took; take the next.
            if row is not None:
                return int(row[0])

    def _insert_batch(
        self, conn: psycopg.Connection[Any], layout: Layout, sql: str, docs: list[EncodedDoc]
    ) -> list[int]:
        """Large batches: keys drawn from the identity sequence in one statement, rows
        sent with ``COPY`` (several times cheaper per row than INSERT statements).
        A key an explicit sid took meanwhile makes the COPY fail; its savepoint is
        rolled back and the batch goes through the INSERT path, which skips such keys."""
        if len(docs) >= _COPY_MIN_ROWS:
            table = self._table(layout)
            try:
                with conn.transaction():
                    # Draw keys only under the lock INSERT takes too: the search indexer's
                    # horizon relies on it (see osis.store.postgres_search).
                    conn.execute(f"LOCK TABLE {table} IN ROW EXCLUSIVE MODE")
                    # The sequence is looked up once (a materialised CTE): pg_get_serial_sequence
                    # is only stable, so as nextval's argument it searched the catalogue for
                    # every key, which took about two thirds of this statement's time.
                    keys = sorted(
                        int(r[0])
                        for r in conn.execute(
                            "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq)"
                            " SELECT nextval(s.seq) FROM s, generate_series(1, %s)",
                            (table, len(docs)),
                        )
                    )
                    names = ", ".join(["id", *(quote(c.name) for c in layout.columns), "doc"])
                    with conn.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                        for key, enc in zip(keys, docs):
                            copy.write_row((key, *enc.row))
                return keys
            except psycopg.errors.UniqueViolation:
                pass
        return self._insert_statements(conn, sql, docs)

    def _insert_statements(self, conn: psycopg.Connection[Any], sql: str, docs: list[EncodedDoc]) -> list[int]:
        """executemany pipelines the statements: one round trip for the whole batch."""
        keys: list[int | None] = []
        with conn.cursor() as cur:
            cur.executemany(sql, list(rows_of(docs)), returning=True)
            while True:
                row = cur.fetchone()
                keys.append(None if row is None else int(row[0]))
                if not cur.nextset():
                    break
        return [self._insert_auto(conn, sql, enc) if key is None else key for key, enc in zip(keys, docs)]

    def _rewrite(
        self, conn: psycopg.Connection[Any], layout: Layout, key: int, doc: EncodedDoc, *, reindex: bool = True
    ) -> bool:
        """Overwrite one row; with ``reindex`` (its search text may have changed) its
        search-index row too, in the same transaction."""
        cols = [quote(c.name) for c in layout.columns]
        sets = ", ".join([*(f"{c} = %s" for c in cols), f"doc = %s::{self._doc_type(layout)}"])
        cur = conn.execute(f"UPDATE {self._table(layout)} SET {sets} WHERE id = %s", (*doc.row, key))
        if cur.rowcount == 0:
            return False
        side = self._sides.get(layout.name)
        if side is not None and reindex:
            side.index_rows(conn, [key])
        return True

    def _replace(self, layout: Layout, key: int, doc: EncodedDoc) -> bool:
        self._last_write = time.monotonic()
        with self._conn("replace") as conn, conn.transaction():
            return self._rewrite(conn, layout, key, doc)

    def _update(
        self, layout: Layout, key: int, mutate: Callable[[dict[str, Any]], EncodedDoc]
    ) -> EncodedDoc | None:
        self._last_write = time.monotonic()
        with self._conn("increment") as conn, conn.transaction():
            row = conn.execute(
                f"SELECT doc::text FROM {self._table(layout)} WHERE id = %s FOR UPDATE", (key,)
            ).fetchone()
            if row is None:
                return None
            old = loads(row[0])
            new = mutate(old)
            # An increment (a memory's access count) rarely touches the search text.
            changed = any(old.get(f) != v for f, v in zip(layout.search, new.search))
            self._rewrite(conn, layout, key, new, reindex=changed)
        return new

    def _delete(self, layout: Layout, key: int) -> bool:
        self._last_write = time.monotonic()
        side = self._sides.get(layout.name)
        with self._conn("delete") as conn, conn.transaction():
            if conn.execute(f"DELETE FROM {self._table(layout)} WHERE id = %s", (key,)).rowcount == 0:
                return False
            if side is not None:
                side.unindex_row(conn, key)
            return True

    # ------------------------------------------------------------------ reads

    def _get(self, layout: Layout, keys: list[int]) -> dict[int, dict[str, Any]]:
        with self._conn("get") as conn:
            if len(keys) == 1:
                rows = conn.execute(
                    f"SELECT id, doc::text FROM {self._table(layout)} WHERE id = %s", (keys[0],)
                ).fetchall()
            else:
                rows = conn.execute(
                    f"SELECT id, doc::text FROM {self._table(layout)} WHERE id = ANY(%s)", (keys,)
                ).fetchall()
        return {key: loads(text) for key, text in rows}

    def _exists(self, layout: Layout, key: int) -> bool:
        with self._conn("exists") as conn:
            return conn.execute(f"SELECT 1 FROM {self._table(layout)} WHERE id = %s", (key,)).fetchone() is not None

    def _list_keys(self, layout: Layout) -> list[int]:
        with self._conn("list_sids") as conn:
            return [r[0] for r in conn.execute(f"SELECT id FROM {self._table(layout)} ORDER BY id")]

    def _search_branches(
        self,
        layout: Layout,
        needle: str,
        mark: int,
        select: str,
        conds: tuple[ResolvedCond, ...],
        params: list[Any],
        *,
        paged: ResolvedQuery | None = None,
        tail: str = "",
    ) -> tuple[str, str]:
        """The two halves of a search, each selecting ``select``: rows up to the
        watermark ``mark`` through the side table's trigram indexes, and the rows past
        it checked directly.  Both carry the filters ``conds`` (so each can use an
        index for them), the keyset predicate of ``paged`` and then ``tail``."""
        side = self._sides[layout.name]
        pattern = search.like_pattern(needle)
        table = self._table(layout)
        branches = []
        for indexed in (True, False):
            params.append(mark)
            if indexed:
                source = f"{side.side} AS s JOIN {table} AS t ON t.id = s.rid"
                terms = " OR ".join(f"s.{search.side_column(f)} LIKE %s" for f in layout.search)
                clauses = ["s.rid <= %s", f"({terms})"]
            else:
                source = f"{table} AS t"
                terms = " OR ".join(f"{search.text_expr(f, 't.')} LIKE %s" for f in layout.search)
                clauses = ["t.id > %s", f"({terms})"]
                if search.prefilter_sound(needle):
                    # Skips parsing the JSON of every tail row that cannot match.
                    clauses.insert(1, f"{search.document_text('t.')} LIKE %s")
                    params.append(pattern)
            params.extend([pattern] * len(layout.search))
            clauses += filters_sql(_D, conds, params)
            keyset = keyset_sql(_D, paged, params) if paged is not None else None
            if keyset:
                clauses.append(keyset)
            branches.append(f"SELECT {select} FROM {source}{where_sql(clauses)}{tail}")
        return branches[0], branches[1]

    def _mark(self, conn: psycopg.Connection[Any], layout: Layout) -> int:
        return self._marks.get(conn, self._sides[layout.name])

    def _find_sql(
        self,
        layout: Layout,
        rq: ResolvedQuery,
        limit: int | None,
        params: list[Any],
        mark: int = 0,
        *,
        wire: bool = False,
    ) -> str:
        """The statement of :meth:`find`: rows ``(id, doc as text, order value)``, or with
        ``wire`` ``(id, doc as text)`` for :meth:`_find_docs` to decode itself."""
        order_col = quote(rq.order.name) if rq.order else "NULL"
        columns = "id, doc::text" if wire else f"id, doc::text, {order_col}"
        if rq.search is None:
            clauses = filters_sql(_D, rq.conds, params)
            keyset = keyset_sql(_D, rq, params)
            if keyset:
                clauses.append(keyset)
            # Without values, or when one index holds the matches in order, the generic
            # plan is the custom one: with the limit written out, the prepared statement
            # runs on it, never planned again (with the limit as a parameter the generic
            # plan looks costly and is re-planned every time).
            limits = limit_sql(_D, limit, rq.offset, params, literal=not params or index_ordered(layout, rq))
            return (
                f"SELECT {columns} FROM {self._table(layout)} AS t{where_sql(clauses)}"
                f" ORDER BY {order_sql(_D, rq)}{limits}"
            )
        # Each half ordered and limited on its own (the planner can walk an index in
        # each), merged by the outer ORDER BY.
        select = "t.id, t.doc" + (f", t.{order_col}" if rq.order else "")
        tail = "" if limit is None else f" ORDER BY {order_sql(_D, rq)} LIMIT {int(limit) + int(rq.offset)}"
        indexed, recent = self._search_branches(layout, rq.search, mark, select, rq.conds, params, paged=rq, tail=tail)
        return (
            f"SELECT {columns} FROM (({indexed}) UNION ALL ({recent})) AS u"
            f" ORDER BY {order_sql(_D, rq)}{limit_sql(_D, limit, rq.offset, params)}"
        )

    def _find_rows(self, layout: Layout, rq: ResolvedQuery, limit: int | None, *, wire: bool) -> list[Any]:
        if rq.search is None and rq.after is None:
            query, params, prepare = self._cached_find_sql(layout, rq, limit, wire)
            with self._conn("find") as conn:
                return conn.execute(query, params, prepare=prepare).fetchall()
        fresh: list[Any] = []
        with self._conn("find") as conn:
            mark = 0 if rq.search is None else self._mark(conn, layout)
            query = self._find_sql(layout, rq, limit, fresh, mark, wire=wire)
            return conn.execute(query, fresh, prepare=_prepare(layout, rq, limit, fresh)).fetchall()

    def _cached_find_sql(
        self, layout: Layout, rq: ResolvedQuery, limit: int | None, wire: bool
    ) -> tuple[str, tuple[Any, ...], bool | None]:
        # As on SQLite: keyed by the identity of the (memoised) resolution, which hashes
        # and compares far cheaper than the ResolvedQuery itself; the entry holds the
        # object, so its id cannot be reused while the entry exists.
        memo_key = (id(rq), limit, wire)
        hit = self._sql_memo.get(memo_key)
        if hit is not None and hit[0] is rq:
            return hit[1], hit[2], hit[3]
        params: list[Any] = []
        query = self._find_sql(layout, rq, limit, params, wire=wire)
        prepare = _prepare(layout, rq, limit, params)
        if len(self._sql_memo) >= _SQL_MEMO_SIZE:
            self._sql_memo = {}
        self._sql_memo[memo_key] = (rq, query, tuple(params), prepare)
        return query, tuple(params), prepare

    def _find(self, layout: Layout, rq: ResolvedQuery, limit: int | None) -> list[Row]:
        return [(key, loads(text), value) for key, text, value in self._find_rows(layout, rq, limit, wire=False)]

    def _find_docs(self, layout: Layout, rq: ResolvedQuery) -> list[dict[str, Any]]:
        # Fused: the document's text decoded once, straight into the wire form (psycopg's
        # json loader and a second dict per document cost about 0.5 us each).
        rows = self._find_rows(layout, rq, rq.limit, wire=True)
        return wire_documents(rows)

    def explain(self, coll: str, query: Query) -> str:
        """The plan PostgreSQL uses for :meth:`find` with ``query`` (as the engine runs it)."""
        layout = self._layout(coll)
        rq = resolve_query(layout, query)
        params: list[Any] = []
        with self._conn("explain") as conn:
            mark = self._mark(conn, layout) if rq.search is not None else 0
            text = self._find_sql(layout, rq, rq.limit, params, mark)
            rows = conn.execute("EXPLAIN " + text, params, prepare=False).fetchall()
        return "\n".join(r[0] for r in rows)

    def _count(self, layout: Layout, rq: ResolvedQuery) -> int:
        params: list[Any] = []
        with self._conn("count") as conn:
            if rq.search is None:
                clauses = filters_sql(_D, rq.conds, params)
                row = conn.execute(f"SELECT count(*) FROM {self._table(layout)}{where_sql(clauses)}", params).fetchone()
            else:
                mark = self._mark(conn, layout)
                indexed, recent = self._search_branches(layout, rq.search, mark, "1", rq.conds, params)
                row = conn.execute(
                    f"SELECT count(*) FROM (({indexed}) UNION ALL ({recent})) AS u", params, prepare=False
                ).fetchone()
        assert row is not None
        return int(row[0])

    def _aggregate_sql(self, conn: psycopg.Connection[Any], layout: Layout, ra: ResolvedAggregation,
                       params: list[Any]) -> str:
        if ra.search is None:
            source = f"{self._table(layout)} AS t"
        else:
            mark = self._mark(conn, layout)
            indexed, recent = self._search_branches(layout, ra.search, mark, "t.*", (), params)
            source = f"(({indexed}) UNION ALL ({recent})) AS t"
        return aggregate_sql(_D, source, ra, [], params)

    def _aggregate(self, layout: Layout, ra: ResolvedAggregation) -> list[tuple[Any, ...]]:
        params: list[Any] = []
        with self._conn("aggregate") as conn:
            text = self._aggregate_sql(conn, layout, ra, params)
            streamed = self._aggregate_plans.streams(conn, self._table(layout), layout, ra)
            prepare = False if ra.search else None  # a search's statement names a moving watermark
            return [tuple(r) for r in aggregate.run(conn, text, params, streamed=streamed, prepare=prepare)]

    def explain_aggregate(self, coll: str, agg: Aggregation) -> str:
        """The plan PostgreSQL uses for :meth:`aggregate` with ``agg`` (as the engine runs it,
        streamed over a covering index or not: see :mod:`osis.store.postgres_aggregate`)."""
        layout = self._layout(coll)
        ra = resolve_aggregation(layout, agg)
        params: list[Any] = []
        with self._conn("explain") as conn:
            text = self._aggregate_sql(conn, layout, ra, params)
            streamed = self._aggregate_plans.streams(conn, self._table(layout), layout, ra)
            rows = aggregate.run(conn, "EXPLAIN " + text, params, streamed=streamed, prepare=False)
        return "\n".join(r[0] for r in rows)

    def _iter_bodies(self, layout: Layout) -> Iterator[tuple[int, dict[str, Any]]]:
        with self._conn("checksum") as conn, conn.transaction():
            # A server-side cursor streams the table in one snapshot without loading it whole.
            with conn.cursor(name="osis_iter_bodies") as cur:
                cur.itersize = 1000
                cur.execute(f"SELECT id, doc::text FROM {self._table(layout)} ORDER BY id")
                for key, text in cur:
                    yield key, loads(text)
