"""SQLite specifics: the lazy search index, pragmas, in-memory stores."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from osis.store import Aggregation, Cond, Day, Engine, Metric, Query, open_engine
from osis.store import sqlite as sqlite_engine
from osis.store import sqlite_search
from osis.store.sqlite import PAGE_SIZE, SqliteEngine

from . import oracle
from .conftest import AUDIT


def _engine(path: Path, options: str = "") -> SqliteEngine:
    engine = open_engine(f"sqlite:///{path}{options}")
    assert isinstance(engine, SqliteEngine)
    engine.open([AUDIT])
    return engine


def _in_threads(work: Callable[[], None], threads: int) -> list[BaseException]:
    """Run ``work`` in that many threads at once; what any of them raised."""
    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - returned to the test
            errors.append(exc)

    running = [threading.Thread(target=guarded) for _ in range(threads)]
    for t in running:
        t.start()
    for t in running:
        t.join()
    return errors


def _fts_integrity(engine: SqliteEngine) -> None:
    """FTS5 raises 'database disk image is malformed' if an entry is missing or stale."""
    engine.index_search()
    with sqlite3.connect(engine.path) as conn:
        conn.execute("INSERT INTO osis_audit__fts(osis_audit__fts, rank) VALUES ('integrity-check', 1)")


def test_background_indexer_drains_the_backlog_when_writes_pause(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "a.db")
    engine.insert_many("audit", [{"arguments": f"row {i}"} for i in range(3000)])
    deadline = time.monotonic() + 30
    while engine.search_backlog("audit") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.search_backlog("audit") == 0
    assert engine.count("audit", Query(search="row 29")) == 111  # 29, 290-299, 2900-2999
    _fts_integrity(engine)
    engine.close()


def test_without_the_indexer_search_stays_exact(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "b.db", "?indexer=off")
    engine.insert_many("audit", [{"arguments": f"row {i}"} for i in range(500)])
    time.sleep(0.3)
    assert engine.search_backlog("audit") == 500
    assert engine.count("audit", Query(search="ROW 49")) == 11
    assert engine.index_search("audit") == 500 and engine.search_backlog("audit") == 0
    assert engine.count("audit", Query(search="ROW 49")) == 11
    engine.close()


def test_index_stays_consistent_through_updates_and_deletes(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "c.db", "?indexer=off")
    sids = engine.insert_many("audit", [{"arguments": f"text {i}", "result_preview": "same"} for i in range(100)])
    engine.index_search()
    for i, sid in enumerate(sids[:40]):
        if i % 3 == 0:
            engine.replace("audit", {"sid": sid, "arguments": f"changed {i}", "result_preview": "same"})
        elif i % 3 == 1:
            engine.delete("audit", sid)
        else:
            engine.increment("audit", sid, "attempt", set_fields={"result_preview": "other"})
    engine.insert("audit", {"sid": "0000", "arguments": "explicit"})
    _fts_integrity(engine)
    assert engine.count("audit", Query(search="changed")) == 14
    assert engine.count("audit", Query(search="same")) == 100 - 13 - 13 - 14 + 14
    engine.close()


def test_common_and_rare_terms_take_different_plans(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "d.db", "?indexer=off")
    engine.insert_many("audit", [{"arguments": f"common {i} {'rare' if i == 700 else ''}"} for i in range(1000)])
    engine.index_search()
    layout = engine._layouts["audit"]
    with sqlite3.connect(engine.path) as conn:
        assert sqlite_search._is_dense(conn, layout, sqlite_search.fts_query("common"), 10)
        assert not sqlite_search._is_dense(conn, layout, sqlite_search.fts_query("rare"), 10)
    newest = engine.find("audit", Query(search="common", order_by="sid", descending=True, limit=3))
    assert [d["sid"] for d in newest] == engine.list_sids("audit")[-3:][::-1]
    assert [d["arguments"] for d in engine.find("audit", Query(search="rare", limit=3))] == ["common 700 rare"]
    engine.close()


def test_fts_query_quotes_every_trigram() -> None:
    assert sqlite_search.fts_query('a"b c') == '"a""b" AND """b " AND "b c"'
    long = sqlite_search.fts_query("abcdefghijklmnopqrstuvwxyz0123456789")
    assert long.count(" AND ") == sqlite_search.MAX_QUERY_TRIGRAMS - 1


@pytest.mark.parametrize(("option", "expected"), [("", 1), ("?synchronous=full", 2)])
def test_durability_pragmas(tmp_path: Path, option: str, expected: int) -> None:
    engine = _engine(tmp_path / "e.db", option)
    with engine._write_tx() as conn:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == expected
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE
    engine.close()


def test_in_memory_store_is_shared_by_threads() -> None:
    engine = open_engine("sqlite:///:memory:")
    engine.open([AUDIT])

    def work() -> None:
        for _ in range(50):
            engine.insert("audit", {"arguments": "mem"})
            engine.count("audit", Query(search="mem"))

    assert _in_threads(work, 4) == [] and engine.count("audit", Query(search="MEM")) == 200
    engine.close()


