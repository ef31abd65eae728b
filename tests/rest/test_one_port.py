"""`osis serve`'s app: JSON-RPC exactly as `osis.rpc.app` serves it, the REST API, the
dashboard and its docs, all on one port."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from osis_ai.server import AiDispatcher, openrpc_document

from osis.ai.service import AiStoreService
from osis.rpc.app import create_app
from osis.server import RPC_PATHS, build_app
from osis.store.engine import Engine


@pytest.fixture
def one_port(engine: Engine) -> Iterator[TestClient]:
    with TestClient(build_app(engine)) as client:
        yield client


@pytest.fixture
def rpc_only(engine: Engine) -> Iterator[TestClient]:
    app = create_app(AiDispatcher(AiStoreService(engine)), service_name="osis_ai", openrpc=openrpc_document())
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize("method,path", [("GET", "/health"), ("GET", "/openrpc.json"),
                                         ("GET", "/.well-known/heroservice.json"), ("HEAD", "/health"),
                                         ("GET", "/rpc"), ("DELETE", "/openrpc.json")])
def test_rpc_paths_answer_exactly_as_the_rpc_app(one_port: TestClient, rpc_only: TestClient, method: str,
                                                  path: str) -> None:
    assert path in RPC_PATHS
    ours, theirs = one_port.request(method, path), rpc_only.request(method, path)
    assert (ours.status_code, ours.content, ours.headers.items()) == (theirs.status_code, theirs.content,
                                                                      theirs.headers.items())


def test_json_rpc_and_rest_share_the_store(one_port: TestClient) -> None:
    call = {"jsonrpc": "2.0", "id": 1, "method": "agent_memory.new", "params": {"obj": {
        "user_sid": "u1", "category": "fact", "key": "city", "value": "Ghent", "confidence": 0.9,
        "access_count": 0, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}}}
    answer = one_port.post("/rpc", content=json.dumps(call), headers={"content-type": "application/json"})
    sid = answer.json()["result"]["sid"]
    assert one_port.get(f"/api/memories/{sid}").json()["value"] == "Ghent"
    stats = one_port.post("/rpc", json={"jsonrpc": "2.0", "id": 2, "method": "stats", "params": {"input": {}}})
    rest = one_port.get("/api/stats").json()
    assert {k: v for k, v in stats.json()["result"].items() if k in rest} == rest
    assert rest["memories"] == 1


def test_dashboard_docs_and_openapi_are_served(one_port: TestClient) -> None:
    page = one_port.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/static/dashboard.js" in page.text
    assert one_port.get("/openapi.json").json()["info"]["title"] == "hero_agent on OSIS"
    docs = one_port.get("/docs")
    assert docs.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in docs.text
    assert one_port.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
