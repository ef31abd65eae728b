"""Reading a hero_agent SQLite file without changing it, whatever state it was left in.

Opening a SQLite file the ordinary way can change it, even for reading: a connection
to a file in WAL mode creates `-wal` and `-shm` files and checkpoints the WAL back into
the database when it closes, and one that finds a hot rollback journal rolls the file
back.  The migration must leave the operator's file exactly as it was, so:

* a file without a non-empty `-wal` or `-journal` next to it is opened with
  `mode=ro&immutable=1`: SQLite reads its pages and nothing else (no locks, no side
  files);
* a file with one (hero_agent crashed, or is still running) is copied together with it
  into a private temporary directory, and the copy is opened normally, so SQLite
  replays the WAL or rolls back the journal on the copy.  Ignoring them instead would
  miss committed rows or read half-written pages.

The file and its side files are stat-ed when opened and again at the end
(:meth:`LegacyFile.check_unchanged`): a file changed under the migration means
hero_agent is still writing to it, which the operator must hear about.

Tables are read in id order, in batches, with text as raw bytes: invalid UTF-8 must
reach the mapping rules as what it is, not as a decoding error that stops the run.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import quote

SQLITE_MAGIC: Final = b"SQLite format 3\x00"
SIDE_FILES: Final = ("-wal", "-journal")

#: The tables of hero_agent's layout that the migration reads (docs/legacy-schema.md).
KNOWN_TABLES: Final = ("audit_log", "usage_log", "memories", "conversations", "messages")

Row = tuple[object, ...]
_Stamp = tuple[int, int]  # size, mtime in ns


# The newest hero_agent layout (docs/legacy-schema.md); older files lack some of it.
LEGACY_SCHEMA = """
CREATE TABLE conversations(id TEXT PRIMARY KEY, title TEXT, context TEXT, user_sid TEXT, created_at TEXT,
                           updated_at TEXT);
CREATE TABLE messages(id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT, role TEXT, content TEXT,
                      timestamp TEXT, model TEXT, tool_name TEXT);
CREATE TABLE audit_log(id INTEGER PRIMARY KEY AUTOINCREMENT, tool_name TEXT NOT NULL, arguments TEXT,
                       result_preview TEXT, success INTEGER NOT NULL DEFAULT 1, duration_ms INTEGER,
                       user_sid TEXT, created_at TEXT NOT NULL DEFAULT (datetime('now')));
CREATE TABLE usage_log(id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, prompt_tokens INTEGER,
                       completion_tokens INTEGER, total_tokens INTEGER, user_sid TEXT,
                       created_at TEXT NOT NULL DEFAULT (datetime('now')));
CREATE TABLE memories(id INTEGER PRIMARY KEY AUTOINCREMENT, user_sid TEXT NOT NULL, category TEXT NOT NULL,
                      key TEXT NOT NULL, value TEXT NOT NULL, source TEXT, confidence REAL DEFAULT 1.0,
                      access_count INTEGER DEFAULT 0, created_at TEXT, updated_at TEXT, UNIQUE(user_sid, key));
