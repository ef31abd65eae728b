"""Correct client usage; ``mypy --strict`` must accept it (see test_typing.py).

``assert_type`` pins the inferred types, so a regression that widens a
return type to ``Any`` fails the check instead of passing silently.
"""

from __future__ import annotations

from typing import assert_type

from pydantic import TypeAdapter
from tests.rpc.rpc_testsvc import AddOutput, Note, NoteFilter

from osis.rpc import AsyncClient, AsyncCrud, Pending, RpcError, SyncClient, SyncCrud
from osis.rpc.params import Page

ADD: TypeAdapter[AddOutput] = TypeAdapter(AddOutput)


def sync_usage(client: SyncClient) -> None:
    notes = SyncCrud(client, "note", Note, NoteFilter)
    assert_type(notes, SyncCrud[Note, NoteFilter])
    assert_type(notes.new(Note(title="t")), Note)
    assert_type(notes.get("n1"), Note)
    assert_type(notes.set(Note(sid="n1", title="t")), Note)
    assert_type(notes.delete("n1"), None)
    assert_type(notes.list(), list[str])
    assert_type(notes.list_full(limit=10, offset=5), list[Note])
    assert_type(notes.exists("n1"), bool)
    assert_type(notes.find(NoteFilter(tag="a"), order_by="title", descending=True), list[Note])
    assert_type(notes.find(), list[Note])
    assert_type(notes.find_page(NoteFilter(), limit=5, cursor=None), Page[Note])
    assert_type(notes.count(NoteFilter(tag="a")), int)
    for note in notes.find_all(page_size=10):
        assert_type(note, Note)
    with client.batch() as batch:
        assert_type(notes.batch_new(batch, Note(title="t")), Pending[Note])
        assert_type(notes.batch_delete(batch, "a"), Pending[None])
    assert_type(client._call("add", {"input": {"a": 1, "b": 2}}, ADD), AddOutput)
    assert_type(client._call("reindex", None, None), None)

    with client.batch() as batch:
        total = batch.add("add", {"input": {"a": 1, "b": 2}}, ADD)
        deleted = batch.add("note.delete", {"sid": "n1"})
    assert_type(total, Pending[AddOutput])
    assert_type(total.result(), AddOutput)
    assert_type(deleted.result(), None)
    assert_type(total.error, Exception | None)
    try:
        notes.get("missing")
    except RpcError as exc:
        assert_type(exc.code, int)
        assert_type(exc.method, str | None)


async def async_usage(client: AsyncClient) -> None:
    notes = AsyncCrud(client, "note", Note, NoteFilter)
    assert_type(await notes.new(Note(title="t")), Note)
    assert_type(await notes.get("n1"), Note)
    assert_type(await notes.list(), list[str])
    assert_type(await notes.list_full(), list[Note])
    assert_type(await notes.exists("n1"), bool)
    assert_type(await notes.find(NoteFilter()), list[Note])
    assert_type(await notes.find_page(cursor="c"), Page[Note])
    assert_type(await notes.count(), int)
    async for note in notes.find_all():
        assert_type(note, Note)
    assert_type(await client._call("add", [{"a": 1, "b": 2}], ADD), AddOutput)
    async with client.batch() as batch:
        total = batch.add("add", {"input": {"a": 1, "b": 2}}, ADD)
    assert_type(total.result(), AddOutput)
