"""The migration end to end, on both engines: what each row becomes, reruns, verification."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from osis_ai import models as m

from osis.migrate import runner
from osis.migrate.legacy import LegacyFile
from osis.migrate.report import Report
from osis.migrate.sids import sid_for_id
from osis.migrate.tables import Context
from osis.migrate.timestamps import UNKNOWN_TIME
from osis.server import open_store
from osis.store import Query
from osis.store.postgres import PostgresEngine
from osis.store.sqlite import SqliteEngine
from osis.store.url import PostgresConfig, parse_url
from tests.migrate.conftest import COLLECTIONS, checksums, documents, file_digest
from tests.migrate.legacy_files import HUGE, Quirk, current_file, quirk_id
from tests.store.conftest import _drop_schema, analyzed_tables, non_owner, postgres_dsn, table_locked, with_option

MODELS: dict[str, type[Any]] = {
    "agent_audit_entry": m.AgentAuditEntry,
    "agent_usage_entry": m.AgentUsageEntry,
    "agent_memory": m.AgentMemory,
    "agent_conversation": m.AgentConversation,
    "agent_message": m.AgentMessage,
}
TABLES = {
    "audit_log": "agent_audit_entry",
    "usage_log": "agent_usage_entry",
    "memories": "agent_memory",
    "conversations": "agent_conversation",
    "messages": "agent_message",
}

# What each quirk of legacy_files.current_file becomes: the fields its object must have,
# or ("quarantined", reason).
EXPECTED: dict[tuple[str, str], Any] = {
    ("conversations", "title NULL, RFC 3339 times, huge context"): {
        "title": "",
        "context": HUGE,
        "created_at": "2024-03-01T08:00:00Z",
        "updated_at": "2024-03-01T09:00:00Z",
    },
    ("conversations", "created_at garbage, updated_at epoch ms"): {
        "created_at": "2024-05-29T16:26:40Z",
        "updated_at": "2024-05-29T16:26:40Z",
    },
    ("conversations", "no timestamps"): {"created_at": UNKNOWN_TIME, "updated_at": UNKNOWN_TIME, "user_sid": ""},
    ("conversations", "user_sid not UTF-8"): ("quarantined", "user_sid is not valid UTF-8"),
    ("conversations", "id NULL"): ("quarantined", "id is NULL"),
    ("conversations", "title not UTF-8"): {"title": "caf\ufffd", "user_sid": "u3"},
    ("messages", "dangling conversation"): ("quarantined", "conversation_id names no conversation"),
    ("messages", "conversation_id NULL"): ("quarantined", "conversation_id is NULL or missing"),
    ("messages", "conversation quarantined"): ("quarantined", "its conversation is quarantined"),
    ("messages", "role padded"): {"role": "assistant", "content": "hi"},
    ("messages", "role unknown"): ("quarantined", "role is not one of system, user, assistant, tool"),
    ("messages", "timestamp garbage"): {"created_at": "2024-03-01T08:00:00Z", "user_sid": "u1"},
    ("messages", "content NUL"): {"content": "a\ufffdb"},
    ("messages", "content not UTF-8"): {"content": "ok \ufffd( bad"},
    ("messages", "content huge"): {"content": HUGE, "model": "gpt-4o-mini", "tool_name": None},
    ("messages", "model not UTF-8"): {"model": "gpt\ufffd"},
    ("audit_log", "arguments not JSON"): {"arguments": "{not json", "created_at": "2024-02-02T02:02:02Z"},
    ("audit_log", "created_at garbage"): ("quarantined", "created_at is NULL, missing or not a timestamp"),
    ("audit_log", "created_at epoch seconds"): {"created_at": "2024-07-03T09:46:40Z"},
    ("audit_log", "created_at epoch ms"): {"created_at": "2024-07-03T09:46:40Z"},
    ("audit_log", "created_at epoch text"): {"created_at": "2024-07-03T09:46:40Z"},
    ("audit_log", "created_at RFC 3339 offset"): {"created_at": "2024-07-03T17:00:00Z"},
    ("audit_log", "duration negative"): {"duration_ms": 0},
    ("audit_log", "duration NULL"): {"duration_ms": 0},
    ("audit_log", "duration fractional"): {"duration_ms": 13},
    ("audit_log", "duration huge"): ("quarantined", "duration_ms is larger than 4294967295"),
    ("audit_log", "duration text"): {"duration_ms": 250},
    ("audit_log", "success 2"): {"success": True},
    ("audit_log", "success text"): {"success": False},
    ("audit_log", "success garbage"): ("quarantined", "success is not a boolean"),
    ("audit_log", "tool_name not UTF-8"): ("quarantined", "tool_name is not valid UTF-8"),
    ("audit_log", "tool_name NUL"): ("quarantined", "tool_name contains a NUL character"),
    ("audit_log", "user_sid NULL"): {"user_sid": ""},
    ("audit_log", "preview not UTF-8"): {"result_preview": "\ufffd\ufffd"},
    ("audit_log", "arguments huge"): {"arguments": HUGE},
    ("audit_log", "arguments NULL"): {"arguments": ""},
    ("audit_log", "arguments a number"): {"arguments": "42"},
    ("usage_log", "prompt negative"): {"prompt_tokens": 0, "completion_tokens": 50, "total_tokens": 150},
    ("usage_log", "total NULL"): {"total_tokens": 150},
    ("usage_log", "tokens huge"): ("quarantined", "completion_tokens is larger than 4294967295"),
    ("usage_log", "tokens text"): {"prompt_tokens": 12},
    ("usage_log", "created_at NULL-ish"): ("quarantined", "created_at is NULL, missing or not a timestamp"),
    ("usage_log", "model not UTF-8"): ("quarantined", "model is not valid UTF-8"),
    ("usage_log", "tokens real"): {"prompt_tokens": 3},
    ("memories", "category padded"): {"category": "preference", "tags": []},
    ("memories", "category unknown"): {"category": "fact", "tags": ["legacy_category:hobby"]},
    ("memories", "confidence high"): {"confidence": 1.0},
    ("memories", "confidence NULL"): {"confidence": 1.0},
    ("memories", "confidence negative"): {"confidence": 0.0},
    ("memories", "access_count negative"): {"access_count": 0},
    ("memories", "created_at NULL"): {"created_at": "2024-01-02T00:00:00Z", "updated_at": "2024-01-02T00:00:00Z"},
    ("memories", "key not UTF-8"): ("quarantined", "key is not valid UTF-8"),
    ("memories", "value not UTF-8"): {"value": "v\ufffd"},
    ("memories", "value huge"): {"value": HUGE},
}


def _sid(legacy: Path, table: str, legacy_id: Any) -> str:
    if table != "conversations":
        return sid_for_id(legacy_id)
    with LegacyFile(legacy) as opened:
        from osis.store import key_to_sid

        return key_to_sid(Context.read(opened).conversation_keys[legacy_id.encode()])


def _quarantine(report: Report) -> list[dict[str, Any]]:
    assert report.quarantine_file is not None
    return [json.loads(line) for line in Path(report.quarantine_file).read_text().splitlines()]


def test_round_trip(current_legacy: tuple[Path, list[Quirk]], store_url: str, migrate: Callable[..., Report]) -> None:
    legacy, quirks = current_legacy
    before = file_digest(legacy)
    report = migrate(legacy, store_url)
    assert report.ok, report.summary()
    assert file_digest(legacy) == before  # not a byte changed, no side file created

    docs = {coll: documents(store_url, coll) for coll in COLLECTIONS}
    quarantined = {(q["table"], q["legacy_id"]): q for q in _quarantine(report)}
    for table, coll in TABLES.items():
        t = report.tables[table]
        assert t.rows == t.migrated + t.quarantined and t.conflicts == 0 and t.differences == 0
        assert t.written == t.migrated == t.verified == len(docs[coll]) and t.already_present == 0
        assert t.expected_checksum == t.actual_checksum
        assert t.quarantined == sum(1 for key in quarantined if key[0] == table)
        for doc in docs[coll].values():
            # exactly what OSIS itself would store for this object
            assert MODELS[coll].model_validate(doc).model_dump(mode="json") == doc
            assert len(doc["sid"]) == 6

    assert {q.what for q in quirks} == {what for _table, what in EXPECTED}
    for quirk in quirks:
        expected = EXPECTED[(quirk.table, quirk.what)]
        if isinstance(expected, tuple):
            record = quarantined[(quirk.table, quirk.legacy_id)]
            assert record["reason"] == expected[1], quirk
            continue
        doc = docs[TABLES[quirk.table]][_sid(legacy, quirk.table, quirk.legacy_id)]
        assert {k: doc[k] for k in expected} == expected, quirk

    # ordinary rows carry their values unchanged
    with sqlite3.connect(f"file:{legacy}?mode=ro", uri=True) as conn:
        for row in conn.execute(
            "SELECT id, tool_name, arguments, result_preview, success, duration_ms, user_sid"
            " FROM audit_log WHERE id <= 300"
        ):
            doc = docs["agent_audit_entry"][sid_for_id(row[0])]
            assert (
                doc["tool_name"],
                doc["arguments"],
                doc["result_preview"],
                doc["success"],
                doc["duration_ms"],
                doc["user_sid"],
            ) == (row[1], row[2], row[3], bool(row[4]), row[5], row[6])
        conversations = {
            r[0]: r for r in conn.execute("SELECT id, user_sid FROM conversations WHERE id LIKE 'conv-0%'")
        }
        for legacy_id, conversation_id in conn.execute("SELECT id, conversation_id FROM messages WHERE id <= 72"):
            message = docs["agent_message"][sid_for_id(legacy_id)]
            parent = docs["agent_conversation"][message["conversation_sid"]]  # points at its conversation
            assert message["conversation_sid"] == _sid(legacy, "conversations", conversation_id)
            assert message["user_sid"] == parent["user_sid"] == conversations[conversation_id][1]
    conn.close()

    # the quarantine file keeps the raw row, undecodable bytes in base64
    record = quarantined[("audit_log", quirk_id(quirks, "tool_name not UTF-8"))]
    assert record["row"]["tool_name"] == {"base64": "dG+AbA=="}  # b"to\x80l"
    assert record["row"]["created_at"] == "2024-06-06 06:06:06"
    record = quarantined[("messages", quirk_id(quirks, "dangling conversation"))]
    assert record["detail"] == "'no-such-conversation'"

    # a second run adds and changes nothing
    state = checksums(store_url)
    again = migrate(legacy, store_url)
    assert again.ok
    assert checksums(store_url) == state
    for table, t in again.tables.items():
        assert (t.written, t.already_present) == (0, report.tables[table].migrated)
        assert t.to_json() | {
            "written": 0,
            "already_present": 0,
            "migrate_seconds": 0,
            "verify_seconds": 0,
        } == report.tables[table].to_json() | {
            "written": 0,
            "already_present": 0,
            "migrate_seconds": 0,
            "verify_seconds": 0,
        }
    assert _quarantine(again) == _quarantine(report)
    assert file_digest(legacy) == before


def test_both_engines_hold_the_same_objects(
    current_legacy: tuple[Path, list[Quirk]], migrate: Callable[..., Report], tmp_path: Path
) -> None:
    """The same file gives the same sids and content, whatever the store."""
    dsn = postgres_dsn()
    if dsn is None:
        pytest.skip("POSTGRES TESTS SKIPPED: no PostgreSQL server")
    legacy, _ = current_legacy
    schema = f"osis_test_{uuid.uuid4().hex[:12]}"
    postgres = f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}"
    sqlite = f"sqlite:///{tmp_path}/reference.db"
    try:
        assert migrate(legacy, postgres).ok and migrate(legacy, sqlite).ok
        assert checksums(postgres) == checksums(sqlite)
    finally:
        _drop_schema(dsn, schema)


def test_an_old_file_with_missing_tables_and_columns(
    old_legacy: tuple[Path, list[Quirk]], store_url: str, migrate: Callable[..., Report]
) -> None:
    legacy, quirks = old_legacy
    report = migrate(legacy, store_url)
    assert report.ok, report.summary()
    assert not report.tables["conversations"].present and not report.tables["messages"].present
    audit = report.tables["audit_log"]
    assert audit.missing_columns == ("duration_ms", "user_sid")
    assert audit.ignored_columns == ("extra_note",)
    assert report.tables["usage_log"].missing_columns == ("total_tokens", "user_sid")

    reasons = {(q["table"], json.dumps(q["legacy_id"])): q["reason"] for q in _quarantine(report)}
    assert reasons == {
        ("audit_log", "2"): "id duplicates an earlier row's (the table has no PRIMARY KEY)",
        ("audit_log", "null"): "id is NULL",
        ("audit_log", '"abc"'): "id is not an integer",
        ("audit_log", "-1"): "id has no 6-character sid",
        ("audit_log", "3"): "tool_name is NULL or missing",
        ("audit_log", "4"): "created_at is NULL, missing or not a timestamp",
        ("memories", str(quirk_id(quirks, "duplicate, older"))): "user_sid and key duplicate a newer memory's",
        ("memories", str(quirk_id(quirks, "duplicate, middle"))): "user_sid and key duplicate a newer memory's",
        ("memories", str(quirk_id(quirks, "value NULL"))): "value is NULL or missing",
        ("memories", str(quirk_id(quirks, "user_sid NULL"))): "user_sid is NULL or missing",
    }
    audit_docs = documents(store_url, "agent_audit_entry")
    assert [(d["sid"], d["tool_name"], d["duration_ms"], d["user_sid"]) for d in audit_docs.values()] == [
        ("000001", "web_search", 0, ""),
        ("000002", "read_file", 0, ""),
    ]  # of the two id 2, the first
    usage = sorted(
        (d["model"], d["prompt_tokens"], d["total_tokens"]) for d in documents(store_url, "agent_usage_entry").values()
    )
    assert usage == [("gpt-4o-mini", 10, 15), ("llama-3", 0, 7)]
    memories = {(d["user_sid"], d["key"]): d for d in documents(store_url, "agent_memory").values()}
    assert sorted(memories) == [("u1", "city"), ("u2", "city"), ("u3", "tz")]
    assert memories[("u1", "city")]["value"] == "Lisbon"  # the newest of three
    assert memories[("u1", "city")]["sid"] == sid_for_id(quirk_id(quirks, "duplicate, newer"))
    assert memories[("u3", "tz")]["updated_at"] == UNKNOWN_TIME
    assert memories[("u2", "city")]["confidence"] == 1.0 and memories[("u2", "city")]["access_count"] == 0


def test_verification_catches_changed_and_deleted_objects(
    current_legacy: tuple[Path, list[Quirk]], store_url: str, migrate: Callable[..., Report]
) -> None:
    legacy, _ = current_legacy
    assert migrate(legacy, store_url).ok
    engine = open_store(store_url)
    try:
        changed = engine.get("agent_memory", sid_for_id(3))
        assert changed is not None
        engine.replace("agent_memory", changed | {"access_count": changed["access_count"] + 1})
        assert engine.delete("agent_audit_entry", sid_for_id(7))
    finally:
        engine.close()

    report = migrate(legacy, store_url, mode="verify-only")
    assert not report.ok
    assert (report.tables["memories"].differences, report.tables["audit_log"].differences) == (1, 1)
    assert report.tables["memories"].expected_checksum != report.tables["memories"].actual_checksum
    assert report.tables["usage_log"].expected_checksum == report.tables["usage_log"].actual_checksum
    assert sorted((d.table, d.legacy_id, d.sid, d.problem, d.fields) for d in report.differences) == [
        ("audit_log", 7, "000007", "missing", ()),
        ("memories", 3, "000003", "changed", ("access_count",)),
    ]
    assert "memories id 3 -> sid 000003 differs (access_count)" in report.summary()

    # a rerun restores what was deleted, but never overwrites what was changed
    rerun = migrate(legacy, store_url)
    assert not rerun.ok
    assert rerun.tables["audit_log"].written == 1
    assert [(d.sid, d.problem, d.fields) for d in rerun.conflicts] == [("000003", "conflict", ("access_count",))]
    assert documents(store_url, "agent_memory")["000003"]["access_count"] == changed["access_count"] + 1


def test_a_store_with_other_data(
    current_legacy: tuple[Path, list[Quirk]], store_url: str, migrate: Callable[..., Report]
) -> None:
    """Objects the store made itself keep their sids and content; migrated ones go beside them."""
    legacy, _ = current_legacy
    engine = open_store(store_url)
    try:
        own = engine.insert(
            "agent_audit_entry",
            m.AgentAuditEntry(
                tool_name="live",
                arguments="{}",
                result_preview="",
                success=True,
                duration_ms=1,
                user_sid="u1",
                created_at="2025-01-01T00:00:00Z",
            ).model_dump(mode="json"),
        )
    finally:
        engine.close()
    report = migrate(legacy, store_url)
    assert report.ok
    docs = documents(store_url, "agent_audit_entry")
    assert docs[own["sid"]] == own and own["sid"] == "0001"
    assert len(docs) == report.tables["audit_log"].migrated + 1
    engine = open_store(store_url)
    try:  # new objects are numbered after the migrated ones
        later = engine.insert("agent_audit_entry", own | {"sid": ""})
    finally:
        engine.close()
    assert later["sid"] == sid_for_id(max(int(s, 36) for s in docs if len(s) == 6) + 1)


def test_a_taken_sid_is_a_conflict_never_overwritten(
    current_legacy: tuple[Path, list[Quirk]], store_url: str, migrate: Callable[..., Report]
) -> None:
    legacy, _ = current_legacy
    engine = open_store(store_url)
    try:
        squatter = engine.insert(
            "agent_usage_entry",
            {
                "sid": sid_for_id(5),
                "model": "other-file",
                "prompt_tokens": 1,
                "completion_tokens": 1,
                "total_tokens": 2,
                "user_sid": "x",
                "created_at": "2020-01-01T00:00:00Z",
            },
        )
    finally:
        engine.close()
    report = migrate(legacy, store_url)
    assert not report.ok
    usage = report.tables["usage_log"]
    assert (usage.conflicts, usage.differences) == (1, 1)
    assert usage.migrated == usage.rows - usage.quarantined - 1
    (conflict,) = report.conflicts
    assert (conflict.sid, conflict.legacy_id, conflict.problem) == ("000005", 5, "conflict")
    assert set(conflict.fields) >= {"model", "user_sid", "created_at"}
    assert documents(store_url, "agent_usage_entry")["000005"] == squatter
    assert "usage_log id 5 -> sid 000005 was already taken" in report.summary()


def test_dry_run_writes_nothing(
    current_legacy: tuple[Path, list[Quirk]],
    store_url: str,
    engine_kind: str,
    migrate: Callable[..., Report],
    tmp_path: Path,
) -> None:
    legacy, _ = current_legacy
    report = migrate(legacy, store_url, mode="dry-run")
    assert report.ok and report.store is None
    audit = report.tables["audit_log"]
    assert audit.migrated == audit.rows - audit.quarantined and audit.written == 0 and audit.verified is None
    assert len(_quarantine(report)) == sum(t.quarantined for t in report.tables.values())
    assert "dry run: the store was not touched" in report.summary()
    if engine_kind == "sqlite":
        assert not (tmp_path / "osis.db").exists()
    else:
        import psycopg

        dsn, schema = store_url.rsplit("schema=", 1)
        with psycopg.connect(dsn.rstrip("?&")) as conn:
            found = conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", (schema,)
            ).fetchone()
        assert found == (0,)


def test_verify_only_on_an_empty_store(
    current_legacy: tuple[Path, list[Quirk]], store_url: str, migrate: Callable[..., Report]
) -> None:
    legacy, _ = current_legacy
    report = migrate(legacy, store_url, mode="verify-only")
    assert not report.ok and report.quarantine_file is None
    for t in report.tables.values():
        assert t.verified == 0 and t.differences == t.migrated > 0 and t.written == 0
        assert t.actual_checksum == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert all(d.problem == "missing" for d in report.differences)
    assert all(documents(store_url, coll) == {} for coll in COLLECTIONS)  # verification writes nothing


def test_report_file(
    current_legacy: tuple[Path, list[Quirk]], store_url: str, migrate: Callable[..., Report], tmp_path: Path
) -> None:
    legacy, _ = current_legacy
    path = tmp_path / "out" / "migration.json"
    path.parent.mkdir()
    report = migrate(legacy, store_url, report=path)
    written = json.loads(path.read_text())
    assert written == json.loads(json.dumps(report.to_json()))
    assert written["ok"] is True and written["mode"] == "migrate" and written["legacy"] == str(legacy)
    assert written["quarantine_file"] == str(tmp_path / "out" / "migration.quarantine.jsonl")
    assert sorted(p.name for p in path.parent.iterdir()) == ["migration.json", "migration.quarantine.jsonl"]
    audit = written["tables"]["audit_log"]
    assert audit["quarantine_reasons"]["tool_name is not valid UTF-8"] == 1
    assert audit["normalisations"]["duration_ms: negative, set to 0"] == 1
    assert set(audit) >= {
        "rows",
        "migrated",
        "normalised",
        "quarantined",
        "verified",
        "differences",
        "expected_checksum",
        "actual_checksum",
    }


def test_many_rows_in_many_batches(tmp_path: Path, store_url: str, migrate: Callable[..., Report]) -> None:
    """Batches, id order across batch boundaries and the checksum of a big table."""
    legacy = tmp_path / "big.db"
    current_file(legacy, audit=2500, usage=10, memories=10, conversations=3, quirks=False)
    report = migrate(legacy, store_url)
    assert report.ok and report.tables["audit_log"].written == 2500
    docs = documents(store_url, "agent_audit_entry")
    assert list(docs) == [sid_for_id(i) for i in range(1, 2501)]


def test_a_conflict_after_new_batches_and_a_rerun_over_them(
    tmp_path: Path, store_url: str, migrate: Callable[..., Report]
) -> None:
    """Batches are inserted straight away while the previous one was all new: a taken sid
    in a later batch still makes that batch's insert fail whole, then be looked up."""
    legacy = tmp_path / "big.db"
    current_file(legacy, audit=2500, usage=10, memories=10, conversations=3, quirks=False)
    engine = open_store(store_url)
    try:
        squatter = engine.insert("agent_audit_entry", _foreign_audit_entry(sid_for_id(2100)))
    finally:
        engine.close()
    first = migrate(legacy, store_url)
    audit = first.tables["audit_log"]
    assert (audit.written, audit.already_present, audit.conflicts, audit.differences) == (2499, 0, 1, 1)
    assert (audit.migrated, audit.verified) == (2499, 2499)
    assert [(d.sid, d.problem) for d in first.conflicts] == [(sid_for_id(2100), "conflict")]
    assert documents(store_url, "agent_audit_entry")[sid_for_id(2100)] == squatter

    again = migrate(legacy, store_url)
    audit = again.tables["audit_log"]
    assert (audit.written, audit.already_present, audit.conflicts, audit.verified) == (0, 2499, 1, 2499)
    assert audit.expected_checksum == first.tables["audit_log"].expected_checksum
    assert audit.actual_checksum == first.tables["audit_log"].actual_checksum


