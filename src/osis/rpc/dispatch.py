"""Transport-independent JSON-RPC 2.0 dispatcher.

A :class:`Dispatcher` binds a table of :class:`Route` objects to a service
object whose async methods do the work.  It has two entry points:

* :meth:`Dispatcher.handle` takes a whole HTTP request body and returns the
  response body, implementing the JSON-RPC 2.0 specification to the letter
  (batches, notifications, the reserved error codes);
* :meth:`Dispatcher.call` runs one method in-process and returns its
  JSON-compatible result, raising :class:`~osis.rpc.errors.RpcError`.

Batch entries run sequentially, in array order.  The specification allows any
order, but a store's clients naturally batch dependent writes ("new" then
"set" of the same object), and sequential execution makes the outcome of such
a batch deterministic.  It also avoids creating a task per entry, which costs
more than the entries themselves for in-memory backends; a backend that wants
parallelism can still overlap I/O inside a single handler.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError, from_json, to_json, to_jsonable_python

from osis.rpc.errors import (
    InternalError,
    InvalidParams,
    InvalidRequest,
    LimitExceeded,
    MethodNotFound,
    NotImplementedRpc,
    ParseError,
    RpcError,
)
from osis.rpc.params import (
    CountParams,
    FindPageParams,
    FindParams,
    ListFullParams,
    NoParams,
    ObjParams,
    Page,
    SidParams,
)

__all__ = ["CRUD_VERBS", "Dispatcher", "Route", "crud_routes"]

log = logging.getLogger("osis.rpc")

#: The wire method OpenRPC reserves for returning the service description.
DISCOVER: Final = "rpc.discover"

# Used to serialise the OpenRPC document, which is plain JSON data.
_ANY_ADAPTER: Final[TypeAdapter[Any]] = TypeAdapter(Any)


@dataclass(frozen=True)
class Route:
    """One wire method: how to validate its params and serialise its result."""

    method: str
    """Wire name, e.g. ``"agent_memory.get"`` or ``"audit_search"``."""
    handler: str
    """Name of the async method on the service object."""
    params: type[BaseModel]
    """Model the request params are validated into; its fields are the handler's kwargs."""
    result: TypeAdapter[Any] | None
    """Serialises the handler's return value; ``None`` means the result is ``null``."""
    description: str = ""


@dataclass(frozen=True, slots=True)
class _Bound:
    route: Route
    # Field names in declaration order: the slots by-position params map onto.
    fields: tuple[str, ...]


def _short(text: str, limit: int = 80) -> str:
    # Method names come from the client; never echo an unbounded string back.
    return text if len(text) <= limit else text[:limit] + "..."


def _invalid_params(method: str, exc: ValidationError) -> InvalidParams:
    errors = exc.errors(include_url=False, include_context=False)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "params"
    summary = f"{where}: {first['msg']}"
    if len(errors) > 1:
        summary = f"{len(errors)} errors, first {summary}"
    # Made JSON-safe here rather than only when answering on the wire, so that
    # in-process callers see exactly the data an HTTP client would (lists, not
    # tuples; repr() of inputs that have no JSON form).
    data = to_jsonable_python(errors, fallback=repr)
    return InvalidParams(f"invalid params: {summary}", data=data, method=method)


def _parse_error_message(body: bytes, exc: ValueError) -> str:
    # pydantic_core reports bad UTF-8 as a generic syntax error; say what is
    # actually wrong.  Decoding only runs on this (rare) failure path.
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"parse error: body is not valid UTF-8 (byte {bad.start})"
    return f"parse error: {exc}"


def _error_response(request_id: Any, error: RpcError) -> bytes:
    return to_json({"jsonrpc": "2.0", "id": request_id, "error": error.to_error_object()})


_ABSENT: Final = object()
_ID_TYPES: Final = (str, int, float)
_RESULT_HEAD: Final = b'{"jsonrpc":"2.0","id":'
_RESULT_MIDDLE: Final = b',"result":'


