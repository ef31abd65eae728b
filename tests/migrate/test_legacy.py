"""Opening legacy files: never changing them, whatever state hero_agent left them in."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from osis.migrate import legacy as legacy_module
from osis.migrate.legacy import LegacyError, LegacyFile
from osis.migrate.tables import AuditRules
from tests.migrate.conftest import file_digest
from tests.migrate.legacy_files import current_file


def _audit_ids(legacy: LegacyFile) -> list[object]:
    reader = legacy.reader("audit_log", AuditRules.columns)
    assert reader is not None
    return [row[0] for batch in legacy.batches(reader, 100) for row in batch]


def test_a_clean_file_is_read_in_place_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "hero.db"
    current_file(path, audit=50, quirks=False)
    before = file_digest(path)
    with LegacyFile(path) as legacy:
        assert not legacy.copied
        assert set(legacy.tables) == {"audit_log", "usage_log", "memories", "conversations", "messages"}
        assert _audit_ids(legacy) == list(range(1, 51))
        assert file_digest(path) == before  # not even -wal/-shm/-journal appear while open
        legacy.check_unchanged()
    assert file_digest(path) == before


def test_a_file_in_wal_mode_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "hero.db"
    current_file(path, audit=20, quirks=False)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    before = file_digest(path)
    with LegacyFile(path) as legacy:
        assert len(_audit_ids(legacy)) == 20
    assert file_digest(path) == before


def test_a_crashed_writer_s_wal_is_read_from_a_copy(tmp_path: Path) -> None:
    """hero_agent killed with committed rows still in its -wal: they are migrated, and
    neither the file nor the -wal changes (opening it in place would checkpoint it)."""
    path = tmp_path / "hero.db"
    current_file(path, audit=10, quirks=False)
    script = (
        "import os, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('PRAGMA journal_mode = WAL'); conn.execute('PRAGMA wal_autocheckpoint = 0')\n"
        "conn.execute(\"INSERT INTO audit_log (tool_name, created_at) VALUES ('late', '2024-01-01 00:00:00')\")\n"
        "os._exit(0)\n"  # no close, no checkpoint: the row lives only in the -wal
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True)
    assert Path(f"{path}-wal").stat().st_size > 0
    before = file_digest(path), Path(f"{path}-wal").read_bytes()
    with LegacyFile(path) as legacy:
        assert legacy.copied
        assert _audit_ids(legacy) == list(range(1, 12))
        legacy.check_unchanged()
    assert (file_digest(path), Path(f"{path}-wal").read_bytes()) == before
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("osis-migrate-*/hero.db"))  # the copy is gone


def test_a_file_changing_while_copied_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "hero.db"
    current_file(path, audit=5, quirks=False)
    Path(f"{path}-journal").write_bytes(b"\0" * 512)  # any non-empty side file: copied along
    real_copy = legacy_module.shutil.copyfile

    def copy_then_write(src: str, dst: str) -> str:
        real_copy(src, dst)
        with open(path, "ab") as handle:  # hero_agent writing meanwhile
            handle.write(b"\0" * 1024)
        return dst

    monkeypatch.setattr(legacy_module.shutil, "copyfile", copy_then_write)
    with pytest.raises(LegacyError, match="changed while it was being copied: stop hero_agent"):
        LegacyFile(path)


def test_a_file_changing_during_the_migration_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "hero.db"
    current_file(path, audit=5, quirks=False)
    with LegacyFile(path) as legacy:
        with sqlite3.connect(path) as conn:
            conn.execute("INSERT INTO audit_log (tool_name) VALUES ('new')")
        conn.close()
        with pytest.raises(LegacyError, match=r"changed during the migration \(is hero_agent still running\?\)"):
            legacy.check_unchanged()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.mkdir(), "is not a file"),
        (lambda p: p.write_bytes(b""), "is not a SQLite database"),
        (lambda p: p.write_text("id,tool\n1,web_search\n"), "is not a SQLite database"),
        (lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200), "SQLite database"),
        (
            lambda p: sqlite3.connect(p).execute("CREATE TABLE notes(x)").connection.commit(),
            "holds none of the hero_agent tables",
        ),
    ],
)
def test_unusable_files_are_refused_in_one_line(tmp_path: Path, make: object, message: str) -> None:
    path = tmp_path / "input.db"
    make(path)  # type: ignore[operator]
    with pytest.raises(LegacyError, match=message) as caught:
        LegacyFile(path)
    assert "\n" not in str(caught.value)


def test_an_unreadable_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "hero.db"
    current_file(path, audit=1, quirks=False)

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied", str(self))  # as chmod 0 would, except for root

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(LegacyError, match="cannot read .*hero.db: Permission denied"):
        LegacyFile(path)


def test_tables_without_an_id_column_are_read_by_rowid(tmp_path: Path) -> None:
    path = tmp_path / "hero.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE AUDIT_LOG(Tool_Name TEXT, created_at TEXT)")  # names in any case
        conn.executemany("INSERT INTO audit_log VALUES (?, '2024-01-01 00:00:00')", [("a",), ("b",)])
        conn.execute("CREATE TABLE usage_log(model TEXT PRIMARY KEY, created_at TEXT) WITHOUT ROWID")
    conn.close()
    with pytest.raises(LegacyError, match="table usage_log has neither an id column nor a rowid"):
        LegacyFile(path)
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE usage_log")
    conn.close()
    with LegacyFile(path) as legacy:
        shape = legacy.tables["audit_log"]
        assert (shape.name, shape.id_column, shape.columns) == ("AUDIT_LOG", "rowid", ("tool_name", "created_at"))
        reader = legacy.reader("audit_log", AuditRules.columns)
        assert reader is not None and reader.missing == (
            "arguments",
            "result_preview",
            "success",
            "duration_ms",
            "user_sid",
        )
        (rows,) = list(legacy.batches(reader, 10))
        assert [reader.raw(r) for r in rows] == [
            {"rowid": 1, "tool_name": b"a", "created_at": b"2024-01-01 00:00:00"},
            {"rowid": 2, "tool_name": b"b", "created_at": b"2024-01-01 00:00:00"},
        ]


def test_a_copy_that_does_not_fit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "hero.db"
    current_file(path, audit=5, quirks=False)
    Path(f"{path}-wal").write_bytes(b"\0" * 512)

    def full(src: str, dst: str) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(legacy_module.shutil, "copyfile", full)
    with pytest.raises(LegacyError, match="cannot copy .*hero.db to read it \\(No space left on device\\); set TMPDIR"):
        LegacyFile(path)
