"""PostgreSQL specifics: the plans search relies on, and the search index filled off
the write path (horizon, explicit keys, upgrade from the format that indexed the
documents' table), and opening where pg_trgm cannot be had."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from osis.store import (
    Aggregation,
    CollectionSpec,
    Cond,
    Day,
    Engine,
    ExtensionUnavailable,
    IndexedField,
    Metric,
    NotPermitted,
    Query,
    SchemaMismatch,
    open_engine,
)
from osis.store.layout import identifier
from osis.store import postgres_aggregate
from osis.store.postgres import PostgresEngine
from osis.store.postgres_search import like_pattern, side_index, side_table
from osis.store.query import resolve_aggregation
from osis.store.sid import key_to_sid, sid_to_key

from . import oracle
from .conftest import AUDIT, non_owner, postgres_dsn

pytestmark = pytest.mark.postgres


def _trigram_scans(engine: PostgresEngine) -> int:
    layout = engine._layouts["audit"]
    names = [side_index(layout, f) for f in layout.search]
    with engine._conn("stats") as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        conn.execute("SELECT 1")  # the flush happens at the end of a transaction
        row = conn.execute(
            "SELECT COALESCE(sum(idx_scan), 0) FROM pg_stat_user_indexes WHERE schemaname = %s AND indexrelname = ANY(%s)",
            (engine._schema, names),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _fill(engine: PostgresEngine, rows: int) -> None:
    """``rows`` filler documents written behind the engine's back, indexed, analysed."""
    table = engine._table(engine._layouts["audit"])
    with engine._conn("setup") as conn:
        conn.execute(
            f"INSERT INTO {table} (doc, f_created_at) SELECT json_build_object('arguments',"
            " 'filler ' || i || ' ' || md5(i::text) || md5((i * 7)::text)), 1767225600 + i"
            " FROM generate_series(1, %s) AS i",
            (rows,),
        )
    assert engine.index_search("audit") == rows
    engine.analyze("audit")  # the documents' table and the search side table


@pytest.mark.parametrize("engine_kind", ["postgres"], indirect=True)
def test_search_statements_use_the_trigram_index_every_time(
    make_engine: Callable[..., Engine], store_url: str
) -> None:
    # One pooled connection, so the statistics read below include every search.
    engine = make_engine([AUDIT], url=f"{store_url}&pool_max=1&indexer=off")
    assert isinstance(engine, PostgresEngine)
    _fill(engine, 10000)
    engine.insert("audit", {"arguments": "the Unicorn-XJ42 appears once", "created_at": "2027-01-01T00:00:00Z"})
    query = Query(search="unicorn-xj42", order_by="created_at", descending=True, limit=50)
    for tail in (1, 0):  # the new entry is first in the unindexed tail, then indexed
        assert engine.search_backlog("audit") == tail
        before = _trigram_scans(engine)
        # The engine's connections prepare a statement on its second execution, and
        # PostgreSQL may switch a prepared statement to a generic plan after five more,
        # which only knows a default selectivity for "LIKE $1": for an ordered, limited
        # query it walks the created_at index instead.  So this catches
        # search statements being prepared.
        runs = 15
        for _ in range(runs):
            assert len(engine.find("audit", query)) == 1
            assert engine.count("audit", Query(search="unicorn-xj42")) == 1
        assert _trigram_scans(engine) - before >= runs * 2 * 2  # every find and count, each search field
        plan = engine.explain("audit", query)
        assert f"Bitmap Index Scan on {side_index(engine._layouts['audit'], 'arguments')}" in plan, plan
        assert "Seq Scan" not in plan, plan  # the tail is a key range, never a scan
        engine.index_search("audit")


@pytest.mark.parametrize("engine_kind", ["postgres"], indirect=True)
def test_only_statements_without_values_get_a_generic_plan(
    make_engine: Callable[..., Engine], store_url: str
) -> None:
    # One pooled connection, so its prepared statements are every find's.
    engine = make_engine([AUDIT], url=f"{store_url}&pool_max=1&indexer=off")
    assert isinstance(engine, PostgresEngine)
    _fill(engine, 5000)
    engine.insert("audit", {"tool_name": "grep", "created_at": "2027-01-01T00:00:00Z"})
    recent = Query(order_by="created_at", descending=True, limit=50)
    by_tool = Query(filters=[Cond("tool_name", "eq", "grep")], order_by="created_at", descending=True, limit=50)
    for _ in range(12):
        assert len(engine.find("audit", recent)) == 50
        assert len(engine.find("audit", by_tool)) == 1
    with engine._conn("stats") as conn:
        plans = {
            text: (generic, custom)
            for text, generic, custom in conn.execute(
                "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
            )
        }
    # A statement with no value in it is prepared and then runs on its generic plan,
    # never planned again.  One with a filter value and a limit is never prepared, so it
    # is planned for its value every time: a generic plan would walk the created_at index
    # for a rare tool as for a common one.
    assert [p for text, p in plans.items() if "f_tool_name" in text] == [], plans
    (recent_plans,) = [p for text, p in plans.items() if "LIMIT 50" in text]
    assert recent_plans[0] > 0, plans


