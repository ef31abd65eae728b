"""Starting the test service (rpc_testsvc) as a real server in a subprocess."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.servers import Server, start_server


def start_testsvc(log: Path, *, port: int | None = None, socket_path: str | None = None) -> Server:
    args = ["--port", str(port)] if port is not None else ["--socket", str(socket_path)]
    url = f"http://127.0.0.1:{port}" if port is not None else None
    return start_server([sys.executable, "-m", "tests.rpc.rpc_testsvc", *args], log, url=url, socket_path=socket_path)
