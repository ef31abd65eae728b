"""`osis migrate` on the command line: exit codes, one-line errors, progress, interruptions."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from osis.cli import main
from osis.migrate import runner
from osis.migrate.progress import Progress
from osis.migrate.sids import sid_for_id
from osis.server import open_store
from osis.store import DuplicateSid, Engine
from tests.migrate.conftest import documents, file_digest
from tests.migrate.legacy_files import Quirk, current_file


@pytest.fixture
def small_legacy(tmp_path: Path) -> Path:
    path = tmp_path / "legacy" / "hero_agent.db"
    path.parent.mkdir()
    current_file(path, audit=30, usage=10, memories=5, conversations=2, messages_per=2, quirks=False)
    return path


def _error_line(capsys: pytest.CaptureFixture[str], *, alone: bool = True) -> str:
    """The error line; ``alone``: nothing else was printed (it failed before any progress)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if alone:
        assert err.count("\n") == 1, err
    last = err.splitlines()[-1]
    assert last.startswith("osis migrate: error: ")
    return last


def test_success_exits_0_and_prints_the_summary(
    small_legacy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path}/osis.db"
    assert main(["migrate", str(small_legacy), "--store", store, "--report", str(tmp_path / "r.json")]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"migrate: {small_legacy} -> {store}\n")
    assert "OK: every migrated row verified" in out
    # stderr is not a terminal here: plain progress lines, one per table (each batch is
    # verified as it is written: there is no second pass)
    lines = err.splitlines()
    assert [line.split(" [")[0] for line in lines] == [
        f"migrate {t}" for t in ("audit_log", "usage_log", "memories", "conversations", "messages")
    ]
    assert "30/30 100%" in lines[0] and "rows/s" in lines[0] and "ETA 0:00" in lines[0]


