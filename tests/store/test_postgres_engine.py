"""PostgreSQL specifics: search statements must be able to use the trigram index."""

from __future__ import annotations

from collections.abc import Callable
import pytest

from osis.store import Engine, Query
from osis.store.postgres import PostgresEngine, like_pattern

from .conftest import AUDIT

pytestmark = pytest.mark.postgres

def _trigram_scans(engine: PostgresEngine) -> int:
    with engine._conn("stats") as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        conn.execute("SELECT 1")  # the flush happens at the end of a transaction
        row = conn.execute(
            "SELECT COALESCE(sum(idx_scan), 0) FROM pg_stat_user_indexes"
            " WHERE schemaname = %s AND indexrelname LIKE 'osis_audit__search_%%'",
            (engine._schema,),
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("engine_kind", ["postgres"], indirect=True)
def test_search_statements_use_the_trigram_index_every_time(
    make_engine: Callable[..., Engine], store_url: str
) -> None:
    # One pooled connection, so the statistics read below include every search.
    engine = make_engine([AUDIT], url=f"{store_url}&pool_max=1")
    assert isinstance(engine, PostgresEngine)
    table = engine._table(engine._layouts["audit"])
    with engine._conn("setup") as conn:
        # Enough rows for a rare pattern to favour the index in a plan that knows it;
        # a generic plan only has a default selectivity and prefers a sequential scan.
        conn.execute(
            f"INSERT INTO {table} (doc) SELECT jsonb_build_object('arguments',"
            " 'filler ' || i || ' ' || md5(i::text) || md5((i * 7)::text)) FROM generate_series(1, 10000) AS i"
        )
        # Model the steady state autovacuum maintains: GIN pending list merged, statistics fresh.
        conn.execute(
            "SELECT gin_clean_pending_list(indexrelid::regclass) FROM pg_stat_user_indexes"
            " WHERE schemaname = %s AND indexrelname LIKE 'osis_audit__search_%%'",
            (engine._schema,),
        )
        conn.execute(f"ANALYZE {table}")
    engine.insert("audit", {"arguments": "the Unicorn-XJ42 appears once"})
    query = Query(search="unicorn-xj42", order_by="created_at", descending=True, limit=50)
    before = _trigram_scans(engine)
    # psycopg prepares a statement after five executions and PostgreSQL then switches
    # to a generic plan, which only knows a default selectivity for "LIKE $1": for an
    # ordered, limited query it walks the created_at index instead.  So this catches
    # search statements being prepared.
    runs = 15
    for _ in range(runs):
        assert len(engine.find("audit", query)) == 1
    assert _trigram_scans(engine) - before >= runs * 2  # every run, one scan per search field
    plan = engine.explain("audit", query)
    assert "Bitmap Index Scan on osis_audit__search_arguments" in plan, plan
    assert "Seq Scan" not in plan, plan


def test_like_pattern_escapes_wildcards() -> None:
    assert like_pattern("100%_\\x") == "%100\\%\\_\\\\x%"
