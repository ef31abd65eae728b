"""What a migration did, per table: the human summary on stdout and the JSON report.

Per table: legacy rows read; *migrated* (their object is in OSIS: *written* by this run
or *already present* with identical content); *normalised* (migrated with at least one
documented change, counted per rule); *quarantined* (not migrated, counted per reason);
*conflicts* (the sid already held a different object, which was left alone); and from
verification, *verified* objects, *differences* and the two content checksums.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

#: Differences and conflicts listed in full (all are counted); the rest are summarised.
LISTED: Final = 1000
_SHOWN: Final = 20  # of those, in the human summary


@dataclass(frozen=True)
class Difference:
    """One object that is not what its legacy row says it should be."""

    table: str
    legacy_id: Any
    sid: str
    problem: str  # "missing", "changed" or "conflict"
    fields: tuple[str, ...] = ()  # the fields that differ ("changed", "conflict")

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "legacy_id": self.legacy_id,
            "sid": self.sid,
            "problem": self.problem,
            "fields": list(self.fields),
        }

    def __str__(self) -> str:
        what = {"missing": "is missing", "changed": "differs", "conflict": "was already taken"}[self.problem]
        fields = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{self.table} id {self.legacy_id!r} -> sid {self.sid} {what}{fields}"


@dataclass
class TableReport:
    table: str
    collection: str
    present: bool = True  # False: the file lacks the table (nothing to do)
    missing_columns: tuple[str, ...] = ()  # read as NULL
    ignored_columns: tuple[str, ...] = ()  # not part of the OSIS type; kept in the legacy file
    rows: int = 0
    migrated: int = 0
    written: int = 0
    already_present: int = 0
    normalised: int = 0
    quarantined: int = 0
    conflicts: int = 0
    verified: int | None = None  # None: not verified (dry run)
    differences: int = 0
    expected_checksum: str | None = None
    actual_checksum: str | None = None
    migrate_seconds: float = 0.0
    verify_seconds: float = 0.0
    normalisations: Counter[str] = field(default_factory=Counter)
    quarantine_reasons: Counter[str] = field(default_factory=Counter)

    def add_quarantined(self, reason: str) -> None:
        self.quarantined += 1
        self.quarantine_reasons[reason] += 1

    def add_mapped(self, notes: list[str]) -> None:
        """Count a row that maps to an object, and its normalisations if any."""
        if notes:
            self.normalised += 1
            self.normalisations.update(notes)

    def to_json(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "present": self.present,
            "missing_columns": list(self.missing_columns),
            "ignored_columns": list(self.ignored_columns),
            "rows": self.rows,
            "migrated": self.migrated,
            "written": self.written,
            "already_present": self.already_present,
            "normalised": self.normalised,
            "quarantined": self.quarantined,
            "conflicts": self.conflicts,
            "verified": self.verified,
            "differences": self.differences,
            "expected_checksum": self.expected_checksum,
            "actual_checksum": self.actual_checksum,
            "migrate_seconds": round(self.migrate_seconds, 3),
            "verify_seconds": round(self.verify_seconds, 3),
            "normalisations": dict(sorted(self.normalisations.items())),
            "quarantine_reasons": dict(sorted(self.quarantine_reasons.items())),
        }


@dataclass
class Report:
    legacy: str
    store: str | None  # None in a dry run, which never connects
    mode: str  # "migrate", "dry-run" or "verify-only"
    tables: dict[str, TableReport]
    quarantine_file: str | None = None
    differences: list[Difference] = field(default_factory=list)  # the first LISTED
    conflicts: list[Difference] = field(default_factory=list)  # the first LISTED
    seconds: float = 0.0
    # Planner statistics refreshed at the end of a migration: the collections analysed,
    # or why that failed (the migration itself still counts).
    analyzed: list[str] = field(default_factory=list)
    analyze_error: str | None = None
    analyze_seconds: float = 0.0
    # False when the store's role may not analyse (osis serve will not either).
    analyze_later: bool = True

    @property
    def ok(self) -> bool:
        """No differences and no conflicts (quarantined rows are expected, and reported)."""
        return all(t.differences == 0 and t.conflicts == 0 for t in self.tables.values())

    def note_difference(self, diff: Difference) -> None:
        if len(self.differences) < LISTED:
            self.differences.append(diff)

    def note_conflict(self, diff: Difference) -> None:
        if len(self.conflicts) < LISTED:
            self.conflicts.append(diff)

    def to_json(self) -> dict[str, Any]:
        return {
            "legacy": self.legacy,
            "store": self.store,
            "mode": self.mode,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "quarantine_file": self.quarantine_file,
            "tables": {name: t.to_json() for name, t in self.tables.items()},
            "differences": [d.to_json() for d in self.differences],
            "conflicts": [d.to_json() for d in self.conflicts],
            "planner_statistics": {
                "analyzed": list(self.analyzed),
                "error": self.analyze_error,
                "seconds": round(self.analyze_seconds, 3),
            },
        }

    def summary(self) -> str:
        """A few lines for the operator: the table of counts, then what needs reading."""
        verifying = self.mode != "dry-run"
        expected = {"migrate": "migrated", "dry-run": "to migrate", "verify-only": "expected"}[self.mode]
        head = ["table", "rows", expected, "normalised", "quarantined"]
        if self.mode == "migrate":
            head[3:3] = ["new", "present"]
            head.append("conflicts")
        if verifying:
            head += ["verified", "differences"]
        lines = [head]
        for t in self.tables.values():
            if not t.present:
                lines.append([t.table, "absent"] + [""] * (len(head) - 2))
                continue
            row = [t.table, t.rows, t.migrated, t.normalised, t.quarantined]
            if self.mode == "migrate":
                row[3:3] = [t.written, t.already_present]
                row.append(t.conflicts)
            if verifying:
                row += [t.verified if t.verified is not None else "-", t.differences]
            lines.append([f"{v:,}" if isinstance(v, int) else str(v) for v in row])
        widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
        out = [f"{self.mode}: {self.legacy} -> {self.store or '(no store: dry run)'}"]
        for line in lines:
            cells = [str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(line, widths))]
            out.append("  " + "  ".join(cells).rstrip())
        for t in self.tables.values():
            if t.missing_columns:
                out.append(f"{t.table}: columns this file lacks (read as NULL): {', '.join(t.missing_columns)}")
            if t.ignored_columns:
                out.append(f"{t.table}: columns OSIS has no field for (not migrated): {', '.join(t.ignored_columns)}")
        for title, attr in (("normalised", "normalisations"), ("quarantined", "quarantine_reasons")):
            counted = [(t.table, reason, n) for t in self.tables.values() for reason, n in getattr(t, attr).items()]
            if counted:
                where = f" (rows in {self.quarantine_file})" if attr == "quarantine_reasons" else ""
                out.append(f"{title}{where}:")
                out += [f"  {table}: {reason}: {n:,}" for table, reason, n in sorted(counted)]
        for title, listed, total in (
            ("conflicts (left untouched)", self.conflicts, sum(t.conflicts for t in self.tables.values())),
            ("differences", self.differences, sum(t.differences for t in self.tables.values())),
        ):
            if total:
                out.append(f"{title}: {total:,}")
                out += [f"  {d}" for d in listed[:_SHOWN]]
                if total > _SHOWN:
                    out.append(f"  ... {total - _SHOWN:,} more (the JSON report lists up to {LISTED:,})")
        if self.analyzed:
            out.append(
                f"planner statistics refreshed for {len(self.analyzed)} collections ({self.analyze_seconds:.1f} s)"
            )
        if self.analyze_error is not None:
            later = "; `osis serve` refreshes them in the background" if self.analyze_later else ""
            out.append(f"planner statistics not refreshed ({self.analyze_error}){later}")
        if self.mode == "dry-run":
            out.append("dry run: the store was not touched")
        elif self.ok:
            out.append(f"OK: every migrated row verified ({self.seconds:.1f} s)")
        else:
            out.append("FAILED: the store does not match the legacy file (see above)")
        return "\n".join(out)


__all__ = ["LISTED", "Difference", "Report", "TableReport"]
