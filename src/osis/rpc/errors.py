"""JSON-RPC 2.0 error types shared by the OSIS server and clients.

Every error that crosses the wire is an :class:`RpcError` carrying a numeric
``code``.  The codes below -32700..-32600 are the ones the JSON-RPC 2.0
specification reserves; -32001..-32008 are OSIS application errors taken from
the "server error" range (-32000..-32099) that the specification leaves to
implementations.  The set is closed: clients map a code back to its class with
:func:`error_for_code`, and unknown codes arrive as a plain :class:`RpcError`.

:class:`TransportError` is deliberately *not* an ``RpcError``: it means the
request never got a JSON-RPC answer (connection refused, timeout, garbled
HTTP), so the caller cannot know whether the call ran.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic_core import to_jsonable_python

__all__ = [
    "CONFLICT",
    "ERROR_CODES",
    "FORBIDDEN",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "LIMIT_EXCEEDED",
    "METHOD_NOT_FOUND",
    "NOT_FOUND",
    "NOT_IMPLEMENTED",
    "PARSE_ERROR",
    "UNAUTHORIZED",
    "UNAVAILABLE",
    "VALIDATION_FAILED",
    "Conflict",
    "Forbidden",
    "InternalError",
    "InvalidParams",
    "InvalidRequest",
    "LimitExceeded",
    "MethodNotFound",
    "NotFound",
    "NotImplementedRpc",
    "ParseError",
    "RpcError",
    "TransportError",
    "Unauthorized",
    "Unavailable",
    "ValidationFailed",
    "error_for_code",
]

# Codes reserved by the JSON-RPC 2.0 specification.
PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603

# OSIS application codes, from the implementation-defined server-error range.
NOT_FOUND: Final = -32001
CONFLICT: Final = -32002
VALIDATION_FAILED: Final = -32003
UNAUTHORIZED: Final = -32004
FORBIDDEN: Final = -32005
NOT_IMPLEMENTED: Final = -32006
UNAVAILABLE: Final = -32007
LIMIT_EXCEEDED: Final = -32008

#: code -> (symbolic name, meaning).  The OpenRPC generator renders this table
#: into each method's ``errors`` list, so the wording is user-facing.
ERROR_CODES: Final[dict[int, tuple[str, str]]] = {
    PARSE_ERROR: ("PARSE_ERROR", "The request body is not valid JSON (or not valid UTF-8)."),
    INVALID_REQUEST: ("INVALID_REQUEST", "The JSON is not a valid JSON-RPC 2.0 request object."),
    METHOD_NOT_FOUND: ("METHOD_NOT_FOUND", "The method does not exist on this service."),
    INVALID_PARAMS: ("INVALID_PARAMS", "The params do not match the method's parameter schema."),
    INTERNAL_ERROR: ("INTERNAL_ERROR", "The server failed unexpectedly; details are in its log."),
    NOT_FOUND: ("NOT_FOUND", "No object with the given sid exists."),
    CONFLICT: ("CONFLICT", "The change conflicts with the stored state (e.g. the sid is taken)."),
    VALIDATION_FAILED: ("VALIDATION_FAILED", "The object is well-formed but breaks a rule of the store."),
    UNAUTHORIZED: ("UNAUTHORIZED", "The caller is not authenticated."),
    FORBIDDEN: ("FORBIDDEN", "The caller may not perform this operation."),
    NOT_IMPLEMENTED: ("NOT_IMPLEMENTED", "The method is declared but this service does not implement it."),
    UNAVAILABLE: ("UNAVAILABLE", "A backend the service depends on is unavailable; retry later."),
    LIMIT_EXCEEDED: ("LIMIT_EXCEEDED", "The request body or batch is larger than the server accepts."),
}


def _json_safe(value: Any) -> Any:
    # Error data may hold anything a handler chose to attach (exceptions, sets,
    # models); it must never make the error response itself unserialisable.
    return to_jsonable_python(value, by_alias=True, fallback=repr)


class RpcError(Exception):
    """An error answer to a JSON-RPC call.

    Subclasses fix :attr:`code` as a class attribute; a plain ``RpcError`` may
    be given any code (that is how unknown codes from a server are surfaced).
    ``method`` names the wire method the error belongs to, when known.
    """

    # A bare RpcError raised by a handler without a code is an unclassified
    # server failure, which is exactly what INTERNAL_ERROR means.
    code: int = INTERNAL_ERROR
    message: str
    data: Any
    method: str | None

    def __init__(
        self,
        message: str,
        *,
        data: Any = None,
        method: str | None = None,
        code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.data = data
        self.method = method
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        where = f"{self.method}: " if self.method else ""
        return f"{where}{self.message} (code {self.code})"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, code={self.code}, "
            f"method={self.method!r}, data={self.data!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception pickling replays only positional args; keep the keywords too
        # so errors survive multiprocessing and test-runner boundaries.
        return (_rebuild_rpc_error, (type(self), self.message, self.data, self.method, self.code))

    def to_error_object(self) -> dict[str, Any]:
        """The JSON-RPC ``error`` member for this error (``data`` only when set)."""
        obj: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            obj["data"] = _json_safe(self.data)
        return obj


def _rebuild_rpc_error(
    cls: type[RpcError], message: str, data: Any, method: str | None, code: int
) -> RpcError:
    return cls(message, data=data, method=method, code=code)


class ParseError(RpcError):
    code = PARSE_ERROR


class InvalidRequest(RpcError):
    code = INVALID_REQUEST


class MethodNotFound(RpcError):
    code = METHOD_NOT_FOUND


class InvalidParams(RpcError):
    code = INVALID_PARAMS


class InternalError(RpcError):
    code = INTERNAL_ERROR


class NotFound(RpcError):
    code = NOT_FOUND


class Conflict(RpcError):
    code = CONFLICT


class ValidationFailed(RpcError):
    code = VALIDATION_FAILED


class Unauthorized(RpcError):
    code = UNAUTHORIZED


class Forbidden(RpcError):
    code = FORBIDDEN


class NotImplementedRpc(RpcError):
    code = NOT_IMPLEMENTED


class Unavailable(RpcError):
    code = UNAVAILABLE


class LimitExceeded(RpcError):
    code = LIMIT_EXCEEDED


_CLASS_FOR_CODE: Final[dict[int, type[RpcError]]] = {
    cls.code: cls
    for cls in (
        ParseError,
        InvalidRequest,
        MethodNotFound,
        InvalidParams,
        InternalError,
        NotFound,
        Conflict,
        ValidationFailed,
        Unauthorized,
        Forbidden,
        NotImplementedRpc,
        Unavailable,
        LimitExceeded,
    )
}
assert set(_CLASS_FOR_CODE) == set(ERROR_CODES), "every documented code needs a class"


def error_for_code(code: int, message: str, data: Any = None, method: str | None = None) -> RpcError:
    """Build the :class:`RpcError` subclass for ``code`` (plain ``RpcError`` if unknown)."""
    cls = _CLASS_FOR_CODE.get(code)
    if cls is None:
        return RpcError(message, data=data, method=method, code=code)
    return cls(message, data=data, method=method)


class TransportError(Exception):
    """The call got no JSON-RPC answer: connection failure, timeout or bad HTTP.

    ``target`` is the URL or unix-socket path that was being talked to and
    ``cause`` the underlying exception, if any; both appear in the message so
    a bare ``str(exc)`` in a log line is enough to diagnose the failure.
    """

    message: str
    target: str
    cause: BaseException | None

    def __init__(self, message: str, *, target: str, cause: BaseException | None = None) -> None:
        self.message = message
        self.target = target
        self.cause = cause
        text = f"{message} ({target})"
        if cause is not None:
            detail = str(cause) or type(cause).__name__
            text = f"{text}: {detail}"
        super().__init__(text)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_transport_error, (type(self), self.message, self.target, self.cause))


def _rebuild_transport_error(
    cls: type[TransportError], message: str, target: str, cause: BaseException | None
) -> TransportError:
    return cls(message, target=target, cause=cause)
