"""Bad input gets a 422 naming the parameter; OSIS's errors get the matching HTTP status;
nothing answers with a 500 or a traceback."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient
from osis_ai.client import AsyncAiClient

from osis.rest import create_rest_app
from osis.rpc import errors as rpc
from osis.rpc.transport import Params
from osis.store.engine import Engine

BAD_QUERIES = [
    ("/api/audit", "limit", "0"),
    ("/api/audit", "limit", "1001"),
    ("/api/audit", "limit", "ten"),
    ("/api/audit", "offset", "-1"),
    ("/api/audit", "success", "maybe"),
    ("/api/audit", "since", "yesterday"),
    ("/api/audit", "until", "2026-13-01T00:00:00Z"),
    ("/api/audit", "until", "9999-12-31T23:59:59-05:00"),
    ("/api/audit", "q", "x" * 201),
    ("/api/audit", "tool_name", "web\x00search"),
    ("/api/usage", "days", "0"),
    ("/api/usage", "days", "3661"),
    ("/api/usage", "days", "a week"),
    ("/api/usage", "user_sid", "\x00"),
    ("/api/memories", "order_by", "size"),
    ("/api/memories", "category", "opinion"),
    ("/api/memories", "descending", "perhaps"),
    ("/api/memories", "limit", "5000"),
    ("/api/stats", "days", "0"),
    ("/api/stats", "user_sid", "u\x00"),
    ("/api/dashboard", "days", "-1"),
]


@pytest.mark.parametrize("path,name,value", BAD_QUERIES)
def test_bad_query_parameters_are_named(http: TestClient, path: str, name: str, value: str) -> None:
    answer = http.get(path, params={name: value})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert f"'{name}'" in body["error"]
    assert body["errors"][0]["parameter"] == name and body["errors"][0]["location"] == "query"


GOOD = {"user_sid": "u1", "category": "fact", "key": "city", "value": "Ghent", "confidence": 0.5}


@pytest.mark.parametrize(
    "body,name",
    [
        ({**GOOD, "confidence": 1.5}, "confidence"),
        ({**GOOD, "confidence": "high"}, "confidence"),
        ({k: v for k, v in GOOD.items() if k != "key"}, "key"),
        ({**GOOD, "category": "opinion"}, "category"),
        ({**GOOD, "colour": "blue"}, "colour"),
        ({**GOOD, "tags": "a,b"}, "tags"),
        ({**GOOD, "tags": ["ok", 3]}, "tags.1"),
        ({**GOOD, "access_count": -1}, "access_count"),
        ({**GOOD, "user_sid": ""}, "user_sid"),
        ({**GOOD, "value": "nul\x00byte"}, "value"),
    ],
)
def test_bad_memory_bodies_are_named(http: TestClient, body: dict[str, Any], name: str) -> None:
    answer = http.post("/api/memories", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0] == {"parameter": name, "location": "body",
                                          "message": answer.json()["errors"][0]["message"]}
    assert f"'{name}'" in answer.json()["error"]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"", b'"text"'])
def test_bodies_that_are_not_an_object(http: TestClient, raw: bytes) -> None:
    answer = http.post("/api/memories", content=raw, headers={"content-type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"].startswith("invalid body")


def test_unknown_paths_and_methods_answer_json(http: TestClient) -> None:
    missing = http.get("/api/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"] == "no such page: /api/nothing-here"
    wrong = http.patch("/api/memories/abcd", json={})
    assert wrong.status_code == 405 and "error" in wrong.json()


class FailingTransport:
    """Answers every call with one error, as a remote OSIS would."""

    def __init__(self, error: Exception | None = None, answer: Any = None) -> None:
        self.error = error
        self.answer = answer

    async def call(self, method: str, params: Params) -> Any:
        if self.error is not None:
            raise self.error
        return self.answer

    async def call_batch(self, calls: Sequence[tuple[str, Params]]) -> list[Any]:
        return [await self.call(m, p) for m, p in calls]

    async def notify(self, method: str, params: Params) -> None:
        return None

    async def close(self) -> None:
        return None


def _failing(transport: FailingTransport) -> TestClient:
    return TestClient(create_rest_app(lambda: AsyncAiClient(transport=transport)), raise_server_exceptions=False)


@pytest.mark.parametrize(
    "error,status",
    [
        (rpc.NotFound("AgentMemory 'abcd' not found"), 404),
        (rpc.Conflict("sid taken"), 409),
        (rpc.InvalidParams("limit must be at most 1000", data={"field": "limit"}), 422),
        (rpc.ValidationFailed("breaks a rule"), 422),
        (rpc.Unauthorized("who are you"), 401),
        (rpc.Forbidden("not yours"), 403),
        (rpc.LimitExceeded("too big"), 413),
        (rpc.NotImplementedRpc("stats is not implemented"), 501),
        (rpc.MethodNotFound("no method stats"), 501),
        (rpc.Unavailable("store unavailable: closed"), 503),
        (rpc.InternalError("internal error"), 502),
        (rpc.RpcError("odd", code=-32099), 502),
        (rpc.TransportError("connection refused", target="http://osis:8080"), 503),
    ],
)
@pytest.mark.parametrize("path", ["/api/stats", "/api/audit", "/api/memories", "/api/dashboard?days=3"])
def test_osis_errors_map_to_statuses(error: Exception, status: int, path: str) -> None:
    with _failing(FailingTransport(error)) as http:
        answer = http.get(path)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error"]
    if status == 503:
        assert answer.headers["retry-after"] == "5"
    if isinstance(error, rpc.InvalidParams):
        assert answer.json()["errors"][0]["parameter"] == "limit"


def test_a_malformed_answer_from_osis_is_a_bad_gateway() -> None:
    with _failing(FailingTransport(answer={"unexpected": True})) as http:
        answer = http.get("/api/stats")
    assert answer.status_code == 502
    assert "does not match" in answer.json()["error"]


def test_a_closed_store_is_unavailable(engine: Engine, http: TestClient) -> None:
    assert http.get("/api/stats").status_code == 200
    engine.close()
    for path in ("/api/stats", "/api/audit", "/api/memories", "/api/usage"):
        answer = http.get(path)
        assert answer.status_code == 503, answer.text
        assert "unavailable" in answer.json()["error"]


def test_the_client_is_closed_at_shutdown() -> None:
    closed: list[bool] = []

    class Tracking(FailingTransport):
        async def close(self) -> None:
            closed.append(True)

    with _failing(Tracking(rpc.NotFound("x"))) as http:
        http.get("/api/stats")
        assert closed == []
    assert closed == [True]


@pytest.mark.parametrize("query,name", [("q=%ff", "q"), ("tool_name=web&q=%c3%28", "q"), ("user_sid=%ed%a0%80", "user_sid")])
def test_query_parameters_that_are_not_utf8_are_named(http: TestClient, query: str, name: str) -> None:
    # Starlette would read them as U+FFFD and search for that; refused instead.
    answer = http.get(f"/api/audit?{query}")
    assert answer.status_code == 422
    assert answer.json() == {"error": f"invalid query parameter '{name}': not valid UTF-8 once percent-decoded",
                             "errors": [{"parameter": name, "location": "query",
                                         "message": "not valid UTF-8 once percent-decoded"}]}
    assert http.get("/api/audit?q=%C3%BC%2B&tool_name=a+b").status_code == 200  # valid UTF-8 ("ü+")
