"""Writes hero_agent SQLite files for the migration tests, quirks included.

`current_file` uses today's layout (docs/legacy-schema.md) with generated activity plus
one row per quirk; `QUIRKS` names those rows so tests can ask what became of each.
`old_file` is an older version: conversations and messages absent, columns missing, no
PRIMARY KEY on audit_log.id and no UNIQUE(user_sid, key) on memories.  Text that must
not be valid UTF-8 is given as `BadText` and stored as TEXT with exactly those bytes.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from osis.migrate.legacy import LEGACY_SCHEMA

CURRENT_SCHEMA = LEGACY_SCHEMA

OLD_SCHEMA = """
CREATE TABLE audit_log(id INTEGER, tool_name TEXT, arguments TEXT, result_preview TEXT, success INTEGER,
                       created_at TEXT, extra_note TEXT);
CREATE TABLE usage_log(id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, prompt_tokens INTEGER,
                       completion_tokens INTEGER, created_at TEXT);
CREATE TABLE memories(id INTEGER PRIMARY KEY AUTOINCREMENT, user_sid TEXT, category TEXT, key TEXT,
                      value TEXT, created_at TEXT);
"""

USERS = ("u1", "u2", "u3", "ünï")
TOOLS = ("web_search", "read_file", "run_shell", "send_mail")
MODELS = ("gpt-4o-mini", "claude-sonnet", "llama-3")
HUGE = "x" * 1_500_000 + "end"


class BadText(bytes):
    """Stored as TEXT holding exactly these bytes (not valid UTF-8)."""


@dataclass(frozen=True)
class Quirk:
    table: str
    legacy_id: Any
    what: str


def _insert(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> int:
    marks = ", ".join("CAST(? AS TEXT)" if isinstance(v, BadText) else "?" for v in row.values())
    cur = conn.execute(
        f"INSERT INTO {table} ({', '.join(row)}) VALUES ({marks})",
        [bytes(v) if isinstance(v, BadText) else v for v in row.values()],
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def _when(rng: random.Random, style: int) -> Any:
    """A timestamp in one of the spellings real files hold, between 2024 and 2025."""
    epoch = 1_704_067_200 + rng.randrange(365 * 86400)
    from datetime import datetime, timezone

    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return [
        moment.strftime("%Y-%m-%d %H:%M:%S"),
        moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        moment.strftime("%Y-%m-%dT%H:%M:%S.123456+00:00"),
        epoch,
        epoch * 1000 + 789,
        str(epoch),
    ][style % 6]


def current_file(
    path: Path,
    *,
    audit: int = 300,
    usage: int = 150,
    memories: int = 40,
    conversations: int = 12,
    messages_per: int = 6,
    seed: int = 7,
    quirks: bool = True,
) -> list[Quirk]:
    """A file of today's layout; returns the quirk rows it holds."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript(CURRENT_SCHEMA)
        with conn:
            return _fill_current(conn, random.Random(seed), audit, usage, memories, conversations, messages_per, quirks)
    finally:
        conn.close()


