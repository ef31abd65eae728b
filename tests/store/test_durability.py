"""Concurrency and crash safety: no lost increments, no lost acknowledged writes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from osis.store import Cond, Engine, Query, open_engine
from osis.store.sqlite import SqliteEngine

from .conftest import AUDIT

WRITER = Path(__file__).with_name("writer_process.py")
REPO = Path(__file__).resolve().parents[2]


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.Popen(
        [sys.executable, str(WRITER), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def test_concurrent_increments_from_threads_are_never_lost(audit_engine: Engine) -> None:
    sid = audit_engine.insert("audit", {"attempt": 0, "duration_ms": 0})["sid"]
    threads, per_thread = 8, 40
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(per_thread):
                audit_engine.increment("audit", sid, "attempt")
                audit_engine.increment("audit", sid, "duration_ms", 2, set_fields={"level": "high"})
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    def read() -> None:
        try:
            for _ in range(per_thread):
                doc = audit_engine.get("audit", sid)
                assert doc is not None and doc["duration_ms"] >= 0
                audit_engine.find("audit", Query(filters=[Cond("attempt", "gte", 0)], limit=5))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)] + [threading.Thread(target=read) for _ in range(2)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert not errors, errors
    doc = audit_engine.get("audit", sid)
    assert doc is not None
    assert doc["attempt"] == threads * per_thread and doc["duration_ms"] == 2 * threads * per_thread
    assert audit_engine.count("audit", Query(filters=[Cond("attempt", "eq", threads * per_thread)])) == 1


def test_concurrent_inserts_get_distinct_sids(audit_engine: Engine) -> None:
    results: list[list[str]] = []

    def work(n: int) -> None:
        results.append([audit_engine.insert("audit", {"attempt": n})["sid"] for _ in range(30)])

    workers = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    sids = [s for r in results for s in r]
    assert len(set(sids)) == 180 and sorted(audit_engine.list_sids("audit")) == sorted(sids)


def test_concurrent_increments_from_processes_are_never_lost(audit_engine: Engine, store_url: str) -> None:
    sid = audit_engine.insert("audit", {"attempt": 0})["sid"]
    children = [_spawn(store_url, AUDIT.to_json(), "increment", sid, "60") for _ in range(3)]
    for _ in range(60):
        audit_engine.increment("audit", sid, "attempt")
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0 and out.strip() == "done", err
    doc = audit_engine.get("audit", sid)
    assert doc is not None and doc["attempt"] == 240


def test_sigkill_during_ingest_loses_no_acknowledged_write(make_engine: Callable[..., Engine], store_url: str) -> None:
    make_engine([AUDIT]).close()  # create the layout first so the child only writes
    rng = random.Random()
    acknowledged: list[str] = []
    for _ in range(2):
        child = _spawn(store_url, AUDIT.to_json(), "ingest")
        assert child.stdout is not None
        target = len(acknowledged) + rng.randint(150, 400)
        deadline = time.monotonic() + 120
        while len(acknowledged) < target and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            acknowledged.append(line.strip())
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert len(acknowledged) >= target, child.stderr.read() if child.stderr else ""
        # A line may have been half-written when the kill landed; every complete one counts.
        acknowledged = [s for s in acknowledged if len(s) >= 4]
    engine = make_engine([AUDIT])
    stored = set(engine.list_sids("audit"))
    assert set(acknowledged) <= stored
    docs = [d for d in engine.get_many("audit", acknowledged)]
    assert all(d is not None and d["arguments"].startswith("crash-row") for d in docs)
    if isinstance(engine, SqliteEngine):
        import sqlite3

        with sqlite3.connect(engine.path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # FTS5 compares the index with every content row, so catch up first; it raises
        # "database disk image is malformed" if any entry is missing or stale.
        assert engine.count("audit", Query(search="MARKER")) == len(stored)
        engine.index_search()
        with sqlite3.connect(engine.path) as conn:
            conn.execute("INSERT INTO osis_audit__fts(osis_audit__fts, rank) VALUES ('integrity-check', 1)")
    # The search index (whatever state the kill left it in) still finds every row exactly once.
    assert engine.count("audit", Query(search="MARKER")) == len(stored)
    assert len(engine.find("audit", Query(search="crash-row"))) == len(stored)
    assert engine.insert("audit", {"arguments": "after"})["sid"] not in stored
    engine.close()
    assert open_engine(store_url) is not None
