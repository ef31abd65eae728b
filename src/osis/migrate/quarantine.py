"""The quarantine file: every legacy row the migration could not represent, as it was.

JSON Lines, one object per row: ``{"table", "legacy_id", "reason", "detail", "row"}``,
where ``row`` holds every column the file has for it.  Values are JSON as they are,
except what JSON cannot hold: bytes that are not UTF-8 (and BLOBs that are not) become
``{"base64": "..."}`` and non-finite REALs ``{"float": "inf"}``, so nothing is lost.

The file is written under a temporary name and renamed when the run completes, so the
name never holds a partial list; every run rewrites it whole (the mapping is a function
of the legacy file, so a rerun writes the same lines).
"""

from __future__ import annotations

import base64
import json
import math
import os
from pathlib import Path
from typing import IO, Any


def json_value(value: object) -> Any:
    """A legacy column value as JSON, losslessly (see the module docstring)."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(value)}
    return value


class QuarantineFile:
    """Appends quarantined rows; :meth:`commit` publishes the file, :meth:`discard` drops it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._partial = self.path.with_name(self.path.name + ".partial")
        self.rows = 0
        # Opened at once: a directory that is missing or read-only is reported before
        # the migration starts, not after it.
        self._handle: IO[str] | None = self._partial.open("w", encoding="utf-8")

    def add(self, table: str, legacy_id: object, reason: str, detail: str | None, row: dict[str, object]) -> None:
        if self._handle is None:
            raise ValueError(f"quarantine file {self.path} is already closed")
        record: dict[str, Any] = {"table": table, "legacy_id": json_value(legacy_id), "reason": reason}
        if detail is not None:
            record["detail"] = detail
        record["row"] = {name: json_value(value) for name, value in row.items()}
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.rows += 1

    def commit(self) -> None:
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None
            os.replace(self._partial, self.path)

    def discard(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
            self._partial.unlink(missing_ok=True)


__all__ = ["QuarantineFile", "json_value"]
