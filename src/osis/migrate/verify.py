"""Verification: every legacy row against the object the store holds for it.

It reads the legacy file again and maps each row afresh (the mapping is deterministic,
so this is what the migration wrote), fetches the objects by sid a batch at a time and
compares canonical JSON.  Per table it counts verified objects and differences (an
object missing, or with different content; the fields are named) and computes the
expected and actual content checksums (:mod:`osis.migrate.compare`).  Objects of the
store that no legacy row maps to are not its business.
"""

from __future__ import annotations

import time
from typing import TextIO

from osis.store import Engine

from .compare import SidOrderDigest, canonical, differing_fields
from .legacy import LegacyFile
from .progress import Progress
from .quarantine import json_value
from .report import Difference, Report
from .tables import RULES, ConversationRules, Context, Mapped, Quarantined, mapped_batches


def verify(
    legacy: LegacyFile,
    engine: Engine,
    context: Context,
    report: Report,
    *,
    count_rows: bool,
    stream: TextIO | None = None,
) -> None:
    """Fill in verified, differences and checksums; with ``count_rows`` (verify-only,
    when no migration pass ran) also the row, normalised and quarantined counts."""
    for rules_type in RULES:
        rules = rules_type(context)
        table = report.tables[rules.legacy]
        reader = legacy.reader(rules.legacy, rules.columns)
        if reader is None:
            table.present = False
            continue
        if count_rows:
            table.missing_columns, table.ignored_columns = reader.missing, reader.extra
        expected = SidOrderDigest(in_order=rules_type is not ConversationRules)
        actual = SidOrderDigest(in_order=rules_type is not ConversationRules)
        verified = 0
        started = time.monotonic()
        with Progress(f"verify {rules.legacy}", reader.shape.rows, stream) as bar:
            for rows in mapped_batches(legacy, reader, rules):
                mapped: list[tuple[object, Mapped]] = []
                for row, outcome in rows:
                    if isinstance(outcome, Quarantined):
                        if count_rows:
                            table.add_quarantined(outcome.reason)
                        continue
                    if count_rows:
                        table.add_mapped(outcome.notes)
                    mapped.append((row[0], outcome))
                if count_rows:
                    table.rows += len(rows)
                    table.migrated += len(mapped)
                found = engine.get_many(rules.collection, [m.doc["sid"] for _id, m in mapped]) if mapped else []
                for (legacy_id, m), obj in zip(mapped, found):
                    line = canonical(m.doc)
                    expected.add(m.key, line)
                    if obj is None:
                        problem = Difference(rules.legacy, json_value(legacy_id), m.doc["sid"], "missing")
                    else:
                        stored = canonical(obj)
                        actual.add(m.key, stored)
                        if stored == line:
                            verified += 1
                            continue
                        fields = differing_fields(m.doc, obj)
                        problem = Difference(rules.legacy, json_value(legacy_id), m.doc["sid"], "changed", fields)
                    table.differences += 1
                    report.note_difference(problem)
                bar.advance(len(rows))
        table.verify_seconds = time.monotonic() - started
        table.verified = verified
        table.expected_checksum = expected.hexdigest()
        table.actual_checksum = actual.hexdigest()


__all__ = ["verify"]
