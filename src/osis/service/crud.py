"""The CRUD verbs of every root object, implemented once on a store engine.

`crud_service(base, binding)` derives a subclass of a generated service base (e.g.
`AiService`) whose `<type>_<verb>` methods talk to the engine, for every root object of
the binding. Engine calls block, so they run in worker threads: the event loop keeps
serving other requests meanwhile.

Root objects with an `@owner` field are scoped to the caller (see `osis.auth`): a user
token finds, counts and lists only objects whose owner field is its user, `new` stamps
that user, and an object of someone else is answered exactly like a missing one, for
every verb, so that sids (which are sequential and guessable) reveal nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from osis.auth.principal import scoped_owner
from osis.binding import DomainBinding, RootBinding
from osis.rpc.errors import InvalidParams, NotFound
from osis.rpc.limits import MAX_PAGE_CEILING
from osis.rpc.params import Page
from osis.store.engine import Engine
from osis.store.query import OPS, Cond, Query
from osis.store.sid import sid_to_key

from .errors import store_errors

T = TypeVar("T")
S = TypeVar("S")

_RANGE_SUFFIXES = tuple(f"_{op}" for op in OPS if op != "eq")


def filter_conditions(root: RootBinding, flt: BaseModel | None) -> list[Cond]:
    """The generated filter's set members as store conditions (`f_gte` -> Cond(f, "gte", v))."""
    if flt is None:
        return []
    values = flt.model_dump(mode="json", by_alias=True, exclude_unset=True)
    conds: list[Cond] = []
    indexed = {f.name for f in root.spec.indexed}
    for member, value in values.items():
        if member in indexed:
            conds.append(Cond(member, "eq", value))
            continue
        for suffix in _RANGE_SUFFIXES:
            if member.endswith(suffix) and member[: -len(suffix)] in indexed:
                conds.append(Cond(member[: -len(suffix)], suffix[1:], value))  # type: ignore[arg-type]
                break
    return conds


def owner_conditions(root: RootBinding) -> list[Cond]:
    """The condition confining a query to the caller's objects (none for admins, or without auth)."""
    field = root.spec.owner
    owner = scoped_owner() if field is not None else None
    return [] if field is None or owner is None else [Cond(field, "eq", owner)]


def check_owner_indexed(root: RootBinding) -> None:
    """Scoping filters on the owner field, so it must be queryable."""
    owner = root.spec.owner
    if owner is not None and owner not in {f.name for f in root.spec.indexed}:
        raise ValueError(f"{root.name}: the @owner field {owner!r} must also be @index for access control")


