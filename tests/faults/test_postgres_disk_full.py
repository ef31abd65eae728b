"""A full disk under PostgreSQL: the store's tables live in a tablespace on a small tmpfs.

Writes must fail with StoreFull (a clear message naming the cause), nothing already stored
may change, reads go on, and writes work again once space is freed.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from osis.server import open_store
from osis.store.errors import StoreFull

from .conftest import mounted_small_disk
from .private_postgres import PrivateCluster
from .test_disk_full import fill_up

VALUE = "x" * 4000  # a memory's value: documents large enough to need new pages quickly


def _memory(i: int) -> dict[str, object]:
    return {"user_sid": "u1", "category": "fact", "key": f"k{i}", "value": VALUE, "confidence": 0.5,
            "access_count": 0, "tags": [], "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}


@pytest.fixture
def small_disk_of_the_server(private_postgres: PrivateCluster) -> Iterator[Path]:
    """A small tmpfs inside the cluster's directory, which the server's user can reach."""
    with mounted_small_disk(private_postgres.dir / "disk") as mountpoint:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(mountpoint, owner.pw_uid, owner.pw_gid)
        yield mountpoint


def test_disk_full_under_postgres_is_a_clear_error_and_damages_nothing(
    private_postgres: PrivateCluster, small_disk_of_the_server: Path
) -> None:
    small_disk = small_disk_of_the_server
    # A tablespace's directory must belong to the server's user and be empty.
    location = small_disk / "tablespace"
    location.mkdir()
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(location, owner.pw_uid, owner.pw_gid)
    with psycopg.connect(private_postgres.dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLESPACE small LOCATION '{location}'")
    url = f"{private_postgres.dsn}?schema=full&options={quote('-c default_tablespace=small')}"

    engine = open_store(url)
    try:
        stored = [engine.insert("agent_memory", _memory(i)) for i in range(20)]
        filler = small_disk / "filler"
        fill_up(filler)

        with pytest.raises(StoreFull) as full:
            for i in range(20, 2000):  # the first pages may still have room
                engine.insert("agent_memory", _memory(i))
        message = str(full.value)
        assert "disk is full" in message and "nothing stored changed" in message
        assert "free disk space" in message and "127.0.0.1" in message
        with pytest.raises(StoreFull):
            engine.insert_many("agent_memory", [_memory(i) for i in range(5000, 5050)])

        # What was stored before the disk filled is intact and readable.
        assert all(engine.get("agent_memory", doc["sid"]) == doc for doc in stored)
        survivors = engine.count("agent_memory")
        assert survivors >= len(stored)

        filler.unlink()
        again = engine.insert("agent_memory", _memory(9999))
        assert engine.get("agent_memory", again["sid"]) == again
        assert engine.count("agent_memory") == survivors + 1
    finally:
        engine.close()
