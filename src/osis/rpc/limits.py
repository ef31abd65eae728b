"""What one request may cost a server: body size, JSON nesting, batch and page size, time.

:class:`Limits` gathers every bound ``osis serve`` enforces, with safe defaults; each is
a command-line flag. The helpers here apply the bounds that concern the request body,
before anything parses it:

* :func:`read_body` reads a body whole, refusing it (413) as soon as it is larger than
  ``max_body`` (before reading a byte when ``Content-Length`` says so);
* :func:`too_deep` tells whether a JSON text nests arrays and objects deeper than
  ``max_depth``, without parsing it;
* :class:`BodyGuard` applies both to every request of an ASGI app that reads bodies
  itself (the REST app), answering with the app's JSON error shape.

The deadlines (``header_timeout``, ``body_timeout``, ``keep_alive_timeout``) are the HTTP
server's business, kept per connection at no cost per request: see
:func:`osis.rpc.app.serve`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from itertools import accumulate
from typing import Final

from pydantic_core import to_json
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "MAX_DEPTH_CEILING",
    "MAX_PAGE_CEILING",
    "BodyGuard",
    "BodyRefused",
    "InvalidLimit",
    "Limits",
    "is_json_type",
    "read_body",
    "too_deep",
]

#: The JSON parser of the JSON-RPC app stops at 200 levels by itself; a larger
#: configured depth would never be reached.
MAX_DEPTH_CEILING: Final = 200
#: The wire schema's ceiling for ``limit`` of the CRUD ``list_full``/``find`` methods.
MAX_PAGE_CEILING: Final = 10_000


class InvalidLimit(ValueError):
    """A bound out of its range: ``field`` names it, ``reason`` says what it must be."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field} {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    """Every per-request bound of a server; the defaults are what ``osis serve`` uses."""

    max_body: int = 8 * 1024 * 1024
    """Largest request body in bytes (JSON-RPC and REST); larger ones get 413."""
    max_batch: int = 1000
    """Most calls in one JSON-RPC batch."""
    max_depth: int = 32
    """Deepest nesting of JSON arrays and objects in a request body."""
    max_page: int = 1000
    """Largest ``limit`` of any paged call (CRUD ``find``/``list_full``, the ai searches, REST lists)."""
    body_timeout: float = 30.0
    """Seconds a client has to send a whole request body once its headers arrived."""
    header_timeout: float = 10.0
    """Seconds a client has to send a request's headers once it started the request (or connected)."""
    keep_alive_timeout: int = 5
    """Seconds an idle keep-alive connection is kept open between requests."""

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise InvalidLimit(field.name, f"must be a positive number, got {value!r}")
        if self.max_depth > MAX_DEPTH_CEILING:
            raise InvalidLimit("max_depth", f"must be at most {MAX_DEPTH_CEILING}, got {self.max_depth}")
        if self.max_page > MAX_PAGE_CEILING:
            raise InvalidLimit("max_page", f"must be at most {MAX_PAGE_CEILING}, got {self.max_page}")


class BodyRefused(Exception):
    """A request body the server will not take: ``status`` (413) and a one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_body(scope: Scope, receive: Receive, *, max_body: int) -> bytes | None:
    """The whole body of an HTTP request, or ``None`` when the client went away.

    Raises :class:`BodyRefused` (413) when the body is larger than ``max_body``, before
    reading any of it if ``Content-Length`` announces that. (A body that is too slow to
    arrive is the HTTP server's to cut off: :func:`osis.rpc.app.serve`.)
    """
    for name, value in scope["headers"]:
        if name == b"content-length":
            if value.isdigit() and int(value) > max_body:
                raise BodyRefused(413, f"request body too large: this server accepts at most {max_body} bytes")
            break
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > max_body:
            raise BodyRefused(413, f"request body too large: this server accepts at most {max_body} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


# Every byte but quotes and brackets, deleted with bytes.translate.
_NOT_STRUCTURE: Final = bytes(b for b in range(256) if b not in b'"[]{}')
_STEP: Final = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def too_deep(body: bytes, max_depth: int) -> bool:
    """Whether the JSON text ``body`` nests arrays and objects more than ``max_depth`` deep.

    Counting brackets is enough for almost every real body (fewer openings than the limit
    cannot nest deeper). Otherwise the brackets outside string literals are walked: escaped
    backslashes and quotes are dropped first (so each quote left delimits a string), then
    everything but quotes and brackets, then every other quote-separated piece (the
    strings); all in C, so a 1000-call batch costs about a millisecond. Malformed JSON gets
    an answer too; its parser refuses it anyway.
    """
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return False
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(unescaped.translate(None, _NOT_STRUCTURE).split(b'"')[::2])
    # any() stops at the first level too deep: a body of nothing but "[" costs little.
    return any(depth > max_depth for depth in accumulate(map(_STEP.__getitem__, brackets)))


def is_json_type(content_type: bytes) -> bool:
    """Whether a Content-Type header value names JSON (``application/json`` or ``application/*+json``)."""
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))


class BodyGuard:
    """ASGI middleware applying ``max_body`` and ``max_depth`` to ``app``.

    The body is read here, whole, then handed to ``app`` as one message: the app never
    sees a byte more than the limit. A refusal is ``{"error": "..."}`` with 413 or (too
    deep) 400; it closes the connection, whose unread rest would otherwise be taken for
    the next request.
    """

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits = self.limits
        try:
            body = await read_body(scope, receive, max_body=limits.max_body)
        except BodyRefused as refused:
            await _refuse(send, refused.status, refused.message)
            return
        if body is None:
            return
        # Whatever the Content-Type says: FastAPI parses a body without one as JSON too.
        if body and too_deep(body, limits.max_depth):
            await _refuse(send, 400, f"invalid body: JSON nested deeper than {limits.max_depth} levels")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            # After the body, the only news is the client leaving.
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Send, status: int, message: str) -> None:
    body = to_json({"error": message})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
