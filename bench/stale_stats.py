"""PostgreSQL: the first queries after a bulk load, on the statistics of an empty table
and after ``engine.analyze()``; and how soon the background thread analyses a load.

    python bench/stale_stats.py --dsn postgresql://postgres@127.0.0.1:5432/test --rows 200000

Each phase loads ``--rows`` audit entries dated 0-90 days ago (batches of 1000) into a
schema of its own, which it drops afterwards.  Phase one opens the store with
``indexer=off`` (no background thread), times three dashboard-shaped queries, runs
``analyze()`` and times them again.  Phase two opens it with the background thread and
reports what the planner's row count (``pg_class.reltuples``) said when the load ended
and how long until it covered at least half of the rows.  Meaningful only on a server
with autovacuum off (``SHOW autovacuum``), as this machine's.

Not a test: it prints medians and exits 0.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
from stats_window import DAY, entries

from osis.ai.service import AUDIT
from osis.server import open_store
from osis.store import Aggregation, Cond, Engine, Metric, Query
from osis.store.postgres import PostgresEngine


def queries(since: str) -> dict[str, Callable[[Engine], Any]]:
    window = Cond("created_at", "gte", since)
    return {
        "by tool, recent 50": lambda e: e.find(AUDIT, Query(filters=[Cond("tool_name", "eq", "tool_03")],
                                                            order_by="created_at", descending=True, limit=50)),
        "7-day count by tool": lambda e: e.aggregate(AUDIT, Aggregation(group_by=["tool_name"],
                                                                        metrics=[Metric("count")], filters=[window])),
        "one user's 7-day count": lambda e: e.aggregate(AUDIT, Aggregation(
            group_by=["tool_name"], metrics=[Metric("count")], filters=[window, Cond("user_sid", "eq", "user_1")])),
    }


def median_ms(call: Callable[[Engine], Any], engine: Engine, reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        call(engine)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def planner_rows(engine: PostgresEngine) -> float:
    with engine._conn("bench") as conn:
        row = conn.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
                           (engine._table(engine._layouts[AUDIT]),)).fetchone()
    assert row is not None
    return float(row[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=15, help="timed calls per figure")
    args = parser.parse_args()
    docs = entries(random.Random(1), args.rows, 0, 90 * DAY)
    since = (datetime.now(timezone.utc) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for indexer in ("off", "on"):
        schema = f"stale_stats_{uuid.uuid4().hex[:8]}"
        engine = open_store(f"{args.dsn}{'&' if '?' in args.dsn else '?'}schema={schema}&indexer={indexer}")
        try:
            assert isinstance(engine, PostgresEngine)
            started = time.perf_counter()
            for i in range(0, len(docs), 1000):
                engine.insert_many(AUDIT, docs[i:i + 1000])
            loaded = time.perf_counter()
            if indexer == "off":
                calls = queries(since)
                before = {name: median_ms(call, engine, args.reps) for name, call in calls.items()}
                start = time.perf_counter()
                engine.analyze()
                analyzed = time.perf_counter() - start
                after = {name: median_ms(call, engine, args.reps) for name, call in calls.items()}
                print(f"load of {args.rows} rows {loaded - started:.1f} s; analyze() {analyzed * 1000:.0f} ms")
                for name in calls:
                    print(f"  {name:24} never analysed {before[name]:7.2f} ms, analysed {after[name]:7.2f} ms")
            else:
                at_end = planner_rows(engine)
                while planner_rows(engine) < args.rows / 2 and time.perf_counter() - loaded < 60:
                    time.sleep(0.05)
                print(f"background: the planner counted {at_end:.0f} rows when the load ended,"
                      f" at least half of them {time.perf_counter() - loaded:.1f} s later")
        finally:
            engine.close()
            with psycopg.connect(args.dsn, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
