"""Transports that carry JSON-RPC calls from a client to a :class:`Dispatcher`.

Two families, each with a sync and an async flavour:

* HTTP (:class:`HttpTransport`, :class:`AsyncHttpTransport`): ``POST`` to
  ``/rpc`` over TCP or a unix domain socket, with keep-alive connections.
  They speak just the HTTP/1.1 subset a JSON-RPC exchange needs, directly on
  sockets.  A general HTTP client costs far more than the whole server-side
  call (httpx spends ~0.2 ms per request on its own machinery, ``http.client``
  about half that); this transport is measured in ``bench/rpc.py``.  An idle
  connection the server has closed is replaced transparently; bodies over
  1 MiB are announced with ``Expect: 100-continue`` so that a server refusing
  them (413, LIMIT_EXCEEDED) does so before the upload.
* In-process (:class:`InProcessTransport`, :class:`AsyncInProcessTransport`):
  call a dispatcher living in the same process, skipping HTTP and JSON text but
  applying exactly the same validation and serialisation as the wire.

Params given to a transport may contain pydantic models; they are serialised
in JSON mode with ``by_alias=True``, like ``model_dump(mode="json",
by_alias=True)`` would.  Results come back as JSON-compatible Python data;
validating them into models is the client's job.

Errors: a JSON-RPC error answer is raised as the matching
:class:`~osis.rpc.errors.RpcError` subclass with ``method`` set; a call that
got no JSON-RPC answer at all raises :class:`~osis.rpc.errors.TransportError`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import socket as _socket
import threading
import time
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias, TypeVar
from urllib.parse import urlsplit

from pydantic_core import PydanticSerializationError, from_json, to_json, to_jsonable_python

from osis.rpc.errors import LimitExceeded, RpcError, TransportError, error_for_code

if TYPE_CHECKING:
    from osis.rpc.dispatch import Dispatcher

__all__ = [
    "AsyncHttpTransport",
    "AsyncInProcessTransport",
    "AsyncTransport",
    "HttpTransport",
    "InProcessTransport",
    "Params",
    "SyncTransport",
]

#: Params of one call: by-name (mapping), by-position (sequence) or none.
Params: TypeAlias = Mapping[str, Any] | Sequence[Any] | None

T = TypeVar("T")

# Idle keep-alive connections kept per transport.  More than one lets several
# threads (or tasks) call concurrently without reconnecting; the cap stops a
# burst of concurrency from pinning server connections forever.
_MAX_IDLE: Final = 16
# A response head larger than this is not something our server sends.
_MAX_HEAD: Final = 64 * 1024
_RECV_SIZE: Final = 256 * 1024
# Bodies above this size are sent with "Expect: 100-continue": the server can
# refuse them (413) before they are uploaded, and the client then reliably
# reads that answer instead of failing on a connection reset mid-upload.
_EXPECT_CONTINUE_OVER: Final = 1024 * 1024
# How long to wait for "100 Continue" before sending the body anyway, as
# RFC 9110 (10.1.1) asks of clients, for servers that ignore the header.
_CONTINUE_WAIT: Final = 1.0


class SyncTransport(Protocol):
    """What :class:`~osis.rpc.client.SyncClient` needs from a transport."""

    def call(self, method: str, params: Params) -> Any:
        """Run one call and return its raw (JSON-compatible) result."""
        ...

    def call_batch(self, calls: Sequence[tuple[str, Params]]) -> list[Any]:
        """Run calls in one request; each entry is the raw result or an :class:`RpcError`."""
        ...

    def notify(self, method: str, params: Params) -> None:
        """Send a notification: the server runs it and sends no answer."""
        ...

    def close(self) -> None: ...


class AsyncTransport(Protocol):
    """What :class:`~osis.rpc.client.AsyncClient` needs from a transport."""

    async def call(self, method: str, params: Params) -> Any: ...

    async def call_batch(self, calls: Sequence[tuple[str, Params]]) -> list[Any]: ...

    async def notify(self, method: str, params: Params) -> None: ...

    async def close(self) -> None: ...


# -- request encoding and response decoding (shared by sync and async HTTP) ----------


def _plain_params(method: str, params: Params) -> dict[str, Any] | list[Any] | None:
    if params is None or isinstance(params, (dict, list)):
        return params
    if isinstance(params, Mapping):
        return dict(params)
    if isinstance(params, Sequence) and not isinstance(params, (str, bytes, bytearray)):
        return list(params)
    raise TypeError(
        f"params for {method!r} must be a mapping, a sequence or None, not {type(params).__name__}"
    )


def _envelope(method: str, params: Params, request_id: int | None) -> dict[str, Any]:
    if type(params) is dict and request_id is not None:
        # The common case, built in one step (this runs once per batch entry).
        return {"jsonrpc": "2.0", "method": method, "params": params, "id": request_id}
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    plain = _plain_params(method, params)
    if plain is not None:
        message["params"] = plain
    if request_id is not None:
        message["id"] = request_id
    return message


def _encode(message: Any, what: str) -> bytes:
    try:
        return to_json(message, by_alias=True)
    except PydanticSerializationError as exc:
        raise TypeError(f"params for {what} are not JSON-serialisable: {exc}") from None


def _jsonable(method: str, params: Params) -> dict[str, Any] | list[Any] | None:
    """Params as the server would see them after a JSON round trip (fresh containers)."""
    plain = _plain_params(method, params)
    if plain is None:
        return None
    try:
        result: dict[str, Any] | list[Any] = to_jsonable_python(plain, by_alias=True)
    except PydanticSerializationError as exc:
        raise TypeError(f"params for {method!r} are not JSON-serialisable: {exc}") from None
    return result


class _ProtocolError(Exception):
    """The peer did not speak the HTTP/JSON-RPC we expect."""

def _exchange_failed(exc: BaseException, target: str, timeout: float) -> TransportError:
    """The TransportError for an exchange that failed after the request was (maybe) sent."""
    if isinstance(exc, TimeoutError):
        return TransportError(f"no response within {timeout} s", target=target, cause=exc)
    if isinstance(exc, _ProtocolError):
        return TransportError("invalid HTTP response", target=target, cause=exc)
    return TransportError("connection failed", target=target, cause=exc)



class _EarlyEof(Exception):
    """The connection closed before any byte of the response arrived."""


@dataclass(slots=True)
class _Head:
    status: int
    length: int | None  # None: chunked, or delimited by connection close
    chunked: bool
    keep_alive: bool


def _parse_head(raw: bytes) -> _Head:
    lines = raw.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise _ProtocolError(f"malformed HTTP status line {lines[0][:80]!r}")
    status = int(parts[1])
    keep_alive = parts[0] == b"HTTP/1.1"
    length: int | None = None
    chunked = False
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise _ProtocolError(f"malformed HTTP header {line[:80]!r}")
        name = name.strip().lower()
        if name == b"content-length":
            value = value.strip()
            if not value.isdigit():
                raise _ProtocolError(f"bad Content-Length {value[:40]!r}")
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = value.strip().lower().endswith(b"chunked")
        elif name == b"connection":
            tokens = value.lower()
            if b"close" in tokens:
                keep_alive = False
            elif b"keep-alive" in tokens:
                keep_alive = True
    if chunked:
        length = None  # RFC 9112: Transfer-Encoding overrides Content-Length
    elif length is None and status not in (204, 304):
        keep_alive = False  # body runs to the end of the connection
    return _Head(status, length, chunked, keep_alive)


def _chunk_size(line: bytes) -> int:
    size = line.split(b";", 1)[0].strip()
    try:
        return int(size, 16)
    except ValueError:
        raise _ProtocolError(f"bad chunk size {size[:20]!r}") from None


def _decode_body(status: int, body: bytes, target: str) -> Any:
    """The JSON payload of an HTTP answer, or ``None`` for 204."""
    if status == 204:
        return None
    try:
        payload = from_json(body) if body else None
    except ValueError as exc:
        if status != 200:
            raise TransportError(f"HTTP {status} with a non-JSON body", target=target) from None
        raise TransportError("response body is not valid JSON", target=target, cause=exc) from None
    if status != 200 and not (isinstance(payload, dict) and payload.get("error") is not None):
        # Our server only answers 200, or 413 / 401 / 503 with a JSON-RPC error
        # (body too large; auth on and no valid token; the store unreachable while
        # checking it); anything else comes from something in between, such as a proxy.
        raise TransportError(f"unexpected HTTP status {status}", target=target)
    if payload is None:
        raise TransportError("empty response body", target=target)
    return payload


def _error_from(error: Any, method: str | None, target: str) -> RpcError:
    if not isinstance(error, dict):
        raise TransportError("malformed JSON-RPC error object in response", target=target)
    code = error.get("code")
    message = error.get("message")
    if not isinstance(code, int) or isinstance(code, bool) or not isinstance(message, str):
        raise TransportError("malformed JSON-RPC error object in response", target=target)
    return error_for_code(code, message, error.get("data"), method)


def _single_result(payload: Any, request_id: int, method: str, target: str) -> Any:
    if not isinstance(payload, dict):
        raise TransportError(f"expected a JSON-RPC response object for {method}", target=target)
    error = payload.get("error")
    if error is not None:
        # The id of an error answer may legitimately be null (e.g. parse error).
        raise _error_from(error, method, target)
    if "result" not in payload or payload.get("id") != request_id:
        raise TransportError(f"response to {method} has no result for id {request_id}", target=target)
    return payload["result"]


def _batch_results(
    payload: Any, first_id: int, calls: Sequence[tuple[str, Params]], target: str
) -> list[Any]:
    if isinstance(payload, dict) and payload.get("error") is not None:
        # The server refused the batch as a whole (too large, unparsable).
        raise _error_from(payload["error"], None, target)
    if not isinstance(payload, list):
        raise TransportError("expected an array as the batch response", target=target)
    results: list[Any] = []
    if len(payload) == len(calls):
        # Fast path: answers in request order, as our server sends them.
        for offset, item in enumerate(payload):
            if type(item) is not dict or item.get("id") != first_id + offset:
                break
            error = item.get("error")
            if error is None:
                results.append(item.get("result"))
            else:
                results.append(_error_from(error, calls[offset][0], target))
        else:
            return results
    # The specification lets answers come in any order: match them by id.
    by_id: dict[Any, Any] = {}
    for item in payload:
        if isinstance(item, dict):
            by_id[item.get("id")] = item
    results = []
    for offset, (method, _) in enumerate(calls):
        item = by_id.get(first_id + offset)
        if item is None:
            raise TransportError(f"batch response has no answer for entry {offset} ({method})", target=target)
        error = item.get("error")
        results.append(_error_from(error, method, target) if error is not None else item.get("result"))
    return results


# -- endpoint --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Endpoint:
    target: str  # URL or "unix:<path>", for error messages
    host: str
    port: int
    uds: str | None
    prefix: bytes  # request line and fixed headers, up to "Content-Length: "

    def head(self, body: bytes, expect_continue: bool) -> bytes:
        expect = b"\r\nExpect: 100-continue" if expect_continue else b""
        return b"".join((self.prefix, str(len(body)).encode("ascii"), expect, b"\r\n\r\n"))


def _authorization(token: str | None, owner: str) -> str:
    """The `Authorization` header line for a bearer token ("" without one)."""
    if token is None:
        return ""
    # Printable ASCII without spaces: anything else could not be a token and, with a
    # line break, would inject headers.
    if not token or not all("!" <= ch <= "~" for ch in token):
        raise ValueError(f"{owner}: token= must be non-empty printable ASCII without spaces")
    return f"Authorization: Bearer {token}\r\n"


def _endpoint(url: str | None, socket: str | None, owner: str, token: str | None = None) -> _Endpoint:
    if (url is None) == (socket is None):
        raise ValueError(f"{owner} needs exactly one of url= or socket=")
    if socket is not None:
        if not socket:
            raise ValueError(f"{owner}: socket= must be a non-empty path")
        host, port, path, host_header, target = "", 0, "/rpc", "localhost", f"unix:{socket}"
    else:
        assert url is not None
        parts = urlsplit(url)
        if parts.scheme != "http":
            raise ValueError(
                f"{owner}: unsupported URL {url!r}; use http://host:port "
                "(terminate TLS in a proxy) or socket= for a unix socket"
            )
        if not parts.hostname:
            raise ValueError(f"{owner}: URL {url!r} has no host")
        try:
            explicit_port = parts.port
        except ValueError:
            raise ValueError(f"{owner}: URL {url!r} has an invalid port") from None
        host = parts.hostname
        port = explicit_port or 80
        # A bare base URL means the conventional endpoint path.
        path = parts.path if parts.path not in ("", "/") else "/rpc"
        if parts.query:
            path = f"{path}?{parts.query}"
        bracketed = f"[{host}]" if ":" in host else host
        host_header = bracketed if explicit_port is None else f"{bracketed}:{port}"
        target = url
    prefix = (
        f"POST {path} HTTP/1.1\r\nHost: {host_header}\r\n{_authorization(token, owner)}"
        "Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: "
    ).encode("ascii")
    return _Endpoint(target, host, port, socket, prefix)


# -- sync HTTP ---------------------------------------------------------------------------


class _Conn:
    """One blocking keep-alive connection with its receive buffer."""

    __slots__ = ("sock", "buf", "received", "reused")

    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.received = False  # any byte of the current response seen
        self.reused = False  # has carried an earlier exchange

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")
        self.sock.settimeout(remaining)
        data = self.sock.recv(_RECV_SIZE)
        if not data:
            if not self.received:
                raise _EarlyEof()
            raise _ProtocolError("connection closed in the middle of the response")
        self.received = True
        self.buf += data

    def _read_until(self, marker: bytes, deadline: float, limit: int) -> bytes:
        start = 0
        while True:
            end = self.buf.find(marker, start)
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[: end + len(marker)]
                return line
            if len(self.buf) > limit:
                raise _ProtocolError("response header too large")
            start = max(0, len(self.buf) - len(marker) + 1)
            self._fill(deadline)

    def _read_exactly(self, size: int, deadline: float) -> bytes:
        while len(self.buf) < size:
            self._fill(deadline)
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data

    def exchange(self, head: bytes, body: bytes, deadline: float) -> tuple[int, bytes, bool]:
        """Send one request; return (status, body, connection reusable)."""
        self.received = False
        send_error: OSError | None = None
        try:
            self.sock.settimeout(max(deadline - time.monotonic(), 1e-3))
            if len(body) > _EXPECT_CONTINUE_OVER:
                self.sock.sendall(head)
                refusal = self._await_continue(deadline)
                if refusal is not None:
                    return refusal
                self.sock.settimeout(max(deadline - time.monotonic(), 1e-3))
                self.sock.sendall(body)
            else:
                self.sock.sendall(head + body)
        except (BrokenPipeError, ConnectionResetError) as exc:
            # The server may have answered early and hung up (413 for an
            # oversized body); if that answer reached us, it is the response.
            send_error = exc
        try:
            return self._read_body(self._read_head(deadline), deadline)
        except (OSError, _ProtocolError, _EarlyEof):
            if send_error is not None:
                raise send_error from None
            raise

    def _await_continue(self, deadline: float) -> tuple[int, bytes, bool] | None:
        """After an Expect header: ``None`` to go on, or the server's final answer."""
        try:
            head = self._read_head(min(deadline, time.monotonic() + _CONTINUE_WAIT), interim=True)
        except TimeoutError:
            return None  # silent server: send the body anyway
        if head.status == 100:
            return None
        status, body, _ = self._read_body(head, deadline)
        return status, body, False  # the body was never sent: the connection is spent

    def _read_head(self, deadline: float, *, interim: bool = False) -> _Head:
        """The next response head; 1xx heads are skipped unless ``interim`` wants 100."""
        while True:
            head = _parse_head(self._read_until(b"\r\n\r\n", deadline, _MAX_HEAD))
            if (interim and head.status == 100) or not 100 <= head.status < 200:
                return head

    def _read_body(self, head: _Head, deadline: float) -> tuple[int, bytes, bool]:
        if head.status in (204, 304):
            body = b""
        elif head.chunked:
            pieces: list[bytes] = []
            while size := _chunk_size(self._read_until(b"\r\n", deadline, _MAX_HEAD)):
                pieces.append(self._read_exactly(size, deadline))
                self._read_exactly(2, deadline)
            while self._read_until(b"\r\n", deadline, _MAX_HEAD):
                pass  # trailer fields, up to the empty line
            body = b"".join(pieces)
        elif head.length is not None:
            body = self._read_exactly(head.length, deadline)
        else:
            while True:
                try:
                    self._fill(deadline)
                except (_ProtocolError, _EarlyEof):
                    break
            body = bytes(self.buf)
            self.buf.clear()
        return head.status, body, head.keep_alive


