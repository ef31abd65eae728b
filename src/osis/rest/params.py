"""Query parameter types shared by the REST routes, with the bounds OSIS enforces.

Checking the bounds here, not only in OSIS, lets a bad value be answered with a 422
naming the parameter as the caller spelt it, and puts the bounds in the OpenAPI document.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Any, Final
from urllib.parse import unquote_to_bytes

from fastapi import Query
from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import to_json
from starlette.types import ASGIApp, Receive, Scope, Send

from osis.scalars import to_utc_second

#: Largest page the ai service returns (`90_rpc.oschema`: at most 1000).
MAX_LIMIT: Final = 1000
DEFAULT_LIMIT: Final = 50
#: Longest window the ai service accepts, in UTC days.
MAX_DAYS: Final = 3660
#: Filters are short names and search terms; a bound keeps a query string from becoming a payload.
MAX_TEXT: Final = 200

# PostgreSQL text cannot hold NUL, and no name or search term needs it: refused up front
# so every engine answers the same 422.
NO_NUL: Final = r"^[^\x00]*$"

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}.")]
Offset = Annotated[int, Query(ge=0, le=2**32 - 1, description="Matches to skip.")]
Days = Annotated[int, Query(ge=1, le=MAX_DAYS, description="UTC days to cover, today included.")]
OptionalDays = Annotated[
    int | None, Query(ge=1, le=MAX_DAYS, description="Only the last N UTC days, today included (default: all time).")
]


def text_query(description: str) -> object:
    return Query(max_length=MAX_TEXT, pattern=NO_NUL, description=description)


UserFilter = Annotated[str | None, text_query("Only this user's records (an empty value means every user).")]

#: A string field of a request body: bounded in size and free of NUL.
BodyText = Annotated[str, Field(max_length=10_000, pattern=NO_NUL)]
ShortText = Annotated[str, Field(min_length=1, max_length=MAX_TEXT, pattern=NO_NUL)]


def blank_to_none(value: str | None) -> str | None:
    """`?user_sid=` (as a form leaves it) means no filter, not "the user with an empty sid"."""
    return value or None


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(value: Any) -> Any:
    # Stricter than the models' `otime`, which also takes epoch seconds: in a query string
    # "1.5" is more likely a mistake than a moment in 1970. The offset is required, as
    # RFC 3339 requires it; without one the time would be ambiguous.
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("expected an RFC 3339 time with an offset, like 2026-05-04T09:30:00Z")
    return value


#: A moment given in a query string: RFC 3339 with an offset, read as UTC to the second.
Rfc3339 = Annotated[
    datetime,
    BeforeValidator(_rfc3339),
    AfterValidator(to_utc_second),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def non_utf8_parameter(query_string: bytes) -> str | None:
    """The name of the first query parameter that is not UTF-8 once percent-decoded, if any.

    Starlette decodes query strings leniently, turning such bytes into U+FFFD, so that
    `?q=%ff` would search for a replacement character instead of being refused.
    """
    if b"%" not in query_string and query_string.isascii():
        return None
    for pair in query_string.split(b"&"):
        name, _, value = pair.partition(b"=")
        for part in (name, value):
            try:
                unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
            except UnicodeDecodeError:
                return unquote_to_bytes(name).decode("utf-8", errors="replace")[:MAX_TEXT]
    return None


class Utf8Query:
    """ASGI middleware answering 422, naming the parameter, to a query string that is not UTF-8."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            name = non_utf8_parameter(scope.get("query_string", b""))
            if name is not None:
                message = "not valid UTF-8 once percent-decoded"
                body = to_json({"error": f"invalid query parameter {name!r}: {message}",
                                "errors": [{"parameter": name, "location": "query", "message": message}]})
                await send({"type": "http.response.start", "status": 422,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode("ascii"))]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
