"""`openrpc.json`: the OpenRPC 1.3 document of the domain's JSON-RPC API.

Served by `rpc.discover` and `GET /openrpc.json`. Component schemas are the domain's
JSON Schema definitions with references re-pointed at `#/components/schemas/`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from osis.rpc.errors import ERROR_CODES

from ..ir import Domain
from ..rpc import RpcMethod, RpcParam, rpc_methods
from .json_schema import definitions

OPENRPC_VERSION = "1.3.2"
_BY_NAME = {name: (code, meaning) for code, (name, meaning) in ERROR_CODES.items()}


def _repoint(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (v.replace("#/$defs/", "#/components/schemas/") if k == "$ref" and isinstance(v, str) else _repoint(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_repoint(v) for v in node]
    return node


def _param(p: RpcParam) -> dict[str, Any]:
    out: dict[str, Any] = {"name": p.name, "required": p.required, "schema": p.schema}
    if p.description:
        out["description"] = p.description
    return out


def _method(m: RpcMethod) -> dict[str, Any]:
    out: dict[str, Any] = {"name": m.name}
    if m.summary:
        out["summary"] = m.summary
    if m.description:
        out["description"] = m.description
    out["paramStructure"] = "by-name"
    out["params"] = [_param(p) for p in m.params]
    out["result"] = {"name": "result", "schema": m.result_schema if m.result_schema is not None else {"type": "null"}}
    out["errors"] = [{"$ref": f"#/components/errors/{name}"} for name in m.errors]
    return out


def _errors() -> dict[str, Any]:
    return {
        name: {"code": code, "message": name.lower().replace("_", " "), "data": meaning}
        for name, (code, meaning) in sorted(_BY_NAME.items(), key=lambda kv: -kv[1][0])
    }


def openrpc_dict(domain: Domain) -> dict[str, Any]:
    schemas = _repoint(definitions(domain))
    # The version is a digest of the API, so clients can tell two schemas apart without
    # anyone remembering to bump a number.
    methods = [_method(m) for m in rpc_methods(domain)]
    digest = hashlib.sha256(json.dumps([methods, schemas], sort_keys=True).encode()).hexdigest()[:12]
    service_doc = "\n\n".join(s.doc for s in domain.services if s.doc)
    info: dict[str, Any] = {"title": f"OSIS {domain.name}", "version": f"0.0.0+{digest}"}
    info["description"] = service_doc or f"The `{domain.name}` domain of OSIS."
    return {
        "openrpc": OPENRPC_VERSION,
        "info": info,
        "methods": methods,
        "components": {"schemas": schemas, "errors": _errors()},
    }


def openrpc_document(domain: Domain) -> str:
    return json.dumps(openrpc_dict(domain), indent=2, ensure_ascii=False) + "\n"
