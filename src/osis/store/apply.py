"""Applying the layout plans on open: the steps once, each engine supplying its dialect.

Inside the engine's open transaction (after it made its metadata tables and
checked the store format), :meth:`Applier.open` runs, in this order:

1. the stored schema record is judged (see :class:`SchemaRecord`);
2. every collection is planned (:func:`plan_change`) before anything changes, so
   a refused change leaves the database untouched;
3. :meth:`Applier.before_apply`, once;
4. per collection, :meth:`Applier.apply`: create and register the table; add
   columns and backfill them from the documents; drop the indexes no longer
   wanted, then the columns no longer wanted (an index would pin its column);
   build the missing indexes; set up search; record a changed spec;
5. the schema record is stored.

An engine subclasses :class:`Applier` with its SQL dialect only: the parameter
marker, column types, the key and document columns, how names are qualified,
the index DDL, which indexes the table has, how a stored document reads, search
set-up, and how its connection runs a statement.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from .layout import BTreeIndex, Column, Layout
from .schema import Plan, SchemaRecord, backfill_row, plan_change
from .spec import CollectionSpec
from .sql import quote

BACKFILL_CHUNK = 2000  # rows read and updated per round of a backfill


class Applier(ABC):
    """Brings tables up to their layouts through one connection, in the caller's transaction."""

    param: ClassVar[str]  # the parameter marker: "?" (sqlite3) or "%s" (psycopg)
    types: ClassVar[Mapping[str, str]]  # column type per field kind
    key_column: ClassVar[str]  # definition of the row key ``id`` in CREATE TABLE
    doc_column: ClassVar[str]  # definition of the document column ``doc`` (the last one)
    doc_text: ClassVar[str] = "doc"  # the document as text in a SELECT (what :meth:`document` parses)
    drop_column: ClassVar[str] = "DROP COLUMN"  # the ALTER TABLE clause that drops a column

    # ------------------------------------------------------------------ the steps

    def open(self, layouts: Mapping[str, Layout], schema: SchemaRecord | None) -> None:
        """Judge ``schema``, plan and apply every layout, then record ``schema``."""
        meta = self.qualify("osis_meta")
        if schema is not None:
            recorded = self.fetch(f"SELECT value FROM {meta} WHERE key = 'schema'")
            schema.check(recorded[0][0] if recorded else None)
        stored = {
            name: CollectionSpec.from_json(text)
            for name, text in self.fetch(f"SELECT name, spec FROM {self.qualify('osis_collections')}")
        }
        # Plan everything first so a refused change leaves the database untouched.
        plans = {name: plan_change(stored.get(name), layout.spec) for name, layout in layouts.items()}
        self.before_apply(layouts)
        for name, layout in layouts.items():
            self.apply(layout, plans[name])
        if schema is not None:
            self.execute(
                f"INSERT INTO {meta} VALUES ('schema', {self.param})"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (schema.document,),
            )

    def apply(self, layout: Layout, plan: Plan) -> None:
        """Bring one collection's table up to ``layout`` as ``plan`` says."""
        table = self.qualify(layout.table)
        collections = self.qualify("osis_collections")
        p = self.param
        if plan.create:
            cols = "".join(f"{quote(c.name)} {self.types[c.kind]}, " for c in layout.columns)
            self.execute(f"CREATE TABLE {table} ({self.key_column}, {cols}{self.doc_column})")
            self.execute(
                f"INSERT INTO {collections} (name, spec) VALUES ({p}, {p})", (layout.name, layout.spec.to_json())
            )
        for column in plan.add_columns:
            self.execute(f"ALTER TABLE {table} ADD COLUMN {quote(column.name)} {self.types[column.kind]}")
        if plan.add_columns:
            self.backfill(layout, plan.add_columns)
        # Reconciled by name on every open, whatever the plan: the indexes follow
        # Layout.btree_indexes, which may change without any column changing.
        wanted = {index.name: index for index in layout.btree_indexes()}
        existing = self.existing_indexes(layout)
        # Drop first: a column cannot be dropped while an index uses it.
        for name in sorted(existing - set(wanted)):
            self.execute(f"DROP INDEX {self.qualify(name)}")
        for column in plan.drop_columns:
            self.execute(f"ALTER TABLE {table} {self.drop_column} {quote(column.name)}")
        for name in sorted(set(wanted) - existing):
            self.execute(self.create_index(table, wanted[name]))
        self.set_up_search(layout, plan)
        if plan.spec_changed and not plan.create:
            self.execute(f"UPDATE {collections} SET spec = {p} WHERE name = {p}", (layout.spec.to_json(), layout.name))

    def backfill(self, layout: Layout, columns: tuple[Column, ...]) -> None:
        """Fill the newly added ``columns`` from the stored documents, in key order and chunks."""
        table = self.qualify(layout.table)
        p = self.param
        sets = ", ".join(f"{quote(c.name)} = {p}" for c in columns)
        last = -1
        while True:
            rows = self.fetch(
                f"SELECT id, {self.doc_text} FROM {table} WHERE id > {p} ORDER BY id LIMIT {p}", (last, BACKFILL_CHUNK)
            )
            if not rows:
                return
            updates = [(*backfill_row(layout, columns, key, self.document(doc)), key) for key, doc in rows]
            self.execute_many(f"UPDATE {table} SET {sets} WHERE id = {p}", updates)
            last = rows[-1][0]

    # ------------------------------------------------------------------ the dialect

    @abstractmethod
    def qualify(self, name: str) -> str:
        """``name`` (a table or index of this store) quoted, and qualified where the engine needs it."""

    @abstractmethod
    def create_index(self, table: str, index: BTreeIndex) -> str:
        """The CREATE INDEX statement building ``index`` on ``table`` (already qualified)."""

    @abstractmethod
    def existing_indexes(self, layout: Layout) -> set[str]:
        """Names of the indexes the table has that reconciliation may drop (not the primary key's)."""

    @abstractmethod
    def document(self, stored: Any) -> dict[str, Any]:
        """A document as ``SELECT {doc_text}`` returned it, parsed."""

    @abstractmethod
    def set_up_search(self, layout: Layout, plan: Plan) -> None:
        """Bring the collection's search index up to ``layout.search`` (called on every open)."""

    def before_apply(self, layouts: Mapping[str, Layout]) -> None:
        """Set-up every plan may need, run once they were all accepted (nothing by default)."""

    # ------------------------------------------------------------------ the connection

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None: ...

    @abstractmethod
    def fetch(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def execute_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None: ...
