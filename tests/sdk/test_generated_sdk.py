"""The generated SDK end to end: client -> transport -> server route table -> service.

Every CRUD verb and service method of the kitchen fixture domain, through the generated
sync and async clients, over the in-process transport, TCP on 127.0.0.1 and a unix
socket (a real uvicorn server in a subprocess).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from oschema_gen.rpc import CRUD_VERBS
import pytest

from oschema_gen.cli import main as oschema_gen
from osis.rpc.errors import InvalidParams, MethodNotFound, NotFound, NotImplementedRpc, TransportError
from osis.rpc.transport import AsyncInProcessTransport, InProcessTransport
from tests.conftest import FIXTURES
from tests.sdk.memory_impl import make_service
from tests.servers import free_port, start_server

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def kitchen_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("kitchen")
    assert oschema_gen(["generate", str(FIXTURES / "kitchen"), "--out", str(out)]) == 0
    sys.path.insert(0, str(out))
    yield out
    sys.path.remove(str(out))
    for name in [m for m in sys.modules if m == "osis_kitchen" or m.startswith("osis_kitchen.")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def kitchen(kitchen_out: Path) -> ModuleType:
    package = importlib.import_module("osis_kitchen")
    importlib.import_module("osis_kitchen.server")
    importlib.import_module("osis_kitchen.client")
    return package


@pytest.fixture(scope="module")
def tcp_url(kitchen_out: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, str(HERE / "kitchen_server.py"), str(kitchen_out), "--port", str(port)]
    server = start_server(argv, tmp_path_factory.mktemp("tcp") / "server.log", url=url)
    yield url
    server.stop()


@pytest.fixture(scope="module")
def socket_path(kitchen_out: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("uds")
    path = str(tmp / "osis.sock")
    argv = [sys.executable, str(HERE / "kitchen_server.py"), str(kitchen_out), "--socket", path]
    server = start_server(argv, tmp / "server.log", socket_path=path)
    yield path
    server.stop()


def _client(kitchen: ModuleType, how: str, request: pytest.FixtureRequest) -> Any:
    Client = kitchen.client.KitchenClient
    if how == "inprocess":
        dispatcher = kitchen.server.KitchenDispatcher(make_service(kitchen))
        return Client(transport=InProcessTransport(dispatcher))
    if how == "tcp":
        return Client(request.getfixturevalue("tcp_url"))
    return Client(socket=request.getfixturevalue("socket_path"))


def _gadget(kitchen: ModuleType, name: str, **extra: Any) -> Any:
    values: dict[str, Any] = dict(
        name=name, colour="blue", weight_grams=120, price=9.5, ratio=0.5, serial=2**64 - 1, delta=-128,
        offset=7, small_count=1, big_count=-(2**63), plain_int=10**30, enabled=True,
        bought_at="2026-01-02T03:04:05Z", owner_sid="u1", class_="k", json_="{}", copy_=False, notes="",
        labels={"a": "b"}, parts=[{"label": "lid", "by_size": {"x": ["small"]}}],
    )
    values.update(extra)
    return kitchen.models.Gadget(**values)


@pytest.mark.parametrize("how", ["inprocess", "tcp", "socket"])
def test_every_crud_verb_and_service_method(kitchen: ModuleType, how: str, request: pytest.FixtureRequest) -> None:
    models = kitchen.models
    with _client(kitchen, how, request) as client:
        tag = f"{how}-{time.monotonic_ns()}"
        a = client.gadget.new(_gadget(kitchen, f"{tag}-a", price=1.0))
        b = client.gadget.new(_gadget(kitchen, f"{tag}-b", price=5.0, colour="green"))
        assert len(a.sid) >= 4 and a.sid != b.sid
        assert a.model_dump(exclude={"sid"}) == _gadget(kitchen, f"{tag}-a", price=1.0).model_dump(exclude={"sid"})
        assert client.gadget.get(a.sid) == a
        assert client.gadget.exists(a.sid) is True
        assert client.gadget.exists("zzzzzz") is False
        changed = client.gadget.set(a.model_copy(update={"price": 2.0}))
        assert client.gadget.get(a.sid).price == 2.0 == changed.price
        assert {a.sid, b.sid} <= set(client.gadget.list())
        full = client.gadget.list_full(limit=1000)
        assert {a.sid, b.sid} <= {g.sid for g in full}
        assert len(client.gadget.list_full(limit=1)) == 1
        found = client.gadget.find(models.GadgetFilter(name_in=[f"{tag}-a", f"{tag}-b"], price_gte=2.0), order_by="price", descending=True)
        assert [g.sid for g in found] == [b.sid, a.sid]
        assert [g.sid for g in client.gadget.find(models.GadgetFilter(name=f"{tag}-b"))] == [b.sid]
        count = client.count_gadgets(models.CountInput(colour="green"))
        assert isinstance(count, models.CountOutput) and count.count >= 1
        drawer = client.drawer.new(models.Drawer(position=3, gadget_sids=[a.sid]))
        assert client.drawer.find(models.DrawerFilter(position_lt=4))[0].sid == drawer.sid
        client.gadget.delete(a.sid)
        with pytest.raises(NotFound) as missing:
            client.gadget.get(a.sid)
        assert missing.value.method == "gadget.get" and missing.value.code == -32001
        with pytest.raises(NotFound):
            client.gadget.delete(a.sid)
        with pytest.raises(NotImplementedRpc) as unimplemented:
            client.ping()
        assert "ping" in unimplemented.value.message
        with pytest.raises(InvalidParams) as bad_order:
            client.gadget.find(order_by="ratio")  # not an indexed field
        assert bad_order.value.code == -32602


@pytest.mark.parametrize("how", ["inprocess", "tcp", "socket"])
def test_batch_sends_many_calls_in_one_request(kitchen: ModuleType, how: str, request: pytest.FixtureRequest) -> None:
    with _client(kitchen, how, request) as client:
        crud = client.gadget
        batch = client.batch()
        pending = [crud.batch_new(batch, _gadget(kitchen, f"batch-{i}")) for i in range(20)]
        missing = crud.batch_get(batch, "nope")
        batch.send()
        sids = {p.result().sid for p in pending}
        assert len(sids) == 20
        with pytest.raises(NotFound):
            missing.result()


def test_async_client_in_process(kitchen: ModuleType) -> None:
    dispatcher = kitchen.server.KitchenDispatcher(make_service(kitchen))

    async def scenario() -> None:
        async with kitchen.client.AsyncKitchenClient(transport=AsyncInProcessTransport(dispatcher)) as client:
            made = await client.gadget.new(_gadget(kitchen, "async"))
            assert (await client.gadget.get(made.sid)).name == "async"
            assert (await client.count_gadgets(kitchen.models.CountInput(colour="blue"))).count == 1
            assert [g.sid for g in await client.gadget.find(kitchen.models.GadgetFilter(enabled=True))] == [made.sid]
            with pytest.raises(NotImplementedRpc):
                await client.ping()

    asyncio.run(scenario())


def test_async_client_over_tcp(kitchen: ModuleType, tcp_url: str) -> None:
    async def scenario() -> None:
        async with kitchen.client.AsyncKitchenClient(tcp_url) as client:
            made = await client.gadget.new(_gadget(kitchen, "async-tcp"))
            assert await client.gadget.exists(made.sid)

    asyncio.run(scenario())


def test_server_validates_params_with_the_generated_models(kitchen: ModuleType, tcp_url: str) -> None:
    def rpc(method: str, params: Any) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        return httpx.post(f"{tcp_url}/rpc", json=body, timeout=10).json()

    bad_filter = rpc("gadget.find", {"filter": {"colour": "purple"}})
    assert bad_filter["error"]["code"] == -32602
    assert "colour" in str(bad_filter["error"]["data"])
    unknown_member = rpc("gadget.find", {"filter": {"no_such_field": 1}})
    assert unknown_member["error"]["code"] == -32602
    out_of_range = rpc("gadget.new", {"obj": _gadget(kitchen, "x").model_dump(mode="json") | {"delta": 128}})
    assert out_of_range["error"]["code"] == -32602
    assert rpc("gadget.nope", {})["error"]["code"] == -32601
    missing_input = rpc("count_gadgets", {})
    assert missing_input["error"]["code"] == -32602


def test_discovery_endpoints(kitchen: ModuleType, tcp_url: str) -> None:
    doc = httpx.get(f"{tcp_url}/openrpc.json", timeout=10).json()
    assert doc == kitchen.server.openrpc_document()
    discovered = httpx.post(f"{tcp_url}/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "rpc.discover"}, timeout=10).json()
    assert discovered["result"] == doc
    names = {m["name"] for m in doc["methods"]}
    assert {f"gadget.{v}" for v in CRUD_VERBS} | {f"drawer.{v}" for v in CRUD_VERBS} | {"count_gadgets", "ping"} == names
    assert names == set(kitchen.server.ROUTES)
    hero = httpx.get(f"{tcp_url}/.well-known/heroservice.json", timeout=10).json()
    assert hero["name"] == "kitchen" and hero["rpc"] == "/rpc"


def test_unix_socket_is_private(socket_path: str) -> None:
    assert stat.S_IMODE(os.stat(socket_path).st_mode) == 0o600


def test_unreachable_server_raises_transport_error(kitchen: ModuleType, tmp_path: Path) -> None:
    with kitchen.client.KitchenClient(socket=str(tmp_path / "none.sock"), timeout=2) as client:
        with pytest.raises(TransportError):
            client.gadget.list()
    with pytest.raises(MethodNotFound):
        dispatcher = kitchen.server.KitchenDispatcher(make_service(kitchen))
        kitchen.client.KitchenClient(transport=InProcessTransport(dispatcher))._call("nope", {}, None)