@pytest.mark.parametrize("engine_kind", ["postgres"], indirect=True)
def test_background_indexer_drains_the_backlog_when_writes_pause(
    make_engine: Callable[..., Engine], store_url: str
) -> None:
    engine = make_engine([AUDIT])
    assert isinstance(engine, PostgresEngine)
    engine.insert_many("audit", [{"arguments": f"row {i}"} for i in range(3000)])
    deadline = time.monotonic() + 30
    while engine.search_backlog("audit") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.search_backlog("audit") == 0
    assert engine.count("audit", Query(search="row 29")) == 111  # 29, 290-299, 2900-2999
    engine.close()  # stops the indexer thread
    assert not [t for t in threading.enumerate() if t.name == "osis-pg-search-indexer"]


@pytest.mark.parametrize("engine_kind", ["postgres"], indirect=True)
def test_concurrent_writers_never_slip_under_the_watermark(
    make_engine: Callable[..., Engine], store_url: str
) -> None:
    """Writers commit out of key order while the indexer advances the watermark; every
    row must be found afterwards, through the index."""
    engine = make_engine([AUDIT], url=f"{store_url}&indexer=off")
    assert isinstance(engine, PostgresEngine)
    done = threading.Event()
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        rng = random.Random(worker)
        try:
            for i in range(60):
                if rng.random() < 0.3:
                    batch = [{"arguments": f"w{worker}-item{i}-{j}"} for j in range(rng.choice([3, 80]))]
                    engine.insert_many("audit", batch)
                else:
                    engine.insert("audit", {"arguments": f"w{worker}-item{i}-0"})
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    def index() -> None:
        while not done.is_set():
            engine.index_search("audit")

    indexer = threading.Thread(target=index)
    indexer.start()
    writers = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    indexer.join()
    assert not errors, errors
    total = engine.count("audit")
    engine.index_search("audit")
    assert engine.search_backlog("audit") == 0
    assert engine.count("audit", Query(search="-item")) == total
    with engine._conn("check") as conn:
        side = f"{engine._schema}.{side_table(engine._layouts['audit'])}"
        row = conn.execute(f"SELECT count(*) FROM {side}").fetchone()
    assert row is not None and row[0] == total


def _set_sequence(engine: PostgresEngine, store_url: str, value: int) -> None:
    """Set the audit table's key sequence to ``value`` from another session."""
    table = engine._table(engine._layouts["audit"])
    with psycopg.connect(store_url.split("?")[0], autocommit=True) as conn:
        conn.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", (table, value))


@pytest.mark.parametrize("engine_kind", ["postgres"], indirect=True)
def test_a_single_insert_skips_a_key_taken_ahead_of_the_sequence(
    make_engine: Callable[..., Engine], store_url: str
) -> None:
    # A single row with an assigned key is a plain INSERT in autocommit: a key an
    # explicit sid already holds fails the primary key, and the next key is drawn.
    engine = make_engine([AUDIT], url=f"{store_url}&indexer=off")
    assert isinstance(engine, PostgresEngine)
    for key in (3, 4):
        engine.insert("audit", {"sid": key_to_sid(key), "arguments": f"taken {key}"})
    _set_sequence(engine, store_url, 1)  # back behind both
    sids = [engine.insert("audit", {"arguments": f"new {i}"})["sid"] for i in range(3)]
    assert [sid_to_key(s) for s in sids] == [2, 5, 6]
    assert [d and d["arguments"] for d in engine.get_many("audit", [key_to_sid(k) for k in range(2, 7)])] == [
        "new 0", "taken 3", "taken 4", "new 1", "new 2",
    ]


