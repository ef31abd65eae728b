"""Benchmark of the OSIS store against hand-written SQL on the legacy table layout.

    python bench/store.py                       # 1M audit, 200k usage, 10k memories, SQLite
    python bench/store.py --rows 200000 --usage 50000 --memories 10000
    python bench/store.py --engine postgres --dsn postgresql://postgres@127.0.0.1/test

Both sides run on the same engine, the same data and the same machine, interleaved
(chunk by chunk for ingest, call by call for queries) so machine noise hits both
alike.  The "raw" side is what the legacy code did: plain tables with their
indexes, hand-written SQL, rows turned into dicts (``dict(row)``), ``LIKE`` for
substring search.  The store side goes through the public Engine API and returns
wire-form documents.

Ingest: the store's search index is on.  On both engines it is filled off the write
path (see osis.store.sqlite_search and osis.store.postgres_search); the bench drains
it after each timed chunk, outside the timing, and reports that indexing throughput
separately as well as an "amortised" rate that charges it to ingest.  The legacy
tables have no search index at all (their substring search scans).

Not a test: it prints a table (and optionally writes JSON) and exits 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "generated"))

from osis.binding import bind_package  # noqa: E402
from osis.store import (  # noqa: E402
    Aggregation,
    CollectionSpec,
    Cond,
    Day,
    Engine,
    IndexedField,
    Metric,
    Query,
    open_engine,
)
from osis.store.postgres import PostgresEngine  # noqa: E402
from osis.store.sqlite import SqliteEngine  # noqa: E402

# ----------------------------------------------------------------------------- specs

AUDIT = CollectionSpec(
    "audit_entry",
    (
        IndexedField("tool_name", "str"),
        IndexedField("user_sid", "str"),
        IndexedField("success", "bool"),
        IndexedField("created_at", "time"),
    ),
    search=("arguments", "result_preview"),
    owner="user_sid",
    numeric=(IndexedField("duration_ms", "int"),),
)
USAGE = CollectionSpec(
    "usage_entry",
    (IndexedField("model", "str"), IndexedField("user_sid", "str"), IndexedField("created_at", "time")),
    owner="user_sid",
    numeric=(
        IndexedField("prompt_tokens", "int"),
        IndexedField("completion_tokens", "int"),
        IndexedField("total_tokens", "int"),
    ),
)
MEMORY = CollectionSpec(
    "memory",
    (
        IndexedField("user_sid", "str"),
        IndexedField("category", "enum"),
        IndexedField("key", "str"),
        IndexedField("confidence", "float"),
        IndexedField("access_count", "int"),
        IndexedField("updated_at", "time"),
    ),
    owner="user_sid",
)


def _as_declared(spec: CollectionSpec, root: str) -> CollectionSpec:
    """``spec`` with the B-tree indexes schemas/ai declares for ``root`` (compound ones,
    and which fields have no single-field index): the bench measures the schema's."""
    declared = bind_package("osis_ai").roots[root].spec
    return replace(spec, compound=declared.compound, compound_only=declared.compound_only)


AUDIT = _as_declared(AUDIT, "agent_audit_entry")
USAGE = _as_declared(USAGE, "agent_usage_entry")
MEMORY = _as_declared(MEMORY, "agent_memory")

LEGACY_SQLITE = """
CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, tool_name TEXT NOT NULL, arguments TEXT,
    result_preview TEXT, success INTEGER, duration_ms INTEGER, user_sid TEXT, created_at TEXT);
CREATE INDEX idx_audit_created ON audit_log(created_at);
CREATE INDEX idx_audit_tool ON audit_log(tool_name);
CREATE INDEX idx_audit_user ON audit_log(user_sid);
CREATE TABLE usage_log (id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT, prompt_tokens INTEGER,
    completion_tokens INTEGER, total_tokens INTEGER, user_sid TEXT, created_at TEXT);
CREATE INDEX idx_usage_created ON usage_log(created_at);
CREATE INDEX idx_usage_model ON usage_log(model);
CREATE INDEX idx_usage_user ON usage_log(user_sid);
CREATE TABLE memories (id INTEGER PRIMARY KEY AUTOINCREMENT, user_sid TEXT, category TEXT, key TEXT, value TEXT,
    source TEXT, confidence REAL, access_count INTEGER DEFAULT 0, created_at TEXT, updated_at TEXT,
    UNIQUE(user_sid, key));
CREATE INDEX idx_memories_category ON memories(user_sid, category);
"""

