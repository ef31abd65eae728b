"""`osis serve`: the ai domain on a store, over TCP or a unix socket.

One port serves two apps: the JSON-RPC API (`POST /rpc`, `/health`, `/openrpc.json`,
`/.well-known/heroservice.json`, exactly as `osis.rpc.app` serves them) and the REST API
with its dashboard (`/`, `/api/...`, `/docs`), which reaches the same service through the
generated async client on an in-process transport. In front of both sits the auth gate
(`osis.auth.gate`): the caller's principal, set there, reaches the service through that
in-process transport in a context variable.
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import socket
import sys
from dataclasses import dataclass
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from osis.rpc.app import create_app, serve
from osis.rpc.limits import BodyGuard, Limits
from osis.store.engine import Engine, open_engine

log = logging.getLogger("osis.server")

DEFAULT_STORE = "sqlite:///osis.db"


@dataclass(frozen=True)
class Listen:
    host: str = "127.0.0.1"
    port: int = 8080
    socket: str | None = None

    def __str__(self) -> str:
        return f"unix:{self.socket}" if self.socket else f"{self.host}:{self.port}"


def parse_listen(text: str) -> Listen:
    """`HOST:PORT`, `:PORT` or `[v6]:PORT`; ValueError with a clear message otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--listen must be HOST:PORT with a port 1..65535, got {text!r}")
    host = host.strip("[]") or "127.0.0.1"
    return Listen(host, int(port))


def open_store(url: str, allow_breaking_schema: bool = False) -> Engine:
    """Open the engine and create or upgrade the ai domain's collections and the tokens'.

    A schema that breaks the data the store holds is refused (`osis.evolution`) unless
    `allow_breaking_schema` is given.
    """
    from osis.auth.tokens import TokenStore
    from osis.binding import bind_package
    from osis.evolution import schema_record

    binding = bind_package("osis_ai")
    engine = open_engine(url)
    try:
        engine.open(TokenStore.specs_with_tokens(binding.specs), schema_record(binding, allow_breaking_schema))
    except BaseException:
        engine.close()
        raise
    return engine


#: Paths of the JSON-RPC app; everything else belongs to the REST app.
RPC_PATHS: Final = frozenset({"/rpc", "/health", "/openrpc.json", "/.well-known/heroservice.json"})


class OnePort:
    """Routes each request to the JSON-RPC app or the REST app by its path.

    The JSON-RPC app is a bare ASGI callable built to keep small calls cheap, so its paths
    are picked out with one set lookup before the REST app's routing runs. Lifespan events
    go to the REST app: it closes its client at shutdown, while the JSON-RPC app has no
    start-up or shutdown work.
    """

    def __init__(self, rpc: ASGIApp, rest: ASGIApp) -> None:
        self.rpc = rpc
        self.rest = rest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in RPC_PATHS:
            await self.rpc(scope, receive, send)
        else:
            await self.rest(scope, receive, send)


def build_app(engine: Engine, limits: Limits = Limits(), *, auth: bool = False,
              token_ttl: float | None = None) -> ASGIApp:
    """JSON-RPC, REST and dashboard of the ai domain on one store engine, within `limits`, behind the auth gate.

    The gate demands tokens when `auth` is true or the store has issued any; `token_ttl`
    is how long a checked token is trusted (see `osis.auth.gate`).
    """
    from osis_ai.client import AsyncAiClient
    from osis_ai.server import AiDispatcher, openrpc_document

    from osis.ai.service import AiStoreService
    from osis.auth.gate import DEFAULT_TTL, AuthGate, Authenticator
    from osis.auth.tokens import TokenStore
    from osis.rest import create_rest_app
    from osis.rpc.transport import AsyncInProcessTransport

    dispatcher = AiDispatcher(AiStoreService(engine, max_page=limits.max_page), max_batch=limits.max_batch)
    rpc = create_app(dispatcher, service_name="osis_ai", openrpc=openrpc_document(), max_body=limits.max_body,
                     max_depth=limits.max_depth)
    rest = create_rest_app(lambda: AsyncAiClient(transport=AsyncInProcessTransport(dispatcher)))
    ttl = DEFAULT_TTL if token_ttl is None else token_ttl
    return AuthGate(OnePort(rpc, BodyGuard(rest, limits)), Authenticator(TokenStore(engine), required=auth, ttl=ttl))


class ExposureError(Exception):
    """Serving on a network address without auth, and without `--insecure`."""


def is_loopback(host: str) -> bool:
    """Whether every address `host` stands for is a loopback address."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return False  # binding will fail with its own clear message
    return bool(infos) and all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)


def check_exposure(listen: Listen, *, auth: bool, insecure: bool) -> None:
    """Refuse a non-loopback TCP address without auth unless `insecure`; warn when it is allowed."""
    if listen.socket is not None or auth or is_loopback(listen.host):
        return
    if not insecure:
        raise ExposureError(
            f"refusing to serve {listen} without auth: create a token (osis token create --admin) or pass "
            "--auth, or pass --insecure to let anyone who can reach the address read and change everything"
        )
    message = f"serving {listen} WITHOUT AUTH (--insecure): anyone who can reach it can read and change everything"
    print(f"osis: warning: {message}", file=sys.stderr)
    log.warning(message)


def run(store: str, listen: Listen, limits: Limits = Limits(), *, auth: bool = False, insecure: bool = False,
        allow_breaking_schema: bool = False) -> None:
    """Serve until SIGINT/SIGTERM; in-flight requests finish, then the store closes."""
    from osis.auth.tokens import TokenStore

    engine = open_store(store, allow_breaking_schema)
    try:
        issued = TokenStore(engine).any_issued()
        if auth and not issued:
            log.warning("auth is on but this store has issued no token yet: create one with `osis token create`")
        auth = auth or issued
        check_exposure(listen, auth=auth, insecure=insecure)
    except BaseException:
        engine.close()
        raise
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal with the
    # handler it found installed. With this one, that ends in a normal exit (status 0)
    # through the `finally` below, so the store is closed cleanly, not killed.
    previous = signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        app = build_app(engine, limits, auth=auth)
        log.info("store open", extra={"store": redact(store), "auth": auth})
        serve(app, host=listen.host, port=listen.port, socket=listen.socket, log_level="info", own_logging=False,
              header_timeout=limits.header_timeout, body_timeout=limits.body_timeout,
              keep_alive_timeout=limits.keep_alive_timeout)
    finally:
        signal.signal(signal.SIGTERM, previous)
        engine.close()
        log.info("store closed")


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def redact(url: str) -> str:
    """The store URL without its password, for logs and messages."""
    head, at, tail = url.rpartition("@")
    if not at or "://" not in head:
        return url
    scheme, _, userinfo = head.partition("://")
    return f"{scheme}://{userinfo.split(':', 1)[0]}@{tail}"
