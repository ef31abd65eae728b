"""Diagnostics: the compiler's only way to talk about a schema's problems.

Every message reads `path:line:col: error[OS###]: message`, followed by the source line
and a caret, like the compilers users already know (rustc, TypeSpec, sqlc). Codes are
stable: they are documented in docs/diagnostics.md and tested one golden file each, so
tools and people can rely on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .source import Location, SourceFile


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Code:
    code: str
    severity: Severity
    title: str


def _codes(*codes: Code) -> dict[str, Code]:
    return {c.code: c for c in codes}


E, W = Severity.ERROR, Severity.WARNING

#: Every diagnostic the compiler can emit. docs/diagnostics.md lists the same table, and
#: a test keeps the two in step.
CODES: dict[str, Code] = _codes(
    # Reading and syntax.
    Code("OS001", E, "syntax error"),
    Code("OS002", E, "unexpected end of file"),
    Code("OS003", E, "file is not UTF-8 text"),
    Code("OS004", E, "file too large"),
    Code("OS005", E, "nesting too deep"),
    Code("OS006", E, "schema directory missing or empty"),
    # Names and declarations.
    Code("OS101", E, "unknown type"),
    Code("OS102", E, "duplicate type"),
    Code("OS103", E, "duplicate field"),
    Code("OS104", E, "duplicate enum value"),
    Code("OS105", E, "duplicate method"),
    Code("OS106", E, "bad root object sid"),
    Code("OS107", E, "invalid name"),
    Code("OS108", E, "Python names collide"),
    Code("OS109", E, "unsupported annotation arguments"),
    Code("OS110", E, "method takes more than one input"),
    Code("OS111", E, "method name has dots"),
    Code("OS112", E, "method input or output is not a struct"),
    Code("OS113", E, "map key is not str"),
    Code("OS114", E, "field marked optional twice"),
    Code("OS115", E, "annotation does not fit the field type"),
    Code("OS116", E, "empty enum"),
    Code("OS117", E, "reserved type name"),
    Code("OS118", E, "duplicate annotation"),
    Code("OS119", E, "more than one owner field"),
    Code("OS120", E, "cycle of required fields"),
    Code("OS121", E, "unknown field in a compound index"),
    Code("OS122", E, "field cannot be a compound index key"),
    Code("OS123", E, "duplicate compound index"),
    # Warnings.
    Code("OS201", W, "unknown annotation"),
    Code("OS202", W, "[rootobject] on an enum"),
)


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    location: Location | None
    # How many characters the caret underlines; 1 when unknown.
    length: int = 1

    @property
    def severity(self) -> Severity:
        return CODES[self.code].severity

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def headline(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.severity.value}[{self.code}]: {self.message}"

    def render(self, sources: dict[str, SourceFile]) -> str:
        """The headline plus a code frame (`  12 | text` and a caret line) when the line is known."""
        out = [self.headline()]
        loc = self.location
        source = sources.get(loc.path) if loc else None
        if loc and source and loc.line > 0:
            text = source.line_text(loc.line)
            # Long lines (minified junk) would drown the message; show a window around the column.
            start = max(0, loc.column - 60) if len(text) > 120 else 0
            shown = text[start : start + 120].expandtabs(1) if start or len(text) > 120 else text
            gutter = str(loc.line)
            pad = " " * len(gutter)
            caret_col = loc.column - 1 - start
            out.append(f"{pad} |")
            out.append(f"{gutter} | {shown}")
            # Tabs stay tabs under the text, so the caret lines up whatever the tab width.
            indent = "".join("\t" if ch == "\t" else " " for ch in shown[: max(caret_col, 0)])
            out.append(f"{pad} | {indent}{'^' * max(self.length, 1)}")
        return "\n".join(out)


class DiagnosticBag:
    """Collects every diagnostic of a run so all problems are reported at once, not just the first."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def add(self, code: str, message: str, location: Location | None, length: int = 1) -> None:
        assert code in CODES, code
        self.items.append(Diagnostic(code, message, location, length))

    def extend(self, other: DiagnosticBag) -> None:
        self.items.extend(other.items)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        # Stable, position order: the output of a run never depends on check order.
        return sorted(
            self.items,
            key=lambda d: (d.location or Location("", 0, 0), d.code, d.message),
        )

    def render(self, sources: dict[str, SourceFile]) -> str:
        parts = [d.render(sources) for d in self.sorted()]
        errors = sum(1 for d in self.items if d.is_error)
        warnings = len(self.items) - errors
        if self.items:
            parts.append(f"{errors} error(s), {warnings} warning(s)")
        return "\n".join(parts)
