"""Fixtures of the fault tests: services they cannot run without fail the run in CI
(`OSIS_REQUIRE_SERVICES=1`) and are skipped, loudly, elsewhere."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

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


TMPFS_SIZE = "4m"


@contextlib.contextmanager
def mounted_small_disk(mountpoint: Path) -> Iterator[Path]:
    """`mountpoint` (created here) as a tmpfs of its own, 4 MiB: a disk that fills up quickly."""
    mountpoint.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", str(mountpoint)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        unavailable(f"cannot mount a small tmpfs for the disk-full test: {mounted.stderr.strip()}"
                    " (needs root, or CAP_SYS_ADMIN in a container)")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "--lazy", str(mountpoint)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A directory on a small tmpfs of its own."""
    with mounted_small_disk(tmp_path / "disk") as mountpoint:
        yield mountpoint
