"""Who is calling: the principal of the current request, carried in a context variable.

The gate (:mod:`osis.auth.gate`) sets it once per HTTP request; everything the request
runs inherits it, including the in-process client the REST app calls OSIS through and
the worker threads store calls run in (`asyncio.to_thread` copies the context). So the
identity reaches the dispatcher and the services without being a parameter of any API.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final, Literal

Kind = Literal["admin", "user"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The holder of a valid token: an admin, or the user `user_sid`."""

    kind: Kind
    user_sid: str | None
    token_id: str

    @property
    def scope(self) -> str | None:
        """The owner value every object this principal touches must carry; None: all objects."""
        return self.user_sid if self.kind == "user" else None


#: None when the server runs without auth: every caller sees everything.
_CURRENT: Final[ContextVar[Principal | None]] = ContextVar("osis_principal", default=None)


def current() -> Principal | None:
    return _CURRENT.get()


def scoped_owner() -> str | None:
    """The owner the current call is confined to, or None when it may see every object."""
    principal = _CURRENT.get()
    return None if principal is None else principal.scope


@contextmanager
def acting_as(principal: Principal | None) -> Iterator[None]:
    """Run the enclosed code as `principal` (restored afterwards)."""
    token = _CURRENT.set(principal)
    try:
        yield
    finally:
        _CURRENT.reset(token)
