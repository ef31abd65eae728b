"""Compound indexes as the schema declares them (`@index(f2, ...)`, docs/oschema.md).

A field may lose its single-field index and be served by a compound index it leads; the
store reconciles the physical indexes on open, and filtered, ordered reads become one
range of that index on both engines.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from osis.binding import bind_package
from osis.store import (
    Aggregation,
    CollectionSpec,
    Cond,
    Engine,
    IndexedField,
    InvalidQuery,
    InvalidSpec,
    Metric,
    Query,
    open_engine,
)
from osis.store.layout import Layout
from osis.store.postgres import PostgresEngine, _prepare
from osis.store.query import index_ordered, resolve_query
from osis.store.spec import validate_spec
from osis.store.sqlite import SqliteEngine

from . import oracle
from .conftest import AUDIT

# The audit log before and after `tool_name: str @index` became `@index(created_at)`.
SINGLE = replace(AUDIT, compound=())
COMPOUND = replace(SINGLE, compound=(("tool_name", "created_at"),), compound_only=("tool_name",))

# The specs schemas/ai declares (collection names shortened): the plan tests below hold
# for the indexes the ai service and REST API actually get.
_AI = bind_package("osis_ai").roots
DECLARED_AUDIT = replace(_AI["agent_audit_entry"].spec, name="audit")
MEMORY = replace(_AI["agent_memory"].spec, name="memory")
USAGE = replace(_AI["agent_usage_entry"].spec, name="usage")

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _time(seconds: int) -> str:
    return (START + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _audit_docs(n: int = 3000) -> list[dict[str, Any]]:
    rng = random.Random(7)
    docs = []
    for i in range(n):
        doc = oracle.random_audit(rng)
        # A skewed log: one tool is a third of it, as the by-tool benchmark has it.
        doc["tool_name"] = "shell" if i % 3 == 0 else rng.choice(oracle.TOOLS)
        doc["created_at"] = _time(rng.randrange(0, 90 * 86400))
        docs.append(doc)
    return docs


def _physical_indexes(engine: Engine, table: str) -> set[str]:
    """The B-tree indexes the engine's table has, by name, as the database lists them."""
    if isinstance(engine, SqliteEngine):
        with engine._read() as conn:
            rows = conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,)
            ).fetchall()
        return {name for (name,) in rows}
    assert isinstance(engine, PostgresEngine)
    with engine._conn("test") as conn:
        rows = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = %s AND indexdef LIKE '%%btree%%'",
            (engine._schema, table),
        ).fetchall()
    return {name for (name,) in rows} - {f"{table}_pkey"}


def _explain(engine: Engine, coll: str, query: Query) -> str:
    assert isinstance(engine, (SqliteEngine, PostgresEngine))
    return engine.explain(coll, query)


# -- the spec -------------------------------------------------------------------------------


def test_layout_builds_exactly_the_declared_indexes() -> None:
    keys = [tuple(c.field for c in index.key) for index in Layout(MEMORY).btree_indexes()]
    assert keys == [("category",), ("key",), ("confidence",), ("access_count",), ("updated_at",), *MEMORY.compound]
    assert [tuple(c.field for c in i.key) for i in Layout(COMPOUND).btree_indexes()] == [
        ("user_sid",), ("success",), ("created_at",), ("score",), ("level",), ("attempt",), ("tool_name", "created_at"),
    ]


def test_spec_json_round_trip_keeps_compound_only() -> None:
    assert CollectionSpec.from_json(MEMORY.to_json()) == MEMORY
    # A spec recorded before compound_only existed: every indexed field had its own index.
    legacy = MEMORY.to_json().replace(', "compound_only": ["user_sid"]', "")
    assert "compound_only" not in legacy
    assert CollectionSpec.from_json(legacy) == replace(MEMORY, compound_only=())


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (replace(MEMORY, compound_only=["user_sid"]), "compound_only must be a tuple"),  # type: ignore[arg-type]
        (replace(MEMORY, compound_only=("user_sid", "user_sid")), "compound_only lists a field twice"),
        (replace(MEMORY, compound_only=("value",)), "compound_only names 'value', which is not an indexed field"),
        (replace(MEMORY, compound_only=("key",)), "field 'key' has no single-field index .* leads no compound index"),
    ],
)
def test_invalid_compound_only(spec: CollectionSpec, message: str) -> None:
    with pytest.raises(InvalidSpec, match=message):
        validate_spec(spec)


