"""Starting the test service (rpc_testsvc) as a real server in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A test server process and how to reach it."""

    process: subprocess.Popen[bytes]
    log: Path
    url: str | None = None
    socket: str | None = None

    @property
    def client_args(self) -> dict[str, str]:
        return {"url": self.url} if self.url else {"socket": str(self.socket)}

    def http(self) -> httpx.Client:
        """An independent HTTP client (httpx) for raw wire checks."""
        if self.socket:
            return httpx.Client(transport=httpx.HTTPTransport(uds=self.socket), base_url="http://localhost")
        return httpx.Client(base_url=str(self.url))

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=20)


def start_server(log: Path, *, port: int | None = None, socket_path: str | None = None) -> Server:
    args = ["--port", str(port)] if port is not None else ["--socket", str(socket_path)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.rpc.rpc_testsvc", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    server = Server(
        process,
        log,
        url=f"http://127.0.0.1:{port}" if port is not None else None,
        socket=socket_path,
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"test server exited with {process.returncode}:\n{server.log_text()}")
        try:
            with server.http() as http:
                if http.get("/health").status_code == 200:
                    return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.stop(signal.SIGKILL)
            raise RuntimeError(f"test server did not become healthy:\n{server.log_text()}")
        time.sleep(0.05)
