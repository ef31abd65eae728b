"""Schema source files and positions in them.

Everything the compiler reports points at a `Location`, so a user can jump to the
offending line. Reading a file never raises: undecodable or oversized input becomes a
diagnostic, because a schema compiler that prints tracebacks for junk input is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# A schema larger than this is almost certainly not a schema (a log file, a binary
# dropped in the wrong folder); refusing it keeps memory and time bounded.
MAX_SOURCE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, order=True)
class Location:
    """A 1-based line and column in a source file, as editors count them."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass
class SourceFile:
    """The text of one `.oschema` file and the name under which it is reported."""

    path: str
    text: str
    _lines: list[str] = field(default_factory=list, repr=False)

    def line_text(self, line: int) -> str:
        if not self._lines:
            # Only \n ends a line, as in Lark's positions: splitlines() would also split on
            # form feeds and U+2028 and put code frames on the wrong line.
            self._lines = self.text.split("\n") or [""]
        if 1 <= line <= len(self._lines):
            return self._lines[line - 1]
        return ""

    def at(self, line: int, column: int) -> Location:
        return Location(self.path, line, column)


def display_path(path: Path) -> str:
    """The path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
