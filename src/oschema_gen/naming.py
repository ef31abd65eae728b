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


def _basemodel_attributes() -> frozenset[str]:
    # Imported lazily: the CLI path stays free of pydantic's import cost until needed.
    from pydantic import BaseModel

    return frozenset(name for name in dir(BaseModel) if not name.startswith("__"))


_BASEMODEL_ATTRS: frozenset[str] | None = None


def unsafe_attribute(name: str) -> bool:
    """True when `name` cannot be used as a pydantic field attribute as it is."""
    global _BASEMODEL_ATTRS
    if _BASEMODEL_ATTRS is None:
        _BASEMODEL_ATTRS = _basemodel_attributes()
    return (
        keyword.iskeyword(name)
        or name in _BASEMODEL_ATTRS
        or name.startswith("model_")
        or name in _GENERATED_CODE_NAMES
        or (name in dir(builtins) and not name.startswith("_"))
    )


def python_attribute(name: str) -> str:
    return f"{name}_" if unsafe_attribute(name) else name


def python_parameter(name: str) -> str:
    """A function parameter may shadow builtins harmlessly; only keywords and `self` are unsafe."""
    return f"{name}_" if keyword.iskeyword(name) or name in ("self", "cls") else name


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
