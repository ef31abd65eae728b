"""TableCheck's checksums: the actual one shares the expected digest until the first
difference, and must still equal a digest of exactly the objects found."""

from __future__ import annotations

from typing import Any

import pytest

from osis.migrate.compare import SidOrderDigest, canonical
from osis.migrate.report import Report, TableReport
from osis.migrate.tables import AuditRules, Context, ConversationRules, Mapped, Rules
from osis.migrate.verify import TableCheck


def _doc(key: int, value: int) -> dict[str, Any]:
    return {"sid": f"{key:06d}", "duration_ms": value}


@pytest.mark.parametrize("rules_type", [AuditRules, ConversationRules])  # in key order / held and sorted
@pytest.mark.parametrize("differing", [(), (3,), (0, 5), (7,)])
def test_actual_checksum_is_the_digest_of_the_objects_found(
    rules_type: type[Rules], differing: tuple[int, ...]
) -> None:
    rules = rules_type(Context())
    table = TableReport(rules.legacy, rules.collection)
    check = TableCheck(rules, table, Report("legacy.db", "sqlite:///x", "migrate", {rules.legacy: table}))
    in_order = rules_type is AuditRules
    expected, actual = SidOrderDigest(in_order=in_order), SidOrderDigest(in_order=in_order)
    keys = range(10) if in_order else [5, 2, 9, 0, 7, 1, 8, 3, 6, 4]
    for key in keys:
        row = _doc(key, key)
        stored: dict[str, Any] | None = row
        if key in differing:
            stored = None if key % 2 else _doc(key, -1)  # missing, or changed
        check.check(key, Mapped(key, row, []), stored)
        expected.add(key, canonical(row))
        if stored is not None:
            actual.add(key, canonical(stored))
    check.finish()
    assert (table.verified, table.differences) == (10 - len(differing), len(differing))
    assert table.expected_checksum == expected.hexdigest()
    assert table.actual_checksum == actual.hexdigest()
    assert (table.expected_checksum == table.actual_checksum) == (not differing)
