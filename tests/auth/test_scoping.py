"""A user token sees and changes only its own objects, for every CRUD verb of every root
type and every ai method; a foreign sid gets exactly the answer of a missing one; an admin
token sees everything. Over HTTP with the generated client, on both engines."""

from __future__ import annotations

from typing import Any

import pytest
from osis_ai import models as m
from pydantic import BaseModel

from osis.binding import bind_package
from osis.rpc.errors import NotFound, RpcError
from osis.store.sid import sid_to_key

from .conftest import Data, Live

ROOTS = sorted(bind_package("osis_ai").roots)
TYPE_OF = {"agent_audit_entry": "audit", "agent_usage_entry": "usage", "agent_memory": "memories",
           "agent_conversation": "conversations", "agent_message": "messages"}


def _objects(data: Data, root: str) -> list[Any]:
    objects: list[Any] = getattr(data, TYPE_OF[root])
    return objects


def _owned(data: Data, root: str, user: str) -> list[Any]:
    return [o for o in _objects(data, root) if o.user_sid == user]


def _foreign(data: Data, root: str, user: str) -> Any:
    return next(o for o in _objects(data, root) if o.user_sid != user)


def _rpc(live: Live, who: str, method: str, params: dict[str, Any]) -> Any:
    """The raw JSON-RPC answer, to compare answers byte for byte (minus nothing)."""
    with live.http(who) as http:
        answer = http.post("/rpc", json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    assert answer.status_code == 200
    return answer.json()


def test_roots_cover_the_schema() -> None:
    assert set(ROOTS) == set(TYPE_OF)
    assert all(root.spec.owner == "user_sid" for root in bind_package("osis_ai").roots.values())


@pytest.mark.parametrize("root", ROOTS)
def test_reads_see_only_own_objects(live: Live, data: Data, root: str) -> None:
    u1, admin = getattr(live.client("u1"), root), getattr(live.client("admin"), root)
    own = _owned(data, root, "u1")
    assert own and len(own) < len(_objects(data, root))
    own_sids = sorted((o.sid for o in own), key=sid_to_key)
    assert u1.list() == own_sids
    assert sorted((o.sid for o in u1.list_full(limit=1000)), key=sid_to_key) == own_sids
    assert sorted(o.sid for o in u1.find(None, limit=1000)) == sorted(own_sids)
    filter_model = bind_package("osis_ai").roots[root].filter_model
    assert u1.find(filter_model(user_sid="u2"), limit=1000) == []
    assert u1.find(filter_model(user_sid="u1"), limit=1000) == u1.find(None, limit=1000)
    paged = u1.list_full(limit=2, offset=1)
    assert [o.sid for o in paged] == [o.sid for o in u1.list_full(limit=1000)][1:3]
    assert sorted(o.sid for o in u1.find_all(page_size=3)) == sorted(own_sids)
    assert u1.find_page(filter_model(user_sid="u2")).items == []
    assert u1.count() == len(own) and u1.count(filter_model(user_sid="u2")) == 0
    assert admin.count() == len(_objects(data, root))
    # An admin's cursor walks all users' objects: it does not carry over to a user.
    cursor = admin.find_page(limit=1).next_cursor
    assert cursor is not None
    with pytest.raises(RpcError, match="cursor"):
        u1.find_page(limit=1, cursor=cursor)
    assert all(u1.get(o.sid) == o for o in own)
    assert all(u1.exists(o.sid) for o in own)
    # The admin sees everything.
    assert len(admin.list()) == len(_objects(data, root))
    assert admin.get(_foreign(data, root, "u1").sid) == _foreign(data, root, "u1")


@pytest.mark.parametrize("root", ROOTS)
def test_a_foreign_sid_answers_exactly_like_a_missing_one(live: Live, data: Data, root: str) -> None:
    victim = _foreign(data, root, "u1")
    doc = victim.model_dump(mode="json")
    calls = [
        (f"{root}.get", {"sid": victim.sid}),
        (f"{root}.exists", {"sid": victim.sid}),
        (f"{root}.delete", {"sid": victim.sid}),
        (f"{root}.set", {"obj": {**doc, "user_sid": "u1"}}),
    ]
    if root == "agent_memory":
        calls.append(("memory_touch", {"input": {"sid": victim.sid}}))
    foreign = [_rpc(live, "u1", method, params) for method, params in calls]
    # Nothing was changed by those calls.
    admin = getattr(live.client("admin"), root)
    assert admin.get(victim.sid) == victim
    admin.delete(victim.sid)
    missing = [_rpc(live, "u1", method, params) for method, params in calls]
    assert foreign == missing
    assert foreign[0]["error"]["code"] == NotFound.code and foreign[1] == {"jsonrpc": "2.0", "id": 1, "result": False}


@pytest.mark.parametrize("root", ROOTS)
def test_writes_touch_only_own_objects(live: Live, data: Data, root: str) -> None:
    u1, admin = getattr(live.client("u1"), root), getattr(live.client("admin"), root)
    victim = _foreign(data, root, "u1")
    with pytest.raises(NotFound):
        u1.delete(victim.sid)
    with pytest.raises(NotFound):
        u1.set(victim.model_copy(update={"user_sid": "u1"}))
    assert admin.get(victim.sid) == victim

    # `new` stamps the caller, whatever user the object names; `set` cannot give it away.
    template = _owned(data, root, "u2")[0]
    created = u1.new(template.model_copy(update={"sid": ""}))
    assert created.user_sid == "u1" and admin.get(created.sid).user_sid == "u1"
    moved = u1.set(created.model_copy(update={"user_sid": "u2"}))
    assert moved.user_sid == "u1" and admin.get(created.sid) == moved
    assert created.sid not in getattr(live.client("u2"), root).list()
    u1.delete(created.sid)
    assert not admin.exists(created.sid)

    # The admin may create for anyone and move objects between users.
    made = admin.new(template.model_copy(update={"sid": "", "user_sid": "u3"}))
    assert made.user_sid == "u3"
    assert admin.set(made.model_copy(update={"user_sid": "u1"})).user_sid == "u1"
    assert u1.get(made.sid).user_sid == "u1"


def _without(model: BaseModel, *fields: str) -> dict[str, Any]:
    return {k: v for k, v in model.model_dump(mode="json").items() if k not in fields}


def test_ai_methods_are_scoped_to_the_user(live: Live, data: Data) -> None:
    u1, admin = live.client("u1"), live.client("admin")
    # A user's answer equals the admin's answer for that user, whatever user the input names.
    for named in (None, "u1"):
        assert u1.audit_search(m.AuditSearchInput(user_sid=named, limit=1000)) == admin.audit_search(
            m.AuditSearchInput(user_sid="u1", limit=1000))
        assert u1.memory_search(m.MemorySearchInput(user_sid=named, limit=1000)) == admin.memory_search(
            m.MemorySearchInput(user_sid="u1", limit=1000))
        assert u1.conversation_list(m.ConversationListInput(user_sid=named)) == admin.conversation_list(
            m.ConversationListInput(user_sid="u1"))
        mine = _without(u1.usage_summary(m.UsageSummaryInput(user_sid=named, days=60)))
        assert mine == _without(admin.usage_summary(m.UsageSummaryInput(user_sid="u1", days=60)))
        assert {u["user_sid"] for u in mine["by_user"]} == {"u1"}
        assert u1.stats(m.StatsInput(user_sid=named)) == admin.stats(m.StatsInput(user_sid="u1"))
    assert u1.audit_search(m.AuditSearchInput()).total == len(_owned(data, "agent_audit_entry", "u1")) > 0
    assert u1.stats(m.StatsInput()).tool_calls == len(_owned(data, "agent_audit_entry", "u1"))
    assert admin.stats(m.StatsInput()).tool_calls == len(data.audit)
    # Naming another user gives nothing rather than their data.
    assert u1.audit_search(m.AuditSearchInput(user_sid="u2")).total == 0
    assert u1.memory_search(m.MemorySearchInput(user_sid="u2")).total == 0
    assert u1.conversation_list(m.ConversationListInput(user_sid="u2")).total == 0
    assert u1.usage_summary(m.UsageSummaryInput(user_sid="u2")).totals.calls == 0
    assert u1.stats(m.StatsInput(user_sid="u2")).tool_calls == 0
    # Messages: of the user's own conversation only.
    own = _owned(data, "agent_conversation", "u1")[0]
    other = _foreign(data, "agent_conversation", "u1")
    assert u1.message_history(m.MessageHistoryInput(conversation_sid=own.sid)).total == 3
    assert u1.message_history(m.MessageHistoryInput(conversation_sid=other.sid)).total == 0
    assert admin.message_history(m.MessageHistoryInput(conversation_sid=other.sid)).total == 3
    # memory_touch: own memory counts up; a foreign one is "not found" and unchanged.
    memory = _owned(data, "agent_memory", "u1")[0]
    assert u1.memory_touch(m.MemoryTouchInput(sid=memory.sid)).access_count == memory.access_count + 1
    foreign = _foreign(data, "agent_memory", "u1")
    with pytest.raises(NotFound):
        u1.memory_touch(m.MemoryTouchInput(sid=foreign.sid))
    assert admin.agent_memory.get(foreign.sid) == foreign


def test_batches_run_as_the_token_holder(live: Live, data: Data) -> None:
    u1 = live.client("u1")
    victim = _foreign(data, "agent_memory", "u1")
    own = _owned(data, "agent_memory", "u1")[0]
    batch = u1.batch()
    theirs = batch.add("agent_memory.get", {"sid": victim.sid}, u1.agent_memory._one)
    mine = batch.add("agent_memory.get", {"sid": own.sid}, u1.agent_memory._one)
    batch.send()
    with pytest.raises(RpcError):
        theirs.result()
    assert mine.result() == own


def test_an_owner_field_must_be_indexed() -> None:
    from dataclasses import replace

    from osis_ai.server import AiService

    from osis.service.crud import crud_service

    binding = bind_package("osis_ai")
    memory = binding.roots["agent_memory"]
    unindexed = replace(memory, spec=replace(memory.spec, indexed=tuple(
        f for f in memory.spec.indexed if f.name != "user_sid"), compound=()))
    with pytest.raises(ValueError, match="AgentMemory: the @owner field 'user_sid' must also be @index"):
        crud_service(AiService, replace(binding, roots={"agent_memory": unindexed}))
