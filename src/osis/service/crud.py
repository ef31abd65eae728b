"""The eight CRUD verbs of every root object, implemented once on a store engine.

`crud_service(base, binding)` derives a subclass of a generated service base (e.g.
`AiService`) whose `<type>_<verb>` methods talk to the engine, for every root object of
the binding. Engine calls block, so they run in worker threads: the event loop keeps
serving other requests meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from osis.binding import DomainBinding, RootBinding
from osis.rpc.errors import InvalidParams, NotFound
from osis.rpc.limits import MAX_PAGE_CEILING
from osis.store.engine import Engine
from osis.store.query import OPS, Cond, Query

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
    coll, model = root.snake, root.model

    def load(doc: dict[str, Any]) -> Any:
        return model.model_validate(doc)

    def missing(sid: str) -> NotFound:
        return NotFound(f"{root.name} {sid!r} not found", data={"type": root.name, "sid": sid})

    async def new(self: StoreBacked, obj: BaseModel) -> Any:
        return load(await self.run(self.engine.insert, coll, obj.model_dump(mode="json", by_alias=True)))

    async def get(self: StoreBacked, sid: str) -> Any:
        doc = await self.run(self.engine.get, coll, sid)
        if doc is None:
            raise missing(sid)
        return load(doc)

    async def set_(self: StoreBacked, obj: BaseModel) -> Any:
        doc = obj.model_dump(mode="json", by_alias=True)
        if not await self.run(self.engine.replace, coll, doc):
            raise missing(doc.get("sid", ""))
        return obj

    async def delete(self: StoreBacked, sid: str) -> None:
        if not await self.run(self.engine.delete, coll, sid):
            raise missing(sid)

    async def list_(self: StoreBacked) -> list[str]:
        return await self.run(self.engine.list_sids, coll)

    async def list_full(self: StoreBacked, limit: int, offset: int) -> list[Any]:
        self.check_page(limit)
        docs = await self.run(self.engine.find, coll, Query(limit=limit, offset=offset))
        return [load(d) for d in docs]

    async def exists(self: StoreBacked, sid: str) -> bool:
        return await self.run(self.engine.exists, coll, sid)

    async def find(
        self: StoreBacked, filter: BaseModel | None, order_by: str | None, descending: bool, limit: int, offset: int
    ) -> list[Any]:
        self.check_page(limit)
        query = Query(
            filters=filter_conditions(root, filter),
            order_by=order_by,
            descending=descending,
            limit=limit,
            offset=offset,
        )
        return [load(d) for d in await self.run(self.engine.find, coll, query)]

    return {
        "new": new, "get": get, "set": set_, "delete": delete, "list": list_,
        "list_full": list_full, "exists": exists, "find": find,
    }


def crud_service(base: type[S], binding: DomainBinding) -> type[S]:
    """A subclass of `base` (+ StoreBacked) implementing every root object's CRUD verbs."""
    namespace: dict[str, Any] = {"__doc__": f"{base.__name__} with CRUD on the store for {binding.package}."}
    for root in binding.roots.values():
        for verb, fn in _verbs(root).items():
            fn.__name__ = fn.__qualname__ = f"{root.snake}_{verb}"
            namespace[fn.__name__] = fn
    return type(f"Store{base.__name__}", (StoreBacked, base), namespace)
