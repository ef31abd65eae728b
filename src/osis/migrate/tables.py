"""What each legacy table becomes in OSIS: one rule set per table, row by row.

A rule set turns a legacy row (its id, then the columns it names, NULL where the file
lacks one) into the document the generated model would store, `model_dump(mode="json")`
to the byte, with an explicit sid (see :mod:`osis.migrate.sids`); or into a quarantine
reason.  The mapping is a pure function of the file: the same file gives the same
documents, which is what makes reruns idempotent and verification possible.

Two tables need to know about other rows first, gathered once by :class:`Context`:
messages take their conversation's sid and user from the conversations table, and
memories (unique per user and key in OSIS, though old files lack that constraint) keep
only the newest of duplicates.  docs/legacy-schema.md documents every rule.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, NamedTuple

from osis_ai.models import MemoryCategory, MessageRole

from osis.store import key_to_sid

from .fields import Reject, count, flag, fraction, free_text, identifier, legacy_int_id, optional_text
from .legacy import LegacyFile, Row, TableReader
from .sids import BAND_SIZE, BAND_START, conversation_keys, key_for_id
from .timestamps import UNKNOWN_TIME, to_otime

_CATEGORIES: Final = frozenset(c.value for c in MemoryCategory)
_ROLES: Final = frozenset(r.value for r in MessageRole)
#: The category of a memory whose legacy category OSIS does not know (kept as a tag).
FALLBACK_CATEGORY: Final = MemoryCategory.FACT.value
LEGACY_CATEGORY_TAG: Final = "legacy_category:"
BATCH: Final = 1000


class Mapped(NamedTuple):
    key: int
    doc: dict[str, Any]
    notes: list[str]  # the normalisations applied; empty for most rows


class Quarantined(NamedTuple):
    reason: str
    detail: str | None


Outcome = Mapped | Quarantined


class Rules(ABC):
    """One table's mapping.  A fresh instance per pass: integer-id tables remember the
    previous id to spot duplicates, which id order puts next to each other."""

    legacy: ClassVar[str]
    collection: ClassVar[str]
    columns: ClassVar[tuple[str, ...]]

    def __init__(self, context: Context) -> None:
        self.context = context
        self._previous_id: int | None = None

    def outcome(self, row: Row) -> Outcome:
        notes: list[str] = []
        try:
            key, doc = self.map(row, notes)
        except Reject as rejected:
            return Quarantined(rejected.reason, rejected.detail)
        return Mapped(key, doc, notes)

    @abstractmethod
    def map(self, row: Row, notes: list[str]) -> tuple[int, dict[str, Any]]:
        """The row's key and document, appending normalisations to ``notes``; raises Reject."""

    def int_key(self, value: object) -> int:
        if type(value) is int and value != self._previous_id and 0 <= value < BAND_SIZE:
            self._previous_id = value  # the common case, checked in one line: it runs per row
            return BAND_START + value
        legacy_id = legacy_int_id(value)
        if legacy_id == self._previous_id:
            raise Reject("id duplicates an earlier row's (the table has no PRIMARY KEY)")
        self._previous_id = legacy_id
        try:
            return key_for_id(legacy_id)
        except ValueError as exc:
            raise Reject("id has no 6-character sid", str(exc)) from None


class AuditRules(Rules):
    legacy = "audit_log"
    collection = "agent_audit_entry"
    columns = ("tool_name", "arguments", "result_preview", "success", "duration_ms", "user_sid", "created_at")

    def map(self, row: Row, notes: list[str]) -> tuple[int, dict[str, Any]]:
        legacy_id, tool_name, arguments, preview, success, duration, user_sid, created = row[:8]
        key = self.int_key(legacy_id)
        created_at = to_otime(created)
        if created_at is None:
            raise Reject("created_at is NULL, missing or not a timestamp")
        return key, {
            "sid": key_to_sid(key),
            "tool_name": identifier(tool_name, "tool_name", notes),
            # Kept verbatim, valid JSON or not: the field is "the arguments as JSON text".
            "arguments": free_text(arguments, "arguments", notes),
            "result_preview": free_text(preview, "result_preview", notes),
            "success": flag(success, "success", notes, null=True),
            "duration_ms": count(duration, "duration_ms", notes),
            "user_sid": identifier(user_sid, "user_sid", notes, null=""),
            "created_at": created_at,
        }


class UsageRules(Rules):
    legacy = "usage_log"
    collection = "agent_usage_entry"
    columns = ("model", "prompt_tokens", "completion_tokens", "total_tokens", "user_sid", "created_at")

    def map(self, row: Row, notes: list[str]) -> tuple[int, dict[str, Any]]:
        legacy_id, model, prompt, completion, total, user_sid, created = row[:7]
        key = self.int_key(legacy_id)
        created_at = to_otime(created)
        if created_at is None:
            raise Reject("created_at is NULL, missing or not a timestamp")
        prompt_tokens = count(prompt, "prompt_tokens", notes)
        completion_tokens = count(completion, "completion_tokens", notes)
        if total is None:
            notes.append("total_tokens: NULL or missing, set to prompt + completion")
            total_tokens = count(prompt_tokens + completion_tokens, "total_tokens", notes)
        else:
            total_tokens = count(total, "total_tokens", notes)
        return key, {
            "sid": key_to_sid(key),
            "model": identifier(model, "model", notes),
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": total_tokens,
            "user_sid": identifier(user_sid, "user_sid", notes, null=""),
            "created_at": created_at,
        }


