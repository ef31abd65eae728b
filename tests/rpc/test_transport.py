"""HTTP transports against scripted fake servers: the HTTP edge cases uvicorn never produces."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from osis.rpc import (
    AsyncClient,
    AsyncHttpTransport,
    HttpTransport,
    LimitExceeded,
    NotFound,
    SyncClient,
    TransportError,
)
from tests.servers import free_port

Script = Callable[[socket.socket, int], None]


class FakeServer:
    """Accepts connections on 127.0.0.1 and runs ``script(conn, n)`` for the n-th one."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections = 0
        self.requests: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                try:
                    self._script(conn, self.connections)
                except OSError:
                    pass

    def read_request(self, conn: socket.socket) -> dict[str, Any]:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                raise ConnectionError("client went away")
            data += chunk
        return self.read_request_rest(conn, data)

    def read_request_rest(self, conn: socket.socket, data: bytes) -> dict[str, Any]:
        """Finish reading a request whose head (and maybe some body) is in ``data``."""
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        while len(body) < length:
            body += conn.recv(65536)
        message: dict[str, Any] = json.loads(body)
        self.requests.append(message)
        return message

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def fake() -> Iterator[Callable[[Script], FakeServer]]:
    servers: list[FakeServer] = []

    def make(script: Script) -> FakeServer:
        servers.append(FakeServer(script))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def answer(message: dict[str, Any], result: Any) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}).encode()


def http_response(body: bytes, *headers: bytes, status: bytes = b"200 OK") -> bytes:
    lines = [b"HTTP/1.1 " + status, *headers, b"content-length: %d" % len(body)]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def test_stale_keep_alive_connection_is_replaced(fake: Callable[[Script], FakeServer]) -> None:
    def script(conn: socket.socket, n: int) -> None:
        # Answer one request with keep-alive, then hang up as an idle
        # timeout would.
        message = server.read_request(conn)
        conn.sendall(http_response(answer(message, n), b"content-type: application/json"))

    server = fake(script)
    transport = HttpTransport(server.url)
    try:
        assert transport.call("a", None) == 1
        time.sleep(0.1)  # let the FIN arrive
        assert transport.call("b", None) == 2  # resent on a new connection
        assert [m["method"] for m in server.requests] == ["a", "b"]
    finally:
        transport.close()


def test_async_stale_keep_alive_connection_is_replaced(fake: Callable[[Script], FakeServer]) -> None:
    def script(conn: socket.socket, n: int) -> None:
        message = server.read_request(conn)
        conn.sendall(http_response(answer(message, n)))

    server = fake(script)

    async def main() -> list[Any]:
        async with AsyncHttpTransport(server.url) as transport:
            first = await transport.call("a", None)
            await asyncio.sleep(0.1)
            return [first, await transport.call("b", None)]

    assert asyncio.run(main()) == [1, 2]


