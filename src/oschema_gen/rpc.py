"""The JSON-RPC surface of a domain, decided once for the server, the client and OpenRPC.

Per root object `T` (wire prefix `t`, e.g. `agent_memory`) the CRUD verbs
`t.new|get|set|delete|list|list_full|exists|find|find_page|count`; per service method one flat
snake_case method with one by-name parameter (its Input struct) or none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .ir import Domain, Method, Struct

# The CRUD surface of every root object, in the order the methods are emitted.
# Hero's surface is the first eight; `find_page` (cursor paging) and `count` (paging totals)
# are OSIS additions, so deep pages and totals need no offset scans or full listings.
CRUD_VERBS = ("new", "get", "set", "delete", "list", "list_full", "exists", "find", "find_page", "count")
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class RpcParam:
    name: str  # wire name
    py_name: str
    py_hint: str
    schema: dict[str, Any]
    required: bool
    py_default: str | None = None  # Python default when not required
    description: str = ""


@dataclass(frozen=True)
class RpcMethod:
    name: str  # wire name, e.g. "agent_memory.get"
    handler: str  # the service's Python method, e.g. "agent_memory_get"
    summary: str
    description: str
    params: tuple[RpcParam, ...]
    result_hint: str | None  # None: the method returns null
    result_schema: dict[str, Any] | None
    params_model: str  # Python expression naming the params model the server validates with
    errors: tuple[str, ...]  # error names from osis.rpc.errors.ERROR_CODES
    root: str | None = None  # the root object of a CRUD verb
    verb: str | None = None

    @property
    def adapter(self) -> str:
        """Module-level name of the TypeAdapter for the result, in generated code."""
        return f"_{self.handler.upper()}_RESULT"

    @property
    def py_docstring(self) -> str:
        from .naming import docstring_literal

        text = self.summary if not self.description else f"{self.summary}\n\n{self.description}"
        return docstring_literal(text)

    @property
    def is_crud(self) -> bool:
        return self.verb is not None


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


_SID = RpcParam("sid", "sid", "str", {"type": "string"}, True, description="The object's sid.")
_LIMIT = RpcParam(
    "limit", "limit", "int", {"type": "integer", "minimum": 0, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    False, str(DEFAULT_LIMIT), "At most this many objects.",
)
_PAGE_LIMIT = RpcParam(
    "limit", "limit", "int", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    False, str(DEFAULT_LIMIT), "At most this many objects in the page.",
)
_CURSOR = RpcParam(
    "cursor", "cursor", "str | None", {"anyOf": [{"type": "string"}, {"type": "null"}]}, False, "None",
    "The `next_cursor` of the previous page (same filter and order); none for the first page.",
)
_OFFSET = RpcParam(
    "offset", "offset", "int", {"type": "integer", "minimum": 0, "default": 0}, False, "0", "Skip this many objects first."
)


def crud_methods(root: Struct) -> list[RpcMethod]:
    t, name = root.snake, root.name
    obj = RpcParam("obj", "obj", name, _ref(name), True, description=f"The {name}.")
    flt = RpcParam(
        "filter", "filter", f"{root.filter_name} | None", {"anyOf": [_ref(root.filter_name), {"type": "null"}]},
        False, "None", "Conditions every result meets; none means all objects.",
    )
    indexed = [f.name for f in root.indexed_fields]
    order = RpcParam(
        "order_by", "order_by", "str | None",
        {"anyOf": [{"type": "string", "enum": ["sid", *indexed]}, {"type": "null"}]},
        False, "None", "Sort by this indexed field (or sid); default: sid.",
    )
    desc = RpcParam("descending", "descending", "bool", {"type": "boolean", "default": False}, False, "False", "Sort descending.")
    one, many = _ref(name), {"type": "array", "items": _ref(name)}
    page = {
        "type": "object",
        "title": f"{name}Page",
        "properties": {
            "items": many,
            "next_cursor": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "None on the last page."},
        },
        "required": ["items", "next_cursor"],
        "additionalProperties": False,
    }

    def m(verb: str, summary: str, params: tuple[RpcParam, ...], hint: str | None, schema: dict[str, Any] | None,
          model: str, errors: tuple[str, ...]) -> RpcMethod:
        return RpcMethod(f"{t}.{verb}", f"{t}_{verb}", summary, "", params, hint, schema, model, errors, name, verb)

    return [
        m("new", f"Store a new {name}; the store assigns its sid.", (obj,), name, one, f"ObjParams[{name}]",
          ("VALIDATION_FAILED", "CONFLICT", "UNAUTHORIZED", "FORBIDDEN")),
        m("get", f"Read one {name} by sid.", (_SID,), name, one, "SidParams", ("NOT_FOUND", "UNAUTHORIZED")),
        m("set", f"Replace a stored {name} as a whole.", (obj,), name, one, f"ObjParams[{name}]",
          ("NOT_FOUND", "VALIDATION_FAILED", "CONFLICT", "UNAUTHORIZED", "FORBIDDEN")),
        m("delete", f"Delete one {name} by sid.", (_SID,), None, None, "SidParams", ("NOT_FOUND", "UNAUTHORIZED", "FORBIDDEN")),
        m("list", f"The sids of every stored {name}.", (), "list[str]", {"type": "array", "items": {"type": "string"}},
          "NoParams", ("UNAUTHORIZED",)),
        m("list_full", f"Stored {name} objects, a page at a time, by sid.", (_LIMIT, _OFFSET), f"list[{name}]", many,
          "ListFullParams", ("UNAUTHORIZED",)),
        m("exists", f"Whether a {name} with this sid is stored.", (_SID,), "bool", {"type": "boolean"}, "SidParams",
          ("UNAUTHORIZED",)),
        m("find", f"{name} objects matching a filter on indexed fields, ordered and paged.",
          (flt, order, desc, _LIMIT, _OFFSET), f"list[{name}]", many, f"FindParams[{root.filter_name}]",
          ("UNAUTHORIZED",)),
        m("find_page", f"One page of {name} objects matching a filter, with the cursor of the next page.",
          (flt, order, desc, _PAGE_LIMIT, _CURSOR), f"Page[{name}]", page, f"FindPageParams[{root.filter_name}]",
          ("UNAUTHORIZED",)),
        m("count", f"How many {name} objects match a filter.", (flt,), "int", {"type": "integer", "minimum": 0},
          f"CountParams[{root.filter_name}]", ("UNAUTHORIZED",)),
    ]


def params_class(method: Method) -> str:
    """The generated params model of a service method (server side)."""
    return "_" + "".join(p[:1].upper() + p[1:] for p in method.name.split("_")) + "Params"


def service_method(method: Method) -> RpcMethod:
    params: tuple[RpcParam, ...] = ()
    model = "NoParams"
    if method.input is not None and method.input_param is not None:
        from .naming import python_parameter

        params = (RpcParam(method.input_param, python_parameter(method.input_param), method.input, _ref(method.input), True),)
        model = params_class(method)
    summary, _, rest = method.doc.partition("\n")
    return RpcMethod(
        name=method.name,
        handler=method.py_name,
        summary=summary,
        description=rest.strip(),
        params=params,
        result_hint=method.output,
        result_schema=_ref(method.output) if method.output else None,
        params_model=model,
        errors=("NOT_FOUND", "VALIDATION_FAILED", "CONFLICT", "UNAUTHORIZED", "FORBIDDEN", "UNAVAILABLE"),
    )


def rpc_methods(domain: Domain) -> list[RpcMethod]:
    out: list[RpcMethod] = []
    for root in domain.root_objects:
        out.extend(crud_methods(root))
    out.extend(service_method(m) for m in domain.methods)
    return out
