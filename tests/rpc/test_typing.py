"""Static typing of the runtime and of the client API, checked with ``mypy --strict``.

``typing_ok.py`` must type-check cleanly; ``typing_bad.py`` must fail on
exactly the lines marked ``# @error: <message fragment>``, with those messages.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MARKER = re.compile(r"#\s*@error:\s*(.+)$")
ERROR_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: (?P<message>.*)$")


def mypy(*targets: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MYPYPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-color-output", "--no-error-summary", *targets],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_runtime_passes_mypy_strict() -> None:
    result = mypy("src/osis/rpc")
    assert result.returncode == 0, result.stdout + result.stderr


def test_correct_client_usage_type_checks() -> None:
    result = mypy(str(HERE / "typing_ok.py"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_client_misuse_is_rejected_with_the_expected_errors() -> None:
    path = HERE / "typing_bad.py"
    expected: dict[int, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if match := MARKER.search(line):
            expected[number] = match.group(1).strip()
    assert len(expected) >= 10, "the marker syntax changed?"

    result = mypy(str(path))
    assert result.returncode == 1, result.stdout + result.stderr
    found: dict[int, list[str]] = {}
    for line in result.stdout.splitlines():
        if match := ERROR_LINE.match(line):
            assert match["file"].endswith("typing_bad.py"), line  # no errors elsewhere
            found.setdefault(int(match["line"]), []).append(match["message"])

    assert sorted(found) == sorted(expected), result.stdout
    for number, fragment in expected.items():
        if not any(fragment in message for message in found[number]):
            pytest.fail(f"line {number}: expected {fragment!r}, mypy said {found[number]}")