class HttpTransport:
    """Blocking JSON-RPC over HTTP/1.1 with keep-alive, via TCP or a unix socket.

    ``url`` is ``http://host:port`` (path defaults to ``/rpc``) or a full
    endpoint URL; ``socket`` is the path of a unix domain socket (path
    ``/rpc``).  ``timeout`` bounds connecting and, separately, each whole
    request/response exchange.  ``token`` is sent as ``Authorization: Bearer``
    on every request (a server with auth answers 401, raised as
    :class:`~osis.rpc.errors.Unauthorized`, without a valid one).  Safe to share between threads: each thread
    borrows its own connection from a small pool.
    """

    def __init__(
        self, url: str | None = None, *, socket: str | None = None, timeout: float = 30.0, token: str | None = None
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self._endpoint = _endpoint(url, socket, type(self).__name__, token)
        self._timeout = timeout
        self._idle: list[_Conn] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._closed = False

    @property
    def target(self) -> str:
        """The URL or ``unix:<path>`` this transport talks to."""
        return self._endpoint.target

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._endpoint.target!r})"

    def call(self, method: str, params: Params) -> Any:
        request_id = next(self._ids)
        body = _encode(_envelope(method, params, request_id), repr(method))
        payload = _decode_body(*self._post(body), target=self._endpoint.target)
        return _single_result(payload, request_id, method, self._endpoint.target)

    def call_batch(self, calls: Sequence[tuple[str, Params]]) -> list[Any]:
        if not calls:
            return []
        first = next(self._ids)
        # Reserve the rest of the id range so concurrent calls never share ids.
        for _ in range(len(calls) - 1):
            next(self._ids)
        body = _encode(
            [_envelope(method, params, first + i) for i, (method, params) in enumerate(calls)],
            "a batch",
        )
        payload = _decode_body(*self._post(body), target=self._endpoint.target)
        return _batch_results(payload, first, calls, self._endpoint.target)

    def notify(self, method: str, params: Params) -> None:
        body = _encode(_envelope(method, params, None), repr(method))
        payload = _decode_body(*self._post(body), target=self._endpoint.target)
        if isinstance(payload, dict) and payload.get("error") is not None:
            # Only whole-request failures (too large, unparsable) answer a notification.
            raise _error_from(payload["error"], method, self._endpoint.target)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- connection handling --

    def _connect(self) -> _Conn:
        ep = self._endpoint
        try:
            if ep.uds is not None:
                sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
                try:
                    sock.settimeout(self._timeout)
                    sock.connect(ep.uds)
                except BaseException:
                    sock.close()
                    raise
            else:
                sock = _socket.create_connection((ep.host, ep.port), timeout=self._timeout)
                # Requests go out in one write, but the peer's delayed ACK must
                # never hold back a small answer.
                sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        except TimeoutError as exc:
            raise TransportError("timed out connecting", target=ep.target, cause=exc) from None
        except OSError as exc:
            raise TransportError("cannot connect", target=ep.target, cause=exc) from None
        return _Conn(sock)

    def _acquire(self) -> _Conn:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self!r} is closed")
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _release(self, conn: _Conn) -> None:
        conn.reused = True
        with self._lock:
            if not self._closed and len(self._idle) < _MAX_IDLE:
                self._idle.append(conn)
                return
        conn.close()

    def _drop_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _post(self, body: bytes) -> tuple[int, bytes]:
        head = self._endpoint.head(body, len(body) > _EXPECT_CONTINUE_OVER)
        target = self._endpoint.target
        while True:
            conn = self._acquire()
            deadline = time.monotonic() + self._timeout
            try:
                status, data, keep_alive = conn.exchange(head, body, deadline)
            except (_EarlyEof, BrokenPipeError, ConnectionResetError) as exc:
                conn.close()
                if conn.reused and not conn.received:
                    # The server closed this idle keep-alive connection before
                    # reading our request (idle timeout), so the request did not
                    # run and resending it is safe.  Its siblings are as old.
                    self._drop_idle()
                    continue
                cause = exc if isinstance(exc, OSError) else None
                raise TransportError("connection closed by the server", target=target, cause=cause) from None
            except (TimeoutError, _ProtocolError, OSError) as exc:
                conn.close()
                raise _exchange_failed(exc, target, self._timeout) from None
            except BaseException:
                # KeyboardInterrupt mid-exchange: the connection state is unknown.
                conn.close()
                raise
            if keep_alive:
                self._release(conn)
            else:
                conn.close()
            return status, data


