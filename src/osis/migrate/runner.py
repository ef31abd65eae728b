"""One run of `osis migrate`: open both sides, migrate and verify, write the report.

The order is what makes a run safe to repeat: the legacy file is checked and opened
before anything touches the store; the quarantine and report files are opened before
the first row moves (a bad path fails at once, not after an hour); the file is checked
again at the end, and only a run that completed publishes them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Literal, TextIO, TypeVar
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from osis.server import open_store
from osis.store import Engine, NotPermitted, StoreError
from osis.store.url import PostgresConfig, SqliteConfig, parse_url

from .legacy import LegacyError, LegacyFile
from .quarantine import QuarantineFile
from .report import Report, TableReport
from .tables import RULES, Context
from .verify import verify
from .write import migrate

Mode = Literal["migrate", "dry-run", "verify-only"]
QUARANTINE_SUFFIX = ".quarantine.jsonl"


def quarantine_path(legacy: Path, report: Path | None) -> Path:
    """Next to the report (`migration.json` -> `migration.quarantine.jsonl`), else in the
    current directory, named after the legacy file."""
    if report is not None:
        return report.with_name(report.stem + QUARANTINE_SUFFIX)
    return Path.cwd() / (legacy.stem + QUARANTINE_SUFFIX)


def run(
    legacy_path: str | os.PathLike[str],
    store_url: str,
    *,
    mode: Mode = "migrate",
    report_path: str | os.PathLike[str] | None = None,
    stream: TextIO | None = None,
) -> Report:
    """Run the migration; raises LegacyError, StoreError, MigrationError or OutputError."""
    started = time.monotonic()
    # Checked even for a dry run, which never connects: a typo should not wait for the real run.
    config = parse_url(store_url)
    with LegacyFile(legacy_path) as legacy:
        if isinstance(config, SqliteConfig) and not config.memory and _same_file(Path(config.path), legacy.path):
            raise LegacyError(f"the store {store_url} is the legacy file itself; give the store another file")
        report = Report(
            str(legacy.path),
            None if mode == "dry-run" else _redact(store_url),
            mode,
            {rules.legacy: TableReport(rules.legacy, rules.collection) for rules in RULES},
        )
        report_file = _open("the report", _PendingFile, Path(report_path)) if report_path is not None else None
        quarantine = None
        try:
            if mode != "verify-only":
                where = quarantine_path(legacy.path, report_file.path if report_file else None)
                quarantine = _open("the quarantine file", QuarantineFile, where)
                report.quarantine_file = str(quarantine.path)
            engine = None if mode == "dry-run" else open_store(_bulk_url(store_url, config))
            try:
                context = Context.read(legacy)
                if mode == "verify-only":
                    assert engine is not None
                    verify(legacy, engine, context, report, stream=stream)
                else:
                    migrate(legacy, engine, context, report, quarantine, stream)  # verifies each batch
                    if engine is not None:
                        _analyze(engine, report)
            finally:
                if engine is not None:
                    engine.close()
            legacy.check_unchanged()
            report.seconds = time.monotonic() - started
            if quarantine is not None:
                quarantine.commit()
            if report_file is not None:
                report_file.commit(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
        except BaseException:
            if quarantine is not None:
                quarantine.discard()
            if report_file is not None:
                report_file.discard()
            raise
    return report


def _analyze(engine: Engine, report: Report) -> None:
    """Refresh the planner's statistics of every collection, so the first queries on the
    migrated store (the operator's dashboard) are planned on its real size and values.

    A failure here is reported, not raised: every row is migrated and verified by now,
    and `osis serve` refreshes the statistics in its background thread anyway (unless
    the store's role may not analyse them: the report then says so).
    """
    started = time.monotonic()
    try:
        engine.analyze()
    except NotPermitted as exc:
        report.analyze_error = str(exc)
        report.analyze_later = False
    except StoreError as exc:
        report.analyze_error = str(exc)
    else:
        report.analyzed = sorted(engine.collections)
    report.analyze_seconds = time.monotonic() - started


class OutputError(Exception):
    """The report or quarantine file cannot be written; one line for the operator."""


_F = TypeVar("_F")


def _open(what: str, opener: Callable[[Path], _F], path: Path) -> _F:
    try:
        return opener(path)
    except OSError as exc:
        raise OutputError(f"cannot write {what} {path}: {exc.strerror or exc}") from exc


class _PendingFile:
    """A file written at the end under its name, opened at the start under a temporary one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._partial = path.with_name(path.name + ".partial")
        self._handle: IO[str] | None = self._partial.open("w", encoding="utf-8")

    def commit(self, text: str) -> None:
        assert self._handle is not None
        self._handle.write(text)
        self._handle.close()
        self._handle = None
        os.replace(self._partial, self.path)

    def discard(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
            self._partial.unlink(missing_ok=True)


def _bulk_url(url: str, config: SqliteConfig | PostgresConfig) -> str:
    """The store URL the migration opens: on SQLite, without the background search indexer
    (``indexer=off``) unless the URL sets it.

    Under a sustained stream of writes that indexer holds back until a million-row
    backlog is 100 000 rows long and then indexes in step with the writes: it doubled
    the CPU time of a migration and halved its rate.  Left off, every migrated object
    is still found by searches (the store checks unindexed rows one by one), and the
    first `osis serve` on the store indexes the backlog in the background.
    """
    if not isinstance(config, SqliteConfig):
        return url
    query = url.partition("?")[2]
    if any(name == "indexer" for name, _value in parse_qsl(query, keep_blank_values=True)):
        return url
    return f"{url}{'&' if query else '?'}indexer=off"


def _same_file(store: Path, legacy: Path) -> bool:
    try:
        return store.exists() and store.samefile(legacy)
    except OSError:
        return False


def _redact(url: str) -> str:
    """The URL without its password: reports get pasted into tickets."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", "@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


__all__ = ["Mode", "OutputError", "quarantine_path", "run"]
