"""Schema evolution: which changes between two versions of a schema break what already exists.

`snapshot` takes what compatibility depends on from the IR, `compare` classifies every
difference, `report` renders them and `git` reads an older version from a repository.
`oschema-gen diff` and the store's start-up check (`osis.evolution`) share all of it.
"""

from __future__ import annotations

from .compare import COMPATIBLE, QUERY, RULES, WIRE, Change, ChangeClass, breaking, diff_snapshots
from .report import render_json, render_text, summary
from .snapshot import Snapshot, SnapshotError, empty_snapshot, package_path, snapshot_of

__all__ = [
    "COMPATIBLE",
    "QUERY",
    "RULES",
    "WIRE",
    "Change",
    "ChangeClass",
    "Snapshot",
    "SnapshotError",
    "breaking",
    "diff_snapshots",
    "empty_snapshot",
    "package_path",
    "render_json",
    "render_text",
    "snapshot_of",
    "summary",
]
