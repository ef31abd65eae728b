"""The store records the schema it was opened with and checks the next one against it.

Compatible changes are applied and recorded; a breaking change to stored data is refused
with the diff's text, leaving documents, layout and the record as they were, unless the
break is explicitly allowed. Runs on both engines.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from oschema_gen.evolution import package_path, snapshot_of
from oschema_gen.loader import load_domain
from osis.binding import DomainBinding, bind_package
from osis.evolution import BreakingSchemaChange, schema_record
from osis.server import open_store
from osis.store import Engine, SchemaMismatch, SchemaRecord, open_engine
from tests.conftest import ROOT, SCHEMAS
from tests.servers import free_port, start_server

AI = bind_package("osis_ai")


def ai_variant(tmp_path: Path, *edits: tuple[str, str, str]) -> DomainBinding:
    """The ai binding with the snapshot of the ai schema after `edits` (file, before, after)."""
    directory = tmp_path / f"variant{len(list(tmp_path.iterdir()))}" / "ai"
    shutil.copytree(SCHEMAS / "ai", directory)
    for name, before, after in edits:
        path = directory / name
        text = path.read_text()
        assert before in text
        path.write_text(text.replace(before, after, 1))
    result = load_domain(directory)
    assert result.domain is not None, result.bag.render(result.sources)
    return dataclasses.replace(AI, snapshot=snapshot_of(result.domain, package_path("ai")).to_json())


class _Peeked(Exception):
    """Ends an open after its check saw the recorded schema, so that nothing is written."""


def recorded(url: str) -> str | None:
    """The schema document the store holds, read through the engine's own check hook."""
    seen: list[str | None] = []

    def peek(stored: str | None) -> None:
        seen.append(stored)
        raise _Peeked()

    engine = open_engine(url)
    try:
        with pytest.raises(_Peeked):
            engine.open(AI.specs, SchemaRecord(AI.snapshot, peek))
    finally:
        engine.close()
    return seen[0]


def populate(url: str) -> dict[str, str]:
    """A few memories and audit entries; returns the checksum of every collection."""
    engine = open_store(url)
    try:
        for i in range(12):
            engine.insert("agent_memory", {
                "user_sid": f"u{i % 3}", "category": "fact", "key": f"k{i}", "value": f"likes {i}",
                "source": "chat", "confidence": 0.5, "access_count": 70000 + i, "tags": ["a"],
                "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-02T00:00:00Z",
            })
            engine.insert("agent_audit_entry", {
                "tool_name": "search", "arguments": "{}", "result_preview": "ok", "success": True,
                "duration_ms": i, "user_sid": "u1", "created_at": "2026-01-01T00:00:00Z",
            })
        return checksums(engine)
    finally:
        engine.close()


def checksums(engine: Engine) -> dict[str, str]:
    """Checksums of the ai domain's collections (the runtime's own, e.g. tokens, left out)."""
    return {name: engine.checksum(name) for name in AI.roots}


def open_with(url: str, binding: DomainBinding, allow_breaking: bool = False) -> Engine:
    engine = open_engine(url)
    try:
        engine.open(binding.specs, schema_record(binding, allow_breaking))
    except BaseException:
        engine.close()
        raise
    return engine


BREAKING = (
    ("20_memory.oschema", "    source?: str\n", ""),
    ("20_memory.oschema", "access_count: u32", "access_count: u16"),
)


def test_first_open_records_the_schema(store_url: str) -> None:
    open_store(store_url).close()
    assert recorded(store_url) == AI.snapshot


