"""Schema evolution: compare the stored spec of a collection with the requested one.

Only changes that keep every document readable and every column derivable are
applied automatically:

* new collection -> create its table;
* new indexed or numeric field -> add its column, backfill it from the
  documents;
* a field no longer indexed/numeric -> drop its column (derived data only: the
  value stays in the documents);
* indexes (see :meth:`Layout.btree_indexes`) are reconciled by name on every
  open: missing ones are built, ones no longer wanted dropped;
* search fields changed -> rebuild the search index;
* owner changed -> metadata only.

A field whose kind changes is refused with :class:`SchemaMismatch`: its column
and every comparison on it would change meaning.  So is a backfill that meets a
document whose value does not fit the new column's kind.

These per-collection specs only know the columns.  A store opened for a generated
package also gets a :class:`SchemaRecord`: the package's whole schema (its evolution
snapshot, see docs/evolution.md).  The engine keeps the one it last opened with and,
in the same transaction that applies the layout changes, lets the record judge the
stored one first; a refusal there (a breaking change to stored data) leaves the
database untouched, exactly like a refused layout change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .codec import normalise
from .errors import SchemaMismatch
from .layout import Column, Layout
from .sid import key_to_sid
from .spec import CollectionSpec


@dataclass(frozen=True)
class Plan:
    """What an engine must do to bring one collection's table up to its spec."""

    create: bool
    add_columns: tuple[Column, ...] = ()
    drop_columns: tuple[Column, ...] = ()
    search_changed: bool = False
    spec_changed: bool = False


@dataclass(frozen=True)
class SchemaRecord:
    """The schema a store is opened with, as the store records it.

    ``document`` is opaque to the engines: they keep the last one opened with (key
    ``schema`` of ``osis_meta``) and call ``check`` with it (None when none is recorded
    yet) before changing anything; ``check`` raises :class:`SchemaMismatch` to refuse.
    """

    document: str
    check: Callable[[str | None], None]


def plan_change(old: CollectionSpec | None, new: CollectionSpec) -> Plan:
    """Plan the additive migration from ``old`` (None: not stored yet) to ``new``."""
    new_layout = Layout(new)
    if old is None:
        return Plan(create=True, search_changed=bool(new.search), spec_changed=True)
    old_layout = Layout(old)
    for name, column in new_layout.by_field.items():
        previous = old_layout.by_field.get(name)
        if previous is not None and previous.kind != column.kind:
            raise SchemaMismatch(
                f"collection {new.name!r}: field {name!r} changed kind from {previous.kind} to"
                f" {column.kind}; the stored column cannot be reinterpreted (migrate the data"
                " to a new field name instead)"
            )
    add_columns = tuple(c for n, c in new_layout.by_field.items() if n not in old_layout.by_field)
    drop_columns = tuple(c for n, c in old_layout.by_field.items() if n not in new_layout.by_field)
    return Plan(
        create=False,
        add_columns=add_columns,
        drop_columns=drop_columns,
        search_changed=old.search != new.search,
        spec_changed=old.to_json() != new.to_json(),
    )


def backfill_row(layout: Layout, columns: tuple[Column, ...], key: int, body: dict[str, Any]) -> list[Any]:
    """Column values for ``columns`` computed from a stored document.

    A stored document whose value cannot live in the new column makes the whole
    change fail, naming the document, rather than silently indexing it as NULL.
    """
    values: list[Any] = []
    for column in columns:
        value = body.get(column.field)
        if value is None:
            values.append(None)
            continue
        try:
            values.append(normalise(column.kind, value))
        except ValueError as exc:
            raise SchemaMismatch(
                f"collection {layout.name!r}: cannot add {column.kind} field {column.field!r}:"
                f" document {key_to_sid(key)}: {exc}"
            ) from None
    return values