def _parse_request(request: Any) -> bytes | tuple[Any, bool, str, Any]:
    """Check one request object: (id, is notification, method, params), or the error answer."""
    if type(request) is not dict:
        return _error_response(None, InvalidRequest("invalid request: expected a JSON object"))
    request_id = request.get("id", _ABSENT)
    is_notification = request_id is _ABSENT
    if is_notification:
        request_id = None
    elif request_id is not None and type(request_id) not in _ID_TYPES:
        # Exact types: JSON true/false parse as bool, which is no valid id.
        return _error_response(None, InvalidRequest("invalid request: id must be a string, a number or null"))
    if request.get("jsonrpc") != "2.0":
        return _error_response(request_id, InvalidRequest('invalid request: "jsonrpc" must be exactly "2.0"'))
    method = request.get("method")
    if type(method) is not str:
        return _error_response(request_id, InvalidRequest('invalid request: "method" must be a string'))
    params = request.get("params", _ABSENT)
    if params is _ABSENT:
        params = None
    elif type(params) is not dict and type(params) is not list:
        # The specification allows omitting params, but not sending a scalar or null.
        return _error_response(
            request_id, InvalidRequest('invalid request: "params" must be an object or an array')
        )
    return request_id, is_notification, method, params


def _duplicate_id(batch: list[Any]) -> Any:
    """The first id two calls of ``batch`` share (notifications and null ids aside), or ``_ABSENT``."""
    seen: set[Any] = set()
    for request in batch:
        if type(request) is dict:
            request_id = request.get("id")
            if type(request_id) in _ID_TYPES:
                if request_id in seen:
                    return request_id
                seen.add(request_id)
    return _ABSENT