# -- async HTTP ----------------------------------------------------------------------------


class _AsyncConn:
    __slots__ = ("reader", "writer", "received", "reused")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.received = False
        self.reused = False

    def close(self) -> None:
        self.writer.close()

    def stale(self) -> bool:
        return self.reader.at_eof() or self.writer.is_closing()

    async def _read_until(self, marker: bytes) -> bytes:
        try:
            data = await self.reader.readuntil(marker)
        except asyncio.IncompleteReadError as exc:
            if not exc.partial and not self.received:
                raise _EarlyEof() from None
            raise _ProtocolError("connection closed in the middle of the response") from None
        except asyncio.LimitOverrunError:
            raise _ProtocolError("response header too large") from None
        self.received = True
        return data[: -len(marker)]

    async def _read_exactly(self, size: int) -> bytes:
        try:
            data = await self.reader.readexactly(size)
        except asyncio.IncompleteReadError:
            raise _ProtocolError("connection closed in the middle of the response") from None
        self.received = True
        return data

    async def exchange(self, head: bytes, body: bytes) -> tuple[int, bytes, bool]:
        self.received = False
        send_error: OSError | None = None
        try:
            if len(body) > _EXPECT_CONTINUE_OVER:
                # Matters even more here than in _Conn: asyncio stops reading a
                # socket once a write to it fails, so an early 413 would be lost.
                self.writer.write(head)
                await self.writer.drain()
                refusal = await self._await_continue()
                if refusal is not None:
                    return refusal
                self.writer.write(body)
            else:
                self.writer.write(head + body)
            await self.writer.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            send_error = exc  # see _Conn.exchange: an early answer may be waiting
        try:
            return await self._read_body(await self._read_head())
        except (OSError, _ProtocolError, _EarlyEof):
            if send_error is not None:
                raise send_error from None
            raise

    async def _await_continue(self) -> tuple[int, bytes, bool] | None:
        try:
            async with asyncio.timeout(_CONTINUE_WAIT):
                # readuntil keeps a partial head buffered if this times out.
                head = await self._read_head(interim=True)
        except TimeoutError:
            return None
        if head.status == 100:
            return None
        status, body, _ = await self._read_body(head)
        return status, body, False

    async def _read_head(self, *, interim: bool = False) -> _Head:
        while True:
            head = _parse_head(await self._read_until(b"\r\n\r\n"))
            if (interim and head.status == 100) or not 100 <= head.status < 200:
                return head

    async def _read_body(self, head: _Head) -> tuple[int, bytes, bool]:
        if head.status in (204, 304):
            body = b""
        elif head.chunked:
            pieces: list[bytes] = []
            while size := _chunk_size(await self._read_until(b"\r\n")):
                pieces.append(await self._read_exactly(size))
                await self._read_exactly(2)
            while await self._read_until(b"\r\n"):
                pass
            body = b"".join(pieces)
        elif head.length is not None:
            body = await self._read_exactly(head.length)
        else:
            body = await self.reader.read()
        return head.status, body, head.keep_alive