@pytest.mark.parametrize("engine_kind", ["postgres"], indirect=True)
def test_a_large_batch_takes_keys_in_order_and_skips_a_key_taken_ahead_of_the_sequence(
    make_engine: Callable[..., Engine], store_url: str
) -> None:
    # Batches of 64 rows and more draw their keys in one statement and COPY the rows;
    # a key the sequence has not reached but a row already holds makes the COPY fail,
    # and the batch goes through INSERT statements (keys drawn afresh: a sequence does
    # not roll back), which skip taken keys (the row that met one takes the next free key).
    engine = make_engine([AUDIT], url=f"{store_url}&indexer=off")
    assert isinstance(engine, PostgresEngine)
    first = engine.insert_many("audit", [{"arguments": f"first {i}"} for i in range(100)])
    assert [sid_to_key(s) for s in first] == list(range(1, 101))
    for key in (150, 250):
        engine.insert("audit", {"sid": key_to_sid(key), "arguments": f"taken {key}"})
    _set_sequence(engine, store_url, 100)  # back behind both
    second = engine.insert_many("audit", [{"arguments": f"second {i}"} for i in range(100)])
    assert [sid_to_key(s) for s in second] == [*range(201, 250), 301, *range(251, 301)]
    assert [d and d["arguments"] for d in engine.get_many("audit", first + second)] == [
        *(f"first {i}" for i in range(100)),
        *(f"second {i}" for i in range(100)),
    ]
    assert [d and d["arguments"] for d in engine.get_many("audit", [key_to_sid(150), key_to_sid(250)])] == [
        "taken 150",
        "taken 250",
    ]


@pytest.mark.parametrize("engine_kind", ["postgres"], indirect=True)
def test_explicit_sids_below_and_above_the_watermark(make_engine: Callable[..., Engine], store_url: str) -> None:
    engine = make_engine([AUDIT], url=f"{store_url}&indexer=off")
    assert isinstance(engine, PostgresEngine)
    engine.insert_many("audit", [{"sid": f"{i:04d}", "arguments": "filler"} for i in range(100, 200)])
    engine.index_search("audit")
    engine.insert_many("audit", [{"sid": "0050", "arguments": "Below"}, {"sid": "zz00", "arguments": "above"}])
    assert engine.search_backlog("audit") == 1  # 0050 was indexed with its row
    assert {d["sid"] for d in engine.find("audit", Query(search="ABOVE"))} == {"zz00"}
    assert {d["sid"] for d in engine.find("audit", Query(search="below"))} == {"0050"}


@pytest.mark.parametrize("engine_kind", ["postgres"], indirect=True)
def test_a_format_1_store_moves_its_search_index_to_the_side_table(
    make_engine: Callable[..., Engine], store_url: str
) -> None:
    old = make_engine([AUDIT], url=f"{store_url}&indexer=off")
    assert isinstance(old, PostgresEngine)
    sids = old.insert_many("audit", [{"arguments": f"entry {i};", "result_preview": "Legacy"} for i in range(300)])
    layout = old._layouts["audit"]
    schema, table = old._schema, old._table(layout)
    old.close()
    legacy_index = identifier(f"{layout.table}__search_arguments")  # format 1's name
    with psycopg.connect(store_url.split("?")[0], autocommit=True) as conn:  # what format 1 left behind
        conn.execute(f"DROP TABLE {schema}.{side_table(layout)}")
        conn.execute(f"ALTER TABLE {schema}.osis_collections DROP COLUMN search_watermark")
        conn.execute(f"UPDATE {schema}.osis_meta SET value = '1' WHERE key = 'format_version'")
        conn.execute(
            f"CREATE INDEX {legacy_index} ON {table}"
            f" USING gin ((lower((doc ->> 'arguments') COLLATE \"C\")) gin_trgm_ops)"
        )
    engine = make_engine([AUDIT], url=f"{store_url}&indexer=off")
    assert isinstance(engine, PostgresEngine)
    assert engine.count("audit", Query(search="legacy")) == 300  # exact before indexing ...
    assert engine.index_search("audit") == 300
    assert [d["sid"] for d in engine.find("audit", Query(search="ENTRY 17;"))] == [sids[17]]  # ... and after
    with engine._conn("check") as conn:
        version = conn.execute(f"SELECT value FROM {schema}.osis_meta WHERE key = 'format_version'").fetchone()
        legacy = conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
            (schema, legacy_index),
        ).fetchone()
    assert version == ("2",) and legacy == (0,)


def test_like_pattern_escapes_wildcards() -> None:
    assert like_pattern("100%_\\x") == "%100\\%\\_\\\\x%"


