"""`models.py`: pydantic v2 models and str enums for every type of the domain."""

from __future__ import annotations

import re

from ..ir import Domain, TypeRef
from . import header
from .render import format_python, render

_SCALAR_ALIASES = ("I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64", "F32", "F64", "OTime")


def _hint_names(ref: TypeRef) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", ref.py_hint))


def scalar_imports(domain: Domain) -> list[str]:
    used: set[str] = set()
    for struct in domain.models:
        for f in struct.fields:
            used |= _hint_names(f.type)
    return [name for name in _SCALAR_ALIASES if name in used]


def models_module(domain: Domain) -> str:
    source = render(
        "models.py.jinja",
        header=header(domain),
        domain=domain,
        scalar_imports=scalar_imports(domain),
    )
    return format_python(source)