class AsyncHttpTransport:
    """asyncio counterpart of :class:`HttpTransport` (same arguments and semantics).

    Safe to share between tasks of one event loop: each in-flight call uses
    its own connection from a small pool.
    """

    def __init__(
        self, url: str | None = None, *, socket: str | None = None, timeout: float = 30.0, token: str | None = None
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self._endpoint = _endpoint(url, socket, type(self).__name__, token)
        self._timeout = timeout
        self._idle: list[_AsyncConn] = []
        self._ids = itertools.count(1)
        self._closed = False

    @property
    def target(self) -> str:
        return self._endpoint.target

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._endpoint.target!r})"

    async def call(self, method: str, params: Params) -> Any:
        request_id = next(self._ids)
        body = _encode(_envelope(method, params, request_id), repr(method))
        payload = _decode_body(*await self._post(body), target=self._endpoint.target)
        return _single_result(payload, request_id, method, self._endpoint.target)

    async def call_batch(self, calls: Sequence[tuple[str, Params]]) -> list[Any]:
        if not calls:
            return []
        first = next(self._ids)
        for _ in range(len(calls) - 1):
            next(self._ids)
        body = _encode(
            [_envelope(method, params, first + i) for i, (method, params) in enumerate(calls)],
            "a batch",
        )
        payload = _decode_body(*await self._post(body), target=self._endpoint.target)
        return _batch_results(payload, first, calls, self._endpoint.target)

    async def notify(self, method: str, params: Params) -> None:
        body = _encode(_envelope(method, params, None), repr(method))
        payload = _decode_body(*await self._post(body), target=self._endpoint.target)
        if isinstance(payload, dict) and payload.get("error") is not None:
            raise _error_from(payload["error"], method, self._endpoint.target)

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        for conn in idle:
            try:
                await conn.writer.wait_closed()
            except OSError:
                pass

    async def __aenter__(self) -> AsyncHttpTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _connect(self) -> _AsyncConn:
        ep = self._endpoint
        try:
            async with asyncio.timeout(self._timeout):
                if ep.uds is not None:
                    reader, writer = await asyncio.open_unix_connection(ep.uds, limit=_MAX_HEAD)
                else:
                    reader, writer = await asyncio.open_connection(ep.host, ep.port, limit=_MAX_HEAD)
        except TimeoutError as exc:
            raise TransportError("timed out connecting", target=ep.target, cause=exc) from None
        except OSError as exc:
            raise TransportError("cannot connect", target=ep.target, cause=exc) from None
        return _AsyncConn(reader, writer)

    async def _acquire(self) -> _AsyncConn:
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        while self._idle:
            conn = self._idle.pop()
            if not conn.stale():
                return conn
            conn.close()  # the server hung up while it sat idle
        return await self._connect()

    def _release(self, conn: _AsyncConn) -> None:
        conn.reused = True
        if not self._closed and len(self._idle) < _MAX_IDLE:
            self._idle.append(conn)
        else:
            conn.close()

    async def _post(self, body: bytes) -> tuple[int, bytes]:
        head = self._endpoint.head(body, len(body) > _EXPECT_CONTINUE_OVER)
        target = self._endpoint.target
        while True:
            conn = await self._acquire()
            try:
                async with asyncio.timeout(self._timeout):
                    status, data, keep_alive = await conn.exchange(head, body)
            except (_EarlyEof, BrokenPipeError, ConnectionResetError) as exc:
                conn.close()
                if conn.reused and not conn.received:
                    # Idle connection closed by the server before it read the
                    # request: nothing ran, so resending is safe (as in HttpTransport).
                    for other in self._idle:
                        other.close()
                    self._idle.clear()
                    continue
                cause = exc if isinstance(exc, OSError) else None
                raise TransportError("connection closed by the server", target=target, cause=cause) from None
            except (TimeoutError, _ProtocolError, OSError) as exc:
                conn.close()
                raise _exchange_failed(exc, target, self._timeout) from None
            except BaseException:
                # Cancellation mid-exchange leaves the connection unusable.
                conn.close()
                raise
            if keep_alive:
                self._release(conn)
            else:
                conn.close()
            return status, data