def test_reopening_keeps_data_and_index(tmp_path: Path) -> None:
    engine: Engine = _engine(tmp_path / "f.db")
    engine.insert_many("audit", [{"arguments": f"keep {i}"} for i in range(50)])
    assert isinstance(engine, SqliteEngine)
    engine.index_search()
    engine.close()
    engine = _engine(tmp_path / "f.db")
    assert engine.count("audit", Query(search="keep 4")) == 11
    engine.close()


def test_skewed_filters_walk_the_ordering_index(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "g.db", "?indexer=off")
    docs = [
        {"tool_name": "common" if i % 50 else "rare", "created_at": f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z"}
        for i in range(3000)
    ]
    sids = engine.insert_many("audit", docs)
    engine.analyze()
    layout = engine._layouts["audit"]
    from osis.store import Cond
    from osis.store.query import resolve_query

    for tool, walks in (("common", True), ("rare", False)):
        query = Query(filters=[Cond("tool_name", "eq", tool)], order_by="created_at", descending=True, limit=5)
        with engine._read() as conn:
            assert engine._should_walk(conn, layout, resolve_query(layout, query), 5) is walks
        expected = [s for s, d in zip(sids, docs) if d["tool_name"] == tool]
        expected.sort(key=lambda s: (docs[sids.index(s)]["created_at"], s), reverse=True)
        assert [d["sid"] for d in engine.find("audit", query)] == expected[:5]
    engine.close()


# A windowed aggregation must read the window, not the table: SQLite's planner would walk
# a group column's index instead (every row, each looked up) to spare a sort, and it cannot
# tell a week of a busy log from one user's whole history (no statistics for ranges).
WINDOW_START = oracle.WINDOW_START
_BY_TOOL = (Metric("count"), Metric("avg", "duration_ms"), Metric("percentile", "duration_ms", "p95", q=0.95))


def _windowed_log(engine: SqliteEngine) -> list[dict[str, Any]]:
    docs = oracle.windowed_audit_log()
    sids = engine.insert_many("audit", docs)
    engine.analyze()  # whatever the statistics say, the plans below must hold
    return [{"sid": s, **d} for s, d in zip(sids, docs)]


def _index_step(plan: str) -> str:
    """The plan's one step reading the table (the rest are sorts and subqueries)."""
    (step,) = [line for line in plan.splitlines() if " t " in f"{line} " or line.endswith(" t")]
    return step


@pytest.mark.parametrize(
    ("group_by", "metrics"),
    [
        (["tool_name"], [Metric("count")]),
        (["tool_name", "success"], [Metric("count"), Metric("avg", "duration_ms")]),
        (["tool_name"], [Metric("percentile", "duration_ms", "p50", q=0.5), Metric("percentile", "duration_ms", q=0.95)]),
        ([Day("created_at"), "success"], [Metric("count")]),
    ],
    ids=repr,
)
def test_a_windowed_aggregation_reads_the_window_through_its_index(
    tmp_path: Path, group_by: list[Any], metrics: list[Metric]
) -> None:
    engine = _engine(tmp_path / "w.db", "?indexer=off")
    docs = _windowed_log(engine)
    agg = Aggregation(group_by=group_by, metrics=metrics, filters=[Cond("created_at", "gte", WINDOW_START)])
    step = _index_step(engine.explain_aggregate("audit", agg))
    assert step.startswith("SEARCH t USING INDEX osis_audit__created_at__") and "(f_created_at>?)" in step, step
    assert engine.aggregate("audit", agg) == oracle.aggregate(AUDIT, docs, agg)
    engine.close()


def test_a_window_of_most_of_the_table_walks_the_group_index(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "a.db", "?indexer=off")
    docs = _windowed_log(engine)
    # Every entry is in this window: walking the tool_name index spares sorting them all.
    agg = Aggregation(group_by=["tool_name"], filters=[Cond("created_at", "gte", "2025-12-01T00:00:00Z")])
    step = _index_step(engine.explain_aggregate("audit", agg))
    assert step.startswith("SCAN t USING INDEX osis_audit__tool_name__"), step
    assert engine.aggregate("audit", agg) == oracle.aggregate(AUDIT, docs, agg)
    engine.close()


@pytest.mark.parametrize("first_limit", [1024, 16])  # 16: the probe needs several rounds
@pytest.mark.parametrize(
    ("user", "index"),
    [("busy", "osis_audit__created_at__"), ("rare", "osis_audit__user_sid__")],
)
def test_a_users_window_is_read_through_the_smaller_of_window_and_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user: str, index: str, first_limit: int
) -> None:
    monkeypatch.setattr(sqlite_engine, "_PROBE_START", first_limit)
    engine = open_engine(f"sqlite:///{tmp_path / 'u.db'}?indexer=off")
    assert isinstance(engine, SqliteEngine)
    spec = replace(AUDIT, compound=())  # no (user_sid, created_at) index: one of the two must be chosen
    engine.open([spec])
    docs = _windowed_log(engine)
    agg = Aggregation(group_by=["tool_name"], metrics=_BY_TOOL,
                      filters=[Cond("user_sid", "eq", user), Cond("created_at", "gte", WINDOW_START)])
    step = _index_step(engine.explain_aggregate("audit", agg))
    assert step.startswith(f"SEARCH t USING INDEX {index}"), step
    assert engine.aggregate("audit", agg) == oracle.aggregate(spec, docs, agg)
    engine.close()


