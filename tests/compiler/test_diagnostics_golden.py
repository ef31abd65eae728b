"""Golden diagnostics: one directory per case, its expected `oschema-gen lint` stderr beside it.

Each directory under `tests/compiler/diagnostics/` is named `<CODE>_<what>` and holds:

- the schema directory (or directories) to lint, usually `schema/`;
- `expected.txt`: the exact stderr of `oschema-gen lint`;
- `case.json`: `{"exit": N}` plus, optionally, `"args"` (the schema directories to pass,
  default `["schema"]`) and `"oversized"` (files to create at test time just over the
  size limit, so no big file is committed).

The case is copied to a temporary directory and linted from there, so printed paths are
short, relative and the same on every machine. After a deliberate change to the
compiler's messages, rewrite the expectations with `UPDATE_GOLDEN=1 pytest
tests/compiler/test_diagnostics_golden.py` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from oschema_gen.cli import main
from oschema_gen.diagnostics import CODES
from oschema_gen.source import MAX_SOURCE_BYTES

CASES_DIR = Path(__file__).resolve().parent / "diagnostics"
CASES = sorted(p for p in CASES_DIR.iterdir() if p.is_dir())
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
_CASE_NAME = re.compile(r"^(OS\d{3})_[a-z0-9_]+$")
_HEADLINE = re.compile(r"^(?:\S+:\d+:\d+: )?(error|warning)\[(OS\d{3})\]: \S")


def _config(case: Path) -> dict[str, Any]:
    config: dict[str, Any] = json.loads((case / "case.json").read_text(encoding="utf-8"))
    return config


def _oversized(path: Path) -> None:
    """A schema-looking file one byte over the limit: a long run of comment lines."""
    line = b"# " + b"x" * 77 + b"\n"
    size = MAX_SOURCE_BYTES + 1
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        full, rest = divmod(size, len(line))
        out.write(line * full)
        out.write(b"#" * rest)


def lint_case(case: Path, work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `oschema-gen lint` in-process over a copy of `case`; (exit code, stdout, stderr)."""
    config = _config(case)
    shutil.copytree(case, work, ignore=shutil.ignore_patterns("expected.txt", "case.json"))
    for rel in config.get("oversized", []):
        _oversized(work / rel)
    monkeypatch.chdir(work)
    capsys.readouterr()
    code = main(["lint", *config.get("args", ["schema"])])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_lint_output_matches_golden(
    case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = lint_case(case, tmp_path / "case", monkeypatch, capsys)
    expected_file = case / "expected.txt"
    config = _config(case)
    if UPDATE:
        expected_file.write_text(err, encoding="utf-8")
        config["exit"] = code
        (case / "case.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    assert out == ""
    assert err == expected_file.read_text(encoding="utf-8")
    assert code == config["exit"]
    # Errors exit 2; a run with warnings only succeeds.
    has_error = any(m.group(1) == "error" for m in map(_HEADLINE.match, err.splitlines()) if m)
    assert code == (2 if has_error else 0)
    assert "Traceback" not in err


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_is_named_after_a_code_it_reports(case: Path) -> None:
    match = _CASE_NAME.match(case.name)
    assert match, f"{case.name}: name case directories <CODE>_<short_snake_name>"
    code = match.group(1)
    assert code in CODES, f"{case.name}: {code} is not in CODES"
    reported = {m.group(2) for m in map(_HEADLINE.match, (case / "expected.txt").read_text(encoding="utf-8").splitlines()) if m}
    assert code in reported, f"{case.name}: expected.txt never reports {code}"
    assert reported <= set(CODES)


def test_every_code_has_a_golden_case() -> None:
    covered = {m.group(1) for m in map(_CASE_NAME.match, (c.name for c in CASES)) if m}
    missing = sorted(set(CODES) - covered)
    assert not missing, f"no golden case in {CASES_DIR} for: {', '.join(missing)}"


# One schema, five different mistakes in three files: a run reports them all, in order.
_FIVE_ERRORS = {
    "00_enums.oschema": """\
Colour = enum {
    red
    red
}
""",
    "10_thing.oschema": """\
# [rootobject]
Thing = {
    sid: u32
    name: strr
    tags: [str]     @index
}
""",
    "90_rpc.oschema": """\
service Shop {
    thing.count(input: Thing) -> Thing
}
""",
}


def test_all_semantic_errors_of_a_run_are_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = tmp_path / "shop"
    schema.mkdir()
    for name, text in _FIVE_ERRORS.items():
        (schema / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["lint", "shop"]) == 2
    err = capsys.readouterr().err
    headlines = [line for line in err.splitlines() if _HEADLINE.match(line)]
    assert [line.split(": ", 1)[0] + ": " + line.split("[", 1)[1][:5] for line in headlines] == [
        "shop/00_enums.oschema:3:5: OS104",
        "shop/10_thing.oschema:3:5: OS106",
        "shop/10_thing.oschema:4:11: OS101",
        "shop/10_thing.oschema:5:21: OS115",
        "shop/90_rpc.oschema:2:5: OS111",
    ], err
    assert err.endswith("5 error(s), 0 warning(s)\n")
