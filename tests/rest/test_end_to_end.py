"""End to end: `osis demo-data` fills a store, `osis serve` serves it as a subprocess, and
headless Chromium shows the dashboard: the tiles equal /api/stats, the charts are drawn,
the filters and the periodic refresh work without reloading the page, and nothing is
fetched from another host. Screenshots go to test-artifacts/.

Also: the REST app in front of an OSIS running elsewhere, over HTTP and a unix socket.

Chromium missing means a skip on a developer's machine, and a failure under CI (CI=true
or OSIS_REQUIRE_SERVICES=1), which must run every test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from osis_ai import models as m
from osis_ai.client import AiClient, AsyncAiClient

from osis.rest import create_rest_app
from tests.conftest import ROOT
from tests.rest.browser import Browser, find_chromium
from tests.servers import Server, free_port, start_server

ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        if os.environ.get("CI") == "true" or os.environ.get("OSIS_REQUIRE_SERVICES") == "1":
            pytest.fail("Chromium is not installed; .ci/run installs it with apt-get install chromium", pytrace=False)
        pytest.skip("Chromium is not installed (apt-get install chromium) or set OSIS_CHROMIUM")
    return path


def _serve(store: str, log: Path, *, port: int | None = None, socket_path: str | None = None) -> Server:
    where = ["--listen", f"127.0.0.1:{port}"] if port is not None else ["--socket", str(socket_path)]
    argv = [sys.executable, "-m", "osis", "serve", "--store", store, *where, "--log-format", "text"]
    url = f"http://127.0.0.1:{port}" if port is not None else None
    return start_server(argv, log, url=url, socket_path=socket_path)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'osis.db'}"
    subprocess.run([sys.executable, "-m", "osis", "demo-data", "--store", url, "--days", "21", "--seed", "3"],
                   check=True, timeout=300, capture_output=True)
    return url


@pytest.fixture(scope="module")
def server(store: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    srv = _serve(store, tmp_path_factory.mktemp("serve") / "serve.log", port=free_port())
    try:
        yield str(srv.url)
    finally:
        srv.stop()


TILES = """Object.fromEntries([...document.querySelectorAll('[data-stat]')].map(t =>
    [t.dataset.stat, {value: Number(t.dataset.value), text: t.querySelector('.value').textContent}]))"""

CHARTS = """({
    calls: document.querySelectorAll('#chart-calls svg rect.bar').length,
    rate: document.querySelectorAll('#chart-calls svg path.line').length,
    tokens: document.querySelectorAll('#chart-tokens svg rect.bar').length,
    topTools: document.querySelectorAll('#chart-top-tools svg rect.bar').length,
    topModels: document.querySelectorAll('#chart-top-models svg rect.bar').length,
    durations: document.querySelectorAll('#chart-durations svg rect.p50').length,
    memories: document.querySelectorAll('#chart-memories svg path.slice').length,
    users: document.querySelectorAll('#users tbody tr[data-user]').length,
    userOptions: [...document.querySelectorAll('#user option')].map(o => o.value),
})"""


def _ms(value: float) -> str:
    # The dashboard's own formatting (charts.js fmt.ms).
    if value >= 1000:
        return f"{value / 1000:.{0 if value >= 10000 else 1}f} s"
    return f"{round(value)} ms"


def assert_tiles_show(tiles: dict[str, Any], stats: dict[str, Any]) -> None:
    shown = {name: tile["value"] for name, tile in tiles.items()}
    assert shown == pytest.approx({k: v for k, v in stats.items() if k in shown}, rel=1e-12)
    assert set(shown) == {k for k, v in stats.items() if not isinstance(v, list)}
    for name, tile in tiles.items():
        value = stats[name]
        if name == "tool_success_rate":
            assert tile["text"] == f"{value * 100:.1f}%"
        elif name == "avg_tool_duration_ms":
            assert tile["text"] == _ms(value)
        else:
            assert tile["text"] == f"{value:,}", name


def _wait_for_render(browser: Browser, after: str | None = None) -> None:
    condition = "document.body !== null && document.body.dataset.state === 'ready'"
    if after is not None:
        condition += f" && document.body.dataset.generatedAt !== {json.dumps(after)}"
    browser.wait_for(condition)


def _navigations(browser: Browser) -> int:
    return sum(1 for e in browser.events
               if e["method"] == "Page.frameNavigated" and not e["params"]["frame"].get("parentId"))


def test_dashboard_in_chromium(server: str, chromium: str) -> None:
    api = httpx.Client(base_url=server)
    with Browser(chromium) as browser:
        browser.open(f"{server}/?refresh=2")
        _wait_for_render(browser)
        stats = api.get("/api/stats").json()
        assert_tiles_show(browser.evaluate(TILES), stats)

        drawn = browser.evaluate(CHARTS)
        assert drawn["calls"] >= 21 and drawn["rate"] == 1
        assert drawn["tokens"] >= 21
        assert drawn["topTools"] == len(stats["top_tools"]) == 10
        assert drawn["topModels"] == len(stats["top_models"]) >= 5
        assert drawn["durations"] == 12
        assert drawn["memories"] == 4
        users = api.get("/api/dashboard").json()["users"]
        assert drawn["users"] == len(users) == 6
        assert drawn["userOptions"] == ["", *sorted(u["user_sid"] for u in users)]
        browser.screenshot(ARTIFACTS / "dashboard.png")

        # Filters apply in place: no page load, the query string follows.
        loads = _navigations(browser)
        shown_at = browser.evaluate("document.body.dataset.generatedAt")
        browser.evaluate("""(() => { const s = document.querySelector('#user'); s.value = 'grace';
                                     s.dispatchEvent(new Event('change')); })()""")
        browser.wait_for("location.search.includes('user_sid=grace')")
        browser.evaluate("document.querySelector('#window button[data-days=\"7\"]').click()")
        browser.wait_for("location.search.includes('days=7') && "
                         "document.querySelector('#window [aria-checked=true]').dataset.days === '7'")
        _wait_for_render(browser, after=shown_at)
        browser.wait_for("document.querySelector('[data-note=window]').textContent === 'last 7 days'")
        time.sleep(0.3)  # let a refresh that raced the clicks land
        assert_tiles_show(browser.evaluate(TILES), api.get("/api/stats", params={"user_sid": "grace", "days": 7}).json())
        browser.screenshot(ARTIFACTS / "dashboard-filtered.png")

        # The periodic refresh picks up new activity without a reload.
        before = browser.evaluate("Number(document.querySelector('[data-stat=tool_calls]').dataset.value)")
        client = AiClient(server)
        try:
            client.agent_audit_entry.new(m.AgentAuditEntry(
                tool_name="web_search", arguments="{}", result_preview="ok", success=True, duration_ms=120,
                user_sid="grace", created_at=datetime.now(timezone.utc),
            ))
        finally:
            client.close()
        browser.wait_for(f"Number(document.querySelector('[data-stat=tool_calls]').dataset.value) === {before + 1}",
                         timeout=15)
        assert_tiles_show(browser.evaluate(TILES), api.get("/api/stats", params={"user_sid": "grace", "days": 7}).json())
        assert _navigations(browser) == loads

        assert browser.errors() == []
        foreign = [url for url in browser.requested_urls() if not url.startswith(server) and url != "about:blank"]
        assert foreign == []
    api.close()


def test_rest_in_front_of_osis_elsewhere(server: str, store: str, tmp_path: Path) -> None:
    """create_rest_app with the generated client over HTTP, and over a unix socket."""
    expected = httpx.get(f"{server}/api/stats").json()
    with TestClient(create_rest_app(lambda: AsyncAiClient(server))) as http:
        assert http.get("/api/stats").json() == expected
        assert http.get("/api/audit", params={"limit": 3}).json() == httpx.get(
            f"{server}/api/audit", params={"limit": 3}).json()
        assert http.get("/api/memories/zzzz").status_code == 404

    path = str(tmp_path / "osis.sock")
    srv = _serve(store, tmp_path / "serve.log", socket_path=path)
    try:
        with TestClient(create_rest_app(lambda: AsyncAiClient(socket=path))) as http:
            assert http.get("/api/stats").json() == expected
    finally:
        srv.stop()

    # OSIS gone: the REST app answers 503, not a 500.
    with TestClient(create_rest_app(lambda: AsyncAiClient(socket=path))) as http:
        down = http.get("/api/stats")
        assert down.status_code == 503 and "unreachable" in down.json()["error"]