LEGACY_POSTGRES = """
CREATE TABLE audit_log (id bigserial PRIMARY KEY, tool_name text NOT NULL, arguments text,
    result_preview text, success boolean, duration_ms integer, user_sid text, created_at text);
CREATE INDEX idx_audit_created ON audit_log(created_at);
CREATE INDEX idx_audit_tool ON audit_log(tool_name);
CREATE INDEX idx_audit_user ON audit_log(user_sid);
CREATE TABLE usage_log (id bigserial PRIMARY KEY, model text, prompt_tokens integer,
    completion_tokens integer, total_tokens integer, user_sid text, created_at text);
CREATE INDEX idx_usage_created ON usage_log(created_at);
CREATE INDEX idx_usage_model ON usage_log(model);
CREATE INDEX idx_usage_user ON usage_log(user_sid);
CREATE TABLE memories (id bigserial PRIMARY KEY, user_sid text, category text, key text, value text,
    source text, confidence double precision, access_count integer DEFAULT 0, created_at text, updated_at text,
    UNIQUE(user_sid, key));
CREATE INDEX idx_memories_category ON memories(user_sid, category);
"""

# ----------------------------------------------------------------------------- data

TOOLS = [
    "read_file", "write_file", "search_web", "run_shell", "list_dir", "grep", "edit_file", "http_get",
    "http_post", "sql_query", "send_email", "calendar", "todo", "memory_get", "memory_set", "python_exec",
    "git_diff", "git_commit", "browse", "screenshot", "translate", "summarize", "weather", "stock", "news",
    "map", "calc", "timer", "notify", "image_gen",
]
MODELS = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "claude-3-haiku", "llama-3-70b", "llama-3-8b",
          "mistral-large", "gemini-1.5-pro", "gemini-1.5-flash", "qwen-2-72b"]
CATEGORIES = ["preference", "fact", "contact", "project", "habit", "note"]
WORDS = (
    "the of and to in is for on with as by at from this that file path user data value result request "
    "response config update create delete list item name type status time date count total index search "
    "query model token cache server client session agent task step plan memory note report draft budget "
    "invoice meeting schedule project deploy build test review branch commit release issue ticket"
).split()
COMMON, RARE, ABSENT = "error", "unicorn-zx81", "qqxjvzk"
START = 1_767_225_600  # 2026-01-01T00:00:00Z


