"""Fixtures for the JSON-RPC runtime tests.

HTTP tests talk to real servers: ``rpc_testsvc.py`` run in a subprocess via
``serve()``, once on a free TCP port of 127.0.0.1 and once on a unix socket.
The servers live for the whole session, so tests must not assume an empty
store: they create their own notes with unique titles.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from osis.rpc import AsyncInProcessTransport, Dispatcher, InProcessTransport, SyncClient
from tests.rpc import rpc_testsvc as svc
from tests.rpc.servers import start_testsvc
from tests.servers import Server, free_port


@pytest.fixture
def service() -> svc.NoteService:
    return svc.NoteService()


@pytest.fixture
def dispatcher(service: svc.NoteService) -> Dispatcher:
    return svc.make_dispatcher(service)


@pytest.fixture
def inprocess(dispatcher: Dispatcher) -> Iterator[InProcessTransport]:
    transport = InProcessTransport(dispatcher)
    yield transport
    transport.close()


@pytest.fixture
def async_inprocess(dispatcher: Dispatcher) -> AsyncInProcessTransport:
    return AsyncInProcessTransport(dispatcher)


@pytest.fixture
def sync_client(inprocess: InProcessTransport) -> Iterator[SyncClient]:
    client = SyncClient(transport=inprocess)
    yield client
    client.close()


@pytest.fixture(scope="session")
def tcp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_testsvc(tmp_path_factory.mktemp("tcp") / "server.log", port=free_port())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def unix_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("unix")
    server = start_testsvc(directory / "server.log", socket_path=str(directory / "notes.sock"))
    yield server
    server.stop()


@pytest.fixture(params=["tcp", "unix"])
def server(request: pytest.FixtureRequest) -> Server:
    """Each HTTP test runs once over TCP and once over the unix socket."""
    found: Server = request.getfixturevalue(f"{request.param}_server")
    return found