@pytest.mark.parametrize("engine_kind", ["postgres"], indirect=True)
@pytest.mark.parametrize(
    ("group_by", "metrics"),
    [
        (["tool_name", "success"], [Metric("count"), Metric("avg", "duration_ms")]),
        (["tool_name"], [Metric("percentile", "duration_ms", "p50", q=0.5), Metric("percentile", "duration_ms", q=0.95)]),
        ([Day("created_at"), "success"], [Metric("count")]),
    ],
    ids=repr,
)
def test_a_windowed_aggregation_reads_the_window_through_its_index(
    make_engine: Callable[..., Engine], group_by: list[Any], metrics: list[Metric]
) -> None:
    engine = make_engine([AUDIT])
    assert isinstance(engine, PostgresEngine)
    docs = oracle.windowed_audit_log()
    sids = engine.insert_many("audit", docs)
    engine.analyze("audit")  # what the background thread does after a load
    agg = Aggregation(group_by=group_by, metrics=metrics, filters=[Cond("created_at", "gte", oracle.WINDOW_START)])
    plan = engine.explain_aggregate("audit", agg)
    assert "Index Cond: (f_created_at >= " in plan and "Seq Scan" not in plan, plan
    expected = oracle.aggregate(AUDIT, [{"sid": s, **d} for s, d in zip(sids, docs)], agg)
    assert engine.aggregate("audit", agg) == expected


_STREAMED = [  # each with the key of the index it streams
    (
        Aggregation(
            group_by=["tool_name"],
            metrics=[Metric("count"), Metric("sum", "duration_ms"), Metric("avg", "cost")],
            order_by="sum_duration_ms",
            descending=True,
            limit=3,
        ),
        ("tool_name",),
    ),
    (
        Aggregation(group_by=["tool_name", "success"], metrics=[Metric("count"), Metric("max", "attempt")]),
        ("tool_name", "success", "attempt"),
    ),
]
_PLANNED = [
    Aggregation(group_by=["tool_name"], metrics=[Metric("avg", "score")]),  # score is in no tool_name index
    Aggregation(group_by=["tool_name"], metrics=[Metric("count")], filters=[Cond("success", "eq", True)]),
    Aggregation(group_by=[Day("created_at")], metrics=[Metric("count")]),
    Aggregation(group_by=["tool_name"], metrics=[Metric("percentile", "duration_ms", q=0.5)]),
    Aggregation(group_by=["success", "tool_name"], metrics=[Metric("count")]),
    Aggregation(metrics=[Metric("count")]),
]


