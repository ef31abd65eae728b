"""Opaque keyset cursors for deep paging.

A cursor records the position after the last row of a page: the value of the
ordering column and the row key (the tie-breaker).  The next page continues
with ``(order value, key) > position`` instead of an ``OFFSET``, so paging costs
the same at row 10 and at row 10 million and never skips or repeats a row when
rows are inserted or deleted between pages.

Cursors also carry a fingerprint of the query they came from, so reusing one
with different filters/ordering is reported instead of silently mis-paging.
They are not signed: they only ever select rows the caller could select anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from .errors import InvalidQuery

_VERSION = 1


def fingerprint(collection: str, conds: list[tuple[str, str, Any]], search: str | None,
                order: str | None, descending: bool) -> str:
    text = json.dumps([collection, conds, search, order, descending], default=repr, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode(fp: str, value: Any, key: int) -> str:
    raw = json.dumps([_VERSION, fp, value, key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: object, fp: str) -> tuple[Any, int]:
    if not isinstance(token, str) or not token:
        raise InvalidQuery("cursor must be a non-empty string from Page.next_cursor")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        version, token_fp, value, key = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise InvalidQuery("cursor is not a valid paging cursor") from None
    if version != _VERSION or not isinstance(key, int) or isinstance(key, bool):
        raise InvalidQuery("cursor is not a valid paging cursor")
    if token_fp != fp:
        raise InvalidQuery("cursor belongs to a different query (filters, search or ordering changed)")
    if value is not None and not isinstance(value, (str, int, float, bool)):
        raise InvalidQuery("cursor is not a valid paging cursor")
    return value, key
