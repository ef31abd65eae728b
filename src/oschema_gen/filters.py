"""The find filter of each root object, derived from its `@index` fields.

A filter is an ordinary IR struct, so the models template renders it like any other type
and the JSON Schema, client and server get it for free. For an indexed field `f` of type
`T` it has `f` (equals), `f_in` (one of) and, for numbers and timestamps, the ranges
`f_gt`, `f_gte`, `f_lt`, `f_lte`. Every member is optional; all given ones must hold.
"""

from __future__ import annotations

from .diagnostics import DiagnosticBag
from .ir import Field, Struct, TypeRef
from .naming import python_attribute

RANGE_OPS = ("gt", "gte", "lt", "lte")
_OP_WORDS = {"gt": "greater than", "gte": "at least", "lt": "less than", "lte": "at most"}


def _member(wire: str, ref: TypeRef, doc: str, source: Field) -> Field:
    py_name = python_attribute(wire)
    args = ["default=None", f"description={doc!r}"]
    if py_name != wire:
        args += [f"validation_alias={wire!r}", f"serialization_alias={wire!r}"]
    return Field(
        name=wire,
        py_name=py_name,
        type=ref,
        optional=True,
        doc=doc,
        location=source.location,
        annotations=(),
        py_annotation=f"{ref.py_hint} | None",
        py_value=f"Field({', '.join(args)})",
        has_default=True,
    )


def filter_struct(root: Struct, bag: DiagnosticBag) -> Struct:
    members: list[Field] = []
    for f in root.indexed_fields:
        ref = f.type
        members.append(_member(f.name, ref, f"`{f.name}` equals this value.", f))
        list_ref = TypeRef("list", f"[{ref.spelling}]", f"list[{ref.py_hint}]", item=ref)
        members.append(_member(f"{f.name}_in", list_ref, f"`{f.name}` is one of these values.", f))
        if ref.scalar is not None and (ref.scalar.is_number or ref.scalar.is_time):
            for op in RANGE_OPS:
                members.append(_member(f"{f.name}_{op}", ref, f"`{f.name}` is {_OP_WORDS[op]} this value.", f))
    seen: dict[str, Field] = {}
    unique: list[Field] = []
    for m in members:
        if m.name in seen:
            bag.add(
                "OS108",
                f"the find filter of '{root.name}' would have two members named '{m.name}'; rename an indexed field",
                m.location,
            )
            continue
        seen[m.name] = m
        unique.append(m)
    doc = f"Conditions for `{root.snake}.find`: every member given must hold."
    return Struct(
        name=root.filter_name,
        doc=doc,
        root=False,
        fields=tuple(unique),
        location=root.location,
        py_docstring=f'"""{doc}"""',
        snake=f"{root.snake}_filter",
        extra="forbid",
        filter_for=root.name,
    )
