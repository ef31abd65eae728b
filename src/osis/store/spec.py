"""Declarative description of a collection: the only input the layout is derived from.

The oschema compiler translates its IR into these dataclasses; nothing in the
store is written per type.  :func:`validate_spec` checks a spec once, up front,
so later code can trust names (they end up in SQL identifiers) and kinds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal, get_args

from .errors import InvalidSpec

FieldKind = Literal["str", "int", "float", "bool", "time", "enum"]
"""Type of an indexed or numeric field.

``time`` fields hold an RFC 3339 string in the document (``"2026-11-27T07:35:46Z"``);
their column stores whole epoch seconds (UTC) so ranges, ordering and day
grouping are integer operations.  ``enum`` values are stored and compared as text.
"""

FIELD_KINDS: tuple[str, ...] = get_args(FieldKind)
NUMERIC_KINDS: frozenset[str] = frozenset({"int", "float"})

# Names become parts of SQL identifiers (``osis_<collection>``, ``f_<field>``); the
# length caps keep every derived identifier under PostgreSQL's 63-byte limit.
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_COLLECTION_NAME = 40
MAX_FIELD_NAME = 48


@dataclass(frozen=True)
class IndexedField:
    """A top-level document key mirrored into a typed column."""

    name: str
    kind: FieldKind


@dataclass(frozen=True)
class CollectionSpec:
    """Everything the store needs to lay out one collection (one table)."""

    name: str
    indexed: tuple[IndexedField, ...]
    search: tuple[str, ...] = ()
    owner: str | None = None
    numeric: tuple[IndexedField, ...] = ()
    compound: tuple[tuple[str, ...], ...] = ()
    """Extra multi-column indexes over indexed fields, e.g. ``(("user_sid", "category"),)``:
    an equality on the leading fields then narrows to exactly the matching rows, and
    the last field orders them (ties by sid)."""
    compound_only: tuple[str, ...] = ()
    """Indexed fields without a single-field index of their own: each leads a compound
    index, which serves an equality on it (and ordering by it) as well.  Every other
    indexed field has its own index keyed (field, sid)."""

    @property
    def table(self) -> str:
        """Name of the table holding the collection."""
        return f"osis_{self.name}"

    def columns(self) -> dict[str, IndexedField]:
        """Every field that has a column (indexed first, then numeric-only), by name."""
        out = {f.name: f for f in self.indexed}
        for f in self.numeric:
            out.setdefault(f.name, f)
        return out

    def numeric_fields(self) -> dict[str, IndexedField]:
        """Fields usable as aggregation metrics or increment targets."""
        return {n: f for n, f in self.columns().items() if f.kind in NUMERIC_KINDS}

    def to_json(self) -> str:
        """Serialise for the metadata table (stable key order, so equal specs compare equal)."""
        return json.dumps(
            {
                "name": self.name,
                "indexed": [[f.name, f.kind] for f in self.indexed],
                "search": list(self.search),
                "owner": self.owner,
                "numeric": [[f.name, f.kind] for f in self.numeric],
                "compound": [list(c) for c in self.compound],
                "compound_only": list(self.compound_only),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> CollectionSpec:
        """Inverse of :meth:`to_json`."""
        raw: dict[str, Any] = json.loads(text)
        return cls(
            name=raw["name"],
            indexed=tuple(IndexedField(n, k) for n, k in raw["indexed"]),
            search=tuple(raw["search"]),
            owner=raw["owner"],
            numeric=tuple(IndexedField(n, k) for n, k in raw["numeric"]),
            compound=tuple(tuple(c) for c in raw.get("compound", [])),
            compound_only=tuple(raw.get("compound_only", [])),
        )


def _check_name(what: str, name: object, limit: int) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name) or len(name) > limit:
        raise InvalidSpec(
            f"{what} {name!r} must be snake_case ([a-z][a-z0-9_]*) and at most {limit} characters"
        )


def validate_spec(spec: CollectionSpec) -> None:
    """Raise :class:`InvalidSpec` naming the first problem in ``spec``."""
    if not isinstance(spec, CollectionSpec):
        raise InvalidSpec(f"expected a CollectionSpec, got {type(spec).__name__}")
    _check_name("collection name", spec.name, MAX_COLLECTION_NAME)
    where = f"collection {spec.name!r}"
    for group, fields in (("indexed", spec.indexed), ("numeric", spec.numeric)):
        if not isinstance(fields, tuple):
            raise InvalidSpec(f"{where}: {group} must be a tuple of IndexedField")
        seen: set[str] = set()
        for f in fields:
            if not isinstance(f, IndexedField):
                raise InvalidSpec(f"{where}: {group} entries must be IndexedField, got {f!r}")
            _check_name(f"{where}: field", f.name, MAX_FIELD_NAME)
            if f.name == "sid":
                raise InvalidSpec(f"{where}: 'sid' is always indexed and cannot be declared")
            if f.kind not in FIELD_KINDS:
                raise InvalidSpec(
                    f"{where}: field {f.name!r} has unknown kind {f.kind!r}"
                    f" (expected one of {', '.join(FIELD_KINDS)})"
                )
            if f.name in seen:
                raise InvalidSpec(f"{where}: field {f.name!r} is listed twice in {group}")
            seen.add(f.name)
    indexed = {f.name: f.kind for f in spec.indexed}
    for f in spec.numeric:
        if f.kind not in NUMERIC_KINDS:
            raise InvalidSpec(f"{where}: numeric field {f.name!r} must be int or float, not {f.kind}")
        if f.name in indexed and indexed[f.name] != f.kind:
            raise InvalidSpec(
                f"{where}: field {f.name!r} is indexed as {indexed[f.name]} but numeric as {f.kind}"
            )
    if not isinstance(spec.search, tuple):
        raise InvalidSpec(f"{where}: search must be a tuple of field names")
    if len(set(spec.search)) != len(spec.search):
        raise InvalidSpec(f"{where}: search lists a field twice")
    for name in spec.search:
        _check_name(f"{where}: search field", name, MAX_FIELD_NAME)
        if name in indexed and indexed[name] not in ("str", "enum"):
            raise InvalidSpec(f"{where}: search field {name!r} must be a str field, not {indexed[name]}")
    if spec.owner is not None:
        _check_name(f"{where}: owner field", spec.owner, MAX_FIELD_NAME)
    if not isinstance(spec.compound, tuple) or not all(isinstance(c, tuple) for c in spec.compound):
        raise InvalidSpec(f"{where}: compound must be a tuple of tuples of field names")
    for combo in spec.compound:
        if len(combo) < 2 or len(set(combo)) != len(combo):
            raise InvalidSpec(f"{where}: compound index {combo!r} needs two or more distinct fields")
        for name in combo:
            if name not in indexed:
                raise InvalidSpec(f"{where}: compound index {combo!r} names {name!r}, which is not an indexed field")
    if len(set(spec.compound)) != len(spec.compound):
        raise InvalidSpec(f"{where}: a compound index is listed twice")
    if not isinstance(spec.compound_only, tuple):
        raise InvalidSpec(f"{where}: compound_only must be a tuple of field names")
    if len(set(spec.compound_only)) != len(spec.compound_only):
        raise InvalidSpec(f"{where}: compound_only lists a field twice")
    leading = {combo[0] for combo in spec.compound}
    for name in spec.compound_only:
        if name not in indexed:
            raise InvalidSpec(f"{where}: compound_only names {name!r}, which is not an indexed field")
        if name not in leading:
            # Its filters and ordering would have no index at all.
            raise InvalidSpec(
                f"{where}: field {name!r} has no single-field index (compound_only) and leads no compound index"
            )


def validate_specs(specs: list[CollectionSpec]) -> dict[str, CollectionSpec]:
    """Validate a whole schema and index it by collection name."""
    out: dict[str, CollectionSpec] = {}
    for spec in specs:
        validate_spec(spec)
        if spec.name in out:
            raise InvalidSpec(f"collection {spec.name!r} is specified twice")
        out[spec.name] = spec
    return out
