"""The migration pass: legacy rows to OSIS objects, in batches, idempotently, verified.

A batch of mapped rows goes in with one `insert_many`, one transaction.  A sid the store
lacks is written; a sid holding an identical object is left alone (an earlier run, or
an interrupted one, wrote it); a sid holding anything else is a *conflict*: never
overwritten, reported.  A run killed at any moment has written whole batches, and the
next run finds them present and carries on, so any number of interrupted runs followed
by a complete one leave exactly what one uninterrupted run leaves.

Which sids are taken is learnt in one of two ways.  While the previous batch of the
table was entirely new (a first run, or past the point where an interrupted one
stopped), the batch is inserted straight away: `insert_many` refuses the whole batch
with `DuplicateSid` if any of its sids is taken, and only then is the batch looked up
(`get_many`) and split into new, present and conflicting objects.  Otherwise the lookup
comes first, which is what a rerun over migrated batches needs.

Every batch is verified as soon as it is written: the objects it wrote are read back
(`get_many`) and, with those the lookup found, compared with their rows
(:class:`osis.migrate.verify.TableCheck`).  That is the same comparison `--verify-only`
makes, without reading and mapping the legacy file a second time.
"""

from __future__ import annotations

import time
from typing import Any, Final, TextIO

from osis.store import DuplicateSid, Engine

from .compare import differing_fields
from .legacy import LegacyFile, Row
from .progress import Progress
from .quarantine import QuarantineFile, json_value
from .report import Difference, Report, TableReport
from .tables import RULES, Context, Mapped, Quarantined, Rules, mapped_batches
from .verify import TableCheck

#: Attempts at a batch whose sids another writer takes between our read and our write.
_ATTEMPTS: Final = 3


class MigrationError(Exception):
    """The migration cannot go on; the message is one line for the operator."""


def migrate(
    legacy: LegacyFile,
    engine: Engine | None,
    context: Context,
    report: Report,
    quarantine: QuarantineFile | None,
    stream: TextIO | None = None,
) -> None:
    """Migrate and verify every table into ``engine`` (None: a dry run, which only maps
    and counts)."""
    for rules_type in RULES:
        rules = rules_type(context)
        table = report.tables[rules.legacy]
        reader = legacy.reader(rules.legacy, rules.columns)
        if reader is None:
            table.present = False
            continue
        table.missing_columns, table.ignored_columns = reader.missing, reader.extra
        started = time.monotonic()
        writer = None if engine is None else _TableWriter(engine, rules, table, report)
        label = f"{'map' if engine is None else 'migrate'} {rules.legacy}"
        with Progress(label, reader.shape.rows, stream) as bar:
            # Mapping the next batch in a thread while the store writes this one was
            # measured slower: the store's statements hand the GIL back and forth.
            for rows in mapped_batches(legacy, reader, rules):
                pending: list[tuple[Row, Mapped]] = []
                for row, outcome in rows:
                    if isinstance(outcome, Quarantined):
                        table.add_quarantined(outcome.reason)
                        if quarantine is not None:
                            quarantine.add(rules.legacy, row[0], outcome.reason, outcome.detail, reader.raw(row))
                    else:
                        table.add_mapped(outcome.notes)
                        pending.append((row, outcome))
                table.rows += len(rows)
                if writer is None:
                    table.migrated += len(pending)
                elif pending:
                    writer.store(pending)
                bar.advance(len(rows))
        if writer is not None:
            writer.check.finish()
            table.verify_seconds = writer.verify_seconds
        table.migrate_seconds = time.monotonic() - started - table.verify_seconds


class _TableWriter:
    """Writes one table's batches, in order, and verifies each as it is written."""

    def __init__(self, engine: Engine, rules: Rules, table: TableReport, report: Report) -> None:
        self.engine = engine
        self.rules = rules
        self.table = table
        self.report = report
        self.check = TableCheck(rules, table, report)
        self.verify_seconds = 0.0  # reading back and comparing, part of each batch
        self._insert_first = True  # the previous batch was all new (or there was none)

    def store(self, pending: list[tuple[Row, Mapped]]) -> None:
        collection = self.rules.collection
        docs = [mapped.doc for _row, mapped in pending]
        found: list[dict[str, Any] | None] = [None] * len(docs)
        for attempt in range(_ATTEMPTS):
            if attempt == 0 and self._insert_first:
                new = docs
            else:
                found = self.engine.get_many(collection, [doc["sid"] for doc in docs])
                new = [doc for doc, obj in zip(docs, found) if obj is None]
            try:
                self.engine.insert_many(collection, new)
            except DuplicateSid:
                continue  # taken by an earlier run (look them up) or by another writer meanwhile
            break
        else:
            raise MigrationError(
                f"{collection}: another process keeps writing the sids this migration needs"
                f" (legacy {self.rules.legacy} ids {pending[0][0][0]!r}..{pending[-1][0][0]!r}); stop it and run again"
            )
        self._insert_first = len(new) == len(docs)
        started = time.monotonic()
        written = iter(self.engine.get_many(collection, [doc["sid"] for doc in new]) if new else ())
        conflicts = 0
        for (row, mapped), obj in zip(pending, found):
            if obj is None:
                self.check.check(row[0], mapped, next(written))  # as the store now holds it
            elif not self.check.check(row[0], mapped, obj):
                conflicts += 1  # found, not written: the sid held another object
                fields = differing_fields(mapped.doc, obj)
                conflict = Difference(self.rules.legacy, json_value(row[0]), mapped.doc["sid"], "conflict", fields)
                self.report.note_conflict(conflict)
        table = self.table
        table.written += len(new)
        table.already_present += len(docs) - len(new) - conflicts
        table.migrated += len(docs) - conflicts
        table.conflicts += conflicts
        self.verify_seconds += time.monotonic() - started

__all__ = ["MigrationError", "migrate"]
