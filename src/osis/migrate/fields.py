"""Legacy column values as OSIS field values, or the reason they cannot be one.

SQLite stores whatever it is given: a TEXT column may hold invalid UTF-8, a number or a
NUL character, an INTEGER column text or a fraction, and older hero_agent versions lack
some columns altogether (read as NULL).  Each function here turns one such value into
what its OSIS field needs.  When that takes a *normalisation* (a documented change,
such as NULL becoming an empty string) it appends a note to ``notes``; when the value
cannot be represented at all it raises :class:`Reject`, and the row is quarantined.

Notes and reasons are fixed texts per field and rule, so a report can count them; the
row itself (in the legacy file, and in the quarantine file for rejected rows) keeps the
original value.  docs/legacy-schema.md lists every rule.
"""

from __future__ import annotations

import math
from typing import Final

U32_MAX: Final = 2**32 - 1
_TRUE: Final = frozenset({"1", "true", "t", "yes", "y"})
_FALSE: Final = frozenset({"0", "false", "f", "no", "n"})


class Reject(Exception):
    """The row cannot be represented in OSIS.

    ``reason`` is a fixed text (counted in the report), ``detail`` what is particular
    to this row, if anything (written to the quarantine file).
    """

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def free_text(value: object, field: str, notes: list[str]) -> str:
    """Prose (arguments, content, titles...): NULL becomes "", bad bytes become U+FFFD."""
    if type(value) is bytes:
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = value.decode("utf-8", "replace")
            notes.append(f"{field}: invalid UTF-8, bad bytes replaced by U+FFFD")
    elif value is None:
        notes.append(f"{field}: NULL or missing, set to an empty string")
        return ""
    else:
        text = _number_text(value, field, notes)
    if "\x00" in text:
        # The store refuses NUL in strings (PostgreSQL cannot hold it).
        notes.append(f"{field}: NUL characters replaced by U+FFFD")
        text = text.replace("\x00", "\ufffd")
    return text


def optional_text(value: object, field: str, notes: list[str]) -> str | None:
    """An optional string field: NULL stays absent, anything else as :func:`free_text`."""
    return None if value is None else free_text(value, field, notes)


def identifier(value: object, field: str, notes: list[str], *, null: str | None = None) -> str:
    """A name things are grouped or looked up by (tool, model, user, key...).

    Such a value is never altered: a replaced byte would silently merge or split groups,
    so invalid UTF-8 and NUL characters reject the row.  NULL rejects it too unless
    ``null`` gives the value to use instead.
    """
    if type(value) is bytes:
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            raise Reject(f"{field} is not valid UTF-8") from None
    elif value is None:
        if null is None:
            raise Reject(f"{field} is NULL or missing")
        notes.append(f"{field}: NULL or missing, set to {null!r}")
        return null
    else:
        text = _number_text(value, field, notes)
    if "\x00" in text:
        raise Reject(f"{field} contains a NUL character")
    return text


def count(value: object, field: str, notes: list[str], *, null: int = 0) -> int:
    """A u32 count or duration: negative becomes 0, fractions are rounded, NULL is ``null``."""
    if type(value) is not int:
        if value is None:
            notes.append(f"{field}: NULL or missing, set to {null}")
            return null
        number = _number(value, field, notes)
        if not math.isfinite(number):
            raise Reject(f"{field} is not a finite number")
        if number != int(number):
            notes.append(f"{field}: fractional, rounded")
            number = round(number)
        value = int(number)
    if value < 0:
        notes.append(f"{field}: negative, set to 0")
        return 0
    if value > U32_MAX:
        raise Reject(f"{field} is larger than {U32_MAX}")
    return value


def flag(value: object, field: str, notes: list[str], *, null: bool) -> bool:
    """A boolean stored as 0/1; other numbers count as true, text as its usual spellings."""
    if type(value) is int:
        if value in (0, 1):
            return value == 1
        notes.append(f"{field}: neither 0 nor 1, read as true")
        return True
    if value is None:
        notes.append(f"{field}: NULL or missing, set to {'true' if null else 'false'}")
        return null
    if isinstance(value, float) and math.isfinite(value):
        if value not in (0.0, 1.0):
            notes.append(f"{field}: neither 0 nor 1, read as true")
        return value != 0.0
    if isinstance(value, bytes):
        word = value.decode("utf-8", "replace").strip().lower()
        if word in _TRUE or word in _FALSE:
            notes.append(f"{field}: text, read as a boolean")
            return word in _TRUE
    raise Reject(f"{field} is not a boolean")


def fraction(value: object, field: str, notes: list[str], *, null: float) -> float:
    """A number in 0.0 .. 1.0 (confidence): out-of-range values are clamped."""
    if value is None:
        notes.append(f"{field}: NULL or missing, set to {null}")
        return null
    number = float(value) if isinstance(value, (int, float)) else _number(value, field, notes)
    if not math.isfinite(number):
        raise Reject(f"{field} is not a finite number")
    if number < 0.0:
        notes.append(f"{field}: below 0, set to 0.0")
        return 0.0
    if number > 1.0:
        notes.append(f"{field}: above 1, set to 1.0")
        return 1.0
    return number


def legacy_int_id(value: object) -> int:
    """An integer id as it must be to name a row (tables without a PRIMARY KEY may hold anything)."""
    if type(value) is int:
        return value
    if value is None:
        raise Reject("id is NULL")
    raise Reject("id is not an integer")


def _number(value: object, field: str, notes: list[str]) -> float:
    """A REAL, or numeric text (noted); anything else rejects the row."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bytes):
        try:
            number = float(value.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            pass
        else:
            notes.append(f"{field}: text, read as a number")
            return number
    raise Reject(f"{field} is not a number")


def _number_text(value: object, field: str, notes: list[str]) -> str:
    """A number in a text column, as its decimal text (noted)."""
    notes.append(f"{field}: a number, stored as its text")
    return repr(value) if isinstance(value, float) else str(value)


__all__ = [
    "U32_MAX",
    "Reject",
    "count",
    "flag",
    "fraction",
    "free_text",
    "identifier",
    "legacy_int_id",
    "optional_text",
]
