"""`oschema-gen diff`: both forms, both formats, every exit code and failure path."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from oschema_gen.cli import main

BASE = Path(__file__).parent / "evolution" / "base.oschema"


def schema_dir(parent: Path, text: str | None = None) -> Path:
    directory = parent / "shop"
    directory.mkdir(parents=True)
    (directory / "10_shop.oschema").write_text(BASE.read_text() if text is None else text)
    return directory


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=repo, check=True,
                   capture_output=True, timeout=60)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with schemas/shop committed, as the working directory."""
    git(tmp_path, "init", "-q")
    schema_dir(tmp_path / "schemas")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "v1")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def edit(directory: Path, before: str, after: str) -> None:
    path = directory / "10_shop.oschema"
    path.write_text(path.read_text().replace(before, after))


def test_no_changes_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = schema_dir(tmp_path / "old"), schema_dir(tmp_path / "new")
    assert main(["diff", str(old), str(new)]) == 0
    assert "no changes from" in capsys.readouterr().out


def test_breaking_change_exit_1_with_both_locations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = schema_dir(tmp_path / "old"), schema_dir(tmp_path / "new")
    edit(new, "    note?: str\n", "")
    assert main(["diff", str(old), str(new)]) == 1
    out, err = capsys.readouterr()
    assert f"{new}/10_shop.oschema:3:1: wire-breaking[OS304]: field 'Item.note' removed" in out
    assert f"  old: {old}/10_shop.oschema:9:5" in out
    assert "1 wire-breaking, 0 query-breaking, 0 compatible change(s)" in out
    assert "--allow-breaking" in err


def test_allow_breaking_reports_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = schema_dir(tmp_path / "old"), schema_dir(tmp_path / "new")
    edit(new, "count: u16      @index", "count: u16")
    assert main(["diff", str(old), str(new), "--allow-breaking"]) == 0
    out, err = capsys.readouterr()
    assert "query-breaking[OS320]" in out
    assert "1 breaking change(s) allowed by --allow-breaking" in err


def test_compatible_changes_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = schema_dir(tmp_path / "old"), schema_dir(tmp_path / "new")
    edit(new, "    bundle\n", "    bundle\n    crate\n")
    assert main(["diff", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert "compatible[OS333]: enum value 'Kind.crate' added" in out
    assert "  note: client-visible:" in out


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = schema_dir(tmp_path / "old"), schema_dir(tmp_path / "new")
    edit(new, "size: u32", "size: u16")
    assert main(["diff", str(old), str(new), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["breaking"] is True
    assert doc["counts"] == {"wire-breaking": 1, "query-breaking": 0, "compatible": 0}
    (change,) = doc["changes"]
    assert change["code"] == "OS307" and change["class"] == "wire-breaking" and change["subject"] == "Box.size"
    assert change["old"].endswith("10_shop.oschema:20:5") and change["new"].endswith("10_shop.oschema:20:5")
    assert change["stored"] is True and change["note"] is None


def test_schema_error_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = schema_dir(tmp_path / "old"), schema_dir(tmp_path / "new")
    edit(new, "size: u32", "size: u33")
    assert main(["diff", str(old), str(new)]) == 2
    assert "error[OS101]: unknown type 'u33'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["only_one"], "give OLD_DIR and NEW_DIR"),
        (["a", "b", "c"], "give OLD_DIR and NEW_DIR"),
        (["a", "b", "--missing-ref-ok"], "--missing-ref-ok only applies with --against"),
        (["missing_old", "missing_new"], "schema directory 'missing_old' does not exist"),
    ],
)
def test_usage_errors_exit_2(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["diff", *args]) == 2
    assert message in capsys.readouterr().err


# -- --against: the old version from git ---------------------------------------------------


def test_against_head_locates_the_old_version_in_git(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo / "schemas" / "shop", "    note?: str\n", "")
    assert main(["diff", "--against", "HEAD", "schemas/shop"]) == 1
    out = capsys.readouterr().out
    assert "schemas/shop/10_shop.oschema:3:1: wire-breaking[OS304]: field 'Item.note' removed" in out
    assert "  old: HEAD:schemas/shop/10_shop.oschema:9:5" in out
    assert "from HEAD:schemas/shop to schemas/shop" in out


def test_against_an_unchanged_schema(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "--against", "HEAD", "schemas/shop"]) == 0
    assert "no changes from HEAD:schemas/shop to schemas/shop" in capsys.readouterr().out


def test_unknown_revision(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "--against", "no-such-branch", "schemas/shop"]) == 2
    assert "git revision 'no-such-branch' does not exist" in capsys.readouterr().err
    assert main(["diff", "--against", "no-such-branch", "--missing-ref-ok", "schemas/shop"]) == 0
    assert "nothing to compare against" in capsys.readouterr().out


def test_option_like_revision_is_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "--against=--output=x", "schemas/shop"]) == 2
    assert "must not start with '-'" in capsys.readouterr().err


def test_repository_without_commits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    git(tmp_path, "init", "-q")
    schema_dir(tmp_path / "schemas")
    monkeypatch.chdir(tmp_path)
    assert main(["diff", "--against", "HEAD", "--missing-ref-ok", "schemas/shop"]) == 0
    assert "git revision 'HEAD' does not exist" in capsys.readouterr().out


def test_not_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    schema_dir(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["diff", "--against", "HEAD", "shop"]) == 2
    assert "is not inside a git repository" in capsys.readouterr().err


def test_schema_directory_new_since_the_revision(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(repo / "schemas" / "shop", repo / "schemas" / "depot")
    assert main(["diff", "--against", "HEAD", "schemas/depot", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert "HEAD:schemas/depot does not exist: every type of schemas/depot is new" in err
    assert {c["code"] for c in json.loads(out)["changes"]} == {"OS330", "OS334"}


def test_errors_in_the_old_version_point_at_the_revision(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo / "schemas" / "shop", "size: u32", "size: u33")
    git(repo, "commit", "-q", "-am", "broken")
    edit(repo / "schemas" / "shop", "size: u33", "size: u32")
    assert main(["diff", "--against", "HEAD", "schemas/shop"]) == 2
    err = capsys.readouterr().err
    assert "the schema at HEAD:schemas/shop has errors" in err
    assert "HEAD:schemas/shop/10_shop.oschema:20:11: error[OS101]: unknown type 'u33'" in err
    assert "20 |     size: u33" in err


def test_several_directories_against_a_revision(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(repo / "schemas" / "shop", repo / "schemas" / "depot")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "depot")
    edit(repo / "schemas" / "depot", "    note?: str\n", "")
    assert main(["diff", "--against", "HEAD", "schemas/shop", "schemas/depot", "--format", "json"]) == 1
    reports = json.loads(capsys.readouterr().out)
    assert [r["breaking"] for r in reports] == [False, True]
