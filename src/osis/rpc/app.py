"""The HTTP face of an OSIS service: an ASGI app and a uvicorn runner.

Endpoints of :func:`create_app`:

``POST /rpc``
    JSON-RPC 2.0 (see :mod:`osis.rpc.dispatch`).  Every JSON-RPC answer,
    including error answers, is ``200 application/json``; a request made only
    of notifications gets ``204`` with no body.  A body larger than
    ``max_body`` gets ``413`` (and one too slow to arrive ``408``, see
    :func:`serve`), both with a LIMIT_EXCEEDED error object; a body nesting JSON
    deeper than ``max_depth`` gets a LIMIT_EXCEEDED answer.  A ``Content-Type`` other
    than JSON gets ``415`` (an HTML form could otherwise post calls cross-site);
    no ``Content-Type`` at all is taken as JSON.
``GET /health``
    ``{"status": "ok"}`` while the process serves requests.
``GET /openrpc.json``
    The service's OpenRPC document (404 if it has none).
``GET /.well-known/heroservice.json``
    Discovery document telling a generic client where things are::

        {"name": "<service_name>", "protocol": "openrpc",
         "openrpc": "/openrpc.json", "rpc": "/rpc", "health": "/health"}

    ``openrpc`` is ``null`` when the service publishes no document.

Anything else is a JSON 404, or a JSON 405 with an ``Allow`` header for a
known path used with the wrong method.

The app is a bare ASGI callable rather than a Starlette application: with
four fixed routes, routing and request objects would cost more per call than
the dispatch itself.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket as _socket
import stat
from collections.abc import Callable
from typing import Any, Final

import uvicorn
from pydantic_core import to_json
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from osis.rpc.dispatch import Dispatcher
from osis.rpc.errors import InternalError, InvalidRequest, LimitExceeded, RpcError
from osis.rpc.limits import BodyRefused, Limits, is_json_type, read_body, too_deep

__all__ = ["DEFAULT_MAX_BODY", "ServeError", "create_app", "serve"]

log = logging.getLogger("osis.rpc")

#: Default limit on a ``POST /rpc`` body.
DEFAULT_MAX_BODY: Final = Limits.max_body

_JSON_TYPE: Final = (b"content-type", b"application/json")
_BACKLOG: Final = 2048


def _json_error(request_id: Any, error: RpcError) -> bytes:
    return to_json({"jsonrpc": "2.0", "id": request_id, "error": error.to_error_object()})


class _RpcApp:
    __slots__ = ("_dispatcher", "_max_body", "_max_depth", "_static", "_too_deep", "_internal")

    def __init__(
        self,
        dispatcher: Dispatcher,
        service_name: str,
        openrpc: dict[str, Any] | None,
        max_body: int,
        max_depth: int,
    ) -> None:
        self._dispatcher = dispatcher
        self._max_body = max_body
        self._max_depth = max_depth
        discovery = {
            "name": service_name,
            "protocol": "openrpc",
            "openrpc": "/openrpc.json" if openrpc is not None else None,
            "rpc": "/rpc",
            "health": "/health",
        }
        # Bodies of the GET endpoints never change: serialise them once.
        self._static: dict[str, bytes] = {
            "/health": b'{"status":"ok"}',
            "/.well-known/heroservice.json": to_json(discovery),
        }
        if openrpc is not None:
            self._static["/openrpc.json"] = to_json(openrpc)
        self._too_deep = _json_error(
            None, LimitExceeded(f"request JSON nested deeper than {max_depth} levels; this server accepts no more")
        )
        self._internal = _json_error(None, InternalError("internal error"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1003})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        if path == "/rpc":
            if method == "POST":
                await self._rpc(scope, receive, send)
            else:
                await _respond(send, 405, _problem("method not allowed", path), [(b"allow", b"POST")])
            return
        body = self._static.get(path)
        if body is None:
            if path == "/openrpc.json":
                await _respond(send, 404, _problem("this service publishes no OpenRPC document", path))
            else:
                await _respond(send, 404, _problem("not found", path))
        elif method == "GET":
            await _respond(send, 200, body)
        elif method == "HEAD":
            await _respond(send, 200, body, head_only=True)
        else:
            await _respond(send, 405, _problem("method not allowed", path), [(b"allow", b"GET, HEAD")])

    async def _rpc(self, scope: Scope, receive: Receive, send: Send) -> None:
        for name, value in scope["headers"]:
            if name == b"content-type":
                if not is_json_type(value):
                    given = value[:80].decode("latin-1")
                    error = InvalidRequest(f"unsupported content type {given!r}: send application/json")
                    await _respond(send, 415, _json_error(None, error), [(b"connection", b"close")])
                    return
                break
        try:
            body = await read_body(scope, receive, max_body=self._max_body)
        except BodyRefused as refused:
            # The unread rest of the body makes the connection unusable: close it.
            await _respond(send, refused.status, _json_error(None, LimitExceeded(refused.message)),
                           [(b"connection", b"close")])
            return
        if body is None:
            return
        if too_deep(body, self._max_depth):
            await _respond(send, 200, self._too_deep)
            return
        try:
            answer = await self._dispatcher.handle(body)
        except Exception:
            # Dispatcher.handle turns handler failures into error answers
            # itself; reaching this means a bug in the runtime.
            log.exception("JSON-RPC dispatch failed")
            answer = self._internal
        if answer is None:
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
        else:
            await _respond(send, 200, answer)

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def _problem(error: str, path: str) -> bytes:
    return to_json({"error": error, "path": path})


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
    *,
    head_only: bool = False,
) -> None:
    headers = [_JSON_TYPE, (b"content-length", str(len(body)).encode("ascii"))]
    if extra_headers:
        headers.extend(extra_headers)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head_only else body})


def create_app(
    dispatcher: Dispatcher,
    *,
    service_name: str,
    openrpc: dict[str, Any] | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    max_depth: int = Limits.max_depth,
) -> ASGIApp:
    """The ASGI app serving ``dispatcher`` (endpoints in the module docstring)."""
    # Limits validates the bounds; the other fields keep their defaults.
    Limits(max_body=max_body, max_depth=max_depth)
    return _RpcApp(dispatcher, service_name, openrpc, max_body, max_depth)


# -- running -------------------------------------------------------------------------------


class ServeError(Exception):
    """The server cannot start listening (address in use, socket path taken, ...)."""


def _bind_tcp(host: str, port: int) -> _socket.socket:
    try:
        family, kind, proto, _, address = _socket.getaddrinfo(
            host, port, type=_socket.SOCK_STREAM, flags=_socket.AI_PASSIVE
        )[0]
    except _socket.gaierror as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock = _socket.socket(family, kind, proto)
    try:
        # Lets a restarted server bind while old connections sit in TIME_WAIT.
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(_BACKLOG)
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _bind_unix(path: str) -> tuple[_socket.socket, tuple[int, int]]:
    """Bind a unix socket readable and writable by this user only.

    Returns the socket and the (device, inode) of the file, so that cleanup
    removes this file and never a newer server's socket at the same path.
    """
    if os.path.lexists(path):
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise ServeError(f"{path} exists and is not a socket; refusing to replace it")
        probe = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        probe.settimeout(2.0)
        try:
            probe.connect(path)
        except (ConnectionRefusedError, FileNotFoundError):
            # Nobody accepts there: a server died without removing its socket.
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        except OSError as exc:
            raise ServeError(f"cannot tell whether a server is listening on {path}: {exc}") from None
        else:
            raise ServeError(f"another server is already listening on {path}")
        finally:
            probe.close()
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    # The file is created by bind(); with this umask it never exists, even
    # briefly, with wider permissions than 0600.
    old_umask = os.umask(0o177)
    try:
        sock.bind(path)
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on unix socket {path}: {exc.strerror or exc}") from None
    finally:
        os.umask(old_umask)
    try:
        os.chmod(path, 0o600)
        info = os.stat(path)
        sock.listen(_BACKLOG)
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on unix socket {path}: {exc.strerror or exc}") from None
    return sock, (info.st_dev, info.st_ino)


def _remover(path: str, identity: tuple[int, int]) -> Callable[[], None]:
    def remove() -> None:
        try:
            info = os.stat(path)
            if (info.st_dev, info.st_ino) == identity:
                os.unlink(path)
        except FileNotFoundError:
            pass

    return remove


_AWAITING_HEADERS, _AWAITING_BODY, _IDLE = 0, 1, 2


def _too_slow_answer(path: str, message: str) -> bytes:
    """A whole HTTP 408 response, in the error shape of the app that owns ``path``."""
    if path == "/rpc":
        body = _json_error(None, LimitExceeded(message))
    else:
        body = to_json({"error": message})
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def _with_deadlines(header_timeout: float, body_timeout: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol, with deadlines for slow clients.

    uvicorn bounds idle keep-alive connections, but not a client that sends its headers
    or its body a byte at a time (or not at all): each such client would hold a
    connection, and a task waiting on its body, forever. Here a request's headers must be
    complete within ``header_timeout`` seconds of the connection or of the request's first
    byte, and its body within ``body_timeout`` seconds of the headers. Too slow headers
    close the connection; too slow a body gets a 408 first.

    Each connection has one timer, re-armed a few times per deadline, that compares the
    current phase's start with the clock: a request only records times, which costs
    nothing measurable, instead of arming and cancelling timers of its own. A deadline
    is therefore enforced within a quarter of its length.
    """
    tick = min(header_timeout, body_timeout) / 4

    class Protocol(HttpToolsProtocol):
        _phase = _AWAITING_HEADERS
        _phase_began = 0.0
        _ticker: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._phase_began = self.loop.time()
            self._ticker = self.loop.call_later(tick, self._check)

        def _check(self) -> None:
            if self.transport.is_closing():
                return
            waited = self.loop.time() - self._phase_began
            if self._phase == _AWAITING_HEADERS and waited > header_timeout:
                self.transport.close()
            elif self._phase == _AWAITING_BODY and waited > body_timeout:
                if self.cycle is not None and not self.cycle.response_started:
                    message = f"request body too slow: it must arrive within {body_timeout:g} s"
                    self.transport.write(_too_slow_answer(self.scope["path"], message))
                self.transport.close()
            else:
                self._ticker = self.loop.call_later(tick, self._check)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._phase, self._phase_began = _AWAITING_HEADERS, self.loop.time()

        def on_headers_complete(self) -> None:
            self._phase, self._phase_began = _AWAITING_BODY, self.loop.time()
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._phase = _IDLE
            super().on_message_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._ticker is not None:
                self._ticker.cancel()
            super().connection_lost(exc)

    return Protocol


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_shutdown: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_shutdown = on_shutdown

    async def shutdown(self, sockets: list[_socket.socket] | None = None) -> None:
        # uvicorn re-raises SIGTERM after serving, which ends the process
        # before any ``finally`` of ours could run: clean up here instead.
        try:
            await super().shutdown(sockets=sockets)
        finally:
            self._on_shutdown()