def _fill_current(
    conn: sqlite3.Connection,
    rng: random.Random,
    audit: int,
    usage: int,
    memories: int,
    conversations: int,
    messages_per: int,
    quirks: bool,
) -> list[Quirk]:
    found: list[Quirk] = []

    def quirk(table: str, legacy_id: Any, what: str) -> None:
        found.append(Quirk(table, legacy_id, what))

    conv_ids = [f"conv-{i:03d}-{rng.getrandbits(32):08x}" for i in range(conversations)]
    for i, cid in enumerate(conv_ids):
        _insert(
            conn,
            "conversations",
            {
                "id": cid,
                "title": f"Talk {i}",
                "context": "{}",
                "user_sid": USERS[i % len(USERS)],
                "created_at": _when(rng, i),
                "updated_at": _when(rng, i + 1),
            },
        )
        for j in range(messages_per):
            _insert(
                conn,
                "messages",
                {
                    "conversation_id": cid,
                    "role": ("user", "assistant", "tool")[j % 3],
                    "content": f"message {j} of {cid}",
                    "timestamp": _when(rng, j),
                    "model": MODELS[j % 3] if j % 3 == 1 else None,
                    "tool_name": TOOLS[j % 4] if j % 3 == 2 else None,
                },
            )
    for i in range(audit):
        _insert(
            conn,
            "audit_log",
            {
                "tool_name": TOOLS[rng.randrange(4)],
                "arguments": f'{{"q": "term {i}", "n": {i}}}',
                "result_preview": f"result {i}",
                "success": int(rng.random() > 0.1),
                "duration_ms": rng.randrange(1, 5000),
                "user_sid": rng.choice(USERS),
                "created_at": _when(rng, i),
            },
        )
    for i in range(usage):
        p, c = rng.randrange(1, 4000), rng.randrange(1, 2000)
        _insert(
            conn,
            "usage_log",
            {
                "model": rng.choice(MODELS),
                "prompt_tokens": p,
                "completion_tokens": c,
                "total_tokens": p + c,
                "user_sid": rng.choice(USERS),
                "created_at": _when(rng, i),
            },
        )
    for i in range(memories):
        _insert(
            conn,
            "memories",
            {
                "user_sid": USERS[i % 4],
                "category": ("fact", "preference", "context", "skill")[i % 4],
                "key": f"key_{i}",
                "value": f"value {i}",
                "source": "user" if i % 2 else None,
                "confidence": round(rng.random(), 3),
                "access_count": rng.randrange(50),
                "created_at": _when(rng, i),
                "updated_at": _when(rng, i + 2),
            },
        )
    if not quirks:
        return found
    # -- conversations and messages
    cid = conv_ids[0]
    quirk("conversations", "conv-null-title", "title NULL, RFC 3339 times, huge context")
    _insert(
        conn,
        "conversations",
        {
            "id": "conv-null-title",
            "title": None,
            "context": HUGE,
            "user_sid": "u1",
            "created_at": "2024-03-01T10:00:00+02:00",
            "updated_at": "2024-03-01T09:00:00Z",
        },
    )
    quirk("conversations", "conv-bad-created", "created_at garbage, updated_at epoch ms")
    _insert(
        conn,
        "conversations",
        {
            "id": "conv-bad-created",
            "title": "t",
            "context": "c",
            "user_sid": "u2",
            "created_at": "yesterday",
            "updated_at": 1_717_000_000_123,
        },
    )
    quirk("conversations", "conv-no-times", "no timestamps")
    _insert(
        conn,
        "conversations",
        {"id": "conv-no-times", "title": "t", "context": "c", "user_sid": None, "created_at": None, "updated_at": None},
    )
    quirk("conversations", "conv-bad-user", "user_sid not UTF-8")
    _insert(
        conn,
        "conversations",
        {
            "id": "conv-bad-user",
            "title": "t",
            "context": "c",
            "user_sid": BadText(b"u\xff"),
            "created_at": "2024-01-01 00:00:00",
            "updated_at": "2024-01-01 00:00:00",
        },
    )
    quirk("conversations", None, "id NULL")
    _insert(
        conn,
        "conversations",
        {
            "id": None,
            "title": "orphan",
            "context": "",
            "user_sid": "u1",
            "created_at": "2024-01-01 00:00:00",
            "updated_at": "2024-01-01 00:00:00",
        },
    )
    quirk("conversations", "conv-bad-title", "title not UTF-8")
    _insert(
        conn,
        "conversations",
        {
            "id": "conv-bad-title",
            "title": BadText(b"caf\xe9"),
            "context": "c",
            "user_sid": "u3",
            "created_at": "2024-01-01 00:00:00",
            "updated_at": "2024-01-02 00:00:00",
        },
    )
    for what, row in [
        ("dangling conversation", {"conversation_id": "no-such-conversation", "role": "user", "content": "lost?"}),
        ("conversation_id NULL", {"conversation_id": None, "role": "user", "content": "x"}),
        ("conversation quarantined", {"conversation_id": "conv-bad-user", "role": "user", "content": "x"}),
        ("role padded", {"conversation_id": cid, "role": " Assistant ", "content": "hi"}),
        ("role unknown", {"conversation_id": cid, "role": "function", "content": "{}"}),
        (
            "timestamp garbage",
            {"conversation_id": "conv-null-title", "role": "user", "content": "when?", "timestamp": "soon"},
        ),
        ("content NUL", {"conversation_id": cid, "role": "user", "content": "a\x00b"}),
        ("content not UTF-8", {"conversation_id": cid, "role": "user", "content": BadText(b"ok \xc3\x28 bad")}),
        (
            "content huge",
            {"conversation_id": "conv-null-title", "role": "assistant", "content": HUGE, "model": "gpt-4o-mini"},
        ),
        (
            "model not UTF-8",
            {"conversation_id": cid, "role": "assistant", "content": "m", "model": BadText(b"gpt\xfe")},
        ),
    ]:
        row.setdefault("timestamp", "2024-05-05 05:05:05")
        quirk("messages", _insert(conn, "messages", row), what)
    # -- audit_log
    for what, row in [
        ("arguments not JSON", {"arguments": "{not json", "created_at": "2024-02-02 02:02:02"}),
        ("created_at garbage", {"created_at": "2024-13-45 99:99:99"}),
        ("created_at epoch seconds", {"created_at": 1_720_000_000}),
        ("created_at epoch ms", {"created_at": 1_720_000_000_999}),
        ("created_at epoch text", {"created_at": "1720000000"}),
        ("created_at RFC 3339 offset", {"created_at": "2024-07-03T12:00:00.5-05:00"}),
        ("duration negative", {"duration_ms": -5}),
        ("duration NULL", {"duration_ms": None}),
        ("duration fractional", {"duration_ms": 12.6}),
        ("duration huge", {"duration_ms": 10**12}),
        ("duration text", {"duration_ms": "250"}),
        ("success 2", {"success": 2}),
        ("success text", {"success": "false"}),
        ("success garbage", {"success": "maybe"}),
        ("tool_name not UTF-8", {"tool_name": BadText(b"to\x80l")}),
        ("tool_name NUL", {"tool_name": "a\x00b"}),
        ("user_sid NULL", {"user_sid": None}),
        ("preview not UTF-8", {"result_preview": BadText(b"\xff\xfe")}),
        ("arguments huge", {"arguments": HUGE}),
        ("arguments NULL", {"arguments": None}),
        ("arguments a number", {"arguments": 42}),
    ]:
        base = {
            "tool_name": "web_search",
            "arguments": "{}",
            "result_preview": "r",
            "success": 1,
            "duration_ms": 10,
            "user_sid": "u1",
            "created_at": "2024-06-06 06:06:06",
        }
        base.update(row)
        quirk("audit_log", _insert(conn, "audit_log", base), what)
    # -- usage_log
    for what, row in [
        ("prompt negative", {"prompt_tokens": -10}),
        ("total NULL", {"total_tokens": None}),
        ("tokens huge", {"completion_tokens": 5_000_000_000}),
        ("tokens text", {"prompt_tokens": "12"}),
        ("created_at NULL-ish", {"created_at": ""}),
        ("model not UTF-8", {"model": BadText(b"\xc0\xc1")}),
        ("tokens real", {"prompt_tokens": 3.0}),
    ]:
        base = {
            "model": "gpt-4o-mini",
            "prompt_tokens": 100,
            "completion_tokens": 50,
            "total_tokens": 150,
            "user_sid": "u1",
            "created_at": "2024-06-06 06:06:06",
        }
        base.update(row)
        quirk("usage_log", _insert(conn, "usage_log", base), what)
    # -- memories
    for what, row in [
        ("category padded", {"category": "Preference "}),
        ("category unknown", {"category": "hobby"}),
        ("confidence high", {"confidence": 1.5}),
        ("confidence NULL", {"confidence": None}),
        ("confidence negative", {"confidence": -0.25}),
        ("access_count negative", {"access_count": -3}),
        ("created_at NULL", {"created_at": None}),
        ("key not UTF-8", {"key": BadText(b"k\xff")}),
        ("value not UTF-8", {"value": BadText(b"v\xff")}),
        ("value huge", {"value": HUGE}),
    ]:
        base = {
            "user_sid": "u9",
            "category": "fact",
            "key": f"quirk {what}",
            "value": "v",
            "source": None,
            "confidence": 0.5,
            "access_count": 1,
            "created_at": "2024-01-01 00:00:00",
            "updated_at": "2024-01-02 00:00:00",
        }
        base.update(row)
        quirk("memories", _insert(conn, "memories", base), what)
    return found