class ConversationRules(Rules):
    legacy = "conversations"
    collection = "agent_conversation"
    columns = ("title", "context", "user_sid", "created_at", "updated_at")

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        self._seen: set[bytes] = set()

    def map(self, row: Row, notes: list[str]) -> tuple[int, dict[str, Any]]:
        legacy_id, title, context, user_sid, created, updated = row[:6]
        ident = conversation_id(legacy_id)
        if ident is None:
            raise Reject("id is NULL")
        if ident in self._seen:
            raise Reject("id duplicates an earlier row's (the table has no PRIMARY KEY)")
        self._seen.add(ident)
        key = self.context.conversation_keys[ident]
        created_at, updated_at = _created_updated(created, updated, notes)
        return key, {
            "sid": key_to_sid(key),
            "title": free_text(title, "title", notes),
            "context": free_text(context, "context", notes),
            "user_sid": identifier(user_sid, "user_sid", notes, null=""),
            "created_at": created_at,
            "updated_at": updated_at,
        }


class MessageRules(Rules):
    legacy = "messages"
    collection = "agent_message"
    columns = ("conversation_id", "role", "content", "timestamp", "model", "tool_name")

    def map(self, row: Row, notes: list[str]) -> tuple[int, dict[str, Any]]:
        legacy_id, conversation, role, content, timestamp, model, tool_name = row[:7]
        key = self.int_key(legacy_id)
        ident = conversation_id(conversation)
        if ident is None:
            raise Reject("conversation_id is NULL or missing")
        parent = self.context.conversations.get(ident)
        if parent is None:
            raise Reject("conversation_id names no conversation", _show(ident))
        if isinstance(parent, Quarantined):
            raise Reject("its conversation is quarantined", f"{_show(ident)}: {parent.reason}")
        role_name = identifier(role, "role", notes)
        if role_name not in _ROLES:
            folded = role_name.strip().lower()
            if folded not in _ROLES:
                raise Reject("role is not one of system, user, assistant, tool", repr(role_name))
            notes.append("role: upper-case or padded, normalised")
            role_name = folded
        created_at = to_otime(timestamp)
        if created_at is None:
            # Keeps the message in its conversation; sids (legacy ids) keep the order.
            notes.append("timestamp: NULL, missing or not a timestamp, set to the conversation's created_at")
            created_at = parent.created_at
        return key, {
            "sid": key_to_sid(key),
            "conversation_sid": parent.sid,
            "role": role_name,
            "content": free_text(content, "content", notes),
            "model": optional_text(model, "model", notes),
            "tool_name": optional_text(tool_name, "tool_name", notes),
            "user_sid": parent.user_sid,
            "created_at": created_at,
        }


class MemoryRules(Rules):
    legacy = "memories"
    collection = "agent_memory"
    columns = (
        "user_sid",
        "category",
        "key",
        "value",
        "source",
        "confidence",
        "access_count",
        "created_at",
        "updated_at",
    )

    def __init__(self, context: Context, *, deduplicate: bool = True) -> None:
        super().__init__(context)
        self._deduplicate = deduplicate

    def map(self, row: Row, notes: list[str]) -> tuple[int, dict[str, Any]]:
        legacy_id, user_sid, category, mkey, value, source, confidence, accesses, created, updated = row[:10]
        key = self.int_key(legacy_id)
        if self._deduplicate and legacy_id in self.context.memory_duplicates:
            kept = self.context.memory_duplicates[legacy_id]
            raise Reject("user_sid and key duplicate a newer memory's", f"memory id {kept} is kept")
        if value is None:
            raise Reject("value is NULL or missing")  # a memory of nothing: NOT NULL in every version
        tags: list[str] = []
        created_at, updated_at = _created_updated(created, updated, notes)
        return key, {
            "sid": key_to_sid(key),
            "user_sid": identifier(user_sid, "user_sid", notes),
            "category": _category(category, notes, tags),
            "key": identifier(mkey, "key", notes),
            "value": free_text(value, "value", notes),
            "source": optional_text(source, "source", notes),
            "confidence": fraction(confidence, "confidence", notes, null=1.0),
            "access_count": count(accesses, "access_count", notes),
            "tags": tags,
            "created_at": created_at,
            "updated_at": updated_at,
        }


