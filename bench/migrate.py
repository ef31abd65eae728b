"""Benchmark of `osis migrate`: a generated legacy hero_agent file into the embedded store.

    python bench/migrate.py               # 1M audit, 200k usage, 10k memories, 5k conversations, 50k messages
    python bench/migrate.py --scale 0.1   # a tenth of that: a quick run

Measures the whole migration as an operator runs it (map, write in batches, read each
batch back and verify every row against its object) and, in the same run on the same file, a plain batched
SQLite copy of the same rows into tables of the legacy layout: read in id order,
`executemany` 1000 rows per transaction, WAL with synchronous=NORMAL as the store uses.
The copy runs before and after the migration and the faster of the two is reported, so
a noisy moment does not flatter the ratio.  Target: >= 40k rows/s including verification.

Not a test: it prints a table and exits 0.
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from osis.migrate.legacy import LEGACY_SCHEMA  # noqa: E402
from osis.migrate.runner import run  # noqa: E402
from osis.server import open_store  # noqa: E402
from osis.store.sqlite import SqliteEngine  # noqa: E402

FULL = {"audit_log": 1_000_000, "usage_log": 200_000, "memories": 10_000, "conversations": 5_000, "messages": 50_000}
TARGET = 40_000

SCHEMA = LEGACY_SCHEMA
TOOLS = ["web_search", "read_file", "write_file", "run_shell", "send_mail", "calendar", "fetch_url", "memory_recall"]
MODELS = ["gpt-4o-mini", "gpt-4o", "claude-sonnet", "llama-3-70b", "mistral-large", "o3-mini"]
USERS = [f"user{i:02d}" for i in range(20)]
START = 1_704_067_200  # 2024-01-01


def _when(rng: random.Random) -> str:
    """A moment anywhere in the year (objects whose times are not tied to their row order)."""
    moment = datetime.fromtimestamp(START + rng.randrange(365 * 86400), timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _logged(i: int, n: int, rng: random.Random, ordered: bool) -> str:
    """The time of the i-th of n log rows: in id order, as `DEFAULT (datetime('now'))` writes
    an append-only log, unless `ordered` is false (times shuffled across the year)."""
    if not ordered:
        return _when(rng)
    moment = datetime.fromtimestamp(START + i * (365 * 86400) // max(n, 1), timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def generate(path: Path, counts: dict[str, int], seed: int = 1, *, ordered: bool = True) -> None:
    """A legacy file of the current layout with plausible rows (no quirks: those are the tests').

    The logs (audit, usage, messages) get times in id order unless `ordered` is false."""
    rng = random.Random(seed)
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    with conn:
        conn.executemany(
            "INSERT INTO audit_log (tool_name, arguments, result_preview, success, duration_ms, user_sid, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    rng.choice(TOOLS),
                    f'{{"query": "topic {rng.randrange(10_000)}", "limit": {rng.randrange(1, 50)}}}',
                    f"Found {rng.randrange(100)} results; the first one says something about item {i}",
                    int(rng.random() > 0.05),
                    int(rng.lognormvariate(6, 1)),
                    rng.choice(USERS),
                    _logged(i, counts["audit_log"], rng, ordered),
                )
                for i in range(counts["audit_log"])
            ),
        )
        conn.executemany(
            "INSERT INTO usage_log (model, prompt_tokens, completion_tokens, total_tokens, user_sid, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                (rng.choice(MODELS), p, c, p + c, rng.choice(USERS), _logged(i, counts["usage_log"], rng, ordered))
                for i, (p, c) in enumerate(
                    (rng.randrange(50, 8000), rng.randrange(10, 2000)) for _ in range(counts["usage_log"])
                )
            ),
        )
        conn.executemany(
            "INSERT INTO memories (user_sid, category, key, value, source, confidence, access_count, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    USERS[i % len(USERS)],
                    ("fact", "preference", "context", "skill")[i % 4],
                    f"key_{i}",
                    f"remembered value number {i}",
                    "user" if i % 3 else None,
                    round(rng.random(), 3),
                    rng.randrange(100),
                    _when(rng),
                    _when(rng),
                )
                for i in range(counts["memories"])
            ),
        )
        conversation_ids = [f"{rng.getrandbits(128):032x}" for _ in range(counts["conversations"])]
        conn.executemany(
            "INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?)",
            (
                (cid, f"Conversation {i}", '{"topic": "planning"}', USERS[i % len(USERS)], _when(rng), _when(rng))
                for i, cid in enumerate(conversation_ids)
            ),
        )
        conn.executemany(
            "INSERT INTO messages (conversation_id, role, content, timestamp, model, tool_name)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                (
                    rng.choice(conversation_ids),
                    role,
                    f"message text {i} " * 4,
                    _logged(i, counts["messages"], rng, ordered),
                    rng.choice(MODELS) if role == "assistant" else None,
                    rng.choice(TOOLS) if role == "tool" else None,
                )
                for i, role in ((i, ("user", "assistant", "tool")[i % 3]) for i in range(counts["messages"]))
            ),
        )
    conn.close()


def plain_copy(legacy: Path, target: Path) -> float:
    """Seconds to copy every row into a fresh file of the legacy layout, 1000 per transaction."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{legacy}?mode=ro&immutable=1", uri=True)
    dest = sqlite3.connect(target, isolation_level=None)
    dest.execute("PRAGMA journal_mode = WAL")
    dest.execute("PRAGMA synchronous = NORMAL")
    dest.executescript(SCHEMA)
    started = time.perf_counter()
    for table in FULL:
        columns = [row[1] for row in source.execute(f"PRAGMA table_info({table})")]
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        cursor = source.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid")
        while rows := cursor.fetchmany(1000):
            dest.execute("BEGIN")
            dest.executemany(sql, rows)
            dest.execute("COMMIT")
    elapsed = time.perf_counter() - started
    source.close()
    dest.close()
    return elapsed