def test_the_generated_ai_package_binds_its_compound_indexes() -> None:
    roots = bind_package("osis_ai").roots
    for name, spec in ((r, roots[r].spec) for r in roots):
        layout_keys = [tuple(c.field for c in i.key) for i in Layout(spec).btree_indexes()]
        singles = [(f.name,) for f in spec.indexed if f.name not in spec.compound_only]
        assert layout_keys == [*singles, *spec.compound], name
    memory = roots["agent_memory"].spec
    assert memory.compound_only == ("user_sid",)
    assert memory.compound == (("user_sid", "category"), ("user_sid", "key"), ("user_sid", "confidence"))


def test_index_ordered_needs_equalities_then_the_order() -> None:
    layout = Layout(COMPOUND)

    def ordered(filters: list[Cond], order_by: str | None = "created_at") -> bool:
        return index_ordered(layout, resolve_query(layout, Query(filters=filters, order_by=order_by, limit=5)))

    assert ordered([Cond("tool_name", "eq", "shell")])
    assert ordered([Cond("tool_name", "eq", "shell"), Cond("created_at", "gte", _time(0))])
    assert ordered([Cond("created_at", "gte", _time(0))])  # its own single index
    assert not ordered([Cond("tool_name", "in", ["a", "b"])])  # several ranges of the index
    assert not ordered([Cond("tool_name", "eq", "shell"), Cond("success", "eq", True)])
    assert not ordered([Cond("tool_name", "eq", "shell")], order_by="score")
    assert not ordered([Cond("tool_name", "eq", "shell")], order_by=None)
    assert not ordered([Cond("tool_name", "eq", "shell"), Cond("created_at", "in", [_time(0)])])


def test_grouping_index_starts_with_the_groups_and_holds_what_is_read() -> None:
    layout = Layout(AUDIT)
    c = layout.by_field

    def index(groups: tuple[str, ...], *read: str) -> tuple[str, ...] | None:
        found = layout.grouping_index(tuple(c[g] for g in groups), {c[f] for f in (*groups, *read)})
        return None if found is None else tuple(col.field for col in found.key)

    assert index(("tool_name",), "duration_ms", "cost") == ("tool_name",)  # numeric payload
    assert index(("tool_name", "success"), "attempt") == ("tool_name", "success", "attempt")
    assert index(("user_sid",)) == ("user_sid",)
    assert index(("tool_name",), "score") is None  # indexed elsewhere, not carried
    assert index(("success", "tool_name")) is None  # the compound key's order is tool_name first
    assert index(("created_at", "user_sid")) is None


# -- reconciling a populated store ----------------------------------------------------------

_QUERIES = [
    Query(filters=[Cond("tool_name", "eq", "shell")], order_by="created_at", descending=True, limit=50),
    Query(filters=[Cond("tool_name", "eq", "grep")], order_by="created_at", limit=7, offset=3),
    Query(filters=[Cond("tool_name", "eq", "a")]),
    Query(filters=[Cond("tool_name", "eq", None)], order_by="created_at", limit=20),
    Query(filters=[Cond("tool_name", "in", ["grep", "shell"])], order_by="tool_name", limit=30),
    Query(filters=[Cond("tool_name", "gte", "r")], order_by="created_at", descending=True, limit=10),
    Query(order_by="tool_name", descending=True, limit=40),
]


def test_switching_to_a_compound_index_keeps_rows_and_results(make_engine: Callable[..., Engine]) -> None:
    engine = make_engine([SINGLE])
    docs = _audit_docs(1200)
    sids = engine.insert_many("audit", docs)
    stored = [{"sid": s, **d} for s, d in zip(sids, docs)]
    before = [engine.find("audit", q) for q in _QUERIES]
    agg = Aggregation(group_by=["tool_name"], metrics=(Metric("count"), Metric("sum", "duration_ms")))
    counted = engine.aggregate("audit", agg)
    old_indexes = _physical_indexes(engine, SINGLE.table)
    engine.close()

    engine = make_engine([COMPOUND])
    new_indexes = _physical_indexes(engine, COMPOUND.table)
    assert new_indexes == {i.name for i in Layout(COMPOUND).btree_indexes()}
    (dropped,) = old_indexes - new_indexes
    (built,) = new_indexes - old_indexes
    assert dropped.startswith("osis_audit__tool_name__cover_")
    assert built.startswith("osis_audit__tool_name__created_at__cover_")
    assert engine.count("audit") == len(docs)
    assert [engine.find("audit", q) for q in _QUERIES] == before
    assert before == [oracle.select(COMPOUND, stored, q) for q in _QUERIES]
    assert engine.aggregate("audit", agg) == counted
    assert engine.collections["audit"] == COMPOUND
    engine.close()

    # And back: the single-field index is rebuilt, the compound one dropped.
    engine = make_engine([SINGLE])
    assert _physical_indexes(engine, SINGLE.table) == old_indexes
    assert [engine.find("audit", q) for q in _QUERIES] == before


