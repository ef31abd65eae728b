"""Clients, CRUD accessors and batches over the in-process transports."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timezone
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from osis.rpc import (
    AsyncClient,
    AsyncCrud,
    AsyncInProcessTransport,
    Conflict,
    Dispatcher,
    InProcessTransport,
    InvalidParams,
    LimitExceeded,
    MethodNotFound,
    NotFound,
    NotImplementedRpc,
    RpcError,
    SyncClient,
    SyncCrud,
    ValidationFailed,
)
from tests.rpc import rpc_testsvc as svc

ADD = TypeAdapter(svc.AddOutput)


def test_every_crud_verb_sync(sync_client: SyncClient, service: svc.NoteService) -> None:
    notes = SyncCrud(sync_client, "note", svc.Note, svc.NoteFilter)
    due = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    first = notes.new(svc.Note(title="first", tags=["a"], is_pinned=True, due=due))
    second = notes.new(svc.Note(sid="custom", title="second", tags=["b"]))
    assert isinstance(first, svc.Note) and first.sid == "n1" and first.due == due and first.is_pinned
    assert second.sid == "custom"
    assert notes.get("n1") == first
    assert notes.exists("custom") is True and notes.exists("zzz") is False
    assert notes.list() == ["n1", "custom"]
    assert notes.list_full() == [first, second]
    assert notes.list_full(limit=1, offset=1) == [second]
    changed = notes.set(first.model_copy(update={"title": "changed"}))
    assert changed.title == "changed" and service.notes["n1"].title == "changed"
    assert notes.find(svc.NoteFilter(tag="b")) == [second]
    assert [n.sid for n in notes.find(order_by="title")] == ["n1", "custom"]
    assert [n.sid for n in notes.find(order_by="title", descending=True, limit=1)] == ["custom"]
    assert notes.find(svc.NoteFilter(is_pinned=True), offset=1) == []
    assert notes.delete("n1") is None
    assert notes.list() == ["custom"]


def test_crud_calls_queued_in_a_batch_are_typed_and_run_in_order(sync_client: SyncClient) -> None:
    notes = SyncCrud(sync_client, "note", svc.Note, svc.NoteFilter)
    with sync_client.batch() as batch:
        made = notes.batch_new(batch, svc.Note(sid="b1", title="one"))
        changed = notes.batch_set(batch, svc.Note(sid="b1", title="two"))
        read = notes.batch_get(batch, "b1")
        gone = notes.batch_delete(batch, "b1")
        missing = notes.batch_get(batch, "b1")
    assert made.result().title == "one" and changed.result().title == "two"
    assert isinstance(read.result(), svc.Note) and read.result().title == "two"
    assert gone.result() is None
    with pytest.raises(NotFound):
        missing.result()


def test_find_sends_only_the_filter_fields_that_were_set(sync_client: SyncClient) -> None:
    sent: list[Any] = []
    transport = sync_client.transport
    original = transport.call

    def spy(method: str, params: Any) -> Any:
        sent.append(params)
        return original(method, params)

    transport.call = spy  # type: ignore[method-assign]
    SyncCrud(sync_client, "note", svc.Note, svc.NoteFilter).find(svc.NoteFilter(is_pinned=False))
    assert sent == [
        {"filter": {"isPinned": False}, "order_by": None, "descending": False, "limit": 100, "offset": 0}
    ]


def test_typed_errors_from_crud(sync_client: SyncClient) -> None:
    notes = SyncCrud(sync_client, "note", svc.Note, svc.NoteFilter)
    with pytest.raises(NotFound) as missing:
        notes.get("nope")
    assert missing.value.method == "note.get"
    assert missing.value.code == -32001
    assert missing.value.data == {"sid": "nope"}
    notes.new(svc.Note(sid="x", title="x"))
    with pytest.raises(Conflict) as taken:
        notes.new(svc.Note(sid="x", title="again"))
    assert taken.value.method == "note.new" and taken.value.data == {"sid": "x"}
    with pytest.raises(ValidationFailed, match="cannot order notes by 'colour'"):
        notes.find(order_by="colour")
    with pytest.raises(InvalidParams) as bad_limit:
        notes.list_full(limit=-1)
    assert bad_limit.value.data[0]["loc"] == ["limit"]
    with pytest.raises(NotFound):
        notes.delete("nope")


def test_service_methods_and_unimplemented_ones(sync_client: SyncClient) -> None:
    assert sync_client._call("add", {"input": svc.AddInput(a=1, b=2)}, ADD) == svc.AddOutput(sum=3)
    assert sync_client._call("add", [{"a": 5, "b": 5}], ADD).sum == 10
    with pytest.raises(NotImplementedRpc) as caught:
        sync_client._call("reindex", None, None)
    assert caught.value.method == "reindex" and caught.value.code == -32006
    with pytest.raises(MethodNotFound):
        sync_client._call("no.such", None, None)


def test_client_validates_results(sync_client: SyncClient) -> None:
    # "add" answers {"sum": 3}; asking for a Note must fail loudly.
    with pytest.raises(ValidationError):
        sync_client._call("add", {"input": {"a": 1, "b": 2}}, svc.NOTE)


def test_notification_in_process(sync_client: SyncClient, service: svc.NoteService) -> None:
    sync_client._notify("ping", {"input": {"tag": "t"}})
    sync_client._notify("no.such.method", None)  # errors of notifications are dropped
    assert service.pings == ["t"]


def test_params_are_copied_not_shared(sync_client: SyncClient, service: svc.NoteService) -> None:
    note = svc.Note(sid="s", title="t", tags=["a"])
    SyncCrud(sync_client, "note", svc.Note, svc.NoteFilter).new(note)
    note.tags.append("mutated after the call")
    assert service.notes["s"].tags == ["a"]


def test_sync_batch(sync_client: SyncClient, service: svc.NoteService) -> None:
    with sync_client.batch() as batch:
        created = batch.add("note.new", {"obj": svc.Note(title="a")}, svc.NOTE)
        total = batch.add("add", {"input": {"a": 1, "b": 1}}, ADD)
        missing = batch.add("note.get", {"sid": "zzz"}, svc.NOTE)
        invalid = batch.add("note.get", {"sid": 1}, svc.NOTE)
        deleted = batch.add("note.delete", {"sid": "n1"})
        assert len(batch) == 5 and not created.done
    assert created.result().title == "a"
    assert total.result() == svc.AddOutput(sum=1 + 1)
    assert deleted.result() is None and deleted.error is None
    with pytest.raises(NotFound) as caught:
        missing.result()
    assert caught.value.method == "note.get" and missing.error is caught.value
    with pytest.raises(InvalidParams):
        invalid.result()
    assert service.notes == {}  # created, then deleted in the same batch


def test_batch_handles_before_sending_and_reuse(sync_client: SyncClient) -> None:
    batch = sync_client.batch()
    handle = batch.add("note.list", None, TypeAdapter(list[str]))
    with pytest.raises(RuntimeError, match="has not been sent"):
        handle.result()
    with pytest.raises(RuntimeError, match="has not been sent"):
        _ = handle.error
    batch.send()
    assert handle.result() == []
    with pytest.raises(RuntimeError, match="already sent"):
        batch.add("note.list")
    with pytest.raises(RuntimeError, match="already sent"):
        batch.send()
    sync_client.batch().send()  # an empty batch sends nothing and is fine


def test_batch_is_discarded_when_the_block_raises(sync_client: SyncClient, service: svc.NoteService) -> None:
    with pytest.raises(KeyError):
        with sync_client.batch() as batch:
            handle = batch.add("note.new", {"obj": svc.Note(title="a")}, svc.NOTE)
            raise KeyError("abort")
    assert not handle.done and service.notes == {}


def test_oversized_batch_fails_every_handle(sync_client: SyncClient, service: svc.NoteService) -> None:
    batch = sync_client.batch()
    handles = [
        batch.add("note.new", {"obj": svc.Note(title="a")}, svc.NOTE) for _ in range(svc.MAX_BATCH + 1)
    ]
    with pytest.raises(LimitExceeded):
        batch.send()
    assert all(isinstance(h.error, LimitExceeded) for h in handles)
    assert service.notes == {}


def test_client_needs_exactly_one_target(inprocess: InProcessTransport) -> None:
    with pytest.raises(ValueError, match=r"exactly one of url=, socket= or transport=$"):
        SyncClient()
    with pytest.raises(ValueError, match=r"\(got url, transport\)"):
        SyncClient("http://127.0.0.1:1", transport=inprocess)
    with pytest.raises(ValueError, match=r"\(got url, socket\)"):
        AsyncClient("http://127.0.0.1:1", socket="/tmp/x.sock")
    with pytest.raises(ValueError, match="unsupported URL"):
        SyncClient("https://example.invalid")
    with pytest.raises(ValueError, match="invalid port"):
        SyncClient("http://127.0.0.1:99999")
    with pytest.raises(ValueError, match="identifier"):
        SyncCrud(SyncClient(transport=inprocess), "no-dash", svc.Note, svc.NoteFilter)


def test_sync_client_works_inside_a_running_event_loop(dispatcher: Dispatcher) -> None:
    async def main() -> str:
        # A blocking call from async code: the transport must not try to
        # run the dispatcher on this (busy) loop.
        with SyncClient(transport=InProcessTransport(dispatcher)) as client:
            return SyncCrud(client, "note", svc.Note, svc.NoteFilter).new(svc.Note(title="x")).sid

    assert asyncio.run(main()) == "n1"


def test_sync_transport_is_usable_from_many_threads(
    sync_client: SyncClient, service: svc.NoteService
) -> None:
    notes = SyncCrud(sync_client, "note", svc.Note, svc.NoteFilter)
    threads = [
        threading.Thread(target=lambda: [notes.new(svc.Note(title="t")) for _ in range(20)]) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(service.notes) == 80


def test_reentrant_blocking_call_is_refused_not_deadlocked() -> None:
    class Service:
        transport: InProcessTransport

        async def outer(self) -> None:
            self.transport.call("inner", None)

        async def inner(self) -> None:
            pass

    service = Service()
    routes = {name: svc.Route(name, name, svc.NoParams, None) for name in ("outer", "inner")}
    transport = InProcessTransport(Dispatcher(service, routes))
    service.transport = transport
    try:
        with pytest.raises(RpcError) as caught:  # the RuntimeError becomes an internal error
            transport.call("outer", None)
        assert caught.value.code == -32603
    finally:
        transport.close()
    with pytest.raises(RuntimeError, match="closed"):
        transport.call("inner", None)


def test_non_serialisable_params_give_a_clear_error(sync_client: SyncClient) -> None:
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        sync_client._call("add", {"input": object()}, ADD)
    with pytest.raises(TypeError, match="must be a mapping, a sequence or None"):
        sync_client._call("add", "a,b", ADD)  # type: ignore[arg-type]


# -- async ----------------------------------------------------------------------------------


def test_every_crud_verb_async(async_inprocess: AsyncInProcessTransport, service: svc.NoteService) -> None:
    async def main() -> None:
        async with AsyncClient(transport=async_inprocess) as client:
            notes = AsyncCrud(client, "note", svc.Note, svc.NoteFilter)
            first = await notes.new(svc.Note(title="first", tags=["a"]))
            second = await notes.new(svc.Note(title="second", is_pinned=True))
            assert (first.sid, second.sid) == ("n1", "n2")
            assert await notes.get("n2") == second
            assert await notes.exists("n1") is True
            assert await notes.exists("n9") is False
            assert await notes.list() == ["n1", "n2"]
            assert await notes.list_full(limit=1) == [first]
            assert (await notes.set(first.model_copy(update={"body": "b"}))).body == "b"
            assert await notes.find(svc.NoteFilter(is_pinned=True)) == [second]
            assert [n.sid for n in await notes.find(order_by="title", descending=True)] == ["n2", "n1"]
            await notes.delete("n1")
            with pytest.raises(NotFound) as caught:
                await notes.get("n1")
            assert caught.value.method == "note.get"
            assert await client._call("add", {"input": {"a": 2, "b": 3}}, ADD) == svc.AddOutput(sum=5)
            await client._notify("ping", {"input": {"tag": "async"}})

    asyncio.run(main())
    assert list(service.notes) == ["n2"] and service.pings == ["async"]


def test_async_batch(async_inprocess: AsyncInProcessTransport) -> None:
    async def main() -> None:
        client = AsyncClient(transport=async_inprocess)
        async with client.batch() as batch:
            created = batch.add("note.new", {"obj": {"title": "a"}}, svc.NOTE)
            missing = batch.add("note.get", {"sid": "zzz"}, svc.NOTE)
            unimplemented = batch.add("purge")
        assert created.result().sid == "n1"
        with pytest.raises(NotFound):
            missing.result()
        with pytest.raises(NotImplementedRpc):
            unimplemented.result()
        batch = client.batch()
        batch.add("note.list")
        await batch.send()
        with pytest.raises(RuntimeError, match="already sent"):
            await batch.send()
        await client.close()

    asyncio.run(main())
