"""Base classes for the generated OSIS clients.

A generated client subclasses :class:`SyncClient` (or :class:`AsyncClient`),
adds one :class:`SyncCrud` accessor per root type and one typed method per
service method, each a thin wrapper around :meth:`SyncClient._call`::

    class OsisClient(SyncClient):
        def __init__(self, url=None, *, socket=None, transport=None, timeout=30.0):
            super().__init__(url, socket=socket, transport=transport, timeout=timeout)
            self.agent_memory = SyncCrud(self, "agent_memory", AgentMemory, AgentMemoryFilter)

        def audit_search(self, input: AuditSearchInput) -> AuditSearchOutput:
            return self._call("audit_search", {"input": input}, _AUDIT_SEARCH_OUTPUT)

Several calls can share one HTTP request through :meth:`SyncClient.batch`::

    with client.batch() as batch:
        first = batch.add("note.get", {"sid": "a"}, NOTE)
        second = batch.add("note.get", {"sid": "b"}, NOTE)
    first.result()   # the Note, or raises that call's RpcError (e.g. NotFound)

Generated accessors queue typed CRUD calls the same way: ``client.note.batch_new(batch, note)``.

Results are validated into the declared types on the client side, so a
server that returns something else fails loudly with pydantic's
``ValidationError`` instead of handing back malformed objects.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any, Final, Generic, Self, TypeVar, overload

from pydantic import BaseModel, TypeAdapter

from osis.rpc.errors import RpcError
from osis.rpc.params import DEFAULT_LIMIT, Page
from osis.rpc.transport import (
    AsyncHttpTransport,
    AsyncTransport,
    HttpTransport,
    Params,
    SyncTransport,
)

__all__ = [
    "AsyncBatch",
    "AsyncClient",
    "AsyncCrud",
    "Pending",
    "SyncBatch",
    "SyncClient",
    "SyncCrud",
]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
F = TypeVar("F", bound=BaseModel)

_SIDS: Final[TypeAdapter[list[str]]] = TypeAdapter(list[str])
_BOOL: Final[TypeAdapter[bool]] = TypeAdapter(bool)
_INT: Final[TypeAdapter[int]] = TypeAdapter(int)


def _pick_one(owner: str, url: str | None, socket: str | None, transport: object | None) -> None:
    given = [
        name
        for name, value in (("url", url), ("socket", socket), ("transport", transport))
        if value is not None
    ]
    if len(given) != 1:
        got = f" (got {', '.join(given)})" if given else ""
        raise ValueError(f"{owner} needs exactly one of url=, socket= or transport={got}")


def _no_token_with_transport(owner: str, token: str | None, transport: object | None) -> None:
    if token is not None and transport is not None:
        raise ValueError(f"{owner}: token= goes with url= or socket=; a ready transport carries its own credentials")


def _validate(adapter: TypeAdapter[T] | None, raw: Any) -> T:
    if adapter is None:
        # Only reached through the ``result: None`` overloads, where T is None.
        return None  # type: ignore[return-value]
    return adapter.validate_python(raw)


# -- batches ---------------------------------------------------------------------------


# States of a Pending handle.
_WAITING: Final = 0  # batch not sent yet
_RAW: Final = 1  # raw JSON result received, not validated yet
_READY: Final = 2  # validated value
_FAILED: Final = 3  # the call (or the whole batch) failed


class Pending(Generic[T]):
    """The outcome of one call in a batch; readable once the batch is sent."""

    # One handle per batch entry: keep it small and its state in one field.
    __slots__ = ("method", "_adapter", "_state", "_value")

    def __init__(self, method: str, adapter: TypeAdapter[T] | None) -> None:
        self.method = method
        self._adapter = adapter
        self._state = _WAITING
        self._value: Any = None

    @property
    def done(self) -> bool:
        """Whether the batch has been sent and this call has an outcome."""
        return self._state != _WAITING

    @property
    def error(self) -> Exception | None:
        """The call's :class:`RpcError` (or the batch's :class:`TransportError`), if it failed."""
        self._require_done()
        error: Exception | None = self._value if self._state == _FAILED else None
        return error

    def result(self) -> T:
        """The call's validated result; raises the call's error if it failed."""
        state = self._state
        if state == _RAW:
            # Validated lazily so one malformed result only fails its own handle.
            self._value = _validate(self._adapter, self._value)
            self._state = _READY
        elif state == _FAILED:
            raise self._value
        elif state == _WAITING:
            self._require_done()
        value: T = self._value
        return value

    def __repr__(self) -> str:
        state = {_WAITING: "waiting", _FAILED: "failed"}.get(self._state, "ok")
        return f"<Pending {self.method} {state}>"

    def _require_done(self) -> None:
        if self._state == _WAITING:
            raise RuntimeError(f"no outcome for {self.method} yet: the batch has not been sent")


class _BatchBase:
    def __init__(self) -> None:
        self._calls: list[tuple[str, Params]] = []
        self._pending: list[Pending[Any]] = []
        self._sent = False

    @overload
    def add(self, method: str, params: Params, result: TypeAdapter[T]) -> Pending[T]: ...

    @overload
    def add(self, method: str, params: Params = None, result: None = None) -> Pending[None]: ...

    def add(self, method: str, params: Params = None, result: TypeAdapter[Any] | None = None) -> Pending[Any]:
        """Queue a call; its outcome is available from the returned handle after sending."""
        if self._sent:
            raise RuntimeError("this batch was already sent; start a new one with client.batch()")
        pending: Pending[Any] = Pending(method, result)
        self._calls.append((method, params))
        self._pending.append(pending)
        return pending

    def __len__(self) -> int:
        return len(self._calls)

    def _start_send(self) -> bool:
        """Mark the batch sent; returns whether there is anything to send."""
        if self._sent:
            raise RuntimeError("this batch was already sent")
        self._sent = True
        return bool(self._calls)

    def _settle(self, outcomes: list[Any]) -> None:
        for pending, outcome in zip(self._pending, outcomes, strict=True):
            pending._value = outcome
            pending._state = _FAILED if isinstance(outcome, RpcError) else _RAW

    def _fail(self, error: Exception) -> None:
        for pending in self._pending:
            pending._value = error
            pending._state = _FAILED


class SyncBatch(_BatchBase):
    """Collects calls and sends them as one JSON-RPC batch.

    Used as a context manager it sends on a clean exit and discards the calls
    if the block raised.  Entries run on the server in the order added.
    """

    def __init__(self, transport: SyncTransport) -> None:
        super().__init__()
        self._transport = transport

    def send(self) -> None:
        """Send the queued calls; errors of single calls stay in their handles.

        Raises (and records in every handle) a failure of the batch as a
        whole: a :class:`~osis.rpc.errors.TransportError`, or an
        :class:`RpcError` the server gave for the whole batch, such as
        LIMIT_EXCEEDED.
        """
        if not self._start_send():
            return
        try:
            outcomes = self._transport.call_batch(self._calls)
        except Exception as exc:
            # Every handle reports the failure, whatever it was (including a
            # TypeError for params that cannot be serialised).
            self._fail(exc)
            raise
        self._settle(outcomes)

    def __enter__(self) -> SyncBatch:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None and not self._sent:
            self.send()


class AsyncBatch(_BatchBase):
    """Async counterpart of :class:`SyncBatch` (``async with``, ``await send()``)."""

    def __init__(self, transport: AsyncTransport) -> None:
        super().__init__()
        self._transport = transport

    async def send(self) -> None:
        if not self._start_send():
            return
        try:
            outcomes = await self._transport.call_batch(self._calls)
        except Exception as exc:
            # Every handle reports the failure, whatever it was (including a
            # TypeError for params that cannot be serialised).
            self._fail(exc)
            raise
        self._settle(outcomes)

    async def __aenter__(self) -> AsyncBatch:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None and not self._sent:
            await self.send()


# -- clients ----------------------------------------------------------------------------


class SyncClient:
    """Blocking JSON-RPC client; generated clients subclass it.

    Give exactly one of ``url`` (``http://host:port``), ``socket`` (unix socket
    path) or a ready ``transport`` (e.g. an
    :class:`~osis.rpc.transport.InProcessTransport`).  The client owns its
    transport: :meth:`close` closes it, including one passed in.  ``token``
    is the bearer token sent with every request to a server with auth.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        socket: str | None = None,
        transport: SyncTransport | None = None,
        timeout: float = 30.0,
        token: str | None = None,
    ) -> None:
        _pick_one(type(self).__name__, url, socket, transport)
        _no_token_with_transport(type(self).__name__, token, transport)
        self._transport: SyncTransport = (
            transport if transport is not None else HttpTransport(url, socket=socket, timeout=timeout, token=token)
        )

    @property
    def transport(self) -> SyncTransport:
        return self._transport

    @overload
    def _call(self, method: str, params: Params, result: TypeAdapter[T]) -> T: ...

    @overload
    def _call(self, method: str, params: Params, result: None) -> None: ...

    def _call(self, method: str, params: Params, result: TypeAdapter[Any] | None) -> Any:
        """Call ``method`` and validate its result with ``result`` (``None``: discard it)."""
        return _validate(result, self._transport.call(method, params))

    def _notify(self, method: str, params: Params) -> None:
        """Send a notification: fire-and-forget, no result and no per-call error."""
        self._transport.notify(method, params)

    def batch(self) -> SyncBatch:
        """Start collecting calls to send as one request."""
        return SyncBatch(self._transport)

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncClient:
    """asyncio counterpart of :class:`SyncClient`."""

    def __init__(
        self,
        url: str | None = None,
        *,
        socket: str | None = None,
        transport: AsyncTransport | None = None,
        timeout: float = 30.0,
        token: str | None = None,
    ) -> None:
        _pick_one(type(self).__name__, url, socket, transport)
        _no_token_with_transport(type(self).__name__, token, transport)
        self._transport: AsyncTransport = (
            transport
            if transport is not None
            else AsyncHttpTransport(url, socket=socket, timeout=timeout, token=token)
        )

    @property
    def transport(self) -> AsyncTransport:
        return self._transport

    @overload
    async def _call(self, method: str, params: Params, result: TypeAdapter[T]) -> T: ...

    @overload
    async def _call(self, method: str, params: Params, result: None) -> None: ...

    async def _call(self, method: str, params: Params, result: TypeAdapter[Any] | None) -> Any:
        return _validate(result, await self._transport.call(method, params))

    async def _notify(self, method: str, params: Params) -> None:
        await self._transport.notify(method, params)

    def batch(self) -> AsyncBatch:
        return AsyncBatch(self._transport)

    async def close(self) -> None:
        await self._transport.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


