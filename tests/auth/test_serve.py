"""`osis serve` and tokens as processes: a non-loopback address needs auth or `--insecure`,
and a token made and revoked with `osis token` works and stops working on a running server."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from osis_ai import models as m
from osis_ai.client import AiClient

from osis.rpc.errors import Unauthorized
from osis.server import Listen, check_exposure, is_loopback
from tests.conftest import ROOT
from tests.servers import free_port, start_server

from .test_tokens import osis

NOW = datetime(2026, 1, 2, tzinfo=timezone.utc)


def _serve_argv(store: str, listen: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "osis", "serve", "--store", store, "--listen", listen, "--log-format", "text",
            *extra]


def test_a_network_address_without_auth_is_refused(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/osis.db"
    done = subprocess.run(_serve_argv(store, f"0.0.0.0:{free_port()}"), capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("osis: error: refusing to serve 0.0.0.0:") and "--insecure" in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr


def test_insecure_serves_with_a_warning(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    server = start_server(_serve_argv(f"sqlite:///{tmp_path}/osis.db", f"0.0.0.0:{port}", "--insecure"), log,
                          url=f"http://127.0.0.1:{port}")
    try:
        with AiClient(server.url) as client:
            assert client.agent_memory.list() == []
        assert "osis: warning: serving 0.0.0.0:" in server.log_text() and "WITHOUT AUTH" in server.log_text()
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("how", ["token", "--auth"])
def test_a_network_address_with_auth_is_served(tmp_path: Path, how: str) -> None:
    store = f"sqlite:///{tmp_path}/osis.db"
    extra: list[str] = []
    token = None
    if how == "token":
        token = osis("token", "create", "--admin", "--store", store).stdout.strip()
    else:
        extra.append("--auth")
    port = free_port()
    server = start_server(_serve_argv(store, f"0.0.0.0:{port}", *extra), tmp_path / "serve.log",
                          url=f"http://127.0.0.1:{port}")
    try:
        assert "WITHOUT AUTH" not in server.log_text()
        assert ("has issued no token yet" in server.log_text()) == (how == "--auth")
        with AiClient(server.url) as anonymous:
            with pytest.raises(Unauthorized):
                anonymous.agent_memory.list()
        if token is not None:
            with AiClient(server.url, token=token) as admin:
                assert admin.agent_memory.list() == []
    finally:
        assert server.stop() == 0


def test_tokens_made_and_revoked_with_the_cli_on_a_running_server(store_url: str, tmp_path: Path) -> None:
    port = free_port()
    server = start_server(_serve_argv(store_url, f"127.0.0.1:{port}"), tmp_path / "serve.log",
                          url=f"http://127.0.0.1:{port}")
    try:
        with AiClient(server.url) as anonymous:
            assert anonymous.agent_memory.list() == []  # no token issued yet: open, on loopback only
            token = osis("token", "create", "--user", "ada", "--store", store_url).stdout.strip()
            deadline = time.monotonic() + 1.5
            while True:  # auth switches on within the token cache time
                try:
                    anonymous.agent_memory.list()
                except Unauthorized:
                    break
                assert time.monotonic() < deadline
                time.sleep(0.05)
        with AiClient(server.url, token=token) as ada:
            memory = ada.agent_memory.new(m.AgentMemory(
                user_sid="someone_else", category=m.MemoryCategory.FACT, key="city", value="Ghent",
                confidence=0.9, access_count=0, created_at=NOW, updated_at=NOW))
            assert memory.user_sid == "ada"
            token_id = osis("token", "list", "--store", store_url).stdout.splitlines()[1].split()[0]
            assert osis("token", "revoke", token_id, "--store", store_url).returncode == 0
            deadline = time.monotonic() + 1.5
            while True:
                try:
                    ada.agent_memory.list()
                except Unauthorized:
                    break
                assert time.monotonic() < deadline, "revoked token still accepted after 1.5 s"
                time.sleep(0.05)
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.3.2.1", True), ("::1", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.0.2.10", False), ("no-such-host.invalid", False),
])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_exposure_rule() -> None:
    check_exposure(Listen("127.0.0.1", 1), auth=False, insecure=False)
    check_exposure(Listen(socket="/tmp/x.sock"), auth=False, insecure=False)
    check_exposure(Listen("0.0.0.0", 1), auth=True, insecure=False)
    from osis.server import ExposureError

    with pytest.raises(ExposureError, match="refusing to serve 0.0.0.0:1 without auth"):
        check_exposure(Listen("0.0.0.0", 1), auth=False, insecure=False)
