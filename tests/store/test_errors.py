"""Bad URLs and unusable databases give typed, one-line errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from osis.store import (
    InvalidURL,
    StoreError,
    StoreLocked,
    StoreUnavailable,
    open_engine,
)

from .conftest import AUDIT


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "non-empty string"),
        (None, "non-empty string"),
        ("osis.db", "has no scheme"),
        ("mysql://localhost/x", "unsupported store URL scheme 'mysql'"),
        ("sqlite://host/x.db", "must have an empty host"),
        ("sqlite:///", "has no database path"),
        ("sqlite:///x.db?synchronous=off", "synchronous='off' must be normal or full"),
        ("sqlite:///x.db?journal=wal", "unknown option 'journal'.*allowed: indexer, readers, synchronous, timeout"),
        ("sqlite:///x.db?timeout=soon", "timeout='soon' must be a number"),
        ("sqlite:///x.db?readers=0", "readers='0' must be at least 1"),
        ("sqlite:///x.db?indexer=maybe", "indexer='maybe' must be on or off"),
        ("postgresql://localhost/test?schema=Bad-Name", "schema='Bad-Name'"),
        ("postgresql://localhost/test?pool_max=x", "pool_max='x' must be a number"),
        ("postgresql://localhost/test?indexer=later", "indexer='later' must be on or off"),
        ("postgresql://localhost/test?nonsense_option=1", "invalid PostgreSQL URL"),
    ],
)
def test_bad_urls(url: object, message: str) -> None:
    with pytest.raises(InvalidURL, match=message) as info:
        open_engine(url)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_unreachable_postgres() -> None:
    with pytest.raises(StoreUnavailable, match=r"cannot connect to postgresql://postgres@127\.0\.0\.1:1/test: ") as info:
        open_engine("postgresql://postgres:secret@127.0.0.1:1/test?connect_timeout=2")
    assert "secret" not in str(info.value) and "\n" not in str(info.value)


def test_sqlite_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="directory .*missing.* does not exist"):
        open_engine(f"sqlite:///{tmp_path}/missing/osis.db")


def test_sqlite_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreUnavailable, match="not a database"):
        open_engine(f"sqlite:///{path}").open([AUDIT])


def test_sqlite_locked_file(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    open_engine(f"sqlite:///{path}").close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        engine = open_engine(f"sqlite:///{path}?timeout=0.2")
        with pytest.raises(StoreLocked, match="is locked by another connection or process") as info:
            engine.open([AUDIT])
        assert "\n" not in str(info.value)
        engine.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    engine = open_engine(f"sqlite:///{path}?timeout=0.2")
    engine.open([AUDIT])  # usable once the lock is gone
    engine.close()


def test_writes_while_another_process_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    engine = open_engine(f"sqlite:///{path}?timeout=0.2")
    engine.open([AUDIT])
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreLocked):
            engine.insert("audit", {"attempt": 1})
        assert engine.count("audit") == 0  # reads still work under WAL
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert engine.insert("audit", {"attempt": 1})["sid"] == "0001"
    engine.close()


def test_every_error_is_a_store_error() -> None:
    for cls in (InvalidURL, StoreUnavailable, StoreLocked):
        assert issubclass(cls, StoreError)


def test_sqlite_find_on_a_table_dropped_behind_the_engine(tmp_path: Path) -> None:
    # The plain find path takes a reader and runs its memoised statement itself:
    # a failing statement must still become a one-line StoreError and give the
    # reader back to the pool.
    path = tmp_path / "dropped.db"
    engine = open_engine(f"sqlite:///{path}")
    engine.open([AUDIT])
    engine.insert("audit", {"attempt": 1})
    assert len(engine.find("audit")) == 1
    other = sqlite3.connect(path, isolation_level=None)
    other.execute('DROP TABLE "osis_audit"')
    other.close()
    with pytest.raises(StoreError, match="read failed: no such table") as info:
        engine.find("audit")
    assert "\n" not in str(info.value)
    assert len(engine._idle_readers) == 1  # type: ignore[attr-defined]
    engine.close()