def test_a_users_window_uses_a_compound_index_of_both(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "c.db", "?indexer=off")  # AUDIT has ("user_sid", "created_at")
    docs = _windowed_log(engine)
    agg = Aggregation(group_by=["tool_name"], metrics=_BY_TOOL,
                      filters=[Cond("user_sid", "eq", "busy"), Cond("created_at", "gte", WINDOW_START)])
    step = _index_step(engine.explain_aggregate("audit", agg))
    assert step.startswith("SEARCH t USING INDEX osis_audit__user_sid__created_at__"), step
    assert "(f_user_sid=? AND f_created_at>?)" in step, step
    assert engine.aggregate("audit", agg) == oracle.aggregate(AUDIT, docs, agg)
    engine.close()


def _is_closed(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


def test_readers_are_reused_and_closed_with_the_engine(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "s.db")
    engine.insert("audit", {"tool_name": "t", "arguments": "a", "result_preview": "r", "success": True,
                            "duration_ms": 1, "user_sid": "u", "created_at": "2026-01-01T00:00:00Z"})
    engine.find("audit")
    (reader,) = engine._idle_readers
    engine.find("audit")
    assert engine._idle_readers == [reader]  # the same connection, taken and given back
    engine.close()
    assert engine._idle_readers == [] and _is_closed(reader)


def test_a_reader_given_back_after_close_is_closed(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "s.db")
    conn = engine._take_reader()
    engine.close()
    engine._give_back(conn)
    assert engine._idle_readers == [] and _is_closed(conn)


def test_a_reader_given_back_while_the_engine_closes_is_not_left_open(tmp_path: Path) -> None:
    """The pool has no lock: close() may drain it between _give_back's check and its
    append.  _give_back then sees the engine closed and closes the connection itself."""
    engine = _engine(tmp_path / "s.db")
    conn = engine._take_reader()

    class ClosesOnAppend(list[sqlite3.Connection]):
        def append(self, item: sqlite3.Connection) -> None:
            engine.close()  # drains the (still empty) pool, as a racing close() would
            super().append(item)

    engine._idle_readers = ClosesOnAppend()
    engine._give_back(conn)
    assert list(engine._idle_readers) == [] and _is_closed(conn)


def test_readers_from_many_threads_stay_within_reach(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "s.db")

    def reads() -> None:
        for _ in range(200):
            engine.find("audit", Query(limit=5))

    assert _in_threads(reads, 8) == []
    idle = list(engine._idle_readers)
    assert 1 <= len(idle) <= 8 and len({id(c) for c in idle}) == len(idle)
    engine.close()
    assert all(_is_closed(c) for c in idle)


def test_every_insert_path_stores_the_document_as_text_and_the_columns_typed(tmp_path: Path) -> None:
    """The encoder builds SQLite's parameter row (columns, then the document text): a
    batch, a batch with explicit sids, a single insert and a replace all store the same."""
    engine = _engine(tmp_path / "a.db", "?indexer=off")
    doc = {"tool_name": "t", "success": True, "created_at": "2026-11-27T07:35:46Z", "attempt": 2**63 - 1,
           "score": 3, "duration_ms": -(2**63), "arguments": "ä"}
    batch = engine.insert_many("audit", [doc, {**doc, "success": False}])
    keyed = engine.insert_many("audit", [{**doc, "sid": "zz01"}, {**doc, "sid": "zz02"}])
    one = engine.insert("audit", doc)["sid"]
    engine.replace("audit", {**doc, "sid": one, "created_at": "2026-11-27T07:35:47+00:00"})
    engine.close()
    with sqlite3.connect(tmp_path / "a.db") as conn:
        rows = conn.execute(
            "SELECT typeof(doc), json_valid(doc), doc ->> '$.arguments', f_success, f_created_at, f_attempt,"
            " f_score, typeof(f_score), f_duration_ms FROM osis_audit ORDER BY id"
        ).fetchall()
    assert len(rows) == len(batch) + len(keyed) + 1 == 5
    for i, (kind, valid, arguments, success, at, attempt, score, score_kind, duration) in enumerate(rows):
        assert (kind, valid, arguments) == ("text", 1, "ä")
        assert success == (0 if i == 1 else 1)
        assert at == 1795764946 + (i == 4)
        assert (attempt, score, score_kind, duration) == (2**63 - 1, 3.0, "real", -(2**63))
