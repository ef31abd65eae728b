"""How a list of changes reads: for people (diagnostics style) and as JSON for tools.

The store prints the same text when it refuses a schema at start-up, so an operator sees
exactly what `oschema-gen diff` would have shown in review.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from .compare import CLASS_ORDER, Change


def counts(changes: Sequence[Change]) -> dict[str, int]:
    return {cls: sum(1 for c in changes if c.change_class == cls) for cls in CLASS_ORDER}


def summary(changes: Sequence[Change], old: str, new: str) -> str:
    if not changes:
        return f"no changes from {old} to {new}"
    parts = ", ".join(f"{n} {cls}" for cls, n in counts(changes).items())
    return f"{parts} change(s) from {old} to {new}"


def render_change(change: Change) -> str:
    """`path:line:col: class[CODE]: message`, at the new position (the old one for removals), then the other."""
    where = change.new or change.old
    lines = [f"{where}: {change.change_class}[{change.code}]: {change.message}" if where
             else f"{change.change_class}[{change.code}]: {change.message}"]
    if change.new is not None and change.old is not None:
        lines.append(f"  old: {change.old}")
    if change.note:
        lines.append(f"  note: {change.note}")
    return "\n".join(lines)


def render_text(changes: Sequence[Change], old: str, new: str) -> str:
    return "\n".join([*(render_change(c) for c in changes), summary(changes, old, new)])


def render_json(changes: Sequence[Change], old: str, new: str) -> str:
    doc = {
        "old": old,
        "new": new,
        "breaking": any(c.breaking for c in changes),
        "counts": counts(changes),
        "changes": [
            {
                "code": c.code,
                "class": c.change_class,
                "title": c.title,
                "subject": c.subject,
                "message": c.message,
                "old": str(c.old) if c.old else None,
                "new": str(c.new) if c.new else None,
                "stored": c.stored,
                "note": c.note or None,
            }
            for c in changes
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)
