"""Every failure as a JSON error with a fitting status: `{"error": "...", ...}`.

OSIS answers with typed `RpcError`s; each maps to the HTTP status that says the same
thing (NotFound -> 404, InvalidParams -> 422, Unavailable -> 503, ...). Failures of OSIS
itself are 502: this app is a gateway, and the fault lies upstream. Bad parameters get a
422 naming each offending parameter. Nothing answers with a traceback.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException

from osis.rpc.errors import (
    Conflict,
    Forbidden,
    InvalidParams,
    LimitExceeded,
    MethodNotFound,
    NotFound,
    NotImplementedRpc,
    RpcError,
    TransportError,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)

log = logging.getLogger("osis.rest")

_STATUS: Final[tuple[tuple[type[RpcError], int], ...]] = (
    (NotFound, 404),
    (Conflict, 409),
    (InvalidParams, 422),
    (ValidationFailed, 422),
    (Unauthorized, 401),
    (Forbidden, 403),
    (LimitExceeded, 413),
    # The OSIS at the other end does not serve the method: an older server.
    (NotImplementedRpc, 501),
    (MethodNotFound, 501),
    (Unavailable, 503),
)


class ParamError(BaseModel):
    """One rejected parameter."""

    parameter: str
    location: str  # "query", "path" or "body"
    message: str


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: str
    errors: list[ParamError] = []


# OpenAPI `responses` entries for the statuses every API route may answer with.
COMMON_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    401: {"model": ErrorBody, "description": "Auth is on and the request has no valid `Authorization: Bearer` token."},
    # Answered by `osis serve` before the route runs (osis.rpc.limits.BodyGuard).
    413: {"model": ErrorBody, "description": "The request body is larger than the server accepts."},
    422: {"model": ErrorBody, "description": "A parameter is invalid; `errors` names each one."},
    502: {"model": ErrorBody, "description": "OSIS failed or answered with something unreadable."},
    503: {"model": ErrorBody, "description": "OSIS or its store is unavailable; retry later."},
}
BAD_BODY: Final[dict[int | str, dict[str, Any]]] = {
    400: {"model": ErrorBody, "description": "The body cannot be read: it is not UTF-8 JSON."}
}
NOT_FOUND: Final[dict[int | str, dict[str, Any]]] = {404: {"model": ErrorBody, "description": "No such object."}}
CONFLICT: Final[dict[int | str, dict[str, Any]]] = {
    409: {"model": ErrorBody, "description": "The change conflicts with a stored object."}
}


def http_status(error: RpcError) -> int:
    for cls, status in _STATUS:
        if isinstance(error, cls):
            return status
    return 502


def _json(status: int, body: ErrorBody, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _describe(loc: tuple[Any, ...]) -> tuple[str, str]:
    """("query", "limit") -> ("query", "limit"); ("body", "tags", 0) -> ("body", "tags.0")."""
    where = str(loc[0]) if loc else "request"
    name = ".".join(str(part) for part in loc[1:])
    return where, name or where


def _rejected_params(exc: RequestValidationError) -> JSONResponse:
    problems = []
    for err in exc.errors():
        where, name = _describe(tuple(err.get("loc", ())))
        message = str(err.get("msg", "invalid value"))
        if err.get("type") == "json_invalid":
            name, message = "body", "the body is not valid JSON"
        problems.append(ParamError(parameter=name, location=where, message=message))
    first = problems[0] if problems else ParamError(parameter="request", location="request", message="invalid")
    label = "body" if first.parameter == "body" else f"{first.location} parameter '{first.parameter}'"
    summary = f"invalid {label}: {first.message}"
    if len(problems) > 1:
        summary += f" (and {len(problems) - 1} more)"
    return _json(422, ErrorBody(error=summary, errors=problems))


def _upstream_params(error: InvalidParams | ValidationFailed) -> list[ParamError]:
    # OSIS names the field in `data` ({"field": "limit"} from the service, a pydantic
    # error list from the dispatcher); show it when it is there.
    data = error.data
    if isinstance(data, dict) and isinstance(data.get("field"), str):
        where = str(data.get("in") or "query")
        return [ParamError(parameter=data["field"], location=where, message=error.message)]
    return []


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into a JSON error answer."""

    @app.exception_handler(RequestValidationError)
    async def on_bad_params(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _rejected_params(exc)

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such page: {request.url.path}"
        elif exc.status_code == 400:
            # FastAPI's only 400: a body it could not even decode.
            detail = f"invalid body: {detail[:1].lower()}{detail[1:]}"
        return _json(exc.status_code, ErrorBody(error=detail), dict(exc.headers or {}))

    @app.exception_handler(RpcError)
    async def on_rpc(request: Request, exc: RpcError) -> JSONResponse:
        status = http_status(exc)
        if status == 502:
            log.error("OSIS failed", extra={"path": request.url.path, "rpc_error": str(exc)})
            return _json(502, ErrorBody(error=f"OSIS failed: {exc.message}"))
        errors = _upstream_params(exc) if isinstance(exc, (InvalidParams, ValidationFailed)) else []
        headers = {"Retry-After": "5"} if status == 503 else None
        return _json(status, ErrorBody(error=exc.message, errors=errors), headers)

    @app.exception_handler(TransportError)
    async def on_transport(request: Request, exc: TransportError) -> JSONResponse:
        log.warning("OSIS unreachable", extra={"path": request.url.path, "transport_error": str(exc)})
        return _json(503, ErrorBody(error=f"OSIS is unreachable: {exc.message}"), {"Retry-After": "5"})

    @app.exception_handler(ValidationError)
    async def on_bad_answer(request: Request, exc: ValidationError) -> JSONResponse:
        # Request input is validated by FastAPI (RequestValidationError, above), and the
        # routes build OSIS inputs only from validated values; a bare ValidationError is
        # the generated client refusing an answer from OSIS that does not fit its schema.
        log.error("malformed answer from OSIS", extra={"path": request.url.path, "detail": str(exc)})
        return _json(502, ErrorBody(error="OSIS answered with data that does not match its schema"))

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        # The ASGI server logs the traceback when the exception propagates past this answer.
        log.error("REST request failed", extra={"path": request.url.path, "error": repr(exc)})
        return _json(500, ErrorBody(error="internal error; the server log has the details"))