"""


class LegacyError(Exception):
    """The legacy file cannot be read as asked; the message is one line for the operator."""


@dataclass(frozen=True)
class TableShape:
    """A legacy table as this file has it."""

    name: str
    columns: tuple[str, ...]  # declared columns, lower-cased, in file order
    id_column: str  # "id", or "rowid" in files whose table has no id column
    order: str  # ORDER BY clause: id order, duplicates (possible without a PK) by rowid
    rows: int


@dataclass(frozen=True)
class TableReader:
    """How a table is selected: the id, then the wanted columns (NULL where the file lacks
    one), then the columns the migration does not use, so a raw row can be rebuilt."""

    shape: TableShape
    wanted: tuple[str, ...]

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(c for c in self.wanted if c not in self.shape.columns)

    @property
    def extra(self) -> tuple[str, ...]:
        used = {*self.wanted, self.shape.id_column}
        return tuple(c for c in self.shape.columns if c not in used)

    def select(self) -> str:
        present = set(self.shape.columns)
        parts = [_quote(self.shape.id_column)]
        parts += [_quote(c) if c in present else "NULL" for c in self.wanted]
        parts += [_quote(c) for c in self.extra]
        return f"SELECT {', '.join(parts)} FROM {_quote(self.shape.name)} ORDER BY {self.shape.order}"

    def raw(self, row: Row) -> dict[str, object]:
        """The row as the file holds it: every column it has, by name."""
        out: dict[str, object] = {self.shape.id_column: row[0]}
        for i, name in enumerate(self.wanted, start=1):
            if name in self.shape.columns:
                out[name] = row[i]
        for i, name in enumerate(self.extra, start=1 + len(self.wanted)):
            out[name] = row[i]
        return out


class LegacyFile:
    """A hero_agent database opened for reading only.  Close it (or use ``with``)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._tmpdir: str | None = None
        self._conn: sqlite3.Connection | None = None
        _check_is_sqlite(self.path)
        self._stamps = _stamps(self.path)
        self.copied = any(suffix in self._stamps for suffix in SIDE_FILES)
        try:
            self._conn = self._connect()
            self.tables = self._discover()
        except BaseException:
            self.close()
            raise
        if not self.tables:
            self.close()
            raise LegacyError(f"{self.path} holds none of the hero_agent tables ({', '.join(KNOWN_TABLES)})")

    def __enter__(self) -> LegacyFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    @property
    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise LegacyError(f"{self.path} is closed")
        return self._conn

    def _connect(self) -> sqlite3.Connection:
        if self.copied:
            # The copy is ours: SQLite may replay its WAL or roll back its journal.
            try:
                self._tmpdir = tempfile.mkdtemp(prefix="osis-migrate-")
                target = Path(self._tmpdir) / self.path.name
                for suffix in ("", *SIDE_FILES):
                    if suffix == "" or suffix in self._stamps:
                        shutil.copyfile(f"{self.path}{suffix}", f"{target}{suffix}")
            except OSError as exc:
                raise LegacyError(
                    f"cannot copy {self.path} to read it ({exc.strerror or exc});"
                    " set TMPDIR to a directory with room for it"
                ) from exc
            if _stamps(self.path) != self._stamps:
                raise LegacyError(
                    f"{self.path} changed while it was being copied: stop hero_agent, then run the migration again"
                )
            uri = f"file:{quote(str(target.resolve()))}"
        else:
            uri = f"file:{quote(str(self.path.resolve()))}?mode=ro&immutable=1"
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only = 1")
        except sqlite3.Error as exc:
            raise LegacyError(f"cannot open {self.path} as a SQLite database: {exc}") from exc
        # Bytes, decoded by the mapping rules: invalid UTF-8 is data to migrate, not an error.
        conn.text_factory = bytes
        return conn

    def _discover(self) -> dict[str, TableShape]:
        try:
            names = [_text(n) for (n,) in self._live.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        except sqlite3.Error as exc:
            raise LegacyError(f"{self.path} is not a readable SQLite database: {exc}") from exc
        found = {name.lower(): name for name in names}
        shapes: dict[str, TableShape] = {}
        for table in KNOWN_TABLES:
            if table in found:
                shapes[table] = self._shape(table, found[table])
        return shapes

    def _shape(self, table: str, stored_name: str) -> TableShape:
        info = self._live.execute(f"PRAGMA table_info({_quote(stored_name)})").fetchall()
        columns = tuple(_text(col[1]).lower() for col in info)
        pk = [(_text(col[1]).lower(), _text(col[2]).upper()) for col in info if col[5]]
        has_rowid = self._has_rowid(stored_name)
        if "id" in columns:
            id_column = "id"
            # `id INTEGER PRIMARY KEY` is the rowid itself: unique, and its index is the table.
            rowid_alias = has_rowid and pk == [("id", "INTEGER")]
            order = "id" if rowid_alias or not has_rowid else "id, rowid"
        elif has_rowid:
            id_column, order = "rowid", "rowid"
        else:
            raise LegacyError(f"{self.path}: table {stored_name} has neither an id column nor a rowid")
        rows = int(self._live.execute(f"SELECT COUNT(*) FROM {_quote(stored_name)}").fetchone()[0])
        return TableShape(stored_name, columns, id_column, order, rows)

    def _has_rowid(self, table: str) -> bool:
        try:
            self._live.execute(f"SELECT rowid FROM {_quote(table)} LIMIT 0")
        except sqlite3.OperationalError:
            return False  # a WITHOUT ROWID table
        return True

    def reader(self, table: str, wanted: Sequence[str]) -> TableReader | None:
        """How to read ``table`` for the given columns; None when the file lacks the table."""
        shape = self.tables.get(table)
        return None if shape is None else TableReader(shape, tuple(wanted))

    def batches(self, reader: TableReader, size: int) -> Iterator[list[Row]]:
        """The table's rows in id order, ``size`` at a time."""
        try:
            cursor = self._live.execute(reader.select())
            while rows := cursor.fetchmany(size):
                yield rows
        except sqlite3.Error as exc:
            raise LegacyError(f"cannot read table {reader.shape.name} of {self.path}: {exc}") from exc

    def check_unchanged(self) -> None:
        """Raise LegacyError when the file or its side files changed since it was opened."""
        if _stamps(self.path) != self._stamps:
            raise LegacyError(
                f"{self.path} changed during the migration (is hero_agent still running?):"
                " stop it, then run the migration again"
            )


def _check_is_sqlite(path: Path) -> None:
    if not path.exists():
        raise LegacyError(f"{path}: no such file")
    if not path.is_file():
        raise LegacyError(f"{path} is not a file")
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise LegacyError(f"cannot read {path}: {exc.strerror}") from exc
    if header != SQLITE_MAGIC:
        raise LegacyError(f"{path} is not a SQLite database")


def _stamps(path: Path) -> dict[str, _Stamp]:
    """Size and mtime of the file ("") and of its non-empty side files, by suffix."""
    out: dict[str, _Stamp] = {}
    for suffix in ("", *SIDE_FILES):
        try:
            st = os.stat(f"{path}{suffix}")
        except FileNotFoundError:
            continue
        if suffix == "" or st.st_size > 0:
            out[suffix] = (st.st_size, st.st_mtime_ns)
    return out


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


__all__ = ["KNOWN_TABLES", "LegacyError", "LegacyFile", "Row", "TableReader", "TableShape"]
