"""`/api/memories`: what the agent remembers about its users, listed, created, read,
replaced and deleted.

A user has at most one memory per key (`20_memory.oschema`); creating or renaming a
memory onto a key the user already has is a 409. The check and the write are two calls,
so two simultaneous writers of the same key can still both succeed: the check keeps the
common mistake out, not a determined race.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse
from osis_ai import models as m
from osis_ai.client import AsyncAiClient
from pydantic import BaseModel, ConfigDict, Field

from osis.auth.principal import scoped_owner
from osis.rpc.errors import Conflict, InvalidParams, NotFound
from osis.scalars import OTime

from .client import Osis
from .errors import BAD_BODY, COMMON_RESPONSES, CONFLICT, NOT_FOUND
from .params import (
    DEFAULT_LIMIT,
    BodyText,
    Limit,
    Offset,
    ShortText,
    UserFilter,
    blank_to_none,
    text_query,
    utc_now,
)

router = APIRouter(prefix="/api/memories", tags=["memories"], responses=COMMON_RESPONSES)

Sid = Annotated[str, Path(description="The memory's sid.", max_length=64)]


class MemoryWrite(BaseModel):
    """A memory as a client sends it. The server keeps `sid`, `created_at` and
    `updated_at`: they are accepted (so a fetched memory can be sent back as it is) and
    ignored, except that a `sid` must match the path."""

    model_config = ConfigDict(extra="forbid")

    user_sid: ShortText
    category: m.MemoryCategory
    key: ShortText = Field(description='Short stable handle, e.g. "home_city"; one per user.')
    value: BodyText
    source: ShortText | None = Field(
        default=None, description='Where it came from: a conversation sid, a tool, "user".'
    )
    # Strict: `true` or "0.5" for a number is a client bug, not something to coerce.
    confidence: float = Field(strict=True, ge=0.0, le=1.0, description="How sure the agent is, 0.0 .. 1.0.")
    access_count: int | None = Field(
        default=None, strict=True, ge=0, le=2**32 - 1,
        description="Times recalled; 0 when creating, kept when replacing if absent.",
    )
    tags: list[ShortText] = Field(default_factory=list, max_length=100)
    sid: str | None = Field(default=None, json_schema_extra={"readOnly": True})
    created_at: OTime | None = Field(default=None, json_schema_extra={"readOnly": True})
    updated_at: OTime | None = Field(default=None, json_schema_extra={"readOnly": True})


def _stored(body: MemoryWrite, *, sid: str, access_count: int, created_at: datetime) -> m.AgentMemory:
    fields = body.model_dump(exclude={"sid", "created_at", "updated_at", "access_count"})
    return m.AgentMemory(**fields, sid=sid, access_count=access_count, created_at=created_at, updated_at=utc_now())


def _as_caller(body: MemoryWrite) -> MemoryWrite:
    """The body with the caller's user when a user token calls: OSIS stamps that user on
    the memory anyway, and the key check below must look at the memories it will clash with."""
    owner = scoped_owner()
    return body if owner is None else body.model_copy(update={"user_sid": owner})


async def _ensure_key_free(osis: AsyncAiClient, body: MemoryWrite, sid: str | None) -> None:
    taken = await osis.memory_search(m.MemorySearchInput(user_sid=body.user_sid, key=body.key, limit=2))
    clash = next((x for x in taken.items if x.sid != sid), None)
    if clash is not None:
        raise Conflict(f"user {body.user_sid!r} already has a memory with key {body.key!r} (sid {clash.sid})")


async def _get(osis: AsyncAiClient, sid: str) -> m.AgentMemory:
    try:
        return await osis.agent_memory.get(sid)
    except InvalidParams:
        # A sid that cannot exist (wrong length or characters) names no memory either.
        raise NotFound(f"AgentMemory {sid!r} not found") from None


@router.get("", response_model=m.MemorySearchOutput, operation_id="list_memories", summary="List memories")
async def list_memories(
    osis: Osis,
    user_sid: UserFilter = None,
    category: Annotated[m.MemoryCategory | None, Query(description="Only this kind of memory.")] = None,
    key: Annotated[str | None, text_query("Only memories with this key.")] = None,
    order_by: Annotated[m.MemoryOrder, Query(description="Sort key.")] = m.MemoryOrder.CONFIDENCE,
    descending: Annotated[bool, Query(description="Highest first (default) or lowest first.")] = True,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> m.MemorySearchOutput:
    """Memories matching every given filter, ordered by `order_by`, a page at a time, with
    the number of all matches in `total`."""
    return await osis.memory_search(
        m.MemorySearchInput(
            user_sid=blank_to_none(user_sid),
            category=category,
            key=blank_to_none(key),
            order_by=order_by,
            descending=descending,
            limit=limit,
            offset=offset,
        )
    )


@router.post(
    "",
    status_code=201,
    response_model=m.AgentMemory,
    operation_id="create_memory",
    summary="Create a memory",
    responses={**BAD_BODY, **CONFLICT},
)
async def create_memory(osis: Osis, body: MemoryWrite) -> JSONResponse:
    """Store a new memory; the server assigns `sid`, `created_at` and `updated_at` and
    answers with the stored memory and its `Location`."""
    body = _as_caller(body)
    await _ensure_key_free(osis, body, None)
    now = utc_now()
    draft = _stored(body, sid="", access_count=body.access_count or 0, created_at=now)
    stored = await osis.agent_memory.new(draft)
    return JSONResponse(
        stored.model_dump(mode="json"), status_code=201, headers={"Location": f"/api/memories/{stored.sid}"}
    )


@router.get(
    "/{sid}", response_model=m.AgentMemory, operation_id="get_memory", summary="Read a memory", responses=NOT_FOUND
)
async def get_memory(osis: Osis, sid: Sid) -> m.AgentMemory:
    return await _get(osis, sid)


@router.put(
    "/{sid}",
    response_model=m.AgentMemory,
    operation_id="replace_memory",
    summary="Replace a memory",
    responses={**BAD_BODY, **NOT_FOUND, **CONFLICT},
)
async def replace_memory(osis: Osis, sid: Sid, body: MemoryWrite) -> m.AgentMemory:
    """Replace a memory's fields as a whole; `created_at` is kept, `updated_at` becomes
    now, and `access_count` is kept unless given."""
    if body.sid is not None and body.sid != sid:
        raise InvalidParams(f"the body's sid {body.sid!r} does not match the path's {sid!r}",
                            data={"field": "sid", "in": "body"})
    body = _as_caller(body)
    current = await _get(osis, sid)
    if (body.user_sid, body.key) != (current.user_sid, current.key):
        await _ensure_key_free(osis, body, sid)
    count = current.access_count if body.access_count is None else body.access_count
    return await osis.agent_memory.set(_stored(body, sid=sid, access_count=count, created_at=current.created_at))


@router.delete(
    "/{sid}",
    status_code=204,
    response_class=Response,
    operation_id="delete_memory",
    summary="Delete a memory",
    responses={**NOT_FOUND, 204: {"description": "Deleted."}},
)
async def delete_memory(osis: Osis, sid: Sid) -> Response:
    try:
        await osis.agent_memory.delete(sid)
    except InvalidParams:
        raise NotFound(f"AgentMemory {sid!r} not found") from None
    return Response(status_code=204)

