"""Disk full under the embedded store: writes fail with a clear "disk is full" error
(JSON-RPC UNAVAILABLE, REST 503), nothing already stored is damaged or changed, reads keep
working, and once space is freed writes work again, without restarting the server."""

from __future__ import annotations

import errno
import hashlib
import os
import random
import sqlite3
import sys
import time
from pathlib import Path

import httpx
import pytest
from osis_ai.client import AiClient

from osis.rpc.errors import Unavailable
from tests.servers import free_port, start_server
from tests.workload import Ack, audit_entry, missing_or_changed, usage_entry

TABLES = ("osis_agent_audit_entry", "osis_agent_usage_entry", "osis_agent_memory")
MEMORY = {"user_sid": "user1", "category": "fact", "key": "city", "value": "Ghent", "confidence": 0.9}


def fill_up(path: Path) -> None:
    """Take every free byte of the file system with one file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    finally:
        os.close(fd)


def digest(db: Path) -> str:
    """Everything stored, read through a read-only connection of our own."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        h = hashlib.sha256()
        for table in TABLES:
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY id"):
                h.update(repr(row).encode())
        return h.hexdigest()


def integrity(db: Path) -> str:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def test_disk_full_refuses_writes_clearly_and_damages_nothing(small_disk: Path, tmp_path: Path) -> None:
    db = small_disk / "osis.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "osis", "serve", "--store", f"sqlite:///{db}", "--listen", f"127.0.0.1:{port}"]
    server = start_server(argv, tmp_path / "serve.log", url=url)
    rng = random.Random(5)
    acks: list[Ack] = []
    try:
        with AiClient(url) as client, httpx.Client(base_url=url, timeout=30) as http:
            for i in range(100):
                made = client.agent_audit_entry.new(audit_entry(0, i, rng))
                acks.append(Ack("agent_audit_entry", made.sid, made.model_dump(mode="json")))
            fill_up(small_disk / "filler")

            # Writes go on until the store needs a byte more than it already has.
            full: Unavailable | None = None
            for i in range(100, 20_000):
                try:
                    if i % 2:
                        made_usage = client.agent_usage_entry.new(usage_entry(rng))
                        acks.append(Ack("agent_usage_entry", made_usage.sid, made_usage.model_dump(mode="json")))
                    else:
                        made = client.agent_audit_entry.new(audit_entry(0, i, rng))
                        acks.append(Ack("agent_audit_entry", made.sid, made.model_dump(mode="json")))
                except Unavailable as exc:
                    full = exc
                    break
            assert full is not None, "the disk never filled up"
            assert "disk is full" in full.message, full.message
            assert full.message.startswith("store unavailable: SQLite database"), full.message
            before = digest(db)

            # Every write is refused the same way, through either API ...
            for i in range(10):
                with pytest.raises(Unavailable, match="disk is full"):
                    client.agent_audit_entry.new(audit_entry(1, i, rng))
            refused = http.post("/api/memories", json=MEMORY)
            assert refused.status_code == 503, refused.text
            assert "disk is full" in refused.json()["error"]
            time.sleep(1.0)  # the background search indexer meets the full disk too
            # ... nothing stored changed or broke, and reads are served.
            assert digest(db) == before
            assert integrity(db) == "ok"
            assert missing_or_changed(client, acks) == []
            page = http.get("/api/audit", params={"limit": 5})
            assert page.status_code == 200 and page.json()["total"] == sum(
                a.collection == "agent_audit_entry" for a in acks)
            assert http.get("/api/dashboard").status_code == 200

            (small_disk / "filler").unlink()
            made = client.agent_audit_entry.new(audit_entry(2, 0, rng))
            acks.append(Ack("agent_audit_entry", made.sid, made.model_dump(mode="json")))
            assert http.post("/api/memories", json=MEMORY).status_code == 201
            assert missing_or_changed(client, acks) == []
        assert server.process.poll() is None
    finally:
        server.stop()
    assert integrity(db) == "ok"
    log = server.log_text()
    assert "Traceback" not in log, log[-3000:]