# -- plans ----------------------------------------------------------------------------------


def test_a_tools_newest_is_a_range_of_the_compound_index(make_engine: Callable[..., Engine]) -> None:
    engine = make_engine([DECLARED_AUDIT])
    docs = _audit_docs()
    sids = engine.insert_many("audit", docs)
    engine.analyze(DECLARED_AUDIT.name)
    stored = [{"sid": s, **d} for s, d in zip(sids, docs)]
    for tool in ("shell", "grep"):  # a third of the log, and a sixth of the rest
        query = Query(filters=[Cond("tool_name", "eq", tool)], order_by="created_at", descending=True, limit=50)
        plan = _explain(engine, "audit", query)
        assert "osis_audit__tool_name__created_at__" in plan, plan
        assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
        assert engine.find("audit", query) == oracle.select(DECLARED_AUDIT, stored, query)
    # A user's newest entries (the ai service's audit search for a user): the other one.
    query = Query(filters=[Cond("user_sid", "eq", "u3")], order_by="created_at", descending=True, limit=50)
    plan = _explain(engine, "audit", query)
    assert "osis_audit__user_sid__created_at__" in plan and "Sort" not in plan and "TEMP B-TREE" not in plan, plan
    assert engine.find("audit", query) == oracle.select(DECLARED_AUDIT, stored, query)


def test_a_users_top_memories_by_confidence_read_the_compound_index(make_engine: Callable[..., Engine]) -> None:
    engine = make_engine([MEMORY])
    rng = random.Random(3)
    docs = [
        {"user_sid": f"u{i % 40}", "category": rng.choice(["fact", "preference", "skill"]), "key": f"k{i}",
         "confidence": rng.random(), "access_count": i, "value": "x" * 40}
        for i in range(4000)
    ]
    sids = engine.insert_many("memory", docs)
    engine.analyze(MEMORY.name)
    stored = [{"sid": s, **d} for s, d in zip(sids, docs)]
    top = Query(filters=[Cond("user_sid", "eq", "u7")], order_by="confidence", descending=True, limit=10)
    plan = _explain(engine, "memory", top)
    assert "osis_memory__user_sid__confidence" in plan, plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
    assert engine.find("memory", top) == oracle.select(MEMORY, stored, top)
    # A user's memories of a category, or by key: the other two indexes (a few dozen
    # rows, which PostgreSQL may well sort by sid rather than walk in order).
    for query, index in (
        (Query(filters=[Cond("user_sid", "eq", "u7"), Cond("category", "eq", "fact")], limit=50),
         "osis_memory__user_sid__category"),
        (Query(filters=[Cond("user_sid", "eq", "u7"), Cond("key", "eq", "k287")]), "osis_memory__user_sid__key"),
    ):
        assert index in _explain(engine, "memory", query)
        assert engine.find("memory", query) == oracle.select(MEMORY, stored, query)


def test_a_users_usage_window_reads_the_compound_index(make_engine: Callable[..., Engine]) -> None:
    engine = make_engine([USAGE])
    rng = random.Random(5)
    docs = [
        {"model": rng.choice(["m1", "m2", "m3"]), "user_sid": f"u{i % 50}",
         "created_at": _time(rng.randrange(0, 120 * 86400)), "total_tokens": rng.randint(1, 900)}
        for i in range(10000)
    ]
    sids = engine.insert_many("usage", docs)
    engine.analyze(USAGE.name)
    stored = [{"sid": s, **d} for s, d in zip(sids, docs)]
    agg = Aggregation(group_by=["model"], metrics=(Metric("count"), Metric("sum", "total_tokens")),
                      filters=[Cond("user_sid", "eq", "u7"), Cond("created_at", "gte", _time(90 * 86400))])
    assert isinstance(engine, (SqliteEngine, PostgresEngine))
    plan = engine.explain_aggregate("usage", agg)
    assert "osis_usage__user_sid__created_at__" in plan, plan
    assert engine.aggregate("usage", agg) == oracle.aggregate(USAGE, stored, agg)