def test_store_from_the_environment(
    small_legacy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OSIS_STORE", f"sqlite:///{tmp_path}/env.db")
    assert main(["migrate", str(small_legacy), "--report", str(tmp_path / "r.json")]) == 0
    assert len(documents(f"sqlite:///{tmp_path}/env.db", "agent_audit_entry")) == 30


def test_differences_exit_1(small_legacy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = f"sqlite:///{tmp_path}/osis.db"
    assert main(["migrate", str(small_legacy), "--store", store, "--report", str(tmp_path / "r.json")]) == 0
    engine = open_store(store)
    try:
        engine.delete("agent_usage_entry", sid_for_id(2))
    finally:
        engine.close()
    capsys.readouterr()
    assert main(["migrate", str(small_legacy), "--store", store, "--verify-only"]) == 1
    out = capsys.readouterr().out
    assert "usage_log id 2 -> sid 000002 is missing" in out and out.rstrip().endswith("(see above)")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}/absent.db"], "{tmp}/absent.db: no such file"),
        (["{tmp}"], "{tmp} is not a file"),
        (["{tmp}/notes.txt"], "{tmp}/notes.txt is not a SQLite database"),
        (["{legacy}", "--store", "sqlite:///{legacy}"], "is the legacy file itself"),
        (["{legacy}", "--store", "sqlite:///{legacy}", "--dry-run"], "is the legacy file itself"),
        (["{legacy}", "--store", "mysql://db/osis"], "unsupported store URL scheme"),
        (["{legacy}", "--store", "mysql://db/osis", "--dry-run"], "unsupported store URL scheme"),
        (["{legacy}", "--store", "sqlite:///{tmp}/no/such/dir/osis.db"], "directory"),
        (["{legacy}", "--store", "postgresql://postgres@127.0.0.1:1/test?connect_timeout=2"], "127.0.0.1"),
        (
            ["{legacy}", "--store", "sqlite:///{tmp}/osis.db", "--report", "{tmp}/no/such/dir/r.json"],
            "cannot write the report {tmp}/no/such/dir/r.json: No such file or directory",
        ),
        (
            ["{legacy}", "--store", "sqlite:///{tmp}/osis.db", "--verify-only", "--report", "{tmp}/missing/r.json"],
            "cannot write the report {tmp}/missing/r.json: No such file or directory",
        ),
    ],
)
def test_usage_and_input_errors_exit_2_with_one_line(
    args: list[str], message: str, small_legacy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("not a database\n")
    argv = [a.format(tmp=tmp_path, legacy=small_legacy) for a in args]
    assert main(["migrate", *argv]) == 2
    assert message.format(tmp=tmp_path) in _error_line(capsys)
    assert not (tmp_path / "osis.db").exists() or "--verify-only" in args


def test_conflicting_modes_are_a_usage_error(small_legacy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["migrate", str(small_legacy), "--dry-run", "--verify-only"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_interrupted_run_says_how_to_finish(
    small_legacy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "migrate", interrupted)
    report = tmp_path / "r.json"
    assert (
        main(["migrate", str(small_legacy), "--store", f"sqlite:///{tmp_path}/osis.db", "--report", str(report)]) == 130
    )
    assert capsys.readouterr().err == "osis migrate: interrupted; run the same command again to finish\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("r.")] == []  # no partial report left


class _Racing:
    """An engine whose first `times` insert_many calls meet another writer: it stores the
    batch's first document (as another run of the migration would) and fails."""

    def __init__(self, engine: Engine, times: int) -> None:
        self._engine = engine
        self.times = times

    def insert_many(self, coll: str, docs: list[dict[str, Any]]) -> list[str]:
        if self.times > 0 and docs:
            self.times -= 1
            if self._engine.get(coll, docs[0]["sid"]) is None:
                self._engine.insert(coll, docs[0])
            raise DuplicateSid(f"{coll}: sid {docs[0]['sid']} already exists")
        return self._engine.insert_many(coll, docs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


@pytest.mark.parametrize(("races", "exit_code"), [(2, 0), (100, 2)])
def test_a_concurrent_writer_is_retried_then_refused(
    races: int,
    exit_code: int,
    small_legacy: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = f"sqlite:///{tmp_path}/osis.db"
    monkeypatch.setattr(runner, "open_store", lambda url: _Racing(open_store(url), races))
    assert main(["migrate", str(small_legacy), "--store", store, "--report", str(tmp_path / "r.json")]) == exit_code
    if exit_code == 0:
        assert len(documents(store, "agent_audit_entry")) == 30
    else:
        # after the progress line of the table it stopped in
        assert "another process keeps writing the sids this migration needs" in _error_line(capsys, alone=False)


def test_legacy_file_is_never_changed_by_any_mode(
    small_legacy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = file_digest(small_legacy)
    store = f"sqlite:///{tmp_path}/osis.db"
    for extra in (["--dry-run"], [], ["--verify-only"], []):
        main(["migrate", str(small_legacy), "--store", store, "--report", str(tmp_path / "r.json"), *extra])
        assert file_digest(small_legacy) == before


def test_default_quarantine_file_is_in_the_current_directory(
    small_legacy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with sqlite3.connect(small_legacy) as conn:
        conn.execute("INSERT INTO usage_log (model, created_at) VALUES ('m', 'never')")
    conn.close()
    assert main(["migrate", str(small_legacy), "--dry-run"]) == 0
    lines = (tmp_path / "hero_agent.quarantine.jsonl").read_text().splitlines()
    assert len(lines) == 1 and '"reason": "created_at is NULL, missing or not a timestamp"' in lines[0]
    assert f"quarantined (rows in {tmp_path}/hero_agent.quarantine.jsonl):" in capsys.readouterr().out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_redraws_one_line() -> None:
    stream = _Terminal()
    with Progress("migrate audit_log", 3000, stream) as bar:
        for _ in range(3):
            bar.advance(1000)
    text = stream.getvalue()
    assert text.startswith("\rmigrate audit_log [") and text.endswith("\n") and text.count("\n") == 1
    assert "3,000/3,000 100%" in text.rsplit("\r", 1)[-1]


def test_progress_elsewhere_is_plain_lines() -> None:
    stream = io.StringIO()
    with pytest.raises(RuntimeError):
        with Progress("verify messages", 10, stream) as bar:
            bar.advance(4)
            raise RuntimeError("store went away")
    (line,) = stream.getvalue().splitlines()
    assert line.startswith("verify messages [##########") and "4/10  40%" in line
    assert line.endswith("(interrupted)") and "\r" not in line


def test_quirks_helper_is_complete(tmp_path: Path) -> None:
    """The fixture generator writes what it says (guards the other tests' premises)."""
    quirks: list[Quirk] = current_file(tmp_path / "q.db")
    with sqlite3.connect(tmp_path / "q.db") as conn:
        conn.text_factory = bytes
        (bad,) = conn.execute("SELECT user_sid FROM conversations WHERE id = 'conv-bad-user'").fetchone()
        (huge,) = conn.execute("SELECT length(context) FROM conversations WHERE id = 'conv-null-title'").fetchone()
    conn.close()
    assert bad == b"u\xff" and huge > 1_000_000
    assert len({(q.table, q.what) for q in quirks}) == len(quirks)


def test_passwords_stay_out_of_reports() -> None:
    assert runner._redact("postgresql://osis:s3cret@db:5432/osis?schema=a") == "postgresql://osis@db:5432/osis?schema=a"
    assert runner._redact("sqlite:///var/osis.db") == "sqlite:///var/osis.db"


def test_an_unwritable_quarantine_file_exits_2(
    small_legacy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(runner, "quarantine_path", lambda legacy, report: tmp_path / "gone" / "q.jsonl")
    assert main(["migrate", str(small_legacy), "--store", f"sqlite:///{tmp_path}/osis.db"]) == 2
    assert f"cannot write the quarantine file {tmp_path}/gone/q.jsonl: No such file or directory" in _error_line(capsys)
    assert not (tmp_path / "osis.db").exists()  # failed before the store was touched
