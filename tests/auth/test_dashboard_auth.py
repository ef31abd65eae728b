"""The dashboard with auth on, in headless Chromium against `osis serve`: the page loads
without a token, asks for one, refuses a wrong one, shows the token holder's numbers once
given a good one, keeps it for the tab, and asks again when it is revoked."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.rest.browser import Browser
from tests.rest.test_end_to_end import ARTIFACTS, TILES, assert_tiles_show, chromium  # noqa: F401 - fixture
from tests.servers import free_port, start_server

from .test_tokens import osis

FORM_SHOWN = "document.body !== null && document.body.dataset.state === 'auth' && !document.querySelector('#token-form').hidden"
READY = "document.body !== null && document.body.dataset.state === 'ready' && document.querySelector('#token-form').hidden"


@dataclass
class Served:
    url: str
    store: str
    user_token: str
    admin_token: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("dashboard-auth")
    store = f"sqlite:///{tmp / 'osis.db'}"
    subprocess.run([sys.executable, "-m", "osis", "demo-data", "--store", store, "--days", "7", "--seed", "5"],
                   check=True, timeout=300, capture_output=True, cwd=ROOT)
    user_token = osis("token", "create", "--user", "grace", "--store", store).stdout.strip()
    admin_token = osis("token", "create", "--admin", "--store", store).stdout.strip()
    port = free_port()
    server = start_server([sys.executable, "-m", "osis", "serve", "--store", store, "--listen", f"127.0.0.1:{port}",
                           "--log-format", "text"], tmp / "serve.log", url=f"http://127.0.0.1:{port}")
    try:
        yield Served(str(server.url), store, user_token, admin_token)
    finally:
        server.stop()


def _submit(browser: Browser, token: str) -> None:
    browser.evaluate(f"""(() => {{ document.querySelector('#token').value = {token!r};
                                   document.querySelector('#token-form').requestSubmit(); }})()""")


def test_the_dashboard_asks_for_a_token(served: Served, chromium: str) -> None:  # noqa: F811 - fixture
    def api(token: str) -> httpx.Client:
        return httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {token}"})

    with Browser(chromium) as browser, api(served.user_token) as grace, api(served.admin_token) as admin:
        browser.open(f"{served.url}/?refresh=2")
        browser.wait_for(FORM_SHOWN)
        assert browser.evaluate("document.querySelector('#token-error').hidden")
        browser.screenshot(ARTIFACTS / "dashboard-token.png")

        _submit(browser, "osis_" + "w" * 43)
        browser.wait_for(FORM_SHOWN + " && !document.querySelector('#token-error').hidden")
        assert "refused" in browser.evaluate("document.querySelector('#token-error').textContent")
        assert browser.evaluate("sessionStorage.getItem('osis.token')") is None

        _submit(browser, served.user_token)
        browser.wait_for(READY)
        stats = grace.get("/api/stats").json()
        assert stats == admin.get("/api/stats", params={"user_sid": "grace"}).json()
        assert stats["tool_calls"] < admin.get("/api/stats").json()["tool_calls"]
        assert_tiles_show(browser.evaluate(TILES), stats)
        assert browser.evaluate("[...document.querySelectorAll('#user option')].map(o => o.value)") == ["", "grace"]
        assert browser.evaluate("sessionStorage.getItem('osis.token')") == served.user_token
        assert browser.evaluate("localStorage.length") == 0
        browser.screenshot(ARTIFACTS / "dashboard-as-user.png")

        # The tab keeps the token across a reload.
        browser.open(f"{served.url}/?refresh=2")
        browser.wait_for(READY)

        # Revoked: the next refresh asks for a token again.
        token_id = next(line.split()[0] for line in osis("token", "list", "--store", served.store).stdout.splitlines()
                        if line.split()[3] == "grace")
        assert osis("token", "revoke", token_id, "--store", served.store).returncode == 0
        browser.wait_for(FORM_SHOWN, timeout=15)
        assert browser.evaluate("sessionStorage.getItem('osis.token')") is None
        unexpected = [e for e in browser.errors() if "401" not in e]
        assert unexpected == []