def test_breaking_change_is_refused_and_nothing_changes(store_url: str, tmp_path: Path) -> None:
    before = populate(store_url)
    v2 = ai_variant(tmp_path, *BREAKING)
    with pytest.raises(BreakingSchemaChange) as refused:
        open_with(store_url, v2)
    message = str(refused.value)
    assert message.startswith("osis_ai breaks data this store holds (2 breaking change(s) to stored types)")
    assert "ai/20_memory.oschema:4:1: wire-breaking[OS304]: field 'AgentMemory.source' removed" in message
    assert "  old: ai/20_memory.oschema:12:5" in message
    assert "wire-breaking[OS307]: field 'AgentMemory.access_count' narrowed from u32 to u16" in message
    assert "--allow-breaking-schema" in message
    assert [c.code for c in refused.value.changes] == ["OS304", "OS307"]
    # Nothing was touched: the record, and every document.
    assert recorded(store_url) == AI.snapshot
    engine = open_store(store_url)
    try:
        assert checksums(engine) == before
        assert engine.count("agent_memory") == 12
    finally:
        engine.close()


def test_allowed_break_is_applied_and_recorded(store_url: str, tmp_path: Path) -> None:
    before = populate(store_url)
    v2 = ai_variant(tmp_path, *BREAKING)
    engine = open_with(store_url, v2, allow_breaking=True)
    try:
        # The documents are kept as they are: the operator migrates them.
        assert checksums(engine) == before
    finally:
        engine.close()
    assert recorded(store_url) == v2.snapshot
    open_with(store_url, v2).close()  # recorded: no longer a change
    # Going back only adds an optional field and widens a range: compatible.
    open_store(store_url).close()
    assert recorded(store_url) == AI.snapshot


def test_compatible_change_is_applied_and_recorded(store_url: str, tmp_path: Path) -> None:
    populate(store_url)
    v2 = ai_variant(tmp_path, ("20_memory.oschema", "    tags: [str]\n", "    tags: [str]\n    pinned?: bool\n"))
    open_with(store_url, v2).close()
    assert recorded(store_url) == v2.snapshot
    # The record moved on: the old schema now lacks a stored field, which is a break.
    with pytest.raises(BreakingSchemaChange, match=r"field 'AgentMemory.pinned' removed"):
        open_store(store_url)


def test_changes_to_methods_alone_do_not_stop_the_store(store_url: str, tmp_path: Path) -> None:
    populate(store_url)
    v2 = ai_variant(tmp_path, ("90_rpc.oschema", "    memory_touch(input: MemoryTouchInput) -> AgentMemory\n", ""))
    open_with(store_url, v2).close()
    assert recorded(store_url) == v2.snapshot


def test_unreadable_record_is_refused_unless_allowed(store_url: str) -> None:
    engine = open_engine(store_url)
    try:
        engine.open(AI.specs, SchemaRecord('{"format": 99}', lambda stored: None))
    finally:
        engine.close()
    with pytest.raises(SchemaMismatch, match=r"recorded schema cannot be read \(schema snapshot has format 99"):
        open_store(store_url)
    open_store(store_url, allow_breaking_schema=True).close()
    assert recorded(store_url) == AI.snapshot


def test_osis_serve_refuses_a_breaking_schema_and_the_flag_accepts_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/osis.db"
    populate(url)
    # The store was last opened with a schema that had one more stored field.
    v0 = ai_variant(tmp_path, ("20_memory.oschema", "    tags: [str]\n", "    tags: [str]\n    weight?: f64\n"))
    open_with(url, v0).close()
    serve = [sys.executable, "-m", "osis", "serve", "--store", url, "--log-format", "text"]
    refused = subprocess.run(
        [*serve, "--listen", f"127.0.0.1:{free_port()}"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith("osis: error: osis_ai breaks data this store holds")
    assert "wire-breaking[OS304]: field 'AgentMemory.weight' removed" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert recorded(url) == v0.snapshot

    port = free_port()
    server = start_server([*serve, "--listen", f"127.0.0.1:{port}", "--allow-breaking-schema"], tmp_path / "serve.log",
                          url=f"http://127.0.0.1:{port}")
    try:
        with server.http() as http:
            assert http.get("/api/memories", params={"limit": 100}).json()["total"] == 12
    finally:
        assert server.stop() == 0
    assert "breaking schema changes accepted (--allow-breaking-schema)" in server.log_text()
    assert recorded(url) == AI.snapshot
