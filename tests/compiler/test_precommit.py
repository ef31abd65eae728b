"""The pre-commit hooks: the published manifest runs the check, and this repo uses it."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT, SCHEMAS


def _hooks(name: str) -> list[dict[str, object]]:
    data = yaml.safe_load((ROOT / name).read_text())
    if isinstance(data, dict):
        return [h for repo in data["repos"] for h in repo["hooks"]]
    return list(data)


def _run_entry(entry: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(entry)
    # The manifest names the console script; run the same module with this interpreter.
    assert argv[0] == "oschema-gen"
    return subprocess.run(
        [sys.executable, "-m", "oschema_gen", *argv[1:], *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_manifest_hook_passes_when_current_and_fails_when_stale(tmp_path: Path) -> None:
    (hook,) = [h for h in _hooks(".pre-commit-hooks.yaml") if h["id"] == "oschema-check"]
    assert hook["pass_filenames"] is False
    shutil.copytree(SCHEMAS / "ai", tmp_path / "schemas" / "ai")
    gen = subprocess.run(
        [sys.executable, "-m", "oschema_gen", "generate", "schemas/ai", "--out", "generated"], cwd=tmp_path, timeout=60
    )
    assert gen.returncode == 0
    ok = _run_entry(str(hook["entry"]), ["schemas/ai", "--out", "generated"], tmp_path)
    assert ok.returncode == 0, ok.stderr
    schema = tmp_path / "schemas" / "ai" / "20_memory.oschema"
    schema.write_text(schema.read_text().replace("tags: [str]", "tags: [str]\n    pinned?: bool"))
    stale = _run_entry(str(hook["entry"]), ["schemas/ai", "--out", "generated"], tmp_path)
    assert stale.returncode == 1
    assert "pinned" in stale.stdout


def test_this_repository_uses_the_hook() -> None:
    ids = [h["id"] for h in _hooks(".pre-commit-config.yaml")]
    assert "oschema-check" in ids
    makefile = (ROOT / "Makefile").read_text()
    assert "oschema-gen check schemas/* --out generated" in makefile
