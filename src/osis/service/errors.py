"""Store errors as JSON-RPC errors: one mapping for every handler that touches the store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from osis.rpc.errors import Conflict, InvalidParams, RpcError, Unavailable
from osis.store.errors import (
    DuplicateSid,
    InvalidDocument,
    InvalidQuery,
    StoreClosed,
    StoreError,
    StoreUnavailable,
    UnknownCollection,
)


def rpc_error(err: StoreError) -> RpcError:
    message = str(err)
    if isinstance(err, DuplicateSid):
        return Conflict(message)
    if isinstance(err, (InvalidQuery, InvalidDocument, UnknownCollection)):
        return InvalidParams(message)
    if isinstance(err, (StoreUnavailable, StoreClosed)):
        return Unavailable(f"store unavailable: {message}")
    return RpcError(message, code=-32603)


@contextmanager
def store_errors() -> Iterator[None]:
    """Re-raise store errors as the matching RpcError, keeping the cause for the log."""
    try:
        yield
    except StoreError as err:
        raise rpc_error(err) from err
