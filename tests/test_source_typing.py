"""The project's own code stays fully typed: `mypy --strict` over the compiler and the runtime."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import GENERATED, ROOT


def test_mypy_strict_passes_on_the_sources() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "src/oschema_gen", "src/osis"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={"MYPYPATH": f"{ROOT / 'src'}:{GENERATED}", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
