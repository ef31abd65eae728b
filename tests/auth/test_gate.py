"""The auth gate: 401 without a valid token on JSON-RPC and REST, open paths stay open,
auth switches on with the first token (or `--auth`), revocation is prompt, and the REST
API is scoped like JSON-RPC. Both engines."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from osis_ai import models as m
from osis_ai.client import AiClient

from osis.auth.gate import Authenticator, bearer
from osis.auth.tokens import TokenStore, now_text
from osis.rpc.errors import UNAUTHORIZED, Unauthorized
from osis.server import build_app
from osis.store.engine import Engine

from .conftest import Data, Live, serve_in_thread

RPC_BODY = {"jsonrpc": "2.0", "id": 7, "method": "agent_memory.list", "params": {}}
API_CALLS = [
    ("GET", "/api/stats"), ("GET", "/api/audit"), ("GET", "/api/usage"), ("GET", "/api/dashboard"),
    ("GET", "/api/memories"), ("POST", "/api/memories"), ("GET", "/api/memories/0001"),
    ("PUT", "/api/memories/0001"), ("DELETE", "/api/memories/0001"), ("GET", "/api/nowhere"),
]
OPEN = ["/health", "/openrpc.json", "/.well-known/heroservice.json", "/openapi.json", "/docs", "/",
        "/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css",
        "/static/dashboard.js", "/static/charts.js", "/static/dashboard.css"]
BAD_HEADERS = [
    {}, {"Authorization": "Bearer"}, {"Authorization": "Bearer osis_nope"}, {"Authorization": "Basic dTE6cHc="},
    {"Authorization": "Bearer " + "osis_" + "A" * 43},
]


@pytest.mark.parametrize("headers", BAD_HEADERS)
def test_without_a_valid_token_every_api_call_is_401(live: Live, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=live.url, headers=headers) as http:
        rpc = http.post("/rpc", json=RPC_BODY)
        assert rpc.status_code == 401 and rpc.headers["www-authenticate"].startswith("Bearer")
        body = rpc.json()
        assert body["jsonrpc"] == "2.0" and body["id"] is None and body["error"]["code"] == UNAUTHORIZED
        assert "Authorization: Bearer" in body["error"]["message"]
        for method, path in API_CALLS:
            answer = http.request(method, path, json={})
            assert answer.status_code == 401, (method, path)
            assert answer.json() == {"error": answer.json()["error"], "errors": []}
        for path in OPEN:
            assert http.get(path).status_code == 200, path


def test_the_generated_client_sends_its_token(live: Live, data: Data) -> None:
    with pytest.raises(Unauthorized):
        live.client(None).agent_memory.list()
    nobody = AiClient(live.url, token="osis_" + "x" * 43)
    with pytest.raises(Unauthorized):
        nobody.stats(m.StatsInput())
    batch = nobody.batch()
    batch.add("agent_memory.list", {}, None)
    with pytest.raises(Unauthorized):
        batch.send()
    nobody.close()
    assert live.client("admin").stats(m.StatsInput()).tool_calls == len(data.audit)


def test_client_token_argument_is_checked() -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        AiClient("http://127.0.0.1:1", token="osis_x\r\nX-Evil: 1")
    with pytest.raises(ValueError, match="printable ASCII"):
        AiClient("http://127.0.0.1:1", token="")
    from osis.rpc.transport import InProcessTransport

    with pytest.raises(ValueError, match="token= goes with url= or socket="):
        AiClient(transport=InProcessTransport(None), token="osis_x")  # type: ignore[arg-type]


def test_revocation_takes_effect_on_the_next_call(live: Live, data: Data) -> None:
    u1 = live.client("u1")
    assert u1.agent_memory.list()
    TokenStore(live.engine).revoke(live.token_ids["u1"], now=now_text())
    with pytest.raises(Unauthorized):
        u1.agent_memory.list()
    with live.http("u1") as http:
        assert http.get("/api/stats").status_code == 401


@pytest.fixture
def default_ttl_server(engine: Engine) -> Iterator[str]:
    yield from serve_in_thread(build_app(engine))


def test_revocation_with_the_default_cache_takes_under_a_second_and_a_bit(engine: Engine,
                                                                          default_ttl_server: str) -> None:
    token, info = TokenStore(engine).create("user", "u1", now=now_text())
    client = AiClient(default_ttl_server, token=token)
    try:
        client.agent_memory.list()
        TokenStore(engine).revoke(info.id, now=now_text())
        revoked_at = time.monotonic()
        while True:
            try:
                client.agent_memory.list()
            except Unauthorized:
                break
            assert time.monotonic() - revoked_at < 1.5, "revoked token still accepted after 1.5 s"
            time.sleep(0.05)
    finally:
        client.close()


def test_auth_switches_on_with_the_first_token(engine: Engine) -> None:
    for url in serve_in_thread(build_app(engine, token_ttl=0)):
        open_client = AiClient(url)
        try:
            assert open_client.agent_memory.list() == []
            assert httpx.get(f"{url}/api/stats").status_code == 200
            token, info = TokenStore(engine).create("admin", None, now=now_text())
            with pytest.raises(Unauthorized):
                open_client.agent_memory.list()
            # ... and stays on when every token is revoked.
            TokenStore(engine).revoke(info.id, now=now_text())
            with pytest.raises(Unauthorized):
                open_client.agent_memory.list()
            assert httpx.get(f"{url}/api/stats", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        finally:
            open_client.close()


def test_auth_flag_demands_tokens_before_any_exists(engine: Engine) -> None:
    for url in serve_in_thread(build_app(engine, auth=True)):
        assert httpx.post(f"{url}/rpc", json=RPC_BODY).status_code == 401
        assert httpx.get(f"{url}/api/stats").status_code == 401
        assert httpx.get(f"{url}/health").status_code == 200


def test_a_closed_store_answers_503_not_401(engine: Engine) -> None:
    for url in serve_in_thread(build_app(engine, token_ttl=0)):
        TokenStore(engine).create("admin", None, now=now_text())
        engine.close()
        rpc = httpx.post(f"{url}/rpc", json=RPC_BODY, headers={"Authorization": "Bearer osis_" + "a" * 43})
        assert rpc.status_code == 503 and rpc.json()["error"]["code"] == -32007
        rest = httpx.get(f"{url}/api/stats", headers={"Authorization": "Bearer osis_" + "a" * 43})
        assert rest.status_code == 503 and "unavailable" in rest.json()["error"]


def test_rest_api_is_scoped(live: Live, data: Data) -> None:
    mine = [x for x in data.memories if x.user_sid == "u1"]
    theirs = next(x for x in data.memories if x.user_sid != "u1")
    with live.http("u1") as u1, live.http("admin") as admin:
        audit = u1.get("/api/audit", params={"limit": 1000}).json()
        assert audit["total"] == sum(1 for a in data.audit if a.user_sid == "u1")
        assert {a["user_sid"] for a in audit["items"]} == {"u1"}
        assert u1.get("/api/audit", params={"user_sid": "u2"}).json()["total"] == 0
        assert u1.get("/api/memories", params={"limit": 1000}).json()["total"] == len(mine)
        assert [u["user_sid"] for u in u1.get("/api/dashboard").json()["users"]] == ["u1"]
        assert u1.get("/api/stats").json() == admin.get("/api/stats", params={"user_sid": "u1"}).json()
        # A foreign memory is "not found", exactly like a missing one.
        write = {"user_sid": "u1", "category": "fact", "key": "k", "value": "v", "confidence": 0.5}
        foreign = [u1.get(f"/api/memories/{theirs.sid}"), u1.put(f"/api/memories/{theirs.sid}", json=write),
                   u1.delete(f"/api/memories/{theirs.sid}")]
        assert admin.get(f"/api/memories/{theirs.sid}").json()["value"] == theirs.value
        assert admin.delete(f"/api/memories/{theirs.sid}").status_code == 204
        missing = [u1.get(f"/api/memories/{theirs.sid}"), u1.put(f"/api/memories/{theirs.sid}", json=write),
                   u1.delete(f"/api/memories/{theirs.sid}")]
        assert [(a.status_code, a.json()) for a in foreign] == [(a.status_code, a.json()) for a in missing]
        assert foreign[0].status_code == 404
        # Creating for another user creates for oneself, and the per-user key rule holds.
        created = u1.post("/api/memories", json={**write, "user_sid": "u2", "key": mine[0].key})
        assert created.status_code == 409
        created = u1.post("/api/memories", json={**write, "user_sid": "u2", "key": "fresh"})
        assert created.status_code == 201 and created.json()["user_sid"] == "u1"


def test_bearer_header_parsing() -> None:
    def scope(*headers: tuple[bytes, bytes]) -> dict[str, object]:
        return {"headers": list(headers)}

    assert bearer(scope((b"authorization", b"Bearer abc"))) == "abc"
    assert bearer(scope((b"authorization", b"bearer   abc  "))) == "abc"
    assert bearer(scope((b"authorization", b"Basic abc"))) is None
    assert bearer(scope((b"authorization", b"Bearer "))) is None
    assert bearer(scope((b"x-other", b"Bearer abc"))) is None
    with pytest.raises(ValueError, match="ttl"):
        Authenticator(TokenStore(None), ttl=-1)  # type: ignore[arg-type]


def test_the_api_reference_declares_the_optional_bearer_token(live: Live) -> None:
    with live.http() as http:
        document = http.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["security"] == [{"bearer": []}, {}]
