"""An in-memory implementation of the generated `KitchenService` traits, for SDK tests.

Generic over root objects: each gets a dict of objects and a filter evaluator that reads
the generated `<Type>Filter` members (`f`, `f_in`, `f_gt`, ...). It is small on purpose:
it tests the generated client, server and route table, not a store.
"""

from __future__ import annotations

import itertools
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from osis.rpc.errors import Conflict, InvalidParams, NotFound

M = TypeVar("M", bound=BaseModel)

_OPS = {
    "in": lambda v, arg: v in arg,
    "gt": lambda v, arg: v is not None and v > arg,
    "gte": lambda v, arg: v is not None and v >= arg,
    "lt": lambda v, arg: v is not None and v < arg,
    "lte": lambda v, arg: v is not None and v <= arg,
}


class MemoryTable(Generic[M]):
    def __init__(self, model: type[M], indexed: list[str]) -> None:
        self.model = model
        self.indexed = indexed
        self.rows: dict[str, M] = {}
        self._ids = itertools.count(36**3)  # base-36 sids of at least 4 characters

    def _sid(self) -> str:
        n, digits = next(self._ids), "0123456789abcdefghijklmnopqrstuvwxyz"
        out = ""
        while n:
            n, r = divmod(n, 36)
            out = digits[r] + out
        return out

    def new(self, obj: M) -> M:
        if obj.sid and obj.sid in self.rows:  # type: ignore[attr-defined]
            raise Conflict(f"sid {obj.sid!r} is taken")  # type: ignore[attr-defined]
        stored = obj.model_copy(update={"sid": obj.sid or self._sid()})  # type: ignore[attr-defined]
        self.rows[stored.sid] = stored  # type: ignore[attr-defined]
        return stored

    def get(self, sid: str) -> M:
        try:
            return self.rows[sid]
        except KeyError:
            raise NotFound(f"no object with sid {sid!r}", data={"sid": sid}) from None

    def set(self, obj: M) -> M:
        self.get(obj.sid)  # type: ignore[attr-defined]
        self.rows[obj.sid] = obj  # type: ignore[attr-defined]
        return obj

    def delete(self, sid: str) -> None:
        self.get(sid)
        del self.rows[sid]

    def matches(self, obj: M, flt: BaseModel | None) -> bool:
        if flt is None:
            return True
        for name in flt.model_fields_set:
            arg = getattr(flt, name)
            field, _, op = name.rpartition("_")
            if op in _OPS and field in self.indexed:
                if not _OPS[op](getattr(obj, field), arg):
                    return False
            elif getattr(obj, name) != arg:
                return False
        return True

    def find(self, flt: BaseModel | None, order_by: str | None, descending: bool, limit: int, offset: int) -> list[M]:
        key = order_by or "sid"
        if key != "sid" and key not in self.indexed:
            raise InvalidParams(f"order_by must be sid or an indexed field, not {key!r}")
        hits = [o for o in self.rows.values() if self.matches(o, flt)]
        hits.sort(key=lambda o: (getattr(o, key), o.sid), reverse=descending)  # type: ignore[attr-defined]
        return hits[offset : offset + limit]


def make_service(package: Any) -> Any:
    """A `KitchenService` subclass instance backed by memory tables."""
    models = package.models
    base = package.server.KitchenService

    gadgets = MemoryTable(models.Gadget, ["name", "colour", "weight_grams", "price", "enabled", "bought_at"])
    drawers = MemoryTable(models.Drawer, ["position"])

    class KitchenMemory(base):  # type: ignore[misc, valid-type]
        pass

    for prefix, table in (("gadget", gadgets), ("drawer", drawers)):
        def bind(table: MemoryTable[Any]) -> dict[str, Any]:
            async def new(self: Any, obj: Any) -> Any:
                return table.new(obj)

            async def get(self: Any, sid: str) -> Any:
                return table.get(sid)

            async def set_(self: Any, obj: Any) -> Any:
                return table.set(obj)

            async def delete(self: Any, sid: str) -> None:
                table.delete(sid)

            async def list_(self: Any) -> list[str]:
                return sorted(table.rows)

            async def list_full(self: Any, limit: int, offset: int) -> list[Any]:
                return table.find(None, None, False, limit, offset)

            async def exists(self: Any, sid: str) -> bool:
                return sid in table.rows

            async def find(self: Any, filter: Any, order_by: Any, descending: bool, limit: int, offset: int) -> list[Any]:
                return table.find(filter, order_by, descending, limit, offset)

            return {"new": new, "get": get, "set": set_, "delete": delete, "list": list_,
                    "list_full": list_full, "exists": exists, "find": find}

        for verb, fn in bind(table).items():
            setattr(KitchenMemory, f"{prefix}_{verb}", fn)

    async def count_gadgets(self: Any, input: Any) -> Any:
        count = sum(1 for g in gadgets.rows.values() if g.colour == input.colour)
        return models.CountOutput(count=count)

    # `ping` is deliberately left unimplemented: it must answer NOT_IMPLEMENTED.
    KitchenMemory.count_gadgets = count_gadgets
    return KitchenMemory()
