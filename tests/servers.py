"""Test servers as real processes: start one, wait until `/health` answers, stop it.

Every suite that talks to a server over the network (the rpc runtime, the generated SDK,
`osis serve`, the dashboard) starts it through here.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A server process and how to reach it (a TCP url or a unix socket path)."""

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
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def start_server(
    argv: Sequence[str], log: Path, *, url: str | None = None, socket_path: str | None = None
) -> Server:
    """Run `argv` (output to `log`) and return once `GET /health` answers 200."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(argv), stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
    server = Server(process, log, url=url, socket=socket_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log_text()}")
        try:
            with server.http() as http:
                if http.get("/health").status_code == 200:
                    return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.stop(signal.SIGKILL)
            raise RuntimeError(f"server did not become healthy:\n{server.log_text()}")
        time.sleep(0.05)