def test_connection_dropped_mid_response_is_not_retried(fake: Callable[[Script], FakeServer]) -> None:
    def script(conn: socket.socket, n: int) -> None:
        server.read_request(conn)
        conn.sendall(b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"jsonrpc"')

    server = fake(script)
    with SyncClient(server.url) as client, pytest.raises(TransportError, match="invalid HTTP response"):
        client._call("a", None, None)
    assert len(server.requests) == 1  # the call may have run: never sent twice


def test_chunked_responses_are_decoded(fake: Callable[[Script], FakeServer]) -> None:
    def script(conn: socket.socket, n: int) -> None:
        while True:
            body = answer(server.read_request(conn), {"n": n, "text": "x" * 3000})
            chunks = [body[i : i + 1000] for i in range(0, len(body), 1000)]
            encoded = (
                b"".join(b"%x;ext=1\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\nx-trailer: 1\r\n\r\n"
            )
            conn.sendall(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + encoded)

    server = fake(script)
    transport = HttpTransport(server.url)
    try:
        assert transport.call("a", None)["text"] == "x" * 3000
        assert transport.call("b", None)["n"] == 1  # same connection reused after a chunked body
    finally:
        transport.close()

    async def main() -> Any:
        async with AsyncHttpTransport(server.url) as async_transport:
            return await async_transport.call("c", None)

    assert asyncio.run(main())["text"] == "x" * 3000


def test_interim_responses_and_close_delimited_bodies(fake: Callable[[Script], FakeServer]) -> None:
    def script(conn: socket.socket, n: int) -> None:
        body = answer(server.read_request(conn), "old-style")
        conn.sendall(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\ncontent-type: application/json\r\n\r\n" + body
        )
        conn.shutdown(socket.SHUT_WR)

    server = fake(script)
    transport = HttpTransport(server.url)
    try:
        assert transport.call("a", None) == "old-style"
        assert transport._idle == []  # a close-delimited body cannot be followed by another response
        assert transport.call("b", None) == "old-style"
    finally:
        transport.close()


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "invalid HTTP response"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: ten\r\n\r\n", "invalid HTTP response"),
        (
            http_response(b"<html>bad gateway</html>", status=b"502 Bad Gateway"),
            "HTTP 502 with a non-JSON body",
        ),
        (http_response(b'{"ok": true}', status=b"500 Internal Server Error"), "unexpected HTTP status 500"),
        (http_response(b"not json"), "response body is not valid JSON"),
        (http_response(b'{"jsonrpc":"2.0","id":12345,"result":1}'), "has no result for id"),
        (http_response(b'{"jsonrpc":"2.0","id":1,"error":{"code":"x"}}'), "malformed JSON-RPC error object"),
        (http_response(b"[1, 2]"), "expected a JSON-RPC response object"),
    ],
)
def test_bad_responses_raise_transport_error(
    fake: Callable[[Script], FakeServer], response: bytes, message: str
) -> None:
    def script(conn: socket.socket, n: int) -> None:
        server.read_request(conn)
        conn.sendall(response)

    server = fake(script)
    with SyncClient(server.url) as client, pytest.raises(TransportError, match=message) as caught:
        client._call("a", None, None)
    assert server.url in str(caught.value)


def test_error_answer_with_unknown_code_and_null_id(fake: Callable[[Script], FakeServer]) -> None:
    def script(conn: socket.socket, n: int) -> None:
        server.read_request(conn)
        conn.sendall(http_response(b'{"jsonrpc":"2.0","id":null,"error":{"code":-32099,"message":"odd"}}'))

    server = fake(script)
    with SyncClient(server.url) as client, pytest.raises(Exception) as caught:
        client._call("m", None, None)
    assert type(caught.value).__name__ == "RpcError"
    assert getattr(caught.value, "code") == -32099 and getattr(caught.value, "method") == "m"


def test_batch_answers_are_matched_by_id(fake: Callable[[Script], FakeServer]) -> None:
    def script(conn: socket.socket, n: int) -> None:
        batch = server.read_request(conn)
        replies = [
            {"jsonrpc": "2.0", "id": batch[1]["id"], "error": {"code": -32001, "message": "gone"}},
            {"jsonrpc": "2.0", "id": batch[0]["id"], "result": "first"},
        ]
        conn.sendall(http_response(json.dumps(replies).encode()))

    server = fake(script)
    transport = HttpTransport(server.url)
    try:
        first, second = transport.call_batch([("a", None), ("b", {"sid": "x"})])
    finally:
        transport.close()
    assert first == "first"
    assert isinstance(second, NotFound) and second.method == "b"
    assert [m["method"] for m in server.requests[0]] == ["a", "b"]
    assert len({m["id"] for m in server.requests[0]}) == 2


def test_batch_missing_an_answer(fake: Callable[[Script], FakeServer]) -> None:
    def script(conn: socket.socket, n: int) -> None:
        batch = server.read_request(conn)
        conn.sendall(
            http_response(json.dumps([{"jsonrpc": "2.0", "id": batch[0]["id"], "result": 1}]).encode())
        )

    server = fake(script)
    transport = HttpTransport(server.url)
    try:
        with pytest.raises(TransportError, match=r"no answer for entry 1 \(b\)"):
            transport.call_batch([("a", None), ("b", None)])
    finally:
        transport.close()


def test_timeout(fake: Callable[[Script], FakeServer]) -> None:
    released = threading.Event()

    def script(conn: socket.socket, n: int) -> None:
        server.read_request(conn)
        released.wait(5)  # never answer in time

    server = fake(script)
    started = time.monotonic()
    try:
        with (
            SyncClient(server.url, timeout=0.3) as client,
            pytest.raises(TransportError, match="no response within 0.3 s"),
        ):
            client._call("slow", None, None)
        assert time.monotonic() - started < 3

        async def main() -> None:
            async with AsyncClient(server.url, timeout=0.3) as async_client:
                await async_client._call("slow", None, None)

        with pytest.raises(TransportError, match="no response within 0.3 s"):
            asyncio.run(main())
    finally:
        released.set()


