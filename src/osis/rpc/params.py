"""Parameter models for the wire methods every OSIS service exposes.

Each stored ("root") type gets the same CRUD methods; these generic
models describe their params so the generator does not have to emit one model
per type and verb.  All of them forbid unknown keys: a misspelt parameter is a
client bug that should fail loudly with INVALID_PARAMS rather than be ignored.

The field order matters: by-position params (a JSON array) are mapped onto the
fields in declaration order.
"""

from __future__ import annotations

from typing import Final, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "CountParams",
    "FindPageParams",
    "FindParams",
    "InputParams",
    "ListFullParams",
    "NoParams",
    "ObjParams",
    "Page",
    "SidParams",
]

#: Page size used when a list/find call does not give one.
DEFAULT_LIMIT: Final = 100
#: Largest page a single list/find call may ask for; it bounds response size.
MAX_LIMIT: Final = 10_000

T = TypeVar("T")
F = TypeVar("F")


class SidParams(BaseModel):
    """Params of ``get``, ``delete`` and ``exists``."""

    model_config = ConfigDict(extra="forbid")

    sid: str


class NoParams(BaseModel):
    """Params of methods that take none (``list``); only ``{}`` or ``[]`` is accepted."""

    model_config = ConfigDict(extra="forbid")


class ObjParams(BaseModel, Generic[T]):
    """Params of ``new`` and ``set``: the whole object."""

    model_config = ConfigDict(extra="forbid")

    obj: T


class ListFullParams(BaseModel):
    """Params of ``list_full``: one page of full objects."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(DEFAULT_LIMIT, ge=0, le=MAX_LIMIT)
    offset: int = Field(0, ge=0)


class FindParams(BaseModel, Generic[F]):
    """Params of ``find``: an optional filter model plus ordering and paging."""

    model_config = ConfigDict(extra="forbid")

    filter: F | None = None
    order_by: str | None = None
    descending: bool = False
    limit: int = Field(DEFAULT_LIMIT, ge=0, le=MAX_LIMIT)
    offset: int = Field(0, ge=0)


class FindPageParams(BaseModel, Generic[F]):
    """Params of ``find_page``: like ``find``, but paged by cursor instead of offset.

    A cursor marks a position in one ordering, so a deep page costs the same as the
    first, and objects written meanwhile neither repeat nor vanish from the listing.
    """

    model_config = ConfigDict(extra="forbid")

    filter: F | None = None
    order_by: str | None = None
    descending: bool = False
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class CountParams(BaseModel, Generic[F]):
    """Params of ``count``: the filter whose matches are counted."""

    model_config = ConfigDict(extra="forbid")

    filter: F | None = None


class Page(BaseModel, Generic[T]):
    """Result of ``find_page``: one page of objects and the cursor of the next page.

    ``next_cursor`` is ``None`` on the last page; otherwise pass it back, with the same
    filter and ordering, to continue.
    """

    items: list[T]
    next_cursor: str | None = None


class InputParams(BaseModel, Generic[T]):
    """Params of a service (non-CRUD) method: a single ``input`` model."""

    model_config = ConfigDict(extra="forbid")

    input: T