def serve(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    socket: str | None = None,
    log_level: str = "info",
    access_log: bool = False,
    own_logging: bool = True,
    header_timeout: float = Limits.header_timeout,
    body_timeout: float = Limits.body_timeout,
    keep_alive_timeout: int = Limits.keep_alive_timeout,
) -> None:
    """Serve ``app`` with uvicorn until SIGINT/SIGTERM, then shut down gracefully.

    With ``socket`` the server listens on that unix socket path instead of
    ``host:port``; the file gets mode 0600, a stale file left by a dead
    server is replaced, and a live server there makes this raise
    :class:`ServeError`, as does an address already in use.  In-flight
    requests get up to 10 s to finish on shutdown.  Access logging is off by
    default: it costs a noticeable share of a small call.  ``own_logging=False``
    leaves the process's logging configuration alone.  A client gets
    ``header_timeout`` seconds to send a request's headers and ``body_timeout``
    seconds for its body (then a 408); an idle connection is closed after
    ``keep_alive_timeout`` seconds.
    """
    cleanup: Callable[[], None]
    if socket is not None:
        sock, identity = _bind_unix(socket)
        cleanup = _remover(socket, identity)
        where = f"unix socket {socket}"
    else:
        sock = _bind_tcp(host, port)
        cleanup = _nothing
        bound_host, bound_port = sock.getsockname()[:2]
        where = (
            f"http://{bound_host}:{bound_port}"
            if ":" not in bound_host
            else f"http://[{bound_host}]:{bound_port}"
        )
    config = uvicorn.Config(
        app,
        # With own_logging=False the caller has configured logging (e.g. JSON lines)
        # and uvicorn must not replace its handlers.
        log_config=uvicorn.config.LOGGING_CONFIG if own_logging else None,
        lifespan="on",
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=10,
        server_header=False,
        http=_with_deadlines(header_timeout, body_timeout),
        # No websocket endpoints: an upgrade request is an ordinary request, kept to
        # the same deadlines, instead of a connection handed to another protocol.
        ws="none",
        timeout_keep_alive=keep_alive_timeout,
    )
    server = _Server(config, cleanup)
    # uvicorn logs no address for sockets it did not bind itself.
    logging.getLogger("uvicorn.error").info("serving on %s", where)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        cleanup()


def _nothing() -> None:
    pass
