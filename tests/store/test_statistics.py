"""Planner statistics on both engines: `Engine.analyze` and the background thread's
re-analysis after a bulk load (see `osis.store.postgres_stats` for PostgreSQL's rule)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from osis.store import CollectionSpec, Engine, IndexedField, NotPermitted, StoreClosed, UnknownCollection
from osis.store import postgres_stats as stats
from osis.store.postgres import PostgresEngine
from osis.store.postgres_search import side_table
from osis.store.postgres_stats import TableStats, Upkeep

from .conftest import AUDIT, analyzed_tables, non_owner, postgres_dsn, table_locked, with_option

NOTE = CollectionSpec(name="note", indexed=(IndexedField("topic", "str"),))
BOUND = 20.0  # seconds within which the background thread must have analysed a bulk load


def _docs(count: int) -> list[dict[str, Any]]:
    return [
        {"tool_name": f"tool{i % 7}", "arguments": f"call {i}", "created_at": "2026-01-01T00:00:00Z"}
        for i in range(count)
    ]


def _tables(engine: Engine, name: str) -> set[str]:
    """The tables analysing collection ``name`` covers on this engine."""
    layout = engine._layouts[name]  # type: ignore[attr-defined]
    if isinstance(engine, PostgresEngine) and layout.search:
        return {layout.table, side_table(layout)}
    return {layout.table}


def _wait_until(what: str, condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.1)


def _autovacuum_off(engine: Engine) -> None:
    """Keep autovacuum away from the store's tables, so only the engine can analyse them.

    The shared test server runs with autovacuum off (``SHOW autovacuum``); a server with
    it on would otherwise make these tests pass for the wrong reason."""
    if not isinstance(engine, PostgresEngine):
        return
    with engine._conn("test") as conn:
        if conn.execute("SHOW autovacuum").fetchone() == ("off",):
            return
        for layout in engine._layouts.values():
            for name in stats.table_names([layout]):
                conn.execute(f'ALTER TABLE "{engine._schema}"."{name}" SET (autovacuum_enabled = off)')


def test_analyze_refreshes_the_planner_statistics(make_engine: Callable[..., Engine], store_url: str) -> None:
    engine = make_engine([AUDIT, NOTE], url=with_option(store_url, "indexer=off"))
    _autovacuum_off(engine)
    engine.insert_many("audit", _docs(2000))
    engine.insert_many("note", [{"topic": f"t{i % 3}"} for i in range(50)])
    assert analyzed_tables(engine) == set()

    engine.analyze("audit")
    assert analyzed_tables(engine) == _tables(engine, "audit")
    engine.analyze()
    assert analyzed_tables(engine) == _tables(engine, "audit") | _tables(engine, "note")
    if isinstance(engine, PostgresEngine):  # the planner now knows the table's size
        with engine._conn("test") as conn:
            row = conn.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
                               (engine._table(engine._layouts["audit"]),)).fetchone()
        assert row == (2000.0,)


def test_analyze_names_what_it_cannot_analyse(make_engine: Callable[..., Engine], store_url: str) -> None:
    engine = make_engine([NOTE], url=with_option(store_url, "indexer=off"))
    with pytest.raises(UnknownCollection, match="unknown collection 'audit'; known: note"):
        engine.analyze("audit")
    engine.close()
    with pytest.raises(StoreClosed):
        engine.analyze()


def test_the_background_thread_analyses_a_bulk_load(make_engine: Callable[..., Engine]) -> None:
    """The statistics end up counting every row of the load.  On PostgreSQL the heap
    grows before the load commits, so a first analysis may come mid-load and count
    none; the table is then stale again and analysed once ``RECENT`` has passed."""
    engine = make_engine([AUDIT, NOTE])
    _autovacuum_off(engine)
    engine.insert_many("note", [{"topic": "small"}] * 10)
    engine.insert_many("audit", _docs(5000))
    expected = _tables(engine, "audit")  # the search side table too, once the indexer filled it

    def counted() -> tuple[float, Any] | None:
        assert isinstance(engine, PostgresEngine)
        with engine._conn("test") as conn:
            return conn.execute(  # type: ignore[return-value]
                "SELECT c.reltuples, s.last_autoanalyze FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid"
                " WHERE c.oid = %s::regclass",
                (engine._table(engine._layouts["audit"]),),
            ).fetchone()

    def done() -> bool:
        if not analyzed_tables(engine) >= expected:
            return False
        return not isinstance(engine, PostgresEngine) or counted() == (5000.0, None)

    # (5000, None): the engine's analysis, not autovacuum's, with every row counted.
    _wait_until("analysis of the whole bulk load", done, BOUND)
    assert not analyzed_tables(engine) & _tables(engine, "note")  # 10 rows: not worth it


# ---------------------------------------------------------------------- PostgreSQL's rule


def _table(rows: float = 0, pages: int = 0, now: int = 0, changed: int = 0, ago: float | None = None) -> TableStats:
    return TableStats("t", rows, pages, now, changed, ago)


@pytest.mark.parametrize(
    ("table", "stale"),
    [
        (_table(), False),  # empty, never analysed
        (_table(now=stats.MIN_PAGES - 1, changed=stats.MIN_ROWS - 1), False),  # small, never analysed
        (_table(now=stats.MIN_PAGES), True),  # a bulk load, before its counters reach the view
        (_table(changed=stats.MIN_ROWS), True),  # the counters of a load
        (_table(rows=5000, pages=100, now=199, changed=4999), False),  # grew, but not doubled
        (_table(rows=5000, pages=100, now=200), True),  # the heap doubled
        (_table(rows=5000, pages=100, now=100, changed=5000), True),  # every row updated once
    ],
)
def test_which_postgres_tables_are_stale(table: TableStats, stale: bool) -> None:
    assert table.stale is stale


def test_a_recent_analysis_is_left_alone() -> None:
    upkeep = Upkeep()
    fresh = _table(now=stats.MIN_PAGES)
    assert upkeep.stale([fresh]) == ["t"]
    assert upkeep.stale([_table(now=stats.MIN_PAGES, ago=stats.RECENT / 2)]) == []  # autovacuum was there
    assert upkeep.stale([_table(now=stats.MIN_PAGES, ago=stats.RECENT)]) == ["t"]
    upkeep.attempted(["t"])
    assert upkeep.stale([fresh]) == []  # this engine just tried
    assert upkeep.due() and not upkeep.due()  # looks at the catalogue once per CHECK_EVERY


@pytest.mark.postgres
@pytest.mark.parametrize("engine_kind", ["postgres"], indirect=True)
def test_a_locked_table_is_skipped_not_waited_for(make_engine: Callable[..., Engine], store_url: str) -> None:
    """What autovacuum at work on a table looks like to the background ANALYZE: its lock
    taken. The background gives up on the table at once (waiting a second would get
    autovacuum cancelled) and stays usable; an explicit analyze waits its turn."""
    engine = make_engine([NOTE], url=with_option(store_url, "indexer=off"))
    assert isinstance(engine, PostgresEngine)
    engine.insert_many("note", [{"topic": f"t{i}"} for i in range(20 * stats.MIN_ROWS)])
    dsn = postgres_dsn()
    assert dsn is not None
    table = engine._table(engine._layouts["note"])
    with engine._conn("test") as conn:
        assert [t.stale for t in stats.read(conn, engine._schema, ["osis_note"])] == [True]
    with table_locked(dsn, table):
        started = time.monotonic()
        engine._maintain()
        assert time.monotonic() - started < 1.0  # under deadlock_timeout
        assert analyzed_tables(engine) == set()
        explicit = threading.Thread(target=engine.analyze)
        explicit.start()
        time.sleep(0.3)
        assert explicit.is_alive()  # waiting for the lock, as asked
    explicit.join(10)
    assert analyzed_tables(engine) == {"osis_note"}


@pytest.mark.postgres
@pytest.mark.parametrize("engine_kind", ["postgres"], indirect=True)
def test_a_role_that_may_not_analyse_says_so(
    make_engine: Callable[..., Engine], store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL only warns a role that does not own a table and skips it: the background
    thread must not retry that table every few seconds, and an explicit analysis must not
    pretend it refreshed anything."""
    owner = make_engine([AUDIT, NOTE], url=with_option(store_url, "indexer=off"))
    assert isinstance(owner, PostgresEngine)
    owner.insert_many("note", [{"topic": f"t{i}"} for i in range(20 * stats.MIN_ROWS)])
    with non_owner(store_url) as url:
        engine = make_engine([AUDIT, NOTE], url=with_option(url, "indexer=off"))
        assert isinstance(engine, PostgresEngine)
        with engine._conn("test") as conn:
            tables = stats.read(conn, engine._schema, ["osis_note"])
        assert [(t.stale, t.permitted) for t in tables] == [(True, False)]

        with caplog.at_level("WARNING", logger="osis.store.postgres"):
            engine._maintain()
            engine._upkeep._checked = float("-inf")  # look again at once
            engine._maintain()
        refusals = [r.getMessage() for r in caplog.records if "may not ANALYZE" in r.getMessage()]
        assert len(refusals) == 1, refusals  # said once, not every round
        assert "osis_note" in refusals[0] and "osis_audit" in refusals[0]
        assert analyzed_tables(owner) == set()

        with pytest.raises(NotPermitted, match=r"role 'osis_test_role_\w+' may not ANALYZE .*osis_note"):
            engine.analyze("note")
        assert analyzed_tables(owner) == set()
        engine.close()
    owner.analyze("note")  # the owner may
    assert analyzed_tables(owner) == {"osis_note"}

