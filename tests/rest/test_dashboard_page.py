"""The dashboard page and the docs page are self-contained: every file they load is served
by the app, and nothing points at another host (the dashboard must work offline)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from osis.rest.queries import Stats

EXTERNAL = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s\"'`)]*", re.IGNORECASE)
# An XML namespace is a name, not something a browser fetches.
NAMESPACES = {"http://www.w3.org/2000/svg"}


def _external(text: str) -> set[str]:
    return {url for url in EXTERNAL.findall(text) if url not in NAMESPACES}


def _local_assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/[^"]*)"', html)


def test_every_stat_has_one_tile(http: TestClient) -> None:
    html = http.get("/").text
    tiles = re.findall(r'data-stat="([a-z_]+)"', html)
    scalars = [name for name, field in Stats.model_fields.items() if field.annotation in (int, float)]
    assert sorted(tiles) == sorted(scalars)


def test_the_dashboard_loads_nothing_from_elsewhere(http: TestClient) -> None:
    html = http.get("/").text
    assets = _local_assets(html)
    assert {"/static/dashboard.js", "/static/dashboard.css"} <= set(assets)
    texts = {"/": html}
    for path in [*assets, "/static/charts.js"]:
        answer = http.get(path)
        assert answer.status_code == 200, path
        texts[path] = answer.text
    assert http.get("/static/dashboard.js").headers["content-type"].startswith(("text/javascript",
                                                                                "application/javascript"))
    for path, text in texts.items():
        assert not _external(text), f"{path} refers to another host: {_external(text)}"
    # The scripts import each other by relative path only.
    assert re.findall(r'from "([^"]+)"', texts["/static/dashboard.js"]) == ["./charts.js"]


def test_the_docs_page_loads_nothing_from_elsewhere(http: TestClient) -> None:
    html = http.get("/docs").text
    assert not _external(html), _external(html)
    for path in _local_assets(html) + re.findall(r"url: '(/[^']*)'", html):
        assert http.get(path).status_code == 200, path