# -- CRUD accessors -------------------------------------------------------------------------


class _CrudBase(Generic[M, F]):
    def __init__(self, type_name: str, model: type[M], filter_model: type[F]) -> None:
        if not type_name.isidentifier():
            raise ValueError(f"type_name must be a Python identifier, got {type_name!r}")
        self.type_name = type_name
        self.model = model
        self.filter_model = filter_model
        self._one: TypeAdapter[M] = TypeAdapter(model)
        many: TypeAdapter[builtins.list[M]] = TypeAdapter(builtins.list[model])  # type: ignore[valid-type]
        self._many = many
        self._page: TypeAdapter[Page[M]] = TypeAdapter(Page[model])  # type: ignore[valid-type]
        # Wire names are built once; these accessors sit on the hot path.
        self._new = f"{type_name}.new"
        self._get = f"{type_name}.get"
        self._set = f"{type_name}.set"
        self._delete = f"{type_name}.delete"
        self._list = f"{type_name}.list"
        self._list_full = f"{type_name}.list_full"
        self._exists = f"{type_name}.exists"
        self._find = f"{type_name}.find"
        self._find_page = f"{type_name}.find_page"
        self._count = f"{type_name}.count"

    @staticmethod
    def _filter(filter: F | None) -> dict[str, Any] | None:
        # Only the fields the caller set: an unset filter field means
        # "don't filter on it", which a default value could not express.
        return None if filter is None else filter.model_dump(mode="json", by_alias=True, exclude_unset=True)

    def _find_params(
        self, filter: F | None, order_by: str | None, descending: bool, limit: int, offset: int
    ) -> dict[str, Any]:
        return {
            "filter": self._filter(filter),
            "order_by": order_by,
            "descending": descending,
            "limit": limit,
            "offset": offset,
        }

    def _find_page_params(
        self, filter: F | None, order_by: str | None, descending: bool, limit: int, cursor: str | None
    ) -> dict[str, Any]:
        return {
            "filter": self._filter(filter),
            "order_by": order_by,
            "descending": descending,
            "limit": limit,
            "cursor": cursor,
        }

    # Queueing in a batch is the same for both colours of client: nothing is sent here.
    def batch_new(self, batch: _BatchBase, obj: M) -> Pending[M]:
        """Queue ``new(obj)`` in ``batch``; the stored object is the handle's result after sending."""
        return batch.add(self._new, {"obj": obj}, self._one)

    def batch_get(self, batch: _BatchBase, sid: str) -> Pending[M]:
        """Queue ``get(sid)`` in ``batch``."""
        return batch.add(self._get, {"sid": sid}, self._one)

    def batch_set(self, batch: _BatchBase, obj: M) -> Pending[M]:
        """Queue ``set(obj)`` in ``batch``."""
        return batch.add(self._set, {"obj": obj}, self._one)

    def batch_delete(self, batch: _BatchBase, sid: str) -> Pending[None]:
        """Queue ``delete(sid)`` in ``batch``."""
        return batch.add(self._delete, {"sid": sid})

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.type_name} ({self.model.__name__})>"


