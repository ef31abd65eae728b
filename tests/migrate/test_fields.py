"""Column values to field values: each normalisation noted, each impossibility a Reject."""

from __future__ import annotations

from typing import Any

import pytest

from osis.migrate.fields import (
    U32_MAX,
    Reject,
    count,
    flag,
    fraction,
    free_text,
    identifier,
    legacy_int_id,
    optional_text,
)


def call(fn: Any, value: object, **kw: Any) -> tuple[Any, list[str]]:
    notes: list[str] = []
    return fn(value, "f", notes, **kw), notes


def test_free_text() -> None:
    assert call(free_text, b"caf\xc3\xa9") == ("café", [])
    assert call(free_text, None) == ("", ["f: NULL or missing, set to an empty string"])
    assert call(free_text, b"ok \xff") == ("ok \ufffd", ["f: invalid UTF-8, bad bytes replaced by U+FFFD"])
    assert call(free_text, b"a\x00b") == ("a\ufffdb", ["f: NUL characters replaced by U+FFFD"])
    assert call(free_text, 42) == ("42", ["f: a number, stored as its text"])
    assert call(free_text, 0.5) == ("0.5", ["f: a number, stored as its text"])
    assert call(optional_text, None) == (None, [])
    assert call(optional_text, b"x\xfe") == ("x\ufffd", ["f: invalid UTF-8, bad bytes replaced by U+FFFD"])


def test_identifier_is_never_altered() -> None:
    assert call(identifier, b"web_search") == ("web_search", [])
    assert call(identifier, None, null="") == ("", ["f: NULL or missing, set to ''"])
    assert call(identifier, 7) == ("7", ["f: a number, stored as its text"])
    for value, reason in [
        (None, "f is NULL or missing"),
        (b"to\x80l", "f is not valid UTF-8"),
        (b"a\x00b", "f contains a NUL character"),
    ]:
        with pytest.raises(Reject) as caught:
            call(identifier, value)
        assert caught.value.reason == reason


def test_count() -> None:
    assert call(count, 12) == (12, [])
    assert call(count, 12.0) == (12, [])
    assert call(count, U32_MAX) == (U32_MAX, [])
    assert call(count, None) == (0, ["f: NULL or missing, set to 0"])
    assert call(count, -4) == (0, ["f: negative, set to 0"])
    assert call(count, 12.5) == (12, ["f: fractional, rounded"])  # half to even
    assert call(count, 12.6) == (13, ["f: fractional, rounded"])
    assert call(count, b" 250 ") == (250, ["f: text, read as a number"])
    assert call(count, b"-3") == (0, ["f: text, read as a number", "f: negative, set to 0"])
    for value, reason in [
        (U32_MAX + 1, f"f is larger than {U32_MAX}"),
        (1e300, f"f is larger than {U32_MAX}"),
        (float("inf"), "f is not a finite number"),
        (b"12abc", "f is not a number"),
        (b"\xff", "f is not a number"),
    ]:
        with pytest.raises(Reject) as caught:
            call(count, value)
        assert caught.value.reason == reason


def test_flag() -> None:
    assert call(flag, 1, null=True) == (True, [])
    assert call(flag, 0, null=True) == (False, [])
    assert call(flag, 0.0, null=True) == (False, [])
    assert call(flag, None, null=True) == (True, ["f: NULL or missing, set to true"])
    assert call(flag, 2, null=True) == (True, ["f: neither 0 nor 1, read as true"])
    assert call(flag, -1.5, null=True) == (True, ["f: neither 0 nor 1, read as true"])
    assert call(flag, b" FALSE", null=True) == (False, ["f: text, read as a boolean"])
    assert call(flag, b"yes", null=False) == (True, ["f: text, read as a boolean"])
    for value in (b"maybe", float("nan"), b"\xff"):
        with pytest.raises(Reject, match="f is not a boolean"):
            call(flag, value, null=True)


def test_fraction() -> None:
    assert call(fraction, 0.25, null=1.0) == (0.25, [])
    assert call(fraction, 1, null=1.0) == (1.0, [])
    assert call(fraction, None, null=1.0) == (1.0, ["f: NULL or missing, set to 1.0"])
    assert call(fraction, 1.5, null=1.0) == (1.0, ["f: above 1, set to 1.0"])
    assert call(fraction, -0.1, null=1.0) == (0.0, ["f: below 0, set to 0.0"])
    assert call(fraction, b"0.5", null=1.0) == (0.5, ["f: text, read as a number"])
    for value, reason in [(float("inf"), "f is not a finite number"), (b"high", "f is not a number")]:
        with pytest.raises(Reject) as caught:
            call(fraction, value, null=1.0)
        assert caught.value.reason == reason


def test_legacy_int_id() -> None:
    assert legacy_int_id(17) == 17
    with pytest.raises(Reject, match="id is NULL"):
        legacy_int_id(None)
    for value in (b"abc", 1.0, b"1"):
        with pytest.raises(Reject, match="id is not an integer"):
            legacy_int_id(value)