@pytest.mark.parametrize("engine_kind", ["postgres"], indirect=True)
def test_a_whole_table_aggregation_streams_a_covering_index_once_vacuumed(
    make_engine: Callable[..., Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The size floor only spares small tables the extra round trips: lowered so a
    # small table qualifies; and every call looks at the visibility map afresh.
    monkeypatch.setattr(postgres_aggregate, "MIN_PAGES", 1)
    monkeypatch.setattr(postgres_aggregate, "RECHECK", 0.0)
    engine = make_engine([AUDIT])
    assert isinstance(engine, PostgresEngine)
    layout = engine._layouts["audit"]
    rng = random.Random(9)
    stored: list[dict[str, Any]] = []

    def load(rows: int) -> None:
        docs = [oracle.random_audit(rng) for _ in range(rows)]
        stored.extend({"sid": s, **d} for s, d in zip(engine.insert_many("audit", docs), docs))
        engine.analyze("audit")

    def check(streams: bool) -> None:
        for agg, key in _STREAMED:
            with engine._conn("test") as conn:
                ra = resolve_aggregation(layout, agg)
                assert engine._aggregate_plans.streams(conn, engine._table(layout), layout, ra) is streams
            if streams:
                plan = engine.explain_aggregate("audit", agg)
                (index,) = (i.name for i in layout.btree_indexes() if tuple(c.field for c in i.key) == key)
                assert f"Index Only Scan using {index} " in plan, plan
                assert "GroupAggregate" in plan and "Seq Scan" not in plan and "HashAggregate" not in plan, plan
            for _ in range(7):  # psycopg prepares it from the fifth: the two plans never mix
                oracle.assert_same_rows(engine.aggregate("audit", agg), oracle.aggregate(AUDIT, stored, agg))
        for agg in _PLANNED:
            assert not postgres_aggregate.indexed_grouping(layout, resolve_aggregation(layout, agg))
            oracle.assert_same_rows(engine.aggregate("audit", agg), oracle.aggregate(AUDIT, stored, agg))

    load(3000)
    # Never vacuumed: an index-only scan would read the heap for every entry.
    check(streams=False)
    with engine._conn("test") as conn:
        conn.execute(f"VACUUM {engine._table(layout)}")
    monkeypatch.setattr(postgres_aggregate, "MIN_PAGES", 10**6)  # a small table: any plan is quick
    check(streams=False)
    monkeypatch.setattr(postgres_aggregate, "MIN_PAGES", 1)
    check(streams=True)
    load(3000)  # the new half of the heap is not marked all-visible
    check(streams=False)


@pytest.fixture
def no_trgm_url() -> Iterator[str]:
    """A store URL in a database of its own where ``CREATE EXTENSION`` always fails
    (an event trigger refuses it), so pg_trgm can be neither found nor installed."""
    dsn = postgres_dsn()
    if dsn is None:
        pytest.skip("no PostgreSQL")
    database = f"osis_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    url = urlsplit(dsn)._replace(path=f"/{database}")
    try:
        with psycopg.connect(urlunsplit(url), autocommit=True) as conn:
            conn.execute(
                "CREATE FUNCTION refuse_extensions() RETURNS event_trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'extensions are not allowed here'; END $$"
            )
            conn.execute(
                "CREATE EVENT TRIGGER refuse_extensions ON ddl_command_start"
                " WHEN TAG IN ('CREATE EXTENSION') EXECUTE FUNCTION refuse_extensions()"
            )
        sep = "&" if url.query else ""
        yield urlunsplit(url._replace(query=f"{url.query}{sep}indexer=off"))
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_search_without_pg_trgm_is_refused_naming_the_extension(no_trgm_url: str) -> None:
    with open_engine(no_trgm_url) as engine:
        with pytest.raises(ExtensionUnavailable, match="need the pg_trgm extension.*extensions are not allowed here"):
            engine.open([AUDIT])
        engine.open([replace(AUDIT, search=())])  # nothing of the failed open was kept
        assert engine.count("audit") == 0


def test_a_refused_change_is_reported_before_a_missing_pg_trgm(no_trgm_url: str) -> None:
    plain = CollectionSpec("plain", indexed=(IndexedField("n", "int"),))
    with open_engine(no_trgm_url) as engine:
        engine.open([plain])
        # Every plan is judged before the extension is looked for: the kind change is the
        # error the caller can act on, not the search fields of another collection.
        changed = replace(plain, indexed=(IndexedField("n", "str"),))
        with pytest.raises(SchemaMismatch, match="field 'n' changed kind from int to str"):
            engine.open([changed, AUDIT])


@pytest.mark.parametrize("engine_kind", ["postgres"], indirect=True)
def test_a_role_that_owns_nothing_uses_an_existing_store(
    make_engine: Callable[..., Engine], store_url: str
) -> None:
    """An operator creates the store as its owner and runs the service as a role that may
    only read and write its tables: opening must not need DDL when nothing changed, and
    the background search indexer works with those privileges."""
    owner = make_engine([AUDIT], url=f"{store_url}&indexer=off")
    with non_owner(store_url) as url:
        engine = make_engine([AUDIT], url=url)
        sid = engine.insert("audit", {"arguments": "quokka sighting", "created_at": "2027-01-01T00:00:00Z"})["sid"]
        engine.insert_many("audit", [{"arguments": f"call {i}", "created_at": "2027-01-01T00:00:01Z"} for i in range(50)])
        assert engine.index_search("audit") == 51
        assert [d["sid"] for d in engine.find("audit", Query(search="QUOKKA"))] == [sid]
        assert engine._sides["audit"].may_clean is False  # type: ignore[attr-defined]  # merging was refused
        assert engine.delete("audit", sid) and owner.get("audit", sid) is None
        engine.close()


@pytest.mark.parametrize("engine_kind", ["postgres"], indirect=True)
def test_a_role_that_owns_nothing_may_not_change_the_layout(
    make_engine: Callable[..., Engine], store_url: str
) -> None:
    owner = make_engine([AUDIT], url=f"{store_url}&indexer=off")
    sid = owner.insert("audit", {"tool_name": "t", "created_at": "2027-01-01T00:00:00Z"})["sid"]
    wider = replace(AUDIT, indexed=(*AUDIT.indexed, IndexedField("kind", "str")))
    with non_owner(store_url) as url:
        engine = open_engine(url)
        try:
            with pytest.raises(NotPermitted, match=r"role 'osis_test_role_\w+' may not change the store's layout"
                               r" \(must be owner of table osis_audit\); open it once as the owner of schema"):
                engine.open([wider])
        finally:
            engine.close()
    owner.close()
    reopened = make_engine([AUDIT], url=f"{store_url}&indexer=off")  # nothing changed
    assert reopened.get("audit", sid) is not None