def index_search(store: Path) -> float:
    """Seconds to build the search index the migration leaves to the server's background thread."""
    engine = open_store(f"sqlite:///{store}?indexer=off")
    try:
        assert isinstance(engine, SqliteEngine)
        started = time.perf_counter()
        engine.index_search()
        return time.perf_counter() - started
    finally:
        engine.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the full row counts (default 1)")
    ap.add_argument("--workdir", type=Path, help="keep the files here (default: a temporary directory)")
    ap.add_argument("--progress", action="store_true", help="show the migration's progress bars")
    ap.add_argument("--shuffled-times", action="store_true",
                    help="log rows with times shuffled across the year instead of in id order (the figures before"
                    " 2026-11-27 used this; each insert then lands on its own page of the time index)")
    args = ap.parse_args()
    counts = {table: max(1, round(n * args.scale)) for table, n in FULL.items()}
    total = sum(counts.values())
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="osis-bench-migrate-"))
    workdir.mkdir(parents=True, exist_ok=True)
    legacy = workdir / "legacy.db"
    try:
        if not legacy.exists():
            started = time.perf_counter()
            generate(legacy, counts, ordered=not args.shuffled_times)
            print(f"generated {total:,} legacy rows in {time.perf_counter() - started:.1f} s ({legacy})")
        copies = [plain_copy(legacy, workdir / "copy.db")]
        store = workdir / "store.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{store}{suffix}").unlink(missing_ok=True)
        started, cpu_started = time.perf_counter(), time.process_time()
        report = run(
            legacy,
            f"sqlite:///{store}",
            report_path=workdir / "report.json",  # the quarantine file goes next to it
            stream=None if args.progress else io.StringIO(),
        )
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        indexing = index_search(store)
        copies.append(plain_copy(legacy, workdir / "copy.db"))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    if not report.ok:
        print(report.summary())
        return 1
    copy = min(copies)
    print(f"\n{'table':<14} {'rows':>10} {'migrate s':>10} {'verify s':>9} {'rows/s':>9}")
    for t in report.tables.values():
        seconds = t.migrate_seconds + t.verify_seconds
        print(
            f"{t.table:<14} {t.rows:>10,} {t.migrate_seconds:>10.2f} {t.verify_seconds:>9.2f} {t.rows / seconds:>9,.0f}"
        )
    print(
        f"\nmigration, verification included: {total:,} rows in {elapsed:.1f} s = {total / elapsed:,.0f} rows/s"
        f" (target {TARGET:,}: {'met' if total / elapsed >= TARGET else 'MISSED'})"
    )
    print(
        f"plain batched SQLite copy:        {total:,} rows in {copy:.1f} s = {total / copy:,.0f} rows/s"
        f" (runs: {', '.join(f'{c:.1f} s' for c in copies)})"
    )
    print(f"ratio migration / copy: {copy / elapsed:.2f}")
    # On a shared machine the wall clock also counts other processes' turns on the CPU.
    print(f"CPU time of the migration: {cpu:.1f} s = {total / cpu:,.0f} rows per CPU second")
    print(
        f"search index of the migrated text, left to `osis serve` (not included above): {indexing:.1f} s"
        f" = {total / indexing:,.0f} rows/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