def read_head(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    return data


@pytest.mark.parametrize("sends_continue", [True, False])
def test_large_bodies_wait_for_100_continue(
    fake: Callable[[Script], FakeServer], sends_continue: bool
) -> None:
    body_sizes: list[int] = []

    def script(conn: socket.socket, n: int) -> None:
        head = read_head(conn)
        assert b"\r\nExpect: 100-continue\r\n" in head
        if sends_continue:
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        message = server.read_request_rest(conn, head)
        body_sizes.append(len(json.dumps(message)))
        conn.sendall(http_response(answer(message, "stored")))

    server = fake(script)
    pad = "x" * (2 * 1024 * 1024)
    started = time.monotonic()
    transport = HttpTransport(server.url)
    try:
        assert transport.call("big", {"pad": pad}) == "stored"
    finally:
        transport.close()
    waited = time.monotonic() - started
    # Without "100 Continue" the client sends the body after about a second.
    assert (waited < 0.9) if sends_continue else (0.9 < waited < 5)

    async def main() -> Any:
        async with AsyncHttpTransport(server.url) as async_transport:
            return await async_transport.call("big", {"pad": pad})

    assert asyncio.run(main()) == "stored"
    assert len(body_sizes) == 2 and min(body_sizes) > len(pad)


def test_refusal_instead_of_100_continue_skips_the_upload(fake: Callable[[Script], FakeServer]) -> None:
    after_refusal: list[bytes] = []
    recorded = threading.Event()

    def script(conn: socket.socket, n: int) -> None:
        read_head(conn)
        refusal = b'{"jsonrpc":"2.0","id":null,"error":{"code":-32008,"message":"too big"}}'
        conn.sendall(http_response(refusal, b"connection: close", status=b"413 Payload Too Large"))
        conn.settimeout(2)
        try:
            after_refusal.append(conn.recv(65536))  # b"" once the client hangs up
        finally:
            recorded.set()

    server = fake(script)
    with SyncClient(server.url) as client, pytest.raises(LimitExceeded, match="too big"):
        client._call("big", {"pad": "x" * (2 * 1024 * 1024)}, None)
    assert recorded.wait(5)
    assert after_refusal == [b""]  # not a byte of the body was sent


def test_closed_port_raises_transport_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with SyncClient(url) as client, pytest.raises(TransportError) as caught:
        client._call("note.list", None, None)
    assert str(caught.value).startswith(f"cannot connect ({url}): ")
    assert isinstance(caught.value.cause, ConnectionRefusedError)

    async def main() -> None:
        async with AsyncClient(url) as async_client:
            await async_client._call("note.list", None, None)

    with pytest.raises(TransportError, match="cannot connect"):
        asyncio.run(main())


def test_missing_unix_socket_raises_transport_error(tmp_path: Any) -> None:
    path = os.path.join(tmp_path, "absent.sock")
    with SyncClient(socket=path) as client, pytest.raises(TransportError) as caught:
        client._call("note.list", None, None)
    assert f"unix:{path}" in str(caught.value) and "No such file" in str(caught.value)

    async def main() -> None:
        async with AsyncClient(socket=path) as async_client:
            await async_client._call("note.list", None, None)

    with pytest.raises(TransportError, match="cannot connect"):
        asyncio.run(main())


def test_url_forms() -> None:
    assert HttpTransport("http://127.0.0.1:8080")._endpoint.prefix.startswith(
        b"POST /rpc HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
    )
    assert HttpTransport("http://h/api/rpc?x=1")._endpoint.prefix.startswith(
        b"POST /api/rpc?x=1 HTTP/1.1\r\nHost: h\r\n"
    )
    assert b"Host: [::1]:9\r\n" in HttpTransport("http://[::1]:9/")._endpoint.prefix
    assert HttpTransport(socket="/run/x.sock").target == "unix:/run/x.sock"
    for bad in ("ftp://h", "http://", "localhost:8080"):
        with pytest.raises(ValueError):
            HttpTransport(bad)
    with pytest.raises(ValueError, match="exactly one of url= or socket="):
        HttpTransport()
    with pytest.raises(ValueError, match="timeout"):
        HttpTransport("http://h", timeout=0)
