"""`mypy --strict` accepts typed use of the generated client and rejects misuse, line by line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import GENERATED, ROOT

HERE = Path(__file__).resolve().parent


def _mypy(path: Path) -> subprocess.CompletedProcess[str]:
    env_path = f"{ROOT / 'src'}:{GENERATED}"
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--show-error-codes", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"MYPYPATH": env_path, "PATH": "/usr/bin:/bin"},
    )


def test_typed_usage_passes() -> None:
    result = _mypy(HERE / "typing_ok.py")
    assert result.returncode == 0, result.stdout


def test_each_misuse_is_reported_on_its_line() -> None:
    path = HERE / "typing_bad.py"
    expected = {i for i, line in enumerate(path.read_text().splitlines(), start=1) if "# E:" in line}
    result = _mypy(path)
    assert result.returncode == 1
    reported = {int(m.group(1)) for m in re.finditer(rf"{re.escape(path.name)}:(\d+): error", result.stdout)}
    assert reported == expected, result.stdout
