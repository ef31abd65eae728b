"""The ASGI layer in front of OSIS that demands a bearer token and sets the principal.

Auth is in force when the server was started with `--auth` or when the store has ever
issued a token (checked again every `ttl` seconds, so a token created while the server
runs switches auth on). Then every request needs `Authorization: Bearer <token>`,
except the paths in :data:`OPEN_PATHS` and under :data:`OPEN_PREFIXES`, which serve no
stored data: the health check, the service and API descriptions, the API reference page
and the dashboard's page, with their assets (the dashboard asks for a token and sends it
with its API calls; the reference page has an "Authorize" button).

Without a valid token the answer is 401 with `WWW-Authenticate: Bearer`: on `/rpc` its
body is a JSON-RPC error object (code -32004, UNAUTHORIZED, id null), so generated
clients raise `osis.rpc.errors.Unauthorized`; elsewhere it is the REST error body.

Valid tokens are remembered for `ttl` seconds (1 s by default), so a revocation takes
effect on every server within that time without a store lookup per request. Unknown
tokens are never remembered: they cannot fill the cache.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Final

from pydantic_core import to_json
from starlette.types import ASGIApp, Receive, Scope, Send

from osis.rpc.errors import UNAUTHORIZED, UNAVAILABLE
from osis.service.errors import rpc_error
from osis.store.errors import StoreError

from .principal import Principal, acting_as
from .tokens import TokenStore

log = logging.getLogger("osis.auth")

OPEN_PATHS: Final = frozenset(
    {"/health", "/.well-known/heroservice.json", "/openrpc.json", "/openapi.json", "/docs", "/"}
)
OPEN_PREFIXES: Final = ("/static/", "/docs/assets/")
DEFAULT_TTL: Final = 1.0
#: Valid tokens remembered at most; beyond that the cache starts afresh.
_CACHE_SIZE: Final = 4096


def _is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


class Authenticator:
    """Decides whether auth is in force and who a token belongs to, with a short cache."""

    def __init__(self, tokens: TokenStore, *, required: bool = False, ttl: float = DEFAULT_TTL) -> None:
        if ttl < 0:
            raise ValueError(f"ttl must be at least 0, got {ttl}")
        self.tokens = tokens
        self.ttl = ttl
        self._required = required
        self._checked_at = -float("inf")
        self._known: dict[str, tuple[Principal, float]] = {}

    async def required(self) -> bool:
        """Whether requests need a token. Once true it stays true: tokens are never deleted."""
        if not self._required and time.monotonic() - self._checked_at >= self.ttl:
            self._required = await asyncio.to_thread(self.tokens.any_issued)
            self._checked_at = time.monotonic()
        return self._required

    async def principal(self, token: str) -> Principal | None:
        now = time.monotonic()
        known = self._known.get(token)
        if known is not None and now - known[1] < self.ttl:
            return known[0]
        principal = await asyncio.to_thread(self.tokens.lookup, token)
        if principal is None:
            self._known.pop(token, None)
            return None
        if len(self._known) >= _CACHE_SIZE:
            self._known.clear()
        self._known[token] = (principal, now)
        return principal


def bearer(scope: Scope) -> str | None:
    """The token of the request's `Authorization: Bearer` header, if there is one."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            text: str = value.decode("latin-1")
            scheme, _, token = text.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


class AuthGate:
    """Wraps an ASGI app: every request outside the open paths runs as its token's principal."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Only HTTP carries API calls: lifespan events pass, and both apps refuse websockets.
        if scope["type"] != "http" or _is_open(scope["path"]):
            await self.app(scope, receive, send)
            return
        token = bearer(scope)
        try:
            required = await self.authenticator.required()
            principal = None if token is None or not required else await self.authenticator.principal(token)
        except StoreError as err:
            # Answered as the API answers the same outage: the store's own message, 503 to retry.
            log.error("cannot check a token: %s", err)
            await _answer(send, scope["path"], 503, rpc_error(err).message, unauthorized=False)
            return
        if not required:
            await self.app(scope, receive, send)
            return
        if principal is None:
            why = "missing bearer token" if token is None else "invalid or revoked token"
            await _answer(send, scope["path"], 401, f"{why}: send Authorization: Bearer <token>", unauthorized=True)
            return
        with acting_as(principal):
            await self.app(scope, receive, send)


async def _answer(send: Send, path: str, status: int, message: str, *, unauthorized: bool) -> None:
    if path == "/rpc":
        code = UNAUTHORIZED if unauthorized else UNAVAILABLE
        body = to_json({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}})
    else:
        body = to_json({"error": message, "errors": []})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode("ascii"))]
    if unauthorized:
        headers.append((b"www-authenticate", b'Bearer realm="osis"'))
    elif status == 503:
        headers.append((b"retry-after", b"5"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
