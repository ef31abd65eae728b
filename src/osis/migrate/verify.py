"""Verification: every legacy row against the object the store holds for it.

:class:`TableCheck` compares one mapped row with the object read from the store for its
sid, as canonical JSON, and keeps the table's counts, differences (an object missing,
or with different content; the fields are named) and its expected and actual content
checksums (:mod:`osis.migrate.compare`).  The migration pass feeds it each batch as soon
as the batch is written and read back (:mod:`osis.migrate.write`); :func:`verify`, for
``--verify-only``, reads the legacy file and maps each row afresh (the mapping is
deterministic, so this is what a migration wrote) and fetches the objects by sid a
batch at a time.  Objects of the store that no legacy row maps to are not its business.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, TextIO

from osis.store import Engine

from .compare import SidOrderDigest, canonical, differing_fields
from .legacy import LegacyFile
from .progress import Progress
from .quarantine import json_value
from .report import Difference, Report, TableReport
from .tables import RULES, ConversationRules, Context, Mapped, Quarantined, Rules, mapped_batches


class TableCheck:
    """The verification of one table, fed row by row in row-key order (as tables are read)."""

    def __init__(self, rules: Rules, table: TableReport, report: Report) -> None:
        self._legacy = rules.legacy
        self._table = table
        self._report = report
        in_order = not isinstance(rules, ConversationRules)  # keyed by a hash, not by id
        self._expected = SidOrderDigest(in_order=in_order)
        # The checksum of the objects found.  Until the first difference every object's
        # line is its row's, so the expected digest stands for both (hashing each line
        # twice was 7 % of a migration's instructions); at the first difference the
        # actual digest becomes a copy of it and goes its own way.
        self._actual: SidOrderDigest | None = None
        self._verified = 0

    def check(self, legacy_id: object, mapped: Mapped, stored: Mapping[str, Any] | None) -> bool:
        """Compare the object ``stored`` under the row's sid (None: there is none) with the
        row; True when they are the same, else the difference is counted and noted."""
        line = canonical(mapped.doc)
        found = None if stored is None else canonical(stored)
        if found == line:
            self._expected.add(mapped.key, line)
            if self._actual is not None:
                self._actual.add(mapped.key, found)
            self._verified += 1
            return True
        if self._actual is None:
            self._actual = self._expected.copy()
        self._expected.add(mapped.key, line)
        if stored is None or found is None:
            problem = Difference(self._legacy, json_value(legacy_id), mapped.doc["sid"], "missing")
        else:
            self._actual.add(mapped.key, found)
            fields = differing_fields(mapped.doc, stored)
            problem = Difference(self._legacy, json_value(legacy_id), mapped.doc["sid"], "changed", fields)
        self._table.differences += 1
        self._report.note_difference(problem)
        return False

    def finish(self) -> None:
        """Put the counts and checksums into the table's report."""
        self._table.verified = self._verified
        self._table.expected_checksum = self._expected.hexdigest()
        self._table.actual_checksum = (self._expected if self._actual is None else self._actual).hexdigest()


def verify(
    legacy: LegacyFile,
    engine: Engine,
    context: Context,
    report: Report,
    *,
    stream: TextIO | None = None,
) -> None:
    """Verification alone (``--verify-only``): fills in the row, normalised and quarantined
    counts as the migration would, then verified, differences and checksums."""
    for rules_type in RULES:
        rules = rules_type(context)
        table = report.tables[rules.legacy]
        reader = legacy.reader(rules.legacy, rules.columns)
        if reader is None:
            table.present = False
            continue
        table.missing_columns, table.ignored_columns = reader.missing, reader.extra
        check = TableCheck(rules, table, report)
        started = time.monotonic()
        with Progress(f"verify {rules.legacy}", reader.shape.rows, stream) as bar:
            for rows in mapped_batches(legacy, reader, rules):
                mapped: list[tuple[object, Mapped]] = []
                for row, outcome in rows:
                    if isinstance(outcome, Quarantined):
                        table.add_quarantined(outcome.reason)
                        continue
                    table.add_mapped(outcome.notes)
                    mapped.append((row[0], outcome))
                table.rows += len(rows)
                table.migrated += len(mapped)
                found = engine.get_many(rules.collection, [m.doc["sid"] for _id, m in mapped]) if mapped else []
                for (legacy_id, m), obj in zip(mapped, found):
                    check.check(legacy_id, m, obj)
                bar.advance(len(rows))
        check.finish()
        table.verify_seconds = time.monotonic() - started


__all__ = ["TableCheck", "verify"]