# -- in-process ------------------------------------------------------------------------------


def _check_batch_size(dispatcher: Dispatcher, calls: Sequence[tuple[str, Params]]) -> None:
    # Same rule as the wire, so code tested in-process behaves the same over HTTP.
    if len(calls) > dispatcher.max_batch:
        raise LimitExceeded(
            f"batch has {len(calls)} requests; this server accepts at most {dispatcher.max_batch}"
        )


async def _run_batch(dispatcher: Dispatcher, calls: Sequence[tuple[str, Params]]) -> list[Any]:
    _check_batch_size(dispatcher, calls)
    results: list[Any] = []
    for method, params in calls:
        try:
            results.append(await dispatcher.call(method, _jsonable(method, params)))
        except RpcError as exc:
            results.append(exc)
    return results


async def _run_notify(dispatcher: Dispatcher, method: str, params: Params) -> None:
    try:
        await dispatcher.call(method, _jsonable(method, params))
    except RpcError:
        pass  # notifications have no answer, so their errors are dropped, as on the wire


class InProcessTransport:
    """Blocking calls into a dispatcher in this process.

    The dispatcher's handlers are coroutines, and the blocking caller may
    itself be running inside an event loop (a sync library used from async
    code), where it cannot start or re-enter one.  So all calls run on one
    private event loop in a background thread; using a single loop also keeps
    loop-bound resources of the service (connection pools, locks) valid
    across calls.  The thread starts on first use and stops on :meth:`close`.
    """

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def dispatcher(self) -> Dispatcher:
        return self._dispatcher

    def call(self, method: str, params: Params) -> Any:
        return self._run(self._dispatcher.call(method, _jsonable(method, params)))

    def call_batch(self, calls: Sequence[tuple[str, Params]]) -> list[Any]:
        return self._run(_run_batch(self._dispatcher, calls))

    def notify(self, method: str, params: Params) -> None:
        self._run(_run_notify(self._dispatcher, method, params))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

    def __enter__(self) -> InProcessTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _ensure_loop(self) -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
        with self._lock:
            if self._closed:
                raise RuntimeError("InProcessTransport is closed")
            if self._loop is None or self._thread is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="osis-rpc-inprocess", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop, self._thread

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            loop, thread = self._ensure_loop()
        except BaseException:
            coro.close()
            raise
        if threading.current_thread() is thread:
            coro.close()
            # A handler making a blocking call back into its own dispatcher
            # would wait forever on the loop it is blocking.
            raise RuntimeError(
                "blocking InProcessTransport call from inside the dispatcher's own event loop; "
                "use AsyncInProcessTransport there"
            )
        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(coro, loop)
        return future.result()


class AsyncInProcessTransport:
    """Async calls into a dispatcher running on the caller's event loop."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher

    @property
    def dispatcher(self) -> Dispatcher:
        return self._dispatcher

    async def call(self, method: str, params: Params) -> Any:
        return await self._dispatcher.call(method, _jsonable(method, params))

    async def call_batch(self, calls: Sequence[tuple[str, Params]]) -> list[Any]:
        return await _run_batch(self._dispatcher, calls)

    async def notify(self, method: str, params: Params) -> None:
        await _run_notify(self._dispatcher, method, params)

    async def close(self) -> None:
        """Nothing to release: the dispatcher belongs to the caller."""