def iso(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_audit(n: int, rng: random.Random, span_days: int = 90) -> list[dict[str, Any]]:
    weights = [1 / (i + 1) ** 1.2 for i in range(len(TOOLS))]
    rare_rows = set(rng.sample(range(n), min(n, 12)))
    step = span_days * 86400 / max(n, 1)
    rows = []
    for i in range(n):
        size = rng.randint(100, 400)
        args: dict[str, Any] = {
            "path": "/home/agent/" + "/".join(rng.choice(WORDS) for _ in range(3)),
            "query": " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8))),
            "limit": rng.randint(1, 100),
        }
        text = json.dumps(args)
        while len(text) < size:
            args["context"] = args.get("context", "") + " " + rng.choice(WORDS) + str(rng.randint(0, 9999))
            text = json.dumps(args)
        success = rng.random() < 0.9
        preview = ("ok: " if success else "error: ") + " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 20)))
        if rng.random() < 0.25:
            preview += " " + COMMON
        if i in rare_rows:
            text = text[:-1] + f', "tag": "{RARE.upper()}"}}'
        rows.append({
            "tool_name": rng.choices(TOOLS, weights)[0],
            "arguments": text,
            "result_preview": preview[:200],
            "success": success,
            "duration_ms": int(rng.expovariate(1 / 800)),
            "user_sid": f"user{rng.randint(1, 50):02d}",
            "created_at": iso(START + int(i * step)),
        })
    return rows


def make_usage(n: int, rng: random.Random, span_days: int = 90) -> list[dict[str, Any]]:
    weights = [1 / (i + 1) for i in range(len(MODELS))]
    step = span_days * 86400 / max(n, 1)
    rows = []
    for i in range(n):
        prompt = rng.randint(50, 8000)
        completion = rng.randint(10, 2000)
        rows.append({
            "model": rng.choices(MODELS, weights)[0],
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "user_sid": f"user{rng.randint(1, 50):02d}",
            "created_at": iso(START + int(i * step)),
        })
    return rows


def make_memories(n: int, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        created = START + rng.randint(0, 90 * 86400)
        rows.append({
            "user_sid": f"user{i % 50:02d}",
            "category": rng.choice(CATEGORIES),
            "key": f"key-{i // 50}",
            "value": " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 30))),
            "source": rng.choice(["chat", "tool", "import"]),
            "confidence": round(rng.random(), 3),
            "access_count": rng.randint(0, 50),
            "created_at": iso(created),
            "updated_at": iso(created + rng.randint(0, 86400 * 5)),
        })
    return rows


# ----------------------------------------------------------------------------- raw (legacy) side


class Raw:
    """The legacy code: hand-written SQL, rows returned as dicts."""

    def __init__(self, kind: str, target: str) -> None:
        self.kind = kind
        if kind == "sqlite":
            self.conn: Any = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self.conn.executescript(LEGACY_SQLITE)
            self.p = "?"
        else:
            import psycopg
            from psycopg.rows import dict_row

            self.conn = psycopg.connect(target, autocommit=True, row_factory=dict_row)
            self.conn.execute(LEGACY_POSTGRES)
            self.p = "%s"

    def _sql(self, text: str) -> str:
        return text.replace("?", self.p)

    def rows(self, text: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(self._sql(text), params)
        return [dict(r) for r in cur.fetchall()]

    def insert_audit(self, d: dict[str, Any]) -> None:
        success = int(d["success"]) if self.kind == "sqlite" else d["success"]
        values = (d["tool_name"], d["arguments"], d["result_preview"], success, d["duration_ms"],
                  d["user_sid"], d["created_at"])
        sql = self._sql("INSERT INTO audit_log (tool_name, arguments, result_preview, success, duration_ms,"
                        " user_sid, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        if self.kind == "sqlite":
            self.conn.execute("BEGIN")
            self.conn.execute(sql, values)
            self.conn.execute("COMMIT")
        else:
            self.conn.execute(sql, values)

    def insert_many(self, table: str, docs: list[dict[str, Any]]) -> None:
        cols = list(docs[0])
        sql = self._sql(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})")
        values = [tuple(int(v) if isinstance(v, bool) and self.kind == "sqlite" else v for v in d.values())
                  for d in docs]
        if self.kind == "sqlite":
            self.conn.execute("BEGIN")
            self.conn.executemany(sql, values)
            self.conn.execute("COMMIT")
        else:
            with self.conn.transaction(), self.conn.cursor() as cur:
                cur.executemany(sql, values)

    def analyze(self) -> None:
        self.conn.execute("ANALYZE")

    def close(self) -> None:
        self.conn.close()


# ----------------------------------------------------------------------------- measurement


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95


class Report:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, name: str, ours: list[float], raw: list[float] | None, target: str, unit: str = "ms",
            limit: float | None = None) -> None:
        om, op = summary(ours)
        row: dict[str, Any] = {"name": name, "unit": unit, "ours_median": om, "ours_p95": op, "target": target}
        if raw is not None:
            rm, rp = summary(raw)
            row.update(raw_median=rm, raw_p95=rp, ratio=om / rm if rm else float("inf"))
        if unit == "ms":
            ok = True
            if raw is not None and target.startswith("<="):
                ok = row["ratio"] <= float(target[2:].rstrip("x"))
            if limit is not None:
                ok = ok and om * 1000 <= limit
            row["ok"] = ok
        self.rows.append(row)
        self.print_row(row)

    def add_rate(self, name: str, ours: float, raw: float | None, target: float | None) -> None:
        row: dict[str, Any] = {"name": name, "unit": "rows/s", "ours": ours, "raw": raw}
        if raw:
            row["ratio"] = ours / raw
            if target is not None:
                row["target"] = f">={target}x"
                row["ok"] = row["ratio"] >= target
        self.rows.append(row)
        self.print_row(row)

    @staticmethod
    def print_row(row: dict[str, Any]) -> None:
        status = {True: "ok", False: "MISS", None: ""}[row.get("ok")]
        if row["unit"] == "rows/s":
            raw = f"{row['raw']:>10.0f}" if row.get("raw") else " " * 10
            ratio = f"{row['ratio']:6.2f}x" if "ratio" in row else " " * 7
            print(f"{row['name']:<36} {row['ours']:>10.0f} {raw} {ratio} {row.get('target', ''):>8} {status}")
        else:
            ms = lambda v: f"{v * 1000:8.2f}"  # noqa: E731
            raw = f"{ms(row['raw_median'])} {ms(row['raw_p95'])}" if "raw_median" in row else " " * 17
            ratio = f"{row['ratio']:6.2f}x" if "ratio" in row else " " * 7
            print(f"{row['name']:<36} {ms(row['ours_median'])} {ms(row['ours_p95'])} {raw} {ratio}"
                  f" {row['target']:>8} {status}", flush=True)


def compare(report: Report, name: str, ours: Callable[[], Any], raw: Callable[[], Any] | None,
            reps: int, target: str = "<=1.25x", limit: float | None = None,
            check: Callable[[Any, Any], None] | None = None) -> None:
    """Interleave calls so noise hits both sides alike; warm up first."""
    a = ours()
    b = raw() if raw else None
    if check is not None:
        check(a, b)
    ours_t: list[float] = []
    raw_t: list[float] = []
    for _ in range(reps):
        ours_t.append(timed(ours))
        if raw:
            raw_t.append(timed(raw))
    report.add(name, ours_t, raw_t if raw else None, target, limit=limit)


def same_count(a: Any, b: Any) -> None:
    if b is not None and len(a) != len(b):
        raise AssertionError(f"store returned {len(a)} rows, legacy SQL {len(b)}")


# ----------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="audit entries (default 1M)")
    ap.add_argument("--usage", type=int, default=200_000, help="usage entries (default 200k)")
    ap.add_argument("--memories", type=int, default=10_000, help="memories (default 10k)")
    ap.add_argument("--single", type=int, default=None,
                    help="audit rows ingested one per transaction (default min(rows, 100k)); the rest in batches")
    ap.add_argument("--batch", type=int, default=1000, help="rows per batched transaction")
    ap.add_argument("--reps", type=int, default=30, help="timed repetitions per query")
    ap.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--dsn", default=os.environ.get("OSIS_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--dir", default=None, help="directory for SQLite files (default: a temp dir, removed after)")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args()

    single = min(args.rows, 100_000) if args.single is None else min(args.single, args.rows)
    rng = random.Random(2026)
    t0 = time.perf_counter()
    audit = make_audit(args.rows, rng)
    usage = make_usage(args.usage, rng)
    memories = make_memories(args.memories, rng)
    print(f"generated data in {time.perf_counter() - t0:.1f}s: {len(audit)} audit, {len(usage)} usage,"
          f" {len(memories)} memories ({args.engine})", flush=True)

    workdir = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="osis-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    schema = f"osis_bench_{uuid.uuid4().hex[:8]}"
    if args.engine == "sqlite":
        for name in ("store.db", "legacy.db"):
            for suffix in ("", "-wal", "-shm"):
                (workdir / (name + suffix)).unlink(missing_ok=True)
        engine = open_engine(f"sqlite:///{workdir / 'store.db'}")
        raw = Raw("sqlite", str(workdir / "legacy.db"))
    else:
        import psycopg

        with psycopg.connect(args.dsn, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}_legacy")
        sep = "&" if "?" in args.dsn else "?"
        engine = open_engine(f"{args.dsn}{sep}schema={schema}")
        raw = Raw("postgres", f"{args.dsn}{sep}options=-csearch_path%3D{schema}_legacy")
    engine.open([AUDIT, USAGE, MEMORY])
    report = Report()
    try:
        run(args, engine, raw, report, audit, usage, memories, single)
    finally:
        engine.close()
        raw.close()
        if args.engine == "postgres":
            import psycopg

            with psycopg.connect(args.dsn, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                conn.execute(f"DROP SCHEMA IF EXISTS {schema}_legacy CASCADE")
        if not args.dir:
            shutil.rmtree(workdir, ignore_errors=True)
    misses = [r["name"] for r in report.rows if r.get("ok") is False]
    print(f"\n{len(report.rows)} measurements, {len(misses)} missed target" + (f": {', '.join(misses)}" if misses else ""))
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": report.rows}, indent=2))


def run(args: argparse.Namespace, engine: Engine, raw: Raw, report: Report, audit: list[dict[str, Any]],
        usage: list[dict[str, Any]], memories: list[dict[str, Any]], single: int) -> None:
    assert isinstance(engine, (SqliteEngine, PostgresEngine))
    print(f"\n{'measurement':<36} {'store':>8} {'p95':>8} {'legacy':>8} {'p95':>8} {'ratio':>7} {'target':>8}")
    print(f"{'':<36} {'(median, ms or rows/s)':<44}")

    # -- single-entry ingest, interleaved in chunks; search indexing on (drained off the clock)
    chunk = 2000
    ours_time = raw_time = index_time = 0.0
    for start in range(0, single, chunk):
        part = audit[start:start + chunk]
        ours_time += timed(lambda: [engine.insert("audit_entry", d) for d in part])
        index_time += timed(lambda: engine.index_search("audit_entry"))
        raw_time += timed(lambda: [raw.insert_audit(d) for d in part])
    report.add_rate(f"ingest single-entry ({single} rows)", single / ours_time, single / raw_time, 0.8)
    report.add_rate("  search indexing (batched, off-path)", single / index_time, None, None)
    report.add_rate("  amortised incl. indexing", single / (ours_time + index_time), single / raw_time, None)

    # -- batched ingest of the rest, interleaved
    ours_time = raw_time = index_time = 0.0
    rest = audit[single:]
    for start in range(0, len(rest), args.batch * 10):
        part = rest[start:start + args.batch * 10]
        batches = [part[i:i + args.batch] for i in range(0, len(part), args.batch)]
        ours_time += timed(lambda: [engine.insert_many("audit_entry", b) for b in batches])
        index_time += timed(lambda: engine.index_search("audit_entry"))
        raw_time += timed(lambda: [raw.insert_many("audit_log", b) for b in batches])
    if rest:
        report.add_rate(f"ingest batched x{args.batch} ({len(rest)} rows)", len(rest) / ours_time,
                        len(rest) / raw_time, 0.8)
        report.add_rate("  search indexing (batched, off-path)", len(rest) / index_time, None, None)
        report.add_rate("  amortised incl. indexing", len(rest) / (ours_time + index_time),
                        len(rest) / raw_time, None)
    for coll, table, docs in (("usage_entry", "usage_log", usage), ("memory", "memories", memories)):
        for i in range(0, len(docs), args.batch):
            engine.insert_many(coll, docs[i:i + args.batch])
            raw.insert_many(table, docs[i:i + args.batch])
    raw.analyze()
    engine.analyze()  # the background thread would too, after a load; do it now like the raw side
    if isinstance(engine, PostgresEngine):
        # VACUUM sets the visibility map, without which PostgreSQL's index-only scans
        # visit the heap: what autovacuum does in the background, done now for the
        # store's tables (search side tables included) as for the legacy ones.
        with engine._conn("bench") as conn:
            conn.execute("SET maintenance_work_mem = '256MB'")
            tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s",
                                                  (engine._schema,))]
            for table in tables:
                conn.execute(f'VACUUM "{engine._schema}"."{table}"')
        for table in ("audit_log", "usage_log", "memories"):
            raw.conn.execute(f"VACUUM ANALYZE {table}")
    print("-- queries (audit: %d rows, usage: %d, memories: %d)" % (len(audit), len(usage), len(memories)), flush=True)

    reps = args.reps
    a, u, m = "audit_entry", "usage_entry", "memory"
    compare(report, "audit recent 50",
            lambda: engine.find(a, Query(order_by="created_at", descending=True, limit=50)),
            lambda: raw.rows("SELECT * FROM audit_log ORDER BY created_at DESC LIMIT 50"), reps, check=same_count)
    for tool in (TOOLS[0], TOOLS[12]):
        compare(report, f"audit by tool recent 50 ({tool})",
                lambda: engine.find(a, Query(filters=[Cond("tool_name", "eq", tool)], order_by="created_at",
                                             descending=True, limit=50)),
                lambda: raw.rows("SELECT * FROM audit_log WHERE tool_name = ? ORDER BY created_at DESC LIMIT 50",
                                 (tool,)), reps, check=same_count)
    compare(report, "audit of a user recent 50",
            lambda: engine.find(a, Query(filters=[Cond("user_sid", "eq", "user07")], order_by="created_at",
                                         descending=True, limit=50)),
            lambda: raw.rows("SELECT * FROM audit_log WHERE user_sid = ? ORDER BY created_at DESC LIMIT 50",
                             ("user07",)), reps, check=same_count)
    for label, term in (("common", COMMON), ("rare", RARE), ("absent", ABSENT)):
        compare(report, f"audit substring {label} ({term})",
                lambda: engine.find(a, Query(search=term, order_by="created_at", descending=True, limit=50)),
                lambda: raw.rows("SELECT * FROM audit_log WHERE arguments LIKE ? OR result_preview LIKE ?"
                                 " ORDER BY created_at DESC LIMIT 50", (f"%{term}%", f"%{term}%"))
                if raw.kind == "sqlite" else
                raw.rows("SELECT * FROM audit_log WHERE arguments ILIKE ? OR result_preview ILIKE ?"
                         " ORDER BY created_at DESC LIMIT 50", (f"%{term}%", f"%{term}%")),
                # The legacy scan for an absent term takes seconds: fewer rounds there.
                max(5, reps // 3) if label == "absent" else reps,
                limit=10.0 if label == "rare" else None, check=same_count)
    fresh = make_audit(1000, random.Random(5))
    engine.insert_many(a, fresh)  # an unindexed tail, as right after a burst of writes
    compare(report, "  rare with 1000-row unindexed tail",
            lambda: engine.find(a, Query(search=RARE, order_by="created_at", descending=True, limit=50)),
            None, reps, target="", limit=10.0)
    engine.index_search(a)
    window = iso(START + 60 * 86400)
    compare(report, "usage by model",
            lambda: engine.aggregate(u, Aggregation(group_by=["model"], metrics=[
                Metric("count"), Metric("sum", "total_tokens")], order_by="sum_total_tokens")),
            lambda: raw.rows("SELECT model, count(*) AS count, sum(total_tokens) AS sum_total_tokens FROM usage_log"
                             " GROUP BY model ORDER BY sum_total_tokens DESC"), reps, check=same_count)
    compare(report, "usage by day (last 30 days)",
            lambda: engine.aggregate(u, Aggregation(group_by=[Day("created_at")], metrics=[
                Metric("count"), Metric("sum", "total_tokens")], filters=[Cond("created_at", "gte", window)])),
            lambda: raw.rows("SELECT substr(created_at, 1, 10) AS day, count(*) AS count, sum(total_tokens) AS t"
                             " FROM usage_log WHERE created_at >= ? GROUP BY day ORDER BY day", (window,)),
            reps, check=same_count)
    compare(report, "usage by user (top 10)",
            lambda: engine.aggregate(u, Aggregation(group_by=["user_sid"], metrics=[
                Metric("count"), Metric("sum", "total_tokens")], order_by="sum_total_tokens", limit=10)),
            lambda: raw.rows("SELECT user_sid, count(*) AS count, sum(total_tokens) AS sum_total_tokens"
                             " FROM usage_log GROUP BY user_sid ORDER BY sum_total_tokens DESC LIMIT 10"),
            reps, check=same_count)
    compare(report, "usage of a user by model (30 days)",
            lambda: engine.aggregate(u, Aggregation(group_by=["model"], metrics=[
                Metric("count"), Metric("sum", "total_tokens")],
                filters=[Cond("user_sid", "eq", "user07"), Cond("created_at", "gte", window)])),
            lambda: raw.rows("SELECT model, count(*) AS count, sum(total_tokens) AS t FROM usage_log"
                             " WHERE user_sid = ? AND created_at >= ? GROUP BY model ORDER BY model",
                             ("user07", window)), reps, check=same_count)
    compare(report, "memories by user+category",
            lambda: engine.find(m, Query(filters=[Cond("user_sid", "eq", "user07"), Cond("category", "eq", "fact")])),
            lambda: raw.rows("SELECT * FROM memories WHERE user_sid = ? AND category = ?", ("user07", "fact")),
            reps, check=same_count)
    compare(report, "memories by key",
            lambda: engine.find(m, Query(filters=[Cond("user_sid", "eq", "user07"), Cond("key", "eq", "key-42")])),
            lambda: raw.rows("SELECT * FROM memories WHERE user_sid = ? AND key = ?", ("user07", "key-42")),
            reps, check=same_count)
    compare(report, "memories top by confidence",
            lambda: engine.find(m, Query(filters=[Cond("user_sid", "eq", "user07")], order_by="confidence",
                                         descending=True, limit=10)),
            lambda: raw.rows("SELECT * FROM memories WHERE user_sid = ? ORDER BY confidence DESC LIMIT 10",
                             ("user07",)), reps, check=same_count)


if __name__ == "__main__":
    main()