def old_file(path: Path) -> list[Quirk]:
    """An older hero_agent file: tables and columns missing, constraints absent."""
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    found: list[Quirk] = []
    with conn:
        for legacy_id, tool, created, what in [
            (1, "web_search", "2023-01-01 00:00:00", "plain"),
            (2, "read_file", "2023-01-01 00:00:01", "duplicate id, first"),
            (2, "run_shell", "2023-01-01 00:00:02", "duplicate id, second"),
            (None, "web_search", "2023-01-01 00:00:03", "id NULL"),
            ("abc", "web_search", "2023-01-01 00:00:04", "id text"),
            (-1, "web_search", "2023-01-01 00:00:05", "id negative"),
            (3, None, "2023-01-01 00:00:06", "tool_name NULL"),
            (4, "web_search", None, "created_at NULL"),
        ]:
            conn.execute(
                "INSERT INTO audit_log (id, tool_name, arguments, result_preview, success, created_at, "
                "extra_note) VALUES (?, ?, '{}', 'r', 1, ?, 'kept only in the legacy file')",
                (legacy_id, tool, created),
            )
            found.append(Quirk("audit_log", legacy_id, what))
        for model, p, c in [("gpt-4o-mini", 10, 5), ("llama-3", None, 7)]:
            legacy_id = _insert(
                conn,
                "usage_log",
                {"model": model, "prompt_tokens": p, "completion_tokens": c, "created_at": "2023-02-02 02:02:02"},
            )
            found.append(Quirk("usage_log", legacy_id, f"{model}"))
        for user, key, value, created, what in [
            ("u1", "city", "Ghent", "2023-01-01 00:00:00", "duplicate, older"),
            ("u1", "city", "Lisbon", "2023-06-01 00:00:00", "duplicate, newer"),
            ("u1", "city", "Porto", "2023-03-01 00:00:00", "duplicate, middle"),
            ("u2", "city", "Oslo", "2023-01-01 00:00:00", "same key, other user"),
            ("u2", "lang", None, "2023-01-01 00:00:00", "value NULL"),
            (None, "lang", "nl", "2023-01-01 00:00:00", "user_sid NULL"),
            ("u3", "tz", "CET", "garbage", "no usable time"),
        ]:
            legacy_id = _insert(
                conn,
                "memories",
                {"user_sid": user, "category": "fact", "key": key, "value": value, "created_at": created},
            )
            found.append(Quirk("memories", legacy_id, what))
    conn.close()
    return found


def quirk_id(quirks: list[Quirk], what: str) -> Any:
    (match,) = [q.legacy_id for q in quirks if q.what == what]
    return match
