"""End-to-end over real HTTP: uvicorn in a subprocess, on TCP and on a unix socket."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from pydantic import TypeAdapter

from osis.rpc import (
    AsyncClient,
    AsyncCrud,
    AsyncHttpTransport,
    Conflict,
    Forbidden,
    HttpTransport,
    InvalidParams,
    LimitExceeded,
    MethodNotFound,
    NotFound,
    NotImplementedRpc,
    RpcError,
    SyncClient,
    SyncCrud,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)
from tests.rpc import rpc_testsvc as svc
from tests.servers import Server

ADD = TypeAdapter(svc.AddOutput)


def unique() -> str:
    return uuid.uuid4().hex


def test_every_crud_verb_sync(server: Server) -> None:
    title, tag = unique(), unique()
    with SyncClient(**server.client_args) as client:
        notes = SyncCrud(client, "note", svc.Note, svc.NoteFilter)
        first = notes.new(svc.Note(title=title, tags=[tag], is_pinned=True))
        second = notes.new(svc.Note(sid=unique(), title=title + "2", tags=[tag]))
        assert first.sid and first.is_pinned and first.title == title
        assert notes.get(first.sid) == first
        assert notes.exists(second.sid) and not notes.exists(unique())
        assert {first.sid, second.sid} <= set(notes.list())
        assert len(notes.list_full(limit=2)) == 2
        assert notes.find(svc.NoteFilter(tag=tag), order_by="title", descending=True) == [second, first]
        assert notes.find(svc.NoteFilter(tag=tag), order_by="title", limit=1, offset=1) == [second]
        assert notes.set(first.model_copy(update={"body": "changed"})).body == "changed"
        notes.delete(first.sid)
        assert not notes.exists(first.sid)
        with pytest.raises(NotFound) as caught:
            notes.get(first.sid)
        assert caught.value.method == "note.get" and caught.value.data == {"sid": first.sid}


def test_every_crud_verb_async(server: Server) -> None:
    async def main() -> None:
        tag = unique()
        async with AsyncClient(**server.client_args) as client:
            notes = AsyncCrud(client, "note", svc.Note, svc.NoteFilter)
            created = await notes.new(svc.Note(title="async", tags=[tag]))
            assert await notes.get(created.sid) == created
            assert await notes.exists(created.sid)
            assert created.sid in await notes.list()
            assert len(await notes.list_full(limit=1)) == 1
            assert await notes.find(svc.NoteFilter(tag=tag)) == [created]
            assert (await notes.set(created.model_copy(update={"body": "x"}))).body == "x"
            await notes.delete(created.sid)
            with pytest.raises(NotFound):
                await notes.delete(created.sid)
            # Concurrent calls on one client each borrow their own connection.
            results = await asyncio.gather(
                *(client._call("add", {"input": {"a": i, "b": i}}, ADD) for i in range(20))
            )
            assert [r.sum for r in results] == [2 * i for i in range(20)]

    asyncio.run(main())


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (-32001, NotFound),
        (-32002, Conflict),
        (-32003, ValidationFailed),
        (-32004, Unauthorized),
        (-32005, Forbidden),
        (-32006, NotImplementedRpc),
        (-32007, Unavailable),
        (-32008, LimitExceeded),
    ],
)
def test_typed_application_errors(server: Server, code: int, cls: type[RpcError]) -> None:
    with SyncClient(**server.client_args) as client:
        with pytest.raises(cls) as caught:
            client._call("fail", {"input": {"code": code, "message": "why", "data": [1, "two"]}}, None)
    error = caught.value
    assert (error.code, error.message, error.data, error.method) == (code, "why", [1, "two"], "fail")


def test_protocol_errors_through_the_client(server: Server) -> None:
    with SyncClient(**server.client_args) as client:
        with pytest.raises(MethodNotFound):
            client._call("no.such.method", None, None)
        with pytest.raises(InvalidParams) as caught:
            client._call("note.get", {"sid": 5}, svc.NOTE)
        assert caught.value.data[0]["loc"] == ["sid"]
        with pytest.raises(NotImplementedRpc):
            client._call("purge", None, None)
        with pytest.raises(RpcError) as internal:
            client._call("fail", {"input": {"code": 0}}, None)
        assert internal.value.code == -32603 and internal.value.message == "internal error"
    log = server.log_text()
    assert "hunter2" in log and "Traceback" in log  # the details went to the server log


def test_batches_over_http(server: Server) -> None:
    with SyncClient(**server.client_args) as client:
        with client.batch() as batch:
            created = [batch.add("note.new", {"obj": svc.Note(title=f"b{i}")}, svc.NOTE) for i in range(50)]
            missing = batch.add("note.get", {"sid": unique()}, svc.NOTE)
            bad = batch.add("note.get", {"sid": None}, svc.NOTE)
            total = batch.add("add", {"input": {"a": 20, "b": 22}}, ADD)
        assert [h.result().title for h in created] == [f"b{i}" for i in range(50)]
        with pytest.raises(NotFound):
            missing.result()
        with pytest.raises(InvalidParams):
            bad.result()
        assert total.result().sum == 42
        too_big = client.batch()
        for _ in range(svc.MAX_BATCH + 1):
            too_big.add("note.list")
        with pytest.raises(LimitExceeded):
            too_big.send()


def test_async_batch_over_http(server: Server) -> None:
    async def main() -> None:
        async with AsyncClient(**server.client_args) as client:
            async with client.batch() as batch:
                total = batch.add("add", {"input": {"a": 1, "b": 2}}, ADD)
                missing = batch.add("note.get", {"sid": unique()}, svc.NOTE)
            assert total.result().sum == 3
            assert isinstance(missing.error, NotFound)

    asyncio.run(main())


def test_notifications_over_http(server: Server) -> None:
    tag = unique()
    transport = HttpTransport(**server.client_args)
    try:
        transport.notify("ping", {"input": {"tag": tag}})
        transport.notify("no.such.method", None)  # silently dropped by the server
    finally:
        transport.close()
    with server.http() as http:
        single = http.post(
            "/rpc", json={"jsonrpc": "2.0", "method": "ping", "params": {"input": {"tag": tag}}}
        )
        batch = http.post(
            "/rpc", json=[{"jsonrpc": "2.0", "method": "ping", "params": {"input": {"tag": tag}}}] * 3
        )
    assert (single.status_code, single.content) == (204, b"")
    assert (batch.status_code, batch.content) == (204, b"")


def test_oversized_body_gets_413_and_limit_exceeded(server: Server) -> None:
    huge = svc.Note(title="x" * (svc.MAX_BODY + 1))
    with SyncClient(**server.client_args) as client:
        with pytest.raises(LimitExceeded, match="at most 262144 bytes"):
            SyncCrud(client, "note", svc.Note, svc.NoteFilter).new(huge)
        # The client recovers: the next call uses a fresh connection.
        assert client._call("add", {"input": {"a": 1, "b": 1}}, ADD).sum == 2
    with server.http() as http:
        answer = http.post("/rpc", content=b"[" + b" " * svc.MAX_BODY + b"]")
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error"]["code"] == -32008 and answer.json()["id"] is None


def test_huge_body_is_refused_before_upload(server: Server) -> None:
    # Above 1 MiB the clients ask "Expect: 100-continue", so the 413 arrives
    # before the upload instead of a connection reset in the middle of it.
    params = {"input": {"a": 1, "b": 2, "pad": "x" * (3 * 1024 * 1024)}}
    transport = HttpTransport(**server.client_args)
    try:
        with pytest.raises(LimitExceeded):
            transport.call("add", params)
        assert transport.call("add", {"input": {"a": 1, "b": 2}}) == {"sum": 3}
    finally:
        transport.close()

    async def main() -> None:
        async with AsyncHttpTransport(**server.client_args) as async_transport:
            with pytest.raises(LimitExceeded):
                await async_transport.call("add", params)
            assert await async_transport.call("add", {"input": {"a": 1, "b": 2}}) == {"sum": 3}

    asyncio.run(main())


def raw_post(server: Server, body: bytes) -> tuple[int, Any]:
    with server.http() as http:
        answer = http.post("/rpc", content=body, headers={"content-type": "application/json"})
    assert answer.headers.get("content-type") == "application/json"
    return answer.status_code, answer.json()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]', -32700),
        (b'{"jsonrpc":"2.0","id":1,"method":"note.get","params":{"sid":"\xc3\x28"}}', -32700),
        (b"[]", -32600),
        (b'{"jsonrpc":"2.0","id":1,"method":"note.get","params":"n1"}', -32600),
        (b'{"jsonrpc":"2.0","id":1,"method":"note.get","params":[1, 2]}', -32602),
        (b'{"jsonrpc":"2.0","id":1,"method":"note.get","params":{"sid": []}}', -32602),
        (b'{"jsonrpc":"2.0","id":1,"method":"nope"}', -32601),
    ],
)
def test_wire_errors(server: Server, body: bytes, code: int) -> None:
    status, answer = raw_post(server, body)
    assert status == 200
    assert answer["jsonrpc"] == "2.0" and answer["error"]["code"] == code


def test_mixed_batch_on_the_wire(server: Server) -> None:
    body = json.dumps(
        [
            {"jsonrpc": "2.0", "id": 1, "method": "add", "params": {"input": {"a": 1, "b": 2}}},
            {"jsonrpc": "2.0", "method": "ping", "params": {"input": {"tag": "n"}}},
            {"jsonrpc": "2.0", "id": 2, "method": "nope"},
            5,
        ]
    ).encode()
    status, answer = raw_post(server, body)
    assert status == 200
    assert answer[0] == {"jsonrpc": "2.0", "id": 1, "result": {"sum": 3}}
    assert [a["error"]["code"] for a in answer[1:]] == [-32601, -32600]


def test_get_endpoints(server: Server) -> None:
    with server.http() as http:
        health = http.get("/health")
        openrpc = http.get("/openrpc.json")
        hero = http.get("/.well-known/heroservice.json")
        head = http.head("/health")
        missing = http.get("/nope")
        wrong_method = http.get("/rpc")
        post_health = http.post("/health")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert openrpc.status_code == 200 and openrpc.json() == svc.OPENRPC
    assert hero.json() == {
        "name": "notes",
        "protocol": "openrpc",
        "openrpc": "/openrpc.json",
        "rpc": "/rpc",
        "health": "/health",
    }
    assert head.status_code == 200 and head.content == b""
    assert (missing.status_code, missing.json()["error"]) == (404, "not found")
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
    assert post_health.status_code == 405 and post_health.headers["allow"] == "GET, HEAD"
    for answer in (health, openrpc, hero, missing, wrong_method):
        assert answer.headers["content-type"] == "application/json"


def test_discover_over_rpc(server: Server) -> None:
    with SyncClient(**server.client_args) as client:
        assert client._call("rpc.discover", None, TypeAdapter(dict[str, Any])) == svc.OPENRPC


def test_connections_are_kept_alive(server: Server) -> None:
    transport = HttpTransport(**server.client_args)
    try:
        for i in range(5):
            assert transport.call("add", {"input": {"a": i, "b": 0}}) == {"sum": i}
        assert len(transport._idle) == 1
        first = transport._idle[0]
        transport.call("note.list_full", {"limit": 1})
        assert transport._idle == [first]
    finally:
        transport.close()
    assert transport._idle == []
    with pytest.raises(RuntimeError, match="closed"):
        transport.call("add", {"input": {"a": 1, "b": 1}})


def test_large_responses(server: Server) -> None:
    with SyncClient(**server.client_args) as client:
        notes = SyncCrud(client, "note", svc.Note, svc.NoteFilter)
        with client.batch() as batch:
            for _ in range(svc.MAX_BATCH):
                batch.add("note.new", {"obj": svc.Note(title="y" * 1000)}, svc.NOTE)
        page = notes.list_full(limit=svc.MAX_BATCH)
        assert len(page) == svc.MAX_BATCH

    async def main() -> int:
        transport = AsyncHttpTransport(**server.client_args)
        try:
            return len(await transport.call("note.list_full", {"limit": svc.MAX_BATCH}))
        finally:
            await transport.close()

    assert asyncio.run(main()) == svc.MAX_BATCH