class SyncCrud(_CrudBase[M, F]):
    """The CRUD calls of one root type, e.g. ``SyncCrud(client, "note", Note, NoteFilter)``.

    ``obj`` params carry the full model (dumped by alias in JSON mode).
    """

    def __init__(self, client: SyncClient, type_name: str, model: type[M], filter_model: type[F]) -> None:
        super().__init__(type_name, model, filter_model)
        self._client = client

    def new(self, obj: M) -> M:
        return self._client._call(self._new, {"obj": obj}, self._one)

    def get(self, sid: str) -> M:
        return self._client._call(self._get, {"sid": sid}, self._one)

    def set(self, obj: M) -> M:
        return self._client._call(self._set, {"obj": obj}, self._one)

    def delete(self, sid: str) -> None:
        self._client._call(self._delete, {"sid": sid}, None)

    def list(self) -> builtins.list[str]:
        return self._client._call(self._list, None, _SIDS)

    def list_full(self, *, limit: int = DEFAULT_LIMIT, offset: int = 0) -> builtins.list[M]:
        return self._client._call(self._list_full, {"limit": limit, "offset": offset}, self._many)

    def exists(self, sid: str) -> bool:
        return self._client._call(self._exists, {"sid": sid}, _BOOL)

    def find(
        self,
        filter: F | None = None,
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
    ) -> builtins.list[M]:
        params = self._find_params(filter, order_by, descending, limit, offset)
        return self._client._call(self._find, params, self._many)

    def find_page(
        self,
        filter: F | None = None,
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[M]:
        """One page of matches; pass ``page.next_cursor`` back (same filter and order) for the next."""
        params = self._find_page_params(filter, order_by, descending, limit, cursor)
        return self._client._call(self._find_page, params, self._page)

    def find_all(
        self,
        filter: F | None = None,
        *,
        order_by: str | None = None,
        descending: bool = False,
        page_size: int = DEFAULT_LIMIT,
    ) -> Iterator[M]:
        """Every match, fetched a page at a time by cursor."""
        cursor: str | None = None
        while True:
            page = self.find_page(filter, order_by=order_by, descending=descending, limit=page_size, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def count(self, filter: F | None = None) -> int:
        """How many stored objects match the filter (all of them without one)."""
        return self._client._call(self._count, {"filter": self._filter(filter)}, _INT)


class AsyncCrud(_CrudBase[M, F]):
    """asyncio counterpart of :class:`SyncCrud`."""

    def __init__(self, client: AsyncClient, type_name: str, model: type[M], filter_model: type[F]) -> None:
        super().__init__(type_name, model, filter_model)
        self._client = client

    async def new(self, obj: M) -> M:
        return await self._client._call(self._new, {"obj": obj}, self._one)

    async def get(self, sid: str) -> M:
        return await self._client._call(self._get, {"sid": sid}, self._one)

    async def set(self, obj: M) -> M:
        return await self._client._call(self._set, {"obj": obj}, self._one)

    async def delete(self, sid: str) -> None:
        await self._client._call(self._delete, {"sid": sid}, None)

    async def list(self) -> builtins.list[str]:
        return await self._client._call(self._list, None, _SIDS)

    async def list_full(self, *, limit: int = DEFAULT_LIMIT, offset: int = 0) -> builtins.list[M]:
        return await self._client._call(self._list_full, {"limit": limit, "offset": offset}, self._many)

    async def exists(self, sid: str) -> bool:
        return await self._client._call(self._exists, {"sid": sid}, _BOOL)

    async def find(
        self,
        filter: F | None = None,
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
    ) -> builtins.list[M]:
        params = self._find_params(filter, order_by, descending, limit, offset)
        return await self._client._call(self._find, params, self._many)

    async def find_page(
        self,
        filter: F | None = None,
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[M]:
        """One page of matches; pass ``page.next_cursor`` back (same filter and order) for the next."""
        params = self._find_page_params(filter, order_by, descending, limit, cursor)
        return await self._client._call(self._find_page, params, self._page)

    async def find_all(
        self,
        filter: F | None = None,
        *,
        order_by: str | None = None,
        descending: bool = False,
        page_size: int = DEFAULT_LIMIT,
    ) -> AsyncIterator[M]:
        """Every match, fetched a page at a time by cursor."""
        cursor: str | None = None
        while True:
            page = await self.find_page(filter, order_by=order_by, descending=descending, limit=page_size, cursor=cursor)
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def count(self, filter: F | None = None) -> int:
        """How many stored objects match the filter (all of them without one)."""
        return await self._client._call(self._count, {"filter": self._filter(filter)}, _INT)
