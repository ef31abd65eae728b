"""Load benchmark of `osis serve`: eight clients writing and reading the dashboard, per engine.

For each engine, a fresh store is filled with `osis demo-data` (30 days of synthetic
activity, so the dashboard's queries have data to aggregate), `osis serve` is started as a
subprocess, and `--clients` client processes (the generated JSON-RPC client and httpx, over
HTTP) run the workload of `tests/workload.py` for `--seconds`: audit and usage entries
written through JSON-RPC, REST `/api/stats`, `/api/dashboard`, `/api/audit` and JSON-RPC
`stats` read. Printed per engine: calls per second, p50/p99 latency per operation, errors
(must be 0) and the server's resident memory after the warm-up and at the end (growth must
stay under 10 %).

Memory: the server's RSS is sampled once a second. The first `--warmup` seconds of load
(default: a sixth of the run, at most 10 s) let caches, connection pools and lazily built
models reach their working size; "start" is the RSS at the end of the warm-up, "end" the
RSS when the load stops. Throughput and latencies cover the whole run.

`--kill N` runs the fault scenario instead: `--clients` writer threads (writes only: the
most acknowledged writes at stake per kill) while the server is killed with SIGKILL N times
(every 0.5-1.5 s) and restarted on the same port; the newest writes acknowledged before
each kill are read back after the restart, every one once the load stops, and SQLite's
integrity check runs on the file.

    python bench/load.py [--seconds 60] [--clients 8] [--engines sqlite,postgres] [--kill N]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src"), str(ROOT / "generated")]

from osis_ai.client import AiClient  # noqa: E402

from tests.servers import Server, free_port, start_server  # noqa: E402
from tests.workload import (  # noqa: E402
    OPERATIONS,
    WRITES,
    ClientResult,
    ProcessLoad,
    ThreadedLoad,
    audit_entry,
    kill_repeatedly,
    missing_or_changed,
    percentile,
    rss_bytes,
    usage_entry,
)

MAX_RSS_GROWTH = 0.10
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def store(engine: str, dsn: str, workdir: Path) -> Iterator[str]:
    """A URL of an empty store of `engine`; a PostgreSQL schema is dropped afterwards."""
    if engine == "sqlite":
        yield f"sqlite:///{workdir}/osis.db"
        return
    import psycopg

    schema = f"osis_load_{uuid.uuid4().hex[:10]}"
    try:
        yield f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def serve(url: str, port: int, log: Path) -> Server:
    argv = [sys.executable, "-m", "osis", "serve", "--store", url, "--listen", f"127.0.0.1:{port}"]
    return start_server(argv, log, url=f"http://127.0.0.1:{port}")


def fill(url: str, days: int) -> None:
    subprocess.run([sys.executable, "-m", "osis", "demo-data", "--store", url, "--days", str(days)],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def prime(url: str, rows: int, batch_size: int = 500) -> float:
    """Write `rows` audit and usage entries (3:2) from 8 to 90 days ago through the server,
    in JSON-RPC batches; returns the seconds it took. The store then holds an agent's months
    of history (outside the dashboard's 7-day window, as in a long-running agent), and the
    server's write cache has filled as it does in a long-running server."""
    rng = random.Random(11)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    started = time.monotonic()
    with AiClient(url, timeout=300) as client:
        for start in range(0, rows, batch_size):
            batch = client.batch()
            for i in range(start, min(rows, start + batch_size)):
                when = now - timedelta(seconds=rng.randrange(8 * 86400, 90 * 86400))
                if i % 5 < 3:
                    entry = audit_entry(9, i, rng).model_copy(update={"created_at": when})
                    batch.add("agent_audit_entry.new", {"obj": entry})
                else:
                    usage = usage_entry(rng).model_copy(update={"created_at": when})
                    batch.add("agent_usage_entry.new", {"obj": usage})
            batch.send()
    return time.monotonic() - started


class RssSampler:
    """The server's RSS once a second, in a thread, until stopped."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.wait(1.0):
            self.samples.append((time.monotonic() - started, rss_bytes(self.pid)))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def report(engine: str, result: ClientResult, seconds: float, rss_start: int, rss_end: int,
           samples: list[tuple[float, int]]) -> bool:
    """Print the engine's table; True when errors are 0 and RSS growth is under the limit."""
    answered = sum(len(v) for v in result.latencies.values())
    print(f"\n{engine}: {answered:,} calls in {seconds:.1f} s = {answered / seconds:,.0f} calls/s; "
          f"writes {sum(len(result.latencies.get(op, [])) for op in WRITES) / seconds:,.0f}/s")
    print(f"| operation | calls | calls/s | p50 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for op in OPERATIONS:
        values = result.latencies.get(op, [])
        errors = len(result.errors.get(op, []))
        p50 = f"{statistics.median(values) * 1000:.1f}" if values else "-"
        p99 = f"{percentile(values, 0.99) * 1000:.1f}" if values else "-"
        print(f"| {op} | {len(values):,} | {len(values) / seconds:,.0f} | {p50} | {p99} | {errors} |")
    growth = (rss_end - rss_start) / rss_start
    peak = max([rss for _, rss in samples] + [rss_start, rss_end])
    print(f"server RSS: {rss_start / 2**20:.1f} MiB after warm-up, {rss_end / 2**20:.1f} MiB at the end "
          f"({growth:+.1%}; limit +{MAX_RSS_GROWTH:.0%}), peak {peak / 2**20:.1f} MiB")
    every = max(1, len(samples) // 8)
    print("server RSS over time: " + ", ".join(f"{t:.0f} s {rss / 2**20:.0f}" for t, rss in samples[::every]))
    for op, messages in result.errors.items():
        print(f"errors of {op}: {len(messages)}, first: {messages[0]}")
    if result.unanswered:
        print(f"unanswered calls (no HTTP answer at all): {result.unanswered}")
    return result.error_count == 0 and result.unanswered == 0 and growth < MAX_RSS_GROWTH


def run_load(engine: str, url: str, workdir: Path, args: argparse.Namespace) -> bool:
    fill(url, args.demo_days)
    server = serve(url, free_port(), workdir / f"serve-{engine}.log")
    try:
        if args.prime:
            took = prime(str(server.url), args.prime)
            print(f"\n{engine}: primed with {args.prime:,} entries in {took:.0f} s "
                  f"(server RSS {rss_bytes(server.process.pid) / 2**20:.1f} MiB)")
        warmup = args.warmup if args.warmup is not None else min(10.0, args.seconds / 6)
        started = time.monotonic()
        load = ProcessLoad(str(server.url), clients=args.clients, ops=args.ops)  # forks: before any thread starts here
        sampler = RssSampler(server.process.pid)
        time.sleep(warmup)
        rss_start = rss_bytes(server.process.pid)
        time.sleep(max(0.0, args.seconds - warmup))
        rss_end = rss_bytes(server.process.pid)
        result = load.stop()
        elapsed = time.monotonic() - started
        sampler.stop()
        return report(engine, result, elapsed, rss_start, rss_end, sampler.samples)
    finally:
        server.stop()


def run_kills(engine: str, url: str, workdir: Path, args: argparse.Namespace) -> bool:
    port = free_port()

    def start(round_: int) -> Server:
        return serve(url, port, workdir / f"serve-{engine}-{round_}.log")

    server = start(0)
    load = ThreadedLoad(str(server.url), clients=args.clients, ops=WRITES)
    started = time.monotonic()
    server, kills = kill_repeatedly(server, start, args.kill, str(server.url), random.Random(args.kill),
                                    acks=load.acks, uptime=(0.5, 1.5))
    result = load.stop()
    try:
        with AiClient(str(server.url)) as client:
            problems = kills.problems + missing_or_changed(client, result.acks)
    finally:
        server.stop()
    integrity = "n/a"
    if engine == "sqlite":
        with sqlite3.connect(str(workdir / "osis.db")) as db:
            integrity = str(db.execute("PRAGMA integrity_check").fetchone()[0])
    print(f"\n{engine}: {kills.kills} SIGKILLs in {time.monotonic() - started:.0f} s; "
          f"{len(result.acks):,} acknowledged writes, {len(problems)} lost or changed; "
          f"{result.unanswered:,} calls unanswered while the server was down; "
          f"errors {result.error_count}; integrity_check: {integrity}")
    for line in problems[:10]:
        print(f"  {line}")
    return not problems and result.error_count == 0 and integrity in ("ok", "n/a")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0, help="load duration per engine (default 60)")
    ap.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    ap.add_argument("--engines", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    ap.add_argument("--dsn", default=os.environ.get("OSIS_TEST_POSTGRES_DSN", DEFAULT_DSN),
                    help="PostgreSQL server to use (a fresh schema is created and dropped)")
    ap.add_argument("--warmup", type=float, default=None,
                    help="seconds of load before the start RSS is taken (default: seconds/6, at most 10)")
    ap.add_argument("--ops", type=lambda text: text.split(","), default=None, metavar="OP,OP",
                    help=f"only these operations (default all: {', '.join(OPERATIONS)})")
    ap.add_argument("--prime", type=int, default=100_000, metavar="ROWS",
                    help="entries written through the server in batches before the load (default 100000)")
    ap.add_argument("--demo-days", type=int, default=30, help="days of demo data in the store before the load")
    ap.add_argument("--kill", type=int, default=0, metavar="N",
                    help="instead: SIGKILL the server N times under load and check every acknowledged write")
    args = ap.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if args.ops and set(args.ops) - set(OPERATIONS):
        ap.error(f"--ops: unknown operation(s) {', '.join(sorted(set(args.ops) - set(OPERATIONS)))}")
    unknown = set(engines) - {"sqlite", "postgres"}
    if unknown:
        ap.error(f"--engines: unknown engine(s) {', '.join(sorted(unknown))}; use sqlite and/or postgres")
    mix = WRITES if args.kill else (args.ops or list(OPERATIONS))
    print(f"{args.clients} clients, {'%d kills' % args.kill if args.kill else '%g s' % args.seconds} per engine; "
          f"load average {os.getloadavg()[0]:.1f}; operations: " + ", ".join(mix))
    ok = True
    for engine in engines:
        with tempfile.TemporaryDirectory(prefix="osis-load-") as tmp, store(engine, args.dsn, Path(tmp)) as url:
            runner = run_kills if args.kill else run_load
            ok = runner(engine, url, Path(tmp), args) and ok
    print("\nPASS" if ok else "\nFAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
