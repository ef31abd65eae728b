"""What the runtime knows of a generated domain package: its root objects and their storage.

The storage layout is derived from the schema, never written per type: the compiler
emits `schema.json` with `x-osis-rootobject`, `x-osis-index` and `x-osis-search` marks,
and this module turns each root object into a `CollectionSpec` (indexed fields with
their kinds, search fields, the owner field, numeric fields for aggregation) next to its
generated model and filter classes.
"""

from __future__ import annotations

import importlib
import json
from functools import lru_cache
from dataclasses import dataclass
from importlib.resources import files
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from osis.store.spec import CollectionSpec, FieldKind, IndexedField


@dataclass(frozen=True)
class RootBinding:
    """One root object: wire prefix, generated classes and collection spec."""

    name: str  # "AgentMemory"
    snake: str  # "agent_memory": wire prefix of its methods and collection name
    model: type[BaseModel]
    filter_model: type[BaseModel]
    spec: CollectionSpec
    kinds: dict[str, FieldKind]  # kind of every scalar top-level field


@dataclass(frozen=True)
class DomainBinding:
    package: str
    roots: dict[str, RootBinding]  # by snake name

    @property
    def specs(self) -> list[CollectionSpec]:
        return [r.spec for r in self.roots.values()]


def _kind(prop: dict[str, Any], defs: dict[str, Any]) -> FieldKind | None:
    """The storage kind of a property schema, or None for lists, maps, structs and optionals' nulls."""
    if "anyOf" in prop:
        options = [p for p in prop["anyOf"] if p.get("type") != "null"]
        return _kind(options[0], defs) if len(options) == 1 else None
    if "$ref" in prop:
        target = defs.get(prop["$ref"].rsplit("/", 1)[-1], {})
        return "enum" if "enum" in target else None
    kinds: dict[str, FieldKind] = {"integer": "int", "number": "float", "boolean": "bool"}
    if prop.get("type") == "string":
        return "time" if prop.get("format") == "date-time" else "str"
    return kinds.get(prop.get("type", ""))


@lru_cache(maxsize=None)
def bind_package(package: str | ModuleType) -> DomainBinding:
    """Read a generated package (`osis_ai`) into a binding, once per process."""
    module = importlib.import_module(package) if isinstance(package, str) else package
    name = module.__name__
    models = importlib.import_module(f"{name}.models")
    schema = json.loads(files(name).joinpath("schema.json").read_text(encoding="utf-8"))
    defs: dict[str, Any] = schema["$defs"]
    roots: dict[str, RootBinding] = {}
    for type_name, definition in defs.items():
        if not definition.get("x-osis-rootobject"):
            continue
        props: dict[str, Any] = definition["properties"]
        kinds = {field: kind for field, prop in props.items() if (kind := _kind(prop, defs)) is not None}
        indexed = tuple(IndexedField(f, kinds[f]) for f in definition["x-osis-index"])
        indexed_names = {f.name for f in indexed}
        numeric = tuple(
            IndexedField(f, k) for f, k in kinds.items() if k in ("int", "float") and f not in indexed_names
        )
        snake: str = definition["x-osis-collection"]
        spec = CollectionSpec(
            name=snake,
            indexed=indexed,
            search=tuple(definition["x-osis-search"]),
            owner=definition.get("x-osis-owner"),
            numeric=numeric,
        )
        roots[snake] = RootBinding(
            name=type_name,
            snake=snake,
            model=getattr(models, type_name),
            filter_model=getattr(models, f"{type_name}Filter"),
            spec=spec,
            kinds=kinds,
        )
    return DomainBinding(name, roots)
