"""The typed intermediate representation: a checked schema with every Python spelling decided.

Emitters and templates read this and nothing else. A template never computes a name, a
type hint, a default or an import: if it needs one, the IR grows a field for it. That is
what keeps templates thin and makes one fix serve every emitted file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .source import Location

TypeKind = Literal["scalar", "list", "map", "enum", "struct"]


@dataclass(frozen=True)
class Scalar:
    """A built-in type: its spelling, its Python hint and what JSON Schema says of it."""

    name: str
    py_hint: str
    json_type: str
    minimum: int | float | None = None
    maximum: int | float | None = None
    format: str | None = None

    @property
    def is_integer(self) -> bool:
        return self.json_type == "integer"

    @property
    def is_number(self) -> bool:
        return self.json_type in ("integer", "number")

    @property
    def is_time(self) -> bool:
        return self.name == "otime"


def _int(name: str, lo: int, hi: int) -> Scalar:
    return Scalar(name, name.upper(), "integer", lo, hi)


# Bounded integers and f32 are aliases in `osis.scalars` (Annotated types with their
# bounds), so generated hints stay short and the bounds live in one place.
SCALARS: dict[str, Scalar] = {
    s.name: s
    for s in (
        Scalar("str", "str", "string"),
        Scalar("bool", "bool", "boolean"),
        Scalar("int", "int", "integer"),
        _int("i8", -(2**7), 2**7 - 1),
        _int("i16", -(2**15), 2**15 - 1),
        _int("i32", -(2**31), 2**31 - 1),
        _int("i64", -(2**63), 2**63 - 1),
        _int("u8", 0, 2**8 - 1),
        _int("u16", 0, 2**16 - 1),
        _int("u32", 0, 2**32 - 1),
        _int("u64", 0, 2**64 - 1),
        Scalar("f32", "F32", "number", -3.4028234663852886e38, 3.4028234663852886e38),
        Scalar("f64", "F64", "number"),
        Scalar("otime", "OTime", "string", format="date-time"),
    )
}

# Spellings users bring from other languages, mapped to ours for "did you mean".
SCALAR_SYNONYMS = {
    "string": "str",
    "String": "str",
    "boolean": "bool",
    "integer": "int",
    "float": "f64",
    "double": "f64",
    "number": "f64",
    "datetime": "otime",
    "timestamp": "otime",
    "time": "otime",
    "i128": "i64",
    "u128": "u64",
}


@dataclass(frozen=True)
class TypeRef:
    """A resolved type. `py_hint` is the exact annotation the models use."""

    kind: TypeKind
    spelling: str
    py_hint: str
    scalar: Scalar | None = None
    item: TypeRef | None = None
    target: str | None = None  # the referenced enum or struct name

    @property
    def is_container(self) -> bool:
        return self.kind in ("list", "map")


@dataclass(frozen=True)
class Annotation:
    name: str
    args: tuple[str, ...] | None
    location: Location
    known: bool


@dataclass(frozen=True)
class Field:
    name: str  # the wire name, as written in the schema
    py_name: str  # the model attribute; differs from `name` only for unsafe names
    type: TypeRef
    optional: bool
    doc: str
    location: Location
    annotations: tuple[Annotation, ...]
    py_annotation: str  # e.g. "str | None"
    py_value: str | None  # right-hand side of the attribute, or None for a bare annotation
    json_default: object = None
    has_default: bool = False

    @property
    def indexed(self) -> bool:
        """Filterable and orderable in `find`: the field carries `@index` in any form."""
        return self._has("index")

    @property
    def single_index(self) -> bool:
        """Bare `@index`: a B-tree index keyed (this field, sid) of its own."""
        return any(a.name == "index" and a.args is None for a in self.annotations)

    @property
    def compound_indexes(self) -> tuple[tuple[str, ...], ...]:
        """Each `@index(f2, ...)`: the key (this field, f2, ...), sid implied last."""
        return tuple((self.name, *a.args) for a in self.annotations if a.name == "index" and a.args)

    @property
    def searchable(self) -> bool:
        return self._has("search")

    @property
    def owner(self) -> bool:
        return self._has("owner")

    @property
    def aliased(self) -> bool:
        return self.py_name != self.name

    @property
    def required(self) -> bool:
        return not self.has_default

    def _has(self, name: str) -> bool:
        return any(a.name == name for a in self.annotations)


@dataclass(frozen=True)
class Struct:
    name: str
    doc: str
    root: bool
    fields: tuple[Field, ...]
    location: Location
    py_docstring: str  # a ready Python string literal, or "" for none
    snake: str  # the wire prefix of its CRUD methods, e.g. "agent_memory"
    # Unknown keys: ignored on schema types (an older client must read a newer server's
    # objects), refused on generated request types (a typo in a filter is an error).
    extra: Literal["ignore", "forbid"] = "ignore"
    filter_for: str | None = None  # set on the generated find filter of a root object

    @property
    def filter_name(self) -> str:
        return f"{self.name}Filter"

    @property
    def indexed_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.indexed)

    @property
    def single_index_fields(self) -> tuple[Field, ...]:
        """Indexed fields that have their own single-field index (bare `@index`)."""
        return tuple(f for f in self.fields if f.single_index)

    @property
    def compound_indexes(self) -> tuple[tuple[str, ...], ...]:
        """Every `@index(...)` key, in declaration order (fields, then annotations)."""
        return tuple(key for f in self.fields for key in f.compound_indexes)

    @property
    def search_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.searchable)

    @property
    def owner_field(self) -> Field | None:
        return next((f for f in self.fields if f.owner), None)


@dataclass(frozen=True)
class EnumValue:
    name: str  # wire value
    member: str  # Python member name
    doc: str
    location: Location
    py_docstring: str = ""


@dataclass(frozen=True)
class Enum:
    name: str
    doc: str
    values: tuple[EnumValue, ...]
    location: Location
    py_docstring: str


@dataclass(frozen=True)
class Method:
    name: str  # wire name, flat snake_case
    py_name: str
    doc: str
    input_param: str | None  # the parameter's wire name, e.g. "input"
    input: str | None  # struct name
    output: str | None  # struct name
    location: Location


@dataclass(frozen=True)
class Service:
    name: str
    doc: str
    methods: tuple[Method, ...]
    location: Location


@dataclass
class Domain:
    """One schema directory: one namespace, one generated package."""

    name: str  # "ai"
    package: str  # "osis_ai"
    class_prefix: str  # "Ai": AiClient, AiService
    sources: tuple[str, ...]  # file names, in reading order
    enums: list[Enum] = field(default_factory=list)
    structs: list[Struct] = field(default_factory=list)
    filters: list[Struct] = field(default_factory=list)  # one per root object, in the same order
    services: list[Service] = field(default_factory=list)

    @property
    def root_objects(self) -> list[Struct]:
        return [s for s in self.structs if s.root]

    @property
    def methods(self) -> list[Method]:
        return [m for s in self.services for m in s.methods]

    @property
    def models(self) -> list[Struct]:
        """Every pydantic model the package defines: schema structs, then find filters."""
        return [*self.structs, *self.filters]

    @property
    def export_names(self) -> list[str]:
        return [e.name for e in self.enums] + [s.name for s in self.models]

    def struct(self, name: str) -> Struct:
        return next(s for s in self.models if s.name == name)
