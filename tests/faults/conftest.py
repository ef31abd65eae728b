"""Fixtures of the fault tests: services they cannot run without fail the run in CI
(`OSIS_REQUIRE_SERVICES=1`) and are skipped, loudly, elsewhere."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .private_postgres import PrivateCluster


def unavailable(why: str) -> None:
    """Fail when CI requires every service, skip otherwise; `why` says what is missing."""
    if os.environ.get("OSIS_REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true":
        pytest.fail(f"{why} (OSIS_REQUIRE_SERVICES=1: this test must run)", pytrace=False)
    pytest.skip(why)


@pytest.fixture
def private_postgres() -> Iterator[PrivateCluster]:
    """A started PostgreSQL cluster of this test's own (never the shared one)."""
    try:
        cluster = PrivateCluster()
    except RuntimeError as exc:
        unavailable(f"cannot create a private PostgreSQL cluster: {exc}")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
