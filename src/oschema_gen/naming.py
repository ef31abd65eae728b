"""Python spellings of schema names, decided once for every emitter.

A schema is written for the wire; Python has keywords, builtins and pydantic's own
attributes in the way. Unsafe names get a trailing underscore in Python and keep their
wire name as an alias, so the JSON never changes (peers' lesson: one naming module,
wire names in aliases).
"""

from __future__ import annotations

import builtins
import keyword
import re

_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")

# Names the generated modules import or use in annotations: a field with one of these
# names would shadow it inside the class body, where pydantic resolves annotations.
_GENERATED_CODE_NAMES = frozenset(
    {"Annotated", "Any", "BaseModel", "ConfigDict", "Field", "Literal", "StrEnum", "OTime", "annotations", "self", "cls"}
)


# Public attributes of pydantic's BaseModel and of its metaclass (`register`, `mro`) that a
# field must not shadow, besides everything starting with `model_`. Spelled out rather
# than read from the installed pydantic: naming must not depend on which pydantic a
# machine has (output is byte-identical everywhere), and the compiler's CLI path stays
# free of pydantic's import cost. tests/compiler/test_generated_models.py checks that this
# covers the installed pydantic.
PYDANTIC_RESERVED = frozenset(
    {
        "construct", "copy", "dict", "from_orm", "json", "mro", "parse_file", "parse_obj", "parse_raw",
        "register", "schema", "schema_json", "update_forward_refs", "validate",
    }
)  # fmt: skip


def _pydantic_reserved(name: str) -> bool:
    """True when a pydantic model field cannot be called `name`."""
    return name in PYDANTIC_RESERVED or name.startswith("model_")


def unsafe_attribute(name: str) -> bool:
    """True when `name` cannot be used as a pydantic field attribute as it is."""
    return (
        keyword.iskeyword(name)
        or _pydantic_reserved(name)
        or name in _GENERATED_CODE_NAMES
        or (name in dir(builtins) and not name.startswith("_"))
    )


# Field names pydantic refuses to start with, even with a trailing underscore.
_PROTECTED_PREFIXES = ("model_validate", "model_dump")


def _escaped(name: str) -> str:
    if name.startswith(_PROTECTED_PREFIXES):
        # `model_dump_x` -> `model__dump_x_`: a schema name can never contain `__`.
        return "model__" + name.removeprefix("model_") + "_"
    return f"{name}_"


def python_attribute(name: str) -> str:
    return _escaped(name) if unsafe_attribute(name) else name


def python_parameter(name: str) -> str:
    """A function parameter may shadow builtins harmlessly; keywords, `self`/`cls` and pydantic's
    own names (`json`, `model_config`, ...) may not: a service method's parameter is also a field
    of the server's params model."""
    unsafe = keyword.iskeyword(name) or name in ("self", "cls") or _pydantic_reserved(name)
    return _escaped(name) if unsafe else name


def is_snake(name: str) -> bool:
    return bool(_SNAKE.match(name))


def is_pascal(name: str) -> bool:
    return bool(_PASCAL.match(name))


def snake_case(name: str) -> str:
    """`AgentAuditEntry` -> `agent_audit_entry`, `HTTPCall` -> `http_call`."""
    step = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    step = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", step)
    return step.lower()


def pascal_case(name: str) -> str:
    """`audit_search` -> `AuditSearch`."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def enum_member(value: str) -> str:
    """Enum members are UPPER_CASE constants; the wire value stays as written."""
    member = value.upper()
    return member


def closest(name: str, candidates: list[str]) -> str | None:
    """The most similar known name, for "did you mean" hints."""
    import difflib

    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in candidates}
        hit = lowered.get(name.lower())
        return hit
    return matches[0]


def docstring_literal(doc: str) -> str:
    """A Python string literal for a docstring that is safe whatever the doc holds ("" for none)."""
    if not doc:
        return ""
    if '"""' in doc or doc.endswith(('"', "\\")):
        return repr(doc)
    prefix = "r" if "\\" in doc else ""
    if "\n" in doc:
        return f'{prefix}"""{doc}\n"""'
    return f'{prefix}"""{doc}"""'
