"""Wire types the generated models use: bounded integers, finite floats and `otime`.

They live here, once, rather than being spelled out in every generated module, so the
bounds and the timestamp format have a single definition and generated hints stay short
(`U32`, `OTime`). Importing this module is cheap: it is on the `import osis_ai` path.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, WithJsonSchema

I8 = Annotated[int, Field(ge=-(2**7), le=2**7 - 1)]
I16 = Annotated[int, Field(ge=-(2**15), le=2**15 - 1)]
I32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
I64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
U8 = Annotated[int, Field(ge=0, le=2**8 - 1)]
U16 = Annotated[int, Field(ge=0, le=2**16 - 1)]
U32 = Annotated[int, Field(ge=0, le=2**32 - 1)]
U64 = Annotated[int, Field(ge=0, le=2**64 - 1)]
# JSON has no NaN or infinity, so neither do the models.
F64 = Annotated[float, Field(allow_inf_nan=False)]
F32 = Annotated[float, Field(ge=-3.4028234663852886e38, le=3.4028234663852886e38, allow_inf_nan=False)]

_LEGACY = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def parse_otime(value: Any) -> Any:
    """Accept RFC 3339, `YYYY-MM-DD HH:MM:SS` (UTC, as SQLite writes it) and epoch seconds.

    Anything else is handed on unchanged so pydantic reports it as a datetime error.
    """
    if isinstance(value, bool):
        return value  # bool is an int subclass; let pydantic reject it
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return value
    if isinstance(value, str) and _LEGACY.match(value):
        return value.replace(" ", "T") + "Z"
    return value


def to_utc_second(value: datetime) -> datetime:
    # Naive datetimes from Python code are taken as UTC: the wire has no local time.
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc).replace(microsecond=0)
    except OverflowError:
        # e.g. 9999-12-31T23:59:59-01:00: a ValueError is what pydantic reports as invalid.
        raise ValueError("timestamp is outside the years 1..9999 once converted to UTC") from None


def format_otime(value: datetime) -> str:
    # Not strftime("%Y"): it does not zero-pad years before 1000 on every platform.
    return to_utc_second(value).isoformat(timespec="seconds").replace("+00:00", "Z")


OTime = Annotated[
    datetime,
    BeforeValidator(parse_otime),
    AfterValidator(to_utc_second),
    PlainSerializer(format_otime, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A UTC timestamp with second precision; on the wire an RFC 3339 string ending in `Z`."""

__all__ = ["I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64", "F32", "F64", "OTime"]
