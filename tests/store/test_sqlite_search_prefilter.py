"""The SQLite search's prefilter: ``LIKE`` on the needle's suffix from its rarest character.

The prefilter only has to be a necessary condition (the exact check decides), so it
looks for a suffix of the needle, whose first character ``LIKE`` skips to less often
than the needle's own.  These tests pin the choice of suffix, run the patterns it
makes through SQLite itself (wildcards and the escape character must stay literal,
or a match would be missed), and check, on every path a search takes, that a
document holding the suffix but not the needle is not returned.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from osis.store import Aggregation, Metric, Query, open_engine
from osis.store import sqlite_search
from osis.store.codec import format_time
from osis.store.sqlite import SqliteEngine

from . import oracle
from .conftest import AUDIT


@pytest.mark.parametrize(
    ("needle", "part"),
    [
        ("error", "rror"),  # "e" is the commonest letter; "r" comes next in the needle
        ("timeout", "meout"),
        ("connection refused", "fused"),
        ("unicorn-zx81", "zx81"),
        ("qqxjvzk", "qqxjvzk"),  # equally rare "q"s: the earliest, so the longest suffix
        ("abc", "abc"),  # a trigram or shorter is kept whole
        ("ez", "ez"),
        ("e", "e"),
        ("ab%cd", "%cd"),  # punctuation not in the table counts as rare
        ("ay_zw", "_zw"),
        ("naïve", "naïve"),  # never from a non-ASCII character: LIKE has no strcspn for it
        ("eeé", "eeé"),
        ("日本語です", "日本語です"),
    ],
)
def test_the_prefilter_looks_for_the_suffix_from_the_rarest_character(needle: str, part: str) -> None:
    assert sqlite_search.prefilter_part(needle) == part
    params: list[Any] = []
    sqlite_search.prefilter_sql(params, needle)
    assert params == [sqlite_search.like_pattern(part)]


@pytest.mark.parametrize(
    ("needle", "matching", "not_matching"),
    [
        ("ab%cd", ["ab%cd", "xx%CD", '"%cd"'], ["abXcd", "ab%c", "abcd"]),
        ("ay_zw", ["ay_zw", "q_ZW"], ["ayAzw", "ayzw"]),
        ("error", ["error", "horror", "ERRORS", "mirror"], ["erro", "rro r", "err or"]),
        ("naïve", ["NAïVE", "a naïve one"], ["naive", "NAÏVE"]),
    ],
)
def test_the_patterns_keep_wildcards_literal_in_sqlite(
    needle: str, matching: list[str], not_matching: list[str]
) -> None:
    """The suffix's pattern, run by SQLite with the prefilter's own expression: it
    matches every text holding the suffix (here: documents the exact check then
    decides on) and nothing where a wildcard would have to stand for a character."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (doc TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [(text,) for text in matching + not_matching])
    params: list[Any] = []
    where = sqlite_search.prefilter_sql(params, needle)
    found = [row[0] for row in conn.execute(f"SELECT t.doc FROM t WHERE {where}", params)]
    assert found == matching
    conn.close()


# Newest first: documents holding the needle, its suffix only, or the needle outside
# the search fields; the suffix-only ones lie before, among and after the matches.
ROWS: list[tuple[str, str]] = [
    ("arguments", "a horror story"),
    ("result_preview", "error: disk full"),
    ("arguments", "MIRROR the repo"),
    ("tool_name", "error"),
    ("arguments", "retry after ERROR"),
    ("result_preview", "terrors"),  # "error" inside a longer word is a match
    ("arguments", "horror again"),
    ("result_preview", "ab%cd and error"),
    ("arguments", "xx%cd"),
    ("arguments", "abXcd"),
]


@pytest.fixture(params=["indexed", "tail"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[SqliteEngine, list[dict[str, Any]]]]:
    engine = open_engine(f"sqlite:///{tmp_path / 'prefilter.db'}?indexer=off")
    assert isinstance(engine, SqliteEngine)
    engine.open([AUDIT])
    docs = [
        {"created_at": format_time(oracle.BASE_TIME + len(ROWS) - i), field: text}
        for i, (field, text) in enumerate(ROWS)
    ]
    sids = engine.insert_many("audit", docs)
    if request.param == "indexed":
        engine.index_search()
    yield engine, [{"sid": s, **d} for s, d in zip(sids, docs)]
    engine.close()


@pytest.mark.parametrize("needle", ["error", "ERROR", "ab%cd", "rror"])
@pytest.mark.parametrize("budget", [2, 256])  # the index consulted after two rows, or the walk fills the page
def test_a_suffix_alone_is_no_match_on_any_path(
    engine: tuple[SqliteEngine, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch, needle: str, budget: int
) -> None:
    store, docs = engine
    monkeypatch.setattr(sqlite_search, "WALK_ATTEMPT_ROWS", budget)
    for query in (
        Query(search=needle),  # no limit: index candidates and tail
        Query(search=needle, order_by="created_at", descending=True, limit=2),
        Query(search=needle, order_by="created_at", descending=True, limit=3, offset=1),
        Query(search=needle, order_by="created_at", limit=10),
    ):
        expected = [d["sid"] for d in oracle.select(AUDIT, docs, query)]
        assert [d["sid"] for d in store.find("audit", query)] == expected, query
    assert store.count("audit", Query(search=needle)) == len(oracle.select(AUDIT, docs, Query(search=needle)))
    agg = Aggregation(metrics=[Metric("count")], search=needle)
    assert store.aggregate("audit", agg) == oracle.aggregate(AUDIT, docs, agg)
