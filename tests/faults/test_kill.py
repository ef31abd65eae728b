"""SIGKILL under load: `osis serve` killed 20 times while eight clients write and read
loses no acknowledged write and reopens cleanly every time, on both engines.

`bench/load.py --kill 100` runs the same scenario a hundred times per engine.
"""

from __future__ import annotations

import random
import sqlite3
import sys
from pathlib import Path

from osis_ai.client import AiClient

from tests.servers import Server, free_port, start_server
from tests.store.conftest import engine_kind, store_url  # noqa: F401 - the engine fixtures, shared
from tests.workload import ThreadedLoad, kill_repeatedly, missing_or_changed

KILLS = 20
CLIENTS = 8


def test_sigkill_under_load_loses_no_acknowledged_write(store_url: str, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def start(round_: int) -> Server:
        argv = [sys.executable, "-m", "osis", "serve", "--store", store_url, "--listen", f"127.0.0.1:{port}"]
        return start_server(argv, tmp_path / f"serve-{round_}.log", url=url)

    server = start(0)
    load = ThreadedLoad(url, clients=CLIENTS)
    try:
        server, report = kill_repeatedly(server, start, KILLS, url, random.Random(7), acks=load.acks)
    finally:
        result = load.stop()
    try:
        assert report.kills == KILLS
        assert report.problems == []
        assert result.errors == {}, "the load got error answers"
        assert len(result.acks) > 20 * KILLS, "too few writes were acknowledged to mean anything"
        with AiClient(url) as client:
            assert missing_or_changed(client, result.acks) == []
            stored = len(client.agent_audit_entry.list()) + len(client.agent_usage_entry.list())
        # A write cut off by a kill may or may not have landed; none may have vanished.
        assert stored >= len(result.acks)
    finally:
        server.stop()
    if store_url.startswith("sqlite:"):
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
