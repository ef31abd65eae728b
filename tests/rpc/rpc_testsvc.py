"""A small hand-written OSIS service for the runtime tests.

It plays the part of generated code: a ``Note`` root type served through
:func:`crud_routes` by an in-memory implementation, plus a few service
methods that exercise the error paths.  ``python -m tests.rpc.rpc_testsvc
--port N`` (or ``--socket PATH``) serves it over HTTP: that is how the HTTP
tests start a real server in a subprocess.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from osis.rpc.app import create_app, serve
from osis.rpc.dispatch import Dispatcher, Route, crud_routes
from osis.rpc.errors import Conflict, NotFound, ValidationFailed, error_for_code
from osis.rpc.params import InputParams, NoParams


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    sid: str = ""
    title: str
    body: str = ""
    tags: list[str] = Field(default_factory=list)
    # An aliased field proves aliases are used on the wire in both directions.
    is_pinned: bool = Field(default=False, alias="isPinned")
    due: datetime | None = None


class NoteFilter(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    title: str | None = None
    tag: str | None = None
    is_pinned: bool | None = Field(default=None, alias="isPinned")


class AddInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    a: int
    b: int


class AddOutput(BaseModel):
    sum: int


class FailInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: int  # 0 means "raise a plain Python exception"
    message: str = "failed on purpose"
    data: Any = None


class PingInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tag: str


class NapInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(ge=0, le=5)


class NoteService:
    """In-memory implementation of the CRUD handlers and service methods."""

    def __init__(self) -> None:
        self.notes: dict[str, Note] = {}
        self.pings: list[str] = []
        self._ids = itertools.count(1)

    async def note_new(self, obj: Note) -> Note:
        if obj.sid and obj.sid in self.notes:
            raise Conflict(f"a note with sid {obj.sid!r} already exists", data={"sid": obj.sid})
        stored = obj.model_copy(update={"sid": obj.sid or f"n{next(self._ids)}"})
        self.notes[stored.sid] = stored
        return stored

    async def note_get(self, sid: str) -> Note:
        try:
            return self.notes[sid]
        except KeyError:
            raise NotFound(f"no note with sid {sid!r}", data={"sid": sid}) from None

    async def note_set(self, obj: Note) -> Note:
        if obj.sid not in self.notes:
            raise NotFound(f"no note with sid {obj.sid!r}", data={"sid": obj.sid})
        self.notes[obj.sid] = obj
        return obj

    async def note_delete(self, sid: str) -> None:
        if self.notes.pop(sid, None) is None:
            raise NotFound(f"no note with sid {sid!r}", data={"sid": sid})

    async def note_list(self) -> list[str]:
        return list(self.notes)

    async def note_list_full(self, limit: int, offset: int) -> list[Note]:
        return list(self.notes.values())[offset : offset + limit]

    async def note_exists(self, sid: str) -> bool:
        return sid in self.notes

    async def note_find(
        self, filter: NoteFilter | None, order_by: str | None, descending: bool, limit: int, offset: int
    ) -> list[Note]:
        found = list(self.notes.values())
        if filter is not None:
            if filter.title is not None:
                found = [n for n in found if n.title == filter.title]
            if filter.tag is not None:
                found = [n for n in found if filter.tag in n.tags]
            if filter.is_pinned is not None:
                found = [n for n in found if n.is_pinned == filter.is_pinned]
        if order_by is not None:
            if order_by not in Note.model_fields:
                raise ValidationFailed(f"cannot order notes by {order_by!r}")
            found.sort(key=lambda n: getattr(n, order_by), reverse=descending)
        return found[offset : offset + limit]

    async def add(self, input: AddInput) -> AddOutput:
        return AddOutput(sum=input.a + input.b)

    async def reindex(self) -> None:
        raise NotImplementedError

    # "purge" is routed but deliberately has no handler here.

    async def fail(self, input: FailInput) -> None:
        if input.code == 0:
            raise RuntimeError("database password is hunter2")  # must never reach the client
        raise error_for_code(input.code, input.message, input.data)

    async def ping(self, input: PingInput) -> None:
        self.pings.append(input.tag)

    async def nap(self, input: NapInput) -> None:
        await asyncio.sleep(input.seconds)  # a slow call, for graceful-shutdown tests

    async def bad_result(self) -> object:
        return object()  # not an AddOutput: serialising it must fail


ADD_OUTPUT: TypeAdapter[AddOutput] = TypeAdapter(AddOutput)
NOTE: TypeAdapter[Note] = TypeAdapter(Note)

ROUTES: dict[str, Route] = {
    **crud_routes("note", Note, NoteFilter),
    "add": Route("add", "add", InputParams[AddInput], ADD_OUTPUT, "Add two integers."),
    "reindex": Route(
        "reindex", "reindex", NoParams, None, "Declared, implementation raises NotImplementedError."
    ),
    "purge": Route("purge", "purge", NoParams, None, "Declared, no handler on the service."),
    "fail": Route("fail", "fail", InputParams[FailInput], None, "Raise the error with the given code."),
    "ping": Route("ping", "ping", InputParams[PingInput], None, "Record a tag (used as a notification)."),
    "nap": Route("nap", "nap", InputParams[NapInput], None, "Sleep, then answer null."),
    "bad_result": Route("bad_result", "bad_result", NoParams, ADD_OUTPUT, "Returns an unserialisable value."),
}

OPENRPC: dict[str, Any] = {
    "openrpc": "1.3.2",
    "info": {"title": "notes", "version": "0.1.0"},
    "methods": [{"name": name, "params": [], "description": r.description} for name, r in ROUTES.items()],
}

#: Small enough for tests to exceed cheaply.
MAX_BATCH = 100
MAX_BODY = 256 * 1024


def make_dispatcher(service: NoteService | None = None) -> Dispatcher:
    return Dispatcher(service or NoteService(), ROUTES, openrpc=OPENRPC, max_batch=MAX_BATCH)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the test Note service.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", type=int)
    where.add_argument("--socket")
    args = parser.parse_args()
    app = create_app(make_dispatcher(), service_name="notes", openrpc=OPENRPC, max_body=MAX_BODY)
    if args.socket:
        serve(app, socket=args.socket, log_level="warning")
    else:
        serve(app, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
