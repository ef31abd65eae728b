"""/api/memories: listing against an oracle, and the create/read/replace/delete cycle, on both engines."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.rest.conftest import Seeded


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"user_sid": "u1"},
        {"user_sid": "u2", "category": "fact"},
        {"key": "key_3"},
        {"order_by": "access_count"},
        {"order_by": "updated_at", "descending": "false"},
        {"category": "skill", "order_by": "confidence", "descending": "true"},
        {"user_sid": "", "key": ""},  # empty filters are no filters
    ],
)
def test_list_matches_the_oracle(seeded: Seeded, params: dict[str, Any]) -> None:
    order = params.get("order_by", "confidence")
    descending = params.get("descending", "true") == "true"
    hits = [x for x in seeded.memories
            if all(not params.get(f) or getattr(x, f) == params[f] for f in ("user_sid", "category", "key"))]
    hits.sort(key=lambda x: (getattr(x, order), x.sid), reverse=descending)
    answer = seeded.http.get("/api/memories", params={**params, "limit": 7, "offset": 1})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == len(hits)
    assert [x["sid"] for x in body["items"]] == [x.sid for x in hits[1:8]]
    assert body["items"][:1] == [x.model_dump(mode="json") for x in hits[1:2]]


NEW = {"user_sid": "u7", "category": "preference", "key": "answer_language", "value": "French",
       "confidence": 0.8, "tags": ["style"], "source": "user"}


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def test_create_read_replace_delete(http: TestClient) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    created = http.post("/api/memories", json=NEW)
    assert created.status_code == 201, created.text
    memory = created.json()
    assert {k: memory[k] for k in NEW} == NEW
    assert memory["access_count"] == 0
    assert memory["sid"] and created.headers["location"] == f"/api/memories/{memory['sid']}"
    assert memory["created_at"] == memory["updated_at"] and _parse(memory["created_at"]) >= before

    assert http.get(f"/api/memories/{memory['sid']}").json() == memory
    listed = http.get("/api/memories", params={"user_sid": "u7"}).json()
    assert listed == {"items": [memory], "total": 1}

    # A fetched memory can be sent back as it is, with changes; the server keeps
    # created_at and access_count, and moves updated_at.
    changed = {**memory, "value": "Dutch", "confidence": 0.95, "created_at": "2001-01-01T00:00:00Z"}
    del changed["access_count"]
    replaced = http.put(f"/api/memories/{memory['sid']}", json=changed)
    assert replaced.status_code == 200, replaced.text
    after = replaced.json()
    assert after["value"] == "Dutch" and after["confidence"] == 0.95
    assert after["created_at"] == memory["created_at"] and after["access_count"] == 0
    assert _parse(after["updated_at"]) >= _parse(memory["updated_at"])
    assert http.get(f"/api/memories/{memory['sid']}").json() == after

    counted = http.put(f"/api/memories/{memory['sid']}", json={**NEW, "access_count": 12}).json()
    assert counted["access_count"] == 12

    deleted = http.delete(f"/api/memories/{memory['sid']}")
    assert deleted.status_code == 204 and deleted.content == b""
    gone = http.get(f"/api/memories/{memory['sid']}")
    assert gone.status_code == 404 and memory["sid"] in gone.json()["error"]
    assert http.get("/api/memories", params={"user_sid": "u7"}).json() == {"items": [], "total": 0}


@pytest.mark.parametrize("sid", ["zzzz", "abc123xyz", "no-such-memory", "UPPER", "a" * 40])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_unknown_sids_are_404(http: TestClient, method: str, sid: str) -> None:
    answer = http.request(method, f"/api/memories/{sid}", json=NEW if method == "PUT" else None)
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert sid in answer.json()["error"]


def test_one_memory_per_user_and_key(http: TestClient) -> None:
    first = http.post("/api/memories", json=NEW).json()
    clash = http.post("/api/memories", json={**NEW, "value": "German"})
    assert clash.status_code == 409
    assert first["sid"] in clash.json()["error"] and "answer_language" in clash.json()["error"]
    # The same key for another user is fine; moving it onto a taken key is not.
    other = http.post("/api/memories", json={**NEW, "user_sid": "u8"}).json()
    moved = http.put(f"/api/memories/{other['sid']}", json={**NEW, "user_sid": "u7"})
    assert moved.status_code == 409
    # Replacing a memory with its own key is no clash.
    assert http.put(f"/api/memories/{first['sid']}", json={**NEW, "value": "Italian"}).status_code == 200
    assert http.get("/api/memories", params={"key": "answer_language"}).json()["total"] == 2


def test_body_sid_must_match_the_path(http: TestClient) -> None:
    one = http.post("/api/memories", json=NEW).json()
    other = http.post("/api/memories", json={**NEW, "key": "tone"}).json()
    answer = http.put(f"/api/memories/{one['sid']}", json={**NEW, "sid": other["sid"]})
    assert answer.status_code == 422
    body = answer.json()
    assert body["errors"] == [{"parameter": "sid", "location": "body", "message": body["error"]}]
    assert http.get(f"/api/memories/{one['sid']}").json() == one
