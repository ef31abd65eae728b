"""`client.py`, `server.py` and `openrpc.json`: the domain's JSON-RPC SDK.

All three read one method table (`oschema_gen.rpc`), so the client, the server's route
table and the OpenRPC document cannot disagree about a method's name or parameters.
"""

from __future__ import annotations

from ..ir import Domain
from ..rpc import RpcMethod, rpc_methods
from . import header
from .render import format_python, render


def _model_imports(domain: Domain, methods: list[RpcMethod]) -> list[str]:
    names: set[str] = set()
    for root in domain.root_objects:
        names |= {root.name, root.filter_name}
    for method in domain.methods:
        names |= {n for n in (method.input, method.output) if n}
    order = domain.export_names
    return sorted(names, key=order.index)


def _context(domain: Domain) -> dict[str, object]:
    methods = rpc_methods(domain)
    service_methods = [m for m in methods if not m.is_crud]
    return {
        "header": header(domain),
        "domain": domain,
        "methods": methods,
        "service_methods": service_methods,
        "needs_field": any(p.py_name != p.name for m in service_methods for p in m.params),
        "model_imports": _model_imports(domain, methods),
        # Service methods with an input get a generated params model, named by params_model.
        "params_methods": [m for m in service_methods if m.params],
    }


def client_module(domain: Domain) -> str:
    return format_python(render("client.py.jinja", **_context(domain)))


def server_module(domain: Domain) -> str:
    return format_python(render("server.py.jinja", **_context(domain)))
