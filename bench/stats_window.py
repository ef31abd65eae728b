"""Does the dashboard's ``stats`` cost in proportion to its window or to the whole log?

    python bench/stats_window.py                                   # SQLite in a temporary directory
    python bench/stats_window.py --store 'postgresql://postgres@127.0.0.1/test?schema=stats_bench'

Loads ``--recent`` audit entries dated within the last six days and times
``stats(days=7)`` (all users, and one of six users), then adds ``--old`` entries
dated 8-90 days ago, outside the window, and times the same calls again.  If the
windowed aggregations start from the ``created_at`` range, the second figures
match the first.  Planner statistics are refreshed after each load (``engine.analyze``),
as either engine's background thread would.  The store must be empty.

Not a test: it prints medians (and p95) and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from osis_ai import models as m

from osis.ai.service import AUDIT, AiStoreService
from osis.server import open_store
from osis.store import Engine, Query

TOOLS = [f"tool_{i:02d}" for i in range(20)]
USERS = [f"user_{i}" for i in range(6)]
DAY = 86400


def entries(rng: random.Random, count: int, newest: int, oldest: int) -> list[dict[str, Any]]:
    """Audit entries dated between ``newest`` and ``oldest`` seconds ago."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return [
        {
            "tool_name": rng.choice(TOOLS),
            "arguments": '{"query": "weather"}',
            "result_preview": "ok",
            "success": rng.random() < 0.9,
            "duration_ms": rng.randint(1, 5000),
            "user_sid": rng.choice(USERS),
            "created_at": (now - timedelta(seconds=rng.randint(newest, oldest))).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for _ in range(count)
    ]


def load(engine: Engine, docs: list[dict[str, Any]]) -> None:
    for i in range(0, len(docs), 5000):
        engine.insert_many(AUDIT, docs[i:i + 5000])
    engine.analyze(AUDIT)  # what the background thread does after a load, now


def median_ms(service: AiStoreService, request: m.StatsInput, reps: int) -> tuple[float, float]:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        asyncio.run(service.stats(request))
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", help="store URL (default: a new SQLite file in a temporary directory)")
    parser.add_argument("--old", type=int, default=100_000, help="entries outside the window (8-90 days old)")
    parser.add_argument("--recent", type=int, default=20_000, help="entries inside the window (0-6 days old)")
    parser.add_argument("--reps", type=int, default=15, help="timed calls per figure")
    args = parser.parse_args()
    workdir = None if args.store else tempfile.mkdtemp(prefix="osis-stats-bench-")
    engine = open_store(args.store or f"sqlite:///{workdir}/osis.db")
    try:
        if engine.find(AUDIT, Query(limit=1)):
            sys.exit(f"{args.store}: the store must be empty (it holds audit entries)")
        service = AiStoreService(engine)
        rng = random.Random(7)
        calls = {"stats(days=7)": m.StatsInput(days=7), "stats(days=7, user)": m.StatsInput(days=7, user_sid=USERS[0])}
        load(engine, entries(rng, args.recent, 0, 6 * DAY))
        print(f"{'audit entries':>32} | " + " | ".join(f"{name}: median (p95) ms" for name in calls))
        for phase in (f"{args.recent} in the window", f"+ {args.old} outside it"):
            if phase.startswith("+"):
                load(engine, entries(rng, args.old, 8 * DAY, 90 * DAY))
            figures = [median_ms(service, request, args.reps) for request in calls.values()]
            print(f"{phase:>32} | " + " | ".join(f"{med:.1f} ({p95:.1f})" for med, p95 in figures), flush=True)
    finally:
        engine.close()
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
