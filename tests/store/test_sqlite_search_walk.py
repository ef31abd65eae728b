"""The SQLite search's ordered walk: a budget of rows, a pause, then the walk on or the index.

``find`` with a search and a limit walks the first ``WALK_ATTEMPT_ROWS`` rows in order,
returning only the prefilter's matches, pauses to ask the index how common the term
is, then walks on (same statement, same snapshot) or collects the index candidates.
These tests shrink the budget to a few rows and check the results against the oracle
around the pause: matches on the budget's last row, offsets and cursors across it, a
term common on one side and rare on the other, rows written after indexing, rows
moved across the boundary by a writer during the pause.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from osis.store import Engine, Query, open_engine
from osis.store import sqlite_search
from osis.store.codec import format_time
from osis.store.sqlite import SqliteEngine

from . import oracle
from .conftest import AUDIT

BUDGET = 8
ROWS = 300
# Walk positions (0 = newest) whose arguments hold each term.  "dense" has 100+
# matches, over the index's break-even count at this size (64), so the walk goes on;
# "sparse" has three, so the index serves it.  Both match on the budget's last row.
TERMS: dict[str, set[int]] = {
    "dense": {1, BUDGET - 1, BUDGET, *range(100, ROWS, 2)},
    "sparse": {BUDGET - 1, 150, ROWS - 1},
    "late": set(range(BUDGET, ROWS, 2)),  # none within the budget, common after it
    "lone": {BUDGET},  # the first row after the budget, and nothing else
    "early": {0, 2, 4, 6},  # all within the budget
}
DECOY = {BUDGET - 2, BUDGET + 1}  # rows naming every term outside the search fields


def _text(position: int) -> str:
    return " ".join(["row", str(position), *[term for term, at in TERMS.items() if position in at]])


def _docs() -> list[dict[str, Any]]:
    docs = []
    for i in range(ROWS):
        position = ROWS - 1 - i  # inserted oldest first; the walk runs newest first
        doc: dict[str, Any] = {"created_at": format_time(oracle.BASE_TIME + i), "arguments": _text(position)}
        if position in DECOY:
            doc["tool_name"] = " ".join(TERMS)  # the prefilter passes, the exact check does not
        docs.append(doc)
    return docs


@pytest.fixture
def small_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_search, "WALK_ATTEMPT_ROWS", BUDGET)


def _open(path: Path) -> SqliteEngine:
    engine = open_engine(f"sqlite:///{path}?indexer=off")
    assert isinstance(engine, SqliteEngine)
    engine.open([AUDIT])
    return engine


@pytest.fixture(params=["indexed", "half", "tail"])
def walked(request: pytest.FixtureRequest, tmp_path: Path, small_budget: None) -> Iterator[
    tuple[SqliteEngine, list[dict[str, Any]]]
]:
    """The rows, with the index covering all of them, the older half, or none."""
    engine = _open(tmp_path / "walk.db")
    docs = _docs()
    sids = engine.insert_many("audit", docs)
    if request.param == "indexed":
        engine.index_search()
    elif request.param == "half":
        with engine._write_tx() as conn:
            sqlite_search.index_batch(conn, engine._layouts["audit"], ROWS // 2)
    yield engine, [{"sid": s, **d} for s, d in zip(sids, docs)]
    engine.close()


def _check(engine: Engine, docs: list[dict[str, Any]], query: Query) -> None:
    expected = [d["sid"] for d in oracle.select(AUDIT, docs, query)]
    assert [d["sid"] for d in engine.find("audit", query)] == expected, query


def _page_through(engine: Engine, query: Query) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        page = engine.find_page("audit", Query(**{**query.__dict__, "cursor": cursor}))
        seen += [d["sid"] for d in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return seen


@pytest.mark.parametrize("term", list(TERMS))
def test_limits_and_offsets_around_the_budget(walked: tuple[SqliteEngine, list[dict[str, Any]]], term: str) -> None:
    engine, docs = walked
    for limit in (1, 2, 3, 4, 5, 60):
        for offset in (0, 1, 2, 3, 4):
            _check(engine, docs, Query(search=term, order_by="created_at", descending=True,
                                       limit=limit, offset=offset))
    # Ascending: the budget covers the oldest rows instead.
    _check(engine, docs, Query(search=term, order_by="created_at", limit=5, offset=1))


@pytest.mark.parametrize("term", list(TERMS))
def test_cursor_pages_across_the_budget(walked: tuple[SqliteEngine, list[dict[str, Any]]], term: str) -> None:
    engine, docs = walked
    for limit in (1, 2, 3, 7):
        query = Query(search=term, order_by="created_at", descending=True, limit=limit)
        expected = [d["sid"] for d in oracle.select(AUDIT, docs, Query(search=term, order_by="created_at",
                                                                       descending=True))]
        assert _page_through(engine, query) == expected, (term, limit)


@pytest.mark.parametrize("term", ["dense", "sparse", "early"])
def test_rows_written_after_indexing_are_found(
    walked: tuple[SqliteEngine, list[dict[str, Any]]], term: str
) -> None:
    engine, docs = walked
    engine.index_search()
    # The newest row (first in the walk) and one older than every other (last in it).
    fresh = [
        {"created_at": format_time(oracle.BASE_TIME + ROWS), "arguments": f"fresh newest {term}"},
        {"created_at": format_time(oracle.BASE_TIME - 1), "arguments": f"fresh oldest {term}"},
    ]
    sids = engine.insert_many("audit", fresh)
    docs = docs + [{"sid": s, **d} for s, d in zip(sids, fresh)]
    for limit, offset in ((1, 0), (3, 2), (400, 0), (2, len(TERMS[term]))):
        _check(engine, docs, Query(search=term, order_by="created_at", descending=True,
                                   limit=limit, offset=offset))


@pytest.mark.parametrize(("term", "continues"), [("dense", True), ("late", True), ("sparse", False)])
def test_a_write_during_the_pause(
    tmp_path: Path, small_budget: None, monkeypatch: pytest.MonkeyPatch, term: str, continues: bool
) -> None:
    """While the walk pauses at the budget, a writer moves one match from after the
    boundary to the front and one from the front to the end.  Walking on reads the
    statement's own snapshot: both once, where they were.  The index's answer is
    computed afresh, so it sees the write: also both once, where they now are."""
    engine = _open(tmp_path / "pause.db")
    docs = _docs()
    sids = engine.insert_many("audit", docs)
    engine.index_search()
    before = [{"sid": s, **d} for s, d in zip(sids, docs)]
    matches = [d for d in oracle.select(AUDIT, before, Query(search=term, order_by="created_at", descending=True))]
    to_front, to_back = matches[-1], matches[0]
    moved = {
        to_front["sid"]: {**to_front, "created_at": format_time(oracle.BASE_TIME + ROWS)},
        to_back["sid"]: {**to_back, "created_at": format_time(oracle.BASE_TIME - 1)},
    }
    after = [moved.get(d["sid"], d) for d in before]
    real = sqlite_search.is_dense
    calls: list[bool] = []

    def write_then_decide(*args: Any) -> bool:
        for doc in moved.values():
            engine.replace("audit", doc)
        calls.append(real(*args))
        return calls[-1]

    monkeypatch.setattr(sqlite_search, "is_dense", write_then_decide)
    query = Query(search=term, order_by="created_at", descending=True, limit=len(matches) + 5)
    found = [d["sid"] for d in engine.find("audit", query)]
    assert calls == [continues]
    expected = oracle.select(AUDIT, before if continues else after, query)
    assert found == [d["sid"] for d in expected]
    assert sorted(found) == sorted(d["sid"] for d in matches)
    engine.close()


def test_the_walk_runs_as_coroutines_in_order(tmp_path: Path) -> None:
    """Each part of the walk is a co-routine over the ordering index: SQLite neither
    flattens the limited subquery into the outer WHERE nor materialises or sorts it,
    so rows come in the walk's order and only as far as they are fetched.  Each
    co-routine applies the prefilter itself."""
    engine = _open(tmp_path / "plan.db")
    layout = engine._layouts["audit"]
    with engine._read() as conn:
        for query in (
            Query(search="term", order_by="created_at", descending=True, limit=5),
            Query(search="term", order_by="score", limit=5, offset=3),
        ):
            sql, params = engine._search_walk_sql(layout, engine._resolve(layout, query))
            plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
            assert sum(detail.startswith("CO-ROUTINE") for detail in plan) == 2, plan
            index = f"USING INDEX {layout.table}__{query.order_by}__"
            assert sum(index in detail for detail in plan) == 2, plan
            assert not [detail for detail in plan if "MATERIALIZE" in detail or "TEMP B-TREE" in detail], plan
            # The prefilter runs inside each co-routine, where LIKE reads the document
            # in place (outside, SQLite copies it out of the co-routine's registers first).
            program = list(conn.execute("EXPLAIN " + sql, params))
            bodies = [(op[4], op[3]) for op in program if op[1] == "InitCoroutine" and op[3]]  # (P3, P2)
            likes = [op[0] for op in program if op[1] == "Function" and str(op[5]).startswith("like(")]
            assert len(bodies) == len(likes) == 2, program
            assert all(any(start <= at < end for start, end in bodies) for at in likes), program
    engine.close()


def _vm_steps(engine: SqliteEngine, call: Callable[[], object]) -> int:
    """SQLite virtual-machine instructions (in hundreds) ``call`` runs on a reader
    (single-threaded, the pool hands back the connection it was given last)."""
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    conn = engine._take_reader()
    conn.set_progress_handler(tick, 100)
    engine._give_back(conn)
    try:
        call()
    finally:
        conn.set_progress_handler(None, 0)
    return steps[0]


def test_a_rare_term_stops_walking_at_the_budget(tmp_path: Path, small_budget: None) -> None:
    """The pause computes no row past the budget: fetching the marker that ends the
    budget makes sqlite3 compute the next row, which is the second marker, not the
    rest of a walk that would read the whole table before the index is asked."""
    engine = _open(tmp_path / "rare.db")
    engine.insert_many("audit", [{"created_at": format_time(oracle.BASE_TIME + i), "arguments": f"row {i}"}
                                 for i in range(3000)] + [{"arguments": "needle"}])
    engine.index_search()
    rare = _vm_steps(engine, lambda: engine.find("audit", Query(search="needle", order_by="created_at",
                                                                  descending=True, limit=10)))
    whole = _vm_steps(engine, lambda: engine.find("audit", Query(search="zz", order_by="created_at",
                                                                   descending=True, limit=10)))
    assert engine.find("audit", Query(search="needle", order_by="created_at", limit=10))
    assert rare * 20 < whole, (rare, whole)
    engine.close()
