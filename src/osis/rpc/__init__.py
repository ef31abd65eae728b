"""Generic JSON-RPC 2.0 runtime that OSIS's generated models, clients and servers build on.

* :mod:`osis.rpc.errors` – error classes and codes;
* :mod:`osis.rpc.params` – param models of the CRUD and service methods;
* :mod:`osis.rpc.dispatch` – :class:`Dispatcher`, :class:`Route`, :func:`crud_routes`;
* :mod:`osis.rpc.transport` – HTTP and in-process transports;
* :mod:`osis.rpc.client` – client base classes and CRUD accessors;
* :mod:`osis.rpc.app` – ASGI app and ``serve()``; not imported here, so that
  client-only programs do not load uvicorn.
"""

from osis.rpc.client import AsyncBatch, AsyncClient, AsyncCrud, Pending, SyncBatch, SyncClient, SyncCrud
from osis.rpc.dispatch import Dispatcher, Route, crud_routes
from osis.rpc.errors import (
    ERROR_CODES,
    Conflict,
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
