"""One snapshot per emitted file, parametrised over the emitted file list.

The parameter list is computed from what the compiler emits, so a new kind of output
file cannot slip through unsnapshotted: its snapshot is missing and the test fails.
Update deliberately with `pytest --snapshot-update` and review the diff.
"""

from __future__ import annotations

import pytest

from tests.compiler.emitted import emitted
from tests.conftest import FIXTURES, SCHEMAS

DOMAINS = {"ai": SCHEMAS / "ai", "kitchen": FIXTURES / "kitchen"}

CASES = [(domain, f.path) for domain, path in DOMAINS.items() for f in emitted(path)]


@pytest.mark.parametrize(("domain", "file"), CASES, ids=[f"{d}:{p}" for d, p in CASES])
def test_emitted_file_matches_snapshot(domain: str, file: str, snapshot: object) -> None:
    content = next(f.content for f in emitted(DOMAINS[domain]) if f.path == file)
    assert content == snapshot


def test_every_package_file_is_covered() -> None:
    # Every kind of file a domain package has; a new kind must be added here deliberately.
    kinds = sorted(p.split("/", 1)[1] for d, p in CASES if d == "ai")
    assert {"__init__.py", "models.py", "py.typed", "schema.json", "schema.ir.json", "client.py", "server.py", "openrpc.json"} == set(kinds)
