"""Property: random interleavings of CRUD and ai calls by several users, each through the
generated client with its own token, never let one user observe or change another user's
objects; every answer matches a model of who owns what. The admin moves objects between
users now and then. Both engines, over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, rule, run_state_machine_as_test
from osis_ai import models as m
from osis_ai.client import AiClient

from osis.rpc.errors import NotFound
from osis.store.sid import sid_to_key

from .conftest import USERS, Live

ROOTS = ("agent_memory", "agent_audit_entry")
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
users = st.sampled_from(USERS)
claimed = st.sampled_from((*USERS, "u4"))  # the user an object names; u4 has no token
texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)


def _draft(root: str, owner: str, text: str) -> Any:
    if root == "agent_memory":
        return m.AgentMemory(user_sid=owner, category=m.MemoryCategory.FACT, key="k", value=text, confidence=0.5,
                             access_count=0, created_at=NOW, updated_at=NOW)
    return m.AgentAuditEntry(tool_name="t", arguments=text, result_preview="", success=True, duration_ms=1,
                             user_sid=owner, created_at=NOW)


Ref = tuple[str, str]  # (root, sid)


@dataclass
class Stored:
    root: str
    obj: Any  # as the store holds it; obj.user_sid is the owner


def isolation_machine(live: Live) -> type[RuleBasedStateMachine]:
    clients: dict[str, AiClient] = {who: live.client(who) for who in ("admin", *USERS)}

    class Isolation(RuleBasedStateMachine):
        objects = Bundle("objects")

        def __init__(self) -> None:
            super().__init__()
            # Keyed by (root, sid): every collection numbers its sids on its own.
            self.model: dict[Ref, Stored] = {}

        def teardown(self) -> None:
            # The next example starts from an empty store, even after a failed step.
            for root in ROOTS:
                crud = getattr(clients["admin"], root)
                for sid in crud.list():
                    crud.delete(sid)

        def crud(self, who: str, root: str) -> Any:
            return getattr(clients[who], root)

        @rule(target=objects, who=users, root=st.sampled_from(ROOTS), owner=claimed, text=texts)
        def create(self, who: str, root: str, owner: str, text: str) -> Ref:
            made = self.crud(who, root).new(_draft(root, owner, text))
            assert made.user_sid == who
            self.model[root, made.sid] = Stored(root, made)
            return root, str(made.sid)

        @rule(who=users, ref=objects)
        def read(self, who: str, ref: Ref) -> None:
            (root, sid), stored = ref, self.model.get(ref)
            crud = self.crud(who, root)
            if stored is not None and stored.obj.user_sid == who:
                assert crud.get(sid) == stored.obj
                assert crud.exists(sid)
            else:
                with pytest.raises(NotFound):
                    crud.get(sid)
                assert not crud.exists(sid)

        @rule(who=users, ref=objects, owner=claimed, text=texts)
        def replace(self, who: str, ref: Ref, owner: str, text: str) -> None:
            (root, sid), stored = ref, self.model.get(ref)
            field = "value" if root == "agent_memory" else "arguments"
            base = stored.obj if stored is not None else _draft(root, owner, text).model_copy(update={"sid": sid})
            change = base.model_copy(update={field: text, "user_sid": owner})
            if stored is not None and stored.obj.user_sid == who:
                updated = self.crud(who, root).set(change)
                assert updated.user_sid == who
                stored.obj = updated
            else:
                with pytest.raises(NotFound):
                    self.crud(who, root).set(change)
            self.check_unchanged(ref)

        @rule(who=users, ref=consumes(objects))
        def delete(self, who: str, ref: Ref) -> None:
            (root, sid), stored = ref, self.model.get(ref)
            if stored is not None and stored.obj.user_sid == who:
                self.crud(who, root).delete(sid)
                del self.model[ref]
            else:
                with pytest.raises(NotFound):
                    self.crud(who, root).delete(sid)
                self.check_unchanged(ref)

        @rule(who=users, ref=objects)
        def touch(self, who: str, ref: Ref) -> None:
            (root, sid), stored = ref, self.model.get(ref)
            if root != "agent_memory":
                return
            if stored is not None and stored.obj.user_sid == who:
                touched = clients[who].memory_touch(m.MemoryTouchInput(sid=sid))
                assert touched.access_count == stored.obj.access_count + 1
                stored.obj = touched
            else:
                with pytest.raises(NotFound):
                    clients[who].memory_touch(m.MemoryTouchInput(sid=sid))
                self.check_unchanged(ref)

        @rule(ref=objects, owner=st.sampled_from(USERS))
        def admin_moves(self, ref: Ref, owner: str) -> None:
            stored = self.model.get(ref)
            if stored is not None:
                stored.obj = self.crud("admin", stored.root).set(stored.obj.model_copy(update={"user_sid": owner}))

        @rule(who=users, root=st.sampled_from(ROOTS), named=st.none() | claimed)
        def lists(self, who: str, root: str, named: str | None) -> None:
            crud = self.crud(who, root)
            mine = sorted((s for (r, s), o in self.model.items() if r == root and o.obj.user_sid == who),
                          key=sid_to_key)
            assert crud.list() == mine
            assert [o.sid for o in crud.list_full(limit=1000)] == mine
            found = crud.find(None, limit=1000)
            assert sorted((o.sid for o in found), key=sid_to_key) == mine
            assert all(o == self.model[root, o.sid].obj for o in found)
            result: m.MemorySearchOutput | m.AuditSearchOutput
            if root == "agent_memory":
                result = clients[who].memory_search(m.MemorySearchInput(user_sid=named, limit=1000))
            else:
                result = clients[who].audit_search(m.AuditSearchInput(user_sid=named, limit=1000))
            expected = mine if named in (None, who) else []
            assert sorted((o.sid for o in result.items), key=sid_to_key) == expected and result.total == len(expected)

        def check_unchanged(self, ref: Ref) -> None:
            (root, sid), stored = ref, self.model.get(ref)
            if stored is None:
                assert not self.crud("admin", root).exists(sid)
            else:
                assert self.crud("admin", root).get(sid) == stored.obj

    return Isolation


def test_users_never_see_or_change_each_others_objects(live: Live) -> None:
    run_state_machine_as_test(
        isolation_machine(live),
        settings=settings(max_examples=30, stateful_step_count=30, deadline=None,
                          suppress_health_check=list(HealthCheck)),
    )
