"""`osis serve` as a process: it stores and answers through the generated client, survives
SIGKILL without losing acknowledged writes, shuts down gracefully and fails clearly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from osis_ai import models as m
from osis_ai.client import AiClient

from osis.rpc.errors import InvalidParams, TransportError
from tests.servers import Server, free_port, start_server
from tests.store.conftest import engine_kind, store_url  # noqa: F401 - the engine fixtures, shared


def serve(store: str, tmp: Path, *extra: str) -> Server:
    """`osis serve` on a free port of 127.0.0.1, healthy."""
    port = free_port()
    argv = [sys.executable, "-m", "osis", "serve", "--store", store, "--listen", f"127.0.0.1:{port}", *extra]
    return start_server(argv, tmp / f"serve-{port}.log", url=f"http://127.0.0.1:{port}")


@pytest.fixture
def server(store_url: str, tmp_path: Path) -> Iterator[Server]:
    srv = serve(store_url, tmp_path)
    yield srv
    srv.stop()


def _entry(i: int) -> m.AgentAuditEntry:
    return m.AgentAuditEntry(tool_name=f"tool{i % 3}", arguments=f'{{"i": {i}}}', result_preview="ok", success=True,
                             duration_ms=i, user_sid="u1", created_at=1_790_000_000 + i)


def test_serves_every_verb_through_the_generated_client(server: Server) -> None:
    with AiClient(str(server.url)) as client:
        made = client.agent_audit_entry.new(_entry(1))
        assert client.agent_audit_entry.get(made.sid) == made
        assert client.audit_search(m.AuditSearchInput(q='"i": 1')).total == 1
        assert client.stats(m.StatsInput()).tool_calls == 1
        with pytest.raises(InvalidParams) as bad:
            client._call("agent_audit_entry.find", {"filter": {"no_such_field": 1}}, None)
        assert "no_such_field" in str(bad.value.data)
        with pytest.raises(InvalidParams) as wrong_type:
            client._call("agent_audit_entry.find", {"filter": {"success": "perhaps"}}, None)
        assert "success" in str(wrong_type.value.data)
    assert httpx.get(f"{server.url}/openrpc.json", timeout=5).json()["info"]["title"] == "OSIS ai"


def test_sigkill_during_ingest_loses_no_acknowledged_write(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/osis.db"
    acknowledged: list[str] = []
    for round_ in range(3):
        srv = serve(store, tmp_path)
        stop = threading.Event()

        def ingest() -> None:
            with AiClient(str(srv.url), timeout=5) as client:
                i = 0
                while not stop.is_set():
                    try:
                        acknowledged.append(client.agent_audit_entry.new(_entry(round_ * 100_000 + i)).sid)
                    except TransportError:
                        return  # the server died mid-call: that write was never acknowledged
                    i += 1

        writer = threading.Thread(target=ingest)
        writer.start()
        time.sleep(1.0)
        srv.stop(signal.SIGKILL)
        stop.set()
        writer.join(10)
    srv = serve(store, tmp_path)
    try:
        with AiClient(str(srv.url)) as client:
            stored = set(client.agent_audit_entry.list())
        assert acknowledged, "the writer never got a write acknowledged"
        assert set(acknowledged) <= stored
    finally:
        srv.stop()


def test_sigterm_lets_in_flight_requests_finish(tmp_path: Path) -> None:
    srv = serve(f"sqlite:///{tmp_path}/osis.db", tmp_path)
    results: list[int] = []
    size = 1000

    def batch_write() -> None:
        with AiClient(str(srv.url), timeout=30) as client:
            batch = client.batch()
            pending = [client.agent_audit_entry.batch_new(batch, _entry(i)) for i in range(size)]
            batch.send()
            results.append(sum(1 for p in pending if p.result().sid))

    writer = threading.Thread(target=batch_write)
    with AiClient(str(srv.url), timeout=30) as watcher:
        writer.start()
        # Signal only once the batch is seen half-done, so the request is surely in flight.
        deadline = time.monotonic() + 30
        while not 0 < (stored := watcher.agent_audit_entry.count()) < size:
            assert stored < size, "the batch finished before it was seen in flight; make it larger"
            assert time.monotonic() < deadline, "the batch never started"
            time.sleep(0.002)
    assert srv.stop(signal.SIGTERM) == 0
    writer.join(30)
    # The in-flight request completed and was answered before the server exited.
    assert results == [size]
    srv2 = serve(f"sqlite:///{tmp_path}/osis.db", tmp_path)
    try:
        with AiClient(str(srv2.url)) as client:
            assert client.agent_audit_entry.count() == size
    finally:
        srv2.stop()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--store", "nosuch://x"], "unsupported store URL scheme"),
        (["--store", "postgresql://nobody@127.0.0.1:1/x"], "cannot connect"),
        (["--store", "sqlite:////proc/forbidden/osis.db"], "osis: error:"),
        (["--listen", "nonsense"], "--listen must be HOST:PORT"),
    ],
)
def test_bad_configuration_is_one_clear_line(args: list[str], message: str, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "osis", "serve", *args], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "osis", "serve", "--store", f"sqlite:///{tmp_path}/x.db", "--listen", f"127.0.0.1:{port}"],
            capture_output=True, text=True, timeout=60,
        )
    assert proc.returncode == 2
    assert "cannot listen" in proc.stderr and "Traceback" not in proc.stderr


def test_unix_socket_serving(tmp_path: Path) -> None:
    path = str(tmp_path / "osis.sock")
    argv = [sys.executable, "-m", "osis", "serve", "--store", f"sqlite:///{tmp_path}/osis.db", "--socket", path]
    srv = start_server(argv, tmp_path / "serve.log", socket_path=path)
    try:
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"
        with AiClient(socket=path) as client:
            assert client.agent_memory.list() == []
    finally:
        srv.stop()
