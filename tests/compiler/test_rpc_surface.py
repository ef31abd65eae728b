"""The compiler's CRUD surface and the runtime's agree on the verbs."""

from __future__ import annotations

from oschema_gen.loader import load_domain
from oschema_gen.rpc import CRUD_VERBS, crud_methods
from osis.rpc.dispatch import CRUD_VERBS as RUNTIME_CRUD_VERBS
from tests.conftest import SCHEMAS


def test_crud_verbs_are_the_same_in_compiler_and_runtime() -> None:
    assert CRUD_VERBS == RUNTIME_CRUD_VERBS
    domain = load_domain(SCHEMAS / "ai").domain
    assert domain is not None
    for root in domain.root_objects:
        assert tuple(m.verb for m in crud_methods(root)) == CRUD_VERBS
