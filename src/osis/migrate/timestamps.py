"""Legacy timestamps, in every spelling hero_agent files hold, as OSIS `otime` text.

hero_agent let SQLite write most timestamps (`datetime('now')`: `YYYY-MM-DD HH:MM:SS`,
UTC), but some of its versions wrote RFC 3339 strings, epoch seconds or epoch
milliseconds instead, as numbers or as text.  Every form becomes the one text the
generated models serialise an `otime` to, `YYYY-MM-DDTHH:MM:SSZ`, so a migrated object is
byte for byte what OSIS itself would have stored.  Anything else is reported as
unparseable (None) and the caller decides what that means for its row.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Final

#: What a conversation or memory gets when none of its timestamps is usable.
UNKNOWN_TIME: Final = "1970-01-01T00:00:00Z"

#: Numbers at least this large are epoch milliseconds, smaller ones epoch seconds.
#: 1e11 seconds is the year 5138; 1e11 milliseconds is 1973-03-03, long before
#: hero_agent existed, so no real timestamp is ambiguous.
EPOCH_MS_FROM: Final = 100_000_000_000

# Seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range of `otime`.
_FIRST: Final = -62_135_596_800
_LAST: Final = 253_402_300_799
_EPOCH: Final = datetime(1970, 1, 1)

# Date, optional time of day (seconds and fraction optional too), optional zone.  The
# separator may be "T", "t" or a space; no zone means UTC, as in SQLite's own format.
_TEXT: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))?",
    re.ASCII,
)
_NUMBER: Final = re.compile(r"[+-]?\d+(?:\.\d*)?", re.ASCII)


def to_otime(value: object) -> str | None:
    """`YYYY-MM-DDTHH:MM:SSZ` for a legacy timestamp, or None when it is not one.

    Accepted: SQLite's `YYYY-MM-DD HH:MM:SS` (UTC), RFC 3339 / ISO 8601 date-times with
    or without a zone (none means UTC) and with any fraction of a second, a bare date
    (midnight UTC), and epoch seconds or milliseconds as numbers or numeric text.
    Fractions of a second are dropped: `otime` has whole seconds.
    """
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    if isinstance(value, str):
        fast = _common(value)
        if fast is not None:
            return fast
        text = value.strip()
        if _NUMBER.fullmatch(text):
            return _from_epoch(float(text) if "." in text else int(text))
        return _from_text(text)
    if isinstance(value, bool):  # an int subclass, never a timestamp
        return None
    if isinstance(value, (int, float)):
        return _from_epoch(value)
    return None


def _common(text: str) -> str | None:
    """The two spellings nearly every row uses, SQLite's and the store's own, checked
    cheaply (a million rows pay for this): already UTC, whole seconds, so only the date
    and time need validating.  None means "ask the general parser"."""
    n = len(text)
    if (
        not ((n == 19 and text[10] == " ") or (n == 20 and text[10] == "T" and text[19] == "Z"))
        or text[4] != "-"
        or text[7] != "-"
        or text[13] != ":"
        or text[16] != ":"
    ):
        return None
    try:
        # With the separators pinned, only digits can fill the rest; C validates them,
        # and the month, day and time ranges.  A leap second fails here, on purpose.
        datetime.fromisoformat(text[:19])
    except ValueError:
        return None
    return f"{text[:10]}T{text[11:19]}Z"


def _from_epoch(number: int | float) -> str | None:
    if isinstance(number, float) and not math.isfinite(number):
        return None
    seconds = number / 1000 if abs(number) >= EPOCH_MS_FROM else number
    return _format(math.floor(seconds))


def _from_text(text: str) -> str | None:
    match = _TEXT.fullmatch(text)
    if match is None:
        return None
    # "Z" and no zone both mean UTC: only an explicit offset moves the time.
    year, month, day, hour, minute, second, _zulu, sign, zone_h, zone_m = match.groups()
    try:
        # A leap second (:60) is the last second of its minute, as in the store.
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), min(int(second or 0), 59))
    except ValueError:  # 2024-02-30, 25:00 ...
        return None
    seconds = (moment - _EPOCH) // timedelta(seconds=1)
    if sign is not None:
        if int(zone_h) > 23 or int(zone_m) > 59:
            return None
        offset = int(zone_h) * 3600 + int(zone_m) * 60
        seconds -= offset if sign == "+" else -offset
    return _format(seconds)


def _format(seconds: int) -> str | None:
    if not _FIRST <= seconds <= _LAST:
        return None
    # isoformat pads the year to four digits on every platform; strftime("%Y") does not.
    return (_EPOCH + timedelta(seconds=seconds)).isoformat() + "Z"


__all__ = ["EPOCH_MS_FROM", "UNKNOWN_TIME", "to_otime"]
