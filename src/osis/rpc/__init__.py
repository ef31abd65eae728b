"""Generic JSON-RPC 2.0 runtime that OSIS's generated models, clients and servers build on.

* :mod:`osis.rpc.errors` – error classes and codes;
* :mod:`osis.rpc.params` – param models of the CRUD and service methods;
* :mod:`osis.rpc.dispatch` – :class:`Dispatcher`, :class:`Route`, :func:`crud_routes`;
* :mod:`osis.rpc.transport` – HTTP and in-process transports;
* :mod:`osis.rpc.client` – client base classes and CRUD accessors;
* :mod:`osis.rpc.app` – ASGI app and ``serve()``; not imported here, so that
  client-only programs do not load uvicorn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # type checkers see the real names
    from osis.rpc.client import AsyncBatch, AsyncClient, AsyncCrud, Pending, SyncBatch, SyncClient, SyncCrud
    from osis.rpc.dispatch import Dispatcher, Route, crud_routes
    from osis.rpc.errors import (
        Conflict,
        ERROR_CODES,
        Forbidden,
        InternalError,
        InvalidParams,
        InvalidRequest,
        LimitExceeded,
        MethodNotFound,
        NotFound,
        NotImplementedRpc,
        ParseError,
        RpcError,
        TransportError,
        Unauthorized,
        Unavailable,
        ValidationFailed,
        error_for_code,
    )
    from osis.rpc.params import FindParams, InputParams, ListFullParams, NoParams, ObjParams, SidParams
    from osis.rpc.transport import (
        AsyncHttpTransport,
        AsyncInProcessTransport,
        AsyncTransport,
        HttpTransport,
        InProcessTransport,
        Params,
        SyncTransport,
    )

# Names resolve lazily (PEP 562): `import osis.rpc.errors` (as the compiler does) must not
# pay for the transports, clients and pydantic models of the other modules.
_WHERE = {
    "AsyncBatch": "client",
    "AsyncClient": "client",
    "AsyncCrud": "client",
    "AsyncHttpTransport": "transport",
    "AsyncInProcessTransport": "transport",
    "AsyncTransport": "transport",
    "Conflict": "errors",
    "Dispatcher": "dispatch",
    "ERROR_CODES": "errors",
    "FindParams": "params",
    "Forbidden": "errors",
    "HttpTransport": "transport",
    "InProcessTransport": "transport",
    "InputParams": "params",
    "InternalError": "errors",
    "InvalidParams": "errors",
    "InvalidRequest": "errors",
    "LimitExceeded": "errors",
    "ListFullParams": "params",
    "MethodNotFound": "errors",
    "NoParams": "params",
    "NotFound": "errors",
    "NotImplementedRpc": "errors",
    "ObjParams": "params",
    "Params": "transport",
    "ParseError": "errors",
    "Pending": "client",
    "Route": "dispatch",
    "RpcError": "errors",
    "SidParams": "params",
    "SyncBatch": "client",
    "SyncClient": "client",
    "SyncCrud": "client",
    "SyncTransport": "transport",
    "TransportError": "errors",
    "Unauthorized": "errors",
    "Unavailable": "errors",
    "ValidationFailed": "errors",
    "crud_routes": "dispatch",
    "error_for_code": "errors",
}

__all__ = [
    "ERROR_CODES",
    "AsyncBatch",
    "AsyncClient",
    "AsyncCrud",
    "AsyncHttpTransport",
    "AsyncInProcessTransport",
    "AsyncTransport",
    "Conflict",
    "Dispatcher",
    "FindParams",
    "Forbidden",
    "HttpTransport",
    "InProcessTransport",
    "InputParams",
    "InternalError",
    "InvalidParams",
    "InvalidRequest",
    "LimitExceeded",
    "ListFullParams",
    "MethodNotFound",
    "NoParams",
    "NotFound",
    "NotImplementedRpc",
    "ObjParams",
    "Params",
    "ParseError",
    "Pending",
    "Route",
    "RpcError",
    "SidParams",
    "SyncBatch",
    "SyncClient",
    "SyncCrud",
    "SyncTransport",
    "TransportError",
    "Unauthorized",
    "Unavailable",
    "ValidationFailed",
    "crud_routes",
    "error_for_code",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
