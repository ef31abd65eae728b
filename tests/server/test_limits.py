"""`osis serve`'s limits as flags: body size, batch, JSON depth, page size, and the deadlines
that cut off slow clients while everyone else is served."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from osis.rpc.limits import Limits, too_deep
from tests.servers import Server, free_port, start_server

TIMEOUT = 1.0  # body, header and keep-alive deadline of the test server, seconds
LIMITS = ["--max-body", "2000", "--max-batch", "3", "--max-depth", "5", "--max-page", "10",
          "--body-timeout", str(TIMEOUT), "--header-timeout", str(TIMEOUT), "--keep-alive-timeout", "1"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("limits")
    port = free_port()
    argv = [sys.executable, "-m", "osis", "serve", "--store", f"sqlite:///{tmp}/osis.db",
            "--listen", f"127.0.0.1:{port}", *LIMITS]
    srv = start_server(argv, tmp / "serve.log", url=f"http://127.0.0.1:{port}")
    yield srv
    assert "Traceback" not in srv.log_text()
    srv.stop()


def rpc(http: httpx.Client, method: str, params: object, request_id: int = 1) -> dict[str, object]:
    answer = http.post("/rpc", json={"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
    assert answer.status_code == 200
    body: dict[str, object] = answer.json()
    return body


def error_of(answer: dict[str, object]) -> dict[str, object]:
    error = answer.get("error")
    assert isinstance(error, dict), answer
    return error


# -- sizes --------------------------------------------------------------------------------------


def test_page_limit_is_refused_naming_the_parameter(server: Server) -> None:
    with server.http() as http:
        assert rpc(http, "agent_memory.find", {"limit": 10})["result"] == []
        for method, params in [("agent_memory.find", {"limit": 11}), ("agent_audit_entry.list_full", {"limit": 11}),
                               ("audit_search", {"input": {"limit": 11}}),
                               ("memory_search", {"input": {"limit": 11}})]:
            error = error_of(rpc(http, method, params))
            assert error["code"] == -32602 and error["message"] == "invalid params: limit must be at most 10, got 11"
        rest = http.get("/api/audit", params={"limit": 11})
        assert rest.status_code == 422
        assert rest.json()["errors"][0]["parameter"] == "limit" and "at most 10" in rest.json()["error"]


def test_batch_depth_and_body_limits(server: Server) -> None:
    with server.http() as http:
        batch = [{"jsonrpc": "2.0", "id": i, "method": "agent_memory.list"} for i in range(4)]
        error = error_of(http.post("/rpc", json=batch).json())
        assert error == {"code": -32008, "message": "batch has 4 requests; this server accepts at most 3"}
        deep = '{"jsonrpc":"2.0","id":1,"method":"agent_memory.find","params":{"filter":[[[[1]]]]}}'
        error = error_of(http.post("/rpc", content=deep, headers={"content-type": "application/json"}).json())
        assert error["code"] == -32008 and "deeper than 5 levels" in str(error["message"])
        shallow = deep.replace("[[[[1]]]]", "[[[1]]]")
        assert error_of(http.post("/rpc", content=shallow, headers={"content-type": "application/json"}).json())[
            "code"] == -32602  # deep enough to parse, but not a filter
        answer = http.post("/api/memories", content='{"tags": [[[[["t"]]]]]}',
                           headers={"content-type": "application/json"})
        assert answer.status_code == 400 and answer.json() == {"error": "invalid body: JSON nested deeper than 5 levels"}
        big = b'{"pad": "' + b"x" * 2000 + b'"}'
        for path in ("/rpc", "/api/memories"):
            answer = http.post(path, content=big, headers={"content-type": "application/json"})
            assert answer.status_code == 413 and "at most 2000 bytes" in answer.text
            chunked = http.post(path, content=iter([big[:1000], big[1000:]]), headers={"content-type": "application/json"})
            assert chunked.status_code == 413 and "at most 2000 bytes" in chunked.text


def test_non_json_content_type_on_rpc_is_415(server: Server) -> None:
    call = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "agent_memory.list"})
    with server.http() as http:
        answer = http.post("/rpc", content=call, headers={"content-type": "text/plain"})
        assert answer.status_code == 415
        assert error_of(answer.json())["message"] == "unsupported content type 'text/plain': send application/json"
        for ctype in ("application/json; charset=utf-8", "application/json-rpc+json"):
            assert http.post("/rpc", content=call, headers={"content-type": ctype}).json()["result"] == []
        assert http.post("/rpc", content=call).json()["result"] == []  # no Content-Type: taken as JSON


# -- slow clients -----------------------------------------------------------------------------


def _connect(server: Server) -> socket.socket:
    assert server.url is not None
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _trickle(sock: socket.socket, head: bytes, stop: threading.Event, byte: bytes) -> None:
    """Send `head`, then `byte` every 0.1 s until the server hangs up (or `stop`)."""
    try:
        sock.sendall(head)
        while not stop.is_set():
            sock.sendall(byte)
            time.sleep(0.1)
    except OSError:
        pass  # the server closed the connection: what the test waits for


def _read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except OSError:
        pass
    return data


def _served_meanwhile(server: Server, seconds: float) -> list[float]:
    """Latencies of /health and a JSON-RPC call, made repeatedly for `seconds` by another client."""
    latencies = []
    deadline = time.monotonic() + seconds
    with server.http() as http:
        while time.monotonic() < deadline:
            started = time.monotonic()
            assert http.get("/health").status_code == 200
            assert rpc(http, "agent_memory.list", {})["result"] == []
            latencies.append(time.monotonic() - started)
            time.sleep(0.05)
    return latencies


@pytest.mark.parametrize("path", ["/rpc", "/api/memories"])
def test_trickled_body_is_cut_off_while_others_are_served(server: Server, path: str) -> None:
    head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 1500\r\n\r\n").encode()
    stop = threading.Event()
    slow = [_connect(server) for _ in range(10)]
    started = time.monotonic()
    tricklers = [threading.Thread(target=_trickle, args=(s, head, stop, b" ")) for s in slow]
    for t in tricklers:
        t.start()
    try:
        latencies = _served_meanwhile(server, TIMEOUT + 0.5)
        answers = [_read_until_closed(s) for s in slow]
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        for t in tricklers:
            t.join()
        for s in slow:
            s.close()
    assert max(latencies) < 0.5, latencies
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert b"request body too slow: it must arrive within 1 s" in answer
    assert TIMEOUT <= elapsed < TIMEOUT + 3


@pytest.mark.parametrize("head", [b"", b"GET /health HTTP/1.1\r\nHo"], ids=["silent", "trickled-headers"])
def test_slow_headers_are_cut_off(server: Server, head: bytes) -> None:
    started = time.monotonic()  # the server's deadline runs from the connection on
    sock = _connect(server)
    stop = threading.Event()
    # The trickled bytes lengthen a header name: valid HTTP, just never finished.
    trickler = threading.Thread(target=_trickle, args=(sock, head, stop, b"x")) if head else None
    if trickler:
        trickler.start()
    try:
        latencies = _served_meanwhile(server, TIMEOUT / 2)
        assert _read_until_closed(sock) == b""
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        if trickler:
            trickler.join()
        sock.close()
    assert max(latencies) < 0.5
    assert TIMEOUT <= elapsed < TIMEOUT + 3


def test_idle_keep_alive_connection_is_closed(server: Server) -> None:
    sock = _connect(server)
    try:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        started = time.monotonic()
        answer = _read_until_closed(sock)
        elapsed = time.monotonic() - started
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b'{"status":"ok"}')
    assert 0.9 <= elapsed < 4


# -- configuration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--max-body", "0"], "--max-body must be a positive number, got 0"),
        (["--max-page", "10001"], "--max-page must be at most 10000, got 10001"),
        (["--max-depth", "201"], "--max-depth must be at most 200, got 201"),
        (["--body-timeout", "-1"], "--body-timeout must be a positive number, got -1.0"),
        (["--keep-alive-timeout", "0"], "--keep-alive-timeout must be a positive number, got 0"),
        (["--header-timeout", "nan"], "--header-timeout must be a positive number, got nan"),
        (["--body-timeout", "inf"], "--body-timeout must be a positive number, got inf"),
    ],
)
def test_bad_limit_flags_are_one_clear_line(flags: list[str], message: str, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "osis", "serve", "--store", f"sqlite:///{tmp_path}/x.db", *flags],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == f"osis: error: {message}\n"


def test_every_limit_has_a_flag_in_help() -> None:
    proc = subprocess.run([sys.executable, "-m", "osis", "serve", "--help"], capture_output=True, text=True,
                          timeout=60)
    for name in Limits.__dataclass_fields__:
        assert f"--{name.replace('_', '-')}" in proc.stdout


@pytest.mark.parametrize(
    "body,depth,deep",
    [
        (b'{"a": 1}', 1, False),
        (b'{"a": [1]}', 1, True),
        (b"[" * 5 + b"]" * 5, 5, False),
        (b"[" * 6 + b"]" * 6, 5, True),
        (b'["[[[[[[[[", "{{{{{{{{"]', 1, False),  # brackets in strings nest nothing
        (b'["\\"[[[[[[[[", {"k\\\\": [[1]]}]', 4, False),  # escaped quotes do not end a string
        (b'["\\"[[[[[[[[", {"k\\\\": [[1]]}]', 3, True),
        (b"[1,2,3,4,5,6,7,8,[9]]" * 10, 2, False),  # many brackets, little depth
    ],
)
def test_too_deep(body: bytes, depth: int, deep: bool) -> None:
    assert too_deep(body, depth) is deep


def test_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="max_batch must be a positive number, got 0"):
        Limits(max_batch=0)
    with pytest.raises(ValueError, match="header_timeout must be a positive number, got True"):
        Limits(header_timeout=True)
