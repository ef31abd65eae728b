"""What a schema's compatibility depends on, taken from the checked IR, as canonical JSON.

A snapshot keeps, for every struct, enum and service method, exactly what deployed
clients and stored data can observe: names, resolved types, optionality, defaults,
`@index`/`@search`/`@owner`, the B-tree indexes `@index` declares, enum values, method
signatures, docs, and where each was declared. Python spellings and generated find filters are left out: they follow from
the rest.

`oschema-gen diff` builds two snapshots from the IR and compares them. The generated
package ships the snapshot of its own schema (`schema.ir.json`), and the store records
the one it last opened with, so the store compares the same thing with the same code at
start-up. Reading a snapshot back never trusts its input: a malformed document raises
`SnapshotError` naming the problem.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..ir import SCALARS, Domain, Enum, Field, Method, Struct, TypeKind, TypeRef
from ..source import Location

#: Bumped when the document's shape changes; a reader refuses newer formats.
SNAPSHOT_FORMAT = 1

#: Annotations whose presence changes what a client or the store can do.
TRACKED_MARKS = ("index", "search", "owner")


class SnapshotError(ValueError):
    """A snapshot document that cannot be read."""


@dataclass(frozen=True)
class Shape:
    """A resolved type: a scalar, an enum or struct by name, or a list or map of a shape."""

    kind: TypeKind
    name: str = ""  # the scalar, enum or struct name; "" for lists and maps
    item: Shape | None = None

    @property
    def spelling(self) -> str:
        if self.kind == "list":
            assert self.item is not None
            return f"[{self.item.spelling}]"
        if self.kind == "map":
            assert self.item is not None
            return f"{{str: {self.item.spelling}}}"
        return self.name

    @classmethod
    def of(cls, ref: TypeRef) -> Shape:
        if ref.item is not None:
            return cls(ref.kind, item=cls.of(ref.item))
        return cls(ref.kind, ref.scalar.name if ref.scalar else ref.target or ref.spelling)

    def targets(self) -> set[str]:
        """The enum and struct names this shape refers to."""
        if self.item is not None:
            return self.item.targets()
        return {self.name} if self.kind in ("enum", "struct") else set()


@dataclass(frozen=True)
class FieldSnap:
    name: str
    shape: Shape
    optional: bool  # written `name?: T`: null is a valid value
    has_default: bool  # optional, or a list or map: a document may leave it out
    doc: str
    location: Location
    marks: Mapping[str, Location]  # tracked annotation -> where it is written

    @property
    def indexed(self) -> bool:
        return "index" in self.marks

    @property
    def searchable(self) -> bool:
        return "search" in self.marks

    @property
    def owner(self) -> bool:
        return "owner" in self.marks


@dataclass(frozen=True)
class StructSnap:
    name: str
    root: bool
    doc: str
    location: Location
    fields: tuple[FieldSnap, ...]
    # The B-tree index keys (sid implied last), in declaration order: `(f,)` for a bare
    # `@index` on f, `(f, f2, ...)` for `@index(f2, ...)` on f.
    indexes: tuple[tuple[str, ...], ...] = ()

    def field(self, name: str) -> FieldSnap | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class ValueSnap:
    name: str
    doc: str
    location: Location


@dataclass(frozen=True)
class EnumSnap:
    name: str
    doc: str
    location: Location
    values: tuple[ValueSnap, ...]


@dataclass(frozen=True)
class MethodSnap:
    name: str
    input_param: str | None
    input: str | None
    output: str | None
    doc: str
    location: Location


@dataclass(frozen=True)
class Snapshot:
    domain: str
    structs: Mapping[str, StructSnap]
    enums: Mapping[str, EnumSnap]
    methods: Mapping[str, MethodSnap]

    def stored_types(self) -> set[str]:
        """Root objects and every struct and enum reachable from their fields: what the store holds."""
        seen: set[str] = set()
        todo = [s.name for s in self.structs.values() if s.root]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            struct = self.structs.get(name)
            if struct is not None:
                todo.extend(t for f in struct.fields for t in f.shape.targets())
        return seen

    # -- canonical JSON ---------------------------------------------------------------
    def to_json(self) -> str:
        """Stable text: equal snapshots give equal documents, so a recorded one can be compared byte for byte."""
        doc = {
            "format": SNAPSHOT_FORMAT,
            "domain": self.domain,
            "structs": [_struct_json(s) for s in self.structs.values()],
            "enums": [
                {
                    "name": e.name,
                    "doc": e.doc,
                    "at": str(e.location),
                    "values": [{"name": v.name, "doc": v.doc, "at": str(v.location)} for v in e.values],
                }
                for e in self.enums.values()
            ],
            "methods": [
                {
                    "name": m.name,
                    "input_param": m.input_param,
                    "input": m.input,
                    "output": m.output,
                    "doc": m.doc,
                    "at": str(m.location),
                }
                for m in self.methods.values()
            ],
        }
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Snapshot:
        try:
            doc = json.loads(text)
        except ValueError as err:
            raise SnapshotError(f"schema snapshot is not JSON: {err}") from None
        try:
            return _read_snapshot(doc)
        except (KeyError, TypeError, AttributeError, ValueError) as err:
            if isinstance(err, SnapshotError):
                raise
            raise SnapshotError(f"schema snapshot is malformed: {type(err).__name__}: {err}") from None


def snapshot_of(domain: Domain, path: Callable[[str], str] | None = None) -> Snapshot:
    """The snapshot of a checked domain; `path` rewrites the file part of every location."""
    where = path or (lambda p: p)

    def loc(location: Location) -> Location:
        return Location(where(location.path), location.line, location.column)

    def field(f: Field) -> FieldSnap:
        marks: dict[str, Location] = {}
        for a in f.annotations:  # a repeated `@index` is marked where it is first written
            if a.known and a.name in TRACKED_MARKS:
                marks.setdefault(a.name, loc(a.location))
        return FieldSnap(f.name, Shape.of(f.type), f.optional, f.has_default, f.doc, loc(f.location), marks)

    def struct(s: Struct) -> StructSnap:
        indexes = tuple(key for f in s.fields for key in (((f.name,),) if f.single_index else ()) + f.compound_indexes)
        return StructSnap(s.name, s.root, s.doc, loc(s.location), tuple(field(f) for f in s.fields), indexes)

    def enum(e: Enum) -> EnumSnap:
        values = tuple(ValueSnap(v.name, v.doc, loc(v.location)) for v in e.values)
        return EnumSnap(e.name, e.doc, loc(e.location), values)

    def method(m: Method) -> MethodSnap:
        return MethodSnap(m.name, m.input_param, m.input, m.output, m.doc, loc(m.location))

    return Snapshot(
        domain.name,
        {s.name: struct(s) for s in domain.structs},
        {e.name: enum(e) for e in domain.enums},
        {m.name: method(m) for m in domain.methods},
    )


def empty_snapshot(domain: str) -> Snapshot:
    """The snapshot of a schema that does not exist yet: everything in a real one is an addition."""
    return Snapshot(domain, {}, {}, {})


def package_path(domain: str) -> Callable[[str], str]:
    """Locations as `<domain>/<file>`: the same wherever the compiler runs, for generated files."""
    return lambda path: f"{domain}/{path.replace(chr(92), '/').rsplit('/', 1)[-1]}"


# -- reading and writing the parts ----------------------------------------------------------


def _struct_json(s: StructSnap) -> dict[str, Any]:
    return {
        "name": s.name,
        "root": s.root,
        "doc": s.doc,
        "at": str(s.location),
        "fields": [
            {
                "name": f.name,
                "type": f.shape.spelling,
                "optional": f.optional,
                "has_default": f.has_default,
                "doc": f.doc,
                "at": str(f.location),
                "marks": {name: str(at) for name, at in sorted(f.marks.items())},
            }
            for f in s.fields
        ],
        "indexes": [list(key) for key in s.indexes],
    }


def _location(text: object) -> Location:
    if not isinstance(text, str):
        raise SnapshotError(f"location must be 'path:line:column', got {text!r}")
    path, _, rest = text.rpartition(":")
    path, _, line = path.rpartition(":")
    if not path or not line.isdigit() or not rest.isdigit():
        raise SnapshotError(f"location must be 'path:line:column', got {text!r}")
    return Location(path, int(line), int(rest))


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise SnapshotError(f"{what} must be a string, got {value!r}")
    return value


def _optional_text(value: object, what: str) -> str | None:
    return None if value is None else _text(value, what)


def _flag(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise SnapshotError(f"{what} must be true or false, got {value!r}")
    return value


def _index_key(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise SnapshotError(f"an index key must be a non-empty list of field names, got {value!r}")
    return tuple(_text(name, "index key field") for name in value)


def parse_shape(spelling: str, enums: set[str]) -> Shape:
    """The shape a type spelling names; `enums` tells enum names from struct names."""
    if spelling.startswith("[") and spelling.endswith("]"):
        return Shape("list", item=parse_shape(spelling[1:-1], enums))
    if spelling.startswith("{str: ") and spelling.endswith("}"):
        return Shape("map", item=parse_shape(spelling[6:-1], enums))
    if not spelling.isidentifier():
        raise SnapshotError(f"unreadable type {spelling!r}")
    if spelling in SCALARS:
        return Shape("scalar", spelling)
    return Shape("enum" if spelling in enums else "struct", spelling)


def _read_snapshot(doc: Any) -> Snapshot:
    if not isinstance(doc, dict):
        raise SnapshotError("schema snapshot must be a JSON object")
    version = doc.get("format")
    if version != SNAPSHOT_FORMAT:
        raise SnapshotError(f"schema snapshot has format {version!r}; this version reads format {SNAPSHOT_FORMAT}")
    enums: dict[str, EnumSnap] = {}
    for e in doc["enums"]:
        name = _text(e["name"], "enum name")
        values = tuple(
            ValueSnap(_text(v["name"], "enum value"), _text(v["doc"], "doc"), _location(v["at"])) for v in e["values"]
        )
        enums[name] = EnumSnap(name, _text(e["doc"], "doc"), _location(e["at"]), values)
    structs: dict[str, StructSnap] = {}
    for s in doc["structs"]:
        name = _text(s["name"], "struct name")
        fields = tuple(
            FieldSnap(
                _text(f["name"], "field name"),
                parse_shape(_text(f["type"], "field type"), set(enums)),
                _flag(f["optional"], "optional"),
                _flag(f["has_default"], "has_default"),
                _text(f["doc"], "doc"),
                _location(f["at"]),
                {_text(k, "annotation"): _location(v) for k, v in f["marks"].items()},
            )
            for f in s["fields"]
        )
        if "indexes" in s:
            if not isinstance(s["indexes"], list):
                raise SnapshotError(f"indexes must be a list of index keys, got {s['indexes']!r}")
            indexes = tuple(_index_key(key) for key in s["indexes"])
        else:  # recorded before compound indexes: every indexed field had its own index
            indexes = tuple((f.name,) for f in fields if f.indexed)
        structs[name] = StructSnap(
            name, _flag(s["root"], "root"), _text(s["doc"], "doc"), _location(s["at"]), fields, indexes
        )
    methods = {
        _text(m["name"], "method name"): MethodSnap(
            _text(m["name"], "method name"),
            _optional_text(m["input_param"], "input_param"),
            _optional_text(m["input"], "input"),
            _optional_text(m["output"], "output"),
            _text(m["doc"], "doc"),
            _location(m["at"]),
        )
        for m in doc["methods"]
    }
    return Snapshot(_text(doc["domain"], "domain"), structs, enums, methods)
