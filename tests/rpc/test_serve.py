"""serve(): unix socket permissions and ownership, address conflicts, graceful shutdown."""

from __future__ import annotations

import os
import signal
import socket
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from osis.rpc import SyncClient
from osis.rpc.app import ServeError, create_app, serve
from tests.rpc import rpc_testsvc as svc
from tests.rpc.servers import start_testsvc
from tests.servers import Server


def app() -> Any:
    return create_app(svc.make_dispatcher(), service_name="notes")


def test_unix_socket_is_private(unix_server: Server) -> None:
    assert unix_server.socket is not None
    mode = os.stat(unix_server.socket).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600


def test_refuses_a_socket_another_server_listens_on(unix_server: Server) -> None:
    assert unix_server.socket is not None
    with pytest.raises(ServeError, match="another server is already listening on"):
        serve(app(), socket=unix_server.socket)
    # The running server was left alone.
    with SyncClient(socket=unix_server.socket) as client:
        assert isinstance(client._call("note.list", None, TypeAdapter(list[str])), list)


def test_refuses_to_replace_a_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "data.sock"
    path.write_text("precious")
    with pytest.raises(ServeError, match="exists and is not a socket"):
        serve(app(), socket=str(path))
    assert path.read_text() == "precious"


def test_refuses_a_tcp_port_in_use(tcp_server: Server) -> None:
    assert tcp_server.url is not None
    port = int(tcp_server.url.rsplit(":", 1)[1])
    with pytest.raises(ServeError, match=f"cannot listen on 127.0.0.1:{port}: Address already in use"):
        serve(app(), port=port)


def test_stale_socket_is_replaced_and_removed_on_shutdown(tmp_path: Path) -> None:
    path = str(tmp_path / "stale.sock")
    # A socket file nobody listens on, as a killed server leaves behind.
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(path)
    leftover.close()
    assert os.path.exists(path)

    server = start_testsvc(tmp_path / "server.log", socket_path=path)
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with SyncClient(socket=path) as client:
            assert client._call("add", {"input": {"a": 1, "b": 2}}, svc.ADD_OUTPUT).sum == 3
    finally:
        code = server.stop(signal.SIGTERM)
    assert code in (0, -signal.SIGTERM)
    assert not os.path.exists(path)


def test_graceful_shutdown_finishes_in_flight_calls(tmp_path: Path) -> None:
    path = str(tmp_path / "graceful.sock")
    server = start_testsvc(tmp_path / "server.log", socket_path=path)
    outcome: list[Any] = []
    started = threading.Event()

    def slow_call() -> None:
        with SyncClient(socket=path) as client:
            started.set()
            try:
                outcome.append(client._call("nap", {"input": {"seconds": 1.0}}, None))
            except Exception as exc:  # recorded for the assertion below
                outcome.append(exc)

    caller = threading.Thread(target=slow_call)
    caller.start()
    started.wait(5)
    # Give the request time to reach the server before asking it to stop.
    threading.Event().wait(0.3)
    server.process.send_signal(signal.SIGINT)
    caller.join(10)
    server.process.wait(10)
    assert outcome == [None], server.log_text()
    assert not os.path.exists(path)


def test_create_app_rejects_a_non_positive_body_limit() -> None:
    with pytest.raises(ValueError, match="max_body"):
        create_app(svc.make_dispatcher(), service_name="x", max_body=0)
