"""The hostile-request corpus (`tests/server/hostile.py`) against one `osis serve` per engine.

Every case must get a 4xx or a JSON-RPC error answer (never a 5xx, never a traceback),
leave the store exactly as it was when it was a rejected write, and leave the server
healthy; injection syntax in filters and search terms must match literally.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from osis.server import open_store
from osis.store.engine import Engine
from tests.server import hostile
from tests.servers import Server, free_port, start_server
from tests.store.conftest import ENGINES, _drop_schema, postgres_dsn

COLLECTIONS = list(hostile.FIELDS)
WRITE_MARKERS = (b'.new"', b'.set"', b'.delete"', b'"memory_touch"')


@dataclass
class Corpus:
    server: Server
    http: httpx.Client
    engine: Engine
    seeded: dict[str, list[dict[str, Any]]]
    memory_sid: str

    def checksums(self) -> dict[str, str]:
        return {coll: self.engine.checksum(coll) for coll in COLLECTIONS}


def _seed(http: httpx.Client) -> dict[str, list[dict[str, Any]]]:
    seeded: dict[str, list[dict[str, Any]]] = {}
    for coll, objects in hostile.seed_objects().items():
        seeded[coll] = []
        for start in range(0, len(objects), hostile.MAX_BATCH):
            batch = [{"jsonrpc": "2.0", "id": i, "method": f"{coll}.new", "params": {"obj": o}}
                     for i, o in enumerate(objects[start:start + hostile.MAX_BATCH])]
            answers = http.post("/rpc", json=batch).json()
            assert all("result" in a for a in answers), answers
            seeded[coll] += [a["result"] for a in sorted(answers, key=lambda a: a["id"])]
    return seeded


@pytest.fixture(scope="module", params=ENGINES)
def corpus(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    tmp = tmp_path_factory.mktemp(f"hostile-{request.param}")
    schema = None
    if request.param == "sqlite":
        store = f"sqlite:///{tmp}/osis.db"
    else:
        dsn = postgres_dsn()
        if dsn is None:
            pytest.skip("POSTGRES TESTS SKIPPED: no PostgreSQL reachable")
        schema = f"osis_test_{uuid.uuid4().hex[:12]}"
        store = f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}"
    port = free_port()
    argv = [sys.executable, "-m", "osis", "serve", "--store", store, "--listen", f"127.0.0.1:{port}",
            *hostile.SERVE_FLAGS]
    server = start_server(argv, tmp / "serve.log", url=f"http://127.0.0.1:{port}")
    engine = open_store(store)
    try:
        with server.http() as http:
            http.timeout = httpx.Timeout(20.0)
            seeded = _seed(http)
            yield Corpus(server, http, engine, seeded, seeded["agent_memory"][0]["sid"])
        log = server.log_text()
        assert server.process.poll() is None, f"the server died:\n{log}"
        # Nothing in the corpus is the server's fault: no handler failed, nothing was logged as a bug.
        assert "Traceback" not in log and "internal error" not in log and '"ERROR"' not in log, log
    finally:
        engine.close()
        server.stop()
        if schema is not None:
            _drop_schema(str(postgres_dsn()), schema)


def _send(http: httpx.Client, case: hostile.Case) -> httpx.Response:
    headers = dict(case.headers)
    content: Any = case.body
    if headers.pop("x-chunked", None) and case.body is not None:
        body = case.body  # no Content-Length: the server learns the size only by reading
        content = iter([body[i:i + 4096] for i in range(0, len(body), 4096)])
    request = http.build_request(case.method, case.path, content=content, headers=headers)
    if case.body is None:
        request.headers.pop("content-type", None)
    return http.send(request)


def _is_write(case: hostile.Case) -> bool:
    if case.path == "/rpc":
        return case.body is not None and any(marker in case.body for marker in WRITE_MARKERS)
    return case.method not in ("GET", "HEAD")


def _check_rejected(case: hostile.Case, answer: httpx.Response) -> None:
    if 400 <= answer.status_code < 500:
        return
    assert case.path == "/rpc" and answer.status_code == 200, (
        f"{case.id}: expected a 4xx or a JSON-RPC error, got {answer.status_code}: {answer.text[:300]}"
    )
    payload = answer.json()
    answers = payload if isinstance(payload, list) else [payload]
    assert answers and all(isinstance(a, dict) and "error" in a for a in answers), (
        f"{case.id}: a call was not refused: {answer.text[:300]}"
    )
    for a in answers:
        assert set(a["error"]) <= {"code", "message", "data"} and a["error"]["message"], a
        assert a["error"]["code"] != -32603, f"{case.id}: the server failed: {a}"


def _run(corpus: Corpus, case: hostile.Case) -> None:
    write = case.kind == "reject" and _is_write(case)
    before = corpus.checksums() if write else None
    answer = _send(corpus.http, case)
    assert answer.status_code < 500, f"{case.id}: {answer.status_code} {answer.text[:500]}"
    assert "Traceback" not in answer.text and 'File "' not in answer.text, answer.text
    if answer.status_code != 204 and answer.content:
        assert answer.headers["content-type"].startswith("application/json"), answer.headers
        json.loads(answer.content)
    if case.kind == "reject":
        _check_rejected(case, answer)
        if before is not None:
            assert corpus.checksums() == before, f"{case.id}: a rejected write changed the store"
    else:
        assert answer.status_code == 200, f"{case.id}: {answer.status_code} {answer.text[:300]}"
        payload = answer.json()
        result = payload["result"] if case.path == "/rpc" else payload
        assert case.check is not None
        case.check(result, corpus.seeded)
    assert corpus.server.process.poll() is None, f"the server died on {case.id}"
    assert corpus.http.get("/health").status_code == 200, f"the server is unhealthy after {case.id}"


RPC_CASES = [*hostile.rpc_cases(), *hostile.literal_cases()]
REST_CASES = [*hostile.rest_cases("{memory}"), *hostile.rest_literal_cases()]


def test_corpus_is_large_and_named_uniquely() -> None:
    cases = RPC_CASES + REST_CASES
    rejects = [c for c in cases if c.kind == "reject"]
    assert len(rejects) >= 500, len(rejects)
    assert len({c.id for c in cases}) == len(cases), "two cases share an id"


@pytest.mark.parametrize("case", RPC_CASES, ids=lambda c: c.id)
def test_rpc(corpus: Corpus, case: hostile.Case) -> None:
    _run(corpus, case)


@pytest.mark.parametrize("case", REST_CASES, ids=lambda c: c.id)
def test_rest(corpus: Corpus, case: hostile.Case) -> None:
    concrete = hostile.Case(case.id, case.method, case.path.replace("{memory}", corpus.memory_sid), case.body,
                            case.headers, case.kind, case.check)
    _run(corpus, concrete)
