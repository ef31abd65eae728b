"""Client misuse that ``mypy --strict`` must reject (see test_typing.py).

Each line that must fail ends with a comment marker (an at-sign, the word
error and a colon) followed by a fragment of the expected mypy message.  ``fmt: off`` keeps a formatter from
splitting a line and so moving its marker away from the error.
"""

# fmt: off

from __future__ import annotations

from pydantic import TypeAdapter

from osis.rpc import AsyncClient, AsyncCrud, SyncClient, SyncCrud
from tests.rpc.rpc_testsvc import AddOutput, Note, NoteFilter


def sync_misuse(client: SyncClient) -> None:
    notes = SyncCrud(client, "note", Note, NoteFilter)
    notes.new(NoteFilter(tag="a"))  # @error: "new" of "SyncCrud" has incompatible type "NoteFilter"; expected "Note"
    notes.set(AddOutput(sum=1))  # @error: "set" of "SyncCrud" has incompatible type "AddOutput"; expected "Note"
    notes.find(Note(title="t"))  # @error: incompatible type "Note"; expected "NoteFilter | None"
    notes.get(42)  # @error: "get" of "SyncCrud" has incompatible type "int"; expected "str"
    notes.list_full(10)  # @error: Too many positional arguments for "list_full"
    title: str = notes.get("n1")  # @error: (expression has type "Note", variable has type "str")
    total: Note = client._call("add", None, TypeAdapter(AddOutput))  # @error: has type "AddOutput", variable has type "Note"
    SyncCrud(client, "note", Note, "NoteFilter")  # @error: Argument 4 to "SyncCrud" has incompatible type "str"
    with client.batch() as batch:
        pending = batch.add("add", None, TypeAdapter(AddOutput))
    wrong: Note = pending.result()  # @error: (expression has type "AddOutput", variable has type "Note")
    SyncClient(url=5)  # @error: Argument "url" to "SyncClient" has incompatible type "int"
    del title, total, wrong


async def async_misuse(client: AsyncClient) -> None:
    notes = AsyncCrud(client, "note", Note, NoteFilter)
    notes.get("n1").title  # @error: "Coroutine[Any, Any, Note]" has no attribute "title"
    await notes.new(AddOutput(sum=1))  # @error: "new" of "AsyncCrud" has incompatible type "AddOutput"
    SyncCrud(client, "note", Note, NoteFilter)  # @error: incompatible type "AsyncClient"; expected "SyncClient"
