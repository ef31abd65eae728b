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


def test_diff_hook_compares_with_the_last_commit(tmp_path: Path) -> None:
    (hook,) = [h for h in _hooks(".pre-commit-hooks.yaml") if h["id"] == "oschema-diff"]
    assert hook["pass_filenames"] is False
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True, timeout=60)
    shutil.copytree(SCHEMAS / "ai", tmp_path / "schemas" / "ai")
    # Before the first commit there is nothing to compare with: the hook passes and says so.
    first = _run_entry(str(hook["entry"]), ["schemas/ai"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert "nothing to compare against" in first.stdout
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True, timeout=60)
    subprocess.run([*git, "commit", "-q", "-m", "schema"], cwd=tmp_path, check=True, timeout=60)
    schema = tmp_path / "schemas" / "ai" / "20_memory.oschema"
    schema.write_text(schema.read_text().replace("tags: [str]", "tags: [str]\n    pinned?: bool"))
    compatible = _run_entry(str(hook["entry"]), ["schemas/ai"], tmp_path)
    assert compatible.returncode == 0, compatible.stderr
    assert "compatible[OS332]" in compatible.stdout
    schema.write_text(schema.read_text().replace("    source?: str\n", ""))
    broken = _run_entry(str(hook["entry"]), ["schemas/ai"], tmp_path)
    assert broken.returncode == 1
    assert "wire-breaking[OS304]: field 'AgentMemory.source' removed" in broken.stdout


def test_this_repository_runs_the_diff_hook_and_ci_step() -> None:
    ids = [h["id"] for h in _hooks(".pre-commit-config.yaml")]
    assert "oschema-diff" in ids
    makefile = (ROOT / "Makefile").read_text()
    assert "oschema-gen diff --against HEAD --missing-ref-ok schemas/*" in makefile
    assert "git merge-base HEAD origin/main" in makefile
    assert "make diff" in (ROOT / ".ci" / "run").read_text()


def _make_diff(repo: Path) -> subprocess.CompletedProcess[str]:
    """`make diff` of this Makefile in `repo`, with this interpreter's environment as the venv."""
    stamp = repo / ".stamp"
    stamp.touch()  # newer than the copied pyproject.toml: make does not rebuild the venv
    return subprocess.run(
        ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "diff", f"BIN={Path(sys.executable).parent}",
         f"STAMP={stamp}"],
        cwd=repo, capture_output=True, text=True, timeout=120,
    )


def _repo_with_main(tmp_path: Path) -> tuple[Path, list[str]]:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True, timeout=60)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(SCHEMAS / "ai", tmp_path / "schemas" / "ai")
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True, timeout=60)
    subprocess.run([*git, "commit", "-q", "-m", "v1"], cwd=tmp_path, check=True, timeout=60)
    return tmp_path, git


def test_make_diff_on_a_single_commit_clone_of_main_passes_and_says_why(tmp_path: Path) -> None:
    repo, _ = _repo_with_main(tmp_path)
    result = _make_diff(repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "git revision 'HEAD~1' does not exist" in result.stdout
    assert "nothing to compare against" in result.stdout


def test_make_diff_compares_a_branch_with_main(tmp_path: Path) -> None:
    repo, git = _repo_with_main(tmp_path)
    subprocess.run([*git, "checkout", "-q", "-b", "feature"], cwd=repo, check=True, timeout=60)
    schema = repo / "schemas" / "ai" / "20_memory.oschema"
    schema.write_text(schema.read_text().replace("    source?: str\n", ""))
    subprocess.run([*git, "commit", "-q", "-am", "drop source"], cwd=repo, check=True, timeout=60)
    result = _make_diff(repo)
    assert result.returncode != 0
    assert "wire-breaking[OS304]: field 'AgentMemory.source' removed" in result.stdout
    subprocess.run([*git, "branch", "-q", "-m", "main", "trunk"], cwd=repo, check=True, timeout=60)
    skipped = _make_diff(repo)
    assert skipped.returncode == 0
    assert "no origin/main or main branch here" in skipped.stdout
