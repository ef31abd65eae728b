"""SIGKILL at random moments, then a rerun: exactly the end state of one clean run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from osis.migrate.report import Report
from tests.migrate.conftest import checksums, file_digest
from tests.migrate.legacy_files import current_file

KILLS = 4


def test_killed_runs_then_a_rerun_equal_one_clean_run(
    store_url: str, engine_kind: str, tmp_path: Path, migrate: Callable[..., Report]
) -> None:
    legacy = tmp_path / "legacy" / "hero_agent.db"
    legacy.parent.mkdir()
    # Big enough to take a few seconds, so kills land in every phase: reading the
    # conversations, writing batches, verifying.  PostgreSQL writes explicit sids slower.
    audit = 12_000 if engine_kind == "sqlite" else 2_500
    current_file(legacy, audit=audit, usage=audit // 4, memories=300, conversations=100, messages_per=10)
    before = file_digest(legacy)
    clean = f"sqlite:///{tmp_path}/clean.db"
    started = time.monotonic()
    assert migrate(legacy, clean).ok
    duration = time.monotonic() - started

    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    command = [
        sys.executable,
        "-m",
        "osis",
        "migrate",
        str(legacy),
        "--store",
        store_url,
        "--report",
        str(tmp_path / "report.json"),
    ]
    killed_at = []
    for _ in range(KILLS):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        delay = rng.uniform(0.2, 0.6 + duration)  # interpreter start-up included
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        killed_at.append(round(delay, 2))

    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    context = f"seed {seed}, killed after {killed_at} s:\n{finished.stdout}{finished.stderr}"
    assert finished.returncode == 0, context
    assert checksums(store_url) == checksums(clean), context
    assert file_digest(legacy) == before
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and checksums(store_url) == checksums(clean), context
