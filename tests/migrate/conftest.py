"""Fixtures of the migration tests: legacy files, stores on both engines, a runner."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from osis.migrate.report import Report
from osis.migrate.runner import Mode, run
from osis.server import open_store
from tests.migrate.legacy_files import Quirk, current_file, old_file
from tests.store.conftest import engine_kind, store_url  # noqa: F401 - the engine fixtures, shared

COLLECTIONS = ("agent_audit_entry", "agent_usage_entry", "agent_memory", "agent_conversation", "agent_message")


@pytest.fixture(scope="session")
def current_legacy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Quirk]]:
    """A file of today's layout with every quirk; shared, so tests must only read it."""
    path = tmp_path_factory.mktemp("legacy") / "hero_agent.db"
    return path, current_file(path)


@pytest.fixture(scope="session")
def old_legacy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Quirk]]:
    path = tmp_path_factory.mktemp("legacy-old") / "hero_agent_old.db"
    return path, old_file(path)


@pytest.fixture
def migrate(tmp_path: Path) -> Callable[..., Report]:
    """``migrate(legacy, store, mode=..., report=...)``: one in-process run, progress discarded."""

    def go(legacy: Path, store: str, *, mode: Mode = "migrate", report: Path | None = None) -> Report:
        return run(legacy, store, mode=mode, report_path=report or tmp_path / f"{mode}.json", stream=io.StringIO())

    return go


def checksums(store: str) -> dict[str, str]:
    engine = open_store(store)
    try:
        return {name: engine.checksum(name) for name in COLLECTIONS}
    finally:
        engine.close()


def documents(store: str, collection: str) -> dict[str, dict[str, Any]]:
    engine = open_store(store)
    try:
        return {doc["sid"]: doc for doc in engine.find(collection)}
    finally:
        engine.close()


def file_digest(path: Path) -> tuple[str, list[str]]:
    """The file's SHA-256 and the names of everything in its directory (side files show)."""
    return hashlib.sha256(path.read_bytes()).hexdigest(), sorted(p.name for p in path.parent.iterdir())
