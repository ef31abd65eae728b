"""OSIS storage engines: schema-driven document collections on SQLite or PostgreSQL.

Typical use::

    from osis.store import open_engine, CollectionSpec, IndexedField, Query, Cond

    engine = open_engine("sqlite:///osis.db")
    engine.open([CollectionSpec("note", (IndexedField("owner", "str"),), search=("body",))])
    doc = engine.insert("note", {"owner": "u1", "body": "hello"})
    engine.find("note", Query(filters=[Cond("owner", "eq", "u1")], search="ell"))

See ``docs/store.md`` for the layout, guarantees and performance notes.
"""

from .engine import DEFAULT_PAGE_SIZE, Engine, open_engine
from .errors import (
    DuplicateSid,
    ExtensionUnavailable,
    InvalidDocument,
    InvalidQuery,
    InvalidSpec,
    InvalidURL,
    NotPermitted,
    SchemaMismatch,
    StoreClosed,
    StoreError,
    StoreFull,
    StoreLocked,
    StoreUnavailable,
    UnknownCollection,
)
from .query import Aggregation, Cond, Day, Metric, Page, Query, fold_ascii
from .schema import SchemaRecord
from .sid import is_sid, key_to_sid, sid_to_key
from .spec import CollectionSpec, FieldKind, IndexedField

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "Aggregation",
    "CollectionSpec",
    "Cond",
    "Day",
    "DuplicateSid",
    "Engine",
    "ExtensionUnavailable",
    "FieldKind",
    "IndexedField",
    "InvalidDocument",
    "InvalidQuery",
    "InvalidSpec",
    "InvalidURL",
    "Metric",
    "NotPermitted",
    "Page",
    "Query",
    "SchemaMismatch",
    "SchemaRecord",
    "StoreClosed",
    "StoreError",
    "StoreFull",
    "StoreLocked",
    "StoreUnavailable",
    "UnknownCollection",
    "fold_ascii",
    "is_sid",
    "key_to_sid",
    "open_engine",
    "sid_to_key",
]