class StoreBacked:
    """State shared by store-backed services: the engine, the domain binding and the
    largest page (`limit`) one call may ask for."""

    def __init__(self, engine: Engine, binding: DomainBinding, *, max_page: int = MAX_PAGE_CEILING) -> None:
        if not 1 <= max_page <= MAX_PAGE_CEILING:
            raise ValueError(f"max_page must be between 1 and {MAX_PAGE_CEILING}, got {max_page}")
        self.engine = engine
        self.binding = binding
        self.max_page = max_page

    def check_page(self, limit: int) -> None:
        """Refuse a page larger than this server serves, naming the parameter."""
        if limit > self.max_page:
            raise InvalidParams(f"invalid params: limit must be at most {self.max_page}, got {limit}",
                                data={"field": "limit"})

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking engine call in a worker thread, with store errors mapped to RPC errors."""

        def call() -> T:
            with store_errors():
                return fn(*args, **kwargs)

        return await asyncio.to_thread(call)


def _verbs(root: RootBinding) -> dict[str, Callable[..., Any]]:
    coll, model, owner_field = root.snake, root.model, root.spec.owner
    page_model = Page[model]  # type: ignore[valid-type]

    def load(doc: dict[str, Any]) -> Any:
        return model.model_validate(doc)

    def missing(sid: str) -> NotFound:
        return NotFound(f"{root.name} {sid!r} not found", data={"type": root.name, "sid": sid})

    def visible(doc: dict[str, Any] | None, owner: str | None) -> bool:
        return doc is not None and (owner is None or doc.get(owner_field or "") == owner)

    def scope() -> str | None:
        return scoped_owner() if owner_field else None

    def where(filter: BaseModel | None) -> list[Cond]:
        """The caller's filter, confined to the caller's objects."""
        return filter_conditions(root, filter) + owner_conditions(root)

    def stamp(doc: dict[str, Any], owner: str) -> None:
        assert owner_field is not None  # scope() is None otherwise
        doc[owner_field] = owner

    async def owned(self: StoreBacked, sid: str, owner: str | None) -> bool:
        # Check, then act: only an admin changing the object's owner in between could
        # make the action land on an object that is no longer the caller's.
        return visible(await self.run(self.engine.get, coll, sid), owner)

    async def new(self: StoreBacked, obj: BaseModel) -> Any:
        doc = obj.model_dump(mode="json", by_alias=True)
        if (owner := scope()) is not None:
            stamp(doc, owner)
        return load(await self.run(self.engine.insert, coll, doc))

    async def get(self: StoreBacked, sid: str) -> Any:
        doc = await self.run(self.engine.get, coll, sid)
        if not visible(doc, scope()):
            raise missing(sid)
        assert doc is not None
        return load(doc)

    async def set_(self: StoreBacked, obj: BaseModel) -> Any:
        doc = obj.model_dump(mode="json", by_alias=True)
        sid = doc.get("sid", "")
        if (owner := scope()) is not None:
            if not await owned(self, sid, owner):
                raise missing(sid)
            stamp(doc, owner)  # an object cannot be handed to another user
        if not await self.run(self.engine.replace, coll, doc):
            raise missing(sid)
        return load(doc)

    async def delete(self: StoreBacked, sid: str) -> None:
        owner = scope()
        if (owner is not None and not await owned(self, sid, owner)) or not await self.run(
            self.engine.delete, coll, sid
        ):
            raise missing(sid)

    async def list_(self: StoreBacked) -> list[str]:
        if scope() is None:
            return await self.run(self.engine.list_sids, coll)
        docs = await self.run(self.engine.find, coll, Query(filters=owner_conditions(root)))
        return sorted((d["sid"] for d in docs), key=sid_to_key)

    async def list_full(self: StoreBacked, limit: int, offset: int) -> list[Any]:
        self.check_page(limit)
        query = Query(filters=owner_conditions(root), limit=limit, offset=offset)
        return [load(d) for d in await self.run(self.engine.find, coll, query)]

    async def exists(self: StoreBacked, sid: str) -> bool:
        if (owner := scope()) is not None:
            return await owned(self, sid, owner)
        return await self.run(self.engine.exists, coll, sid)

    async def find(
        self: StoreBacked, filter: BaseModel | None, order_by: str | None, descending: bool, limit: int, offset: int
    ) -> list[Any]:
        self.check_page(limit)
        query = Query(
            filters=where(filter),
            order_by=order_by,
            descending=descending,
            limit=limit,
            offset=offset,
        )
        return [load(d) for d in await self.run(self.engine.find, coll, query)]

    async def find_page(
        self: StoreBacked, filter: BaseModel | None, order_by: str | None, descending: bool, limit: int,
        cursor: str | None,
    ) -> Any:
        self.check_page(limit)
        query = Query(filters=where(filter), order_by=order_by, descending=descending, limit=limit, cursor=cursor)
        page = await self.run(self.engine.find_page, coll, query)
        return page_model(items=[load(d) for d in page.items], next_cursor=page.next_cursor)

    async def count(self: StoreBacked, filter: BaseModel | None) -> int:
        return await self.run(self.engine.count, coll, Query(filters=where(filter)))

    return {
        "new": new, "get": get, "set": set_, "delete": delete, "list": list_,
        "list_full": list_full, "exists": exists, "find": find, "find_page": find_page, "count": count,
    }


def crud_service(base: type[S], binding: DomainBinding) -> type[S]:
    """A subclass of `base` (+ StoreBacked) implementing every root object's CRUD verbs."""
    namespace: dict[str, Any] = {"__doc__": f"{base.__name__} with CRUD on the store for {binding.package}."}
    for root in binding.roots.values():
        check_owner_indexed(root)
        for verb, fn in _verbs(root).items():
            fn.__name__ = fn.__qualname__ = f"{root.snake}_{verb}"
            namespace[fn.__name__] = fn
    return type(f"Store{base.__name__}", (StoreBacked, base), namespace)
