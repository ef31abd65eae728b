"""Legacy timestamps in every spelling, and what is not one."""

from __future__ import annotations

import pytest

from osis.migrate.timestamps import EPOCH_MS_FROM, UNKNOWN_TIME, to_otime


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # SQLite's datetime('now'), as text and as the bytes the reader hands over
        ("2024-01-02 03:04:05", "2024-01-02T03:04:05Z"),
        (b"2024-01-02 03:04:05", "2024-01-02T03:04:05Z"),
        ("2024-01-02 03:04:05.123", "2024-01-02T03:04:05Z"),
        # RFC 3339: zones are applied, fractions dropped, "t" and a space accepted
        ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"),
        ("2024-01-02t03:04:05z", "2024-01-02T03:04:05Z"),
        ("2024-01-02T03:04:05.999999+02:00", "2024-01-02T01:04:05Z"),
        ("2024-01-02T23:30:00-01:30", "2024-01-03T01:00:00Z"),
        ("2024-01-02T03:04:05+0100", "2024-01-02T02:04:05Z"),
        ("2024-01-02T03:04:05", "2024-01-02T03:04:05Z"),  # no zone: UTC, like SQLite's own
        ("2024-01-02T03:04", "2024-01-02T03:04:00Z"),
        ("2024-01-02", "2024-01-02T00:00:00Z"),
        ("  2024-01-02 03:04:05 ", "2024-01-02T03:04:05Z"),
        ("2016-12-31 23:59:60", "2016-12-31T23:59:59Z"),  # a leap second
        # epoch seconds and milliseconds, as numbers and as text
        (1_700_000_000, "2023-11-14T22:13:20Z"),
        (1_700_000_000.75, "2023-11-14T22:13:20Z"),
        (1_700_000_000_123, "2023-11-14T22:13:20Z"),
        ("1700000000", "2023-11-14T22:13:20Z"),
        ("1700000000123", "2023-11-14T22:13:20Z"),
        ("1700000000.5", "2023-11-14T22:13:20Z"),
        (0, UNKNOWN_TIME),
        (-86_400, "1969-12-31T00:00:00Z"),
        (EPOCH_MS_FROM - 1, "5138-11-16T09:46:39Z"),  # still seconds
        (EPOCH_MS_FROM, "1973-03-03T09:46:40Z"),  # milliseconds from here on
        ("0001-01-01 00:00:00", "0001-01-01T00:00:00Z"),
        ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
    ],
)
def test_accepted_spellings(value: object, expected: str) -> None:
    assert to_otime(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "yesterday",
        "2024-02-30 00:00:00",
        "2024-13-01 00:00:00",
        "2024-01-02 24:00:00",
        "2024-01-02 03:04+05",
        "2024-01-02T03:04:05+25:00",
        "0000-01-01 00:00:00",
        "9999-12-31T23:59:59-01:00",  # past year 9999 once in UTC
        "٢٠٢٤-01-02 03:04:05",  # non-ASCII digits
        b"2024-01-02 03:04:05\xff",
        float("nan"),
        float("inf"),
        1e300,
        -1e15,
        True,
        [2024],
    ],
)
def test_not_timestamps(value: object) -> None:
    assert to_otime(value) is None