class Dispatcher:
    """Validates, routes and executes JSON-RPC requests against ``service``.

    ``routes`` maps wire method names to routes (the key must equal
    ``route.method``).  ``openrpc``, when given, is returned by
    ``rpc.discover``.  ``max_batch`` bounds the number of entries in one batch;
    larger batches are refused with LIMIT_EXCEEDED before anything runs.
    """

    def __init__(
        self,
        service: object,
        routes: Mapping[str, Route],
        *,
        openrpc: dict[str, Any] | None = None,
        max_batch: int = 1000,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        bound: dict[str, _Bound] = {}
        for name, route in routes.items():
            if name != route.method:
                raise ValueError(f"route registered as {name!r} has method {route.method!r}")
            if name.startswith("rpc."):
                raise ValueError(f"method names starting with 'rpc.' are reserved: {name!r}")
            if not (isinstance(route.params, type) and issubclass(route.params, BaseModel)):
                raise TypeError(f"route {name!r}: params must be a pydantic model class")
            bound[name] = _Bound(route, tuple(route.params.model_fields))
        self._service = service
        self._bound = bound
        self._routes: Mapping[str, Route] = {name: b.route for name, b in bound.items()}
        self._openrpc = openrpc
        self._max_batch = max_batch

    @property
    def service(self) -> object:
        return self._service

    @property
    def routes(self) -> Mapping[str, Route]:
        return self._routes

    @property
    def openrpc(self) -> dict[str, Any] | None:
        return self._openrpc

    @property
    def max_batch(self) -> int:
        return self._max_batch

    # -- in-process entry point -------------------------------------------------

    async def call(self, method: str, params: Mapping[str, Any] | Sequence[Any] | None) -> Any:
        """Run ``method`` and return its JSON-compatible result.

        Raises the :class:`RpcError` a wire client would receive, with
        ``method`` filled in.
        """
        if params is not None and type(params) is not dict and type(params) is not list:
            if isinstance(params, Mapping):
                params = dict(params)
            elif isinstance(params, Sequence) and not isinstance(params, (str, bytes, bytearray)):
                params = list(params)
            else:
                raise InvalidParams(
                    f"params must be a mapping or a sequence, not {type(params).__name__}",
                    method=method,
                )
        adapter: TypeAdapter[Any] | None
        bound = self._bound.get(method)
        if bound is None:
            adapter, value = self._unrouted(method, params)
        else:
            handler, validated = self._prepare(bound, method, params)
            try:
                value = await handler(**validated.__dict__)
            except Exception as exc:
                raise self._handler_failed(exc, bound.route, method) from None
            adapter = bound.route.result
        if adapter is None:
            return None
        try:
            return adapter.dump_python(value, mode="json", by_alias=True)
        except (PydanticSerializationError, ValueError, TypeError):
            raise self._serialisation_failed(method) from None

    # -- wire entry point ---------------------------------------------------------

    async def handle(self, body: bytes) -> bytes | None:
        """Answer one HTTP request body; ``None`` means there is nothing to send."""
        try:
            payload = from_json(body, allow_inf_nan=False)
        except ValueError as exc:
            return _error_response(None, ParseError(_parse_error_message(body, exc)))
        is_batch = type(payload) is list
        if is_batch:
            if not payload:
                return _error_response(None, InvalidRequest("invalid request: empty batch"))
            if len(payload) > self._max_batch:
                return _error_response(
                    None,
                    LimitExceeded(
                        f"batch has {len(payload)} requests; this server accepts at most {self._max_batch}"
                    ),
                )
            duplicate = _duplicate_id(payload)
            if duplicate is not _ABSENT:
                # Answers are matched to calls by id: with two calls under one id, the
                # client cannot tell which answer is whose. Nothing runs.
                return _error_response(
                    None, InvalidRequest(f"invalid request: id {_short(repr(duplicate))} is used twice in the batch")
                )
        # A single request runs as a batch of one.  The loop body is the hot
        # path of the server, so it is written out here rather than spread over
        # per-entry coroutines.
        answers: list[bytes] = []
        for request in payload if is_batch else (payload,):
            parsed = _parse_request(request)
            if isinstance(parsed, bytes):
                answers.append(parsed)
                continue
            request_id, is_notification, method, params = parsed
            adapter: TypeAdapter[Any] | None
            try:
                bound = self._bound.get(method)
                if bound is None:
                    adapter, value = self._unrouted(method, params)
                else:
                    handler, validated = self._prepare(bound, method, params)
                    try:
                        value = await handler(**validated.__dict__)
                    except Exception as exc:
                        raise self._handler_failed(exc, bound.route, method) from None
                    adapter = bound.route.result
                if is_notification:
                    continue
                if adapter is None:
                    result = b"null"
                else:
                    try:
                        result = adapter.dump_json(value, by_alias=True)
                    except (PydanticSerializationError, ValueError, TypeError):
                        raise self._serialisation_failed(method) from None
            except RpcError as exc:
                if not is_notification:
                    answers.append(_error_response(request_id, exc))
                continue
            answers.append(b"".join((_RESULT_HEAD, to_json(request_id), _RESULT_MIDDLE, result, b"}")))
        if not answers:
            return None
        if not is_batch:
            return answers[0]
        return b"[" + b",".join(answers) + b"]"

    # -- shared core ----------------------------------------------------------------

    def _unrouted(self, method: str, params: Any) -> tuple[TypeAdapter[Any], Any]:
        if method == DISCOVER:
            return self._discover(params)
        raise MethodNotFound(f"method not found: {_short(method)!r}", method=method)

    def _prepare(self, bound: _Bound, method: str, params: Any) -> tuple[Any, BaseModel]:
        """Validate params and look up the handler: everything up to the call.

        The handler is then called with the params model's fields as keyword
        arguments.  Callers pass the model's ``__dict__`` for that: pydantic
        keeps exactly the field values there (extras live elsewhere), so it is
        that mapping without rebuilding it field by field.
        """
        if type(params) is not dict:
            params = self._as_dict(bound, method, params)
        route = bound.route
        try:
            # Generated models ignore unknown keys, so that an older client can read a
            # newer server's answers; in a request, an unknown key is a client bug.
            validated = route.params.model_validate(params, by_alias=True, by_name=True, extra="forbid")
        except ValidationError as exc:
            raise _invalid_params(method, exc) from None
        handler = getattr(self._service, route.handler, None)
        if handler is None:
            raise NotImplementedRpc(
                f"{method} is not implemented by this service (no handler {route.handler!r})",
                method=method,
            )
        return handler, validated

    @staticmethod
    def _handler_failed(exc: Exception, route: Route, method: str) -> RpcError:
        """The error to answer with for an exception raised by a handler."""
        if isinstance(exc, RpcError):
            if exc.method is None:
                exc.method = method
            return exc
        if isinstance(exc, NotImplementedError):
            return NotImplementedRpc(f"{method} is not implemented by this service", method=method)
        # The client only learns that something broke; the traceback, which
        # may reveal internals, goes to the server log.
        log.error("handler %r for %s failed", route.handler, method, exc_info=exc)
        return InternalError("internal error", method=method)

    @staticmethod
    def _as_dict(bound: _Bound, method: str, params: Any) -> dict[str, Any]:
        """Missing params are ``{}``; by-position params map onto the fields in order."""
        if params is None:
            return {}
        if isinstance(params, list):
            if len(params) > len(bound.fields):
                names = ", ".join(bound.fields) or "none"
                raise InvalidParams(
                    f"invalid params: {method} takes at most {len(bound.fields)} positional "
                    f"params ({names}), got {len(params)}",
                    method=method,
                )
            return dict(zip(bound.fields, params))
        raise InvalidParams("invalid params: expected an object or an array", method=method)

    def _discover(self, params: Any) -> tuple[TypeAdapter[Any], Any]:
        if self._openrpc is None:
            raise MethodNotFound("this service publishes no OpenRPC document", method=DISCOVER)
        if params:
            raise InvalidParams(f"invalid params: {DISCOVER} takes no params", method=DISCOVER)
        return _ANY_ADAPTER, self._openrpc

    @staticmethod
    def _serialisation_failed(method: str) -> InternalError:
        log.exception("result of %s could not be serialised", method)
        return InternalError("internal error", method=method)


#: The CRUD verbs every root type exposes, in the order they are documented.
CRUD_VERBS: Final = ("new", "get", "set", "delete", "list", "list_full", "exists", "find", "find_page", "count")


def crud_routes(type_name: str, model: type[BaseModel], filter_model: type[BaseModel]) -> dict[str, Route]:
    """The CRUD routes of a root type, keyed by wire name.

    Wire names are ``f"{type_name}.{verb}"`` and handler names
    ``f"{type_name}_{verb}"`` (``agent_memory.list_full`` ->
    ``agent_memory_list_full``).
    """
    if not type_name.isidentifier():
        raise ValueError(f"type_name must be a Python identifier, got {type_name!r}")
    one: TypeAdapter[Any] = TypeAdapter(model)
    many: TypeAdapter[Any] = TypeAdapter(list[model])  # type: ignore[valid-type]
    obj_params: type[BaseModel] = ObjParams[model]  # type: ignore[valid-type]
    find_params: type[BaseModel] = FindParams[filter_model]  # type: ignore[valid-type]
    find_page_params: type[BaseModel] = FindPageParams[filter_model]  # type: ignore[valid-type]
    count_params: type[BaseModel] = CountParams[filter_model]  # type: ignore[valid-type]
    page: TypeAdapter[Any] = TypeAdapter(Page[model])  # type: ignore[valid-type]
    t = type_name
    table: list[tuple[str, type[BaseModel], TypeAdapter[Any] | None, str]] = [
        ("new", obj_params, one, f"Store a new {t} and return it as stored, with its sid."),
        ("get", SidParams, one, f"Return the {t} with the given sid."),
        ("set", obj_params, one, f"Replace the stored {t} that has the object's sid; return it as stored."),
        ("delete", SidParams, None, f"Delete the {t} with the given sid."),
        ("list", NoParams, TypeAdapter(list[str]), f"Return the sids of all stored {t} objects."),
        ("list_full", ListFullParams, many, f"Return one page of stored {t} objects."),
        ("exists", SidParams, TypeAdapter(bool), f"Return whether a {t} with the given sid exists."),
        ("find", find_params, many, f"Return the {t} objects that match the filter, ordered and paged."),
        ("find_page", find_page_params, page, f"Return one page of the matching {t} objects and the next cursor."),
        ("count", count_params, TypeAdapter(int), f"Return how many {t} objects match the filter."),
    ]
    return {
        f"{t}.{verb}": Route(f"{t}.{verb}", f"{t}_{verb}", params, result, description)
        for verb, params, result, description in table
    }
