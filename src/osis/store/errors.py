"""Typed errors raised by the storage layer.

Every failure a caller can provoke with bad input or a bad environment surfaces
as a subclass of :class:`StoreError` with a one-line message naming the cause
(the collection, the field, the URL...).  Driver exceptions never escape raw:
engines translate them at the boundary and chain the original as ``__cause__``
so the full detail stays available in logs.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error raised by :mod:`osis.store`."""


class InvalidURL(StoreError):
    """The store URL cannot be parsed or names an unsupported scheme/option."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or opened (missing directory, refused connection...)."""


class StoreLocked(StoreUnavailable):
    """Another process holds a lock on the database longer than the busy timeout."""


class StoreFull(StoreUnavailable):
    """The disk holding the database is full: writes are refused (and rolled back, so
    nothing stored changes) until space is freed; reads keep working."""


class StoreClosed(StoreError):
    """The engine was used after :meth:`Engine.close`."""


class InvalidSpec(StoreError):
    """A :class:`CollectionSpec` is malformed (bad name, duplicate field, unknown kind...)."""


class SchemaMismatch(StoreError):
    """The stored layout cannot be changed into the requested one without losing data."""


class UnknownCollection(StoreError):
    """The collection was not part of the specs given to :meth:`Engine.open`."""


class InvalidDocument(StoreError):
    """A document does not fit its collection (wrong type for an indexed field, bad sid...)."""


class DuplicateSid(StoreError):
    """An insert supplied a sid that already exists in the collection."""


class InvalidQuery(StoreError):
    """A query, aggregation, cursor or sid argument is malformed or names an unusable field."""


class ExtensionUnavailable(StoreError):
    """A database extension the layout needs (PostgreSQL ``pg_trgm``) cannot be enabled."""


class NotPermitted(StoreError):
    """The database role may not do what was asked (PostgreSQL: ``ANALYZE`` a table it does not own)."""
