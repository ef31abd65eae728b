"""The migration pass: legacy rows to OSIS objects, in batches, idempotently.

Each batch of mapped rows is looked up by sid first (one `get_many`).  A sid the store
lacks is written; a sid holding an identical object is left alone (an earlier run, or
an interrupted one, wrote it); a sid holding anything else is a *conflict*: never
overwritten, reported.  The new objects of a batch go in with one `insert_many`, one
transaction: a run killed at any moment has written whole batches, and the next run
finds them present and carries on, so any number of interrupted runs followed by a
complete one leave exactly what one uninterrupted run leaves.
"""

from __future__ import annotations

import time
from typing import Any, Final, TextIO

from osis.store import DuplicateSid, Engine

from .compare import canonical, differing_fields
from .legacy import LegacyFile, Row
from .progress import Progress
from .quarantine import QuarantineFile, json_value
from .report import Difference, Report, TableReport
from .tables import RULES, Context, Mapped, Quarantined, Rules, mapped_batches

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
    """Migrate every table into ``engine`` (None: a dry run, which only maps and counts)."""
    for rules_type in RULES:
        rules = rules_type(context)
        table = report.tables[rules.legacy]
        reader = legacy.reader(rules.legacy, rules.columns)
        if reader is None:
            table.present = False
            continue
        table.missing_columns, table.ignored_columns = reader.missing, reader.extra
        started = time.monotonic()
        label = f"{'map' if engine is None else 'migrate'} {rules.legacy}"
        with Progress(label, reader.shape.rows, stream) as bar:
            # Mapping the next batch in a thread while the store writes this one was
            # measured slower: the store's per-row statements hand the GIL back and forth.
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
                if engine is None:
                    table.migrated += len(pending)
                else:
                    _store(engine, rules, pending, table, report)
                bar.advance(len(rows))
        table.migrate_seconds = time.monotonic() - started


def _store(engine: Engine, rules: Rules, pending: list[tuple[Row, Mapped]], table: TableReport, report: Report) -> None:
    if not pending:
        return
    sids = [mapped.doc["sid"] for _row, mapped in pending]
    for _attempt in range(_ATTEMPTS):
        new: list[dict[str, Any]] = []
        present = 0
        conflicts: list[Difference] = []
        for (row, mapped), found in zip(pending, engine.get_many(rules.collection, sids)):
            if found is None:
                new.append(mapped.doc)
            elif canonical(found) == canonical(mapped.doc):
                present += 1
            else:
                fields = differing_fields(mapped.doc, found)
                conflicts.append(Difference(rules.legacy, json_value(row[0]), mapped.doc["sid"], "conflict", fields))
        try:
            engine.insert_many(rules.collection, new)
        except DuplicateSid:
            continue  # another writer took one of these sids meanwhile: look again
        break
    else:
        raise MigrationError(
            f"{rules.collection}: another process keeps writing the sids this migration needs"
            f" (legacy {rules.legacy} ids {pending[0][0][0]!r}..{pending[-1][0][0]!r}); stop it and run again"
        )
    table.written += len(new)
    table.already_present += present
    table.migrated += len(new) + present
    table.conflicts += len(conflicts)
    for conflict in conflicts:
        report.note_conflict(conflict)


__all__ = ["MigrationError", "migrate"]