def mapped_batches(legacy: LegacyFile, reader: TableReader, rules: Rules) -> Iterator[list[tuple[Row, Outcome]]]:
    """The table's rows with their outcomes, a batch at a time, in id order."""
    outcome = rules.outcome
    for rows in legacy.batches(reader, BATCH):
        yield [(row, outcome(row)) for row in rows]


#: Every table, in the order the migration takes them.
RULES: Final[tuple[type[Rules], ...]] = (AuditRules, UsageRules, MemoryRules, ConversationRules, MessageRules)


@dataclass(frozen=True)
class Parent:
    """What a message takes from its conversation."""

    sid: str
    user_sid: str
    created_at: str


@dataclass
class Context:
    """What rules need to know beyond their own row, read from the file once."""

    conversation_keys: dict[bytes, int] = field(default_factory=dict)
    conversations: dict[bytes, Parent | Quarantined] = field(default_factory=dict)
    # legacy id of each duplicate memory -> legacy id of the memory kept instead
    memory_duplicates: dict[int, int] = field(default_factory=dict)

    @classmethod
    def read(cls, legacy: LegacyFile) -> Context:
        context = cls()
        conversations = legacy.reader("conversations", ConversationRules.columns)
        if conversations is not None:
            # Two streaming passes rather than one held in memory: contexts can be long.
            context.conversation_keys = conversation_keys(
                ident
                for batch in legacy.batches(conversations, BATCH)
                for row in batch
                if (ident := conversation_id(row[0])) is not None
            )
            rules = ConversationRules(context)
            for row in (r for b in legacy.batches(conversations, BATCH) for r in b):
                ident = conversation_id(row[0])
                if ident is None or ident in context.conversations:
                    continue  # rows without an id, and duplicates: no message can reach them
                outcome = rules.outcome(row)
                context.conversations[ident] = (
                    outcome
                    if isinstance(outcome, Quarantined)
                    else Parent(outcome.doc["sid"], outcome.doc["user_sid"], outcome.doc["created_at"])
                )
        memories = legacy.reader("memories", MemoryRules.columns)
        if memories is not None:
            context.memory_duplicates = _memory_duplicates(
                MemoryRules(context, deduplicate=False), (r for b in legacy.batches(memories, BATCH) for r in b)
            )
        return context


def _memory_duplicates(rules: MemoryRules, rows: Iterable[Row]) -> dict[int, int]:
    """Of memories sharing user and key, the most recently updated is kept (on a tie, the
    highest id: the latest written); the others map to it."""
    best: dict[tuple[str, str], tuple[str, int]] = {}
    members: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        outcome = rules.outcome(row)
        if isinstance(outcome, Quarantined):
            continue  # rejected anyway; never displaces a representable memory
        doc = outcome.doc
        identity = (doc["user_sid"], doc["key"])
        rank = (doc["updated_at"], legacy_int_id(row[0]))
        members.setdefault(identity, []).append(rank[1])
        if identity not in best or rank > best[identity]:
            best[identity] = rank
    return {
        legacy_id: best[identity][1]
        for identity, ids in members.items()
        if len(ids) > 1
        for legacy_id in ids
        if legacy_id != best[identity][1]
    }


def conversation_id(value: object) -> bytes | None:
    """A conversation id as bytes, the same whether a file stored it as text or a number."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    return (repr(value) if isinstance(value, float) else str(value)).encode()


def _show(ident: bytes) -> str:
    return repr(ident.decode("utf-8", "backslashreplace"))


def _created_updated(created: object, updated: object, notes: list[str]) -> tuple[str, str]:
    """Both timestamps of a conversation or memory; each stands in for the other, and
    when neither is usable both become the epoch (the row is kept: it is state, not an event)."""
    created_at, updated_at = to_otime(created), to_otime(updated)
    if created_at is not None and updated_at is not None:
        return created_at, updated_at
    if created_at is None and updated_at is None:
        notes.append(f"created_at, updated_at: neither is a timestamp, both set to {UNKNOWN_TIME}")
        return UNKNOWN_TIME, UNKNOWN_TIME
    if created_at is None:
        notes.append("created_at: NULL, missing or not a timestamp, set to updated_at")
        return str(updated_at), str(updated_at)
    notes.append("updated_at: NULL, missing or not a timestamp, set to created_at")
    return created_at, created_at


def _category(value: object, notes: list[str], tags: list[str]) -> str:
    name = identifier(value, "category", notes, null=FALLBACK_CATEGORY)
    if name in _CATEGORIES:
        return name
    folded = name.strip().lower()
    if folded in _CATEGORIES:
        notes.append("category: upper-case or padded, normalised")
        return folded
    notes.append(f"category: not one OSIS knows, set to {FALLBACK_CATEGORY} with a {LEGACY_CATEGORY_TAG} tag")
    tags.append(LEGACY_CATEGORY_TAG + name)
    return FALLBACK_CATEGORY


__all__ = [
    "RULES",
    "Context",
    "Mapped",
    "Outcome",
    "Quarantined",
    "Rules",
    "conversation_id",
    "mapped_batches",
]