def _foreign_audit_entry(sid: str) -> dict[str, Any]:
    """An audit entry the store holds from elsewhere under a sid the migration needs."""
    return m.AgentAuditEntry(
        sid=sid,
        tool_name="elsewhere",
        arguments="{}",
        result_preview="",
        success=True,
        duration_ms=1,
        user_sid="u9",
        created_at="2020-01-01T00:00:00Z",
    ).model_dump(mode="json")


class _Lossy:
    """A real engine that, on writing, alters one document and drops another: what the
    migration reads back after each batch must reveal both."""

    def __init__(self, engine: Any, changed: str, dropped: str) -> None:
        self._engine = engine
        self._changed = changed
        self._dropped = dropped

    def insert_many(self, coll: str, docs: list[dict[str, Any]]) -> list[str]:
        if coll == "agent_audit_entry":
            docs = [
                doc | {"duration_ms": doc["duration_ms"] + 1} if doc["sid"] == self._changed else doc
                for doc in docs
                if doc["sid"] != self._dropped
            ]
        return list(self._engine.insert_many(coll, docs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


def test_each_batch_is_read_back_and_compared(
    tmp_path: Path, store_url: str, migrate: Callable[..., Report], monkeypatch: pytest.MonkeyPatch
) -> None:
    legacy = tmp_path / "big.db"
    current_file(legacy, audit=2500, usage=10, memories=10, conversations=3, quirks=False)
    changed, dropped = sid_for_id(1500), sid_for_id(2222)
    monkeypatch.setattr(runner, "open_store", lambda url: _Lossy(open_store(url), changed, dropped))
    report = migrate(legacy, store_url)
    audit = report.tables["audit_log"]
    assert not report.ok and (audit.verified, audit.differences, audit.conflicts) == (2498, 2, 0)
    assert audit.expected_checksum != audit.actual_checksum
    assert sorted((d.sid, d.problem, d.fields) for d in report.differences) == [
        (changed, "changed", ("duration_ms",)),
        (dropped, "missing", ()),
    ]
    assert report.tables["usage_log"].expected_checksum == report.tables["usage_log"].actual_checksum


def test_on_sqlite_the_search_index_is_left_to_the_server(
    current_legacy: tuple[Path, list[Quirk]], tmp_path: Path, migrate: Callable[..., Report]
) -> None:
    """The migration runs without the background indexer; searches find every object anyway."""
    legacy, _ = current_legacy
    url = f"sqlite:///{tmp_path}/osis.db"
    report = migrate(legacy, url)
    assert report.ok
    engine = open_store(f"{url}?indexer=off")
    try:
        assert isinstance(engine, SqliteEngine)
        assert engine.search_backlog("agent_audit_entry") > 0  # nothing indexed yet
        entry = engine.get("agent_audit_entry", sid_for_id(1))
        assert entry is not None and len(entry["arguments"]) >= 3
        needle = entry["arguments"][:12]
        before = [d["sid"] for d in engine.find("agent_audit_entry", Query(search=needle))]
        assert entry["sid"] in before
        assert engine.index_search() > 0 and engine.search_backlog("agent_audit_entry") == 0
        assert [d["sid"] for d in engine.find("agent_audit_entry", Query(search=needle))] == before
    finally:
        engine.close()


def test_a_migration_leaves_the_store_analysed(
    current_legacy: tuple[Path, list[Quirk]], store_url: str, migrate: Callable[..., Report]
) -> None:
    """The operator's first dashboard after a migration is planned on real statistics."""
    legacy, _ = current_legacy
    report = migrate(legacy, store_url)
    assert report.ok and report.analyze_error is None
    engine = open_store(with_option(store_url, "indexer=off"))
    try:
        assert report.analyzed == sorted(engine.collections)
        tables = {engine._layouts[coll].table: coll for coll in COLLECTIONS}  # type: ignore[attr-defined]
        assert analyzed_tables(engine) >= set(tables)
        if isinstance(engine, PostgresEngine):  # every row counted: the statistics are the final ones
            with engine._conn("test") as conn:
                for table, coll in tables.items():
                    row = conn.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
                                       (f'"{engine._schema}"."{table}"',)).fetchone()
                    assert row == (len(engine.list_sids(coll)),), table
    finally:
        engine.close()
    assert f"planner statistics refreshed for {len(report.analyzed)} collections" in report.summary()
    assert report.to_json()["planner_statistics"]["analyzed"] == report.analyzed


@pytest.mark.parametrize("engine_kind", ["postgres"], indirect=True)
def test_a_failed_analysis_is_reported_not_fatal(
    current_legacy: tuple[Path, list[Quirk]], store_url: str, migrate: Callable[..., Report]
) -> None:
    """Every row is migrated and verified before the analysis: its failure (here a lock
    another session holds past the store's lock_timeout) is a note in the report."""
    legacy, _ = current_legacy
    open_store(store_url).close()  # the tables exist, so the lock can be taken first
    config = parse_url(store_url)
    assert isinstance(config, PostgresConfig)
    with table_locked(config.conninfo, f'"{config.schema}"."osis_agent_memory"'):
        report = migrate(legacy, with_option(store_url, "options=-c%20lock_timeout%3D300"))
    assert report.ok and report.analyzed == []
    assert report.analyze_error is not None and "lock timeout" in report.analyze_error
    assert f"planner statistics not refreshed ({report.analyze_error}); `osis serve`" in report.summary()
    assert report.summary().endswith(f"OK: every migrated row verified ({report.seconds:.1f} s)")
    assert report.to_json()["planner_statistics"]["error"] == report.analyze_error


@pytest.mark.parametrize("engine_kind", ["postgres"], indirect=True)
def test_a_role_that_may_not_analyse_is_told_so(
    current_legacy: tuple[Path, list[Quirk]], store_url: str, migrate: Callable[..., Report]
) -> None:
    """Migrating as a role that may write the store but does not own it: the rows are all
    there, and the report does not promise that `osis serve` (as that role) analyses later."""
    legacy, _ = current_legacy
    open_store(store_url).close()  # the owner creates the store
    with non_owner(store_url) as url:
        report = migrate(legacy, url)
    assert report.ok and report.analyzed == [] and not report.analyze_later
    assert report.analyze_error is not None
    assert "may not ANALYZE" in report.analyze_error and "osis_agent_memory" in report.analyze_error
    assert f"planner statistics not refreshed ({report.analyze_error})\n" in report.summary()


@pytest.mark.parametrize(
    ("url", "opened"),
    [
        ("sqlite:///osis.db", "sqlite:///osis.db?indexer=off"),
        ("sqlite:///osis.db?timeout=9", "sqlite:///osis.db?timeout=9&indexer=off"),
        ("sqlite:///osis.db?indexer=on", "sqlite:///osis.db?indexer=on"),  # the operator's choice stands
        ("postgresql://u@h/db?schema=x", "postgresql://u@h/db?schema=x"),
    ],
)
def test_the_store_url_the_migration_opens(url: str, opened: str) -> None:
    assert runner._bulk_url(url, parse_url(url)) == opened