def test_sqlite_does_not_probe_when_an_index_serves_filter_and_order(tmp_path: Any) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'p.db'}?indexer=off")
    assert isinstance(engine, SqliteEngine)
    engine.open([COMPOUND])
    engine.insert_many("audit", _audit_docs(600))
    layout = engine._layouts["audit"]
    served = Query(filters=[Cond("tool_name", "eq", "shell")], order_by="created_at", descending=True, limit=5)
    other = Query(filters=[Cond("success", "eq", True)], order_by="created_at", descending=True, limit=5)
    for query, probes in ((served, False), (other, True)):
        statements: list[str] = []
        with engine._read() as conn:
            conn.set_trace_callback(statements.append)
            try:
                engine._should_walk(conn, layout, resolve_query(layout, query), 5)
            finally:
                conn.set_trace_callback(None)
        assert any("count(*)" in s for s in statements) is probes, statements
    with pytest.raises(InvalidQuery, match="explain covers finds without search"):
        engine.explain("audit", Query(search="x"))
    engine.close()


def test_postgres_prepares_index_ordered_finds_only() -> None:
    layout = Layout(COMPOUND)

    def prepare(query: Query) -> bool | None:
        rq = resolve_query(layout, query)
        return _prepare(layout, rq, rq.limit, [cond.value for cond in rq.conds])

    tool = Cond("tool_name", "eq", "shell")
    assert prepare(Query(filters=[tool], order_by="created_at", descending=True, limit=50)) is None
    assert prepare(Query(filters=[tool, Cond("success", "eq", True)], order_by="created_at", limit=50)) is False
    assert prepare(Query(filters=[tool], order_by="created_at", search="x", limit=50)) is False
    assert prepare(Query(filters=[tool])) is None  # no limit: as before


@pytest.mark.parametrize("engine_kind", ["postgres"], indirect=True)
def test_postgres_runs_index_ordered_finds_on_a_generic_plan(
    make_engine: Callable[..., Engine], store_url: str
) -> None:
    # One pooled connection, so its prepared statements are every find's.
    engine = make_engine([COMPOUND], url=f"{store_url}&pool_max=1&indexer=off")
    assert isinstance(engine, PostgresEngine)
    docs = _audit_docs(3000)
    sids = engine.insert_many("audit", docs)
    engine.analyze(COMPOUND.name)
    stored = [{"sid": s, **d} for s, d in zip(sids, docs)]
    queries = [
        Query(filters=[Cond("tool_name", "eq", tool)], order_by="created_at", descending=True, limit=50)
        for tool in ("shell", "grep", "read_file", "no such tool")
    ]
    # One statement for every tool. Values whose custom plans look much cheaper than the
    # generic one (a tool with no rows) keep PostgreSQL planning, so the common ones run
    # first; the rare one then runs on the generic plan too, with the same result.
    for _ in range(8):
        for query in queries[:3]:
            assert engine.find("audit", query) == oracle.select(COMPOUND, stored, query)
    assert engine.find("audit", queries[3]) == []
    with engine._conn("stats") as conn:
        plans = conn.execute(
            "SELECT statement, generic_plans FROM pg_prepared_statements WHERE statement LIKE '%f_tool_name%'"
        ).fetchall()
        (statement, generic), = plans
        plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN EXECUTE {_statement_name(conn, statement)}('shell')"))
    assert "LIMIT 50" in statement and generic > 0, plans
    assert "osis_audit__tool_name__created_at__" in plan and "Sort" not in plan, plan


def _statement_name(conn: Any, statement: str) -> str:
    (name,) = conn.execute("SELECT name FROM pg_prepared_statements WHERE statement = %s", (statement,)).fetchone()
    return str(name)


def test_a_package_generated_before_compound_indexes_binds_single_indexes(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # schema.json without x-osis-single / x-osis-compound: every indexed field had its own index.
    package = tmp_path / "osis_before_compound"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(
        "from pydantic import BaseModel\n\n\nclass Thing(BaseModel):\n    name: str\n\n\nclass ThingFilter(BaseModel):\n    pass\n"
    )
    (package / "schema.ir.json").write_text("{}")
    definition = {
        "x-osis-rootobject": True,
        "x-osis-collection": "thing",
        "properties": {"sid": {"type": "string"}, "name": {"type": "string"}, "at": {"type": "string", "format": "date-time"}},
        "x-osis-index": ["name", "at"],
        "x-osis-search": [],
    }
    (package / "schema.json").write_text(json.dumps({"$defs": {"Thing": definition}}))
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = bind_package("osis_before_compound").roots["thing"].spec
    assert spec.compound == () and spec.compound_only == ()
    assert [tuple(c.field for c in i.key) for i in Layout(spec).btree_indexes()] == [("name",), ("at",)]
